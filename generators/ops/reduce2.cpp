// Registrations: the other reductions (ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
// ReduceLogSumExp, ReduceSumSquare), ArgMax/ArgMin, TopK and CumSum.
#include <algorithm>
#include <cmath>
#include <limits>

#include "generators/graph_builder.h"
#include "generators/op_rules.h"

namespace onnxfuzz {
namespace {

using namespace rules;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Domains. ReduceProd multiplies up to kMaxProdCount factors, so |x| <= 2 keeps it below 2^10.
// ReduceLogSum needs a positive sum; the upper bound keeps an integer sum of max_elements terms
// inside int32. ReduceL2 squares before summing: |x| <= 512 keeps 4096 squares inside int32,
// where the spec's integer ReduceL2 would otherwise take the root of a wrapped sum.
// ReduceLogSumExp is bounded only so an int64 input stays exact in double.
const ValueDomain kProdFactor{{-2.0, 2.0}, 0};
const ValueDomain kLogSumTerm{{0.01, 1e4}, 0};
const ValueDomain kL2Term{{-512.0, 512.0}, 0};
const ValueDomain kLogSumExpTerm{{-1e6, 1e6}, 0};
// Most elements one ReduceProd output multiplies (a conditioning choice, not a validity one).
constexpr int64_t kMaxProdCount = 10;

// ---- reductions with axes as an attribute ----


// A float result beyond its dtype's finite range overflows to infinity (float16 reaches it at
// 65504), so the real range is widened to the infinity it becomes; integers wrap instead, which
// the builder accounts for.
Interval overflowing(DType dtype, Interval r) {
  if (!is_float(dtype)) return r;
  const DTypeInfo& info = dtype_info(dtype);
  if (r.hi > info.highest) r.hi = kInf;
  if (r.lo < info.lowest) r.lo = -kInf;
  return r;
}

// Smallest and largest |x| over a range.
double min_abs(const Interval& x) { return x.lo > 0 ? x.lo : (x.hi < 0 ? -x.hi : 0.0); }

// Integer results of the log-like reductions truncate toward 0 (the spec computes in floating
// point and casts); truncation is monotone, so it maps the real range's ends.
Interval truncated_for(DType dtype, Interval r) {
  if (!is_integer(dtype)) return r;
  return {std::trunc(r.lo), std::trunc(r.hi)};
}

Interval prod_range(const OpSpec& spec, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  const double n = reduced_count(spec, sig);
  if (n == 0) return Interval::point(1);  // the empty product; x's range may be empty too
  const DType dtype = sig.inputs[0].dtype;
  if (x.lo >= 0) return overflowing(dtype, {std::pow(x.lo, n), std::pow(x.hi, n)});
  const double m = std::pow(x.magnitude(), n);
  return overflowing(dtype, {-m, m});
}

Interval l1_range(const OpSpec& spec, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  const double n = reduced_count(spec, sig);
  if (n == 0) return Interval::point(0);  // the empty sum; x's range may be empty too
  return overflowing(sig.inputs[0].dtype, {n * min_abs(x), n * x.magnitude()});
}

Interval l2_range(const OpSpec& spec, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  const double root = std::sqrt(reduced_count(spec, sig));
  if (root == 0) return Interval::point(0);
  const DType dtype = sig.inputs[0].dtype;
  return overflowing(dtype, truncated_for(dtype, {root * min_abs(x), root * x.magnitude()}));
}

Interval sum_square_range(const OpSpec& spec, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  const double n = reduced_count(spec, sig);
  if (n == 0) return Interval::point(0);
  return overflowing(sig.inputs[0].dtype,
                     {n * min_abs(x) * min_abs(x), n * x.magnitude() * x.magnitude()});
}

Interval log_sum_range(const OpSpec& spec, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  const double n = reduced_count(spec, sig);
  if (x.lo <= 0 || n == 0) return Interval::all();
  return truncated_for(sig.inputs[0].dtype, {std::log(n * x.lo), std::log(n * x.hi)});
}

// max(x) <= LogSumExp(x) <= max(x) + log(n), and every term >= lo gives >= lo + log(n).
Interval log_sum_exp_range(const OpSpec& spec, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  const double n = reduced_count(spec, sig);
  if (n == 0) return Interval::all();
  return truncated_for(sig.inputs[0].dtype, {x.lo + std::log(n), x.hi + std::log(n)});
}

// A non-empty stand-in for an empty primary: zero dims become 1, and since an empty tensor's
// other dims are not bounded by max_elements, the largest dims are halved until it fits.
Shape without_zero_dims(Shape s, const GenPolicy& policy) {
  for (auto& d : s) d = std::max<int64_t>(d, 1);
  while (shape_numel(s) > policy.max_elements) {
    auto largest = std::max_element(s.begin(), s.end());
    *largest = (*largest + 1) / 2;
  }
  return s;
}

// The axes plan every attribute-axes reduction shares. `empty_set_defined`: the op's value on
// an empty reduced set is defined (a sum is 0, a product 1), so zero-size dims may be reduced;
// otherwise (min, log of a sum) only non-empty dims are, and an input whose every dim is empty
// is swapped for a fresh non-empty one. `max_count` (0: none) caps the elements per output.
void plan_attr_reduce(GraphBuilder& g, Plan& plan, int primary, bool empty_set_defined,
                      int64_t max_count) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
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
    primary = g.fresh(plan.dtype, without_zero_dims(x, g.policy()), plan.spec->input_domain(0),
                      Origin::kGraphInput);
    x = g.value(primary).shape;
    usable = usable_axes();
  }
  auto count_of = [&](const std::vector<int64_t>& axes) {
    int64_t n = 1;
    for (int64_t a : axes) n *= x[a];
    return n;
  };
  std::vector<int64_t> every(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) every[d] = d;
  bool all = static_cast<int64_t>(usable.size()) == rank && rng.chance(policy.prob_reduce_all) &&
             (max_count == 0 || count_of(every) <= max_count);
  std::vector<int64_t> axes;
  if (!all) {
    for (int64_t d : usable) {
      if (rng.chance(policy.prob_pick_axis)) axes.push_back(d);
    }
    if (axes.empty()) axes.push_back(rng.pick(usable));
    if (max_count > 0) {
      // Repair: drop the largest reduced dims until the count fits (one axis always stays).
      std::sort(axes.begin(), axes.end(), [&](int64_t a, int64_t b) { return x[a] < x[b]; });
      while (axes.size() > 1 && count_of(axes) > max_count) axes.pop_back();
    }
    rng.shuffle(axes);
  }
  const int64_t keep = g.draw_int_attr(plan, "keepdims");
  if (keep == 0 && (all || static_cast<int64_t>(axes.size()) == rank)) {
    // Repair: reducing every axis without keepdims would give a rank-0 value.
    std::erase_if(plan.attrs, [](const Attr& a) { return a.name == "keepdims"; });
    plan.attrs.push_back(Attr::of_int("keepdims", 1));
  }
  plan.operands = {g.data(primary)};
  // "All axes" is the absent attribute: the checker rejects an INTS attribute without values.
  if (all) return;
  for (auto& a : axes) a = g.written_axis(a, rank);
  plan.attrs.push_back(Attr::of_ints("axes", axes));
}

