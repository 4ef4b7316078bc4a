// Dtype mutators: a connected region of nodes, or every node of one dtype, switches to another
// dtype all of them allow (per their registrations); Casts join the region to the rest.
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <set>

#include "generators/mutators/edit.h"
#include "generators/mutators/kinds.h"
#include "generators/mutators/rebuild.h"

namespace onnxfuzz {

namespace {

MutationResult switch_dtype(Mutant& m, Rng& rng, const MutateOptions& options, bool whole) {
  // Typed view of the seed: each node's primary dtype.
  Rng probe_rng(rng.next());
  auto probe = Rebuild::start(m, probe_rng, options);
  if (!probe) return MutationResult::not_applicable(probe.error());
  Rebuild& view = **probe;
  const size_t n = view.node_count();
  const int opset = model_opset(m.model);
  std::vector<std::optional<DType>> primary(n);
  std::map<std::string, std::vector<size_t>> consumers;
  std::map<std::string, size_t> producer;
  for (size_t k = 0; k < n; ++k) {
    const auto& node = view.node(k);
    const int slot = view.spec(k).primary_slots.front();
    if (slot < node.input_size() && !node.input(slot).empty()) {
      if (auto t = view.original_type(node.input(slot))) primary[k] = t->dtype;
    }
    for (const auto& in : node.input()) consumers[in].push_back(k);
    for (const auto& out : node.output()) producer[out] = k;
  }
  std::vector<size_t> typed;
  for (size_t k = 0; k < n; ++k) {
    if (primary[k]) typed.push_back(k);
  }
  if (typed.empty()) return MutationResult::not_applicable("no typed node");
  const size_t seed_node = rng.pick(typed);
  const DType from = *primary[seed_node];
  std::vector<DType> targets;
  for (const auto& row : all_dtypes()) {
    if (row.dtype != from && view.spec(seed_node).allows_dtype(row.dtype) &&
        options.policy.dtype_weights.count(row.dtype))
      targets.push_back(row.dtype);
  }
  if (targets.empty()) return MutationResult::not_applicable("the node allows no other dtype");
  const DType to = rng.pick(targets);
  auto joins = [&](size_t k) { return primary[k] == from && view.spec(k).allows_dtype(to); };
  std::set<size_t> region;
  if (whole) {
    for (size_t k = 0; k < n; ++k) {
      if (joins(k)) region.insert(k);
    }
  } else {
    // Breadth-first along edges from the seed node, up to a drawn size.
    const size_t size = static_cast<size_t>(rng.uniform_int(1, static_cast<int64_t>(n)));
    std::deque<size_t> queue = {seed_node};
    while (!queue.empty() && region.size() < size) {
      const size_t k = queue.front();
      queue.pop_front();
      if (region.count(k) || !joins(k)) continue;
      region.insert(k);
      const auto& node = view.node(k);
      for (const auto& in : node.input()) {
        if (auto p = producer.find(in); p != producer.end()) queue.push_back(p->second);
      }
      for (const auto& out : node.output()) {
        for (size_t c : consumers[out]) queue.push_back(c);
      }
    }
  }
  // Inputs of the old dtype read only by the region switch themselves (no Cast in front).
  std::set<std::string> switched_inputs;
  if (whole) {
    for (const auto* info : runtime_inputs(m.model.graph())) {
      auto type = declared_type(*info);
      if (!type || type->dtype != from || !m.inputs.count(info->name())) continue;
      const auto& readers = consumers[info->name()];
      if (!readers.empty() && std::all_of(readers.begin(), readers.end(),
                                          [&](size_t k) { return region.count(k) > 0; }))
        switched_inputs.insert(info->name());
    }
  }
  auto rebuild = Rebuild::start(
      m, rng, options, [&](onnx::ModelProto& model, TensorMap& inputs) -> std::expected<void, std::string> {
        for (const auto& name : switched_inputs) {
          auto* info = find_graph_input(*model.mutable_graph(), name);
          const Tensor& old = inputs.at(name);
          Tensor t = Tensor::zeros(to, old.shape);
          for (int64_t i = 0; i < t.numel(); ++i) t.set_double(i, old.as_double(i));
          set_declared_type(info, to, old.shape);
          inputs[name] = std::move(t);
        }
        return {};
      });
  if (!rebuild) return MutationResult::not_applicable(rebuild.error());
  Rebuild& r = **rebuild;
  r.expected_dtype = [&](size_t k, size_t input, DType original) {
    if (!region.count(k) || original != from) return original;
    const int slot = r.spec(k).primary_slots.front();
    return same_type_param(r.node(k), static_cast<int>(input), slot, opset) ? to : original;
  };
  for (size_t k = 0; k < n; ++k) {
    if (auto ok = r.replay(k); !ok) return MutationResult::not_applicable(ok.error());
  }
  m = r.finish();
  return MutationResult::applied(fmt::format("{} node(s) {} -> {}{}", region.size(),
                                             dtype_name(from), dtype_name(to),
                                             whole ? " (whole graph)" : ""));
}

}  // namespace

MutationResult mutate_dtype_region(Mutant& m, Rng& rng, const MutateOptions& o) {
  return switch_dtype(m, rng, o, false);
}
MutationResult mutate_dtype_graph(Mutant& m, Rng& rng, const MutateOptions& o) {
  return switch_dtype(m, rng, o, true);
}

}  // namespace onnxfuzz
