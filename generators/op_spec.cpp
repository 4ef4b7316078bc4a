// The operator table: ONNX schema facts (read, not retyped) plus our shape, range and domain rules.
#include "generators/op_spec.h"

#include <fmt/format.h>
#include <onnx/defs/schema.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "generators/model_io.h"

namespace onnxfuzz {

namespace {

using ShapeResult = std::expected<Shape, std::string>;
constexpr double kInf = std::numeric_limits<double>::infinity();

ShapeResult fail(std::string message) { return std::unexpected(std::move(message)); }

// ---------------------------------------------------------------------------------------------
// Shape rules

ShapeResult same_as_input0(const OpSpec&, const NodeSig& sig) {
  if (sig.inputs.empty()) return fail("missing input 0");
  return sig.inputs[0].shape;
}

ShapeResult broadcast_present(const OpSpec&, const NodeSig& sig) {
  std::vector<Shape> shapes;
  for (const auto& in : sig.inputs) {
    if (in.present) shapes.push_back(in.shape);
  }
  return broadcast_shapes(shapes);
}

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

// Spatial output length of a sliding window (Conv and pooling, floor or ceil rounding).
int64_t window_out(int64_t in, int64_t pad_total, int64_t kernel, int64_t stride, int64_t dilation,
                   bool ceil_mode) {
  const int64_t span = in + pad_total - ((kernel - 1) * dilation + 1);
  if (span < 0) return 0;
  return (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
}

ShapeResult window_shape(const Shape& x, const std::vector<int64_t>& kernel,
                         std::vector<int64_t> strides, std::vector<int64_t> dilations,
                         std::vector<int64_t> pads, bool ceil_mode, int64_t channels) {
  const size_t spatial = x.size() - 2;
  if (kernel.size() != spatial) return fail("kernel rank does not match the input's spatial rank");
  if (strides.empty()) strides.assign(spatial, 1);
  if (dilations.empty()) dilations.assign(spatial, 1);
  if (pads.empty()) pads.assign(2 * spatial, 0);
  if (strides.size() != spatial || dilations.size() != spatial || pads.size() != 2 * spatial) {
    return fail("strides/dilations/pads have the wrong length");
  }
  Shape out = {x[0], channels};
  for (size_t i = 0; i < spatial; ++i) {
    if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1 || pads[i] < 0 ||
        pads[i + spatial] < 0) {
      return fail("non-positive kernel/stride/dilation or negative pad");
    }
    const int64_t len = window_out(x[i + 2], pads[i] + pads[i + spatial], kernel[i], strides[i],
                                   dilations[i], ceil_mode);
    if (len < 1) return fail("window larger than the padded input");
    out.push_back(len);
  }
  return out;
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
  return window_shape(x, kernel, spec.attr_ints(sig, "strides"), spec.attr_ints(sig, "dilations"),
                      spec.attr_ints(sig, "pads"), false, w[0]);
}

ShapeResult pool_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  if (x.size() < 3) return fail("pooling needs rank >= 3");
  const std::vector<int64_t> kernel = spec.attr_ints(sig, "kernel_shape");
  const std::vector<int64_t> pads = spec.attr_ints(sig, "pads");
  for (size_t i = 0; i < pads.size() && i < 2 * kernel.size(); ++i) {
    // ONNX Runtime rejects a pad as large as the kernel; keep the rule as strict as it.
    if (pads[i] >= kernel[i % kernel.size()]) return fail("pad must be smaller than the kernel");
  }
  std::vector<int64_t> dilations;
  if (spec.schema_attr("dilations")) dilations = spec.attr_ints(sig, "dilations");
  return window_shape(x, kernel, spec.attr_ints(sig, "strides"), dilations, pads,
                      spec.attr_int(sig, "ceil_mode") != 0, x[1]);
}

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

ShapeResult softmax_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  if (normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(x.size())) < 0) {
    return fail("Softmax axis out of range");
  }
  return x;
}

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

// ---------------------------------------------------------------------------------------------
// Range rules (interval transfer functions)

// A range rule for an elementwise monotone non-decreasing function.
RangeRule monotone(double (*f)(double)) {
  return [f](const OpSpec&, const NodeSig& sig) {
    const Interval& x = sig.inputs[0].range;
    return Interval{f(x.lo), f(x.hi)};
  };
}

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

Interval identity_range(const OpSpec&, const NodeSig& sig) { return sig.inputs[0].range; }

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
  return interval_mul(sig.inputs[0].range, Interval{1.0 / b.hi, 1.0 / b.lo});
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

