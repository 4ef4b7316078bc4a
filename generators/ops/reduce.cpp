// Registrations: reductions (ReduceSum, ReduceMean, ReduceMax).
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <numeric>

#include "generators/graph_builder.h"
#include "generators/op_rules.h"

namespace onnxfuzz {
namespace {

using namespace rules;

// ---- shape and range rules ----

// Axes of a reduction: from the attribute (ReduceMean/ReduceMax at opset 17) or input 1
// (ReduceSum since 13). Empty means "all axes" unless noop_with_empty_axes.
std::vector<int64_t> reduce_axes(const OpSpec& spec, const NodeSig& sig) {
  if (spec.schema_attr("axes")) return spec.attr_ints(sig, "axes");
  if (sig.inputs.size() > 1 && sig.inputs[1].present) return sig.inputs[1].ints;
  return {};
}

// Which axes a reduction removes; error when an axis is invalid.
std::expected<std::vector<bool>, std::string> reduced_mask(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  const std::vector<int64_t> axes = reduce_axes(spec, sig);
  std::vector<bool> mask(x.size(), axes.empty());
  if (axes.empty() && spec.schema_attr("noop_with_empty_axes") &&
      spec.attr_int(sig, "noop_with_empty_axes") != 0) {
    mask.assign(x.size(), false);
  }
  for (int64_t a : axes) {
    const int64_t axis = normalize_axis(a, rank);
    if (axis < 0 || mask[axis])
      return std::unexpected(std::string("reduce axis out of range or repeated"));
    mask[axis] = true;
  }
  return mask;
}

ShapeResult reduce_shape(const OpSpec& spec, const NodeSig& sig) {
  auto mask = reduced_mask(spec, sig);
  if (!mask) return fail(mask.error());
  const Shape& x = sig.inputs[0].shape;
  const bool keep = spec.attr_int(sig, "keepdims") != 0;
  Shape out;
  for (size_t d = 0; d < x.size(); ++d) {
    if (!(*mask)[d]) {
      out.push_back(x[d]);
    } else if (keep) {
      out.push_back(1);
    }
  }
  return out;
}

Interval reduce_sum_range(const OpSpec& spec, const NodeSig& sig) {
  auto mask = reduced_mask(spec, sig);
  double count = 1;
  if (mask) {
    for (size_t d = 0; d < mask->size(); ++d) {
      if ((*mask)[d]) count *= static_cast<double>(sig.inputs[0].shape[d]);
    }
  }
  return interval_scale(sig.inputs[0].range, count);
}

// ---- operand plan ----

void plan_reduce(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const OpSpec& spec = *plan.spec;
  const Shape x = g.value(primary).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  const bool all = rng.chance(policy.prob_reduce_all);
  std::vector<int64_t> axes;
  if (!all) axes = g.random_axes(rank);
  int64_t keep = g.draw_int_attr(plan, "keepdims");
  if (keep == 0 && (all || static_cast<int64_t>(axes.size()) == rank)) {
    // Repair: reducing every axis without keepdims would give a rank-0 value.
    std::erase_if(plan.attrs, [](const Attr& a) { return a.name == "keepdims"; });
    plan.attrs.push_back(Attr::of_int("keepdims", 1));
  }
  for (auto& a : axes) a = g.written_axis(a, rank);
  plan.operands = {g.data(primary)};
  if (all) return;
  if (spec.schema_attr("axes")) {
    plan.attrs.push_back(Attr::of_ints("axes", axes));
  } else {
    plan.operands.push_back(g.const_ints(axes));
  }
}

}  // namespace

// ReduceSum takes axes as input 1 since opset 13; ReduceMean/ReduceMax keep the attribute
// until opset 18.
ONNXFUZZ_OP(ReduceSum) {
  return SpecBuilder("ReduceSum")
      .plan(plan_reduce)
      .shape(reduce_shape)
      .range(reduce_sum_range)
      .role(1, InputRole::kConstInts)
      .draw("axes", AttrDraw::kAxes)
      .draw("keepdims", AttrDraw::kChoice, {0, 1})
      .build();
}

ONNXFUZZ_OP(ReduceMean) {
  return SpecBuilder("ReduceMean")
      .plan(plan_reduce)
      .shape(reduce_shape)
      .range(identity_range)
      .draw("axes", AttrDraw::kAxes)
      .draw("keepdims", AttrDraw::kChoice, {0, 1})
      .build();
}

ONNXFUZZ_OP(ReduceMax) {
  return SpecBuilder("ReduceMax")
      .plan(plan_reduce)
      .shape(reduce_shape)
      .range(identity_range)
      .draw("axes", AttrDraw::kAxes)
      .draw("keepdims", AttrDraw::kChoice, {0, 1})
      .build();
}

}  // namespace onnxfuzz
