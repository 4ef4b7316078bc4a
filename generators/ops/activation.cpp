// Registrations: activations (LeakyRelu, Elu, Selu, Celu, HardSigmoid, HardSwish, PRelu, Softplus,
// Softsign, ThresholdedRelu, Shrink), rounding and sign, Reciprocal, Erf, trigonometric and
// hyperbolic functions, and the predicates IsNaN, IsInf and Not.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "generators/graph_builder.h"
#include "generators/op_rules.h"

namespace onnxfuzz {
namespace {

using namespace rules;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kPi = std::numbers::pi;

// ---- value domains ----
// Each keeps the argument where the function is finite and its slope moderate, so values that
// differ in the last bits between backends still agree after the op.
const ValueDomain kUnitOpen{{-0.99, 0.99}, 0};        // Asin, Acos, Atanh
const ValueDomain kAcoshArgument{{1.01, kInf}, 0};    // Acosh needs x >= 1
const ValueDomain kTanArgument{{-1.2, 1.2}, 0};       // well inside (-pi/2, pi/2)
const ValueDomain kHyperbolicArgument{{-8.0, 8.0}, 0};  // cosh(8) ~ 1.5e3
const ValueDomain kDenominator{Interval::all(), 0.5};   // Reciprocal: |x| >= 0.5
// Sin and Cos are well conditioned in absolute terms, but an argument that differs by one
// rounding moves the result by up to that rounding, which at large |x| is no longer small: a
// float32 ulp at 1e3 is 6e-5, a float16 ulp at 50 is 0.03, beyond float16's tolerance. ONNX
// Runtime keeps float16 chains in float32 between the casts it inserts, so its Cos sees the
// unrounded float32 argument where the reference sees the float16 one. Half types therefore
// take |x| <= 4 (a float16 half-ulp there is 1e-3).
const ValueDomain kPeriodicArgument{{-1000.0, 1000.0}, 0};
const ValueDomain kPeriodicHalfArgument{{-4.0, 4.0}, 0};
// Softplus is finite everywhere, but the formula the spec writes, log(exp(x) + 1), overflows
// float32 beyond x ~ 88; below 80 every way of computing it agrees.
const ValueDomain kSoftplusArgument{{-kInf, 80.0}, 0};
// ONNX Runtime computes integer Shrink in float32 (x + bias as float, then cast back): integers
// beyond 2^24 lose digits and the cast of an out-of-range float is undefined. Within +-1e6 the
// float computation is exact for every bias drawn here.
const ValueDomain kShrinkArgument{{-1e6, 1e6}, 0};
// ---- attribute values ----
// The registered choices are the everyday values; an edge instance draws from these lists
// instead: zero, negative, tiny and huge coefficients.
const std::vector<double> kLeakyAlphaEdge = {0.0, 1.0, -0.5, 5.0, 100.0, 1e-7};
const std::vector<double> kEluAlphaEdge = {0.0, -1.0, 1e-6, 50.0};
const std::vector<double> kSeluAlphaEdge = {0.0, -1.0, 10.0};
const std::vector<double> kSeluGammaEdge = {0.0, 0.01, 10.0};
// Celu divides by alpha inside exp(x / alpha); a negative alpha turns the exp of a large
// negative x into an overflow, so alpha stays positive.
const std::vector<double> kCeluAlphaEdge = {0.01, 0.1, 10.0, 100.0};
const std::vector<double> kHardSigmoidAlphaEdge = {0.0, -0.2, 10.0, 1000.0};
const std::vector<double> kHardSigmoidBetaEdge = {-1.0, 1.0, 2.0};
const std::vector<double> kThresholdAlphaEdge = {-1.0, -100.0, 1e4, 1e-6};
const std::vector<double> kShrinkLambdEdge = {-0.5, 5.0, 1e4};
const std::vector<double> kShrinkBiasEdge = {-1.0, -0.5, 3.0, 10.0};
// Integer Shrink keeps lambd and bias non-negative: x - bias and x + bias then stay inside the
// integer type (and, with bias <= lambd, non-negative for unsigned types).
const std::vector<double> kShrinkIntLambdEdge = {3.5, 100.0};
const std::vector<double> kShrinkIntBiasEdge = {1.5, 2.0};

// A float attribute: in an edge instance one of `edge`, else the registered choices (or left at
// the schema default, per the policy). Returns the value in effect.
float draw_float(GraphBuilder& g, Plan& plan, const char* name, const std::vector<double>& edge) {
  if (g.edge() && !edge.empty()) {
    plan.attrs.push_back(Attr::of_float(name, static_cast<float>(g.rng().pick(edge))));
  } else {
    g.draw_float_attr(plan, name);
  }
  return plan.spec->attr_float(plan.sig(), name);
}

void set_float(Plan& plan, const char* name, float v) {
  for (auto& a : plan.attrs) {
    if (a.name == name) {
      a.f = v;
      return;
    }
  }
  plan.attrs.push_back(Attr::of_float(name, v));
}

// ---- operand plans ----

// Step functions (Floor, Ceil, Round, Sign, ThresholdedRelu, Shrink) turn a last-bit difference
// in their argument into a whole step, and upstream ops legitimately differ in the last bits
// between backends (a float16 Erf near -1 is -1 in one and -0.9995 in another, so Ceil gives -1
// and -0). A float argument computed by an earlier node is therefore replaced by fresh data
// (GraphBuilder::exact_operand); integer arguments are exact and stay.
void plan_step(GraphBuilder& g, Plan& plan, int primary, int) {
  plan.operands = {g.data(g.exact_operand(primary, plan))};
}

void plan_periodic(GraphBuilder& g, Plan& plan, int primary, int) {
  int x = primary;
  if (is_half(plan.dtype) && !kPeriodicHalfArgument.admits(g.value(x).range)) {
    const Shape shape = g.value(x).shape;
    x = g.fresh(plan.dtype, shape, kPeriodicHalfArgument, g.operand_origin());
  }
  plan.operands = {g.data(x)};
}

void plan_leaky_relu(GraphBuilder& g, Plan& plan, int primary, int) {
  plan.operands = {g.data(primary)};
  draw_float(g, plan, "alpha", kLeakyAlphaEdge);
}

void plan_elu(GraphBuilder& g, Plan& plan, int primary, int) {
  plan.operands = {g.data(primary)};
  draw_float(g, plan, "alpha", kEluAlphaEdge);
}

void plan_selu(GraphBuilder& g, Plan& plan, int primary, int) {
  plan.operands = {g.data(primary)};
  draw_float(g, plan, "alpha", kSeluAlphaEdge);
  draw_float(g, plan, "gamma", kSeluGammaEdge);
}

void plan_celu(GraphBuilder& g, Plan& plan, int primary, int) {
  plan.operands = {g.data(primary)};
  draw_float(g, plan, "alpha", kCeluAlphaEdge);
}

void plan_hard_sigmoid(GraphBuilder& g, Plan& plan, int primary, int) {
  plan.operands = {g.data(primary)};
  draw_float(g, plan, "alpha", kHardSigmoidAlphaEdge);
  draw_float(g, plan, "beta", kHardSigmoidBetaEdge);
}

void plan_thresholded_relu(GraphBuilder& g, Plan& plan, int primary, int) {
  plan.operands = {g.data(g.exact_operand(primary, plan))};
  draw_float(g, plan, "alpha", kThresholdAlphaEdge);
}

void plan_shrink(GraphBuilder& g, Plan& plan, int primary, int) {
  plan.operands = {g.data(g.exact_operand(primary, plan))};
  const bool integer = is_integer(plan.dtype);
  const float lambd = draw_float(g, plan, "lambd", integer ? kShrinkIntLambdEdge : kShrinkLambdEdge);
  const float bias = draw_float(g, plan, "bias", integer ? kShrinkIntBiasEdge : kShrinkBiasEdge);
  if (dtype_info(plan.dtype).cls == DTypeClass::kUnsigned && bias > lambd)
    set_float(plan, "bias", lambd);
}

// Whether `s` broadcasts to `x` without widening x (unidirectional broadcasting).
bool broadcasts_into(const Shape& s, const Shape& x) {
  if (s.size() > x.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const int64_t d = x[x.size() - s.size() + i];
    if (s[i] != d && s[i] != 1) return false;
  }
  return true;
}

// PRelu's slope broadcasts to X one way only: X's shape is the output's.
void plan_prelu(GraphBuilder& g, Plan& plan, int primary, int) {
  const Shape x = g.value(primary).shape;
  const std::vector<int> fits = g.reusable(
      [&](const Value& v) { return v.dtype == plan.dtype && broadcasts_into(v.shape, x); });
  int slope;
  if (!fits.empty()) {
    slope = g.rng().pick(fits);
  } else {
    Shape s = g.partner_shape(x);
    // A dim the partner widened (a unit dim of X) goes back to 1.
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != x[x.size() - s.size() + i]) s[i] = 1;
    }
    slope = g.fresh(plan.dtype, s, plan.spec->input_domain(1), g.operand_origin());
  }
  plan.operands = {g.data(primary), g.data(slope)};
}

