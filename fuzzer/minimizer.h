// Minimizer: shrinks a failing model while it still fails the same way (C-Vise style passes).
#pragma once

#include <onnx/onnx_pb.h>

#include <atomic>
#include <expected>
#include <functional>
#include <string>
#include <vector>

#include "oracles/execution.h"
#include "oracles/oracle.h"

namespace onnxfuzz {

struct MinimizeOptions {
  double time_budget_seconds = 120;         // stop reducing (keeping the best so far) after this
  int max_checks = 5000;                    // upper bound on interestingness checks
  const std::atomic<bool>* stop = nullptr;  // when set and true: stop now, keep the best so far
  // When set, a candidate that fails the same way is kept only if this also holds for it (its
  // model, inputs and the matching verdict): e.g. its divergence still comes from a node of the
  // op the finding was localized to (store_finding).
  std::function<bool(const onnx::ModelProto&, const TensorMap&, const Verdict&)> same_cause;
};

struct MinimizeStats {
  int checks = 0;    // candidate models run
  int accepted = 0;  // candidates that still failed the same way
  int nodes_before = 0;
  int nodes_after = 0;
  double seconds = 0;
  bool budget_exhausted = false;
  std::vector<std::string> log;  // "pass-name: what it removed" per accepted step
};

struct MinimizeResult {
  onnx::ModelProto model;  // minimized, validated, with full static types on inputs/outputs
  TensorMap inputs;        // inputs that reproduce the failure on `model`
  Verdict verdict;         // the verdict observed on the minimized model
  MinimizeStats stats;
};

// Shrinks `model` (run on `inputs`) while `baseline` vs `target` still gives a verdict of the
// same kind on the same execution as `wanted` (and, for crash/hang/rejection, the same
// normalized message). Returns an error value when the unreduced model does not fail that
// way: the message says how to reproduce by hand. Works on any model whose ops the reference
// supports, generated or not.
std::expected<MinimizeResult, std::string> minimize(const onnx::ModelProto& model,
                                                    const TensorMap& inputs, const Verdict& wanted,
                                                    Execution& baseline, Execution& target,
                                                    const OracleConfig& config,
                                                    const MinimizeOptions& options);

}  // namespace onnxfuzz
