// Registrations: MatMul, Gemm, Conv, MaxPool, AveragePool and Softmax.
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
const std::vector<DType> kFloats = {DType::kFloat, DType::kFloat16, DType::kBfloat16,
                                    DType::kDouble};

// ---- shape rules ----

ShapeResult matmul_shape(const OpSpec&, const NodeSig& sig) {
  if (sig.inputs.size() != 2) return fail("MatMul takes 2 inputs");
  Shape a = sig.inputs[0].shape, b = sig.inputs[1].shape;
  if (a.empty() || b.empty()) return fail("MatMul inputs must have rank >= 1");
  const bool a_vector = a.size() == 1, b_vector = b.size() == 1;
  if (a_vector) a.insert(a.begin(), 1);
  if (b_vector) b.push_back(1);
  if (a.back() != b[b.size() - 2]) {
    return fail(fmt::format("MatMul K mismatch: {} vs {}", a.back(), b[b.size() - 2]));
  }
  auto batch = broadcast_shapes({Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2)});
  if (!batch) return batch;
  Shape out = *batch;
  if (!a_vector) out.push_back(a[a.size() - 2]);
  if (!b_vector) out.push_back(b.back());
  return out;
}

ShapeResult gemm_shape(const OpSpec& spec, const NodeSig& sig) {
  if (sig.inputs.size() < 2) return fail("Gemm takes 2 or 3 inputs");
  const Shape& a = sig.inputs[0].shape;
  const Shape& b = sig.inputs[1].shape;
  if (a.size() != 2 || b.size() != 2) return fail("Gemm A and B must be rank 2");
  const bool ta = spec.attr_int(sig, "transA") != 0, tb = spec.attr_int(sig, "transB") != 0;
  const int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
  const int64_t kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
  if (k != kb) return fail(fmt::format("Gemm K mismatch: {} vs {}", k, kb));
  if (sig.inputs.size() > 2 && sig.inputs[2].present) {
    const Shape& c = sig.inputs[2].shape;
    if (c.size() > 2) return fail("Gemm C must have rank <= 2");
    const Shape target = {m, n};
    for (size_t i = 0; i < c.size(); ++i) {
      const int64_t want = target[2 - c.size() + i];
      if (c[i] != 1 && c[i] != want) return fail("Gemm C is not broadcastable to (M, N)");
    }
  }
  return Shape{m, n};
}

// SAME_UPPER (or, with `lower`, SAME_LOWER) pads of a window op on X.
std::vector<int64_t> same_pads(const Shape& x, const std::vector<int64_t>& kernel,
                               const std::vector<int64_t>& strides,
                               const std::vector<int64_t>& dilations, bool lower) {
  const size_t nd = x.size() - 2;
  std::vector<int64_t> pads(2 * nd, 0);
  for (size_t i = 0; i < nd; ++i) {
    const int64_t in = x[i + 2], s = std::max<int64_t>(1, strides[i]);
    const int64_t total =
        std::max<int64_t>(0, ((in + s - 1) / s - 1) * s + (kernel[i] - 1) * dilations[i] + 1 - in);
    pads[i] = lower ? total - total / 2 : total / 2;
    pads[i + nd] = total - pads[i];
  }
  return pads;
}

// The pads a window op applies: its `pads` under auto_pad NOTSET, none under VALID, and under
// SAME_UPPER/SAME_LOWER the spec's total max(0, (ceil(in / stride) - 1) * stride + (k - 1) *
// dilation + 1 - in) per dim, the odd pixel at the end for SAME_UPPER, at the start for LOWER.
std::vector<int64_t> effective_pads(const OpSpec& spec, const NodeSig& sig, const Shape& x,
                                    const std::vector<int64_t>& kernel,
                                    std::vector<int64_t> strides, std::vector<int64_t> dilations) {
  const std::string auto_pad = spec.attr_string(sig, "auto_pad");
  if (auto_pad == "NOTSET") return spec.attr_ints(sig, "pads");
  const size_t nd = x.size() - 2;
  if (strides.empty()) strides.assign(nd, 1);
  if (dilations.empty()) dilations.assign(nd, 1);
  if (auto_pad == "VALID" || kernel.size() != nd || strides.size() != nd ||
      dilations.size() != nd) {
    return std::vector<int64_t>(2 * nd, 0);
  }
  return same_pads(x, kernel, strides, dilations, auto_pad == "SAME_LOWER");
}

