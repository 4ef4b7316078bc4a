// Execution family "planted": the test-only worker with faults planted by ONNXFUZZ_PLANTED
// (tests/planted/), used to test oracles, minimizer and corpus end to end.
#include <fmt/format.h>

#include "oracles/execution.h"
#include "oracles/worker_execution.h"
#include "oracles/worker_paths.h"

namespace onnxfuzz {
namespace {

const ExecutionRegistrar kPlanted{{
    .usage = "planted",
    .summary = "test-only worker with faults planted by ONNXFUZZ_PLANTED",
    .parse = exact_name("planted"),
    .make = [](std::string_view, const ExecutionOptions& options)
        -> std::expected<std::unique_ptr<Execution>, std::string> {
      auto path = find_planted_worker();
      if (!path) return std::unexpected(fmt::format("execution 'planted': {}", path.error()));
      return std::make_unique<WorkerExecution>("planted", WorkerCommand{{*path}, {}}, options);
    },
    .order = 90,
}};

}  // namespace
}  // namespace onnxfuzz
