// Execution family "ref": onnxfuzz's own reference interpreter, in process.
#include "oracles/execution.h"
#include "oracles/reference.h"

namespace onnxfuzz {
namespace {

const ExecutionRegistrar kRef{{
    .usage = "ref",
    .summary = "onnxfuzz's reference interpreter (in process; the baseline when present)",
    .parse = exact_name("ref"),
    .make = [](std::string_view, const ExecutionOptions&)
        -> std::expected<std::unique_ptr<Execution>, std::string> {
      return std::make_unique<ReferenceExecution>();
    },
    .order = 0,
}};

}  // namespace
}  // namespace onnxfuzz
