// Evaluation of one model: validation, runs on every execution, oracle verdicts.
#include "fuzzer/evaluation.h"

#include <fmt/format.h>

#include <memory>
#include <optional>
#include <utility>

#include "generators/model_io.h"
#include "oracles/refusals.h"

namespace onnxfuzz {
namespace {

// The first dtype of the graph's runtime inputs and outputs that `execution` cannot carry.
// Element types outside the table are left to the execution to refuse.
std::optional<DType> uncarried_dtype(const onnx::GraphProto& graph, Execution& execution) {
  const CarriedDtypes carried = execution.carried_dtypes();
  if (carried.not_carried.empty() && carried.carried.size() == all_dtypes().size()) {
    return std::nullopt;
  }
  auto check = [&](const onnx::ValueInfoProto& info) -> std::optional<DType> {
    const int32_t elem = info.type().tensor_type().elem_type();
    if (!dtype_supported(elem) || carried.carries(static_cast<DType>(elem))) return std::nullopt;
    return static_cast<DType>(elem);
  };
  for (const auto* input : runtime_inputs(graph)) {
    if (auto d = check(*input)) return d;
  }
  for (const auto& output : graph.output()) {
    if (auto d = check(output)) return d;
  }
  return std::nullopt;
}

// A run that cannot happen: a graph input or output has a dtype `execution` cannot carry.
std::optional<Observation> not_carried(Execution& execution, const ModelUnderTest& mut) {
  auto dtype = uncarried_dtype(mut.proto().graph(), execution);
  if (!dtype) return std::nullopt;
  RunResult skipped;
  skipped.status = RunStatus::kUnsupported;
  skipped.message = fmt::format("unsupported dtype: {} cannot carry {} graph inputs/outputs",
                                execution.name(), dtype_name(*dtype));
  return Observation{execution.name(), std::move(skipped)};
}

// Why a run that happened gave no verdict, if it is one of the unsupported kinds (a refusal
// of oracles/refusals.h rewrites the result as such).
void note_unsupported(Observation& obs, std::vector<UnsupportedRun>& unsupported) {
  if (const Refusal* refusal = classify_refusal(obs.execution, obs.result)) {
    unsupported.push_back({obs.execution, refusal->status == RunStatus::kResourceLimit
                                              ? UnsupportedKind::kResourceLimit
                                              : UnsupportedKind::kUnsupportedOp});
  } else if (obs.result.status == RunStatus::kResourceLimit) {
    unsupported.push_back({obs.execution, UnsupportedKind::kResourceLimit});
  } else if (obs.result.status == RunStatus::kUnsupported) {
    // The execution's own refusal: a converter without an adapter for the model, an op its
    // runtime has no kernel for.
    unsupported.push_back({obs.execution, UnsupportedKind::kUnsupportedOp});
  }
}

}  // namespace

// An evaluation between start and finish.
struct EvaluationInFlight::State {
  const onnx::ModelProto* model = nullptr;
  const TensorMap* inputs = nullptr;
  std::vector<Execution*> executions;
  std::string_view skip;  // an execution not run (evaluate_invalid: ref)
  ModelUnderTest mut;
  std::vector<std::optional<Observation>> slots;       // per execution
  std::vector<bool> uncarried;                         // per execution
  std::vector<std::optional<Execution::Ticket>> tickets;  // per execution, while submitted
  OracleConfig config;
  Validation validation = Validation::kFull;

  // A run submitted and never collected would leave its result with the execution for good.
  ~State() {
    for (size_t i = 0; i < tickets.size(); ++i) {
      if (tickets[i]) (void)executions[i]->collect(*tickets[i]);
    }
  }

  // Whether execution i runs; if not, its observation says why.
  bool plan(size_t i) {
    if (executions[i]->name() == skip) return false;
    if (auto skipped = not_carried(*executions[i], mut)) {
      slots[i] = std::move(*skipped);
      uncarried[i] = true;
      return false;
    }
    return true;
  }

  // The out-of-process executions get the model: they run it while this thread goes on.
  void start() {
    slots.resize(executions.size());
    uncarried.resize(executions.size(), false);
    tickets.resize(executions.size());
    for (size_t i = 0; i < executions.size(); ++i) {
      if (executions[i]->runs_out_of_process() && plan(i)) {
        tickets[i] = executions[i]->submit(mut, *inputs);
      }
    }
  }

  // The in-process executions, on this thread; then collect().
  std::vector<Observation> finish(std::vector<UnsupportedRun>& unsupported) {
    run_in_process();
    return collect(unsupported);
  }

  void run_in_process() {
    for (size_t i = 0; i < executions.size(); ++i) {
      Execution& execution = *executions[i];
      if (execution.runs_out_of_process() || !plan(i)) continue;
      slots[i] = Observation{execution.name(), execution.run(mut, *inputs)};
    }
  }

