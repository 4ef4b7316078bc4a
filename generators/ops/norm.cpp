// Registrations: BatchNormalization (inference form), LayerNormalization, InstanceNormalization,
// LRN, ConvTranspose, GlobalAveragePool, GlobalMaxPool, LogSoftmax and Hardmax.
//
// Einsum is not registered here although the reference runs it: ONNX 1.12 infers only the rank
// of an Einsum output (einsumRankInference), so a generated model holding one would break the
// "every value has a static inferred shape" contract that validation and GraphBuilder::from_model
// rely on.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "generators/graph_builder.h"
#include "generators/op_rules.h"

namespace onnxfuzz {
namespace {

using namespace rules;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Epsilons stay >= 1e-5 (the schema default): below that a near-constant row divides float
// noise of a few ulps by sqrt(eps), and backends that accumulate differently diverge on noise.
const std::vector<double> kEdgeEpsilon = {1e-5, 0.5, 10.0, 1000.0};
// A variance of a BatchNormalization stays away from 0 for the same reason.
const ValueDomain kVariance{{0.05, kInf}, 0};

// ---- shared helpers ----

// A float attribute from its domain, or, in an edge instance, from `edge_values` (written
// explicitly even when it equals the default).
void draw_float(GraphBuilder& g, Plan& plan, const char* name, const std::vector<double>& edge) {
  if (g.edge()) {
    plan.attrs.push_back(Attr::of_float(name, static_cast<float>(g.rng().pick(edge))));
  } else {
    g.draw_float_attr(plan, name);
  }
}

// A tensor made for a non-primary input: a fresh value or, when the policy reuses, an existing
// one of the same dtype and shape.
int operand(GraphBuilder& g, const Plan& plan, size_t input, const Shape& shape, Origin origin) {
  return g.pick_value(plan.dtype, shape, [&] {
    return g.fresh(plan.dtype, shape, plan.spec->input_domain(input), origin);
  });
}

Interval interval_add(const Interval& a, const Interval& b) { return {a.lo + b.lo, a.hi + b.hi}; }

// |x_i - mean| / stddev <= sqrt(n - 1) for n values (equality when one value stands apart), and
// epsilon only shrinks it: the range of a normalized value.
Interval normalized_range(int64_t n) {
  const double bound = std::sqrt(static_cast<double>(std::max<int64_t>(n - 1, 0)));
  return {-bound, bound};
}

// ---- BatchNormalization ----

ShapeResult batch_norm_shape(const OpSpec& spec, const NodeSig& sig) {
  if (sig.inputs.size() != 5) return fail("BatchNormalization takes 5 inputs");
  const Shape& x = sig.inputs[0].shape;
  if (x.size() < 2) return fail("BatchNormalization needs rank >= 2");
  for (size_t i = 1; i < 5; ++i) {
    if (sig.inputs[i].shape != Shape{x[1]}) return fail("scale/B/mean/var must have shape [C]");
  }
  if (spec.attr_int(sig, "training_mode") != 0) return fail("training mode is not generated");
  return x;
}

Interval batch_norm_range(const OpSpec& spec, const NodeSig& sig) {
  const Interval &x = sig.inputs[0].range, &scale = sig.inputs[1].range, &b = sig.inputs[2].range,
                 &mean = sig.inputs[3].range, &var = sig.inputs[4].range;
  const double eps = spec.attr_float(sig, "epsilon");
  if (var.lo + eps <= 0) return Interval::all();
  const Interval centered{x.lo - mean.hi, x.hi - mean.lo};
  const Interval inv_std{1.0 / std::sqrt(var.hi + eps), 1.0 / std::sqrt(var.lo + eps)};
  return interval_add(interval_mul(interval_mul(centered, inv_std), scale), b);
}

void plan_batch_norm(GraphBuilder& g, Plan& plan, int primary, int) {
  const Shape c = {g.value(primary).shape[1]};
  draw_float(g, plan, "epsilon", kEdgeEpsilon);
  g.draw_float_attr(plan, "momentum");  // a training-only factor: must not change Y
  g.draw_int_attr(plan, "training_mode");
  plan.operands = {g.data(primary)};
  // The parameters are initializers, as a deployed (foldable) BatchNormalization has them.
  for (size_t input = 1; input <= 4; ++input) {
    plan.operands.push_back(
        g.data(g.fresh(plan.dtype, c, plan.spec->input_domain(input), Origin::kInitializer)));
  }
}

// ---- LayerNormalization ----

int64_t layer_norm_axis(const OpSpec& spec, const NodeSig& sig) {
  return normalize_axis(spec.attr_int(sig, "axis"),
                        static_cast<int64_t>(sig.inputs[0].shape.size()));
}

ShapeResult layer_norm_shape(const OpSpec& spec, const NodeSig& sig) {
  if (sig.inputs.size() < 2) return fail("LayerNormalization takes 2 or 3 inputs");
  const Shape& x = sig.inputs[0].shape;
  const int64_t axis = layer_norm_axis(spec, sig);
  if (axis < 0) return fail("LayerNormalization axis out of range");
  const Shape normalized(x.begin() + axis, x.end());
  if (sig.inputs[1].shape != normalized) return fail("Scale must have shape X.shape[axis:]");
  if (sig.inputs.size() > 2 && sig.inputs[2].present && sig.inputs[2].shape != normalized)
    return fail("B must have shape X.shape[axis:]");
  return x;
}

Interval layer_norm_range(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const int64_t axis = layer_norm_axis(spec, sig);
  Interval y = interval_mul(normalized_range(shape_numel(Shape(x.begin() + axis, x.end()))),
                            sig.inputs[1].range);
  if (sig.inputs.size() > 2 && sig.inputs[2].present) y = interval_add(y, sig.inputs[2].range);
  return y;
}

void plan_layer_norm(GraphBuilder& g, Plan& plan, int primary, int) {
  const Shape x = g.value(primary).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  const int64_t axis = g.rng().uniform_int(0, rank - 1);
  if (axis != rank - 1 || g.edge() || !g.rng().chance(g.policy().prob_omit_attr))
    plan.attrs.push_back(Attr::of_int("axis", g.written_axis(axis, rank)));
  draw_float(g, plan, "epsilon", kEdgeEpsilon);
  // stash_type 1 (float32) is the only value with agreed semantics: bfloat16 (16) would ask for
  // mean and variance rounded to 8 bits, which no runtime implements the same way.
  if (g.edge()) plan.attrs.push_back(Attr::of_int("stash_type", 1));
  const Shape normalized(x.begin() + axis, x.end());
  plan.operands = {g.data(primary), g.data(operand(g, plan, 1, normalized, g.operand_origin()))};
  if (!g.rng().chance(g.policy().prob_omit_optional_input))
    plan.operands.push_back(g.data(operand(g, plan, 2, normalized, g.operand_origin())));
}

// ---- InstanceNormalization ----

ShapeResult instance_norm_shape(const OpSpec&, const NodeSig& sig) {
  if (sig.inputs.size() != 3) return fail("InstanceNormalization takes 3 inputs");
  const Shape& x = sig.inputs[0].shape;
  if (x.size() < 3) return fail("InstanceNormalization needs rank >= 3");
  if (sig.inputs[1].shape != Shape{x[1]} || sig.inputs[2].shape != Shape{x[1]})
    return fail("scale and B must have shape [C]");
  return x;
}

Interval instance_norm_range(const OpSpec&, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const Interval z = normalized_range(shape_numel(Shape(x.begin() + 2, x.end())));
  return interval_add(interval_mul(z, sig.inputs[1].range), sig.inputs[2].range);
}

void plan_instance_norm(GraphBuilder& g, Plan& plan, int primary, int) {
  const Shape c = {g.value(primary).shape[1]};
  draw_float(g, plan, "epsilon", kEdgeEpsilon);
  plan.operands = {g.data(primary), g.data(operand(g, plan, 1, c, g.operand_origin())),
                   g.data(operand(g, plan, 2, c, g.operand_origin()))};
}

// ---- LRN ----

const std::vector<double> kEdgeLrnSize = {1, 7, 9, 15};
const std::vector<double> kEdgeLrnAlpha = {0.0, 1.0, 10.0};
const std::vector<double> kEdgeLrnBeta = {0.0, 1.0, 2.0};
const std::vector<double> kEdgeLrnBias = {0.5, 100.0};

ShapeResult lrn_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  if (x.size() < 3) return fail("LRN needs rank >= 3");
  const int64_t size = spec.attr_int(sig, "size");
  if (size < 1 || size % 2 == 0) return fail("LRN size must be odd and positive");
  return x;
}

// y = x / (bias + alpha / size * sum x^2)^beta with alpha, beta >= 0 and bias > 0: the divisor
// is at least bias^beta, so y has x's sign and at most x's magnitude over bias^beta.
Interval lrn_range(const OpSpec& spec, const NodeSig& sig) {
  const double bias = spec.attr_float(sig, "bias");
  const double beta = spec.attr_float(sig, "beta");
  if (bias <= 0 || beta < 0 || spec.attr_float(sig, "alpha") < 0) return Interval::all();
  return interval_mul(sig.inputs[0].range, {0.0, 1.0 / std::pow(bias, beta)});
}

void plan_lrn(GraphBuilder& g, Plan& plan, int primary, int) {
  Rng& rng = g.rng();
  const double size = g.edge() ? rng.pick(kEdgeLrnSize)
                               : g.pick_choice(*plan.spec, "size");
  plan.attrs.push_back(Attr::of_int("size", static_cast<int64_t>(size)));
  draw_float(g, plan, "alpha", kEdgeLrnAlpha);
  draw_float(g, plan, "beta", kEdgeLrnBeta);
  draw_float(g, plan, "bias", kEdgeLrnBias);
  plan.operands = {g.data(primary)};
}

// ---- ConvTranspose ----

// Per spatial dim: kernel, stride, dilation, output padding and pads (begin, end).
struct TransposeWindow {
  std::vector<int64_t> kernel, strides, dilations, output_padding, pads, output_shape;
  std::string auto_pad = "NOTSET";
};

int64_t span_of(int64_t kernel, int64_t dilation) { return (kernel - 1) * dilation + 1; }

// The output extent of one spatial dim as ONNX 1.12's convTransposeShapeInference computes it.
// For SAME it pads by a residual rule that equals the spec's in*stride only when stride divides
// the input, output_padding is 0 and the dilated kernel spans at least the stride; the plan
// draws SAME only then.
int64_t transpose_extent(int64_t in, int64_t k, int64_t s, int64_t d, int64_t op, int64_t pb,
                         int64_t pe, const std::string& auto_pad) {
  const int64_t span = span_of(k, d);
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    const int64_t residual = s > 1 ? in % s : 0;
    pb = std::max<int64_t>(0, residual == 0 ? span - s : span - residual);
    pe = 0;
  } else if (auto_pad == "VALID") {
    pb = pe = 0;
  }
  return s * (in - 1) + op + span - pb - pe;
}