// ---- shape rules ----

ShapeResult prelu_shape(const OpSpec&, const NodeSig& sig) {
  if (sig.inputs.size() != 2) return fail("PRelu takes 2 inputs");
  if (!broadcasts_into(sig.inputs[1].shape, sig.inputs[0].shape))
    return fail("PRelu slope does not broadcast to X");
  return sig.inputs[0].shape;
}

// ---- range rules ----

// k * v with 0 * inf = 0 (a zero coefficient zeroes an unbounded side).
double scaled(double k, double v) { return k == 0 || v == 0 ? 0.0 : k * v; }

// The range of f over [a, b] when f is monotone there (either direction).
template <class F>
Interval piece(double a, double b, F f) {
  const double u = f(a), v = f(b);
  return {std::min(u, v), std::max(u, v)};
}

const Interval kNothing{kInf, -kInf};  // the hull's identity

// y = x < at ? below(x) : above(x), each piece monotone; the pieces are closed at `at`, which
// over-approximates soundly.
template <class Below, class Above>
Interval split_range(const Interval& x, double at, Below below, Above above) {
  Interval out = kNothing;
  if (x.lo < at) out = out.hull(piece(x.lo, std::min(x.hi, at), below));
  if (x.hi >= at) out = out.hull(piece(std::max(x.lo, at), x.hi, above));
  return out;
}

