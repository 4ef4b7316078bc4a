// Reference kernels that move data without arithmetic: Reshape, Transpose, Concat, Slice,
// Squeeze, Unsqueeze, Constant and Identity.
// Every kernel here moves whole elements, so each handles every dtype (bool and the half types
// included) bit for bit and opts out of the interpreter's half-to-float widening.
#include <algorithm>
#include <array>
#include <cstring>

#include "oracles/reference/dispatch.h"
#include "oracles/reference/kernel.h"
#include "oracles/reference/shape.h"

namespace onnxfuzz::ref {
namespace {

// Output element i (row-major over out_shape, index idx) = x[base + dot(idx, strides)].
Tensor strided_copy(const Tensor& x, const Shape& out_shape, int64_t base,
                    std::vector<int64_t> strides) {
  Tensor y = make_tensor(x.dtype, out_shape);
  dispatch_width(x.dtype, [&]<class W>(TypeTag<W>) {
    auto in = x.values<W>();
    auto out = y.values<W>();
    const std::array<std::vector<int64_t>, 1> s{std::move(strides)};
    for_each_index(out_shape, s,
                   [&](int64_t i, const std::array<int64_t, 1>& at) { out[i] = in[base + at[0]]; });
  });
  return y;
}

Tensor with_shape(const Tensor& x, Shape shape) {
  Tensor y = x;
  y.shape = std::move(shape);
  return y;
}

// x with the requested shape: -1 is inferred from the element count; 0 copies the input's dim
// at that position, unless `allow_zero` (Reshape-14's allowzero) makes it a real 0.
Tensor reshape_to(const Tensor& x, const std::vector<int64_t>& requested, bool allow_zero) {
  Shape shape(requested.size());
  int64_t inferred = -1;
  long double known = 1;  // wide enough that fuzzed dims cannot overflow the product
  for (size_t d = 0; d < requested.size(); ++d) {
    int64_t v = requested[d];
    if (v == 0 && !allow_zero) {
      // 0 copies the input's dim at the same position.
      if (d >= x.rank())
        fail("shape {} copies dim {} that the input lacks", shape_string(requested), d);
      v = x.shape[d];
    }
    if (v == -1) {
      if (inferred >= 0) fail("shape {} has more than one -1", shape_string(requested));
      inferred = static_cast<int64_t>(d);
      continue;
    }
    if (v < -1) fail("shape {} has a negative dim", shape_string(requested));
    shape[d] = v;
    known *= static_cast<long double>(v);
  }
  const long double numel = static_cast<long double>(x.numel());
  if (inferred >= 0 && x.numel() == 0 && known != 0) {
    shape[inferred] = 0;  // numpy's answer for an empty input
  } else if (inferred >= 0) {
    // known <= numel keeps the integer arithmetic below exact and overflow-free.
    if (known == 0 || known > numel || x.numel() % static_cast<int64_t>(known) != 0) {
      fail("cannot infer the -1 in {} for {} elements", shape_string(requested), x.numel());
    }
    shape[inferred] = x.numel() / static_cast<int64_t>(known);
  } else if (known != numel) {
    fail("cannot reshape {} to {}", shape_string(x.shape), shape_string(shape));
  }
  return with_shape(x, std::move(shape));
}

// Reshape-1: the shape is an attribute.
std::vector<Tensor> reshape_1(const NodeContext& ctx) {
  return {reshape_to(ctx.input(0), ctx.ints_attr("shape"), false)};
}

// Reshape-5: the shape is an input.
std::vector<Tensor> reshape_5(const NodeContext& ctx) {
  return {reshape_to(ctx.input(0), read_ints(ctx.input(1), "shape"), false)};
}

// Reshape-14: adds allowzero.
std::vector<Tensor> reshape_14(const NodeContext& ctx) {
  return {reshape_to(ctx.input(0), read_ints(ctx.input(1), "shape"),
                     ctx.int_attr("allowzero", 0) != 0)};
}

std::vector<Tensor> transpose(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const size_t rank = x.rank();
  std::vector<int64_t> perm = ctx.ints_attr("perm");
  if (perm.empty()) {
    for (size_t d = rank; d-- > 0;) perm.push_back(static_cast<int64_t>(d));
  }
  if (perm.size() != rank) fail("perm has {} entries for rank {}", perm.size(), rank);
  std::vector<bool> seen(rank, false);
  const std::vector<int64_t> in_strides = strides_of(x.shape);
  Shape shape(rank);
  std::vector<int64_t> strides(rank);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t p = perm[d];
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[p]) fail("perm is not a permutation");
    seen[p] = true;
    shape[d] = x.shape[p];
    strides[d] = in_strides[p];
  }
  return {strided_copy(x, shape, 0, std::move(strides))};
}

