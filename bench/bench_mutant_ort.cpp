// Prints the share of valid mutants ONNX Runtime runs, per mutator: mutants of the real model
// directories of libonnx-testdata (pytorch-converted, pytorch-operator, simple) and of generated
// models, each run on one execution (default ort-noopt). "ran" is an ok run; "gap" a documented
// not-implemented kernel (oracles/backend_gaps.h) or a dtype the execution cannot carry; "error"
// any other rejection (a finding, or an ORT limit worth a gap row); "crash" a crash or hang.
//   bench_mutant_ort [EXECUTION] [MUTANTS_PER_SEED]
#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <set>

#include "fuzzer/evaluation.h"
#include "generators/generator.h"
#include "generators/mutators/dispatcher.h"
#include "generators/mutators/provenance.h"

int main(int argc, char** argv) {
  using namespace onnxfuzz;
  namespace fs = std::filesystem;
  const std::string name = argc > 1 ? argv[1] : "ort-noopt";
  const int per_seed = argc > 2 ? std::atoi(argv[2]) : 1;
  auto execution = make_execution(name, ExecutionOptions{});
  if (!execution) {
    fmt::print(stderr, "{}\n", execution.error());
    return 1;
  }
  Execution* executions[] = {execution->get()};

  std::vector<std::pair<std::string, Mutant>> seeds;
  for (const char* root : {"/usr/share/libonnx-testdata/data/pytorch-converted",
                           "/usr/share/libonnx-testdata/data/pytorch-operator",
                           "/usr/share/libonnx-testdata/data/simple"}) {
    std::error_code ec;
    std::set<std::string> dirs;
    for (const auto& entry : fs::directory_iterator(root, ec)) dirs.insert(entry.path().string());
    for (const auto& dir : dirs) {
      if (auto seed = load_seed(dir, 1)) seeds.emplace_back("testdata", std::move(seed->mutant));
    }
  }
  GenPolicy policy;
  for (uint64_t s = 0; s < 100; ++s) {
    if (auto g = generate_model(policy, 500 + s)) seeds.emplace_back("generated", Mutant{g->model, g->inputs});
  }
  struct Counts {
    int64_t ran = 0, gap = 0, error = 0, crash = 0, other = 0;
    int64_t total() const { return ran + gap + error + crash + other; }
  };
  std::map<std::string, std::map<std::string, Counts>> by_origin;  // origin -> mutator -> counts
  std::map<std::string, int64_t> errors;                            // first words of rejections
  const OracleConfig config;
  const auto mutators = select_mutators(MutateMode::kValid, {});
  for (const Mutator* mutator : *mutators) {
    MutateOptions options;
    for (size_t i = 0; i < seeds.size(); ++i) {
      for (int k = 0; k < per_seed; ++k) {
        Mutant m = seeds[i].second;
        if (!apply_step(m, *mutator, i * 7 + static_cast<size_t>(k), options)) continue;
        const Evaluation eval = evaluate_model(m.model, m.inputs, executions, config);
        Counts& c = by_origin[seeds[i].first][std::string(mutator->name)];
        const RunResult& r = eval.observations.at(0).result;
        if (!eval.unsupported.empty()) {
          ++c.gap;
        } else if (r.status == RunStatus::kOk) {
          ++c.ran;
        } else if (r.status == RunStatus::kError) {
          ++c.error;
          ++errors[r.message.substr(0, 90)];
        } else if (r.status == RunStatus::kCrash || r.status == RunStatus::kTimeout) {
          ++c.crash;
        } else {
          ++c.other;
        }
      }
    }
  }
  fmt::print("valid mutants on {} ({} testdata + generated seeds, {} mutant(s) per seed and mutator)\n",
             name, seeds.size(), per_seed);
  for (const auto& [origin, rows] : by_origin) {
    Counts sum;
    fmt::print("\n{}:\n{:<20} {:>8} {:>7} {:>7} {:>7} {:>7}\n", origin, "mutator", "mutants", "ran",
               "gap", "error", "crash");
    for (const auto& [mutator, c] : rows) {
      fmt::print("{:<20} {:>8} {:>6.1f}% {:>6.1f}% {:>6.1f}% {:>7}\n", mutator, c.total(),
                 100.0 * c.ran / c.total(), 100.0 * c.gap / c.total(), 100.0 * c.error / c.total(),
                 c.crash);
      sum.ran += c.ran, sum.gap += c.gap, sum.error += c.error, sum.crash += c.crash,
          sum.other += c.other;
    }
    fmt::print("{:<20} {:>8} {:>6.1f}% {:>6.1f}% {:>6.1f}% {:>7}\n", "all", sum.total(),
               100.0 * sum.ran / sum.total(), 100.0 * sum.gap / sum.total(),
               100.0 * sum.error / sum.total(), sum.crash);
  }
  std::vector<std::pair<int64_t, std::string>> top;
  for (const auto& [message, n] : errors) top.emplace_back(n, message);
  std::ranges::sort(top, std::greater<>());
  fmt::print("\nmost frequent rejections:\n");
  for (size_t i = 0; i < std::min<size_t>(top.size(), 8); ++i)
    fmt::print("{:>6}  {}\n", top[i].first, top[i].second);
}
