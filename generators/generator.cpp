// Model generator: draws ops (and their dtypes) by policy weight and grows the graph with the
// shared GraphBuilder, which plans, repairs and emits each op instance.
#include "generators/generator.h"

#include <fmt/format.h>

#include <algorithm>

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

std::expected<GeneratedModel, std::string> generate_model(const GenPolicy& policy, uint64_t seed) {
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
  std::vector<OpChoice> ops;
  std::vector<double> weights;
  const OpSpec* guard = nullptr;
  for (const auto& spec : all_op_specs()) {
    if (listed(policy.exclude_ops, spec.op_type)) continue;
    if (!policy.only_ops.empty() && !listed(policy.only_ops, spec.op_type)) continue;
    if (spec.op_type == "Clip") guard = &spec;  // guards only use an op the policy allows
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
      choice.dtypes.push_back(d);
      choice.dtype_weights.push_back(dw->second);
    }
    if (!feasible || weight <= 0 || choice.dtypes.empty()) continue;
    ops.push_back(std::move(choice));
    weights.push_back(weight);
  }
  if (ops.empty()) {
    return std::unexpected(fmt::format(
        "no op left to draw after only_ops/exclude_ops/op_weights, dtypes and size limits (known "
        "ops: {})",
        known_ops_list()));
  }
  Rng rng(seed);
  GraphBuilder builder(policy, rng, guard);
  builder.set_budget(static_cast<int>(rng.uniform_int(policy.min_nodes, policy.max_nodes)));
  std::vector<std::string> patterns;
  auto op_allowed = [&](const OpSpec& spec) {
    if (listed(policy.exclude_ops, spec.op_type)) return false;
    return policy.only_ops.empty() || listed(policy.only_ops, spec.op_type);
  };
  while (builder.budget() > 0) {
    if (policy.patterns && rng.chance(policy.prob_pattern)) {
      const Pattern& pattern = rng.pick(all_patterns());
      std::string key = insert_pattern(builder, pattern, op_allowed, policy.dtype_weights);
      if (!key.empty()) {
        patterns.push_back(std::move(key));
        continue;
      }
    }
    builder.add_op(ops[rng.weighted_index(weights)]);
  }
  GeneratedModel out = builder.finish(seed);
  out.patterns = std::move(patterns);
  return out;
}

}  // namespace onnxfuzz
