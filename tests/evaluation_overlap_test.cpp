// evaluate_model runs out-of-process executions (workers) side by side with the in-process ones
// and validation: the evaluation is the one it gives when they run one after the other
// (observations and unsupported runs in the order given, the same verdicts).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <stdexcept>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fuzzer/evaluation.h"
#include "generators/model_io.h"
#include "tests/unary_model.h"
#include "oracles/execution.h"

namespace onnxfuzz {
namespace {

// Scripted results. Out of process, it runs like a worker: submit() starts the run on a thread
// of its own and returns; collect() waits for it.
class Scripted final : public Execution {
 public:
  Scripted(std::string name, RunResult result, bool out_of_process,
           std::vector<DType> uncarried = {})
      : name_(std::move(name)),
        result_(std::move(result)),
        out_of_process_(out_of_process),
        uncarried_(std::move(uncarried)) {}
  const std::string& name() const override { return name_; }
  std::string version() override { return "scripted"; }
  bool runs_out_of_process() const override { return out_of_process_; }
  CarriedDtypes carried_dtypes() override {
    CarriedDtypes report;
    for (const DTypeInfo& row : all_dtypes()) {
      if (std::ranges::count(uncarried_, row.dtype)) {
        report.not_carried.emplace_back(row.dtype, "scripted");
      } else {
        report.carried.push_back(row.dtype);
      }
    }
    return report;
  }
  RunResult run(const ModelUnderTest& model, const TensorMap&) override {
    thread = std::this_thread::get_id();
    ++runs;
    if (before_run) before_run();
    return by_model ? by_model(model) : result_;
  }
  Ticket submit(const ModelUnderTest& model, const TensorMap& inputs) override {
    if (!out_of_process_) return Execution::submit(model, inputs);
    const Ticket ticket = next_++;
    running_.emplace(ticket, std::async(std::launch::async, [this, &model, &inputs] {
                       return run(model, inputs);
                     }));
    return ticket;
  }
  RunResult collect(Ticket ticket) override {
    if (!out_of_process_) return Execution::collect(ticket);
    auto it = running_.find(ticket);
    if (it == running_.end()) throw std::invalid_argument("not outstanding");
    RunResult result = it->second.get();
    running_.erase(it);
    return result;
  }
  size_t outstanding() const { return running_.size(); }

  std::thread::id thread;
  int runs = 0;
  std::function<void()> before_run;
  std::function<RunResult(const ModelUnderTest&)> by_model;  // instead of the scripted result

