// Oracles: turn the results of several executions of one model into verdicts.
#pragma once

#include <onnx/onnx_pb.h>

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
// Float32 defaults follow common practice for cross-backend float32 comparison (and NNSmith):
// backends reorder sums and use fused/approximate kernels, so bit equality is not a bug.
struct Tolerance {
  double atol = 1e-3;
  double rtol = 1e-2;
};
struct OracleConfig {
  Tolerance float32;              // float32 outputs
  Tolerance float64{1e-7, 1e-6};  // float64 outputs
  // Integers and bools must match exactly.
};

// One execution's result on a model.
struct Observation {
  std::string execution;
  RunResult result;
};

// Judges `observations` against `baseline` (normally "ref"; must have run kOk for numeric,
// shape and rejection verdicts). `inferred` holds ONNX shape inference's view of the model's
// outputs (may be null to skip that check). Never throws.
std::vector<Verdict> judge(const Observation& baseline, const std::vector<Observation>& others,
                           const onnx::ModelProto* inferred, const OracleConfig& config);

// Compares one execution's outputs with expected tensors (a test case's stored outputs);
// produces shape/numeric verdicts with baseline `baseline_name`.
std::vector<Verdict> compare_outputs(const std::string& execution, const RunResult& actual,
                                     const std::string& baseline_name, const TensorMap& expected,
                                     const OracleConfig& config);

// "Fails the same way": same kind on the same execution and, for error kinds (crash, hang,
// rejection), the same normalized message. The minimizer and replay both decide by this.
bool fails_same_way(const Verdict& observed, const Verdict& wanted);

// Lower-cases nothing but strips what varies between runs of one bug: numbers, node/value
// names in quotes, hex addresses, paths; keeps the first line, at most 160 characters.
std::string normalize_message(std::string_view message);

}  // namespace onnxfuzz