std::vector<Tensor> concat(const NodeContext& ctx) {
  const Tensor& first = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(first.rank());
  const int64_t axis = normalize_axis(ctx.int_attr("axis", 1), rank);
  Shape shape = first.shape;
  shape[axis] = 0;
  const int n = ctx.node().input_size();
  for (int i = 0; i < n; ++i) {
    const Tensor& t = ctx.input(i);
    if (t.dtype != first.dtype) fail("input {} has element type {}", i, dtype_name(t.dtype));
    bool same = t.rank() == first.rank();
    for (int64_t d = 0; same && d < rank; ++d) same = d == axis || t.shape[d] == first.shape[d];
    if (!same)
      fail("input {} of shape {} does not match {}", i, shape_string(t.shape),
           shape_string(first.shape));
    shape[axis] += t.shape[axis];
  }
  Tensor y = make_tensor(first.dtype, shape);
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  const size_t elem = dtype_size(first.dtype);
  const size_t out_block =
      static_cast<size_t>(shape_numel(shape) / std::max<int64_t>(outer, 1)) * elem;
  size_t offset = 0;  // byte offset of the current input's block within an output block
  for (int i = 0; i < n; ++i) {
    const Tensor& t = ctx.input(i);
    const size_t block = static_cast<size_t>(t.numel() / std::max<int64_t>(outer, 1)) * elem;
    for (int64_t o = 0; o < outer && block > 0; ++o) {
      std::memcpy(y.bytes.data() + o * out_block + offset, t.bytes.data() + o * block, block);
    }
    offset += block;
  }
  return {std::move(y)};
}

// x[starts:ends:steps] along `axes` (the leading axes when empty), unit steps when empty.
Tensor slice_of(const Tensor& x, const std::vector<int64_t>& starts,
                const std::vector<int64_t>& ends, std::vector<int64_t> axes,
                std::vector<int64_t> steps) {
  const int64_t rank = static_cast<int64_t>(x.rank());
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    fail("starts, ends, axes and steps differ in length");
  }
  Shape shape = x.shape;
  const std::vector<int64_t> in_strides = strides_of(x.shape);
  std::vector<int64_t> strides = in_strides;
  std::vector<bool> seen(x.rank(), false);
  int64_t base = 0;
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t axis = normalize_axis(axes[i], rank);
    if (seen[axis]) fail("axis {} is sliced twice", axes[i]);
    seen[axis] = true;
    const int64_t dim = x.shape[axis], step = steps[i];
    if (step == 0) fail("step must not be 0");
    int64_t start = starts[i] < 0 ? starts[i] + dim : starts[i];
    int64_t end = ends[i] < 0 ? ends[i] + dim : ends[i];
    // Clamping as the spec gives it: [0, dim] going forward, [-1, dim-1] going backward.
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
    }
    // Unsigned arithmetic: a fuzzed step may be INT64_MIN/MAX and must not overflow.
    const uint64_t distance =
        step > 0 ? static_cast<uint64_t>(end - start) : static_cast<uint64_t>(start - end);
    const uint64_t magnitude =
        step > 0 ? static_cast<uint64_t>(step) : uint64_t{0} - static_cast<uint64_t>(step);
    const bool empty = step > 0 ? end <= start : start <= end;
    const int64_t length = empty ? 0 : static_cast<int64_t>((distance - 1) / magnitude + 1);
    shape[axis] = length;
    if (length > 0) base += start * in_strides[axis];
    // With one element the step is never taken; with more, |step| < dim so this cannot overflow.
    strides[axis] = length > 1 ? step * in_strides[axis] : 0;
  }
  return strided_copy(x, shape, base, std::move(strides));
}

// Slice-1: starts, ends and axes are attributes; steps are 1.
std::vector<Tensor> slice_1(const NodeContext& ctx) {
  return {slice_of(ctx.input(0), ctx.ints_attr("starts"), ctx.ints_attr("ends"),
                   ctx.ints_attr("axes"), {})};
}

// Slice-10: starts, ends and the optional axes and steps are inputs.
std::vector<Tensor> slice_10(const NodeContext& ctx) {
  std::vector<int64_t> axes, steps;
  if (const Tensor* t = ctx.optional_input(3)) axes = read_ints(*t, "axes");
  if (const Tensor* t = ctx.optional_input(4)) steps = read_ints(*t, "steps");
  return {slice_of(ctx.input(0), read_ints(ctx.input(1), "starts"), read_ints(ctx.input(2), "ends"),
                   std::move(axes), std::move(steps))};
}

// Squeeze-13 and Unsqueeze-13 take the axes as an optional input, earlier versions as an
// attribute.
std::vector<int64_t> axes_input(const NodeContext& ctx) {
  const Tensor* t = ctx.optional_input(1);
  return t != nullptr ? read_ints(*t, "axes") : std::vector<int64_t>{};
}

