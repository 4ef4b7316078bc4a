// Builds the ort_worker.js command line from the project root, node on PATH and the pinned package.
#include "oracles/ort_worker_command.h"

#include <fmt/format.h>

#include <filesystem>

#include "oracles/worker_paths.h"

namespace onnxfuzz {

std::expected<WorkerCommand, std::string> ort_worker_command(std::string_view execution,
                                                             const OrtWorkerSpec& spec) {
  namespace fs = std::filesystem;
  auto root = find_project_root();
  if (!root) return std::unexpected(fmt::format("execution '{}': {}", execution, root.error()));
  auto node = find_in_path("node");
  if (!node) {
    return std::unexpected(fmt::format(
        "execution '{}': `node` is not on PATH; run scripts/setup.sh to install Node and {}",
        execution, spec.package));
  }
  fs::path module = spec.module_dir;
  if (module.empty()) {
    module = fs::path(*root) / "node_modules" / spec.package;
    std::error_code ignored;
    if (!fs::is_regular_file(module / "package.json", ignored)) {
      return std::unexpected(
          fmt::format("execution '{}': {} is missing; run scripts/setup.sh (it runs "
                      "`ONNXRUNTIME_NODE_INSTALL=skip npm ci` in {})",
                      execution, module.string(), *root));
    }
  }
  WorkerCommand command;
  command.argv = {*node, (fs::path(*root) / "oracles" / "ort_worker.js").string(),
                  "--backend", spec.backend, "--opt", spec.opt_level, "--module", module.string()};
  // An empty value: Node loads no extra certificates (as if unset).
  command.extra_env = {"NODE_EXTRA_CA_CERTS="};
  return command;
}

}  // namespace onnxfuzz