  // The out-of-process results; then the observations in the order given, with the unsupported
  // runs in that order too.
  std::vector<Observation> collect(std::vector<UnsupportedRun>& unsupported) {
    for (size_t i = 0; i < executions.size(); ++i) {
      if (!tickets[i]) continue;
      const Execution::Ticket ticket = *std::exchange(tickets[i], std::nullopt);
      slots[i] = Observation{executions[i]->name(), executions[i]->collect(ticket)};
    }
    std::vector<Observation> observations;
    observations.reserve(executions.size());
    for (size_t i = 0; i < executions.size(); ++i) {
      if (!slots[i]) continue;  // skipped by name
      if (uncarried[i]) {
        unsupported.push_back({slots[i]->execution, UnsupportedKind::kDtype});
      } else {
        note_unsupported(*slots[i], unsupported);
      }
      observations.push_back(std::move(*slots[i]));
    }
    return observations;
  }

  // Validation and the in-process executions while the workers run, then the judgement.
  Evaluation judge() {
    Evaluation eval;
    // Output types the shape oracle checks against: inference's, or (checker only) the
    // declared ones, read in place rather than copied.
    const onnx::ModelProto* typed = nullptr;
    if (validation == Validation::kFull) {
      auto validated = validate_model(*model);
      eval.valid = validated.has_value();
      if (validated) {
        eval.inferred = std::move(*validated);
        typed = &eval.inferred;
      } else {
        eval.invalid_reason = validated.error();
      }
    } else {
      auto checked = check_model(*model);
      eval.valid = checked.has_value();
      if (checked) {
        typed = model;
      } else {
        eval.invalid_reason = checked.error();
      }
    }
    if (executions.empty()) return eval;
    eval.observations = finish(eval.unsupported);
    // The inferred model types every intermediate value, so the gap lookup infers nothing again.
    for (auto& name : exempt_backend_gaps(eval.observations, typed != nullptr ? *typed : *model)) {
      eval.unsupported.push_back({std::move(name), UnsupportedKind::kBackendGap});
    }
    Judgement judgement = judge_all(eval.observations, typed, config);
    eval.verdicts = std::move(judgement.verdicts);
    eval.baseline = std::move(judgement.baseline);
    eval.ran = judgement.ran;
    if (!eval.valid) {
      std::erase_if(eval.verdicts, [](const Verdict& v) {
        return v.kind != VerdictKind::kCrash && v.kind != VerdictKind::kHang;
      });
    }
    return eval;
  }
};

namespace {

std::unique_ptr<EvaluationInFlight::State> make_state(const onnx::ModelProto& model,
                                                      const TensorMap& inputs,
                                                      std::span<Execution* const> executions,
                                                      std::string_view skip,
                                                      const OracleConfig& config = {},
                                                      Validation validation = Validation::kFull) {
  auto state = std::make_unique<EvaluationInFlight::State>();
  state->config = config;
  state->validation = validation;
  state->model = &model;
  state->inputs = &inputs;
  state->executions.assign(executions.begin(), executions.end());
  state->skip = skip;
  if (!executions.empty()) state->mut = ModelUnderTest::view(model);
  state->start();
  return state;
}

}  // namespace

std::string_view unsupported_kind_name(UnsupportedKind kind) {
  switch (kind) {
    case UnsupportedKind::kDtype:
      return "unsupported_dtype";
    case UnsupportedKind::kBackendGap:
      return "backend_gap";
    case UnsupportedKind::kResourceLimit:
      return "resource_limit";
    case UnsupportedKind::kUnsupportedOp:
      return "unsupported_op";
  }
  return "unknown";
}

EvaluationInFlight::EvaluationInFlight(std::unique_ptr<State> state) : state_(std::move(state)) {}
EvaluationInFlight::EvaluationInFlight(EvaluationInFlight&&) noexcept = default;
EvaluationInFlight& EvaluationInFlight::operator=(EvaluationInFlight&&) noexcept = default;
EvaluationInFlight::~EvaluationInFlight() = default;

Evaluation EvaluationInFlight::finish() {
  if (!state_) return {};
  std::unique_ptr<State> state = std::move(state_);
  return state->judge();
}

EvaluationInFlight start_evaluation(const onnx::ModelProto& model, const TensorMap& inputs,
                                    std::span<Execution* const> executions,
                                    const OracleConfig& config, Validation validation) {
  return EvaluationInFlight(make_state(model, inputs, executions, {}, config, validation));
}

Evaluation evaluate_model(const onnx::ModelProto& model, const TensorMap& inputs,
                          std::span<Execution* const> executions, const OracleConfig& config,
                          Validation validation) {
  return make_state(model, inputs, executions, {}, config, validation)->judge();
}

Evaluation evaluate_invalid(const onnx::ModelProto& model, const TensorMap& inputs,
                            std::span<Execution* const> executions, std::string_view rule) {
  Evaluation eval;
  eval.invalid_reason = fmt::format("breaks {}", rule);
  auto state = make_state(model, inputs, executions, "ref");
  eval.observations = state->finish(eval.unsupported);
  for (const Observation& obs : eval.observations) {
    eval.ran = eval.ran || obs.result.status == RunStatus::kOk;
  }
  eval.verdicts = judge_invalid(eval.observations, rule);
  return eval;
}

bool no_execution_ran(const Evaluation& eval) { return !eval.ran && eval.verdicts.empty(); }

const Verdict* primary_verdict(const std::vector<Verdict>& verdicts) {
  const Verdict* best = nullptr;
  for (const auto& v : verdicts) {
    if (!best || static_cast<int>(v.kind) < static_cast<int>(best->kind)) best = &v;
  }
  return best;
}

}  // namespace onnxfuzz
