// Optimizer attribution by disabling a runtime's graph optimizers in halves.
#include "fuzzer/optimizer_blame.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>

#include "generators/model_io.h"
#include "oracles/worker_execution.h"

namespace onnxfuzz {

const std::vector<std::string>& ort_optimizer_names() {
  // Level 1 rewrite rules and transformers, then level 2 and 3 (CPU), by the names ORT registers
  // them under, which are not always their class names (PadFusion is "Pad_Fusion", MatmulBNFusion
  // "MatMul_BatchNormalization_Fusion", ClipQuantFusion "ClipQuantRewrite"): ORT ignores a name
  // it does not know, and the bugs of that optimizer are then blamed on none.
  static const std::vector<std::string> kNames = {
      "EliminateIdentity", "EliminateSlice", "UnsqueezeElimination", "EliminateDropout",
      "ExpandElimination", "CastElimination", "PreShapeNodeElimination", "NoopElimination",
      "DivMulFusion", "FuseReluClip", "GemmSumFusion", "GemmTransposeFusion", "NotWhereFusion",
      "ConvAddFusion", "ConvMulFusion", "ConvBNFusion", "ClipQuantRewrite", "ReluQuantRewrite",
      "LabelEncoderFusion", "CommonSubexpressionElimination", "ConstantFolding",
      "ConstantSharing", "MatMulAddFusion", "ReshapeFusion", "FreeDimensionOverrideTransformer",
      "QDQPropagationTransformer", "EnsureUniqueDQForNodeUnit", "CastChainElimination",
      "TransposeOptimizer", "GemmActivationFusion", "MatMulIntegerToFloatFusion",
      "DynamicQuantizeMatMulFusion", "ConvActivationFusion", "GeluFusionL1", "GeluFusionL2",
      "LayerNormFusionL1", "LayerNormFusionL2", "SimplifiedLayerNormFusion", "AttentionFusion",
      "EmbedLayerNormFusion", "GatherSliceToSplitFusion", "GatherToSliceFusion",
      "MatmulTransposeFusion", "BiasGeluFusion", "SkipLayerNormFusion", "BiasSkipLayerNormFusion",
      "FastGeluFusion", "QuickGeluFusion", "BiasSoftmaxFusion", "BiasDropoutFusion",
      "MatMulScaleFusion", "MatMulActivationFusion", "MatMul_BatchNormalization_Fusion",
      "Pad_Fusion", "ConvAddActivationFusion", "DoubleQDQPairsRemover", "QDQS8ToU8Transformer",
      "QDQSelectorActionTransformer", "QDQFinalCleanupTransformer", "GroupQueryAttentionFusion",
      "MatMulNBitsFusion", "SliceConcatToSpaceToDepthFusion", "NchwcTransformer",
      "NhwcTransformer", "Avx2WeightS8ToU8Transformer", "RemoveDuplicateCastTransformer"};
  return kNames;
}

std::optional<std::vector<std::string>> smallest_hiding_set(
    const std::vector<std::string>& names,
    const std::function<std::optional<bool>(const std::vector<std::string>&)>& hides) {
  // Delta debugging on the disabled set: drop a chunk whenever the rest still hides the
  // finding, with finer chunks when no chunk can go, until no single name can go.
  std::vector<std::string> set = names;
  size_t chunks = 2;
  while (set.size() >= 2) {
    const size_t size = (set.size() + chunks - 1) / chunks;
    bool dropped = false;
    for (size_t start = 0; start < set.size(); start += size) {
      std::vector<std::string> rest(set.begin(), set.begin() + static_cast<std::ptrdiff_t>(start));
      rest.insert(rest.end(),
                  set.begin() + static_cast<std::ptrdiff_t>(std::min(start + size, set.size())),
                  set.end());
      const std::optional<bool> rest_hides = hides(rest);
      if (!rest_hides) return std::nullopt;  // out of runs: not known to be the smallest
      if (*rest_hides) {
        set = std::move(rest);
        chunks = std::max<size_t>(chunks - 1, 2);
        dropped = true;
        break;
      }
    }
    if (!dropped) {
      if (size == 1) break;  // every name is needed: 1-minimal
      chunks = std::min(chunks * 2, set.size());
    }
  }
  return set;
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
  if (!blame.culprits.empty()) {
    blame.detail = fmt::format("vanishes when {} alone is disabled ({} runs)",
                               fmt::join(blame.culprits, " or "), blame.runs);
    return blame;
  }
  // Neither half alone hides it: several optimizers make it, each on its own (two rewrites
  // that produce the same faulty node, say). The smallest set that must all be disabled.
  const int halves_runs = blame.runs;
  auto any_of = smallest_hiding_set(
      names, [&](const std::vector<std::string>& set) -> std::optional<bool> {
        if (blame.runs >= halves_runs + max_runs) return std::nullopt;
        return !fails(RunVariant{"", set});
      });
  if (any_of && any_of->size() == 1) {
    // One name hides it after all (a run that changed its mind): that one is needed.
    blame.culprits = std::move(*any_of);
    blame.detail = fmt::format("vanishes when {} alone is disabled ({} runs)",
                               blame.culprits.front(), blame.runs);
  } else if (any_of) {
    std::ranges::sort(*any_of);
    blame.interchangeable = std::move(*any_of);
    blame.detail = fmt::format("vanishes only when {} are all disabled: each of them alone "
                               "makes it ({} runs)",
                               fmt::join(blame.interchangeable, " and "), blame.runs);
  } else {
    blame.detail = fmt::format("vanishes with every listed optimizer disabled, but with neither "
                               "half alone, and no smaller set that hides it was found within "
                               "{} runs",
                               blame.runs);
  }
  return blame;
}

}  // namespace onnxfuzz