ShapeResult conv_transpose_shape(const OpSpec& spec, const NodeSig& sig) {
  if (sig.inputs.size() < 2) return fail("ConvTranspose takes 2 or 3 inputs");
  const Shape& x = sig.inputs[0].shape;
  const Shape& w = sig.inputs[1].shape;
  if (x.size() < 3 || w.size() != x.size())
    return fail("ConvTranspose needs X and W of equal rank >= 3");
  const size_t nd = x.size() - 2;
  const int64_t group = spec.attr_int(sig, "group");
  if (group < 1 || w[0] != x[1] || x[1] % group != 0)
    return fail("ConvTranspose channel/group mismatch");
  const int64_t maps = w[1] * group;
  if (sig.inputs.size() > 2 && sig.inputs[2].present && sig.inputs[2].shape != Shape{maps})
    return fail("ConvTranspose B must have shape [M]");
  std::vector<int64_t> kernel = spec.attr_ints(sig, "kernel_shape");
  if (kernel.empty()) kernel.assign(w.begin() + 2, w.end());
  std::vector<int64_t> strides = spec.attr_ints(sig, "strides");
  std::vector<int64_t> dilations = spec.attr_ints(sig, "dilations");
  std::vector<int64_t> output_padding = spec.attr_ints(sig, "output_padding");
  std::vector<int64_t> pads = spec.attr_ints(sig, "pads");
  const std::vector<int64_t> output_shape = spec.attr_ints(sig, "output_shape");
  if (strides.empty()) strides.assign(nd, 1);
  if (dilations.empty()) dilations.assign(nd, 1);
  if (output_padding.empty()) output_padding.assign(nd, 0);
  const bool explicit_pads = !pads.empty();
  if (!explicit_pads) pads.assign(2 * nd, 0);
  if (kernel.size() != nd || strides.size() != nd || dilations.size() != nd ||
      output_padding.size() != nd || pads.size() != 2 * nd ||
      (!output_shape.empty() && output_shape.size() != nd)) {
    return fail("ConvTranspose attributes do not match the spatial rank");
  }
  // Inference applies auto_pad only when pads are absent.
  const std::string auto_pad = explicit_pads ? "NOTSET" : spec.attr_string(sig, "auto_pad");
  Shape out = {x[0], maps};
  for (size_t i = 0; i < nd; ++i) {
    if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1)
      return fail("non-positive kernel/stride/dilation");
    int64_t extent;
    if (!output_shape.empty()) {
      if (output_shape[i] < x[i + 2]) return fail("output_shape smaller than the input");
      extent = output_shape[i];
    } else {
      extent = transpose_extent(x[i + 2], kernel[i], strides[i], dilations[i], output_padding[i],
                                pads[i], pads[i + nd], auto_pad);
    }
    if (extent < 1) return fail("ConvTranspose output dim below 1");
    out.push_back(extent);
  }
  return out;
}

