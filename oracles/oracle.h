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
  kCrash,      // the worker died: signal, abnormal exit, memory limit
  kHang,       // the worker timed out
  kRejection,  // an execution errored on a model the checker accepts and the baseline runs
  kShape,      // output shape/dtype differs between executions or from ONNX shape inference
  kNumeric,    // allclose failed (NaN/Inf positions included)
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

// Judges `observations` against `baseline` (normally "ref"; must have run kOk for numeric,
// shape and rejection verdicts). kUnsupported observations give no verdict and are not
// compared. `inferred` holds ONNX shape inference's view of the model's
// outputs (may be null to skip that check). Never throws.
std::vector<Verdict> judge(const Observation& baseline, const std::vector<Observation>& others,
                           const onnx::ModelProto* inferred, const OracleConfig& config);

// Compares one execution's outputs with expected tensors (a test case's stored outputs);
// produces shape/numeric verdicts with baseline `baseline_name`.
std::vector<Verdict> compare_outputs(const std::string& execution, const RunResult& actual,
                                     const std::string& baseline_name, const TensorMap& expected,
                                     const OracleConfig& config);

// The rejection oracle's exemption for documented backend gaps: each of `others` that failed
// cleanly (kError) where the baseline ran, with the backend's not-implemented message for an
// (op, dtype) pair that oracles/backend_gaps.h lists for its execution and that `model`
// contains, becomes kUnsupported with a "backend gap: ..." message, so judge() draws no
// rejection from it. Returns the names of the executions exempted. Never throws.
std::vector<std::string> exempt_backend_gaps(const Observation& baseline,
                                             std::vector<Observation>& others,
                                             const onnx::ModelProto& model);

// "Fails the same way": same kind on the same execution and, for error kinds (crash, hang,
// rejection), the same normalized message. The minimizer and replay both decide by this.
bool fails_same_way(const Verdict& observed, const Verdict& wanted);

// Lower-cases nothing but strips what varies between runs of one bug: numbers, node/value
// names in quotes, hex addresses, paths; keeps the first line, at most 160 characters.
std::string normalize_message(std::string_view message);

}  // namespace onnxfuzz