std::vector<int64_t> optional_dilations(const OpSpec& spec, const NodeSig& sig) {
  return spec.schema_attr("dilations") ? spec.attr_ints(sig, "dilations") : std::vector<int64_t>{};
}

ShapeResult conv_shape(const OpSpec& spec, const NodeSig& sig) {
  if (sig.inputs.size() < 2) return fail("Conv takes 2 or 3 inputs");
  const Shape& x = sig.inputs[0].shape;
  const Shape& w = sig.inputs[1].shape;
  if (x.size() < 3 || w.size() != x.size()) return fail("Conv needs X and W of equal rank >= 3");
  const int64_t group = spec.attr_int(sig, "group");
  if (group < 1 || x[1] != w[1] * group || w[0] % group != 0) {
    return fail("Conv channel/group mismatch");
  }
  std::vector<int64_t> kernel = spec.attr_ints(sig, "kernel_shape");
  const std::vector<int64_t> w_kernel(w.begin() + 2, w.end());
  if (kernel.empty()) kernel = w_kernel;
  if (kernel != w_kernel) return fail("Conv kernel_shape differs from W");
  if (sig.inputs.size() > 2 && sig.inputs[2].present && sig.inputs[2].shape != Shape{w[0]}) {
    return fail("Conv B must have shape [M]");
  }
  const std::vector<int64_t> strides = spec.attr_ints(sig, "strides");
  const std::vector<int64_t> dilations = spec.attr_ints(sig, "dilations");
  return window_shape(x, kernel, strides, dilations,
                      effective_pads(spec, sig, x, kernel, strides, dilations), false, w[0]);
}

ShapeResult pool_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  if (x.size() < 3) return fail("pooling needs rank >= 3");
  const std::vector<int64_t> kernel = spec.attr_ints(sig, "kernel_shape");
  const std::vector<int64_t> explicit_pads = spec.attr_ints(sig, "pads");
  for (size_t i = 0; i < explicit_pads.size() && i < 2 * kernel.size(); ++i) {
    // ONNX Runtime rejects a pad as large as the kernel; keep the rule as strict as it.
    if (explicit_pads[i] >= kernel[i % kernel.size()])
      return fail("pad must be smaller than the kernel");
  }
  const std::vector<int64_t> dilations = optional_dilations(spec, sig);
  const std::vector<int64_t> strides = spec.attr_ints(sig, "strides");
  return window_shape(x, kernel, strides, dilations,
                      effective_pads(spec, sig, x, kernel, strides, dilations),
                      spec.attr_int(sig, "ceil_mode") != 0, x[1]);
}

// MaxPool's Indices: requested by the plan together with an explicit storage_order (the
// attribute only shapes Indices), flat positions in X.
std::expected<std::vector<OutputType>, std::string> max_pool_indices(const OpSpec& spec,
                                                                      const NodeSig& sig) {
  if (!spec.has_attr(sig, "storage_order")) return std::vector<OutputType>{};
  auto y = pool_shape(spec, sig);
  if (!y) return std::unexpected(y.error());
  const double last = static_cast<double>(shape_numel(sig.inputs[0].shape)) - 1;
  return std::vector<OutputType>{{DType::kInt64, *y, {0.0, std::max(0.0, last)}}};
}

ShapeResult softmax_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  if (normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(x.size())) < 0) {
    return fail("Softmax axis out of range");
  }
  return x;
}

// ---- range rules ----

Interval matmul_range(const OpSpec&, const NodeSig& sig) {
  const Shape& b = sig.inputs[1].shape;
  const int64_t k = b.size() == 1 ? b[0] : b[b.size() - 2];
  return interval_scale(interval_mul(sig.inputs[0].range, sig.inputs[1].range),
                        static_cast<double>(k));
}

Interval gemm_range(const OpSpec& spec, const NodeSig& sig) {
  const Shape& a = sig.inputs[0].shape;
  const int64_t k = spec.attr_int(sig, "transA") != 0 ? a[0] : a[1];
  Interval out = interval_scale(interval_mul(sig.inputs[0].range, sig.inputs[1].range),
                                static_cast<double>(k) * spec.attr_float(sig, "alpha"));
  if (sig.inputs.size() > 2 && sig.inputs[2].present) {
    const Interval c = interval_scale(sig.inputs[2].range, spec.attr_float(sig, "beta"));
    out = {out.lo + c.lo, out.hi + c.hi};
  }
  return out;
}

