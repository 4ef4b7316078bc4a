// Evaluation of one model: validation, runs on every execution, oracle verdicts.
#include "fuzzer/evaluation.h"

#include "generators/model_io.h"

namespace onnxfuzz {

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
  Observation baseline{executions.front()->name(), executions.front()->run(mut, inputs)};
  std::vector<Observation> others;
  others.reserve(executions.size() - 1);
  for (Execution* execution : executions.subspan(1)) {
    others.push_back({execution->name(), execution->run(mut, inputs)});
  }
  eval.verdicts = judge(baseline, others, typed, config);
  if (!eval.valid) {
    std::erase_if(eval.verdicts, [](const Verdict& v) {
      return v.kind != VerdictKind::kCrash && v.kind != VerdictKind::kHang;
    });
  }
  eval.observations.reserve(executions.size());
  eval.observations.push_back(std::move(baseline));
  for (auto& obs : others) eval.observations.push_back(std::move(obs));
  return eval;
}

const Verdict* primary_verdict(const std::vector<Verdict>& verdicts) {
  const Verdict* best = nullptr;
  for (const auto& v : verdicts) {
    if (!best || static_cast<int>(v.kind) < static_cast<int>(best->kind)) best = &v;
  }
  return best;
}

}  // namespace onnxfuzz