// Each output sums at most (C / group) * prod(kernel) products, possibly none.
Interval conv_transpose_range(const OpSpec& spec, const NodeSig& sig) {
  const Shape& w = sig.inputs[1].shape;
  const double taps = static_cast<double>(w[0] / std::max<int64_t>(1, spec.attr_int(sig, "group"))) *
                      static_cast<double>(shape_numel(Shape(w.begin() + 2, w.end())));
  const Interval product = interval_mul(sig.inputs[0].range, sig.inputs[1].range);
  Interval y = interval_scale(product, taps).hull(Interval::point(0));
  if (sig.inputs.size() > 2 && sig.inputs[2].present) y = interval_add(y, sig.inputs[2].range);
  return y;
}

enum class TransposeMode { kPads, kSameUpper, kSameLower, kValid, kOutputShape };

void plan_conv_transpose(GraphBuilder& g, Plan& plan, int primary, int) {
  const OpSpec& spec = *plan.spec;
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape x = g.value(primary).shape;
  const size_t nd = x.size() - 2;
  const int64_t channels = x[1];
  int64_t group = static_cast<int64_t>(g.pick_choice(spec, "group"));
  if (channels % group != 0) group = 1;
  int64_t maps_per_group = rng.uniform_int(1, policy.max_dim);
  TransposeMode mode = TransposeMode::kPads;
  if (g.edge()) mode = static_cast<TransposeMode>(rng.uniform_int(0, 4));
  auto pick = [&](const char* name) { return static_cast<int64_t>(g.pick_choice(spec, name)); };
  TransposeWindow w;
  w.pads.assign(2 * nd, 0);
  for (size_t i = 0; i < nd; ++i) {
    const int64_t in = x[i + 2];
    int64_t k = pick("kernel_shape"), s = pick("strides"), d = pick("dilations");
    // output_padding must stay below the stride (or, per the spec, the dilation: edge only).
    const int64_t op_limit = g.edge() ? std::max(s, d) : s;
    int64_t op = std::min(pick("output_padding"), op_limit - 1);
    if (mode == TransposeMode::kSameUpper || mode == TransposeMode::kSameLower) {
      op = 0;
      if (in % s != 0 || span_of(k, d) < s) s = 1;
    }
    const int64_t span = span_of(k, d);
    if (mode == TransposeMode::kPads) {
      w.pads[i] = std::min(pick("pads"), span - 1);
      w.pads[i + nd] = std::min(pick("pads"), span - 1);
      // Pads crop the full output; keep at least one element.
      while (s * (in - 1) + op + span - w.pads[i] - w.pads[i + nd] < 1) {
        (w.pads[i + nd] > 0 ? w.pads[i + nd] : w.pads[i]) -= 1;
      }
    }
    if (mode == TransposeMode::kOutputShape) {
      w.output_shape.push_back(rng.uniform_int(in, s * (in - 1) + op + span));
    }
    w.kernel.push_back(k);
    w.strides.push_back(s);
    w.dilations.push_back(d);
    w.output_padding.push_back(op);
  }
  const char* kAutoPad[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET"};
  w.auto_pad = kAutoPad[static_cast<int>(mode)];
  auto out_numel = [&] {
    int64_t n = x[0] * maps_per_group * group;
    for (size_t i = 0; i < nd; ++i) {
      n *= w.output_shape.empty()
               ? transpose_extent(x[i + 2], w.kernel[i], w.strides[i], w.dilations[i],
                                  w.output_padding[i], w.pads[i], w.pads[i + nd], w.auto_pad)
               : w.output_shape[i];
    }
    return n;
  };
  auto too_big = [&] {
    return out_numel() > policy.max_elements ||
           channels * maps_per_group * shape_numel(w.kernel) > policy.max_elements;
  };
  // Repairs, in order: one map per group; then a 1x1 stride-1 unpadded window, whose output
  // has the input's extent and group <= C maps, so it is no larger than X (and W holds C values).
  if (too_big()) maps_per_group = 1;
  if (too_big()) {
    mode = TransposeMode::kPads;
    w.auto_pad = "NOTSET";
    w.output_shape.clear();
    w.kernel.assign(nd, 1);
    w.strides.assign(nd, 1);
    w.dilations.assign(nd, 1);
    w.output_padding.assign(nd, 0);
    w.pads.assign(2 * nd, 0);
  }
  Shape wshape = {channels, maps_per_group};
  wshape.insert(wshape.end(), w.kernel.begin(), w.kernel.end());
  if (!rng.chance(policy.prob_omit_attr))
    plan.attrs.push_back(Attr::of_ints("kernel_shape", w.kernel));
  g.set_ints_attr(plan, "strides", w.strides, 1);
  g.set_ints_attr(plan, "dilations", w.dilations, 1);
  g.set_ints_attr(plan, "output_padding", w.output_padding, 0);
  if (mode == TransposeMode::kPads) g.set_ints_attr(plan, "pads", w.pads, 0);
  if (mode == TransposeMode::kOutputShape)
    plan.attrs.push_back(Attr::of_ints("output_shape", w.output_shape));
  if (w.auto_pad != "NOTSET" || (g.edge() && mode == TransposeMode::kPads))
    plan.attrs.push_back(Attr::of_string("auto_pad", w.auto_pad));
  if (group != 1 || !rng.chance(policy.prob_omit_attr))
    plan.attrs.push_back(Attr::of_int("group", group));
  plan.operands = {g.data(primary),
                   g.data(g.fresh(plan.dtype, wshape, spec.input_domain(1), g.operand_origin()))};
  if (!rng.chance(policy.prob_omit_optional_input)) {
    plan.operands.push_back(g.data(g.fresh(plan.dtype, {maps_per_group * group},
                                           spec.input_domain(2), g.operand_origin())));
  }
}

// ---- GlobalAveragePool, GlobalMaxPool ----

ShapeResult global_pool_shape(const OpSpec&, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  if (x.size() < 3) return fail("global pooling needs rank >= 3");
  Shape out(x.size(), 1);
  out[0] = x[0];
  out[1] = x[1];
  return out;
}

// ---- LogSoftmax, Hardmax ----

ShapeResult axis_op_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  if (normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(x.size())) < 0)
    return fail("axis out of range");
  return x;
}