 private:
  std::map<Ticket, std::future<RunResult>> running_;
  Ticket next_ = 1;
  std::string name_;
  RunResult result_;
  bool out_of_process_;
  std::vector<DType> uncarried_;
};

onnx::ModelProto abs_model(std::string_view elem) { return testing::unary_model("Abs", elem); }

RunResult ok_with(float value) {
  return testing::y_result(Tensor::of_floats({2, 3}, std::vector<float>(6, value)));
}

RunResult error_with(std::string message) { return testing::error_result(std::move(message)); }

std::vector<std::string> summary_of(const Evaluation& eval) {
  std::vector<std::string> lines;
  for (const auto& obs : eval.observations) {
    lines.push_back(fmt::format("obs {} {} {}", obs.execution, run_status_name(obs.result.status),
                                obs.result.message));
  }
  for (const auto& v : eval.verdicts) {
    lines.push_back(
        fmt::format("verdict {} {} {}", verdict_kind_name(v.kind), v.execution, v.message));
  }
  for (const auto& u : eval.unsupported) {
    lines.push_back(fmt::format("unsupported {} {}", u.execution, unsupported_kind_name(u.kind)));
  }
  lines.push_back(fmt::format("baseline {} ran {} valid {}", eval.baseline, eval.ran, eval.valid));
  return lines;
}

// evaluate_model: ref and validation on the calling thread while the worker runs.
TEST(EvaluationOverlap, WorkerAndInProcessExecutionsRunSideBySide) {
  Scripted ref("ref", ok_with(1), false);
  Scripted worker("ort", ok_with(1), true);
  // The worker's run has started before ref's ends: ref waits for it (bounded, so that a
  // regression fails instead of hanging).
  std::promise<void> worker_started;
  worker.before_run = [&] { worker_started.set_value(); };
  bool overlapped = false;
  ref.before_run = [&] {
    overlapped =
        worker_started.get_future().wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  };
  Execution* executions[] = {&ref, &worker};
  const Evaluation eval = evaluate_model(abs_model("float"), {}, executions, OracleConfig{});
  EXPECT_TRUE(overlapped);
  EXPECT_NE(worker.thread, std::this_thread::get_id());
  EXPECT_EQ(ref.thread, std::this_thread::get_id());
  EXPECT_EQ(ref.runs, 1);
  EXPECT_EQ(worker.runs, 1);
  ASSERT_EQ(eval.observations.size(), 2u);
  EXPECT_EQ(eval.observations[0].execution, "ref");
  EXPECT_EQ(eval.observations[1].execution, "ort");
  EXPECT_TRUE(eval.verdicts.empty());
}

// The same executions, each once out of process and once not: the same evaluation, in the
// order given, for every mix.
TEST(EvaluationOverlap, SameEvaluationAsOneAfterTheOther) {
  struct Spec {
    const char* name;
    RunResult result;
    std::vector<DType> uncarried;
  };
  const std::vector<Spec> specs = {
      {"ref", ok_with(1), {}},
      {"ort", ok_with(2), {}},                                 // numeric
      {"ort-noopt", error_with("cannot load the model"), {}},  // rejection
      {"planted", ok_with(1), {DType::kFloat}},                // not carried: not run
      {"ort-web", ok_with(1), {}},
  };
  {
    const onnx::ModelProto model = abs_model("float");
    std::vector<std::string> expected;
    for (unsigned mask = 0; mask < (1u << specs.size()); ++mask) {
      std::vector<std::unique_ptr<Scripted>> owned;
      std::vector<Execution*> executions;
      for (size_t i = 0; i < specs.size(); ++i) {
        owned.push_back(std::make_unique<Scripted>(specs[i].name, specs[i].result, (mask >> i) & 1,
                                                   specs[i].uncarried));
        executions.push_back(owned.back().get());
      }
      SCOPED_TRACE(fmt::format("out of process mask {:05b}", mask));
      for (Validation validation : {Validation::kFull, Validation::kCheckerOnly}) {
        const auto lines =
            summary_of(evaluate_model(model, {}, executions, OracleConfig{}, validation));
        if (expected.empty()) expected = lines;
        EXPECT_EQ(lines, expected);
      }
      EXPECT_EQ(owned[3]->runs, 0);
      EXPECT_EQ(owned[1]->runs, 2);
      const auto invalid = summary_of(evaluate_invalid(model, {}, executions, "some-rule"));
      EXPECT_EQ(owned[0]->runs, 2);  // ref is not run on rule-breaking models
      ASSERT_FALSE(invalid.empty());
      EXPECT_EQ(invalid[0], "obs ort ok ");
    }
    // Sanity of the expectation itself.
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(expected[0], "obs ref ok ");
    EXPECT_NE(std::find(expected.begin(), expected.end(), "unsupported planted unsupported_dtype"),
              expected.end());
  }
}

// start_evaluation returns while the worker runs: the caller's own work (here: letting the
// worker go on) happens before finish(), which gives evaluate_model's evaluation.
TEST(EvaluationOverlap, StartReturnsWhileTheWorkerRuns) {
  Scripted ref("ref", ok_with(1), false);
  Scripted worker("ort", ok_with(2), true);
  std::promise<void> caller_went_on;
  std::shared_future<void> went_on = caller_went_on.get_future().share();
  bool waited = false;
  worker.before_run = [&] {
    waited = went_on.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  };
  Execution* executions[] = {&ref, &worker};
  const onnx::ModelProto model = abs_model("float");
  EvaluationInFlight in_flight = start_evaluation(model, {}, executions, OracleConfig{});
  EXPECT_EQ(ref.runs, 0);  // in-process executions run in finish(), on this thread
  caller_went_on.set_value();
  const Evaluation eval = in_flight.finish();
  EXPECT_TRUE(waited);
  EXPECT_EQ(ref.thread, std::this_thread::get_id());
  EXPECT_NE(worker.thread, std::this_thread::get_id());
  worker.before_run = nullptr;
  EXPECT_EQ(summary_of(eval), summary_of(evaluate_model(model, {}, executions, OracleConfig{})));
  ASSERT_EQ(eval.verdicts.size(), 1u);
  EXPECT_EQ(eval.verdicts[0].kind, VerdictKind::kNumeric);
  EXPECT_EQ(eval.verdicts[0].execution, "ort");
  EXPECT_TRUE(in_flight.finish().observations.empty());  // once
}

// An evaluation dropped without finish() collects its runs: nothing stays outstanding.
TEST(EvaluationOverlap, DroppedEvaluationCollectsItsRuns) {
  Scripted worker("ort", ok_with(1), true);
  std::atomic<bool> ended{false};
  worker.before_run = [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ended = true;
  };
  Execution* executions[] = {&worker};
  const onnx::ModelProto model = abs_model("float");
  { EvaluationInFlight dropped = start_evaluation(model, {}, executions, OracleConfig{}); }
  EXPECT_TRUE(ended);
  EXPECT_EQ(worker.runs, 1);
  EXPECT_EQ(worker.outstanding(), 0u);
}

// Two evaluations in flight at once, finished in either order: each gets its own model's
// results, as evaluate_model gives them.
TEST(EvaluationOverlap, TwoEvaluationsInFlightKeepTheirOwnResults) {
  Scripted ref("ref", ok_with(1), false);
  Scripted worker("ort", ok_with(1), true);
  // A rejection that names the model's input dtype: a result given to the other model shows.
  worker.by_model = [](const ModelUnderTest& model) {
    return error_with(
        fmt::format("rejects {}", model.proto().graph().input(0).type().tensor_type().elem_type()));
  };
  Execution* executions[] = {&ref, &worker};
  const onnx::ModelProto floats = abs_model("float");
  const onnx::ModelProto doubles = abs_model("double");
  const auto alone = summary_of(evaluate_model(floats, {}, executions, OracleConfig{}));
  const auto alone_doubles = summary_of(evaluate_model(doubles, {}, executions, OracleConfig{}));
  ASSERT_NE(std::ranges::find(alone, "obs ort error rejects 1"), alone.end());
  ASSERT_NE(std::ranges::find(alone_doubles, "obs ort error rejects 11"), alone_doubles.end());
  for (bool in_order : {true, false}) {
    SCOPED_TRACE(in_order ? "finished in order" : "finished in reverse");
    EvaluationInFlight first = start_evaluation(floats, {}, executions, OracleConfig{});
    EvaluationInFlight second = start_evaluation(doubles, {}, executions, OracleConfig{});
    std::vector<std::string> a, b;
    if (in_order) {
      a = summary_of(first.finish());
      b = summary_of(second.finish());
    } else {
      b = summary_of(second.finish());
      a = summary_of(first.finish());
    }
    EXPECT_EQ(a, alone);
    EXPECT_EQ(b, alone_doubles);
  }
  EXPECT_EQ(worker.outstanding(), 0u);
}

}  // namespace
}  // namespace onnxfuzz