Interval conv_range(const OpSpec& spec, const NodeSig& sig) {
  const Shape& w = sig.inputs[1].shape;
  const double taps = static_cast<double>(shape_numel(Shape(w.begin() + 1, w.end())));
  Interval x = sig.inputs[0].range;
  const Shape& xs = sig.inputs[0].shape;
  std::vector<int64_t> kernel = spec.attr_ints(sig, "kernel_shape");
  if (kernel.empty()) kernel.assign(w.begin() + 2, w.end());
  if (any_positive(effective_pads(spec, sig, xs, kernel, spec.attr_ints(sig, "strides"),
                                  spec.attr_ints(sig, "dilations"))))
    x = x.hull(Interval::point(0));
  Interval out = interval_scale(interval_mul(x, sig.inputs[1].range), taps);
  if (sig.inputs.size() > 2 && sig.inputs[2].present) {
    out = {out.lo + sig.inputs[2].range.lo, out.hi + sig.inputs[2].range.hi};
  }
  return out;
}

Interval pool_range(const OpSpec& spec, const NodeSig& sig) {
  Interval x = sig.inputs[0].range;
  // AveragePool with count_include_pad averages padded zeros in; MaxPool pads with -inf.
  if (spec.schema_attr("count_include_pad") && spec.attr_int(sig, "count_include_pad") != 0 &&
      any_positive(effective_pads(spec, sig, sig.inputs[0].shape,
                                  spec.attr_ints(sig, "kernel_shape"),
                                  spec.attr_ints(sig, "strides"), optional_dilations(spec, sig)))) {
    x = x.hull(Interval::point(0));
  }
  return x;
}

Interval softmax_range(const OpSpec&, const NodeSig&) { return {0.0, 1.0}; }

// ---- operand plans ----

void plan_matmul(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape a = g.value(primary).shape;
  const int64_t k = a.back();
  const int64_t rows = shape_numel(a) / k;  // elements of A per unit of N in the output
  int rhs = -1;
  const std::vector<int> fits = g.reusable([&](const Value& v) {
    return v.dtype == plan.dtype && v.shape.size() == 2 && v.shape[0] == k &&
           rows * v.shape[1] <= policy.max_elements;
  });
  if (!fits.empty()) rhs = rng.pick(fits);
  if (rhs < 0) {
    Shape b;
    if (a.size() >= 2 && rng.chance(policy.prob_vector_rhs)) {
      b = {k};
    } else {
      const bool batched = a.size() >= 3 && rng.chance(policy.prob_batched_rhs);
      if (batched) b = Shape(a.begin(), a.end() - 2);
      // N is capped by both the output (rows * N) and B itself (batch * K * N).
      const int64_t b_rows = shape_numel(b) * k;
      const int64_t n = std::min(rng.uniform_int(1, policy.max_dim),
                                 std::max<int64_t>(1, policy.max_elements / std::max(rows, b_rows)));
      b.push_back(k);
      b.push_back(n);
    }
    rhs = g.fresh(plan.dtype, b, plan.spec->input_domain(1), g.operand_origin());
  }
  plan.operands = {g.data(primary), g.data(rhs)};
}

void plan_gemm(GraphBuilder& g, Plan& plan, int primary, int) {
  const OpSpec& spec = *plan.spec;
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape a = g.value(primary).shape;
  const int64_t trans_a = g.draw_int_attr(plan, "transA");
  const int64_t trans_b = g.draw_int_attr(plan, "transB");
  g.draw_float_attr(plan, "alpha");
  g.draw_float_attr(plan, "beta");
  const int64_t m = trans_a ? a[1] : a[0], k = trans_a ? a[0] : a[1];
  const int64_t n = std::min(rng.uniform_int(1, policy.max_dim),
                             std::max<int64_t>(1, policy.max_elements / std::max(m, k)));
  const Shape b = trans_b ? Shape{n, k} : Shape{k, n};
  const int rhs = g.pick_value(plan.dtype, b, [&] {
    return g.fresh(plan.dtype, b, spec.input_domain(1), g.operand_origin());
  });
  plan.operands = {g.data(primary), g.data(rhs)};
  if (!rng.chance(policy.prob_omit_optional_input)) {
    const std::vector<Shape> c_shapes = {{n}, {1, n}, {m, 1}, {m, n}, {1}, {}};
    const Shape c = rng.pick(c_shapes);
    plan.operands.push_back(
        g.data(g.fresh(plan.dtype, c, spec.input_domain(2), g.operand_origin())));
  }
}

