// Bench: end-to-end models/s of the fuzz loop per execution set, and where the time goes.
// Usage: bench_campaign [SECONDS_PER_SET=15] [SETS=ref;ref,ort-noopt;ref,ort;ref,ort,ort-noopt]
#include <fmt/format.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "fuzzer/campaign.h"
#include "fuzzer/evaluation.h"
#include "generators/generator.h"
#include "generators/model_io.h"
#include "generators/rng.h"
#include "oracles/reference.h"

using namespace onnxfuzz;
using Clock = std::chrono::steady_clock;

static double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::stod(argv[1]) : 15.0;
  std::vector<std::string> sets = {"ref", "ref,ort-noopt", "ref,ort", "ref,ort,ort-noopt"};
  if (argc > 2) {
    sets.clear();
    std::string all = argv[2];
    for (size_t start = 0; start <= all.size();) {
      const size_t semi = all.find(';', start);
      sets.push_back(all.substr(start, semi == std::string::npos ? semi : semi - start));
      if (semi == std::string::npos) break;
      start = semi + 1;
    }
  }
  fmt::print("{:<20} {:>9} {:>10} {:>9} {:>9} {:>12}\n", "executions", "models", "models/s",
             "gen+val%", "ref%", "workers%");
  for (const auto& set : sets) {
    std::vector<std::unique_ptr<Execution>> owned;
    std::vector<Execution*> executions;
    for (size_t start = 0; start <= set.size();) {
      const size_t comma = set.find(',', start);
      const std::string name =
          set.substr(start, comma == std::string::npos ? comma : comma - start);
      auto e = make_execution(name, ExecutionOptions{});
      if (!e) {
        fmt::print(stderr, "{}: {}\n", name, e.error());
        return 1;
      }
      executions.push_back(e->get());
      owned.push_back(std::move(*e));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    for (auto* e : executions) (void)e->version();  // start workers outside the timed loop
    GenPolicy policy;
    Rng master(1);
    int64_t models = 0;
    double ref_seconds = 0, worker_seconds = 0;
    const auto start = Clock::now();
    while (since(start) < seconds) {
      auto generated = generate_model(policy, master.next());
      if (!generated) return 1;
      // The campaign's validation schedule (CampaignOptions::full_validation_every).
      const Validation validation = models % CampaignOptions{}.full_validation_every == 1
                                        ? Validation::kFull
                                        : Validation::kCheckerOnly;
      Evaluation eval = evaluate_model(generated->model, generated->inputs, executions,
                                       OracleConfig{}, validation);
      for (const auto& obs : eval.observations) {
        (obs.execution == "ref" ? ref_seconds : worker_seconds) += obs.result.seconds;
      }
      ++models;
    }
    const double total = since(start);
    const double outside = total - ref_seconds - worker_seconds;
    fmt::print("{:<20} {:>9} {:>10.1f} {:>8.1f}% {:>8.1f}% {:>11.1f}%\n", set, models,
               models / total, 100 * outside / total, 100 * ref_seconds / total,
               100 * worker_seconds / total);
  }
  // Where the time outside the executions goes, per model (default policy, ref only).
  {
    GenPolicy policy;
    Rng master(2);
    constexpr int kModels = 3000;
    double gen = 0, validate = 0, serialize = 0, judging = 0;
    for (int i = 0; i < kModels; ++i) {
      auto t = Clock::now();
      auto generated = generate_model(policy, master.next());
      gen += since(t);
      t = Clock::now();
      auto inferred = validate_model(generated->model);
      validate += since(t);
      t = Clock::now();
      const ModelUnderTest mut = ModelUnderTest::view(generated->model);
      serialize += since(t);
      const RunResult ref = run_reference(generated->model, generated->inputs);
      t = Clock::now();
      auto verdicts =
          judge({"ref", ref}, {{"other", ref}}, inferred ? &*inferred : nullptr, OracleConfig{});
      judging += since(t);
    }
    fmt::print(
        "\nper model outside executions: generate {:.1f} us, checker+strict inference "
        "{:.1f} us, serialize {:.1f} us, judge {:.1f} us\n",
        1e6 * gen / kModels, 1e6 * validate / kModels, 1e6 * serialize / kModels,
        1e6 * judging / kModels);
  }
  fmt::print(
      "\ngen+val% = wall time outside every execution (generation, checker + shape "
      "inference, oracles, protocol encoding); ref% = reference interpreter; workers% = "
      "ORT worker round trips.\n");
  return 0;
}
