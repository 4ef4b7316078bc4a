// Shape, range and primary rules that several operator registrations share.
#include "generators/op_rules.h"

#include <algorithm>

namespace onnxfuzz::rules {

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