bool any_positive(const std::vector<int64_t>& values) {
  return std::any_of(values.begin(), values.end(), [](int64_t v) { return v > 0; });
}

Interval conv_range(const OpSpec& spec, const NodeSig& sig) {
  const Shape& w = sig.inputs[1].shape;
  const double taps = static_cast<double>(shape_numel(Shape(w.begin() + 1, w.end())));
  Interval x = sig.inputs[0].range;
  if (any_positive(spec.attr_ints(sig, "pads"))) x = x.hull(Interval::point(0));
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
      any_positive(spec.attr_ints(sig, "pads"))) {
    x = x.hull(Interval::point(0));
  }
  return x;
}

Interval hull_of_inputs(const OpSpec&, const NodeSig& sig) {
  Interval out = sig.inputs[0].range;
  for (const auto& in : sig.inputs) out = out.hull(in.range);
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

Interval softmax_range(const OpSpec&, const NodeSig&) { return {0.0, 1.0}; }

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

// ---------------------------------------------------------------------------------------------
// Primary (input 0) acceptance

PrimaryRule min_rank(size_t rank) {
  return [rank](const Shape& s) { return s.size() >= rank; };
}
PrimaryRule rank_between(size_t lo, size_t hi) {
  return [lo, hi](const Shape& s) { return s.size() >= lo && s.size() <= hi; };
}
bool squeezable(const Shape& s) {
  if (s.size() < 2) return false;
  return std::count(s.begin(), s.end(), 1) >= 1 &&
         std::count(s.begin(), s.end(), 1) < static_cast<long>(s.size());
}

// ---------------------------------------------------------------------------------------------
// Schema reading

std::vector<DType> dtypes_of(const std::vector<std::string>& type_strs) {
  static const std::pair<std::string_view, DType> kNames[] = {
      {"tensor(float)", DType::kFloat},  {"tensor(uint8)", DType::kUint8},
      {"tensor(int8)", DType::kInt8},    {"tensor(int32)", DType::kInt32},
      {"tensor(int64)", DType::kInt64},  {"tensor(bool)", DType::kBool},
      {"tensor(double)", DType::kDouble}};
  std::vector<DType> out;
  for (const auto& s : type_strs) {
    for (const auto& [name, dtype] : kNames) {
      if (s == name) out.push_back(dtype);
    }
  }
  return out;
}

// Builds one OpSpec: schema facts first, then our rules and domains on top.
class SpecBuilder {
 public:
  SpecBuilder(std::string op_type, OpKind kind, ShapeRule shape, RangeRule range,
              PrimaryRule primary = min_rank(1)) {
    spec_.op_type = std::move(op_type);
    spec_.kind = kind;
    spec_.shape_rule = std::move(shape);
    spec_.range_rule = std::move(range);
    spec_.accepts_primary = std::move(primary);
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(spec_.op_type, kTargetOpset, "");
    ONNXFUZZ_CHECK(schema != nullptr, "op spec names an op ONNX does not know at kTargetOpset");
    spec_.since_version = schema->since_version();
    spec_.min_inputs = schema->min_input();
    spec_.max_inputs = schema->max_input();
    spec_.min_outputs = schema->min_output();
    spec_.max_outputs = schema->max_output();
    for (const auto& formal : schema->inputs()) {
      InputSpec in;
      in.name = formal.GetName();
      in.optional = formal.GetOption() == onnx::OpSchema::Optional;
      in.variadic = formal.GetOption() == onnx::OpSchema::Variadic;
      std::vector<std::string> type_strs = {formal.GetTypeStr()};
      for (const auto& param : schema->typeConstraintParams()) {
        if (param.type_param_str == formal.GetTypeStr()) type_strs = param.allowed_type_strs;
      }
      in.allowed_dtypes = dtypes_of(type_strs);
      spec_.inputs.push_back(std::move(in));
    }
    for (const auto& [name, attr] : schema->attributes()) {
      SchemaAttr a;
      a.name = name;
      a.type = attr.type;
      a.required = attr.required;
      a.has_default =
          !attr.required && attr.default_value.type() != onnx::AttributeProto::UNDEFINED;
      a.default_value = attr.default_value;
      spec_.schema_attrs.push_back(std::move(a));
    }
  }

  SpecBuilder& role(size_t input, InputRole role) {
    ONNXFUZZ_CHECK(input < spec_.inputs.size(), "role: no such formal input");
    spec_.inputs[input].role = role;
    return *this;
  }
  SpecBuilder& domain(size_t input, ValueDomain domain) {
    ONNXFUZZ_CHECK(input < spec_.inputs.size(), "domain: no such formal input");
    spec_.inputs[input].domain = domain;
    return *this;
  }
  SpecBuilder& draw(std::string name, AttrDraw draw, std::vector<double> choices = {}) {
    spec_.attr_domains.push_back({std::move(name), draw, std::move(choices)});
    return *this;
  }
  OpSpec build() {
    for (const auto& in : spec_.inputs) {
      const DType want = in.role == InputRole::kConstInts   ? DType::kInt64
                         : in.role == InputRole::kCondition ? DType::kBool
                                                            : DType::kFloat;
      ONNXFUZZ_CHECK(std::find(in.allowed_dtypes.begin(), in.allowed_dtypes.end(), want) !=
                         in.allowed_dtypes.end(),
                     "op spec role disagrees with the ONNX schema's type constraint");
    }
    return std::move(spec_);
  }

 private:
  OpSpec spec_;
};

// Domains: thresholds sit well inside float range so rounding never crosses them.
// Log and Sqrt also need their input away from 0, not just non-negative: their slope grows
// without bound there, so upstream values that legitimately differ in the 8th digit between
// backends (ORT's Sigmoid tail, for one) come out different in the 3rd digit after
// Sqrt(Sqrt(.)), and the numeric oracle would flag a precision artefact as a bug.
const ValueDomain kPositiveForLog{{0.01, kInf}, 0};
const ValueDomain kPositiveForSqrt{{0.01, kInf}, 0};
const ValueDomain kExpArgument{{-kInf, 8.0}, 0};       // e^8 ~ 3e3
const ValueDomain kDenominator{Interval::all(), 0.5};  // |x| >= 0.5
const ValueDomain kPowBase{{0.1, kInf}, 0};
const ValueDomain kPowExponent{{-2.0, 2.0}, 0};

std::vector<OpSpec> build_table() {
  std::vector<OpSpec> t;
  auto unary = [&](const char* op, RangeRule range, ValueDomain dom = {}) {
    t.push_back(
        SpecBuilder(op, OpKind::kUnary, same_as_input0, std::move(range)).domain(0, dom).build());
  };
  unary("Relu", monotone(relu));
  unary("Sigmoid", monotone(sigmoid));
  unary("Tanh", monotone(tanh_fn));
  unary("Exp", monotone(exp_fn), kExpArgument);
  unary("Log", monotone(safe_log), kPositiveForLog);
  unary("Sqrt", monotone(safe_sqrt), kPositiveForSqrt);
  unary("Abs", abs_range);
  unary("Neg", neg_range);

  auto binary = [&](const char* op, RangeRule range) {
    return SpecBuilder(op, OpKind::kBinary, broadcast_present, std::move(range));
  };
  t.push_back(binary("Add", add_range).build());
  t.push_back(binary("Sub", sub_range).build());
  t.push_back(binary("Mul", mul_range).build());
  t.push_back(binary("Div", div_range).domain(1, kDenominator).build());
  t.push_back(binary("Pow", pow_range).domain(0, kPowBase).domain(1, kPowExponent).build());

  t.push_back(SpecBuilder("MatMul", OpKind::kMatMul, matmul_shape, matmul_range).build());
  t.push_back(SpecBuilder("Gemm", OpKind::kGemm, gemm_shape, gemm_range, rank_between(2, 2))
                  .draw("transA", AttrDraw::kChoice, {0, 1})
                  .draw("transB", AttrDraw::kChoice, {0, 1})
                  .draw("alpha", AttrDraw::kChoice, {1.0, 0.5, 2.0})
                  .draw("beta", AttrDraw::kChoice, {1.0, 0.5, 2.0})
                  .build());
  t.push_back(SpecBuilder("Conv", OpKind::kConv, conv_shape, conv_range, rank_between(3, 4))
                  .draw("kernel_shape", AttrDraw::kPerSpatial, {1, 2, 3})
                  .draw("strides", AttrDraw::kPerSpatial, {1, 2})
                  .draw("dilations", AttrDraw::kPerSpatial, {1, 2})
                  .draw("pads", AttrDraw::kPerSpatial, {0, 1})
                  .draw("group", AttrDraw::kChoice, {1, 2})
                  .build());
  // ceil_mode stays 0: frameworks disagree on whether a ceil-mode window that starts inside the
  // trailing padding is kept (pytorch/pytorch#46929), a known divergence not worth rediscovering.
  t.push_back(SpecBuilder("MaxPool", OpKind::kPool, pool_shape, pool_range, rank_between(3, 4))
                  .draw("kernel_shape", AttrDraw::kPerSpatial, {1, 2, 3})
                  .draw("strides", AttrDraw::kPerSpatial, {1, 2})
                  .draw("dilations", AttrDraw::kPerSpatial, {1, 2})
                  .draw("pads", AttrDraw::kPerSpatial, {0, 1})
                  .draw("ceil_mode", AttrDraw::kChoice, {0})
                  .build());
  t.push_back(SpecBuilder("AveragePool", OpKind::kPool, pool_shape, pool_range, rank_between(3, 4))
                  .draw("kernel_shape", AttrDraw::kPerSpatial, {1, 2, 3})
                  .draw("strides", AttrDraw::kPerSpatial, {1, 2})
                  .draw("pads", AttrDraw::kPerSpatial, {0, 1})
                  .draw("count_include_pad", AttrDraw::kChoice, {0, 1})
                  .draw("ceil_mode", AttrDraw::kChoice, {0})
                  .build());

  t.push_back(SpecBuilder("Reshape", OpKind::kReshape, reshape_shape, identity_range)
                  .role(1, InputRole::kConstInts)
                  .build());
  t.push_back(SpecBuilder("Transpose", OpKind::kTranspose, transpose_shape, identity_range)
                  .draw("perm", AttrDraw::kPermutation)
                  .build());
  t.push_back(SpecBuilder("Concat", OpKind::kConcat, concat_shape, hull_of_inputs)
                  .draw("axis", AttrDraw::kAxis)
                  .build());
  t.push_back(SpecBuilder("Slice", OpKind::kSlice, slice_shape, identity_range)
                  .role(1, InputRole::kConstInts)
                  .role(2, InputRole::kConstInts)
                  .role(3, InputRole::kConstInts)
                  .role(4, InputRole::kConstInts)
                  .draw("axes", AttrDraw::kAxes)
                  .draw("steps", AttrDraw::kChoice, {1, 1, 2, -1})
                  .build());
  t.push_back(SpecBuilder("Squeeze", OpKind::kSqueeze, squeeze_shape, identity_range, squeezable)
                  .role(1, InputRole::kConstInts)
                  .draw("axes", AttrDraw::kAxes)
                  .build());
  t.push_back(SpecBuilder("Unsqueeze", OpKind::kUnsqueeze, unsqueeze_shape, identity_range)
                  .role(1, InputRole::kConstInts)
                  .draw("axes", AttrDraw::kAxes)
                  .build());

  // ReduceSum takes axes as input 1 since opset 13; ReduceMean/ReduceMax keep the attribute
  // until opset 18.
  t.push_back(SpecBuilder("ReduceSum", OpKind::kReduce, reduce_shape, reduce_sum_range)
                  .role(1, InputRole::kConstInts)
                  .draw("axes", AttrDraw::kAxes)
                  .draw("keepdims", AttrDraw::kChoice, {0, 1})
                  .build());
  t.push_back(SpecBuilder("ReduceMean", OpKind::kReduce, reduce_shape, identity_range)
                  .draw("axes", AttrDraw::kAxes)
                  .draw("keepdims", AttrDraw::kChoice, {0, 1})
                  .build());
  t.push_back(SpecBuilder("ReduceMax", OpKind::kReduce, reduce_shape, identity_range)
                  .draw("axes", AttrDraw::kAxes)
                  .draw("keepdims", AttrDraw::kChoice, {0, 1})
                  .build());

  t.push_back(SpecBuilder("Softmax", OpKind::kSoftmax, softmax_shape, softmax_range)
                  .draw("axis", AttrDraw::kAxis)
                  .build());
  // Clip bounds: every min choice lies below every max choice, so min <= max by construction.
  t.push_back(SpecBuilder("Clip", OpKind::kClip, clip_shape, clip_range)
                  .role(1, InputRole::kConstScalar)
                  .role(2, InputRole::kConstScalar)
                  .draw("min", AttrDraw::kChoice, {-2.0, -1.0, -0.5, 0.0, 0.25})
                  .draw("max", AttrDraw::kChoice, {0.5, 1.0, 2.0, 4.0, 8.0})
                  .build());
  t.push_back(SpecBuilder("Where", OpKind::kWhere, broadcast_present, where_range)
                  .role(0, InputRole::kCondition)
                  .build());
  return t;
}

}  // namespace