// Drops the size-1 dims at `axes` (every size-1 dim when empty).
Tensor squeeze_axes(const Tensor& x, const std::vector<int64_t>& axes) {
  const int64_t rank = static_cast<int64_t>(x.rank());
  std::vector<bool> drop(x.rank(), false);
  if (axes.empty()) {
    for (int64_t d = 0; d < rank; ++d) drop[d] = x.shape[d] == 1;
  }
  for (int64_t a : axes) {
    const int64_t d = normalize_axis(a, rank);
    if (x.shape[d] != 1) fail("cannot squeeze axis {} of size {}", a, x.shape[d]);
    drop[d] = true;
  }
  Shape shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (!drop[d]) shape.push_back(x.shape[d]);
  }
  return with_shape(x, std::move(shape));
}

std::vector<Tensor> squeeze_1(const NodeContext& ctx) {
  return {squeeze_axes(ctx.input(0), ctx.ints_attr("axes"))};
}

std::vector<Tensor> squeeze_13(const NodeContext& ctx) {
  return {squeeze_axes(ctx.input(0), axes_input(ctx))};
}

// Inserts size-1 dims at `axes`, which index the output.
Tensor unsqueeze_axes(const Tensor& x, const std::vector<int64_t>& axes) {
  if (axes.empty()) fail("axes must not be empty");
  const int64_t rank = static_cast<int64_t>(x.rank() + axes.size());
  std::vector<bool> inserted(rank, false);
  for (int64_t a : axes) {
    const int64_t d = normalize_axis(a, rank);
    if (inserted[d]) fail("axis {} is repeated", a);
    inserted[d] = true;
  }
  Shape shape;
  size_t next = 0;
  for (int64_t d = 0; d < rank; ++d) shape.push_back(inserted[d] ? 1 : x.shape[next++]);
  return with_shape(x, std::move(shape));
}

std::vector<Tensor> unsqueeze_1(const NodeContext& ctx) {
  return {unsqueeze_axes(ctx.input(0), ctx.ints_attr("axes"))};
}

std::vector<Tensor> unsqueeze_13(const NodeContext& ctx) {
  return {unsqueeze_axes(ctx.input(0), axes_input(ctx))};
}

std::vector<Tensor> constant(const NodeContext& ctx) {
  if (ctx.node().attribute_size() != 1) fail("exactly one value attribute is required");
  const onnx::AttributeProto& a = ctx.node().attribute(0);
  if (a.name() == "value") {
    auto t = tensor_from_proto(a.t());
    if (!t) fail("{}", t.error());
    return {std::move(*t)};
  }
  if (a.name() == "value_float") return {Tensor::of_floats({}, std::array{a.f()})};
  if (a.name() == "value_floats") {
    const std::vector<float> v(a.floats().begin(), a.floats().end());
    return {Tensor::of_floats({static_cast<int64_t>(v.size())}, v)};
  }
  if (a.name() == "value_int") return {Tensor::of_int64s({}, std::array{a.i()})};
  if (a.name() == "value_ints") {
    const std::vector<int64_t> v(a.ints().begin(), a.ints().end());
    return {Tensor::of_int64s({static_cast<int64_t>(v.size())}, v)};
  }
  fail("attribute '{}' is not supported", a.name());
}

std::vector<Tensor> identity(const NodeContext& ctx) { return {ctx.input(0)}; }

constexpr KernelOptions kMovesElements{.handles_half = true};

const KernelRegistrar kReshape1{"Reshape", 1, reshape_1, kMovesElements};
const KernelRegistrar kReshape5{"Reshape", 5, reshape_5, kMovesElements};
const KernelRegistrar kReshape14{"Reshape", 14, reshape_14, kMovesElements};
const KernelRegistrar kTranspose1{"Transpose", 1, transpose, kMovesElements};
// Concat-1 defaults axis to 1; from Concat-4 it is required, so one kernel serves both.
const KernelRegistrar kConcat1{"Concat", 1, concat, kMovesElements};
const KernelRegistrar kSlice1{"Slice", 1, slice_1, kMovesElements};
const KernelRegistrar kSlice10{"Slice", 10, slice_10, kMovesElements};
const KernelRegistrar kSqueeze1{"Squeeze", 1, squeeze_1, kMovesElements};
const KernelRegistrar kSqueeze13{"Squeeze", 13, squeeze_13, kMovesElements};
const KernelRegistrar kUnsqueeze1{"Unsqueeze", 1, unsqueeze_1, kMovesElements};
const KernelRegistrar kUnsqueeze13{"Unsqueeze", 13, unsqueeze_13, kMovesElements};
// Later Constant versions only add value_* attributes, which the kernel reads all of.
const KernelRegistrar kConstant1{"Constant", 1, constant, kMovesElements};
const KernelRegistrar kIdentity1{"Identity", 1, identity, kMovesElements};

}  // namespace

}  // namespace onnxfuzz::ref
