// Registrations: comparisons (bool out), logical ops, Mod, BitShift, variadic Min/Max/Sum/Mean,
// and Cast/CastLike across every pair of dtypes in the table.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "generators/graph_builder.h"
#include "generators/op_rules.h"

namespace onnxfuzz {
namespace {

using namespace rules;
constexpr double kInf = std::numeric_limits<double>::infinity();
const std::vector<DType> kFloats = {DType::kFloat, DType::kFloat16, DType::kBfloat16,
                                    DType::kDouble};
const ValueDomain kDivisor{Interval::all(), 0.5};  // |x| >= 0.5 (integers: x != 0)
const Interval kBoolRange{0, 1};
// Every value some integer dtype holds: casts from integers are defined for all of them, and a
// domain that is not "unconstrained" keeps fresh sources from drawing INT64 extremes the builder
// could not guard before a cast to float.
const ValueDomain kAnyInteger{{-0x1p63, 0x1p64}, 0};
// Shift amounts below the widest width (uint64); the plan narrows them to the operand's width.
const ValueDomain kShiftAmount{{0, 63}, 0};

// Most inputs a variadic Min/Max/Sum/Mean instance takes (1 is the identity case).
constexpr int64_t kMaxVariadicInputs = 4;

// ---- local repair ----

// Repairs operand `index` of `plan` into `domain`, which depends on the instance (the Cast
// target, the BitShift width) and so cannot be the registration's static domain: the builder's
// own repair (a Clip guard when the budget allows, else fresh values) runs on a copy of the spec
// that carries this domain.
void repair_operand(GraphBuilder& g, Plan& plan, size_t index, const ValueDomain& domain) {
  OpSpec local = *plan.spec;
  for (auto& in : local.inputs) in.domain = {};
  ONNXFUZZ_CHECK(index < local.inputs.size(), "repair_operand: no such formal input");
  local.inputs[index].domain = domain;
  Plan probe = plan;
  probe.spec = &local;
  g.repair_domains(probe);
  plan.operands[index] = probe.operands[index];
}

// The largest shift that stays defined for an unsigned dtype: one below its bit width.
double max_shift(DType dtype) { return static_cast<double>(dtype_size(dtype) * 8 - 1); }

// ---- operand plans ----

// Mod: floats only have C fmod semantics (fmod=1 is required); integers draw both modes.
void plan_mod(GraphBuilder& g, Plan& plan, int primary, int slot) {
  plan_binary(g, plan, primary, slot);
  if (is_float(plan.dtype)) {
    plan.attrs.push_back(Attr::of_int("fmod", 1));
  } else {
    g.draw_int_attr(plan, "fmod");
  }
}

// BitShift: the shift amount stays below the bit width (a full-width shift is undefined in C,
// and backends differ). Edge instances shift by a scalar near the width.
void plan_bitshift(GraphBuilder& g, Plan& plan, int primary, int slot) {
  Rng& rng = g.rng();
  const double top = max_shift(plan.dtype);
  const ValueDomain amount{{0, top}, 0};
  if (slot == 0 && g.edge()) {
    const double shift = rng.pick(std::vector<double>{top, top - 1, std::floor(top / 2), 0});
    plan.operands = {g.data(primary), g.const_scalar(plan.dtype, shift)};
  } else {
    plan_binary(g, plan, primary, slot);
  }
  repair_operand(g, plan, 1, amount);
  plan.attrs.push_back(
      Attr::of_string("direction", rng.pick(std::vector<std::string>{"LEFT", "RIGHT"})));
}

// Min/Max/Sum/Mean: 1 to kMaxVariadicInputs operands that broadcast together. Edge instances
// take a single input (the op is then an identity).
void plan_variadic(GraphBuilder& g, Plan& plan, int primary, int) {
  Rng& rng = g.rng();
  const int64_t count = g.edge() ? 1 : rng.uniform_int(2, kMaxVariadicInputs);
  std::vector<Shape> shapes = {g.value(primary).shape};
  std::vector<int> chosen = {primary};
  for (int64_t k = 1; k < count; ++k) {
    auto fits_with = [&](const Shape& s) {
      std::vector<Shape> all = shapes;
      all.push_back(s);
      return g.fits_broadcast(all);
    };
    const std::vector<int> reuse = g.reusable(
        [&](const Value& v) { return v.dtype == plan.dtype && fits_with(v.shape); });
    int other;
    if (!reuse.empty()) {
      other = rng.pick(reuse);
    } else {
      // The primary's shape always fits: every other operand already broadcasts with it.
      Shape s = g.partner_shape(shapes.front());
      if (!fits_with(s)) s = shapes.front();
      other = g.fresh(plan.dtype, s, plan.spec->input_domain(static_cast<size_t>(k)),
                      g.operand_origin());
    }
    shapes.push_back(g.value(other).shape);
    chosen.push_back(other);
  }
  rng.shuffle(chosen);
  plan.operands.clear();
  for (int v : chosen) plan.operands.push_back(g.data(v));
}

// The dtypes a cast may target: those the policy draws, weighted as it weighs them.
DType draw_cast_target(GraphBuilder& g, DType source) {
  Rng& rng = g.rng();
  std::vector<DType> dtypes;
  std::vector<double> weights;
  for (const auto& row : all_dtypes()) {
    auto w = g.policy().dtype_weights.find(row.dtype);
    if (w == g.policy().dtype_weights.end() || w->second <= 0) continue;
    dtypes.push_back(row.dtype);
    weights.push_back(w->second);
  }
  if (dtypes.empty()) return source;
  if (g.edge()) {
    // The casts runtimes special-case: to the same type (removable), to and from bool, halves.
    std::vector<DType> rare;
    for (DType d : {source, DType::kBool, DType::kFloat16, DType::kBfloat16}) {
      if (std::find(dtypes.begin(), dtypes.end(), d) != dtypes.end()) rare.push_back(d);
    }
    if (!rare.empty()) return rng.pick(rare);
  }
  return dtypes[rng.weighted_index(weights)];
}

// The values a source may hold for a cast to `target` to be defined and finite: a float target
// takes values within the policy cap (float16 overflows at 65504); a float source cast to an
// integer needs values inside the integer's range (out-of-range float -> int is undefined in
// opset 17, which has no saturate attribute). Integer and bool sources wrap or test != 0 into an
// integer or bool target, which is defined for every value.
ValueDomain cast_source_domain(const GraphBuilder& g, DType source, DType target) {
  if (target == DType::kBool || source == DType::kBool) return {};
  if (!is_float(source) && !is_float(target)) return {};
  return {g.value_bounds(target), 0};
}

// Cast: draws the target, repairs the source into its domain. With the policy's pattern rate a
// Cast -> Cast chain is built (runtimes fold such chains, and must not fold a lossy one).
//
// A float -> integer cast truncates, which turns a last-bit difference in its source into a
// whole step: a float16 Softmax gives 0.99951 on one backend and 1 on the other, both within
// tolerance, and the cast makes them 0 and 1. Its float source is exact data then
// (GraphBuilder::exact_operand), as for the step functions; in a chain, the first cast's source;
// for CastLike too.
bool truncates(DType source, DType target) { return is_float(source) && is_integer(target); }

void plan_cast(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  int source = primary;
  std::optional<DType> chained_to;  // the second cast's target, when a chain is built
  if (policy.patterns && g.budget() >= 2 && rng.chance(policy.prob_pattern)) {
    const DType mid = draw_cast_target(g, plan.dtype);
    const DType to = draw_cast_target(g, mid);
    // Exact when the chain truncates at either step (rounding a float to a narrower float is
    // deterministic, so exact data stays exact through the first cast).
    if (truncates(plan.dtype, mid) || truncates(mid, to)) {
      source = g.exact_operand(source, plan);
    }
    Plan inner;
    inner.spec = plan.spec;
    inner.dtype = plan.dtype;
    inner.operands = {g.data(source)};
    inner.attrs = {Attr::of_int("to", static_cast<int64_t>(mid))};
    repair_operand(g, inner, 0, cast_source_domain(g, plan.dtype, mid));
    if (g.budget() >= 2) {
      source = g.emit(inner).front();
      plan.dtype = mid;
      chained_to = to;
    }
  }
  const DType to = chained_to ? *chained_to : draw_cast_target(g, plan.dtype);
  if (!chained_to && truncates(plan.dtype, to)) {
    source = g.exact_operand(source, plan);
  }
  plan.operands = {g.data(source)};
  repair_operand(g, plan, 0, cast_source_domain(g, plan.dtype, to));
  plan.attrs.push_back(Attr::of_int("to", static_cast<int64_t>(to)));
}

// CastLike: the target type comes from a second tensor (its values unused): an existing value of
// the target dtype, or a small initializer.
void plan_cast_like(GraphBuilder& g, Plan& plan, int primary, int) {
  Rng& rng = g.rng();
  const DType to = draw_cast_target(g, plan.dtype);
  const std::vector<int> reuse = g.reusable([&](const Value& v) { return v.dtype == to; });
  int like;
  if (!reuse.empty()) {
    like = rng.pick(reuse);
  } else {
    const Shape shape = g.edge() ? Shape{0} : rng.pick(std::vector<Shape>{{}, {1}});
    like = g.fresh(to, shape, {}, Origin::kInitializer);
  }
  const int source = truncates(plan.dtype, to) ? g.exact_operand(primary, plan) : primary;
  plan.operands = {g.data(source), g.data(like)};
  repair_operand(g, plan, 0, cast_source_domain(g, plan.dtype, to));
}

// ---- dtype rules ----

DType cast_target(const OpSpec& spec, const NodeSig& sig) {
  return static_cast<DType>(spec.attr_int(sig, "to"));
}

DType cast_like_target(const OpSpec&, const NodeSig& sig) { return sig.inputs.at(1).dtype; }

// ---- range rules ----

// A float range is an upstream rule's bound on values that were rounded after it was computed
// (a float16 Sigmoid may land half a step above sigmoid(hi)), so float ranges decide a
// comparison only when they are apart by more than a half type's relative step.
Interval compare_range(const OpSpec& spec, const NodeSig& sig) {
  const Interval &a = sig.inputs[0].range, &b = sig.inputs[1].range;
  const std::string& op = spec.op_type;
  auto point = [](bool v) { return Interval::point(v ? 1 : 0); };
  const double gap =
      is_float(sig.inputs[0].dtype) ? 1e-2 * std::max({1.0, a.magnitude(), b.magnitude()}) : 0;
  const bool exact = gap == 0;
  if (op == "Equal") {
    if (a.hi + gap < b.lo || b.hi + gap < a.lo) return point(false);
    if (exact && a.lo == a.hi && b.lo == b.hi) return point(a.lo == b.lo);
    return kBoolRange;
  }
  // a < b everywhere, a >= b everywhere, a > b everywhere, a <= b everywhere.
  const bool always_less = a.hi + gap < b.lo, never_less = exact ? a.lo >= b.hi : a.lo > b.hi + gap;
  const bool always_greater = a.lo > b.hi + gap,
             never_greater = exact ? a.hi <= b.lo : a.hi + gap < b.lo;
  if (op == "Less" && (always_less || never_less)) return point(always_less);
  if (op == "GreaterOrEqual" && (always_less || never_less)) return point(never_less);
  if (op == "Greater" && (always_greater || never_greater)) return point(always_greater);
  if (op == "LessOrEqual" && (always_greater || never_greater)) return point(never_greater);
  return kBoolRange;
}

Interval and_range(const OpSpec&, const NodeSig& sig) {
  const Interval &a = sig.inputs[0].range, &b = sig.inputs[1].range;
  return {std::min(a.lo, b.lo), std::min(a.hi, b.hi)};
}

Interval or_range(const OpSpec&, const NodeSig& sig) {
  const Interval &a = sig.inputs[0].range, &b = sig.inputs[1].range;
  return {std::max(a.lo, b.lo), std::max(a.hi, b.hi)};
}

Interval xor_range(const OpSpec&, const NodeSig& sig) {
  const Interval &a = sig.inputs[0].range, &b = sig.inputs[1].range;
  if (a.lo == a.hi && b.lo == b.hi) return Interval::point(a.lo != b.lo ? 1 : 0);
  return kBoolRange;
}

// fmod=1 (C fmod): the sign of the dividend, |r| < |divisor| and |r| <= |dividend|.
// fmod=0 (Python, integers only): the sign of the divisor, |r| < |divisor|.
Interval mod_range(const OpSpec& spec, const NodeSig& sig) {
  const Interval &a = sig.inputs[0].range, &b = sig.inputs[1].range;
  const double m = b.magnitude();
  if (spec.attr_int(sig, "fmod") != 0) {
    return {a.lo < 0 ? std::max(a.lo, -m) : 0.0, a.hi > 0 ? std::min(a.hi, m) : 0.0};
  }
  return {b.lo < 0 ? -m : 0.0, b.hi > 0 ? m : 0.0};
}

Interval bitshift_range(const OpSpec& spec, const NodeSig& sig) {
  const Interval &x = sig.inputs[0].range, &s = sig.inputs[1].range;
  const DTypeInfo& info = dtype_info(sig.inputs[0].dtype);
  const Interval full{0, info.highest};
  if (!x.finite() || !s.finite() || s.lo < 0 || s.hi > max_shift(sig.inputs[0].dtype))
    return full;
  // Beyond 2^53 a range bound is the value rounded to a double, possibly up (uint64's 2^64 - 1
  // reads as 2^64, and 2^64 >> 62 is 4 where the value gives 3): the lower bound then takes
  // one unit off, or all of it for a left shift.
  const bool inexact_lo = x.lo > 0x1p53;
  if (spec.attr_string(sig, "direction") == "LEFT") {
    // 2^bits, not info.highest: uint64's highest reads as 2^64 in double, and x * 2^s == 2^64
    // already wraps to 0.
    const double hi = std::ldexp(x.hi, static_cast<int>(s.hi));
    if (hi >= std::ldexp(1.0, static_cast<int>(dtype_size(sig.inputs[0].dtype) * 8)))
      return full;  // some value wraps
    return {inexact_lo ? 0.0 : std::ldexp(x.lo, static_cast<int>(s.lo)), hi};
  }
  const double lo = std::floor(std::ldexp(x.lo, -static_cast<int>(s.hi)));
  return {inexact_lo ? std::max(0.0, lo - 1) : lo,
          std::floor(std::ldexp(x.hi, -static_cast<int>(s.lo)))};
}

Interval min_range(const OpSpec&, const NodeSig& sig) {
  Interval out = sig.inputs[0].range;
  for (const auto& in : sig.inputs) out = {std::min(out.lo, in.range.lo), std::min(out.hi, in.range.hi)};
  return out;
}

Interval max_range(const OpSpec&, const NodeSig& sig) {
  Interval out = sig.inputs[0].range;
  for (const auto& in : sig.inputs) out = {std::max(out.lo, in.range.lo), std::max(out.hi, in.range.hi)};
  return out;
}

Interval sum_range(const OpSpec&, const NodeSig& sig) {
  Interval out = Interval::point(0);
  for (const auto& in : sig.inputs) out = {out.lo + in.range.lo, out.hi + in.range.hi};
  return out;
}

// Rounding is monotone, so a cast maps [lo, hi] into [cast(lo), cast(hi)], except where the
// value is undefined (float -> integer out of range) or wraps (integer narrowing), which may
// give any value of the target, and for bool (x != 0), which is not monotone.
Interval cast_range_to(DType source, DType target, const Interval& x) {
  // A node the rules cannot type (no `to`, or a type outside the table) has no known range.
  if (!find_dtype(static_cast<int32_t>(source)) || !find_dtype(static_cast<int32_t>(target)))
    return Interval::all();
  const DTypeInfo& info = dtype_info(target);
  if (target == DType::kBool) {
    if (x.lo > 0 || x.hi < 0) return Interval::point(1);
    if (x.lo == 0 && x.hi == 0) return Interval::point(0);
    return kBoolRange;
  }
  if (is_float(target)) return {round_to_dtype(x.lo, target), round_to_dtype(x.hi, target)};
  const Interval whole{info.lowest, info.highest};
  if (is_float(source)) {
    // Truncation toward zero: anything in (lowest - 1, highest + 1) lands inside.
    if (!(x.lo > info.lowest - 1 && x.hi < info.highest + 1)) return whole;
    return {round_to_dtype(x.lo, target), round_to_dtype(x.hi, target)};
  }
  if (!whole.contains(x)) return whole;
  return x;
}

Interval cast_range(const OpSpec& spec, const NodeSig& sig) {
  return cast_range_to(sig.inputs[0].dtype, cast_target(spec, sig), sig.inputs[0].range);
}

Interval cast_like_range(const OpSpec&, const NodeSig& sig) {
  return cast_range_to(sig.inputs[0].dtype, sig.inputs[1].dtype, sig.inputs[0].range);
}

// ---- builders ----

SpecBuilder comparison(const char* op) {
  SpecBuilder b(op);
  b.plan(plan_binary)
      .shape(broadcast_present)
      .range(compare_range)
      .output_dtype(fixed_dtype(DType::kBool))
      .primary_slots({0, 1})
      .allows_empty();
  return b;
}

SpecBuilder logical(const char* op, RangeRule range) {
  SpecBuilder b(op);
  b.plan(plan_binary)
      .shape(broadcast_present)
      .range(std::move(range))
      .primary_slots({0, 1})
      .allows_empty();
  return b;
}

SpecBuilder variadic(const char* op, RangeRule range) {
  SpecBuilder b(op);
  b.plan(plan_variadic).shape(broadcast_present).range(std::move(range)).allows_empty();
  return b;
}

// Every dtype of the table, as the `to` values a cast may take.
std::vector<double> all_dtype_codes() {
  std::vector<double> codes;
  for (const auto& row : all_dtypes()) codes.push_back(static_cast<double>(row.dtype));
  return codes;
}

}  // namespace

ONNXFUZZ_OP(Equal) { return comparison("Equal").commutative().build(); }
ONNXFUZZ_OP(Less) { return comparison("Less").build(); }
ONNXFUZZ_OP(Greater) { return comparison("Greater").build(); }
ONNXFUZZ_OP(LessOrEqual) { return comparison("LessOrEqual").build(); }
ONNXFUZZ_OP(GreaterOrEqual) { return comparison("GreaterOrEqual").build(); }

ONNXFUZZ_OP(And) { return logical("And", and_range).commutative().build(); }
ONNXFUZZ_OP(Or) { return logical("Or", or_range).commutative().build(); }
ONNXFUZZ_OP(Xor) { return logical("Xor", xor_range).commutative().build(); }

ONNXFUZZ_OP(Mod) {
  return SpecBuilder("Mod")
      .plan(plan_mod)
      .shape(broadcast_present)
      .range(mod_range)
      .domain(1, kDivisor)
      .primary_slots({0, 1})
      .allows_empty()
      .draw("fmod", AttrDraw::kChoice, {0, 1})
      .build();
}

ONNXFUZZ_OP(BitShift) {
  return SpecBuilder("BitShift")
      .plan(plan_bitshift)
      .shape(broadcast_present)
      .range(bitshift_range)
      .domain(1, kShiftAmount)
      .primary_slots({0, 1})
      .allows_empty()
      .build();
}

ONNXFUZZ_OP(Min) { return variadic("Min", min_range).commutative().build(); }
ONNXFUZZ_OP(Max) { return variadic("Max", max_range).commutative().build(); }
ONNXFUZZ_OP(Sum) { return variadic("Sum", sum_range).commutative().build(); }
ONNXFUZZ_OP(Mean) { return variadic("Mean", hull_of_inputs).commutative().build(); }

ONNXFUZZ_OP(Cast) {
  return SpecBuilder("Cast")
      .plan(plan_cast)
      .shape(same_as_input0)
      .range(cast_range)
      .output_dtype(cast_target)
      .domain(0, kAnyInteger)
      .allows_empty()
      .draw("to", AttrDraw::kChoice, all_dtype_codes())
      .build();
}

ONNXFUZZ_OP(CastLike) {
  return SpecBuilder("CastLike")
      .plan(plan_cast_like)
      .shape(same_as_input0)
      .range(cast_like_range)
      .output_dtype(cast_like_target)
      .domain(0, kAnyInteger)
      .allows_empty()
      .build();
}

}  // namespace onnxfuzz
