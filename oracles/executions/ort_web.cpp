// Execution family "ort-web": onnxruntime-web's WebAssembly CPU build, run in Node by the ORT
// worker (oracles/ort_worker.js --backend web). Its kernels are compiled apart from the native
// build's (no MLAS assembly, a different thread pool), which makes it a differential partner.
#include "oracles/execution.h"
#include "oracles/ort_worker_command.h"
#include "oracles/worker_execution.h"

namespace onnxfuzz {
namespace {

const ExecutionRegistrar kOrtWeb{{
    .usage = "ort-web",
    .summary = "the pinned onnxruntime-web, WebAssembly CPU backend in Node (one thread), "
               "ORT_ENABLE_ALL",
    .parse = exact_name("ort-web"),
    .make = [](std::string_view name, const ExecutionOptions& options)
        -> std::expected<std::unique_ptr<Execution>, std::string> {
      auto command = ort_worker_command(
          name, {.backend = "web", .package = "onnxruntime-web", .opt_level = "all"});
      if (!command) return std::unexpected(command.error());
      return std::make_unique<WorkerExecution>(std::string(name), std::move(*command), options);
    },
    .order = 20,
}};

}  // namespace
}  // namespace onnxfuzz
