// Registrations: data layout (Reshape, Transpose, Concat, Slice, Squeeze, Unsqueeze).
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <numeric>

#include "generators/graph_builder.h"
#include "generators/op_rules.h"

namespace onnxfuzz {
namespace {

using namespace rules;

// ---- shape rules ----

ShapeResult reshape_shape(const OpSpec& spec, const NodeSig& sig) {
  if (sig.inputs.size() != 2) return fail("Reshape takes 2 inputs");
  const Shape& x = sig.inputs[0].shape;
  const std::vector<int64_t>& target = sig.inputs[1].ints;
  const bool allow_zero = spec.attr_int(sig, "allowzero") != 0;
  Shape out;
  int infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == -1) {
      if (infer_at >= 0) return fail("Reshape has two -1 dims");
      infer_at = static_cast<int>(i);
      out.push_back(1);
      continue;
    }
    if (d == 0 && !allow_zero) {
      if (i >= x.size()) return fail("Reshape copies a dim the input does not have");
      d = x[i];
    }
    if (d < 0) return fail("Reshape dim below -1");
    out.push_back(d);
    known *= d;
  }
  const int64_t numel = shape_numel(x);
  if (infer_at >= 0) {
    if (known == 0 || numel % known != 0) return fail("Reshape cannot infer the -1 dim");
    out[infer_at] = numel / known;
  } else if (known != numel) {
    return fail(fmt::format("Reshape changes the element count {} -> {}", numel, known));
  }
  return out;
}

ShapeResult transpose_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  std::vector<int64_t> perm = spec.attr_ints(sig, "perm");
  if (perm.empty()) {
    for (size_t i = x.size(); i > 0; --i) perm.push_back(static_cast<int64_t>(i - 1));
  }
  if (perm.size() != x.size()) return fail("Transpose perm has the wrong length");
  std::vector<bool> seen(x.size(), false);
  Shape out;
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(x.size()) || seen[p])
      return fail("Transpose perm is not a permutation");
    seen[p] = true;
    out.push_back(x[p]);
  }
  return out;
}

ShapeResult concat_shape(const OpSpec& spec, const NodeSig& sig) {
  if (sig.inputs.empty()) return fail("Concat needs an input");
  const Shape& first = sig.inputs[0].shape;
  const int64_t axis =
      normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(first.size()));
  if (axis < 0) return fail("Concat axis out of range");
  Shape out = first;
  out[axis] = 0;
  for (const auto& in : sig.inputs) {
    if (in.shape.size() != first.size()) return fail("Concat inputs differ in rank");
    for (size_t d = 0; d < first.size(); ++d) {
      if (static_cast<int64_t>(d) != axis && in.shape[d] != first[d])
        return fail("Concat inputs differ off-axis");
    }
    out[axis] += in.shape[axis];
  }
  return out;
}

ShapeResult slice_shape(const OpSpec&, const NodeSig& sig) {
  if (sig.inputs.size() < 3) return fail("Slice takes 3 to 5 inputs");
  const Shape& x = sig.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  const auto& starts = sig.inputs[1].ints;
  const auto& ends = sig.inputs[2].ints;
  std::vector<int64_t> axes, steps;
  if (sig.inputs.size() > 3 && sig.inputs[3].present) {
    axes = sig.inputs[3].ints;
  } else {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (sig.inputs.size() > 4 && sig.inputs[4].present) {
    steps = sig.inputs[4].ints;
  } else {
    steps.assign(starts.size(), 1);
  }
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    return fail("Slice starts/ends/axes/steps differ in length");
  }
  Shape out = x;
  std::vector<bool> seen(x.size(), false);
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t axis = normalize_axis(axes[i], rank);
    if (axis < 0 || seen[axis]) return fail("Slice axis out of range or repeated");
    seen[axis] = true;
    const int64_t dim = x[axis], step = steps[i];
    if (step == 0) return fail("Slice step is 0");
    int64_t start = starts[i], end = ends[i];
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      out[axis] = std::max<int64_t>(0, (end - start + step - 1) / step);
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      out[axis] = std::max<int64_t>(0, (start - end + (-step) - 1) / (-step));
    }
  }
  return out;
}

