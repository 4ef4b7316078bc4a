// Execution family "ort-optimized": ONNX Runtime's graph optimizer (the pinned onnxruntime-node,
// ORT_ENABLE_ALL) writes the model as it would run it, and the reference runs that rewritten
// model. A difference from the reference on the original model is an optimizer bug, located in
// the rewritten graph; the rewritten graph and the rewrites that fired ride along as artifacts.
#include <fmt/format.h>

#include "oracles/execution.h"
#include "oracles/graph_rewrites.h"
#include "oracles/ort_worker_command.h"
#include "oracles/reference.h"
#include "oracles/refusals.h"
#include "oracles/worker_execution.h"

namespace onnxfuzz {
namespace {

// Prefix of every message of the reference's run of the optimized model (oracles/refusals.cpp
// matches it to tell a missing kernel from a failure).
constexpr std::string_view kRefOnOptimized = "ref on optimized.onnx: ";

class OrtOptimizedExecution final : public Execution {
 public:
  OrtOptimizedExecution(std::string name, WorkerCommand command, const ExecutionOptions& options)
      : name_(name), optimizer_(std::move(name), std::move(command), options) {}

  const std::string& name() const override { return name_; }
  std::string version() override {
    return fmt::format("{} graph optimizer (ORT_ENABLE_ALL), run by {}", optimizer_.version(),
                       reference_.version());
  }
  std::expected<void, std::string> check_ready() override { return optimizer_.check_ready(); }
  // The optimizer's session must load the model: what onnxruntime-node cannot carry (bfloat16)
  // is not carried here either.
  CarriedDtypes carried_dtypes() override { return optimizer_.carried_dtypes(); }

  RunResult run(const ModelUnderTest& model, const TensorMap& inputs) override {
    std::string bytes;
    RunResult optimized_run = optimizer_.optimize(model, bytes);
    // ORT refusing, crashing on or hanging in the model is ORT's own result.
    if (optimized_run.status != RunStatus::kOk) return optimized_run;
    onnx::ModelProto optimized;
    if (!optimized.ParseFromString(bytes)) {
      optimized_run.status = RunStatus::kError;
      optimized_run.message = "ONNX Runtime wrote an optimized model that does not parse";
      return optimized_run;
    }
    RunResult result;
    if (auto external = external_initializer(optimized.graph())) {
      // The reference reads initializers from the model only; ORT writes external data only
      // when asked to (session.optimized_model_external_initializers_file_name), so this is a
      // change of ORT's defaults, worth its own message.
      result.status = RunStatus::kUnsupported;
      result.message = fmt::format(
          "the optimized model keeps initializer '{}' in external data, which the reference "
          "cannot read",
          *external);
    } else {
      result = run_reference(optimized, inputs);
      if (result.status == RunStatus::kError) {
        // The reference's resource limits stay limits. A missing kernel stays an error in the
        // reference's words, which the refusal table turns into `unsupported` for this
        // execution; any other error is a failure of the rewritten model.
        RunResult as_ref = result;
        const Refusal* refusal = classify_refusal(reference_.name(), as_ref);
        result.message = fmt::format("{}{}", kRefOnOptimized, result.message);
        if (refusal != nullptr && refusal->status == RunStatus::kResourceLimit) {
          result.status = RunStatus::kResourceLimit;
          result.message = fmt::format("{}: {}", refusal->reason, result.message);
        }
      }
    }
    result.seconds += optimized_run.seconds;
    const GraphRewrites rewrites = graph_rewrites(model.proto().graph(), optimized.graph());
    result.notes["rewrites"] = rewrites.rewrites;
    result.notes["node_changes"] = rewrites.node_changes;
    result.artifacts.push_back({"optimized.onnx", std::move(bytes)});
    return result;
  }

 private:
  static std::optional<std::string> external_initializer(const onnx::GraphProto& graph) {
    for (const auto& init : graph.initializer()) {
      if (init.data_location() == onnx::TensorProto::EXTERNAL) return init.name();
    }
    return std::nullopt;
  }

  std::string name_;
  WorkerExecution optimizer_;
  ReferenceExecution reference_;
};

const ExecutionRegistrar kOrtOptimized{{
    .usage = "ort-optimized",
    .summary = "the pinned onnxruntime-node's ORT_ENABLE_ALL rewrite of the model, run by ref "
               "(stores optimized.onnx and the rewrites that fired)",
    .parse = exact_name("ort-optimized"),
    .make = [](std::string_view name, const ExecutionOptions& options)
        -> std::expected<std::unique_ptr<Execution>, std::string> {
      auto command = ort_worker_command(name, {.backend = "node", .opt_level = "all"});
      if (!command) return std::unexpected(command.error());
      // NchwcTransformer rewrites Conv and its neighbours into blocked-layout ops
      // (com.microsoft.nchwc) sized for this CPU's vector width; ORT itself warns that such a
      // saved model is hardware specific. The reference cannot run that layout, so every
      // Conv would be `unsupported` here; without it ORT fuses Conv with activations
      // (FusedConv) instead, which it can. The `ort` execution still runs the NCHWc path.
      command->argv.insert(command->argv.end(), {"--disable-optimizers", "NchwcTransformer"});
      return std::make_unique<OrtOptimizedExecution>(std::string(name), std::move(*command),
                                                     options);
    },
    .order = 13,
}};

}  // namespace
}  // namespace onnxfuzz
