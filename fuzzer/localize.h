// Fault localization: the first node whose output diverges between two executions.
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "generators/tensor.h"
#include "oracles/execution.h"
#include "oracles/oracle.h"

namespace onnxfuzz {

// How one value (a graph output or an exposed intermediate) compares between two executions,
// under the oracle's tolerance for its dtype.
struct ValueComparison {
  std::string name;
  bool agrees = true;
  bool shape_differs = false;  // dtype or shape differs (the errors are then not computed)
  std::string baseline_type;   // "float32[2,3]"
  std::string target_type;
  double max_abs_error = 0;  // over elements, NaN/Inf position mismatches excluded
  double max_rel_error = 0;  // |a - e| / |e| over elements with e != 0
  int64_t mismatches = 0;    // elements outside the tolerance (NaN/Inf mismatches included)
  int64_t worst_index = -1;  // flat index of the largest error outside the tolerance, or -1
  double baseline_value = 0;  // the two values there
  double target_value = 0;
};

// Compares `actual` with `expected` elementwise with |a - e| <= atol + rtol * |e|; NaN and Inf
// positions must match; integers and bools compare exactly (their tolerance is zero).
ValueComparison compare_values(const std::string& name, const Tensor& expected,
                               const Tensor& actual, const OracleConfig& config);

enum class LocalizationStatus {
  kLocalized,     // a node computes something else than the baseline from the same inputs
  kVanished,      // the finding does not show once intermediates are outputs (see rewrites)
  kNoDivergence,  // the two executions agree on the model as given: nothing to localize
  kNotRun,        // an execution failed (error, crash, ...) on the model or its exposed copy
  // The outputs diverge, but every node computes from the target's own input values what the
  // baseline computes from them (within the tolerance): the divergence is differences the
  // tolerance allows, grown through later nodes (a cancellation, a comparison or rounding that
  // flips, a float32 error judged as float64 after a Cast). Not a kernel's bug.
  kPropagated,
};
std::string_view localization_status_name(LocalizationStatus status);

// The faulty core of a numeric or shape finding.
struct Localization {
  LocalizationStatus status = LocalizationStatus::kNotRun;
  std::string baseline;  // execution names
  std::string target;
  // The first divergent node, in the graph's (topological) node order. Set when kLocalized.
  int node_index = -1;
  std::string node_name;
  std::string op_type;  // "Sqrt", or "com.microsoft.FusedConv" outside the ONNX domain
  std::vector<std::string> attributes;   // "axis=1", "perm=[1,0]", sorted by name
  std::vector<std::string> input_types;  // per node input: "float32 rank 2", "" when absent
  ValueComparison output;                // its worst diverging output
  // How the node was named. "replay": the baseline, run on this node alone with the target's
  // own input values, disagrees with the target's output (so the node is wrong, not its inputs).
  // "precision": a float64 node whose output is what the baseline computes for it in float32
  // (its float64 inputs rounded to float32), not its float64 result: the target computes it in
  // float32. Named also when each value is within the tolerance (then only far above float64's
  // rounding, on a quarter of its elements or more) and later nodes grow the error. "overflow": the replay disagrees only
  // at integer elements whose exact result (the node on its inputs widened to float64) does not
  // fit the dtype: ONNX leaves that result undefined (the reference wraps, like numpy), so it is
  // a difference in overflow behaviour, not a wrong value. "tolerance": the replay could not run,
  // so the first node that diverges while its inputs agree within the tolerance is named.
  std::string evidence;
  ValueComparison replay;  // the node's replay: baseline on the target's inputs vs the target
  // The graph outputs on the model as given (not exposed), baseline vs target.
  std::vector<ValueComparison> outputs;
  // Exposing the intermediates made the divergence disappear (an optimizer's rewrite no
  // longer applies once its inner values are outputs): kVanished.
  bool vanished = false;
  // The rewrites an optimizer applied to the model as given (the target's "rewrites" notes,
  // else LocalizeOptions::rewrites): the fallback when the divergence vanished.
  std::vector<std::string> rewrites;
  int exposed_values = 0;  // intermediates added as outputs
  std::string detail;      // one line for humans: what was found or why not
  // Optimizer attribution (fuzzer/optimizer_blame.h), set by localize_case for findings of
  // executions whose worker runs variants (ONNX Runtime): the optimizers whose disabling alone
  // makes the finding vanish.
  std::vector<std::string> optimizer_culprits;
  // Or, when no single one is needed, the optimizers each of which makes it alone
  // (OptimizerBlame::interchangeable).
  std::vector<std::string> optimizer_interchangeable;
  // A numeric finding on a model with float16 or bfloat16 values whose target outputs match the
  // baseline run on the model with those values widened to float32 (matches_half_widened): the
  // target computes half-precision ops in float32 without rounding between them (ONNX Runtime's
  // CPU provider, for ops it has no float16 kernel for), not a wrong kernel.
  bool half_computed_in_float32 = false;
  // Set by localize_upstream: the node whose error (a rejection) the divergence upstream of it
  // explains, in the model's indexing; node_index is then a node before it. -1 otherwise.
  int failing_node = -1;
};

struct LocalizeOptions {
  OracleConfig oracle;
  // Rewrites already known (case.json artifacts of ort-optimized), reported when the target's
  // own run on the model has no "rewrites" notes.
  std::vector<std::string> rewrites;
};

// Runs `baseline` and `target` on `model` as given, then on a copy with every node output
// exposed as a typed graph output. Each node whose output differs is then replayed: the
// baseline runs that node alone on the target's own values of its inputs. The first node
// (topological order) whose replay disagrees with the target's output, under the oracle's
// tolerance, is named (evidence "replay"); a node whose inputs merely agree within the
// tolerance may still receive values that a later node turns into a divergence, so agreement
// of the inputs alone does not make a node the culprit. See Localization::evidence for the
// other ways a node is named, and kPropagated for a divergence no node makes.
// Never throws; every failure is a status with a detail line.
Localization localize(const onnx::ModelProto& model, const TensorMap& inputs, Execution& baseline,
                      Execution& target, const LocalizeOptions& options = {});

// Whether the error an execution raised in node `failing` (a kernel's check on its inputs, say)
// follows from a value that already diverges upstream of it: localize() on the model cut down
// to the nodes `failing` depends on, whose graph outputs are the values `failing` reads.
// kLocalized names the first divergent node there, by its index in `model`, with failing_node
// set; kNoDivergence means the inputs of `failing` agree (or are the model's own inputs), so
// the error is its own. Never throws.
Localization localize_upstream(const onnx::ModelProto& model, const TensorMap& inputs,
                               int failing, Execution& baseline, Execution& target,
                               const LocalizeOptions& options = {});

// Whether the error an execution raised in node `failing` follows from a value computed beside
// it rather than upstream: localize() on the model without `failing` and every node that reads
// what it computes, with every value its other nodes compute as a graph output. For errors not
// tied to the failing node's inputs: ONNX Runtime's allocation planner lends one node's buffer
// to another's output and fails in the second ("Shape mismatch attempting to re-use buffer")
// when the first produced a shape other than the one inferred. Never throws.
Localization localize_beside(const onnx::ModelProto& model, const TensorMap& inputs, int failing,
                             Execution& baseline, Execution& target,
                             const LocalizeOptions& options = {});

// `model` with every node output that is not yet a graph output added as one, typed (element
// type only) from shape inference, else from the reference's values; `added` counts them.
onnx::ModelProto expose_intermediates(const onnx::ModelProto& model, const TensorMap& inputs,
                                      int* added = nullptr);

// The optimizer's changes an execution noted (RunResult::notes, case.json artifacts): its
// "rewrites" (passes and op changes), then its "node_changes" (nodes removed and added).
std::vector<std::string> optimizer_changes(
    const std::map<std::string, std::vector<std::string>>& notes);

// One line: "node 3 'n3' (Sqrt) diverges: max abs error 0.5 ..." or why there is none.
std::string localization_summary(const Localization& localization);

// The model with every float16 and bfloat16 value, initializer, constant, graph input and output
// and cast target made float32 (subgraphs included), and its inputs converted: the model as an
// execution runs it that computes half-precision ops in float32 and rounds only where it must.
// nullopt when the model has no half-precision value, or a tensor of it cannot be read.
struct HalfWidened {
  onnx::ModelProto model;
  TensorMap inputs;
};
std::optional<HalfWidened> widen_half_precision(const onnx::ModelProto& model,
                                                const TensorMap& inputs);

// Whether `target_result` (the target's run of `model` on `inputs`) agrees, under `config`, with
// `baseline` run on the widened model, its outputs rounded back to the model's output dtypes.
// nullopt when there is nothing to widen or either run failed.
std::optional<bool> matches_half_widened(const onnx::ModelProto& model, const TensorMap& inputs,
                                         const RunResult& target_result, Execution& baseline,
                                         const OracleConfig& config);

// Whether `target` runs `model` as an execution that computes half precision in float32 does:
// matches_half_widened on the target's own run, made only when there is something to widen.
bool computes_half_in_float32(const onnx::ModelProto& model, const TensorMap& inputs,
                              Execution& target, Execution& baseline, const OracleConfig& config);

}  // namespace onnxfuzz