bool ValueDomain::admits(const Interval& range) const {
  if (!allowed.contains(range)) return false;
  if (min_magnitude > 0) return range.lo >= min_magnitude || range.hi <= -min_magnitude;
  return true;
}

onnx::AttributeProto attr_to_proto(const Attr& attr) {
  onnx::AttributeProto proto;
  proto.set_name(attr.name);
  switch (attr.type) {
    case AttrType::kInt:
      proto.set_type(onnx::AttributeProto::INT);
      proto.set_i(attr.i);
      break;
    case AttrType::kFloat:
      proto.set_type(onnx::AttributeProto::FLOAT);
      proto.set_f(attr.f);
      break;
    case AttrType::kInts:
      proto.set_type(onnx::AttributeProto::INTS);
      for (int64_t v : attr.ints) proto.add_ints(v);
      break;
  }
  return proto;
}

AttrList attrs_of_node(const onnx::NodeProto& node) {
  AttrList out;
  for (const auto& a : node.attribute()) {
    switch (a.type()) {
      case onnx::AttributeProto::INT:
        out.push_back(Attr::of_int(a.name(), a.i()));
        break;
      case onnx::AttributeProto::FLOAT:
        out.push_back(Attr::of_float(a.name(), a.f()));
        break;
      case onnx::AttributeProto::INTS:
        out.push_back(Attr::of_ints(a.name(), {a.ints().begin(), a.ints().end()}));
        break;
      default:
        break;
    }
  }
  return out;
}

