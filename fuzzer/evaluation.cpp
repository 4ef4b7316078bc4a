// Evaluation of one model: validation, runs on every execution, oracle verdicts.
#include "fuzzer/evaluation.h"

#include <fmt/format.h>

#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
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

// One thread that runs one task at a time for an evaluation: an out-of-process execution's
// run() (a worker round trip), while the evaluating thread does other work.
class Runner {
 public:
  Runner() : thread_([this] { loop(); }) {}
  ~Runner() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  void start(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      task_ = std::move(task);
      done_ = false;
    }
    wake_.notify_one();
  }
  // Waits for the task started last; rethrows what it threw.
  void wait() {
    std::unique_lock lock(mutex_);
    finished_.wait(lock, [&] { return done_; });
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] { return stop_ || task_; });
      if (!task_) return;
      std::function<void()> task = std::exchange(task_, nullptr);
      lock.unlock();
      std::exception_ptr error;
      try {
        task();
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      error_ = error;
      done_ = true;
      finished_.notify_one();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  std::function<void()> task_;
  bool done_ = true;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts once the members above exist
};

// Runners are kept for the next evaluation: a thread is started once, not per model.
class RunnerPool {
 public:
  Runner* lease() {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      Runner* runner = idle_.back();
      idle_.pop_back();
      return runner;
    }
    all_.push_back(std::make_unique<Runner>());
    return all_.back().get();
  }
  void give_back(Runner* runner) {
    std::lock_guard lock(mutex_);
    idle_.push_back(runner);
  }
  static RunnerPool& instance() {
    static RunnerPool pool;
    return pool;
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Runner>> all_;
  std::vector<Runner*> idle_;
};

}  // namespace

// An evaluation between start and finish. Heap-allocated: the runners' tasks refer to it.
struct EvaluationInFlight::State {
  const onnx::ModelProto* model = nullptr;
  const TensorMap* inputs = nullptr;
  std::vector<Execution*> executions;
  std::string_view skip;  // an execution not run (evaluate_invalid: ref)
  ModelUnderTest mut;
  std::vector<std::optional<Observation>> slots;  // per execution
  std::vector<bool> uncarried;                    // per execution
  std::vector<Runner*> started;
  // evaluate_model: the first out-of-process execution runs on the calling thread, which sends
  // its request at once and is woken by the answer, no thread handoff on the way; validation
  // and the in-process executions run on a runner meanwhile. start_evaluation leaves every
  // worker to a runner, so that its caller is free until finish().
  bool inline_first = false;
  std::optional<size_t> own;  // that execution

  // Every runner's task ends before the state it refers to: a throw included.
  ~State() {
    for (Runner* runner : started) {
      try {
        runner->wait();
      } catch (...) {
      }
      RunnerPool::instance().give_back(runner);
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

  // The out-of-process executions start, each on a runner of its own.
  void start() {
    slots.resize(executions.size());
    uncarried.resize(executions.size(), false);
    for (size_t i = 0; i < executions.size(); ++i) {
      Execution& execution = *executions[i];
      if (!execution.runs_out_of_process() || !plan(i)) continue;
      if (inline_first && !own) {
        own = i;
        continue;
      }
      Runner* runner = RunnerPool::instance().lease();
      started.push_back(runner);
      runner->start([this, &execution, i] {
        slots[i] = Observation{execution.name(), execution.run(mut, *inputs)};
      });
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

  // Waits for the runners; then the observations in the order given, with the unsupported
  // runs in that order too.
  std::vector<Observation> collect(std::vector<UnsupportedRun>& unsupported) {
    std::exception_ptr first;
    for (Runner* runner : started) {
      try {
        runner->wait();
      } catch (...) {
        if (!first) first = std::current_exception();
      }
      RunnerPool::instance().give_back(runner);
    }
    started.clear();
    if (first) std::rethrow_exception(first);
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

  // judge_all's part: validation, then the judgement of `observations`.
  Evaluation judge(Validation validation, const OracleConfig& config) {
    Evaluation eval;
    // Output types the shape oracle checks against: inference's, or (checker only) the
    // declared ones, read in place rather than copied.
    const onnx::ModelProto* typed = nullptr;
    auto validate = [&] {
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
    };
    if (executions.empty()) {
      validate();
      return eval;
    }
    if (own) {
      Runner* runner = RunnerPool::instance().lease();
      started.push_back(runner);
      runner->start([&] {
        validate();
        run_in_process();
      });
      Execution& execution = *executions[*own];
      try {
        slots[*own] = Observation{execution.name(), execution.run(mut, *inputs)};
      } catch (...) {
        // The runner's task refers to this frame: it ends first.
        std::vector<UnsupportedRun> ignored;
        try {
          (void)collect(ignored);
        } catch (...) {
        }
        throw;
      }
    } else {
      validate();
      run_in_process();
    }
    eval.observations = collect(eval.unsupported);
    for (auto& name : exempt_backend_gaps(eval.observations, *model)) {
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

  OracleConfig config;
  Validation validation = Validation::kFull;
};

namespace {

std::unique_ptr<EvaluationInFlight::State> make_state(const onnx::ModelProto& model,
                                                      const TensorMap& inputs,
                                                      std::span<Execution* const> executions,
                                                      std::string_view skip,
                                                      bool inline_first = false) {
  auto state = std::make_unique<EvaluationInFlight::State>();
  state->inline_first = inline_first;
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
  return state->judge(state->validation, state->config);
}

EvaluationInFlight start_evaluation(const onnx::ModelProto& model, const TensorMap& inputs,
                                    std::span<Execution* const> executions,
                                    const OracleConfig& config, Validation validation) {
  auto state = make_state(model, inputs, executions, {});
  state->config = config;
  state->validation = validation;
  return EvaluationInFlight(std::move(state));
}

Evaluation evaluate_model(const onnx::ModelProto& model, const TensorMap& inputs,
                          std::span<Execution* const> executions, const OracleConfig& config,
                          Validation validation) {
  auto state = make_state(model, inputs, executions, {}, /*inline_first=*/true);
  return state->judge(validation, config);
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