// Per spatial dim: kernel, dilation, stride, pads, repaired so the window fits the input.
struct Window {
  std::vector<int64_t> kernel, strides, dilations, pads;
  std::string auto_pad = "NOTSET";  // when not NOTSET, `pads` holds what it resolves to
  bool ceil_mode = false;
};

const std::vector<std::string> kAutoPads = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};

// Edge instances draw auto_pad (NOTSET written out, SAME_UPPER, SAME_LOWER, VALID); `pads` then
// holds the padding it resolves to, for the size checks.
void draw_auto_pad(GraphBuilder& g, const Shape& x, Window& w) {
  if (!g.edge()) return;
  w.auto_pad = g.rng().pick(kAutoPads);
  if (w.auto_pad == "VALID") w.pads.assign(w.pads.size(), 0);
  if (w.auto_pad.starts_with("SAME"))
    w.pads = same_pads(x, w.kernel, w.strides, w.dilations, w.auto_pad == "SAME_LOWER");
}

// Writes auto_pad and pads: pads only under NOTSET (written out in edge instances).
void set_padding_attrs(GraphBuilder& g, Plan& plan, const Window& w) {
  if (w.auto_pad != "NOTSET" || g.edge()) plan.attrs.push_back(Attr::of_string("auto_pad", w.auto_pad));
  if (w.auto_pad == "NOTSET") g.set_ints_attr(plan, "pads", w.pads, 0);
}

Window draw_window(GraphBuilder& g, const OpSpec& spec, const Shape& x) {
  const size_t spatial = x.size() - 2;
  Window w;
  w.pads.assign(2 * spatial, 0);
  const bool dilated = spec.attr_domain("dilations") != nullptr;
  for (size_t i = 0; i < spatial; ++i) {
    const int64_t dim = x[i + 2];
    int64_t k = static_cast<int64_t>(g.pick_choice(spec, "kernel_shape"));
    int64_t d = dilated ? static_cast<int64_t>(g.pick_choice(spec, "dilations")) : 1;
    const int64_t s = static_cast<int64_t>(g.pick_choice(spec, "strides"));
    if ((k - 1) * d + 1 > dim) d = 1;  // repair: undilate, then shrink the kernel to the input
    k = std::min(k, dim);
    // Pads stay below the kernel (ONNX Runtime rejects pad >= kernel for pooling).
    w.pads[i] = std::min(static_cast<int64_t>(g.pick_choice(spec, "pads")), k - 1);
    w.pads[i + spatial] = std::min(static_cast<int64_t>(g.pick_choice(spec, "pads")), k - 1);
    w.kernel.push_back(k);
    w.strides.push_back(s);
    w.dilations.push_back(d);
  }
  return w;
}

// Elements of a window op's output with `channels` output channels.
int64_t window_numel(const Shape& x, int64_t channels, const Window& w) {
  const size_t spatial = x.size() - 2;
  int64_t n = x[0] * channels;
  for (size_t i = 0; i < spatial; ++i) {
    const int64_t span =
        x[i + 2] + w.pads[i] + w.pads[i + spatial] - ((w.kernel[i] - 1) * w.dilations[i] + 1);
    n *= (w.ceil_mode ? (span + w.strides[i] - 1) / w.strides[i] : span / w.strides[i]) + 1;
  }
  return n;
}

// ceil_mode=1 only where every ceil-mode window starts inside the input or its leading pad:
// runtimes drop a last window that starts in the trailing padding (ONNX Runtime, PyTorch) and
// ONNX 1.12 keeps it (pytorch/pytorch#46929), a known divergence not worth rediscovering.
bool ceil_mode_agreed(const Shape& x, const Window& w) {
  const size_t spatial = x.size() - 2;
  for (size_t i = 0; i < spatial; ++i) {
    const int64_t room =
        x[i + 2] + w.pads[i] + w.pads[i + spatial] - ((w.kernel[i] - 1) * w.dilations[i] + 1);
    const int64_t last_start = (room + w.strides[i] - 1) / w.strides[i] * w.strides[i];
    if (last_start >= x[i + 2] + w.pads[i]) return false;
  }
  return true;
}