// The input's range widened by a few roundings of its dtype. An upstream op's actual values may
// lie one rounding outside the exact range its rule gave; a continuous function keeps that
// within the checked slack, but a step (Floor, Sign, a threshold) can turn it into a whole step.
Interval with_rounding(const NodeInput& in) {
  double unit = 0;  // relative spacing of the dtype's values
  switch (in.dtype) {
    case DType::kFloat:
      unit = 0x1p-23;
      break;
    case DType::kDouble:
      unit = 0x1p-52;
      break;
    case DType::kFloat16:
      unit = 0x1p-10;
      break;
    case DType::kBfloat16:
      unit = 0x1p-7;
      break;
    default:
      return in.range;  // integers are exact
  }
  const double d = 4 * unit * in.range.magnitude();
  return {in.range.lo - d, in.range.hi + d};
}

// A monotone non-decreasing step function of the rounding-widened input.
RangeRule monotone_step(double (*f)(double)) {
  return [f](const OpSpec&, const NodeSig& sig) {
    const Interval x = with_rounding(sig.inputs[0]);
    return Interval{f(x.lo), f(x.hi)};
  };
}

double expm1_safe(double x) { return std::expm1(x); }  // expm1(-inf) = -1

Interval leaky_relu_range(const OpSpec& spec, const NodeSig& sig) {
  const double alpha = spec.attr_float(sig, "alpha");
  return split_range(
      sig.inputs[0].range, 0, [&](double x) { return scaled(alpha, x); },
      [](double x) { return x; });
}

Interval elu_range(const OpSpec& spec, const NodeSig& sig) {
  const double alpha = spec.attr_float(sig, "alpha");
  return split_range(
      sig.inputs[0].range, 0, [&](double x) { return scaled(alpha, expm1_safe(x)); },
      [](double x) { return x; });
}

