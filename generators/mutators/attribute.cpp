// Attribute mutator: one attribute of one node takes another value from its registration's
// attribute domain; the node's shape rule must accept it, and dependents are re-derived.
#include <fmt/format.h>

#include <numeric>

#include "generators/mutators/kinds.h"
#include "generators/mutators/rebuild.h"

namespace onnxfuzz {

namespace {

// A value of `domain` for a node whose input 0 has `rank`; nullopt when the domain cannot draw.
std::optional<Attr> draw_attr(const OpSpec& spec, const AttrDomain& domain, int64_t rank,
                              GraphBuilder& g) {
  Rng& rng = g.rng();
  const SchemaAttr* schema = spec.schema_attr(domain.name);
  if (!schema) return std::nullopt;
  const bool floats = schema->type == onnx::AttributeProto::FLOAT ||
                      schema->type == onnx::AttributeProto::FLOATS;
  switch (domain.draw) {
    case AttrDraw::kChoice: {
      if (domain.choices.empty()) return std::nullopt;
      const double v = rng.pick(domain.choices);
      if (schema->type == onnx::AttributeProto::INT) return Attr::of_int(domain.name, static_cast<int64_t>(v));
      if (schema->type == onnx::AttributeProto::FLOAT) return Attr::of_float(domain.name, static_cast<float>(v));
      return std::nullopt;
    }
    case AttrDraw::kPerSpatial: {
      if (domain.choices.empty() || rank < 3) return std::nullopt;
      if (floats) return std::nullopt;
      std::vector<int64_t> values;
      for (int64_t d = 2; d < rank; ++d) values.push_back(static_cast<int64_t>(rng.pick(domain.choices)));
      return Attr::of_ints(domain.name, values);
    }
    case AttrDraw::kAxis:
      if (rank < 1) return std::nullopt;
      return Attr::of_int(domain.name, rng.uniform_int(-rank, rank - 1));
    case AttrDraw::kAxes:
      if (rank < 1) return std::nullopt;
      return Attr::of_ints(domain.name, g.random_axes(rank));
    case AttrDraw::kPermutation: {
      if (rank < 1) return std::nullopt;
      std::vector<int64_t> perm(static_cast<size_t>(rank));
      std::iota(perm.begin(), perm.end(), 0);
      rng.shuffle(perm);
      return Attr::of_ints(domain.name, perm);
    }
  }
  return std::nullopt;
}

bool same_value(const Attr& a, const Attr& b) {
  return a.type == b.type && a.i == b.i && a.f == b.f && a.ints == b.ints;
}

}  // namespace

MutationResult mutate_attribute(Mutant& m, Rng& rng, const MutateOptions& options) {
  auto rebuild = Rebuild::start(m, rng, options);
  if (!rebuild) return MutationResult::not_applicable(rebuild.error());
  Rebuild& r = **rebuild;
  std::vector<size_t> candidates;
  for (size_t k = 0; k < r.node_count(); ++k) {
    if (!r.spec(k).attr_domains.empty()) candidates.push_back(k);
  }
  if (candidates.empty()) return MutationResult::not_applicable("no node with an attribute domain");
  const size_t target = rng.pick(candidates);
  std::string detail;
  for (size_t k = 0; k < r.node_count(); ++k) {
    if (k != target) {
      if (auto ok = r.replay(k); !ok) return MutationResult::not_applicable(ok.error());
      continue;
    }
    auto plan = r.plan_of(k);
    if (!plan) return MutationResult::not_applicable(plan.error());
    const OpSpec& spec = r.spec(k);
    const int64_t rank = plan->operands.empty() || !plan->operands[0].sig.present
                             ? 0
                             : static_cast<int64_t>(plan->operands[0].sig.shape.size());
    std::optional<std::vector<int>> outputs;
    // A few draws: the first one the shape rule accepts is kept.
    for (int attempt = 0; attempt < 8 && !outputs; ++attempt) {
      const AttrDomain& domain = rng.pick(spec.attr_domains);
      auto attr = draw_attr(spec, domain, rank, r.builder());
      if (!attr) continue;
      Plan edited = *plan;
      bool replaced = false, unchanged = false;
      for (auto& a : edited.attrs) {
        if (a.name != attr->name) continue;
        unchanged = same_value(a, *attr);
        a = *attr;
        replaced = true;
      }
      if (!replaced) edited.attrs.push_back(*attr);
      if (unchanged || !r.fits(edited)) continue;
      auto emitted = r.emit(edited, false);
      if (!emitted) continue;
      outputs = *emitted;
      const auto a = *attr;
      detail = fmt::format("{} ({}): {} = {}", r.node(k).name(), spec.op_type, a.name,
                           a.type == AttrType::kInt     ? fmt::format("{}", a.i)
                           : a.type == AttrType::kFloat ? fmt::format("{}", a.f)
                                                        : fmt::format("[{}]", fmt::join(a.ints, ",")));
    }
    if (!outputs) return MutationResult::not_applicable("no other attribute value fits");
    r.bind_outputs(k, *outputs);
  }
  m = r.finish();
  return MutationResult::applied(detail);
}

}  // namespace onnxfuzz
