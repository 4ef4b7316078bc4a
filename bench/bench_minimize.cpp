// Bench: minimization time and reduction on planted faults in generated models.
// Usage: bench_minimize [MODELS=30] [MAX_NODES=20]
// Uses the test-only planted worker (value fault on Sqrt), so it needs no real backend bug.
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <vector>

#include "fuzzer/evaluation.h"
#include "fuzzer/minimizer.h"
#include "generators/generator.h"
#include "generators/rng.h"

using namespace onnxfuzz;

int main(int argc, char** argv) {
  const int models = argc > 1 ? std::stoi(argv[1]) : 30;
  const int max_nodes = argc > 2 ? std::stoi(argv[2]) : 20;
  ::setenv("ONNXFUZZ_PLANTED", "value=Sqrt", 1);
  auto ref = make_execution("ref", ExecutionOptions{});
  auto planted = make_execution("planted", ExecutionOptions{});
  if (!ref || !planted) {
    fmt::print(stderr, "{}\n", planted ? ref.error() : planted.error());
    return 1;
  }
  std::vector<Execution*> executions{ref->get(), planted->get()};
  GenPolicy policy;
  policy.min_nodes = max_nodes;
  policy.max_nodes = max_nodes;
  Rng master(7);
  int minimized = 0, single = 0;
  double seconds = 0, nodes_before = 0, nodes_after = 0, checks = 0;
  while (minimized < models) {
    auto generated = generate_model(policy, master.next());
    if (!generated) return 1;
    Evaluation eval =
        evaluate_model(generated->model, generated->inputs, executions, OracleConfig{});
    const Verdict* verdict = primary_verdict(eval.verdicts);
    if (!verdict) continue;  // no Sqrt on the way to an output
    auto result = minimize(generated->model, generated->inputs, *verdict, **ref, **planted,
                           OracleConfig{}, MinimizeOptions{});
    if (!result) continue;
    ++minimized;
    seconds += result->stats.seconds;
    checks += result->stats.checks;
    nodes_before += result->stats.nodes_before;
    nodes_after += result->stats.nodes_after;
    single += result->stats.nodes_after == 1;
  }
  fmt::print("minimized {} planted-fault models of {} nodes\n", minimized, max_nodes);
  fmt::print(
      "mean time {:.1f} ms, mean checks {:.0f}, mean nodes {:.1f} -> {:.2f}, "
      "reduced to the single faulty node: {}/{}\n",
      1e3 * seconds / minimized, checks / minimized, nodes_before / minimized,
      nodes_after / minimized, single, minimized);
  return 0;
}