ShapeResult squeeze_shape(const OpSpec&, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  std::vector<bool> drop(x.size(), false);
  if (sig.inputs.size() > 1 && sig.inputs[1].present) {
    for (int64_t a : sig.inputs[1].ints) {
      const int64_t axis = normalize_axis(a, rank);
      if (axis < 0 || drop[axis]) return fail("Squeeze axis out of range or repeated");
      if (x[axis] != 1) return fail("Squeeze axis is not of size 1");
      drop[axis] = true;
    }
  } else {
    for (size_t d = 0; d < x.size(); ++d) drop[d] = x[d] == 1;
  }
  Shape out;
  for (size_t d = 0; d < x.size(); ++d) {
    if (!drop[d]) out.push_back(x[d]);
  }
  return out;
}

ShapeResult unsqueeze_shape(const OpSpec&, const NodeSig& sig) {
  if (sig.inputs.size() != 2) return fail("Unsqueeze takes 2 inputs");
  const Shape& x = sig.inputs[0].shape;
  const auto& axes = sig.inputs[1].ints;
  const int64_t out_rank = static_cast<int64_t>(x.size() + axes.size());
  std::vector<bool> inserted(out_rank, false);
  for (int64_t a : axes) {
    const int64_t axis = normalize_axis(a, out_rank);
    if (axis < 0 || inserted[axis]) return fail("Unsqueeze axis out of range or repeated");
    inserted[axis] = true;
  }
  Shape out;
  size_t next = 0;
  for (int64_t d = 0; d < out_rank; ++d) out.push_back(inserted[d] ? 1 : x[next++]);
  return out;
}

// Squeeze needs a unit dim to remove and a non-unit dim so the result keeps rank >= 1.
bool squeezable(const Shape& s, const GenPolicy& policy) {
  if (policy.max_dim < 2) return false;
  if (s.size() < 2) return false;
  return std::count(s.begin(), s.end(), 1) >= 1 &&
         std::count(s.begin(), s.end(), 1) < static_cast<long>(s.size());
}

void fit_squeezable(Shape& s, Rng& rng) {
  const size_t unit = static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(s.size()) - 1));
  s[unit] = 1;
  if (std::count(s.begin(), s.end(), 1) == static_cast<long>(s.size())) s[(unit + 1) % s.size()] = 2;
}

// ---- operand plans ----

void plan_reshape(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape x = g.value(primary).shape;
  int64_t rest = shape_numel(x);
  const size_t rank = static_cast<size_t>(rng.uniform_int(1, policy.max_rank));
  std::vector<int64_t> target;
  for (size_t i = 0; i + 1 < rank; ++i) {
    std::vector<int64_t> divisors;
    for (int64_t d = 1; d <= rest; ++d) {
      if (rest % d == 0) divisors.push_back(d);
    }
    const int64_t d = rng.pick(divisors);
    target.push_back(d);
    rest /= d;
  }
  target.push_back(rest);
  std::vector<int64_t> written = target;
  int infer_at = -1;
  if (rng.chance(policy.prob_reshape_infer)) {
    infer_at = static_cast<int>(rng.uniform_int(0, static_cast<int64_t>(rank) - 1));
    written[infer_at] = -1;
  }
  // allowzero=1 makes a 0 in the target a real zero-size dim, so copies are not written then.
  const bool allow_zero = g.edge() && rng.chance(0.5);
  if (allow_zero) plan.attrs.push_back(Attr::of_int("allowzero", 1));
  for (size_t i = 0; i < rank && i < x.size() && !allow_zero; ++i) {
    if (static_cast<int>(i) != infer_at && target[i] == x[i] &&
        rng.chance(policy.prob_reshape_copy))
      written[i] = 0;
  }
  plan.operands = {g.data(primary), g.const_ints(written)};
}