Interval selu_range(const OpSpec& spec, const NodeSig& sig) {
  const double alpha = spec.attr_float(sig, "alpha");
  const double gamma = spec.attr_float(sig, "gamma");
  return split_range(
      sig.inputs[0].range, 0,
      [&](double x) { return scaled(gamma, scaled(alpha, expm1_safe(x))); },
      [&](double x) { return scaled(gamma, x); });
}

Interval celu_range(const OpSpec& spec, const NodeSig& sig) {
  const double alpha = spec.attr_float(sig, "alpha");
  return split_range(
      sig.inputs[0].range, 0, [&](double x) { return alpha * expm1_safe(x / alpha); },
      [](double x) { return x; });
}

Interval hard_sigmoid_range(const OpSpec& spec, const NodeSig& sig) {
  const double alpha = spec.attr_float(sig, "alpha");
  const double beta = spec.attr_float(sig, "beta");
  const Interval lin = interval_scale(sig.inputs[0].range, alpha);
  return {std::clamp(lin.lo + beta, 0.0, 1.0), std::clamp(lin.hi + beta, 0.0, 1.0)};
}

// HardSwish: x * clamp(x / 6 + 1/2, 0, 1): 0 up to -3, a parabola with its minimum -3/8 at
// -3/2, then x from 3 on.
double hard_swish(double x) {
  if (x <= -3) return 0;
  if (x >= 3) return x;
  return x * (x / 6 + 0.5);
}
Interval hard_swish_range(const OpSpec&, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  Interval out = Interval::point(hard_swish(x.lo)).hull(Interval::point(hard_swish(x.hi)));
  if (x.lo <= -1.5 && x.hi >= -1.5) out = out.hull(Interval::point(-0.375));
  return out;
}

Interval prelu_range(const OpSpec&, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  Interval out = kNothing;
  if (x.lo < 0) out = out.hull(interval_mul({x.lo, std::min(x.hi, 0.0)}, sig.inputs[1].range));
  if (x.hi >= 0) out = out.hull({std::max(x.lo, 0.0), x.hi});
  return out;
}

Interval thresholded_relu_range(const OpSpec& spec, const NodeSig& sig) {
  const double alpha = spec.attr_float(sig, "alpha");
  const Interval x = with_rounding(sig.inputs[0]);
  Interval out = Interval::point(0);
  if (x.hi > alpha) out = out.hull({std::max(x.lo, alpha), x.hi});
  return out;
}

// Shrink: x + bias below -lambd, x - bias above lambd, else 0. Integer results truncate toward
// 0, which stays inside the hull with 0.
Interval shrink_range(const OpSpec& spec, const NodeSig& sig) {
  const double lambd = spec.attr_float(sig, "lambd");
  const double bias = spec.attr_float(sig, "bias");
  const Interval x = with_rounding(sig.inputs[0]);
  Interval out = Interval::point(0);
  if (x.lo < -lambd) out = out.hull({x.lo + bias, std::min(x.hi, -lambd) + bias});
  if (x.hi > lambd) out = out.hull({std::max(x.lo, lambd) - bias, x.hi - bias});
  return out;
}

double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
double softsign(double x) { return std::isinf(x) ? std::copysign(1.0, x) : x / (1 + std::abs(x)); }
double floor_fn(double x) { return std::floor(x); }
double ceil_fn(double x) { return std::ceil(x); }
double round_fn(double x) { return std::nearbyint(x); }
double erf_fn(double x) { return std::erf(x); }
double sign_fn(double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }
double atan_fn(double x) { return std::atan(x); }
double sinh_fn(double x) { return std::sinh(x); }
double asinh_fn(double x) { return std::asinh(x); }
// The inverse functions see only in-domain values; the clamp keeps a bound at the domain edge.
double asin_fn(double x) { return std::asin(std::clamp(x, -1.0, 1.0)); }
double atanh_fn(double x) { return std::atanh(std::clamp(x, -1.0, 1.0)); }
double acosh_fn(double x) { return std::acosh(std::max(x, 1.0)); }

Interval acos_range(const OpSpec&, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  return {std::acos(std::clamp(x.hi, -1.0, 1.0)), std::acos(std::clamp(x.lo, -1.0, 1.0))};
}

Interval reciprocal_range(const OpSpec&, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  if (x.lo > 0 || x.hi < 0) return {1 / x.hi, 1 / x.lo};
  return Interval::all();
}

