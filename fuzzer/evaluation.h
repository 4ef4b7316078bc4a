// Evaluation: validate a model, run it on every execution and judge the results.
#pragma once

#include <onnx/onnx_pb.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "oracles/execution.h"
#include "oracles/oracle.h"

namespace onnxfuzz {

// Why an execution gave no verdict on a model although it did not pass: not a finding.
enum class UnsupportedKind {
  kDtype,          // a graph input or output has a dtype the execution cannot carry: not run
  kBackendGap,     // rejected with a not-implemented message for a documented (op, dtype) gap
  kResourceLimit,  // hit a resource limit (worker memory, the reference's output cap)
  kUnsupportedOp,  // an op the execution says it has no kernel for (oracles/refusals.h)
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
  std::vector<Observation> observations;  // one per execution, in the order given
  std::vector<Verdict> verdicts;
  // Their observations have RunStatus::kUnsupported or kResourceLimit.
  std::vector<UnsupportedRun> unsupported;
  std::string baseline;  // the execution outputs were compared with (judge_all's rule)
  bool ran = false;      // some execution produced outputs (see Judgement::ran)
};

// No verdict, and no execution ran the model: its own outcome, neither pass nor a finding.
bool no_execution_ran(const Evaluation& eval);

// How much of ONNX's validation to run before executing.
enum class Validation {
  kFull,         // checker + strict shape inference (any model)
  kCheckerOnly,  // checker; output types as declared. For generated models, whose declared
                 // output shapes equal inference's by construction (tested over 1,000+ seeds):
                 // inference is ~60% of the per-model cost outside the executions.
};

// Runs `model` on `executions` and judges the results with judge_all, whose verdicts do not
// depend on the order of `executions`. The executions that run out of process (workers) get the
// model first (Execution::submit) and run it while validation and the in-process executions
// (ref) run on this thread; each observation is the one its execution gives alone, in the order
// of `executions`. An execution that cannot carry a dtype of the model's graph inputs or outputs
// is not run, and a rejection at a documented backend gap, a refusal of oracles/refusals.h and a
// worker's memory limit are no findings (all: `unsupported`). Invalid models are still run,
// since a crash or hang on bad input is still a finding, but only crash and hang verdicts are
// drawn from them. Never throws.
Evaluation evaluate_model(const onnx::ModelProto& model, const TensorMap& inputs,
                          std::span<Execution* const> executions, const OracleConfig& config,
                          Validation validation = Validation::kFull);

// evaluate_model in two halves, for a caller with work of its own to do while the workers run
// (preparing the next model, or finishing the one before): start_evaluation hands the model to
// the executions that run out of process and returns at once; finish() validates the model,
// runs the in-process executions, collects the workers' results and judges. The result is
// evaluate_model's. Several evaluations may be in flight: a worker runs its models in the
// order they were started. `model`, `inputs` and the executions must outlive finish() (or the
// destructor, which collects and drops the workers' results).
class EvaluationInFlight {
 public:
  EvaluationInFlight(EvaluationInFlight&&) noexcept;
  EvaluationInFlight& operator=(EvaluationInFlight&&) noexcept;
  ~EvaluationInFlight();
  // Once; a second call returns an empty Evaluation.
  Evaluation finish();

  struct State;

 private:
  friend EvaluationInFlight start_evaluation(const onnx::ModelProto&, const TensorMap&,
                                             std::span<Execution* const>, const OracleConfig&,
                                             Validation);
  explicit EvaluationInFlight(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};
EvaluationInFlight start_evaluation(const onnx::ModelProto& model, const TensorMap& inputs,
                                    std::span<Execution* const> executions,
                                    const OracleConfig& config,
                                    Validation validation = Validation::kFull);

// A model that breaks `rule` (an invalid-mode mutant): every execution but the reference (which
// does not validate) must reject it. A crash or hang is a finding as always; an execution that
// runs it gets an accepted-invalid verdict naming the rule (judge_invalid). Never throws.
Evaluation evaluate_invalid(const onnx::ModelProto& model, const TensorMap& inputs,
                            std::span<Execution* const> executions, std::string_view rule);

// The highest-priority verdict (crash > hang > rejection > shape > numeric), or null.
const Verdict* primary_verdict(const std::vector<Verdict>& verdicts);

}  // namespace onnxfuzz