void plan_transpose(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const size_t rank = g.value(primary).shape.size();
  if (!rng.chance(policy.prob_omit_attr)) {
    std::vector<int64_t> perm(rank);
    std::iota(perm.begin(), perm.end(), 0);
    rng.shuffle(perm);
    plan.attrs.push_back(Attr::of_ints("perm", perm));
  }
  plan.operands = {g.data(primary)};
}

void plan_concat(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape a = g.value(primary).shape;
  const int64_t rank = static_cast<int64_t>(a.size());
  const int64_t axis = rng.uniform_int(0, rank - 1);
  plan.attrs.push_back(Attr::of_int("axis", g.written_axis(axis, rank)));
  const int64_t slice = shape_numel(a) / a[axis];
  int64_t room = policy.max_elements / slice - a[axis];
  plan.operands = {g.data(primary)};
  const int64_t extra =
      policy.max_concat_inputs > 1 ? rng.uniform_int(1, policy.max_concat_inputs - 1) : 0;
  for (int64_t e = 0; e < extra && room >= 1; ++e) {
    int chosen = -1;
    const std::vector<int> fits = g.reusable([&](const Value& v) {
      const Shape& b = v.shape;
      if (v.dtype != plan.dtype || b.size() != a.size() || b[axis] > room) return false;
      for (int64_t d = 0; d < rank; ++d) {
        if (d != axis && b[d] != a[d]) return false;
      }
      return true;
    });
    if (!fits.empty()) chosen = rng.pick(fits);
    if (chosen < 0) {
      Shape b = a;
      b[axis] = rng.uniform_int(1, std::min(policy.max_dim, room));
      chosen = g.fresh(plan.dtype, b, plan.spec->input_domain(1), g.operand_origin());
    }
    room -= g.value(chosen).shape[axis];
    plan.operands.push_back(g.data(chosen));
  }
  rng.shuffle(plan.operands);
}

void plan_slice(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const OpSpec& spec = *plan.spec;
  const Shape x = g.value(primary).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const std::vector<int64_t> axes = g.random_axes(rank);
  std::vector<int64_t> starts, ends, steps, written_axes;
  for (int64_t axis : axes) {
    const int64_t dim = x[axis];
    int64_t step = static_cast<int64_t>(rng.pick(spec.attr_domain("steps")->choices));
    int64_t start = rng.uniform_int(0, dim - 1), end;
    int64_t start_w = start, end_w;
    if (step > 0) {
      end = rng.uniform_int(start + 1, dim);
      end_w = end;
      if (end == dim && rng.chance(policy.prob_slice_open_end))
        end_w = kMax;
      else if (end < dim && rng.chance(policy.prob_negative_axis))
        end_w = end - dim;
    } else {
      end = rng.uniform_int(-1, start - 1);  // exclusive; -1 means "through index 0"
      end_w = end;
      if (end == -1)
        end_w = rng.chance(policy.prob_slice_open_end) ? kMin : -dim - 1;
      else if (rng.chance(policy.prob_negative_axis))
        end_w = end - dim;
      if (start == dim - 1 && rng.chance(policy.prob_slice_open_end)) start_w = kMax;
    }
    if (start_w == start && rng.chance(policy.prob_negative_axis)) start_w = start - dim;
    if (g.edge()) {
      // INT64 bounds, clamped by the op: a full reversal with a negative step, or a strided
      // run to INT64_MAX, or a start past the end (an empty result).
      switch (rng.uniform_int(0, 2)) {
        case 0:
          start_w = kMax;
          end_w = kMin;
          step = -rng.uniform_int(1, 3);
          break;
        case 1:
          end_w = kMax;
          step = rng.uniform_int(2, 3);
          break;
        default:
          start_w = rng.chance(0.5) ? kMax : dim + rng.uniform_int(0, 3);
          end_w = kMax;
          step = 1;
          break;
      }
    }
    starts.push_back(start_w);
    ends.push_back(end_w);
    steps.push_back(step);
    written_axes.push_back(g.written_axis(axis, rank));
  }
  plan.operands = {g.data(primary), g.const_ints(starts), g.const_ints(ends)};
  bool prefix = true;
  for (size_t i = 0; i < axes.size(); ++i) prefix = prefix && axes[i] == static_cast<int64_t>(i);
  const bool unit_steps =
      std::all_of(steps.begin(), steps.end(), [](int64_t s) { return s == 1; });
  const bool omit_steps = unit_steps && rng.chance(policy.prob_omit_optional_input);
  const bool omit_axes = prefix && rng.chance(policy.prob_omit_optional_input);
  if (omit_axes && omit_steps) return;
  plan.operands.push_back(omit_axes ? GraphBuilder::omitted() : g.const_ints(written_axes));
  if (!omit_steps) plan.operands.push_back(g.const_ints(steps));
}

