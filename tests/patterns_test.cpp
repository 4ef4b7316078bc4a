// Optimizer patterns: every row of the table is inserted whole, validates, runs on the reference
// and is perturbed in every way that applies to it.
#include "generators/patterns.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "generators/generator.h"
#include "generators/model_io.h"
#include "generators/op_spec.h"
#include "oracles/reference.h"

namespace onnxfuzz {
namespace {

// The op sequence of a pattern row, as the table writes it.
std::vector<std::string> ops_in_pattern_text(const Pattern& p) {
  std::vector<std::string> ops;
  std::string_view text = p.nodes;
  for (size_t eq = text.find('='); eq != std::string_view::npos; eq = text.find('=', eq + 1)) {
    size_t start = eq + 1;
    while (start < text.size() && text[start] == ' ') ++start;
    size_t end = start;
    while (end < text.size() && std::isalnum(static_cast<unsigned char>(text[end]))) ++end;
    const std::string word(text.substr(start, end - start));
    if (!word.empty() && std::isupper(static_cast<unsigned char>(word[0])) &&
        find_op_spec(word) != nullptr)
      ops.push_back(word);
    eq = text.find('\n', eq);
    if (eq == std::string_view::npos) break;
  }
  return ops;
}

TEST(Patterns, EveryPatternIsInsertedWholeAndRuns) {
  GenPolicy policy;
  policy.prob_pattern = 1.0;
  policy.min_nodes = policy.max_nodes = 12;
  if (const char* only = std::getenv("ONNXFUZZ_PATTERN_TEST_OPS")) {  // debugging aid
    for (std::string_view rest = only; !rest.empty();) {
      const size_t comma = rest.find(',');
      policy.only_ops.emplace_back(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    }
  }
  std::map<std::string, int> inserted;
  std::set<std::string> keys;
  for (uint64_t seed = 0; seed < 3000; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    auto g = generate_model(policy, seed);
    ASSERT_TRUE(g.has_value()) << g.error();
    auto validated = validate_model(g->model);
    ASSERT_TRUE(validated.has_value()) << validated.error();
    RunResult result = run_reference(g->model, g->inputs);
    ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
    for (const auto& key : g->patterns) {
      keys.insert(key);
      ++inserted[key.substr(0, key.find('/'))];
    }
    if (::testing::Test::HasFailure()) return;
  }
  for (const auto& p : all_patterns()) {
    bool registered = true;
    for (const auto& op : {"LayerNormalization", "Erf", "BatchNormalization", "Pad", "Cast"}) {
      if (std::string_view(p.nodes).find(op) != std::string_view::npos && !find_op_spec(op))
        registered = false;
    }
    for (const auto& op : ops_in_pattern_text(p)) {
      if (!policy.only_ops.empty() &&
          std::find(policy.only_ops.begin(), policy.only_ops.end(), op) == policy.only_ops.end())
        registered = false;
    }
    if (!registered) continue;  // the op it needs is not registered yet, or not allowed
    EXPECT_GT(inserted[std::string(p.name)], 0) << p.name << " was never inserted";
  }
  for (const char* kind :
       {"none", "attribute", "const-shape", "const-dtype", "operand-order", "dtype"}) {
    bool seen = false;
    for (const auto& key : keys) seen = seen || key.ends_with(std::string("/") + kind);
    EXPECT_TRUE(seen) << "no pattern was ever perturbed as " << kind;
  }
}

// An unperturbed float32 pattern appears in the model as its exact op sequence, consecutively.
TEST(Patterns, UnperturbedPatternKeepsItsOpSequence) {
  GenPolicy policy;
  policy.prob_pattern = 1.0;
  policy.prob_perturb_pattern = 0.0;
  policy.prob_reuse_primary = 0.0;
  policy.dtype_weights = {{DType::kFloat, 1.0}};
  policy.min_nodes = policy.max_nodes = 9;
  int checked = 0;
  for (uint64_t seed = 0; seed < 500; ++seed) {
    auto g = generate_model(policy, seed);
    ASSERT_TRUE(g.has_value());
    if (g->patterns.empty()) continue;
    const std::string name = g->patterns.front().substr(0, g->patterns.front().find('/'));
    EXPECT_EQ(g->patterns.front(), name + "/none");
    const Pattern* p = nullptr;
    for (const auto& row : all_patterns()) {
      if (row.name == name) p = &row;
    }
    ASSERT_NE(p, nullptr);
    const std::vector<std::string> want = ops_in_pattern_text(*p);
    const std::vector<std::string> ops = op_sequence(g->model.graph());
    ASSERT_GE(ops.size(), want.size());
    EXPECT_EQ(std::vector<std::string>(ops.begin(), ops.begin() + static_cast<long>(want.size())),
              want)
        << name;
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

// Under a pair restriction (`--target`), a pattern is inserted in a dtype in which every one of
// its ops is allowed, not only when each is allowed in every dtype the policy draws: here every
// op runs in float32 only, and the policy draws float64 too. Patterns still come (in float32),
// and no node but Relu computes in float64 (a cast's target aside).
TEST(Patterns, UnderAPairRestrictionPatternsTakeADtypeAllTheirOpsRunIn) {
  GenPolicy policy;
  policy.prob_pattern = 1.0;
  policy.min_nodes = policy.max_nodes = 8;
  policy.dtype_weights = {{DType::kFloat, 1}, {DType::kDouble, 1}};
  for (const OpSpec& spec : all_op_specs()) policy.only_pairs[spec.op_type] = {DType::kFloat};
  policy.only_pairs["Relu"].insert(DType::kDouble);  // float64 for one op: no pattern is all Relu
  int with_patterns = 0;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    auto g = generate_model(policy, seed);
    ASSERT_TRUE(g.has_value()) << g.error();
    with_patterns += !g->patterns.empty();
    auto inferred = validate_model(g->model);
    ASSERT_TRUE(inferred.has_value()) << inferred.error();
    std::map<std::string, DType> types;
    for (const auto* list : {&inferred->graph().input(), &inferred->graph().value_info(),
                             &inferred->graph().output()}) {
      for (const auto& info : *list) {
        if (auto type = value_type_of(info)) types[info.name()] = type->dtype;
      }
    }
    for (const auto& node : g->model.graph().node()) {
      // A cast's pair is its source dtype; its target may be any dtype the policy draws.
      if (node.op_type() == "Cast" || node.op_type() == "CastLike") continue;
      for (const auto& out : node.output()) {
        auto it = types.find(out);
        if (it != types.end() && it->second == DType::kDouble) {
          EXPECT_EQ(node.op_type(), "Relu") << out << " of " << node.op_type();
        }
      }
    }
  }
  EXPECT_GT(with_patterns, 100);
}

TEST(Patterns, NoPatternsWhenTurnedOff) {
  GenPolicy policy;
  policy.patterns = false;
  policy.prob_pattern = 1.0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    auto g = generate_model(policy, seed);
    ASSERT_TRUE(g.has_value());
    EXPECT_TRUE(g->patterns.empty());
  }
}

}  // namespace
}  // namespace onnxfuzz
