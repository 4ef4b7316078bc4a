// Evaluation of one model: validation, runs on every execution, oracle verdicts.
#include "fuzzer/evaluation.h"

#include <fmt/format.h>

#include <optional>

#include "generators/model_io.h"
#include "oracles/refusals.h"

namespace onnxfuzz {
namespace {

// The first dtype of the graph's runtime inputs and outputs that `execution` cannot carry.
// Element types outside the table are left to the execution to refuse.
std::optional<DType> uncarried_dtype(const onnx::GraphProto& graph, Execution& execution) {
  const CarriedDtypes carried = execution.carried_dtypes();
  if (carried.not_carried.empty() && carried.carried.size() == all_dtypes().size()) {
    return std::nullopt;
  }
  auto check = [&](const onnx::ValueInfoProto& info) -> std::optional<DType> {
    const int32_t elem = info.type().tensor_type().elem_type();
    if (!dtype_supported(elem) || carried.carries(static_cast<DType>(elem))) return std::nullopt;
    return static_cast<DType>(elem);
  };
  for (const auto* input : runtime_inputs(graph)) {
    if (auto d = check(*input)) return d;
  }
  for (const auto& output : graph.output()) {
    if (auto d = check(output)) return d;
  }
  return std::nullopt;
}

Observation run_one(Execution& execution, const ModelUnderTest& mut, const TensorMap& inputs,
                    std::vector<UnsupportedRun>& unsupported) {
  if (auto dtype = uncarried_dtype(mut.proto().graph(), execution)) {
    RunResult skipped;
    skipped.status = RunStatus::kUnsupported;
    skipped.message = fmt::format("unsupported dtype: {} cannot carry {} graph inputs/outputs",
                                  execution.name(), dtype_name(*dtype));
    unsupported.push_back({execution.name(), UnsupportedKind::kDtype});
    return {execution.name(), std::move(skipped)};
  }
  Observation obs{execution.name(), execution.run(mut, inputs)};
  if (const Refusal* refusal = classify_refusal(obs.execution, obs.result)) {
    unsupported.push_back({obs.execution, refusal->status == RunStatus::kResourceLimit
                                              ? UnsupportedKind::kResourceLimit
                                              : UnsupportedKind::kUnsupportedOp});
  } else if (obs.result.status == RunStatus::kResourceLimit) {
    unsupported.push_back({obs.execution, UnsupportedKind::kResourceLimit});
  } else if (obs.result.status == RunStatus::kUnsupported) {
    // The execution's own refusal: a converter without an adapter for the model, an op its
    // runtime has no kernel for.
    unsupported.push_back({obs.execution, UnsupportedKind::kUnsupportedOp});
  }
  return obs;
}

}  // namespace

std::string_view unsupported_kind_name(UnsupportedKind kind) {
  switch (kind) {
    case UnsupportedKind::kDtype:
      return "unsupported_dtype";
    case UnsupportedKind::kBackendGap:
      return "backend_gap";
    case UnsupportedKind::kResourceLimit:
      return "resource_limit";
    case UnsupportedKind::kUnsupportedOp:
      return "unsupported_op";
  }
  return "unknown";
}

Evaluation evaluate_model(const onnx::ModelProto& model, const TensorMap& inputs,
                          std::span<Execution* const> executions, const OracleConfig& config,
                          Validation validation) {
  Evaluation eval;
  // Output types the shape oracle checks against: inference's, or (checker only) the declared
  // ones, read in place rather than copied.
  const onnx::ModelProto* typed = nullptr;
  if (validation == Validation::kFull) {
    auto validated = validate_model(model);
    eval.valid = validated.has_value();
    if (validated) {
      eval.inferred = std::move(*validated);
      typed = &eval.inferred;
    } else {
      eval.invalid_reason = validated.error();
    }
  } else {
    auto checked = check_model(model);
    eval.valid = checked.has_value();
    if (checked) {
      typed = &model;
    } else {
      eval.invalid_reason = checked.error();
    }
  }
  if (executions.empty()) return eval;
  const ModelUnderTest mut = ModelUnderTest::view(model);
  eval.observations.reserve(executions.size());
  for (Execution* execution : executions) {
    eval.observations.push_back(run_one(*execution, mut, inputs, eval.unsupported));
  }
  for (auto& name : exempt_backend_gaps(eval.observations, model)) {
    eval.unsupported.push_back({std::move(name), UnsupportedKind::kBackendGap});
  }
  Judgement judgement = judge_all(eval.observations, typed, config);
  eval.verdicts = std::move(judgement.verdicts);
  eval.baseline = std::move(judgement.baseline);
  eval.ran = judgement.ran;
  if (!eval.valid) {
    std::erase_if(eval.verdicts, [](const Verdict& v) {
      return v.kind != VerdictKind::kCrash && v.kind != VerdictKind::kHang;
    });
  }
  return eval;
}

Evaluation evaluate_invalid(const onnx::ModelProto& model, const TensorMap& inputs,
                            std::span<Execution* const> executions, std::string_view rule) {
  Evaluation eval;
  eval.invalid_reason = fmt::format("breaks {}", rule);
  const ModelUnderTest mut = ModelUnderTest::view(model);
  for (Execution* execution : executions) {
    if (execution->name() == "ref") continue;
    eval.observations.push_back(run_one(*execution, mut, inputs, eval.unsupported));
    eval.ran = eval.ran || eval.observations.back().result.status == RunStatus::kOk;
  }
  eval.verdicts = judge_invalid(eval.observations, rule);
  return eval;
}

bool no_execution_ran(const Evaluation& eval) { return !eval.ran && eval.verdicts.empty(); }

const Verdict* primary_verdict(const std::vector<Verdict>& verdicts) {
  const Verdict* best = nullptr;
  for (const auto& v : verdicts) {
    if (!best || static_cast<int>(v.kind) < static_cast<int>(best->kind)) best = &v;
  }
  return best;
}

}  // namespace onnxfuzz
