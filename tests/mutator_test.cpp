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
using testing::TempDir;

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

// Thousands of invalid mutants, each validated in this process: none may crash it (ONNX 1.12's
// inference has SIGFPE paths), and each is rejected or breaks its named rule.
TEST(Mutators, InvalidModeBreaksTheNamedRule) {
  const auto seeds = generated_seeds(200, 5000);
  MutateOptions options;
  options.mode = MutateMode::kInvalid;
  auto selected = select_mutators(MutateMode::kInvalid, {});
  ASSERT_TRUE(selected.has_value());
  std::map<std::string, int> made;
  for (const Mutator* mutator : *selected) {
    for (size_t i = 0; i < seeds.size(); ++i) {
      for (uint64_t s = 0; s < 3; ++s) {
        Mutant m = seeds[i];
        auto done = apply_step(m, *mutator, i * 31 + s, options);
        if (!done) continue;
        const auto valid = validate_model(m.model);
        EXPECT_TRUE(!valid || (mutator->checker_blind && breaks_rule(m, mutator->name)))
            << mutator->name << " on seed model " << i << ": " << *done;
        ++made[std::string(mutator->name)];
      }
    }
  }
  for (const Mutator* mutator : *selected) {
    EXPECT_GT(made[std::string(mutator->name)], 0) << mutator->name << " never made a mutant";
    fmt::print("{:<20} {} invalid mutants\n", mutator->name, made[std::string(mutator->name)]);
  }
}

TEST(Mutators, StackedValidMutantsValidateAndChainsRederive) {
  TempDir dir;
  const auto seeds = generated_seeds(40, 9000);
  auto selected = select_mutators(MutateMode::kValid, {});
  ASSERT_TRUE(selected.has_value());
  DispatchOptions dispatch;
  dispatch.mutators = *selected;
  MutateOptions options;
  std::set<std::string> used;
  for (size_t i = 0; i < seeds.size(); ++i) {
    const std::string path = dir.str(fmt::format("seed{}.onnx", i));
    const std::string bytes = serialize_model(seeds[i].model);
    testing::write_file(path, bytes);
    auto seed = load_seed(path, 7);
    ASSERT_TRUE(seed.has_value()) << seed.error();
    Mutant m = seed->mutant;
    Rng rng(i);
    auto steps = mutate(m, rng, options, dispatch);
    ASSERT_TRUE(steps.has_value()) << steps.error();
    ASSERT_TRUE(validate_model(m.model).has_value());
    for (const auto& s : *steps) used.insert(s.mutator);
    Chain chain{path, seed->hash, 7, MutateMode::kValid, false, *steps};
    auto back = chain_from_json(nlohmann::json::parse(chain_to_json(chain).dump()));
    ASSERT_TRUE(back.has_value()) << back.error();
    auto again = rederive(*back);
    ASSERT_TRUE(again.has_value()) << again.error();
    EXPECT_EQ(serialize_model(again->model), serialize_model(m.model));
    EXPECT_EQ(again->inputs, m.inputs);
  }
  EXPECT_GT(used.size(), 8u);
}

TEST(Mutators, SameSeedSameBytes) {
  const auto seeds = generated_seeds(10, 77);
  for (const auto& mutator : all_mutators()) {
    MutateOptions options;
    options.mode = mutator.rule.empty() ? MutateMode::kValid : MutateMode::kInvalid;
    for (const auto& seed : seeds) {
      Mutant a = seed, b = seed;
      auto ra = apply_step(a, mutator, 42, options);
      auto rb = apply_step(b, mutator, 42, options);
      ASSERT_EQ(ra.has_value(), rb.has_value());
      EXPECT_EQ(serialize_model(a.model), serialize_model(b.model)) << mutator.name;
    }
  }
}

TEST(Mutators, ChainWithAnotherSeedFileIsRefused) {
  TempDir dir;
  const auto seeds = generated_seeds(2, 1);
  testing::write_file(dir.str("a.onnx"), serialize_model(seeds[0].model));
  Chain chain{dir.str("a.onnx"), content_hash("something else"), 1, MutateMode::kValid, false, {}};
  auto again = rederive(chain);
  ASSERT_FALSE(again.has_value());
  EXPECT_NE(again.error().find("content hash"), std::string::npos);
}

// Models onnxfuzz did not write: Debian's backend node tests and the pytorch/simple dirs.
TEST(Mutators, TestDataModels) {
  const auto dirs = testdata_seed_dirs(400);
  if (dirs.empty()) GTEST_SKIP() << "libonnx-testdata is not installed";
  std::map<std::string, int> applied_valid, applied_invalid;
  for (MutateMode mode : {MutateMode::kValid, MutateMode::kInvalid}) {
    MutateOptions options;
    options.mode = mode;
    auto selected = select_mutators(mode, {});
    for (size_t i = 0; i < dirs.size(); ++i) {
      auto seed = load_seed(dirs[i], 1);
      if (!seed) continue;  // a type onnxfuzz cannot hold, say
      for (const Mutator* mutator : *selected) {
        Mutant m = seed->mutant;
        auto done = apply_step(m, *mutator, i, options);
        if (!done) continue;
        const auto valid = validate_model(m.model);
        if (mode == MutateMode::kValid) {
          EXPECT_TRUE(valid.has_value()) << dirs[i] << " " << mutator->name;
          ++applied_valid[std::string(mutator->name)];
        } else {
          EXPECT_TRUE(!valid || mutator->checker_blind) << dirs[i] << " " << mutator->name;
          ++applied_invalid[std::string(mutator->name)];
        }
      }
    }
  }
  for (const auto& [name, n] : applied_valid) fmt::print("testdata valid   {:<20} {}\n", name, n);
  for (const auto& [name, n] : applied_invalid) fmt::print("testdata invalid {:<20} {}\n", name, n);
  for (const char* name : {"shape-unit", "dtype-graph", "attribute", "insert-op", "value-edges",
                           "wrong-dtype", "missing-input"})
    EXPECT_GT(applied_valid[name] + applied_invalid[name], 0) << name;
}

TEST(Mutators, SelectMutatorsNamesUnknownOnes) {
  EXPECT_FALSE(select_mutators(MutateMode::kValid, {"no-such"}).has_value());
  EXPECT_FALSE(select_mutators(MutateMode::kValid, {"wrong-dtype"}).has_value());
  EXPECT_FALSE(select_mutators(MutateMode::kInvalid, {"shape-unit"}).has_value());
  auto two = select_mutators(MutateMode::kValid, {"shape-unit", "attribute"});
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(two->size(), 2u);
}

}  // namespace
}  // namespace onnxfuzz
