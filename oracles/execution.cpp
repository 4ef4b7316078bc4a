// Execution registry: status names, ModelUnderTest, and the name -> execution factory.
#include "oracles/execution.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "generators/model_io.h"
#include "oracles/ort_release.h"
#include "oracles/reference.h"
#include "oracles/worker_execution.h"
#include "oracles/worker_paths.h"

namespace onnxfuzz {
namespace {

// The pinned release of the project's node_modules, or a release from the cache (installed on
// first use); both through the same worker script, protocol and limits.
std::expected<std::unique_ptr<Execution>, std::string> make_ort(std::string name,
                                                                const OrtRelease& release,
                                                                const ExecutionOptions& options) {
  namespace fs = std::filesystem;
  auto root = find_project_root();
  if (!root) return std::unexpected(fmt::format("execution '{}': {}", name, root.error()));
  auto node = find_in_path("node");
  if (!node) {
    return std::unexpected(fmt::format(
        "execution '{}': `node` is not on PATH; run scripts/setup.sh to install Node and "
        "onnxruntime-node",
        name));
  }
  fs::path module = fs::path(*root) / "node_modules" / "onnxruntime-node";
  if (release.version.empty()) {
    std::error_code ignored;
    if (!fs::is_regular_file(module / "package.json", ignored)) {
      return std::unexpected(
          fmt::format("execution '{}': {} is missing; run scripts/setup.sh (it runs "
                      "`ONNXRUNTIME_NODE_INSTALL=skip npm install` in {})",
                      name, module.string(), *root));
    }
  } else {
    auto installed = ensure_ort_release(release.version);
    if (!installed) return std::unexpected(fmt::format("execution '{}': {}", name, installed.error()));
    module = *installed;
  }
  WorkerCommand command;
  command.argv = {*node, (fs::path(*root) / "oracles" / "ort_worker.js").string(), "--opt",
                  release.opt_level, "--module", module.string()};
  return std::make_unique<WorkerExecution>(std::move(name), std::move(command), options);
}

}  // namespace

std::string_view run_status_name(RunStatus status) {
  switch (status) {
    case RunStatus::kOk:
      return "ok";
    case RunStatus::kError:
      return "error";
    case RunStatus::kCrash:
      return "crash";
    case RunStatus::kTimeout:
      return "timeout";
    case RunStatus::kUnsupported:
      return "unsupported";
    case RunStatus::kResourceLimit:
      return "resource-limit";
  }
  return "unknown";
}

bool CarriedDtypes::carries(DType dtype) const {
  return std::ranges::find(carried, dtype) != carried.end();
}

CarriedDtypes all_dtypes_carried() {
  CarriedDtypes all;
  for (const DTypeInfo& row : all_dtypes()) all.carried.push_back(row.dtype);
  return all;
}

ModelUnderTest ModelUnderTest::from_proto(onnx::ModelProto proto) {
  ModelUnderTest model;
  model.bytes = serialize_model(proto);
  model.proto_ = std::make_shared<const onnx::ModelProto>(std::move(proto));
  return model;
}

ModelUnderTest ModelUnderTest::view(const onnx::ModelProto& proto) {
  ModelUnderTest model;
  model.bytes = serialize_model(proto);
  // Aliasing constructor with no owner: a plain pointer with shared_ptr's interface.
  model.proto_ = std::shared_ptr<const onnx::ModelProto>(std::shared_ptr<void>(), &proto);
  return model;
}

const onnx::ModelProto& ModelUnderTest::proto() const {
  static const onnx::ModelProto kEmpty;
  return proto_ ? *proto_ : kEmpty;
}

std::vector<std::string> known_execution_names() {
  return {"ref", "ort", "ort-noopt", "ort@VERSION[-noopt|-basic|-extended|-all]", "planted"};
}

bool is_execution_name(std::string_view name) {
  if (name == "ref" || name == "planted") return true;
  auto ort = parse_ort_execution_name(name);
  return ort && ort->has_value();
}

std::expected<std::unique_ptr<Execution>, std::string> make_execution(
    std::string_view name, const ExecutionOptions& options) {
  if (name == "ref") return std::make_unique<ReferenceExecution>();
  if (auto ort = parse_ort_execution_name(name)) {
    if (!*ort) return std::unexpected(ort->error());
    return make_ort(std::string(name), **ort, options);
  }
  if (name == "planted") {
    auto path = find_planted_worker();
    if (!path) return std::unexpected(fmt::format("execution 'planted': {}", path.error()));
    return std::make_unique<WorkerExecution>("planted", WorkerCommand{{*path}, {}}, options);
  }
  return std::unexpected(fmt::format("unknown execution '{}'; known executions: {}", name,
                                     fmt::join(known_execution_names(), ", ")));
}

}  // namespace onnxfuzz