void plan_conv(GraphBuilder& g, Plan& plan, int primary, int) {
  const OpSpec& spec = *plan.spec;
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape x = g.value(primary).shape;
  const int64_t channels = x[1];
  int64_t group = static_cast<int64_t>(g.pick_choice(spec, "group"));
  if (channels % group != 0) group = 1;  // repair
  int64_t m = rng.uniform_int(1, policy.max_dim);
  m = group * ((m + group - 1) / group);
  Window w = draw_window(g, spec, x);
  draw_auto_pad(g, x, w);
  // Repairs, in order, until output and W fit max_elements: m = group (<= channels), no
  // padding (then every output spatial dim is <= its input dim, so the output is no larger
  // than X), and a 1x1 kernel (then W holds `channels` elements, no more than X).
  auto weight_numel = [&] { return m * (channels / group) * shape_numel(w.kernel); };
  auto too_big = [&] {
    return window_numel(x, m, w) > policy.max_elements || weight_numel() > policy.max_elements;
  };
  if (too_big()) m = group;
  if (too_big()) {
    w.auto_pad = "NOTSET";
    w.pads.assign(w.pads.size(), 0);
  }
  if (too_big()) w.kernel.assign(w.kernel.size(), 1);
  Shape wshape = {m, channels / group};
  wshape.insert(wshape.end(), w.kernel.begin(), w.kernel.end());
  if (!rng.chance(policy.prob_omit_attr)) plan.attrs.push_back(Attr::of_ints("kernel_shape", w.kernel));
  g.set_ints_attr(plan, "strides", w.strides, 1);
  g.set_ints_attr(plan, "dilations", w.dilations, 1);
  set_padding_attrs(g, plan, w);
  if (group != 1 || !rng.chance(policy.prob_omit_attr))
    plan.attrs.push_back(Attr::of_int("group", group));
  plan.operands = {g.data(primary),
                   g.data(g.fresh(plan.dtype, wshape, spec.input_domain(1), g.operand_origin()))};
  if (!rng.chance(policy.prob_omit_optional_input)) {
    plan.operands.push_back(
        g.data(g.fresh(plan.dtype, {m}, spec.input_domain(2), g.operand_origin())));
  }
}

void plan_pool(GraphBuilder& g, Plan& plan, int primary, int) {
  const OpSpec& spec = *plan.spec;
  const Shape x = g.value(primary).shape;
  Rng& rng = g.rng();
  Window w = draw_window(g, spec, x);
  draw_auto_pad(g, x, w);
  // Edge instances only, with explicit pads (ONNX 1.12 applies ceil to SAME and VALID too).
  if (g.edge() && w.auto_pad == "NOTSET") {
    w.ceil_mode = g.pick_choice(spec, "ceil_mode") != 0;
    if (!ceil_mode_agreed(x, w)) w.ceil_mode = false;
  }
  // Without padding and rounding down no output dim exceeds its input dim.
  if (window_numel(x, x[1], w) > g.policy().max_elements) {
    w.auto_pad = "NOTSET";
    w.pads.assign(w.pads.size(), 0);
    w.ceil_mode = false;
  }
  plan.attrs.push_back(Attr::of_ints("kernel_shape", w.kernel));
  g.set_ints_attr(plan, "strides", w.strides, 1);
  if (spec.attr_domain("dilations")) g.set_ints_attr(plan, "dilations", w.dilations, 1);
  set_padding_attrs(g, plan, w);
  if (spec.attr_domain("count_include_pad")) g.draw_int_attr(plan, "count_include_pad");
  if (w.ceil_mode) {
    plan.attrs.push_back(Attr::of_int("ceil_mode", 1));
  } else if (!rng.chance(g.policy().prob_omit_attr)) {
    plan.attrs.push_back(Attr::of_int("ceil_mode", 0));
  }
  // MaxPool's Indices output, in edge instances: an explicit storage_order requests it. An index
  // turns a last-digit difference between near-equal values into another position, so a
  // floating input computed upstream (which backends may round apart) is swapped for fresh data.
  int input = primary;
  if (spec.attr_domain("storage_order") && g.edge() && rng.uniform_int(0, 1) == 0) {
    plan.attrs.push_back(Attr::of_int(
        "storage_order", static_cast<int64_t>(g.pick_choice(spec, "storage_order"))));
    input = g.exact_operand(primary, plan);
  }
  plan.operands = {g.data(input)};
}

