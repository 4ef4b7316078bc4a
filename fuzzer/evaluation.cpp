// Evaluation of one model: validation, runs on every execution, oracle verdicts.
#include "fuzzer/evaluation.h"

#include "generators/model_io.h"

namespace onnxfuzz {

Evaluation evaluate_model(const onnx::ModelProto& model, const TensorMap& inputs,
                          std::span<Execution* const> executions, const OracleConfig& config,
                          Validation validation) {
  Evaluation eval;
  auto validated = validation == Validation::kFull ? validate_model(model) : check_model(model);
  eval.valid = validated.has_value();
  if (validated) {
    eval.inferred = std::move(*validated);
  } else {
    eval.invalid_reason = validated.error();
  }
  const ModelUnderTest mut = ModelUnderTest::from_proto(model);
  for (Execution* execution : executions) {
    eval.observations.push_back({execution->name(), execution->run(mut, inputs)});
  }
  if (eval.observations.empty()) return eval;
  const Observation& baseline = eval.observations.front();
  std::vector<Observation> others(eval.observations.begin() + 1, eval.observations.end());
  eval.verdicts = judge(baseline, others, eval.valid ? &eval.inferred : nullptr, config);
  if (!eval.valid) {
    std::erase_if(eval.verdicts, [](const Verdict& v) {
      return v.kind != VerdictKind::kCrash && v.kind != VerdictKind::kHang;
    });
  }
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
