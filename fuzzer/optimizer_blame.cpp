// Optimizer attribution by disabling a runtime's graph optimizers in halves.
#include "fuzzer/optimizer_blame.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "generators/model_io.h"
#include "oracles/worker_execution.h"

namespace onnxfuzz {

const std::vector<std::string>& ort_optimizer_names() {
  // Level 1 rewrite rules and transformers, then level 2 and 3 (CPU), as ORT registers them.
  static const std::vector<std::string> kNames = {
      "EliminateIdentity", "EliminateSlice", "UnsqueezeElimination", "EliminateDropout",
      "ExpandElimination", "CastElimination", "PreShapeNodeElimination", "NoopElimination",
      "DivMulFusion", "FuseReluClip", "GemmSumFusion", "GemmTransposeFusion", "NotWhereFusion",
      "ConvAddFusion", "ConvMulFusion", "ConvBNFusion", "ClipQuantFusion", "ReluQuantFusion",
      "LabelEncoderFusion", "CommonSubexpressionElimination", "ConstantFolding",
      "ConstantSharing", "MatMulAddFusion", "ReshapeFusion", "FreeDimensionOverrideTransformer",
      "QDQPropagationTransformer", "EnsureUniqueDQForNodeUnitTransformer",
      "CastChainElimination", "TransposeOptimizer", "GemmActivationFusion",
      "MatMulIntegerToFloatFusion", "DynamicQuantizeMatMulFusion", "ConvActivationFusion",
      "GeluFusionL1", "GeluFusionL2", "LayerNormFusionL1", "LayerNormFusionL2",
      "SimplifiedLayerNormFusion", "AttentionFusion", "EmbedLayerNormFusion",
      "GatherSliceToSplitFusion", "GatherToSliceFusion", "MatmulTransposeFusion",
      "BiasGeluFusion", "SkipLayerNormFusion", "FastGeluFusion", "QuickGeluFusion",
      "BiasSoftmaxFusion", "BiasDropoutFusion", "MatMulScaleFusion", "MatMulActivationFusion",
      "MatmulBNFusion", "PadFusion", "ConvAddActivationFusion", "DoubleQDQPairsRemover",
      "QDQS8ToU8Transformer", "QDQSelectorActionTransformer", "QDQFinalCleanupTransformer",
      "GroupQueryAttentionFusion", "MatMulNBitsFusion", "NchwcTransformer", "NhwcTransformer",
      "Avx2WeightS8ToU8Transformer"};
  return kNames;
}

bool attributable(VerdictKind kind) {
  return kind != VerdictKind::kHang && kind != VerdictKind::kAcceptedInvalid;
}

OptimizerBlame blame_optimizers(const onnx::ModelProto& model, const TensorMap& inputs,
                                Execution& baseline, Execution& target, const Verdict& wanted,
                                const OracleConfig& config, int max_runs) {
  OptimizerBlame blame;
  auto* worker = dynamic_cast<WorkerExecution*>(&target);
  if (worker == nullptr) {
    blame.detail = fmt::format("{} cannot run with other optimizer settings", target.name());
    return blame;
  }
  const ModelUnderTest mut = ModelUnderTest::view(model);
  const Observation expected{baseline.name(), baseline.run(mut, inputs)};
  if (expected.result.status != RunStatus::kOk) {
    blame.detail = fmt::format("the baseline {} did not run: {}", baseline.name(),
                               expected.result.message);
    return blame;
  }
  // Shape verdicts compare with ONNX inference, as the campaign's judging did.
  const auto inferred = validate_model(model);
  const onnx::ModelProto* inferred_model = inferred ? &*inferred : nullptr;
  Verdict wanted_here = wanted;
  wanted_here.execution = target.name();
  // Whether the finding still shows with `variant`.
  auto fails = [&](const RunVariant& variant) {
    ++blame.runs;
    const Observation got{target.name(), worker->run_variant(mut, inputs, variant)};
    for (const Verdict& v : judge(expected, {got}, inferred_model, config)) {
      if (fails_same_way(v, wanted_here)) return true;
    }
    return false;
  };
  blame.attempted = true;
  if (!fails(RunVariant{})) {
    blame.detail = fmt::format("{} does not fail this way on the model now: nothing to attribute",
                               target.name());
    return blame;
  }
  if (fails(RunVariant{"disabled", {}})) {
    blame.detail = "fails the same way with graph optimizations disabled: not an optimizer's";
    return blame;
  }
  const auto& names = ort_optimizer_names();
  if (fails(RunVariant{"", names})) {
    blame.optimizer_dependent = true;
    blame.detail = "vanishes with graph optimizations disabled, but not with every listed "
                   "optimizer disabled by name: an optimizer onnxfuzz does not list";
    return blame;
  }
  blame.optimizer_dependent = true;
  // `set` makes the finding vanish when disabled: the smallest parts of it that still do.
  std::function<std::vector<std::string>(const std::vector<std::string>&)> narrow =
      [&](const std::vector<std::string>& set) -> std::vector<std::string> {
    if (set.size() == 1) return set;
    const auto middle = set.begin() + static_cast<std::ptrdiff_t>(set.size() / 2);
    const std::vector<std::string> halves[2] = {{set.begin(), middle}, {middle, set.end()}};
    std::vector<std::string> found;
    for (const auto& half : halves) {
      if (blame.runs >= max_runs) break;
      if (!fails(RunVariant{"", half})) {
        auto inner = narrow(half);
        found.insert(found.end(), inner.begin(), inner.end());
      }
    }
    return found;
  };
  blame.culprits = narrow(names);
  std::ranges::sort(blame.culprits);
  blame.detail =
      blame.culprits.empty()
          ? fmt::format("vanishes with every listed optimizer disabled, but with neither half "
                        "alone ({} runs)",
                        blame.runs)
          : fmt::format("vanishes when {} alone is disabled ({} runs)",
                        fmt::join(blame.culprits, " or "), blame.runs);
  return blame;
}

}  // namespace onnxfuzz