// x_i - max - log(sum exp(x_j - max)) lies in [lo - hi - log(n), 0] for n values in [lo, hi].
Interval log_softmax_range(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const int64_t axis = normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(x.size()));
  const double n = static_cast<double>(std::max<int64_t>(1, x[axis]));
  const Interval& r = sig.inputs[0].range;
  return {r.lo - r.hi - std::log(n), 0.0};
}

void plan_axis_op(GraphBuilder& g, Plan& plan, int primary, int);

// Hardmax turns a last-digit difference between two near-equal values into a different one-hot:
// values computed upstream in floating point (which backends round apart, e.g. a fused
// InstanceNormalization) are swapped for fresh data (GraphBuilder::exact_operand), whose exact
// ties both sides break alike.
void plan_hardmax(GraphBuilder& g, Plan& plan, int primary, int slot) {
  plan_axis_op(g, plan, g.exact_operand(primary, plan), slot);
}

void plan_axis_op(GraphBuilder& g, Plan& plan, int primary, int) {
  const int64_t rank = static_cast<int64_t>(g.value(primary).shape.size());
  const int64_t axis = g.rng().uniform_int(0, rank - 1);
  if (axis != rank - 1 || g.edge() || !g.rng().chance(g.policy().prob_omit_attr))
    plan.attrs.push_back(Attr::of_int("axis", g.written_axis(axis, rank)));
  plan.operands = {g.data(primary)};
}

}  // namespace