// sin over [lo, hi]: the endpoints, plus +-1 where a crest or trough lies inside.
Interval sin_over(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi - lo >= 2 * kPi) return {-1, 1};
  Interval out = Interval::point(std::sin(lo)).hull(Interval::point(std::sin(hi)));
  // Crests at pi/2 + 2k pi, troughs at -pi/2 + 2k pi.
  if (std::floor((hi - kPi / 2) / (2 * kPi)) >= std::ceil((lo - kPi / 2) / (2 * kPi))) out.hi = 1;
  if (std::floor((hi + kPi / 2) / (2 * kPi)) >= std::ceil((lo + kPi / 2) / (2 * kPi))) out.lo = -1;
  return out;
}
Interval sin_range(const OpSpec&, const NodeSig& sig) {
  return sin_over(sig.inputs[0].range.lo, sig.inputs[0].range.hi);
}
Interval cos_range(const OpSpec&, const NodeSig& sig) {
  return sin_over(sig.inputs[0].range.lo + kPi / 2, sig.inputs[0].range.hi + kPi / 2);
}

Interval tan_range(const OpSpec&, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  if (x.lo > -kPi / 2 && x.hi < kPi / 2) return {std::tan(x.lo), std::tan(x.hi)};
  return Interval::all();
}

Interval cosh_range(const OpSpec&, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  Interval out = Interval::point(std::cosh(x.lo)).hull(Interval::point(std::cosh(x.hi)));
  if (x.lo <= 0 && x.hi >= 0) out.lo = 1;
  return out;
}

const Interval kBoolRange{0, 1};

SpecBuilder unary(const char* op, RangeRule range, ValueDomain domain = {}) {
  SpecBuilder b(op);
  b.plan(plan_unary).shape(same_as_input0).range(std::move(range)).domain(0, domain).allows_empty();
  return b;
}

SpecBuilder with_plan(const char* op, OperandPlan plan, RangeRule range) {
  SpecBuilder b(op);
  b.plan(plan).shape(same_as_input0).range(std::move(range)).allows_empty();
  return b;
}

}  // namespace

// ---- activations ----

ONNXFUZZ_OP(LeakyRelu) {
  return with_plan("LeakyRelu", plan_leaky_relu, leaky_relu_range)
      .draw("alpha", AttrDraw::kChoice, {0.01, 0.1, 0.2, 0.3})
      .build();
}
ONNXFUZZ_OP(Elu) {
  return with_plan("Elu", plan_elu, elu_range)
      .draw("alpha", AttrDraw::kChoice, {1.0, 0.5, 2.0})
      .build();
}
ONNXFUZZ_OP(Selu) {
  return with_plan("Selu", plan_selu, selu_range)
      .draw("alpha", AttrDraw::kChoice, {1.67326319217681884765625, 1.0, 2.0})
      .draw("gamma", AttrDraw::kChoice, {1.05070102214813232421875, 1.0, 1.5})
      .build();
}
ONNXFUZZ_OP(Celu) {
  return with_plan("Celu", plan_celu, celu_range)
      .draw("alpha", AttrDraw::kChoice, {1.0, 0.5, 2.0})
      .build();
}
ONNXFUZZ_OP(HardSigmoid) {
  return with_plan("HardSigmoid", plan_hard_sigmoid, hard_sigmoid_range)
      .draw("alpha", AttrDraw::kChoice, {0.2, 0.5, 1.0 / 6})
      .draw("beta", AttrDraw::kChoice, {0.5, 0.0, 0.25})
      .build();
}
ONNXFUZZ_OP(HardSwish) { return unary("HardSwish", hard_swish_range).build(); }
ONNXFUZZ_OP(PRelu) {
  return SpecBuilder("PRelu")
      .plan(plan_prelu)
      .shape(prelu_shape)
      .range(prelu_range)
      .allows_empty()
      .build();
}
ONNXFUZZ_OP(Softplus) { return unary("Softplus", monotone(softplus), kSoftplusArgument).build(); }
ONNXFUZZ_OP(Softsign) { return unary("Softsign", monotone(softsign)).build(); }
ONNXFUZZ_OP(ThresholdedRelu) {
  return with_plan("ThresholdedRelu", plan_thresholded_relu, thresholded_relu_range)
      .draw("alpha", AttrDraw::kChoice, {1.0, 0.0, 0.5, 2.0})
      .build();
}
ONNXFUZZ_OP(Shrink) {
  return with_plan("Shrink", plan_shrink, shrink_range)
      .domain(0, kShrinkArgument)
      .draw("lambd", AttrDraw::kChoice, {0.5, 0.0, 1.0, 2.0})
      .draw("bias", AttrDraw::kChoice, {0.0, 0.5, 1.0})
      .build();
}

