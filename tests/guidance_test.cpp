// Coverage guidance: focus targets are placed, guided models stay valid, focus keys parse, and
// a guided stream of models covers more than an unguided one of the same length.
#include "generators/guidance.h"

#include <gtest/gtest.h>

#include <set>

#include "generators/generator.h"
#include "generators/model_io.h"
#include "oracles/reference.h"

namespace onnxfuzz {
namespace {

Generator default_generator() {
  auto generator = Generator::make(GenPolicy{});
  EXPECT_TRUE(generator.has_value()) << generator.error();
  return std::move(*generator);
}

std::vector<FocusTarget> focus_or_die(const Generator& g, std::string_view keys) {
  auto focus = parse_focus(g, keys);
  EXPECT_TRUE(focus.has_value()) << focus.error();
  return focus ? *focus : std::vector<FocusTarget>{};
}

TEST(Guidance, EmptyFocusIsTheUnguidedModel) {
  const Generator g = default_generator();
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    EXPECT_EQ(serialize_model(g.generate(seed, {}).model), serialize_model(g.generate(seed).model));
  }
}

TEST(Guidance, SameSeedAndFocusGiveTheSameModel) {
  const Generator g = default_generator();
  const auto focus = focus_or_die(g, "Conv>Relu,Add:int8");
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    EXPECT_EQ(serialize_model(g.generate(seed, focus).model),
              serialize_model(g.generate(seed, focus).model));
  }
}

// Each kind of target lands in the model's coverage for (nearly) every seed: a pair's consumer
// takes the producer's output unless a guard had to go between them, and a pinned attribute
// value stays unless the op's plan repairs it (Conv's group must divide the channels).
TEST(Guidance, FocusTargetsArePlaced) {
  const Generator g = default_generator();
  struct Case {
    const char* key;
    int at_least;  // of 50 seeds
  };
  // MatMul's output often needs a guard before Softmax; MaxPool shrinks a kernel to its input.
  for (const Case& c : {Case{"Conv>Relu", 45}, Case{"MatMul>Softmax", 30}, Case{"Add:int8", 50},
                        Case{"Reshape:float16", 50}, Case{"Conv.group=2", 10},
                        Case{"MaxPool.kernel_shape=3", 30}}) {
    const auto focus = focus_or_die(g, c.key);
    ASSERT_EQ(focus.size(), 1u);
    int placed = 0;
    for (uint64_t seed = 1; seed <= 50; ++seed) {
      Coverage coverage;
      coverage.add(g.generate(seed, focus));
      placed += coverage_counts(coverage, focus[0].kind).count(c.key) > 0;
    }
    EXPECT_GE(placed, c.at_least) << c.key;
  }
}

// Models built around targets drawn from the whole universe pass the checker and strict shape
// inference, and the reference runs them.
TEST(Guidance, GuidedModelsAreValid) {
  const Generator g = default_generator();
  const std::vector<FocusTarget> universe = focus_universe(g);
  ASSERT_GT(universe.size(), 1000u);
  Rng rng(7);
  for (uint64_t seed = 1; seed <= 2000; ++seed) {
    std::vector<FocusTarget> focus{rng.pick(universe), rng.pick(universe)};
    const GeneratedModel model = g.generate(seed, focus);
    auto valid = validate_model(model.model);
    ASSERT_TRUE(valid.has_value()) << focus_string(focus) << " seed " << seed << ": "
                                   << valid.error();
    const RunResult ref = run_reference(model.model, model.inputs);
    EXPECT_NE(ref.status, RunStatus::kError) << focus_string(focus) << ": " << ref.message;
  }
}

TEST(Guidance, FocusKeysParseAndBadOnesAreRefused) {
  const Generator g = default_generator();
  const auto focus = focus_or_die(g, "Conv>Relu,Add:int8,Conv.group=2");
  ASSERT_EQ(focus.size(), 3u);
  EXPECT_EQ(focus[0].kind, FocusTarget::Kind::kOpPair);
  EXPECT_EQ(focus[1].kind, FocusTarget::Kind::kOpDtype);
  EXPECT_EQ(focus[2].kind, FocusTarget::Kind::kAttrValue);
  EXPECT_EQ(focus_string(focus), "Conv>Relu,Add:int8,Conv.group=2");
  for (const char* bad : {"Foo>Relu", "Relu>Foo", "Add:int4", "Conv.group=7", "Conv.nope=1",
                          "Relu", "Softmax:bool"}) {
    auto parsed = parse_focus(g, bad);
    EXPECT_FALSE(parsed.has_value()) << bad;
  }
  // Every key of the universe parses back to itself.
  for (const auto& target : focus_universe(g)) {
    auto parsed = parse_focus_target(g, target.key);
    ASSERT_TRUE(parsed.has_value()) << parsed.error();
    EXPECT_EQ(parsed->key, target.key);
    EXPECT_EQ(parsed->kind, target.kind);
  }
}

// The same number of models, seeds from the same stream: the guided stream covers more op pairs,
// (op, dtype) pairs and attribute values. A property of the guide, not a timing.
TEST(Guidance, GuidedStreamCoversMore) {
  const Generator g = default_generator();
  CoverageGuide guide(g);
  Coverage guided, unguided;
  Rng master(20261126);
  for (int i = 0; i < 3000; ++i) {
    const uint64_t seed = master.next();
    unguided.add(g.generate(seed));
    Rng guide_rng(seed ^ 0x5eed);
    const auto focus = guide.draw(guided, guide_rng);
    guided.add(g.generate(seed, focus));
    guide.record(focus, guided);
  }
  EXPECT_GT(guided.op_pairs.size(), unguided.op_pairs.size() * 21 / 20);
  EXPECT_GT(guided.op_dtypes.size(), unguided.op_dtypes.size());
  // Attribute values the guide can aim at (declared choices); structural ones (axes, perms)
  // come with the ops.
  auto aimed = [&](const Coverage& c) {
    size_t n = 0;
    for (const auto& t : focus_universe(g))
      n += t.kind == FocusTarget::Kind::kAttrValue && c.attr_values.count(t.key) > 0;
    return n;
  };
  EXPECT_GE(aimed(guided), aimed(unguided));
  EXPECT_GT(guide.given_up(), 0u);  // some pairs cannot chain (dtypes, ranks)
}

}  // namespace
}  // namespace onnxfuzz