void plan_reduce_any_set(GraphBuilder& g, Plan& plan, int primary, int) {
  plan_attr_reduce(g, plan, primary, true, 0);
}
void plan_reduce_nonempty_set(GraphBuilder& g, Plan& plan, int primary, int) {
  plan_attr_reduce(g, plan, primary, false, 0);
}
void plan_reduce_prod(GraphBuilder& g, Plan& plan, int primary, int) {
  plan_attr_reduce(g, plan, primary, true, kMaxProdCount);
}

SpecBuilder attr_reduction(const char* op, OperandPlan plan, RangeRule range,
                           ValueDomain domain = {}) {
  SpecBuilder b(op);
  b.plan(plan)
      .shape(reduce_shape)
      .range(std::move(range))
      .domain(0, domain)
      .allows_empty()  // every plan keeps the reduced set defined (see plan_attr_reduce)
      .draw("axes", AttrDraw::kAxes)
      .draw("keepdims", AttrDraw::kChoice, {0, 1});
  return b;
}

// ---- selection: ArgMax, ArgMin, TopK ----

// A selection op's integer outputs turn a last-digit difference into a different index, so the
// operand it reads, when computed upstream in floating point (where the backends may round
// apart, or saturate differently, and tie in one but not the other), is swapped for fresh data
// (GraphBuilder::exact_operand). Integer values are exact on every backend; their ties are
// broken by index as the spec says.

// An axis of `x` with a non-zero dim, or -1 when every dim is zero.
int64_t nonempty_axis(Rng& rng, const Shape& x) {
  std::vector<int64_t> axes;
  for (size_t d = 0; d < x.size(); ++d) {
    if (x[d] > 0) axes.push_back(static_cast<int64_t>(d));
  }
  return axes.empty() ? -1 : rng.pick(axes);
}