ONNXFUZZ_OP(BatchNormalization) {
  return SpecBuilder("BatchNormalization")
      .plan(plan_batch_norm)
      .shape(batch_norm_shape)
      .range(batch_norm_range)
      .primary(rank_between(2, 4))
      .domain(4, kVariance)
      .draw("epsilon", AttrDraw::kChoice, {1e-5, 1e-3, 0.1})
      .draw("momentum", AttrDraw::kChoice, {0.9, 0.0, 0.5, 1.0})
      .draw("training_mode", AttrDraw::kChoice, {0})
      .allows_empty()
      .build();
}

// float64 is left out: stash_type can only name float32 (or bfloat16), so the spec computes a
// float64 LayerNormalization's mean and variance in float32, while runtimes compute them in
// double; the two legitimately differ far beyond the float64 tolerance.
ONNXFUZZ_OP(LayerNormalization) {
  return SpecBuilder("LayerNormalization")
      .plan(plan_layer_norm)
      .shape(layer_norm_shape)
      .range(layer_norm_range)
      .draw("axis", AttrDraw::kAxis)
      .draw("epsilon", AttrDraw::kChoice, {1e-5, 1e-3, 0.1})
      .draw("stash_type", AttrDraw::kChoice, {1})
      .exclude_dtypes({DType::kDouble})
      .allows_empty()
      .build();
}