const ValueDomain& OpSpec::input_domain(size_t index) const {
  static const ValueDomain kAny;
  if (inputs.empty()) return kAny;
  return index < inputs.size() ? inputs[index].domain
                               : (inputs.back().variadic ? inputs.back().domain : kAny);
}

const AttrDomain* OpSpec::attr_domain(std::string_view name) const {
  for (const auto& d : attr_domains) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

const SchemaAttr* OpSpec::schema_attr(std::string_view name) const {
  for (const auto& a : schema_attrs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

static const Attr* find_attr(const NodeSig& sig, std::string_view name) {
  for (const auto& a : sig.attrs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

bool OpSpec::has_attr(const NodeSig& sig, std::string_view name) const {
  return find_attr(sig, name) != nullptr;
}

int64_t OpSpec::attr_int(const NodeSig& sig, std::string_view name) const {
  if (const Attr* a = find_attr(sig, name)) return a->i;
  const SchemaAttr* s = schema_attr(name);
  return s && s->has_default ? s->default_value.i() : 0;
}

float OpSpec::attr_float(const NodeSig& sig, std::string_view name) const {
  if (const Attr* a = find_attr(sig, name)) return a->f;
  const SchemaAttr* s = schema_attr(name);
  return s && s->has_default ? s->default_value.f() : 0.0f;
}

std::vector<int64_t> OpSpec::attr_ints(const NodeSig& sig, std::string_view name) const {
  if (const Attr* a = find_attr(sig, name)) return a->ints;
  const SchemaAttr* s = schema_attr(name);
  if (!s || !s->has_default) return {};
  return {s->default_value.ints().begin(), s->default_value.ints().end()};
}

const std::vector<OpSpec>& all_op_specs() {
  static const std::vector<OpSpec> table = build_table();
  return table;
}

const OpSpec* find_op_spec(std::string_view op_type) {
  for (const auto& spec : all_op_specs()) {
    if (spec.op_type == op_type) return &spec;
  }
  return nullptr;
}

std::expected<Shape, std::string> broadcast_shapes(const std::vector<Shape>& shapes) {
  size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const auto& s : shapes) {
    const size_t offset = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t& o = out[offset + i];
      if (s[i] == o || s[i] == 1) continue;
      if (o != 1) {
        return std::unexpected(
            fmt::format("shapes not broadcastable at dim {}: {} vs {}", offset + i, o, s[i]));
      }
      o = s[i];
    }
  }
  return out;
}

static double mul_no_nan(double x, double y) { return (x == 0 || y == 0) ? 0.0 : x * y; }

Interval interval_mul(const Interval& a, const Interval& b) {
  const double c[] = {mul_no_nan(a.lo, b.lo), mul_no_nan(a.lo, b.hi), mul_no_nan(a.hi, b.lo),
                      mul_no_nan(a.hi, b.hi)};
  return {*std::min_element(c, c + 4), *std::max_element(c, c + 4)};
}

Interval interval_scale(const Interval& a, double k) { return interval_mul(a, Interval::point(k)); }

int64_t normalize_axis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) return -1;
  return axis < 0 ? axis + rank : axis;
}

}  // namespace onnxfuzz