ShapeResult arg_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const int64_t axis = normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(x.size()));
  if (axis < 0) return fail("axis out of range");
  Shape out = x;
  if (spec.attr_int(sig, "keepdims") != 0) {
    out[axis] = 1;
  } else {
    out.erase(out.begin() + axis);
  }
  return out;
}

Interval arg_range(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const int64_t axis = normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(x.size()));
  if (axis < 0) return Interval::all();
  return {0, static_cast<double>(std::max<int64_t>(x[axis], 1) - 1)};
}

void plan_arg(GraphBuilder& g, Plan& plan, int primary, int) {
  Rng& rng = g.rng();
  int input = g.exact_operand(primary, plan);
  Shape x = g.value(input).shape;
  int64_t axis = nonempty_axis(rng, x);
  if (axis < 0) {  // the index of an empty set is undefined: take a non-empty input
    input = g.fresh(plan.dtype, without_zero_dims(x, g.policy()), plan.spec->input_domain(0),
                    Origin::kGraphInput);
    x = g.value(input).shape;
    axis = nonempty_axis(rng, x);
  }
  const int64_t rank = static_cast<int64_t>(x.size());
  const int64_t written = g.written_axis(axis, rank);
  // The schema default is axis 0: leave it out sometimes when that is the axis.
  if (written != 0 || !rng.chance(g.policy().prob_omit_attr))
    plan.attrs.push_back(Attr::of_int("axis", written));
  const int64_t keep = g.draw_int_attr(plan, "keepdims");
  if (keep == 0 && rank == 1) {
    // Repair: dropping the only axis would give a rank-0 value.
    std::erase_if(plan.attrs, [](const Attr& a) { return a.name == "keepdims"; });
    plan.attrs.push_back(Attr::of_int("keepdims", 1));
  }
  g.draw_int_attr(plan, "select_last_index");
  plan.operands = {g.data(input)};
}

SpecBuilder arg_reduction(const char* op) {
  SpecBuilder b(op);
  b.plan(plan_arg)
      .shape(arg_shape)
      .range(arg_range)
      .output_dtype(fixed_dtype(DType::kInt64))
      .allows_empty()  // the plan never reduces an empty axis
      .draw("axis", AttrDraw::kAxis)
      .draw("keepdims", AttrDraw::kChoice, {0, 1})
      .draw("select_last_index", AttrDraw::kChoice, {0, 1});
  return b;
}

// TopK's K: input 1, a one-element int64 constant.
int64_t topk_k(const NodeSig& sig) {
  return sig.inputs.size() > 1 && sig.inputs[1].ints.size() == 1 ? sig.inputs[1].ints[0] : -1;
}

ShapeResult topk_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const int64_t axis = normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(x.size()));
  if (axis < 0) return fail("TopK axis out of range");
  const int64_t k = topk_k(sig);
  if (k < 0 || k > x[axis]) return fail("TopK K must be a constant in [0, dim]");
  Shape out = x;
  out[axis] = k;
  return out;
}

std::expected<std::vector<OutputType>, std::string> topk_indices(const OpSpec& spec,
                                                                 const NodeSig& sig) {
  auto shape = topk_shape(spec, sig);
  if (!shape) return std::unexpected(shape.error());
  const Shape& x = sig.inputs[0].shape;
  const int64_t axis = normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(x.size()));
  const double last = static_cast<double>(std::max<int64_t>(x[axis], 1) - 1);
  return std::vector<OutputType>{{DType::kInt64, *shape, {0, last}}};
}

void plan_topk(GraphBuilder& g, Plan& plan, int primary, int) {
  Rng& rng = g.rng();
  const int input = g.exact_operand(primary, plan);
  const Shape x = g.value(input).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  const int64_t axis = rng.uniform_int(0, rank - 1);
  const int64_t dim = x[axis];
  int64_t k = dim == 0 ? 0 : rng.uniform_int(1, dim);
  if (g.edge() && dim > 0) k = rng.pick(std::vector<int64_t>{0, 1, dim});  // none, one, all
  const int64_t written = g.written_axis(axis, rank);
  if (written != -1 || !rng.chance(g.policy().prob_omit_attr))  // -1 is the schema default
    plan.attrs.push_back(Attr::of_int("axis", written));
  g.draw_int_attr(plan, "largest");
  // sorted=0 leaves the order of the K results unspecified (ONNX Runtime returns heap order),
  // so it is drawn only where the order is unambiguous: K <= 1.
  if (k <= 1) {
    g.draw_int_attr(plan, "sorted");
  } else if (!rng.chance(g.policy().prob_omit_attr)) {
    plan.attrs.push_back(Attr::of_int("sorted", 1));
  }
  plan.operands = {g.data(input), g.const_ints({k})};
}

