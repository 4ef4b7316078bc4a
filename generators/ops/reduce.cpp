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

Interval reduce_sum_range(const OpSpec& spec, const NodeSig& sig) {
  Interval r = interval_scale(sig.inputs[0].range, reduced_count(spec, sig));
  // A float sum beyond its dtype's finite range (65504 for float16) is an infinity.
  if (is_float(sig.inputs[0].dtype)) {
    const DTypeInfo& info = dtype_info(sig.inputs[0].dtype);
    if (r.hi > info.highest) r.hi = std::numeric_limits<double>::infinity();
    if (r.lo < info.lowest) r.lo = -std::numeric_limits<double>::infinity();
  }
  return r;
}

// ---- operand plan ----

// The axes plan of the three reductions. `empty_set_defined`: the op's value on an empty reduced
// set is defined (a sum is 0), so zero-size dims may be reduced; ReduceMean (0/0) and ReduceMax
// (max of nothing) only reduce non-empty dims, and an input whose every dim is empty is swapped
// for a fresh non-empty one.
void plan_reduce(GraphBuilder& g, Plan& plan, int primary, bool empty_set_defined) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const OpSpec& spec = *plan.spec;
  Shape x = g.value(primary).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  auto usable_axes = [&] {
    std::vector<int64_t> usable;
    for (int64_t d = 0; d < rank; ++d) {
      if (empty_set_defined || x[d] > 0) usable.push_back(d);
    }
    return usable;
  };
  std::vector<int64_t> usable = usable_axes();
  if (usable.empty()) {
    // Zero dims become 1; an empty tensor's other dims are not bounded by max_elements, so the
    // largest are halved until the stand-in fits.
    Shape filled = x;
    for (auto& d : filled) d = std::max<int64_t>(d, 1);
    while (shape_numel(filled) > policy.max_elements) {
      auto largest = std::max_element(filled.begin(), filled.end());
      *largest = (*largest + 1) / 2;
    }
    primary = g.fresh(plan.dtype, filled, spec.input_domain(0), Origin::kGraphInput);
    x = filled;
    usable = usable_axes();
  }
  const bool all =
      static_cast<int64_t>(usable.size()) == rank && rng.chance(policy.prob_reduce_all);
  std::vector<int64_t> axes;
  if (!all) {
    for (int64_t d : usable) {
      if (rng.chance(policy.prob_pick_axis)) axes.push_back(d);
    }
    if (axes.empty()) axes.push_back(rng.pick(usable));
    rng.shuffle(axes);
  }
  int64_t keep = g.draw_int_attr(plan, "keepdims");
  if (keep == 0 && (all || static_cast<int64_t>(axes.size()) == rank)) {
    // Repair: reducing every axis without keepdims would give a rank-0 value.
    std::erase_if(plan.attrs, [](const Attr& a) { return a.name == "keepdims"; });
    plan.attrs.push_back(Attr::of_int("keepdims", 1));
  }
  for (auto& a : axes) a = g.written_axis(a, rank);
  plan.operands = {g.data(primary)};
  if (spec.schema_attr("noop_with_empty_axes") && g.edge()) {
    // Edge (ReduceSum-13): noop_with_empty_axes=1 makes absent or empty axes the identity; an
    // empty axes input without it reduces everything; with axes given it changes nothing.
    switch (rng.uniform_int(0, 3)) {
      case 0:  // identity, axes absent
        plan.attrs.push_back(Attr::of_int("noop_with_empty_axes", 1));
        return;
      case 1:  // identity, axes an empty tensor
        plan.attrs.push_back(Attr::of_int("noop_with_empty_axes", 1));
        plan.operands.push_back(g.const_ints({}));
        return;
      case 2:  // every axis, through an empty axes tensor
        if (!all) break;
        plan.attrs.push_back(Attr::of_int("noop_with_empty_axes", 0));
        plan.operands.push_back(g.const_ints({}));
        return;
      default:  // the flag set, the axes given: an ordinary reduction
        if (!all) plan.attrs.push_back(Attr::of_int("noop_with_empty_axes", 1));
        break;
    }
  }
  if (all) return;
  if (spec.schema_attr("axes")) {
    plan.attrs.push_back(Attr::of_ints("axes", axes));
  } else {
    plan.operands.push_back(g.const_ints(axes));
  }
}

void plan_reduce_any_set(GraphBuilder& g, Plan& plan, int primary, int) {
  plan_reduce(g, plan, primary, true);
}
void plan_reduce_nonempty_set(GraphBuilder& g, Plan& plan, int primary, int) {
  plan_reduce(g, plan, primary, false);
}

}  // namespace

// ReduceSum takes axes as input 1 since opset 13; ReduceMean/ReduceMax keep the attribute
// until opset 18.
ONNXFUZZ_OP(ReduceSum) {
  return SpecBuilder("ReduceSum")
      .plan(plan_reduce_any_set)
      .allows_empty()  // a sum over an empty set is 0
      .shape(reduce_shape)
      .range(reduce_sum_range)
      .role(1, InputRole::kConstInts)
      .draw("axes", AttrDraw::kAxes)
      .draw("keepdims", AttrDraw::kChoice, {0, 1})
      .draw("noop_with_empty_axes", AttrDraw::kChoice, {0, 1})
      .build();
}

ONNXFUZZ_OP(ReduceMean) {
  return SpecBuilder("ReduceMean")
      .plan(plan_reduce_nonempty_set)
      .allows_empty()  // the plan never reduces an empty dim
      .shape(reduce_shape)
      .range(identity_range)
      .draw("axes", AttrDraw::kAxes)
      .draw("keepdims", AttrDraw::kChoice, {0, 1})
      .build();
}

ONNXFUZZ_OP(ReduceMax) {
  return SpecBuilder("ReduceMax")
      .plan(plan_reduce_nonempty_set)
      .allows_empty()  // the plan never reduces an empty dim
      .shape(reduce_shape)
      .range(identity_range)
      .draw("axes", AttrDraw::kAxes)
      .draw("keepdims", AttrDraw::kChoice, {0, 1})
      .build();
}

}  // namespace onnxfuzz
