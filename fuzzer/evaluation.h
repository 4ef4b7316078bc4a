// Evaluation: validate a model, run it on every execution and judge the results.
#pragma once

#include <onnx/onnx_pb.h>

#include <span>
#include <string_view>
#include <string>
#include <vector>

#include "oracles/execution.h"
#include "oracles/oracle.h"

namespace onnxfuzz {

// Why an execution gave no verdict on a model although it did not pass: not a finding.
enum class UnsupportedKind {
  kDtype,       // a graph input or output has a dtype the execution cannot carry: not run
  kBackendGap,  // rejected with a not-implemented message for a documented (op, dtype) gap
};
std::string_view unsupported_kind_name(UnsupportedKind kind);

struct UnsupportedRun {
  std::string execution;
  UnsupportedKind kind = UnsupportedKind::kDtype;
};

struct Evaluation {
  bool valid = false;                     // passed the ONNX checker and strict shape inference
  std::string invalid_reason;             // why not, when !valid
  onnx::ModelProto inferred;              // the model with inferred value_info (when valid)
  std::vector<Observation> observations;  // one per execution, baseline first
  std::vector<Verdict> verdicts;
  std::vector<UnsupportedRun> unsupported;  // their observations have RunStatus::kUnsupported
};

// How much of ONNX's validation to run before executing.
enum class Validation {
  kFull,         // checker + strict shape inference (any model)
  kCheckerOnly,  // checker; output types as declared. For generated models, whose declared
                 // output shapes equal inference's by construction (tested over 1,000+ seeds):
                 // inference is ~60% of the per-model cost outside the executions.
};

// Runs `model` on `executions` (the first is the baseline every other is judged against).
// An execution that cannot carry a dtype of the model's graph inputs or outputs is not run,
// and a rejection at a documented backend gap is no rejection (both: `unsupported`).
// Invalid models are still run, since a crash or hang on bad input is still a finding, but
// only crash and hang verdicts are drawn from them. Never throws.
Evaluation evaluate_model(const onnx::ModelProto& model, const TensorMap& inputs,
                          std::span<Execution* const> executions, const OracleConfig& config,
                          Validation validation = Validation::kFull);

// The highest-priority verdict (crash > hang > rejection > shape > numeric), or null.
const Verdict* primary_verdict(const std::vector<Verdict>& verdicts);

}  // namespace onnxfuzz
