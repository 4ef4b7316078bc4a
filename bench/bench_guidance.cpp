// Coverage guidance, by model count: the same seed stream generated with and without the
// coverage guide (the campaign's draw and record), and the coverage each reaches after every
// checkpoint. Prints ops, (op, dtype) pairs, op pairs and attribute values, and how many keys of
// the guide's target universe each covers.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

#include "generators/generator.h"
#include "generators/guidance.h"

namespace {

using onnxfuzz::Coverage;
using onnxfuzz::FocusTarget;

// Keys of the universe of `kind` present in `coverage`.
size_t universe_covered(const std::vector<FocusTarget>& universe, const Coverage& coverage,
                        FocusTarget::Kind kind) {
  size_t n = 0;
  for (const auto& t : universe) {
    if (t.kind == kind && onnxfuzz::coverage_counts(coverage, kind).count(t.key)) ++n;
  }
  return n;
}

void print_row(const char* label, long models, const Coverage& c,
               const std::vector<FocusTarget>& universe) {
  std::printf("%-9s %8ld | ops %4zu | (op,dtype) %5zu | op pairs %6zu | attr values %5zu | "
              "universe: pairs %6zu (op,dtype) %5zu attrs %4zu\n",
              label, models, c.ops.size(), c.op_dtypes.size(), c.op_pairs.size(),
              c.attr_values.size(), universe_covered(universe, c, FocusTarget::Kind::kOpPair),
              universe_covered(universe, c, FocusTarget::Kind::kOpDtype),
              universe_covered(universe, c, FocusTarget::Kind::kAttrValue));
}

}  // namespace

int main(int argc, char** argv) {
  long count = 50000;
  uint64_t seed = 20261126;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
      count = std::strtol(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s [--count N] [--seed S]\n", argv[0]);
      return 2;
    }
  }
  auto generator = onnxfuzz::Generator::make(onnxfuzz::GenPolicy{});
  if (!generator) {
    std::fprintf(stderr, "bench_guidance: %s\n", generator.error().c_str());
    return 1;
  }
  const auto universe = onnxfuzz::focus_universe(*generator);
  size_t by_kind[3] = {0, 0, 0};
  for (const auto& t : universe) ++by_kind[static_cast<int>(t.kind)];
  std::printf("target universe: %zu (op,dtype), %zu op pairs, %zu attribute values\n", by_kind[0],
              by_kind[1], by_kind[2]);
  onnxfuzz::CoverageGuide guide(*generator);
  Coverage guided, unguided;
  onnxfuzz::Rng master(seed);
  double guided_seconds = 0, unguided_seconds = 0;
  for (long i = 1; i <= count; ++i) {
    const uint64_t model_seed = master.next();
    auto t0 = std::chrono::steady_clock::now();
    unguided.add(generator->generate(model_seed));
    auto t1 = std::chrono::steady_clock::now();
    onnxfuzz::Rng guide_rng(model_seed ^ 0x67756964616e6365ULL);
    const auto focus = guide.draw(guided, guide_rng);
    guided.add(generator->generate(model_seed, focus));
    guide.record(focus, guided);
    auto t2 = std::chrono::steady_clock::now();
    unguided_seconds += std::chrono::duration<double>(t1 - t0).count();
    guided_seconds += std::chrono::duration<double>(t2 - t1).count();
    if (i == count || (i & (i - 1)) == 0 && i >= 1000) {
      print_row("unguided", i, unguided, universe);
      print_row("guided", i, guided, universe);
    }
  }
  std::printf("generation: unguided %.0f models/s, guided %.0f models/s (draw + record "
              "included); %zu targets given up\n",
              count / unguided_seconds, count / guided_seconds, guide.given_up());
  return 0;
}
