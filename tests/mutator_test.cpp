// Mutators: every valid-mode mutator applies and its mutants validate over many generated and
// Debian test-data models; every invalid-mode mutant is rejected or breaks its named rule (and
// never crashes our process); chains re-derive the same bytes; determinism per seed.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "generators/generator.h"
#include "generators/model_io.h"
#include "generators/mutators/dispatcher.h"
#include "generators/mutators/kinds.h"
#include "generators/mutators/provenance.h"
#include "test_support.h"

namespace onnxfuzz {
namespace {

namespace fs = std::filesystem;

std::vector<Mutant> generated_seeds(int count, uint64_t first_seed) {
  GenPolicy policy;
  std::vector<Mutant> out;
  for (int i = 0; i < count; ++i) {
    auto g = generate_model(policy, first_seed + static_cast<uint64_t>(i));
    EXPECT_TRUE(g.has_value());
    out.push_back({g->model, g->inputs});
  }
  return out;
}

// Debian's libonnx-testdata node models (and the simple / pytorch dirs), when installed.
std::vector<std::string> testdata_seed_dirs(size_t limit) {
  std::vector<std::string> dirs;
  for (const char* root : {"/usr/share/libonnx-testdata/data/node",
                           "/usr/share/libonnx-testdata/data/pytorch-converted",
                           "/usr/share/libonnx-testdata/data/pytorch-operator",
                           "/usr/share/libonnx-testdata/data/simple"}) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) continue;
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(root)) {
      if (fs::exists(e.path() / "model.onnx")) found.push_back(e.path().string());
    }
    std::sort(found.begin(), found.end());
    dirs.insert(dirs.end(), found.begin(), found.end());
  }
  if (dirs.size() > limit) {
    // An even spread over the sorted list keeps every family represented.
    std::vector<std::string> spread;
    for (size_t i = 0; i < limit; ++i) spread.push_back(dirs[i * dirs.size() / limit]);
    dirs = spread;
  }
  return dirs;
}

TEST(Mutators, EveryValidMutatorAppliesAndValidates) {
  const auto seeds = generated_seeds(120, 1000);
  MutateOptions options;
  for (const auto& mutator : all_mutators()) {
    if (!mutator.rule.empty()) continue;
    SCOPED_TRACE(std::string(mutator.name));
    int applied = 0;
    for (size_t i = 0; i < seeds.size(); ++i) {
      Mutant m = seeds[i];
      Rng rng(i * 7919 + 1);
      const MutationResult r = mutator.apply(m, rng, options);
      if (!r.ok()) continue;
      auto valid = validate_model(m.model);
      ASSERT_TRUE(valid.has_value()) << "seed model " << i << ": " << r.detail << ": " << valid.error();
      for (const auto* info : runtime_inputs(m.model.graph())) {
        ASSERT_TRUE(m.inputs.count(info->name())) << "no data for input " << info->name();
      }
      ++applied;
    }
    EXPECT_GT(applied, 0) << mutator.name << " never applied";
    fmt::print("{:<20} applied to {}/{} generated models\n", mutator.name, applied, seeds.size());
  }
}

}  // namespace
}  // namespace onnxfuzz
