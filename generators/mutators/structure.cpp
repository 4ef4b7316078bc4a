// Structure mutators: insert an op on an edge, delete a node and rewire around it, duplicate a
// subgraph, swap the inputs of a commutative op.
#include <fmt/format.h>

#include "generators/mutators/edit.h"
#include "generators/mutators/kinds.h"
#include "generators/mutators/rebuild.h"

namespace onnxfuzz {

namespace {

// Replays every node, calling `at(k)` in place of node `target`'s replay.
template <class At>
MutationResult rebuild_around(Mutant& m, Rebuild& r, size_t target, At at) {
  std::string detail;
  for (size_t k = 0; k < r.node_count(); ++k) {
    if (k == target) {
      auto done = at(k);
      if (!done) return MutationResult::not_applicable(done.error());
      detail = *done;
      continue;
    }
    if (auto ok = r.replay(k); !ok) return MutationResult::not_applicable(ok.error());
  }
  m = r.finish();
  return MutationResult::applied(detail);
}

}  // namespace

MutationResult mutate_insert_op(Mutant& m, Rng& rng, const MutateOptions& options) {
  auto rebuild = Rebuild::start(m, rng, options);
  if (!rebuild) return MutationResult::not_applicable(rebuild.error());
  Rebuild& r = **rebuild;
  if (r.node_count() == 0) return MutationResult::not_applicable("no node");
  const size_t target = static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(r.node_count()) - 1));
  return rebuild_around(m, r, target, [&](size_t k) -> std::expected<std::string, std::string> {
    if (auto ok = r.replay(k); !ok) return std::unexpected(ok.error());
    const std::string& edge = r.node(k).output(0);
    auto inserted = r.insert_on(*r.value_of(edge));
    if (!inserted) return std::unexpected(inserted.error());
    r.bind(edge, *inserted);
    return fmt::format("after {} ({}): {}", r.node(k).name(), r.node(k).op_type(),
                       r.builder().values().back().name);
  });
}

MutationResult mutate_delete_node(Mutant& m, Rng& rng, const MutateOptions& options) {
  auto rebuild = Rebuild::start(m, rng, options);
  if (!rebuild) return MutationResult::not_applicable(rebuild.error());
  Rebuild& r = **rebuild;
  if (r.node_count() < 2) return MutationResult::not_applicable("fewer than two nodes");
  const size_t target = static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(r.node_count()) - 1));
  return rebuild_around(m, r, target, [&](size_t k) -> std::expected<std::string, std::string> {
    const auto& node = r.node(k);
    const size_t slot = static_cast<size_t>(r.spec(k).primary_slots.front());
    if (slot >= static_cast<size_t>(node.input_size()) || node.input(static_cast<int>(slot)).empty())
      return std::unexpected(std::string("the node has no primary input"));
    auto primary = r.value_of(node.input(static_cast<int>(slot)));
    if (!primary) return std::unexpected(std::string("primary input is gone"));
    // Readers of the deleted outputs read its primary input (through a Cast when its dtype
    // differs), and re-plan where their shape rules want the old shape.
    for (const auto& out : node.output()) {
      if (!out.empty()) r.bind(out, *primary);
    }
    return fmt::format("deleted {} ({})", node.name(), node.op_type());
  });
}

MutationResult mutate_duplicate_subgraph(Mutant& m, Rng& rng, const MutateOptions& options) {
  auto rebuild = Rebuild::start(m, rng, options);
  if (!rebuild) return MutationResult::not_applicable(rebuild.error());
  Rebuild& r = **rebuild;
  if (r.node_count() == 0) return MutationResult::not_applicable("no node");
  const int64_t n = static_cast<int64_t>(r.node_count());
  const size_t first = static_cast<size_t>(rng.uniform_int(0, n - 1));
  const size_t last = std::min<size_t>(r.node_count() - 1, first + static_cast<size_t>(rng.uniform_int(0, 2)));
  std::string detail;
  for (size_t k = 0; k < r.node_count(); ++k) {
    if (auto ok = r.replay(k); !ok) return MutationResult::not_applicable(ok.error());
    if (k != last) continue;
    // The copy reads the originals' inputs from outside the range, and its own copies inside.
    std::map<std::string, int> originals;
    for (size_t j = first; j <= last; ++j) {
      for (const auto& out : r.node(j).output()) {
        if (!out.empty()) originals[out] = *r.value_of(out);
      }
    }
    for (size_t j = first; j <= last; ++j) {
      auto plan = r.plan_of(j);
      if (!plan) return MutationResult::not_applicable(plan.error());
      auto outputs = r.emit(*plan, false);
      if (!outputs) return MutationResult::not_applicable(outputs.error());
      r.bind_outputs(j, *outputs);
    }
    // Later readers take the original or the copy, each output by a coin flip.
    for (const auto& [name, value] : originals) {
      if (rng.chance(0.5)) r.bind(name, value);
    }
    detail = fmt::format("nodes {}..{} ({}..{}) duplicated", first, last, r.node(first).op_type(),
                         r.node(last).op_type());
  }
  m = r.finish();
  return MutationResult::applied(detail);
}

MutationResult mutate_swap_commutative(Mutant& m, Rng& rng, const MutateOptions&) {
  std::vector<int> candidates;
  const auto& graph = m.model.graph();
  for (int n = 0; n < graph.node_size(); ++n) {
    const auto& node = graph.node(n);
    const OpSpec* spec = registered_spec(node);
    if (spec && spec->commutative && node.input_size() >= 2 && node.input(0) != node.input(1))
      candidates.push_back(n);
  }
  if (candidates.empty()) return MutationResult::not_applicable("no commutative node");
  auto* node = m.model.mutable_graph()->mutable_node(rng.pick(candidates));
  const int other = static_cast<int>(rng.uniform_int(1, node->input_size() - 1));
  node->mutable_input()->SwapElements(0, other);
  return MutationResult::applied(fmt::format("{} ({}): inputs 0 and {} swapped", node->name(),
                                             node->op_type(), other));
}

}  // namespace onnxfuzz