// ---- CumSum ----

// The partial sums of 1..n terms (0..n-1 when exclusive) of a range, n the axis' dim. The axis
// is a rank-0 constant, so its range is the point [axis, axis]; otherwise the largest dim.
Interval cumsum_range(const OpSpec& spec, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  const Shape& s = sig.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(s.size());
  int64_t n = 0;
  const Interval& axis = sig.inputs.size() > 1 ? sig.inputs[1].range : Interval::all();
  const int64_t a = axis.lo == axis.hi ? normalize_axis(static_cast<int64_t>(axis.lo), rank) : -1;
  if (a >= 0) {
    n = s[a];
  } else {
    for (int64_t d : s) n = std::max(n, d);
  }
  Interval out = x.hull(interval_scale(x, static_cast<double>(std::max<int64_t>(n, 1))));
  if (spec.attr_int(sig, "exclusive") != 0) out = out.hull(Interval::point(0));
  return overflowing(sig.inputs[0].dtype, out);
}

void plan_cumsum(GraphBuilder& g, Plan& plan, int primary, int) {
  Rng& rng = g.rng();
  const int64_t rank = static_cast<int64_t>(g.value(primary).shape.size());
  const int64_t axis = g.written_axis(rng.uniform_int(0, rank - 1), rank);
  g.draw_int_attr(plan, "exclusive");
  g.draw_int_attr(plan, "reverse");
  // The axis is a rank-0 int32 or int64 tensor (the schema's T2).
  const DType axis_dtype = rng.uniform_int(0, 1) == 0 ? DType::kInt32 : DType::kInt64;
  plan.operands = {g.data(primary), g.const_scalar(axis_dtype, static_cast<double>(axis))};
}

}  // namespace

// ReduceMin, ReduceLogSum and ReduceLogSumExp of an empty set are -inf/+inf-like and ill-defined
// at opset 17, so their plans never reduce a zero-size dim; the others have a defined value
// there (0 for L1, L2 and SumSquare, 1 for Prod).
ONNXFUZZ_OP(ReduceMin) {
  return attr_reduction("ReduceMin", plan_reduce_nonempty_set, identity_range).build();
}
ONNXFUZZ_OP(ReduceProd) {
  return attr_reduction("ReduceProd", plan_reduce_prod, prod_range, kProdFactor).build();
}
ONNXFUZZ_OP(ReduceL1) {
  return attr_reduction("ReduceL1", plan_reduce_any_set, l1_range).build();
}
ONNXFUZZ_OP(ReduceL2) {
  return attr_reduction("ReduceL2", plan_reduce_any_set, l2_range, kL2Term).build();
}
ONNXFUZZ_OP(ReduceSumSquare) {
  return attr_reduction("ReduceSumSquare", plan_reduce_any_set, sum_square_range).build();
}
ONNXFUZZ_OP(ReduceLogSum) {
  return attr_reduction("ReduceLogSum", plan_reduce_nonempty_set, log_sum_range, kLogSumTerm)
      .build();
}
ONNXFUZZ_OP(ReduceLogSumExp) {
  return attr_reduction("ReduceLogSumExp", plan_reduce_nonempty_set, log_sum_exp_range,
                        kLogSumExpTerm)
      .build();
}

ONNXFUZZ_OP(ArgMax) { return arg_reduction("ArgMax").build(); }
ONNXFUZZ_OP(ArgMin) { return arg_reduction("ArgMin").build(); }

ONNXFUZZ_OP(TopK) {
  return SpecBuilder("TopK")
      .plan(plan_topk)
      .shape(topk_shape)
      .range(identity_range)
      .extra_outputs(topk_indices)
      .allows_empty()  // K is at most the axis' dim (0 along an empty axis)
      .role(1, InputRole::kConstInts)
      .draw("axis", AttrDraw::kAxis)
      .draw("largest", AttrDraw::kChoice, {0, 1})
      .draw("sorted", AttrDraw::kChoice, {0, 1})
      .build();
}

ONNXFUZZ_OP(CumSum) {
  return SpecBuilder("CumSum")
      .plan(plan_cumsum)
      .shape(same_as_input0)
      .range(cumsum_range)
      .allows_empty()
      .role(1, InputRole::kConstScalar)
      .draw("exclusive", AttrDraw::kChoice, {0, 1})
      .draw("reverse", AttrDraw::kChoice, {0, 1})
      .build();
}

}  // namespace onnxfuzz
