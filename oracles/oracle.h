// Oracles: turn the results of several executions of one model into verdicts.
#pragma once

#include <onnx/onnx_pb.h>

#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oracles/execution.h"

namespace onnxfuzz {

enum class VerdictKind {
  kCrash,      // the worker died: signal, abnormal exit (not the memory limit)
  kHang,       // the worker timed out
  kRejection,  // an execution errored on a valid model that another execution runs
  kShape,      // output shape/dtype differs between executions or from ONNX shape inference
  kNumeric,    // allclose failed (NaN/Inf positions included)
  kAcceptedInvalid,  // an execution ran a model that breaks a stated ONNX rule (mutate invalid)
};
std::string_view verdict_kind_name(VerdictKind kind);
std::optional<VerdictKind> parse_verdict_kind(std::string_view name);

struct Verdict {
  VerdictKind kind = VerdictKind::kNumeric;
  std::string execution;  // the execution that misbehaved
  std::string baseline;   // what it was compared with ("ref", "inferred", "expected", ...)
  std::string message;    // normalized failure text; stable across runs of the same bug
  std::string evidence;   // details for a human: errors, values, shapes, worst element
  // Stable dedup key before minimization: kind, execution and normalized message.
  std::string key() const;
};

// allclose: |actual - expected| <= atol + rtol * |expected|, NaN/Inf positions must match.
// atol = rtol = 0 means exact (integers and bools).
struct Tolerance {
  double atol = 0;
  double rtol = 0;
  bool operator==(const Tolerance&) const = default;
};

// The dtype table's tolerances (generators/dtype.h), one entry per table dtype.
std::map<DType, Tolerance> default_tolerances();

struct OracleConfig {
  // Per-dtype tolerance; starts as the dtype table's defaults (float32 1e-3/1e-2 following
  // common cross-backend practice, as NNSmith does: backends reorder sums and use fused or
  // approximate kernels, so bit equality is not a bug). A dtype missing here compares exactly.
  std::map<DType, Tolerance> tolerance = default_tolerances();

  Tolerance tolerance_for(DType dtype) const;
};

// Parses "float16=1e-2:2e-2,bfloat16=5e-2:5e-2" (dtype=atol:rtol, dtype names from the table)
// into `config`; the error names the bad item and, for unknown dtypes, the known names.
std::expected<void, std::string> parse_tolerance_list(std::string_view text, OracleConfig& config);

// One execution's result on a model.
struct Observation {
  std::string execution;
  RunResult result;
};

// What judging one model's observations concluded.
struct Judgement {
  std::vector<Verdict> verdicts;
  // The execution numeric and shape comparisons used (see judge_all); empty when none ran.
  std::string baseline;
  // Some execution produced outputs. False with no verdicts: no execution ran the model
  // (each rejected it, could not carry it or hit a resource limit), which is no finding.
  bool ran = false;
};

// Judges every execution's result on one model; the verdicts do not depend on the order of
// `observations` (see judge_all's rule in oracle.cpp and README.md):
//  - a crash or hang is a finding against that execution, always;
//  - an error (kError) is a rejection when some other execution ran the model (kOk);
//  - kUnsupported and kResourceLimit results are not judged;
//  - outputs are compared with one baseline: `ref` when it ran, else the execution that agrees
//    with the most others (ties: the first listed of the tied); each other execution that
//    disagrees with it gets a shape or numeric verdict;
//  - every execution that ran is checked against `inferred` (ONNX shape inference's view of
//    the outputs; null skips that check);
//  - an execution whose family names a pair among the observations (a converter and its
//    --after execution, ExecutionFamily::paired_with) answers to that pair's result on the
//    original model instead: a rejection only when the pair ran it, a comparison only with its
//    outputs; it is neither the baseline nor counted in the majority.
// Never throws.
Judgement judge_all(const std::vector<Observation>& observations,
                    const onnx::ModelProto* inferred, const OracleConfig& config);

// Judges the results on a model that breaks `rule` on purpose (an invalid mutant): a crash or
// hang is a finding as always; an execution that runs it (kOk) gets an accepted-invalid verdict
// naming the rule; an error is the expected outcome; unsupported and resource-limited runs are
// not judged. Never throws.
std::vector<Verdict> judge_invalid(const std::vector<Observation>& observations,
                                   std::string_view rule);

// judge_all over `baseline` followed by `others`: the verdicts only.
std::vector<Verdict> judge(const Observation& baseline, const std::vector<Observation>& others,
                           const onnx::ModelProto* inferred, const OracleConfig& config);

// Compares one execution's outputs with expected tensors (a test case's stored outputs);
// produces shape/numeric verdicts with baseline `baseline_name`.
std::vector<Verdict> compare_outputs(const std::string& execution, const RunResult& actual,
                                     const std::string& baseline_name, const TensorMap& expected,
                                     const OracleConfig& config);

// The rejection oracle's exemption for documented backend gaps: each observation that failed
// cleanly (kError) with the backend's not-implemented message for an (op, dtype) pair that
// oracles/backend_gaps.h lists for its execution and that `model` contains becomes
// kUnsupported with a "backend gap: ..." message, so judge_all() draws no rejection from it.
// Returns the names of the executions exempted. Never throws.
std::vector<std::string> exempt_backend_gaps(std::vector<Observation>& observations,
                                             const onnx::ModelProto& model);

// "Fails the same way": same kind on the same execution and, for error kinds (crash, hang,
// rejection), the same normalized message. The minimizer and replay both decide by this.
bool fails_same_way(const Verdict& observed, const Verdict& wanted);

// Lower-cases nothing but strips what varies between runs of one bug: numbers, node/value
// names in quotes, hex addresses, paths; keeps the first line, at most 160 characters.
std::string normalize_message(std::string_view message);

}  // namespace onnxfuzz