// ---- rounding, sign, reciprocal, erf ----

ONNXFUZZ_OP(Floor) { return with_plan("Floor", plan_step, monotone_step(floor_fn)).build(); }
ONNXFUZZ_OP(Ceil) { return with_plan("Ceil", plan_step, monotone_step(ceil_fn)).build(); }
ONNXFUZZ_OP(Round) { return with_plan("Round", plan_step, monotone_step(round_fn)).build(); }
ONNXFUZZ_OP(Sign) { return with_plan("Sign", plan_step, monotone_step(sign_fn)).build(); }
ONNXFUZZ_OP(Reciprocal) { return unary("Reciprocal", reciprocal_range, kDenominator).build(); }
// Erf stays on floats: ONNX is withdrawing its integer types (onnx/onnx#7175, erf has no
// integer result), and ONNX Runtime already rejects an integer Erf as an invalid model.
ONNXFUZZ_OP(Erf) {
  const std::vector<DType> floats = {DType::kFloat, DType::kFloat16, DType::kBfloat16,
                                     DType::kDouble};
  return unary("Erf", monotone(erf_fn)).only_dtypes(floats).build();
}

// ---- trigonometric and hyperbolic ----

ONNXFUZZ_OP(Sin) {
  return with_plan("Sin", plan_periodic, sin_range).domain(0, kPeriodicArgument).build();
}
ONNXFUZZ_OP(Cos) {
  return with_plan("Cos", plan_periodic, cos_range).domain(0, kPeriodicArgument).build();
}
ONNXFUZZ_OP(Tan) { return unary("Tan", tan_range, kTanArgument).build(); }
ONNXFUZZ_OP(Asin) { return unary("Asin", monotone(asin_fn), kUnitOpen).build(); }
ONNXFUZZ_OP(Acos) { return unary("Acos", acos_range, kUnitOpen).build(); }
ONNXFUZZ_OP(Atan) { return unary("Atan", monotone(atan_fn)).build(); }
ONNXFUZZ_OP(Sinh) { return unary("Sinh", monotone(sinh_fn), kHyperbolicArgument).build(); }
ONNXFUZZ_OP(Cosh) { return unary("Cosh", cosh_range, kHyperbolicArgument).build(); }
ONNXFUZZ_OP(Asinh) { return unary("Asinh", monotone(asinh_fn)).build(); }
ONNXFUZZ_OP(Acosh) { return unary("Acosh", monotone(acosh_fn), kAcoshArgument).build(); }
ONNXFUZZ_OP(Atanh) { return unary("Atanh", monotone(atanh_fn), kUnitOpen).build(); }

// ---- predicates ----

ONNXFUZZ_OP(IsNaN) {
  return unary("IsNaN", constant_range(kBoolRange)).output_dtype(fixed_dtype(DType::kBool)).build();
}
ONNXFUZZ_OP(IsInf) {
  return SpecBuilder("IsInf")
      .plan([](GraphBuilder& g, Plan& plan, int primary, int) {
        plan.operands = {g.data(primary)};
        g.draw_int_attr(plan, "detect_negative");
        g.draw_int_attr(plan, "detect_positive");
      })
      .shape(same_as_input0)
      .range(constant_range(kBoolRange))
      .output_dtype(fixed_dtype(DType::kBool))
      .draw("detect_negative", AttrDraw::kChoice, {0, 1})
      .draw("detect_positive", AttrDraw::kChoice, {0, 1})
      .allows_empty()
      .build();
}
ONNXFUZZ_OP(Not) { return unary("Not", constant_range(kBoolRange)).build(); }

}  // namespace onnxfuzz
