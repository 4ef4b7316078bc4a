// Registrations: elementwise unary math, broadcasting binary math, Clip and Where.
#include <algorithm>
#include <cmath>
#include <limits>

#include "generators/graph_builder.h"
#include "generators/op_rules.h"

namespace onnxfuzz {
namespace {

using namespace rules;
constexpr double kInf = std::numeric_limits<double>::infinity();
const std::vector<DType> kFloats = {DType::kFloat, DType::kFloat16, DType::kBfloat16,
                                    DType::kDouble};

// Domains: thresholds sit well inside float range so rounding never crosses them.
// Log and Sqrt also need their input away from 0, not just non-negative: their slope grows
// without bound there, so upstream values that legitimately differ in the 8th digit between
// backends (ORT's Sigmoid tail, for one) come out different in the 3rd digit after
// Sqrt(Sqrt(.)), and the numeric oracle would flag a precision artefact as a bug.
const ValueDomain kPositiveForLog{{0.01, kInf}, 0};
const ValueDomain kPositiveForSqrt{{0.01, kInf}, 0};
const ValueDomain kExpArgument{{-kInf, 8.0}, 0};       // e^8 ~ 3e3
const ValueDomain kDenominator{Interval::all(), 0.5};  // |x| >= 0.5 (integers: x != 0)
const ValueDomain kPowBase{{0.1, kInf}, 0};
const ValueDomain kPowExponent{{-2.0, 2.0}, 0};

// ---- operand plans ----

void plan_where(GraphBuilder& b, Plan& plan, int primary, int slot) {
  const int other = b.broadcast_partner(primary, plan.dtype,
                                        plan.spec->input_domain(slot == 1 ? 2 : 1));
  const Shape& p = b.value(primary).shape;
  Shape cond_shape = b.partner_shape(p);
  if (!b.fits_broadcast({p, b.value(other).shape, cond_shape})) cond_shape = p;
  const Origin origin = b.rng().chance(b.policy().prob_condition_initializer)
                            ? Origin::kInitializer
                            : Origin::kGraphInput;
  plan.operands = {b.fresh_condition(cond_shape, origin), b.data(primary), b.data(other)};
  if (slot == 2) std::swap(plan.operands[1], plan.operands[2]);
}

// Clip bounds: every min choice lies below every max choice, so min <= max by construction.
void plan_clip(GraphBuilder& b, Plan& plan, int primary, int) {
  const OpSpec& spec = *plan.spec;
  Rng& rng = b.rng();
  plan.operands = {b.data(primary)};
  const bool use_min = !rng.chance(b.policy().prob_omit_optional_input);
  const bool use_max = !rng.chance(b.policy().prob_omit_optional_input);
  // Unsigned types take only the non-negative bounds.
  auto pick = [&](const char* name) {
    std::vector<double> choices;
    for (double c : spec.attr_domain(name)->choices) {
      if (c >= dtype_info(plan.dtype).lowest) choices.push_back(c);
    }
    return rng.pick(choices);
  };
  if (use_min) plan.operands.push_back(b.const_scalar(plan.dtype, pick("min")));
  if (use_max) {
    if (!use_min) plan.operands.push_back(GraphBuilder::omitted());
    plan.operands.push_back(b.const_scalar(plan.dtype, pick("max")));
  }
}

// ---- range rules ----

double relu(double x) { return std::max(x, 0.0); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double safe_log(double x) { return x <= 0 ? -kInf : std::log(x); }
double safe_sqrt(double x) { return std::sqrt(std::max(x, 0.0)); }
double exp_fn(double x) { return std::exp(x); }
double tanh_fn(double x) { return std::tanh(x); }

Interval abs_range(const OpSpec&, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  if (x.lo >= 0) return x;
  if (x.hi <= 0) return {-x.hi, -x.lo};
  return {0, std::max(-x.lo, x.hi)};
}

Interval neg_range(const OpSpec&, const NodeSig& sig) {
  return {-sig.inputs[0].range.hi, -sig.inputs[0].range.lo};
}

Interval add_range(const OpSpec&, const NodeSig& sig) {
  const Interval &a = sig.inputs[0].range, &b = sig.inputs[1].range;
  return {a.lo + b.lo, a.hi + b.hi};
}

Interval sub_range(const OpSpec&, const NodeSig& sig) {
  const Interval &a = sig.inputs[0].range, &b = sig.inputs[1].range;
  return {a.lo - b.hi, a.hi - b.lo};
}

Interval mul_range(const OpSpec&, const NodeSig& sig) {
  return interval_mul(sig.inputs[0].range, sig.inputs[1].range);
}

Interval div_range(const OpSpec&, const NodeSig& sig) {
  const Interval& b = sig.inputs[1].range;
  if (b.lo <= 0 && b.hi >= 0) return Interval::all();
  // Integer division truncates toward 0, which stays inside the real quotient's hull with 0.
  Interval q = interval_mul(sig.inputs[0].range, Interval{1.0 / b.hi, 1.0 / b.lo});
  if (is_integer(sig.inputs[0].dtype)) q = q.hull(Interval::point(0));
  return q;
}

Interval pow_range(const OpSpec&, const NodeSig& sig) {
  const Interval &base = sig.inputs[0].range, &e = sig.inputs[1].range;
  if (base.lo <= 0 || !e.finite()) return Interval::all();
  // b^e = exp(e ln b) is monotone in each argument separately, so the extremes sit at corners.
  Interval out{kInf, -kInf};
  for (double b : {base.lo, base.hi}) {
    for (double x : {e.lo, e.hi}) {
      const double v = std::isinf(b) ? (x > 0 ? kInf : (x < 0 ? 0.0 : 1.0)) : std::pow(b, x);
      out = out.hull(Interval::point(v));
    }
  }
  return out;
}

Interval clip_range(const OpSpec&, const NodeSig& sig) {
  double lo = -kInf, hi = kInf;
  if (sig.inputs.size() > 1 && sig.inputs[1].present) lo = sig.inputs[1].range.lo;
  if (sig.inputs.size() > 2 && sig.inputs[2].present) hi = sig.inputs[2].range.hi;
  const Interval& x = sig.inputs[0].range;
  return {std::clamp(x.lo, lo, std::max(lo, hi)), std::clamp(x.hi, lo, std::max(lo, hi))};
}

Interval where_range(const OpSpec&, const NodeSig& sig) {
  return sig.inputs[1].range.hull(sig.inputs[2].range);
}

// ---- shape rules ----

ShapeResult clip_shape(const OpSpec&, const NodeSig& sig) {
  for (size_t i = 1; i < sig.inputs.size(); ++i) {
    if (sig.inputs[i].present && !sig.inputs[i].shape.empty())
      return fail("Clip bounds must be scalars");
  }
  if (sig.inputs.size() == 3 && sig.inputs[1].present && sig.inputs[2].present &&
      sig.inputs[1].range.lo > sig.inputs[2].range.hi) {
    return fail("Clip min above max");
  }
  return sig.inputs[0].shape;
}

SpecBuilder unary(const char* op, RangeRule range, ValueDomain domain = {}) {
  SpecBuilder b(op);
  b.plan(plan_unary).shape(same_as_input0).range(std::move(range)).domain(0, domain).allows_empty();
  return b;
}

SpecBuilder binary(const char* op, RangeRule range) {
  SpecBuilder b(op);
  b.plan(plan_binary)
      .shape(broadcast_present)
      .range(std::move(range))
      .primary_slots({0, 1})
      .allows_empty();
  return b;
}

}  // namespace

ONNXFUZZ_OP(Relu) { return unary("Relu", monotone(relu)).build(); }
ONNXFUZZ_OP(Sigmoid) { return unary("Sigmoid", monotone(sigmoid)).build(); }
ONNXFUZZ_OP(Tanh) { return unary("Tanh", monotone(tanh_fn)).build(); }
ONNXFUZZ_OP(Exp) { return unary("Exp", monotone(exp_fn), kExpArgument).build(); }
ONNXFUZZ_OP(Log) { return unary("Log", monotone(safe_log), kPositiveForLog).build(); }
ONNXFUZZ_OP(Sqrt) { return unary("Sqrt", monotone(safe_sqrt), kPositiveForSqrt).build(); }
ONNXFUZZ_OP(Abs) { return unary("Abs", abs_range).build(); }
ONNXFUZZ_OP(Neg) { return unary("Neg", neg_range).build(); }

ONNXFUZZ_OP(Add) { return binary("Add", add_range).commutative().build(); }
ONNXFUZZ_OP(Sub) { return binary("Sub", sub_range).build(); }
ONNXFUZZ_OP(Mul) { return binary("Mul", mul_range).commutative().build(); }
ONNXFUZZ_OP(Div) { return binary("Div", div_range).domain(1, kDenominator).build(); }
// Pow stays on floats: an integer base with a negative exponent has no agreed integer result.
ONNXFUZZ_OP(Pow) {
  return binary("Pow", pow_range)
      .domain(0, kPowBase)
      .domain(1, kPowExponent)
      .only_dtypes(kFloats)
      .build();
}

ONNXFUZZ_OP(Clip) {
  return SpecBuilder("Clip")
      .plan(plan_clip)
      .allows_empty()
      .shape(clip_shape)
      .range(clip_range)
      .role(1, InputRole::kConstScalar)
      .role(2, InputRole::kConstScalar)
      .draw("min", AttrDraw::kChoice, {-2.0, -1.0, -0.5, 0.0, 0.25})
      .draw("max", AttrDraw::kChoice, {0.5, 1.0, 2.0, 4.0, 8.0})
      .build();
}

ONNXFUZZ_OP(Where) {
  return SpecBuilder("Where")
      .plan(plan_where)
      .allows_empty()
      .shape(broadcast_present)
      .range(where_range)
      .primary_slots({1, 2})
      .role(0, InputRole::kCondition)
      .build();
}

}  // namespace onnxfuzz
