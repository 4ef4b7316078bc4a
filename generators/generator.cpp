// Model generator: draws ops (and their dtypes) by policy weight and grows the graph with the
// shared GraphBuilder, which plans, repairs and emits each op instance.
#include "generators/generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "generators/graph_builder.h"
#include "generators/op_spec.h"
#include "generators/patterns.h"
#include "generators/rng.h"

namespace onnxfuzz {

namespace {

std::string known_ops_list() {
  std::string out;
  for (const auto& spec : all_op_specs()) {
    if (!out.empty()) out += ", ";
    out += spec.op_type;
  }
  return out;
}

}  // namespace

std::vector<std::string> generator_ops() {
  std::vector<std::string> ops;
  for (const auto& spec : all_op_specs()) ops.push_back(spec.op_type);
  return ops;
}

std::expected<void, std::string> validate_op_names(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    if (!find_op_spec(name)) {
      return std::unexpected(
          fmt::format("unknown op '{}' (known ops: {})", name, known_ops_list()));
    }
  }
  return {};
}

std::expected<Generator, std::string> Generator::make(const GenPolicy& policy) {
  if (auto ok = validate_op_names(policy.only_ops); !ok)
    return std::unexpected("only_ops: " + ok.error());
  if (auto ok = validate_op_names(policy.exclude_ops); !ok)
    return std::unexpected("exclude_ops: " + ok.error());
  for (const auto& [name, weight] : policy.op_weights) {
    if (!find_op_spec(name)) {
      return std::unexpected(
          fmt::format("op_weights: unknown op '{}' (known ops: {})", name, known_ops_list()));
    }
  }
  if (policy.max_nodes < 1 || policy.min_nodes < 1 || policy.min_nodes > policy.max_nodes) {
    return std::unexpected(fmt::format("node limits need 1 <= min_nodes ({}) <= max_nodes ({})",
                                       policy.min_nodes, policy.max_nodes));
  }
  if (policy.max_rank < 1 || policy.max_dim < 1 || policy.max_elements < policy.max_dim) {
    return std::unexpected(
        std::string("size limits need max_rank >= 1 and 1 <= max_dim <= max_elements"));
  }
  auto listed = [](const std::vector<std::string>& list, const std::string& op) {
    return std::find(list.begin(), list.end(), op) != list.end();
  };
  Generator g(policy);
  for (const auto& spec : all_op_specs()) {
    if (listed(policy.exclude_ops, spec.op_type)) continue;
    if (!policy.only_ops.empty() && !listed(policy.only_ops, spec.op_type)) continue;
    if (!policy.only_pairs.empty() && !policy.only_pairs.contains(spec.op_type)) continue;
    g.allowed_.insert(&spec);
    if (spec.op_type == "Clip") g.guard_ = &spec;  // guards only use an op the policy allows
    bool feasible = false;
    for (int r = 1; r <= policy.max_rank; ++r)
      feasible = feasible || GraphBuilder::rank_feasible(spec, r, policy);
    auto w = policy.op_weights.find(spec.op_type);
    const double weight = w == policy.op_weights.end() ? 1.0 : w->second;
    OpChoice choice;
    choice.spec = &spec;
    for (DType d : spec.dtypes) {
      auto dw = policy.dtype_weights.find(d);
      if (dw == policy.dtype_weights.end() || dw->second <= 0) continue;
      if (!policy.allows_pair(spec.op_type, d)) continue;
      choice.dtypes.push_back(d);
      choice.dtype_weights.push_back(dw->second);
    }
    if (!feasible || weight <= 0 || choice.dtypes.empty()) continue;
    g.ops_.push_back(std::move(choice));
    g.weights_.push_back(weight);
  }
  // Patterns are inserted whole in one dtype: with a pair restriction, one in which the
  // policy allows each of their ops.
  for (const Pattern& pattern : all_patterns()) {
    const std::vector<std::string> ops = pattern_ops(pattern);
    std::map<DType, double> weights = policy.dtype_weights;
    for (auto& [d, w] : weights) {
      for (const std::string& op : ops) {
        if (!policy.allows_pair(op, d)) w = 0;
      }
    }
    g.pattern_dtypes_.push_back(std::move(weights));
  }
  if (g.ops_.empty()) {
    return std::unexpected(fmt::format(
        "no op left to draw after only_ops/exclude_ops/op_weights, dtypes and size limits (known "
        "ops: {})",
        known_ops_list()));
  }
  return g;
}

GeneratedModel Generator::generate(uint64_t seed, const std::vector<FocusTarget>& focus) const {
  Rng rng(seed);
  GraphBuilder builder(policy_, rng, guard_);
  int budget = static_cast<int>(rng.uniform_int(policy_.min_nodes, policy_.max_nodes));
  int focus_nodes = 0;
  for (const auto& target : focus) {
    focus_nodes += target.kind == FocusTarget::Kind::kOpPair ? 2 : 1;
    if (target.kind == FocusTarget::Kind::kAttrValue)
      builder.focus_attr(ops_[static_cast<size_t>(target.op)].spec->op_type, target.attr,
                         target.value);
  }
  builder.set_budget(std::max(budget, std::min(focus_nodes, policy_.max_nodes)));
  for (const auto& target : focus) {
    if (builder.budget() <= 0) break;
    const OpChoice& op = ops_[static_cast<size_t>(target.op)];
    switch (target.kind) {
      case FocusTarget::Kind::kOpDtype:
        builder.add_op(OpChoice{op.spec, {target.dtype}, {1.0}});
        break;
      case FocusTarget::Kind::kOpPair: {
        const int produced = builder.add_op(op);
        if (builder.budget() > 0) builder.add_op(ops_[static_cast<size_t>(target.next)], produced);
        break;
      }
      case FocusTarget::Kind::kAttrValue:
        builder.add_op(op);
        break;
    }
  }
  std::vector<std::string> patterns;
  auto op_allowed = [&](const OpSpec& spec) { return allowed_.contains(&spec); };
  while (builder.budget() > 0) {
    if (policy_.patterns && rng.chance(policy_.prob_pattern)) {
      const Pattern& pattern = rng.pick(all_patterns());
      const auto row = static_cast<size_t>(&pattern - all_patterns().data());
      std::string key = insert_pattern(builder, pattern, op_allowed, pattern_dtypes_[row]);
      if (!key.empty()) {
        patterns.push_back(std::move(key));
        continue;
      }
    }
    builder.add_op(ops_[rng.weighted_index(weights_)]);
  }
  GeneratedModel out = builder.finish(seed);
  out.patterns = std::move(patterns);
  return out;
}

std::expected<GeneratedModel, std::string> generate_model(const GenPolicy& policy, uint64_t seed) {
  auto generator = Generator::make(policy);
  if (!generator) return std::unexpected(generator.error());
  return generator->generate(seed);
}

}  // namespace onnxfuzz
