// Execution family "ort", "ort-noopt" and "ort@VERSION[-level]": onnxruntime-node in a Node
// worker (oracles/ort_worker.js), the pinned release of the project's node_modules or any
// release from the cache (oracles/ort_release.h, installed on first use).
#include <fmt/format.h>

#include "oracles/execution.h"
#include "oracles/ort_release.h"
#include "oracles/ort_worker_command.h"
#include "oracles/worker_execution.h"

namespace onnxfuzz {
namespace {

std::expected<std::unique_ptr<Execution>, std::string> make_ort(std::string name,
                                                                const OrtRelease& release,
                                                                const ExecutionOptions& options) {
  OrtWorkerSpec spec;
  spec.opt_level = release.opt_level;
  if (!release.version.empty()) {
    auto installed = ensure_ort_release(release.version);
    if (!installed) return std::unexpected(fmt::format("execution '{}': {}", name, installed.error()));
    spec.module_dir = *installed;
  }
  auto command = ort_worker_command(name, spec);
  if (!command) return std::unexpected(command.error());
  return std::make_unique<WorkerExecution>(std::move(name), std::move(*command), options);
}

std::optional<std::expected<void, std::string>> parse(std::string_view name) {
  auto release = parse_ort_execution_name(name);
  if (!release) return std::nullopt;
  if (!*release) return std::unexpected(release->error());
  return std::expected<void, std::string>{};
}

std::expected<std::unique_ptr<Execution>, std::string> make(std::string_view name,
                                                            const ExecutionOptions& options) {
  auto release = parse_ort_execution_name(name);
  if (!release || !*release) return std::unexpected(fmt::format("bad ORT execution '{}'", name));
  return make_ort(std::string(name), **release, options);
}

std::expected<std::vector<std::string>, std::string> releases() { return ort_releases(); }

const ExecutionRegistrar kOrt{{
    .usage = "ort",
    .summary = "the pinned (newest) onnxruntime-node, ORT_ENABLE_ALL",
    .parse = exact_name("ort"),
    .make = make,
    .order = 10,
    .at_version = ort_execution_at_version,
    .releases = releases,
}};
const ExecutionRegistrar kOrtNoopt{{
    .usage = "ort-noopt",
    .summary = "the pinned onnxruntime-node with graph optimizations disabled",
    .parse = exact_name("ort-noopt"),
    .make = make,
    .order = 11,
    .at_version = ort_execution_at_version,
    .releases = releases,
}};
const ExecutionRegistrar kOrtRelease{{
    .usage = "ort@VERSION[-noopt|-basic|-extended|-all]",
    .summary = "any onnxruntime-node release >= 1.10.0, installed on first use into the cache",
    .parse = [](std::string_view name) -> std::optional<std::expected<void, std::string>> {
      if (name == "ort" || name == "ort-noopt") return std::nullopt;
      return parse(name);
    },
    .make = make,
    .order = 12,
    .at_version = ort_execution_at_version,
    .releases = releases,
}};

}  // namespace
}  // namespace onnxfuzz