ONNXFUZZ_OP(InstanceNormalization) {
  return SpecBuilder("InstanceNormalization")
      .plan(plan_instance_norm)
      .shape(instance_norm_shape)
      .range(instance_norm_range)
      .primary(rank_between(3, 4))
      .draw("epsilon", AttrDraw::kChoice, {1e-5, 1e-3, 0.1})
      .allows_empty()
      .build();
}

ONNXFUZZ_OP(LRN) {
  return SpecBuilder("LRN")
      .plan(plan_lrn)
      .shape(lrn_shape)
      .range(lrn_range)
      .primary(rank_between(3, 4))
      .draw("size", AttrDraw::kChoice, {1, 3, 5})
      .draw("alpha", AttrDraw::kChoice, {1e-4, 1e-3, 0.1})
      .draw("beta", AttrDraw::kChoice, {0.75, 0.5})
      .draw("bias", AttrDraw::kChoice, {1.0, 2.0})
      .allows_empty()
      .build();
}

ONNXFUZZ_OP(ConvTranspose) {
  return SpecBuilder("ConvTranspose")
      .plan(plan_conv_transpose)
      .shape(conv_transpose_shape)
      .range(conv_transpose_range)
      .primary(rank_between(3, 4))
      .draw("kernel_shape", AttrDraw::kPerSpatial, {1, 2, 3})
      .draw("strides", AttrDraw::kPerSpatial, {1, 2, 3})
      .draw("dilations", AttrDraw::kPerSpatial, {1, 2})
      .draw("output_padding", AttrDraw::kPerSpatial, {0, 1, 2})
      .draw("pads", AttrDraw::kPerSpatial, {0, 1, 2})
      .draw("group", AttrDraw::kChoice, {1, 2})
      .build();
}

// Global pools take no empty spatial dims: the mean (and max) of no values has no agreed result.
ONNXFUZZ_OP(GlobalAveragePool) {
  return SpecBuilder("GlobalAveragePool")
      .plan(plan_unary)
      .shape(global_pool_shape)
      .range(identity_range)
      .primary(rank_between(3, 4))
      .build();
}

ONNXFUZZ_OP(GlobalMaxPool) {
  return SpecBuilder("GlobalMaxPool")
      .plan(plan_unary)
      .shape(global_pool_shape)
      .range(identity_range)
      .primary(rank_between(3, 4))
      .build();
}

ONNXFUZZ_OP(LogSoftmax) {
  return SpecBuilder("LogSoftmax")
      .plan(plan_axis_op)
      .shape(axis_op_shape)
      .range(log_softmax_range)
      .draw("axis", AttrDraw::kAxis)
      .allows_empty()
      .build();
}

ONNXFUZZ_OP(Hardmax) {
  return SpecBuilder("Hardmax")
      .plan(plan_hardmax)
      .shape(axis_op_shape)
      .range(constant_range({0.0, 1.0}))
      .draw("axis", AttrDraw::kAxis)
      .allows_empty()
      .build();
}

}  // namespace onnxfuzz