void plan_squeeze(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape x = g.value(primary).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  plan.operands = {g.data(primary)};
  if (rng.chance(policy.prob_omit_optional_input)) return;  // squeeze every unit dim
  std::vector<int64_t> units, axes;
  for (int64_t d = 0; d < rank; ++d) {
    if (x[d] == 1) units.push_back(d);
  }
  for (int64_t d : units) {
    if (rng.chance(policy.prob_pick_axis)) axes.push_back(g.written_axis(d, rank));
  }
  if (axes.empty()) axes.push_back(g.written_axis(rng.pick(units), rank));
  plan.operands.push_back(g.const_ints(axes));
}

void plan_unsqueeze(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const int64_t rank = static_cast<int64_t>(g.value(primary).shape.size());
  const int64_t added = rng.uniform_int(1, policy.max_rank - rank);
  const int64_t out_rank = rank + added;
  std::vector<int64_t> positions(static_cast<size_t>(out_rank));
  std::iota(positions.begin(), positions.end(), 0);
  rng.shuffle(positions);
  positions.resize(static_cast<size_t>(added));
  for (auto& p : positions) p = g.written_axis(p, out_rank);
  plan.operands = {g.data(primary), g.const_ints(positions)};
}

}  // namespace

ONNXFUZZ_OP(Reshape) {
  return SpecBuilder("Reshape")
      .plan(plan_reshape)
      .shape(reshape_shape)
      .range(identity_range)
      .role(1, InputRole::kConstInts)
      .build();
}

ONNXFUZZ_OP(Transpose) {
  return SpecBuilder("Transpose")
      .plan(plan_transpose)
      .allows_empty()
      .shape(transpose_shape)
      .range(identity_range)
      .draw("perm", AttrDraw::kPermutation)
      .build();
}

ONNXFUZZ_OP(Concat) {
  return SpecBuilder("Concat")
      .plan(plan_concat)
      .shape(concat_shape)
      .range(hull_of_inputs)
      .draw("axis", AttrDraw::kAxis)
      .build();
}

ONNXFUZZ_OP(Slice) {
  return SpecBuilder("Slice")
      .plan(plan_slice)
      .shape(slice_shape)
      .range(identity_range)
      .role(1, InputRole::kConstInts)
      .role(2, InputRole::kConstInts)
      .role(3, InputRole::kConstInts)
      .role(4, InputRole::kConstInts)
      .draw("axes", AttrDraw::kAxes)
      .draw("steps", AttrDraw::kChoice, {1, 1, 2, -1})
      .build();
}

ONNXFUZZ_OP(Squeeze) {
  return SpecBuilder("Squeeze")
      .plan(plan_squeeze)
      .shape(squeeze_shape)
      .range(identity_range)
      .primary(squeezable)
      .fit_primary(fit_squeezable)
      .role(1, InputRole::kConstInts)
      .draw("axes", AttrDraw::kAxes)
      .build();
}

ONNXFUZZ_OP(Unsqueeze) {
  return SpecBuilder("Unsqueeze")
      .plan(plan_unsqueeze)
      .allows_empty()
      .shape(unsqueeze_shape)
      .range(identity_range)
      .primary([](const Shape& s, const GenPolicy& p) {
        return !s.empty() && static_cast<int>(s.size()) < p.max_rank;
      })
      .role(1, InputRole::kConstInts)
      .draw("axes", AttrDraw::kAxes)
      .build();
}

}  // namespace onnxfuzz