void plan_softmax(GraphBuilder& g, Plan& plan, int primary, int) {
  const int64_t rank = static_cast<int64_t>(g.value(primary).shape.size());
  if (!g.rng().chance(g.policy().prob_omit_attr)) {
    plan.attrs.push_back(
        Attr::of_int("axis", g.written_axis(g.rng().uniform_int(0, rank - 1), rank)));
  }
  plan.operands = {g.data(primary)};
}

}  // namespace

ONNXFUZZ_OP(MatMul) {
  // B is [K, N]: needs rank 2 room.
  return SpecBuilder("MatMul")
      .plan(plan_matmul)
      .shape(matmul_shape)
      .range(matmul_range)
      .primary([](const Shape& s, const GenPolicy& p) { return !s.empty() && p.max_rank >= 2; })
      .build();
}

// Gemm stays on floats: alpha and beta are float attributes, and an integer Gemm scaled by 0.5
// has no agreed rounding.
ONNXFUZZ_OP(Gemm) {
  return SpecBuilder("Gemm")
      .plan(plan_gemm)
      .shape(gemm_shape)
      .range(gemm_range)
      .primary(rank_between(2, 2))
      .only_dtypes(kFloats)
      .draw("transA", AttrDraw::kChoice, {0, 1})
      .draw("transB", AttrDraw::kChoice, {0, 1})
      .draw("alpha", AttrDraw::kChoice, {1.0, 0.5, 2.0})
      .draw("beta", AttrDraw::kChoice, {1.0, 0.5, 2.0})
      .build();
}

ONNXFUZZ_OP(Conv) {
  return SpecBuilder("Conv")
      .plan(plan_conv)
      .shape(conv_shape)
      .range(conv_range)
      .primary(rank_between(3, 4))
      .draw("kernel_shape", AttrDraw::kPerSpatial, {1, 2, 3})
      .draw("strides", AttrDraw::kPerSpatial, {1, 2})
      .draw("dilations", AttrDraw::kPerSpatial, {1, 2})
      .draw("pads", AttrDraw::kPerSpatial, {0, 1})
      .draw("group", AttrDraw::kChoice, {1, 2})
      .build();
}

// ceil_mode=1 and the Indices output come in edge instances only; see ceil_mode_agreed.
ONNXFUZZ_OP(MaxPool) {
  return SpecBuilder("MaxPool")
      .plan(plan_pool)
      .shape(pool_shape)
      .range(pool_range)
      .extra_outputs(max_pool_indices)
      .primary(rank_between(3, 4))
      .draw("kernel_shape", AttrDraw::kPerSpatial, {1, 2, 3})
      .draw("strides", AttrDraw::kPerSpatial, {1, 2})
      .draw("dilations", AttrDraw::kPerSpatial, {1, 2})
      .draw("pads", AttrDraw::kPerSpatial, {0, 1})
      .draw("ceil_mode", AttrDraw::kChoice, {0, 1})
      .draw("storage_order", AttrDraw::kChoice, {0, 1})
      .build();
}

ONNXFUZZ_OP(AveragePool) {
  return SpecBuilder("AveragePool")
      .plan(plan_pool)
      .shape(pool_shape)
      .range(pool_range)
      .primary(rank_between(3, 4))
      .draw("kernel_shape", AttrDraw::kPerSpatial, {1, 2, 3})
      .draw("strides", AttrDraw::kPerSpatial, {1, 2})
      .draw("pads", AttrDraw::kPerSpatial, {0, 1})
      .draw("count_include_pad", AttrDraw::kChoice, {0, 1})
      .draw("ceil_mode", AttrDraw::kChoice, {0, 1})
      .build();
}

ONNXFUZZ_OP(Softmax) {
  return SpecBuilder("Softmax")
      .plan(plan_softmax)
      .shape(softmax_shape)
      .range(softmax_range)
      .draw("axis", AttrDraw::kAxis)
      .build();
}

}  // namespace onnxfuzz
