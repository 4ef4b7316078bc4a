// Shape, range and primary rules that several operator registrations share.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "generators/op_spec.h"

namespace onnxfuzz::rules {

using ShapeResult = std::expected<Shape, std::string>;
inline ShapeResult fail(std::string message) { return std::unexpected(std::move(message)); }

// ---- operand plans ----
// The primary alone.
void plan_unary(GraphBuilder& g, Plan& plan, int primary, int slot);
// The primary and a broadcast partner of its dtype, in the slot order the builder chose.
void plan_binary(GraphBuilder& g, Plan& plan, int primary, int slot);

// ---- shape rules ----
ShapeResult same_as_input0(const OpSpec&, const NodeSig& sig);
// Multidirectional broadcast of every present input.
ShapeResult broadcast_present(const OpSpec&, const NodeSig& sig);
// Sliding-window output shape (Conv, pooling), floor or ceil rounding.
ShapeResult window_shape(const Shape& x, const std::vector<int64_t>& kernel,
                         std::vector<int64_t> strides, std::vector<int64_t> dilations,
                         std::vector<int64_t> pads, bool ceil_mode, int64_t channels);

// ---- reductions ----
// Axes of a reduction: the "axes" attribute, or input 1 where the op takes axes as an input.
std::vector<int64_t> reduce_axes(const OpSpec& spec, const NodeSig& sig);
// Which axes a reduction removes (none with noop_with_empty_axes and no axes, all when axes are
// absent); error when an axis is out of range or repeated.
std::expected<std::vector<bool>, std::string> reduced_mask(const OpSpec& spec, const NodeSig& sig);
ShapeResult reduce_shape(const OpSpec& spec, const NodeSig& sig);
// Elements each output reduces (0 for an empty reduced set).
double reduced_count(const OpSpec& spec, const NodeSig& sig);

// ---- range rules ----
// An elementwise monotone non-decreasing function.
RangeRule monotone(double (*f)(double));
Interval identity_range(const OpSpec&, const NodeSig& sig);
Interval hull_of_inputs(const OpSpec&, const NodeSig& sig);
RangeRule constant_range(Interval range);

// ---- dtype rules ----
DTypeRule dtype_of_input(size_t input);
DTypeRule fixed_dtype(DType dtype);

// ---- primary rules ----
PrimaryRule min_rank(size_t rank);
PrimaryRule rank_between(size_t lo, size_t hi);

bool any_positive(const std::vector<int64_t>& values);

}  // namespace onnxfuzz::rules
