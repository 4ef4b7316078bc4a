// Shape, range and primary rules that several operator registrations share.
#include "generators/op_rules.h"

#include <algorithm>

#include "generators/graph_builder.h"

namespace onnxfuzz::rules {

void plan_unary(GraphBuilder& g, Plan& plan, int primary, int) {
  plan.operands = {g.data(primary)};
}

void plan_binary(GraphBuilder& g, Plan& plan, int primary, int slot) {
  const int other = g.broadcast_partner(primary, plan.dtype,
                                        plan.spec->input_domain(static_cast<size_t>(1 - slot)));
  plan.operands = slot == 0 ? std::vector{g.data(primary), g.data(other)}
                            : std::vector{g.data(other), g.data(primary)};
}

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

namespace {
int64_t window_out(int64_t in, int64_t pad_total, int64_t kernel, int64_t stride, int64_t dilation,
                   bool ceil_mode) {
  const int64_t span = in + pad_total - ((kernel - 1) * dilation + 1);
  if (span < 0) return 0;
  return (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
}
}  // namespace

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

// Elements each output reduces (0 for an empty reduced set).
double reduced_count(const OpSpec& spec, const NodeSig& sig) {
  auto mask = reduced_mask(spec, sig);
  double count = 1;
  if (mask) {
    for (size_t d = 0; d < mask->size(); ++d) {
      if ((*mask)[d]) count *= static_cast<double>(sig.inputs[0].shape[d]);
    }
  }
  return count;
}

RangeRule monotone(double (*f)(double)) {
  return [f](const OpSpec&, const NodeSig& sig) {
    const Interval& x = sig.inputs[0].range;
    return Interval{f(x.lo), f(x.hi)};
  };
}

Interval identity_range(const OpSpec&, const NodeSig& sig) { return sig.inputs[0].range; }

Interval hull_of_inputs(const OpSpec&, const NodeSig& sig) {
  Interval out = sig.inputs[0].range;
  for (const auto& in : sig.inputs) {
    if (in.present) out = out.hull(in.range);
  }
  return out;
}

RangeRule constant_range(Interval range) {
  return [range](const OpSpec&, const NodeSig&) { return range; };
}

DTypeRule dtype_of_input(size_t input) {
  return [input](const OpSpec&, const NodeSig& sig) { return sig.inputs.at(input).dtype; };
}

DTypeRule fixed_dtype(DType dtype) {
  return [dtype](const OpSpec&, const NodeSig&) { return dtype; };
}

PrimaryRule min_rank(size_t rank) {
  return [rank](const Shape& s, const GenPolicy&) { return s.size() >= rank; };
}

PrimaryRule rank_between(size_t lo, size_t hi) {
  return [lo, hi](const Shape& s, const GenPolicy&) { return s.size() >= lo && s.size() <= hi; };
}

bool any_positive(const std::vector<int64_t>& values) {
  return std::any_of(values.begin(), values.end(), [](int64_t v) { return v > 0; });
}

}  // namespace onnxfuzz::rules
