// Prints mutants per second per mutator (each mutant validated as its mode requires) over
// generated seed models, and how often each mutator applies.
#include <fmt/format.h>

#include <chrono>

#include "generators/generator.h"
#include "generators/mutators/dispatcher.h"

int main() {
  using namespace onnxfuzz;
  GenPolicy policy;
  std::vector<Mutant> seeds;
  for (uint64_t s = 0; s < 200; ++s) {
    auto g = generate_model(policy, 100 + s);
    if (g) seeds.push_back({g->model, g->inputs});
  }
  fmt::print("{:<20} {:>10} {:>9}\n", "mutator", "mutants/s", "applies");
  for (const auto& mutator : all_mutators()) {
    MutateOptions options;
    options.mode = mutator.rule.empty() ? MutateMode::kValid : MutateMode::kInvalid;
    int made = 0, tried = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int round = 0; round < 3; ++round) {
      for (size_t i = 0; i < seeds.size(); ++i, ++tried) {
        Mutant m = seeds[i];
        if (apply_step(m, mutator, i * 3 + static_cast<size_t>(round), options)) ++made;
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("{:<20} {:>10.0f} {:>8.0f}%\n", mutator.name, made / seconds, 100.0 * made / tried);
  }
}
