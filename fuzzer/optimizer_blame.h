// Optimizer attribution: which of a runtime's graph optimizers a finding depends on. The model
// runs with optimizations disabled; when the finding vanishes there, the optimizers are
// disabled by name in halves until the ones it needs are left: the finding's root cause is
// then those optimizers, whatever the ops around them.
#pragma once

#include <onnx/onnx_pb.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "generators/tensor.h"
#include "oracles/execution.h"
#include "oracles/oracle.h"

namespace onnxfuzz {

// ONNX Runtime's CPU graph transformers and rewrite rules by the names its session option
// optimization.disable_specified_optimizers takes (ORT ignores names it does not know, so one
// list serves every release).
const std::vector<std::string>& ort_optimizer_names();

// Whether findings of this kind are attributed: all but hangs (each variant run of one would cost
// a timeout) and accepted-invalid models (nothing to run differently).
bool attributable(VerdictKind kind);

struct OptimizerBlame {
  // False: the execution cannot run variants (not an ORT or planted worker), or nothing ran.
  bool attempted = false;
  // The finding vanishes with graph optimizations disabled.
  bool optimizer_dependent = false;
  // The optimizers it needs: disabling any one of them alone makes it vanish. Empty when it is
  // not optimizer-dependent, or only a combination across the list's halves makes it vanish.
  std::vector<std::string> culprits;
  // When no single optimizer is needed: the smallest set whose disabling together makes the
  // finding vanish, each of them able to make it alone (two fusions that emit the same faulty
  // node). Empty otherwise, or when the search ran out of runs.
  std::vector<std::string> interchangeable;
  int runs = 0;         // run-variant calls made
  std::string detail;   // one line for humans
};

// The smallest subset of `names` (no name can be dropped from it) for which `hides` holds,
// given that it holds for `names`: delta debugging, O(k log n) calls for k names kept. `hides`
// answers nullopt when out of budget; then so does this.
std::optional<std::vector<std::string>> smallest_hiding_set(
    const std::vector<std::string>& names,
    const std::function<std::optional<bool>(const std::vector<std::string>&)>& hides);

// Blames `wanted` (a verdict of `target` against `baseline` on `model`) on `target`'s graph
// optimizers, with at most `max_runs` variant runs (and as many again for an interchangeable
// set); first it checks that `target` still fails that way (a finding a newer release fixed
// has nothing to attribute). A variant "still fails" when judging it against the baseline's
// outputs gives a verdict that fails_same_way as `wanted`. Never throws.
OptimizerBlame blame_optimizers(const onnx::ModelProto& model, const TensorMap& inputs,
                                Execution& baseline, Execution& target, const Verdict& wanted,
                                const OracleConfig& config, int max_runs = 40);

}  // namespace onnxfuzz
