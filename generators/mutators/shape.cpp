// Shape mutators: a graph input's dim becomes 1, a large prime or 0, or its rank changes; the
// graph is then rebuilt, every dependent node re-derived (and re-planned where its shape rule
// rejects the new shape: Reshape targets, Slice bounds, Conv weights, MatMul partners, ...).
#include "generators/mutators/kinds.h"

#include <fmt/format.h>

#include "generators/mutators/edit.h"
#include "generators/mutators/rebuild.h"

namespace onnxfuzz {

namespace {

enum class DimEdit { kUnit, kPrime, kEmpty, kRank };

// Primes from small to large; the largest that keeps the tensor within the limit is drawn.
constexpr int64_t kPrimes[] = {5, 7, 11, 13, 17, 31, 61, 127, 251, 509, 1021, 2039, 4093};

std::optional<Shape> edited_shape(const Shape& s, DimEdit edit, int64_t max_elements, Rng& rng) {
  Shape out = s;
  if (edit == DimEdit::kRank) {
    if (!s.empty() && rng.chance(0.5)) {
      out.erase(out.begin() + rng.uniform_int(0, static_cast<int64_t>(s.size()) - 1));
    } else {
      const int64_t d = rng.chance(0.5) ? 1 : rng.uniform_int(2, 3);
      out.insert(out.begin() + rng.uniform_int(0, static_cast<int64_t>(s.size())), d);
    }
    if (shape_numel(out) > max_elements) return std::nullopt;
    return out;
  }
  if (s.empty()) return std::nullopt;
  const size_t axis = static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(s.size()) - 1));
  switch (edit) {
    case DimEdit::kUnit:
      out[axis] = 1;
      break;
    case DimEdit::kEmpty:
      out[axis] = 0;
      break;
    default: {
      Shape probe = s;
      std::vector<int64_t> fitting;
      for (int64_t p : kPrimes) {
        probe[axis] = p;
        if (p != s[axis] && shape_numel(probe) <= max_elements) fitting.push_back(p);
      }
      if (fitting.empty()) return std::nullopt;
      // Mostly the largest prime that fits, sometimes a smaller one.
      out[axis] = rng.chance(0.6) ? fitting.back() : rng.pick(fitting);
    }
  }
  if (out == s) return std::nullopt;
  return out;
}

MutationResult mutate_input_shape(Mutant& m, Rng& rng, const MutateOptions& options, DimEdit edit) {
  std::vector<std::string> candidates;
  for (const auto* info : runtime_inputs(m.model.graph())) {
    if (declared_type(*info) && m.inputs.count(info->name())) candidates.push_back(info->name());
  }
  if (candidates.empty()) return MutationResult::not_applicable("no static graph input");
  const std::string name = rng.pick(candidates);
  std::string detail;
  auto rebuild = Rebuild::start(
      m, rng, options, [&](onnx::ModelProto& model, TensorMap& inputs) -> std::expected<void, std::string> {
        auto* info = find_graph_input(*model.mutable_graph(), name);
        const auto type = declared_type(*info);
        const int64_t limit = std::max(options.policy.max_elements, shape_numel(type->shape));
        auto shape = edited_shape(type->shape, edit, limit, rng);
        if (!shape) return std::unexpected(std::string("no such dim change"));
        set_declared_type(info, type->dtype, *shape);
        inputs[name] = remake_tensor(&inputs.at(name), type->dtype, *shape, rng);
        detail = fmt::format("input {}: {} -> {}", name, shape_string(type->shape),
                             shape_string(*shape));
        return {};
      });
  if (!rebuild) return MutationResult::not_applicable(rebuild.error());
  for (size_t k = 0; k < (*rebuild)->node_count(); ++k) {
    if (auto ok = (*rebuild)->replay(k); !ok) return MutationResult::not_applicable(ok.error());
  }
  m = (*rebuild)->finish();
  return MutationResult::applied(detail);
}

}  // namespace

MutationResult mutate_shape_unit(Mutant& m, Rng& rng, const MutateOptions& o) {
  return mutate_input_shape(m, rng, o, DimEdit::kUnit);
}
MutationResult mutate_shape_prime(Mutant& m, Rng& rng, const MutateOptions& o) {
  return mutate_input_shape(m, rng, o, DimEdit::kPrime);
}
MutationResult mutate_shape_empty(Mutant& m, Rng& rng, const MutateOptions& o) {
  return mutate_input_shape(m, rng, o, DimEdit::kEmpty);
}
MutationResult mutate_shape_rank(Mutant& m, Rng& rng, const MutateOptions& o) {
  return mutate_input_shape(m, rng, o, DimEdit::kRank);
}

}  // namespace onnxfuzz
