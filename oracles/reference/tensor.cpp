// Reference kernels for indexing and tensor construction: Gather, GatherElements, GatherND,
// Scatter, ScatterElements, ScatterND, Pad, Expand, Tile, Range, Shape, Size, ConstantOfShape,
// Flatten, Split, DepthToSpace, SpaceToDepth, Trilu and Resize.
// Kernels that only move elements handle every dtype bit for bit (half types included); the
// scatter reductions and Resize's interpolation compute, so half types reach them widened.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>

#include "oracles/reference/dispatch.h"
#include "oracles/reference/kernel.h"
#include "oracles/reference/shape.h"

namespace onnxfuzz::ref {
namespace {

constexpr KernelOptions kMovesElements{.handles_half = true};

// Calls f(linear, coord) for every index of `shape` in row-major order.
template <class F>
void for_each_coord(const Shape& shape, F&& f) {
  const int64_t n = shape_numel(shape);
  std::vector<int64_t> coord(shape.size(), 0);
  for (int64_t linear = 0; linear < n; ++linear) {
    f(linear, coord);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++coord[d] < shape[d]) break;
      coord[d] = 0;
    }
  }
}

int64_t offset_of(const std::vector<int64_t>& coord, const std::vector<int64_t>& strides) {
  int64_t off = 0;
  for (size_t d = 0; d < coord.size(); ++d) off += coord[d] * strides[d];
  return off;
}

// An index read from an index tensor, negative values counted from the end; out of range fails.
int64_t checked_index(int64_t v, int64_t dim) {
  if (v < -dim || v >= dim) fail("index {} is out of range for a dim of {}", v, dim);
  return v < 0 ? v + dim : v;
}

// Every element of a 1-D or scalar int32/int64 tensor, or of any-rank one (index tensors).
std::vector<int64_t> all_ints(const Tensor& t) {
  std::vector<int64_t> out(static_cast<size_t>(t.numel()));
  if (t.dtype == DType::kInt64) {
    auto v = t.values<int64_t>();
    std::copy(v.begin(), v.end(), out.begin());
  } else if (t.dtype == DType::kInt32) {
    auto v = t.values<int32_t>();
    std::copy(v.begin(), v.end(), out.begin());
  } else {
    fail("indices must be int32 or int64, got {}", dtype_name(t.dtype));
  }
  return out;
}

// Copies element `from` of `src` to element `to` of `dst` (same dtype), any width.
void copy_element(const Tensor& src, int64_t from, Tensor& dst, int64_t to) {
  const size_t w = dtype_size(src.dtype);
  std::memcpy(dst.bytes.data() + static_cast<size_t>(to) * w,
              src.bytes.data() + static_cast<size_t>(from) * w, w);
}

// ---- Gather family ----

std::vector<Tensor> gather(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const int64_t rank = static_cast<int64_t>(x.rank());
  if (rank < 1) fail("Gather data must have rank >= 1");
  const int64_t axis = normalize_axis(ctx.int_attr("axis", 0), rank);
  const std::vector<int64_t> idx = all_ints(indices);
  Shape shape(x.shape.begin(), x.shape.begin() + axis);
  shape.insert(shape.end(), indices.shape.begin(), indices.shape.end());
  shape.insert(shape.end(), x.shape.begin() + axis + 1, x.shape.end());
  Tensor y = make_tensor(x.dtype, shape);
  const int64_t outer = shape_numel(Shape(x.shape.begin(), x.shape.begin() + axis));
  const int64_t inner = shape_numel(Shape(x.shape.begin() + axis + 1, x.shape.end()));
  const int64_t dim = x.shape[axis];
  const size_t w = dtype_size(x.dtype);
  const auto n = static_cast<int64_t>(idx.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t src = checked_index(idx[i], dim);
      std::memcpy(y.bytes.data() + static_cast<size_t>((o * n + i) * inner) * w,
                  x.bytes.data() + static_cast<size_t>((o * dim + src) * inner) * w,
                  static_cast<size_t>(inner) * w);
    }
  }
  if (outer == 0 || inner == 0) {
    for (int64_t v : idx) checked_index(v, dim);
  }
  return {std::move(y)};
}

std::vector<Tensor> gather_elements(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const int64_t rank = static_cast<int64_t>(x.rank());
  if (indices.rank() != x.rank()) fail("indices must have the data's rank");
  const int64_t axis = normalize_axis(ctx.int_attr("axis", 0), rank);
  const std::vector<int64_t> idx = all_ints(indices);
  const std::vector<int64_t> strides = strides_of(x.shape);
  Tensor y = make_tensor(x.dtype, indices.shape);
  for_each_coord(indices.shape, [&](int64_t i, const std::vector<int64_t>& coord) {
    std::vector<int64_t> src = coord;
    for (int64_t d = 0; d < rank; ++d) {
      if (d != axis && src[d] >= x.shape[d]) fail("indices exceed the data along axis {}", d);
    }
    src[axis] = checked_index(idx[i], x.shape[axis]);
    copy_element(x, offset_of(src, strides), y, i);
  });
  return {std::move(y)};
}

// GatherND-11 has no batch_dims; GatherND-12 adds it (default 0), so one kernel serves both.
std::vector<Tensor> gather_nd(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const int64_t r = static_cast<int64_t>(x.rank()), q = static_cast<int64_t>(indices.rank());
  const int64_t b = ctx.int_attr("batch_dims", 0);
  if (r < 1 || q < 1 || b < 0 || b >= std::min(r, q)) fail("batch_dims {} is invalid", b);
  const int64_t k = indices.shape.back();
  if (k < 1 || k > r - b) fail("index tuples of length {} do not fit rank {}", k, r);
  for (int64_t d = 0; d < b; ++d) {
    if (x.shape[d] != indices.shape[d]) fail("batch dim {} differs", d);
  }
  const std::vector<int64_t> idx = all_ints(indices);
  Shape shape(indices.shape.begin(), indices.shape.end() - 1);
  shape.insert(shape.end(), x.shape.begin() + b + k, x.shape.end());
  Tensor y = make_tensor(x.dtype, shape);
  const int64_t batches = shape_numel(Shape(x.shape.begin(), x.shape.begin() + b));
  const int64_t tuples = shape_numel(Shape(indices.shape.begin() + b, indices.shape.end() - 1));
  const int64_t slice = shape_numel(Shape(x.shape.begin() + b + k, x.shape.end()));
  const int64_t batch_stride = shape_numel(Shape(x.shape.begin() + b, x.shape.end()));
  const std::vector<int64_t> strides = strides_of(Shape(x.shape.begin() + b, x.shape.end()));
  const size_t w = dtype_size(x.dtype);
  for (int64_t bi = 0; bi < batches; ++bi) {
    for (int64_t t = 0; t < tuples; ++t) {
      const int64_t at = (bi * tuples + t) * k;
      int64_t src = bi * batch_stride;
      for (int64_t j = 0; j < k; ++j) src += checked_index(idx[at + j], x.shape[b + j]) * strides[j];
      std::memcpy(y.bytes.data() + static_cast<size_t>((bi * tuples + t) * slice) * w,
                  x.bytes.data() + static_cast<size_t>(src) * w, static_cast<size_t>(slice) * w);
    }
  }
  return {std::move(y)};
}

// ---- Scatter family ----

enum class Reduction { kNone, kAdd, kMul };

Reduction reduction_of(const NodeContext& ctx) {
  const std::string r = ctx.string_attr("reduction", "none");
  if (r == "none") return Reduction::kNone;
  if (r == "add") return Reduction::kAdd;
  if (r == "mul") return Reduction::kMul;
  fail("reduction '{}' is not supported", r);
}

// y[to] = reduce(y[to], u[from]); integers wrap.
void apply_update(Tensor& y, int64_t to, const Tensor& u, int64_t from, Reduction red) {
  if (red == Reduction::kNone) {
    copy_element(u, from, y, to);
    return;
  }
  dispatch_numeric(y.dtype, [&]<class T>(TypeTag<T>) {
    T& dst = y.values<T>()[to];
    const T src = u.values<T>()[from];
    if constexpr (std::is_floating_point_v<T>) {
      dst = red == Reduction::kAdd ? dst + src : dst * src;
    } else {
      const uint64_t a = to_wrapping(dst), c = to_wrapping(src);
      dst = from_wrapping<T>(red == Reduction::kAdd ? a + c : a * c);
    }
  });
}

Tensor scatter_elements_of(const NodeContext& ctx, Reduction red) {
  const Tensor& x = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  const int64_t rank = static_cast<int64_t>(x.rank());
  if (indices.rank() != x.rank() || updates.shape != indices.shape)
    fail("indices and updates must share a shape of the data's rank");
  if (updates.dtype != x.dtype) fail("updates differ in element type");
  const int64_t axis = normalize_axis(ctx.int_attr("axis", 0), rank);
  const std::vector<int64_t> idx = all_ints(indices);
  const std::vector<int64_t> strides = strides_of(x.shape);
  Tensor y = x;
  for_each_coord(indices.shape, [&](int64_t i, const std::vector<int64_t>& coord) {
    std::vector<int64_t> dst = coord;
    for (int64_t d = 0; d < rank; ++d) {
      if (d != axis && dst[d] >= x.shape[d]) fail("indices exceed the data along axis {}", d);
    }
    dst[axis] = checked_index(idx[i], x.shape[axis]);
    apply_update(y, offset_of(dst, strides), updates, i, red);
  });
  return y;
}

// Scatter-9/11 and ScatterElements-11/13: replacement only.
std::vector<Tensor> scatter_elements_11(const NodeContext& ctx) {
  return {scatter_elements_of(ctx, Reduction::kNone)};
}

// ScatterElements-16 adds the reduction attribute.
std::vector<Tensor> scatter_elements_16(const NodeContext& ctx) {
  return {scatter_elements_of(ctx, reduction_of(ctx))};
}

Tensor scatter_nd_of(const NodeContext& ctx, Reduction red) {
  const Tensor& x = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  if (indices.rank() < 1) fail("indices must have rank >= 1");
  const int64_t k = indices.shape.back();
  if (k < 1 || k > static_cast<int64_t>(x.rank())) fail("index tuples of length {} are invalid", k);
  Shape expected(indices.shape.begin(), indices.shape.end() - 1);
  expected.insert(expected.end(), x.shape.begin() + k, x.shape.end());
  if (updates.shape != expected)
    fail("updates shape {} should be {}", shape_string(updates.shape), shape_string(expected));
  if (updates.dtype != x.dtype) fail("updates differ in element type");
  const std::vector<int64_t> idx = all_ints(indices);
  const int64_t tuples = shape_numel(Shape(indices.shape.begin(), indices.shape.end() - 1));
  const int64_t slice = shape_numel(Shape(x.shape.begin() + k, x.shape.end()));
  const std::vector<int64_t> strides = strides_of(x.shape);
  Tensor y = x;
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t dst = 0;
    for (int64_t j = 0; j < k; ++j) dst += checked_index(idx[t * k + j], x.shape[j]) * strides[j];
    for (int64_t e = 0; e < slice; ++e) apply_update(y, dst + e, updates, t * slice + e, red);
  }
  return y;
}

std::vector<Tensor> scatter_nd_11(const NodeContext& ctx) {
  return {scatter_nd_of(ctx, Reduction::kNone)};
}

// ScatterND-16 adds the reduction attribute.
std::vector<Tensor> scatter_nd_16(const NodeContext& ctx) {
  return {scatter_nd_of(ctx, reduction_of(ctx))};
}

// ---- Pad ----

// Source index along an axis of `dim` for a position `j` before/after it, per mode; -1 means
// "the constant".
int64_t pad_source(int64_t j, int64_t dim, const std::string& mode) {
  if (j >= 0 && j < dim) return j;
  if (mode == "constant") return -1;
  if (dim == 0) fail("mode '{}' cannot pad an empty axis", mode);
  if (mode == "edge") return std::clamp<int64_t>(j, 0, dim - 1);
  if (mode == "reflect") {
    if (dim == 1) return 0;
    const int64_t period = 2 * (dim - 1);
    int64_t m = ((j % period) + period) % period;
    return m < dim ? m : period - m;
  }
  fail("mode '{}' is not supported", mode);
}

Tensor pad_of(const Tensor& x, const std::vector<int64_t>& pads, const Tensor& constant,
              const std::string& mode) {
  const size_t rank = x.rank();
  if (pads.size() != 2 * rank) fail("pads has {} values for rank {}", pads.size(), rank);
  Shape shape = x.shape;
  for (size_t d = 0; d < rank; ++d) {
    shape[d] += pads[d] + pads[d + rank];
    if (shape[d] < 0) fail("pads crop axis {} below zero", d);
    if (mode == "reflect" && (pads[d] >= x.shape[d] || pads[d + rank] >= x.shape[d]) &&
        x.shape[d] > 1)
      fail("reflect pads must be smaller than the axis");
  }
  Tensor y = make_tensor(x.dtype, shape);
  const std::vector<int64_t> strides = strides_of(x.shape);
  for_each_coord(shape, [&](int64_t i, const std::vector<int64_t>& coord) {
    int64_t src = 0;
    for (size_t d = 0; d < rank; ++d) {
      const int64_t s = pad_source(coord[d] - pads[d], x.shape[d], mode);
      if (s < 0) {
        copy_element(constant, 0, y, i);
        return;
      }
      src += s * strides[d];
    }
    copy_element(x, src, y, i);
  });
  return y;
}

// Pad-2: pads and the float value are attributes.
std::vector<Tensor> pad_2(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor constant = Tensor::zeros(x.dtype, {1});
  constant.set_double(0, ctx.float_attr("value", 0));
  return {pad_of(x, ctx.ints_attr("pads"), constant, ctx.string_attr("mode", "constant"))};
}

// Pad-11 (and 13): pads and the optional constant_value are inputs.
std::vector<Tensor> pad_11(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor constant = Tensor::zeros(x.dtype, {1});
  if (const Tensor* c = ctx.optional_input(2); c != nullptr && c->numel() > 0) {
    if (c->dtype != x.dtype) fail("constant_value differs in element type");
    copy_element(*c, 0, constant, 0);
  }
  return {pad_of(x, read_ints(ctx.input(1), "pads"), constant,
                 ctx.string_attr("mode", "constant"))};
}

// ---- Expand, Tile ----

std::vector<Tensor> expand(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::vector<int64_t> target = read_ints(ctx.input(1), "shape");
  const Shape t(target.begin(), target.end());
  const std::array<const Shape*, 2> shapes{&x.shape, &t};
  const Shape shape = broadcast_shape(shapes);
  Tensor y = make_tensor(x.dtype, shape);
  const std::array<std::vector<int64_t>, 1> strides{broadcast_strides(x.shape, shape)};
  for_each_index(shape, strides, [&](int64_t i, const std::array<int64_t, 1>& at) {
    copy_element(x, at[0], y, i);
  });
  return {std::move(y)};
}

std::vector<Tensor> tile(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::vector<int64_t> repeats = read_ints(ctx.input(1), "repeats");
  if (repeats.size() != x.rank()) fail("repeats has {} values for rank {}", repeats.size(), x.rank());
  Shape shape = x.shape;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (repeats[d] < 0) fail("repeats must not be negative");
    shape[d] *= repeats[d];
  }
  Tensor y = make_tensor(x.dtype, shape);
  const std::vector<int64_t> strides = strides_of(x.shape);
  for_each_coord(shape, [&](int64_t i, const std::vector<int64_t>& coord) {
    int64_t src = 0;
    for (size_t d = 0; d < coord.size(); ++d) src += (coord[d] % x.shape[d]) * strides[d];
    copy_element(x, src, y, i);
  });
  return {std::move(y)};
}

// ---- Range, Shape, Size, ConstantOfShape ----

// output[i] = start + i * delta for i < max(ceil((limit - start) / delta), 0).
std::vector<Tensor> range(const NodeContext& ctx) {
  const Tensor& start = ctx.input(0);
  const Tensor& limit = ctx.input(1);
  const Tensor& delta = ctx.input(2);
  if (start.numel() != 1 || limit.numel() != 1 || delta.numel() != 1)
    fail("start, limit and delta must be scalars");
  return dispatch_numeric(start.dtype, [&]<class T>(TypeTag<T>) -> std::vector<Tensor> {
    if constexpr (!std::is_same_v<T, float> && !std::is_same_v<T, double> &&
                  !std::is_same_v<T, int16_t> && !std::is_same_v<T, int32_t> &&
                  !std::is_same_v<T, int64_t>) {
      fail("Range does not take {}", dtype_name(start.dtype));
    } else {
      const T s = start.values<T>()[0], l = limit.values<T>()[0], d = delta.values<T>()[0];
      if (d == 0) fail("delta must not be 0");
      int64_t n = 0;
      if constexpr (std::is_floating_point_v<T>) {
        n = static_cast<int64_t>(std::max<double>(0, std::ceil((static_cast<double>(l) - s) / d)));
      } else {
        const __int128 diff = static_cast<__int128>(l) - s;
        if ((diff > 0 && d > 0) || (diff < 0 && d < 0)) {
          const __int128 q = diff / d;
          n = static_cast<int64_t>(q * d == diff ? q : q + 1);
        }
      }
      Tensor y = make_tensor(start.dtype, {n});
      auto out = y.values<T>();
      for (int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_floating_point_v<T>) {
          out[i] = static_cast<T>(s + static_cast<T>(i) * d);
        } else {
          out[i] = from_wrapping<T>(to_wrapping(s) + static_cast<uint64_t>(i) * to_wrapping(d));
        }
      }
      return {std::move(y)};
    }
  });
}

Tensor shape_slice(const Tensor& x, int64_t start, int64_t end) {
  const int64_t rank = static_cast<int64_t>(x.rank());
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  const std::vector<int64_t> dims(x.shape.begin() + start, x.shape.begin() + std::max(start, end));
  return Tensor::of_int64s({static_cast<int64_t>(dims.size())}, dims);
}

std::vector<Tensor> shape_1(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  return {shape_slice(x, 0, static_cast<int64_t>(x.rank()))};
}

// Shape-15 adds start and end.
std::vector<Tensor> shape_15(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  return {shape_slice(x, ctx.int_attr("start", 0),
                      ctx.int_attr("end", static_cast<int64_t>(x.rank())))};
}

std::vector<Tensor> size(const NodeContext& ctx) {
  return {Tensor::of_int64s({}, std::array{ctx.input(0).numel()})};
}

std::vector<Tensor> constant_of_shape(const NodeContext& ctx) {
  const std::vector<int64_t> dims = read_ints(ctx.input(0), "input");
  Tensor value = Tensor::zeros(DType::kFloat, {1});
  if (const auto* a = ctx.attribute("value")) {
    auto t = tensor_from_proto(a->t());
    if (!t) fail("value: {}", t.error());
    if (t->numel() != 1) fail("value must hold one element");
    value = std::move(*t);
  }
  Tensor y = make_tensor(value.dtype, Shape(dims.begin(), dims.end()));
  for (int64_t i = 0; i < y.numel(); ++i) copy_element(value, 0, y, i);
  return {std::move(y)};
}

// ---- Flatten, Split ----

// Flatten-1 took axis in [0, r]; later versions add negative axes, which this kernel reads too.
std::vector<Tensor> flatten(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.rank());
  int64_t axis = ctx.int_attr("axis", 1);
  if (axis < -rank || axis > rank) fail("axis {} is out of range for rank {}", axis, rank);
  if (axis < 0) axis += rank;
  Tensor y = x;
  y.shape = {shape_numel(Shape(x.shape.begin(), x.shape.begin() + axis)),
             shape_numel(Shape(x.shape.begin() + axis, x.shape.end()))};
  return {std::move(y)};
}

std::vector<Tensor> split_of(const NodeContext& ctx, std::vector<int64_t> parts) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.rank());
  const int64_t axis = normalize_axis(ctx.int_attr("axis", 0), rank);
  const int64_t dim = x.shape[axis];
  const auto outputs = static_cast<int64_t>(ctx.node().output_size());
  if (parts.empty()) {
    if (outputs < 1 || dim % outputs != 0)
      fail("an axis of {} does not split into {} equal parts", dim, outputs);
    parts.assign(static_cast<size_t>(outputs), dim / outputs);
  }
  if (static_cast<int64_t>(parts.size()) != outputs)
    fail("{} parts for {} outputs", parts.size(), outputs);
  int64_t total = 0;
  for (int64_t p : parts) {
    if (p < 0) fail("split sizes must not be negative");
    total += p;
  }
  if (total != dim) fail("split sizes sum to {}, the axis holds {}", total, dim);
  const int64_t outer = shape_numel(Shape(x.shape.begin(), x.shape.begin() + axis));
  const int64_t inner = shape_numel(Shape(x.shape.begin() + axis + 1, x.shape.end()));
  const size_t w = dtype_size(x.dtype);
  std::vector<Tensor> out;
  int64_t begin = 0;
  for (int64_t p : parts) {
    Shape shape = x.shape;
    shape[axis] = p;
    Tensor y = make_tensor(x.dtype, shape);
    for (int64_t o = 0; o < outer; ++o) {
      std::memcpy(y.bytes.data() + static_cast<size_t>(o * p * inner) * w,
                  x.bytes.data() + static_cast<size_t>((o * dim + begin) * inner) * w,
                  static_cast<size_t>(p * inner) * w);
    }
    begin += p;
    out.push_back(std::move(y));
  }
  return out;
}

// Split-2 and Split-11: the sizes are an attribute.
std::vector<Tensor> split_2(const NodeContext& ctx) { return split_of(ctx, ctx.ints_attr("split")); }

// Split-13: the sizes are an optional input.
std::vector<Tensor> split_13(const NodeContext& ctx) {
  const Tensor* s = ctx.optional_input(1);
  return split_of(ctx, s != nullptr ? read_ints(*s, "split") : std::vector<int64_t>{});
}

// ---- DepthToSpace, SpaceToDepth ----

// DepthToSpace-1 only knew DCR; the mode attribute (from 11) defaults to it, so one kernel.
std::vector<Tensor> depth_to_space(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t b = ctx.int_attr("blocksize", 0);
  const std::string mode = ctx.string_attr("mode", "DCR");
  if (x.rank() != 4 || b < 1 || x.shape[1] % (b * b) != 0)
    fail("input {} does not split into blocks of {}", shape_string(x.shape), b);
  if (mode != "DCR" && mode != "CRD") fail("mode '{}' is not supported", mode);
  const int64_t c_out = x.shape[1] / (b * b);
  const Shape shape = {x.shape[0], c_out, x.shape[2] * b, x.shape[3] * b};
  Tensor y = make_tensor(x.dtype, shape);
  const std::vector<int64_t> strides = strides_of(x.shape);
  for_each_coord(shape, [&](int64_t i, const std::vector<int64_t>& c) {
    const int64_t bi = c[2] % b, bj = c[3] % b;
    const int64_t channel = mode == "DCR" ? (bi * b + bj) * c_out + c[1] : c[1] * b * b + bi * b + bj;
    copy_element(x, offset_of({c[0], channel, c[2] / b, c[3] / b}, strides), y, i);
  });
  return {std::move(y)};
}

std::vector<Tensor> space_to_depth(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t b = ctx.int_attr("blocksize", 0);
  if (x.rank() != 4 || b < 1 || x.shape[2] % b != 0 || x.shape[3] % b != 0)
    fail("input {} does not split into blocks of {}", shape_string(x.shape), b);
  const int64_t c_in = x.shape[1];
  const Shape shape = {x.shape[0], c_in * b * b, x.shape[2] / b, x.shape[3] / b};
  Tensor y = make_tensor(x.dtype, shape);
  const std::vector<int64_t> strides = strides_of(x.shape);
  for_each_coord(shape, [&](int64_t i, const std::vector<int64_t>& c) {
    const int64_t block = c[1] / c_in, channel = c[1] % c_in;
    const int64_t bi = block / b, bj = block % b;
    copy_element(x, offset_of({c[0], channel, c[2] * b + bi, c[3] * b + bj}, strides), y, i);
  });
  return {std::move(y)};
}

// ---- Trilu ----

std::vector<Tensor> trilu(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) fail("Trilu needs rank >= 2");
  int64_t k = 0;
  if (const Tensor* t = ctx.optional_input(1)) {
    const std::vector<int64_t> v = all_ints(*t);
    if (v.size() != 1) fail("k must hold one value");
    k = v[0];
  }
  const bool upper = ctx.int_attr("upper", 1) != 0;
  const int64_t rows = x.shape[x.rank() - 2], cols = x.shape.back();
  Tensor y = make_tensor(x.dtype, x.shape);  // zeros: all-zero bytes in every dtype
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t col = i % cols, row = (i / cols) % rows;
    // Saturating difference: a fuzzed k may be INT64_MIN/MAX.
    const long double diag = static_cast<long double>(col) - row;
    if (upper ? diag >= k : diag <= k) copy_element(x, i, y, i);
  }
  return {std::move(y)};
}

// ---- Resize ----

struct Tap {
  int64_t index;
  double weight;
};

double cubic_weight(double s, double a) {
  s = std::abs(s);
  if (s <= 1) return ((a + 2) * s - (a + 3)) * s * s + 1;
  if (s < 2) return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a;
  return 0;
}

struct ResizeAxis {
  std::vector<std::vector<Tap>> taps;  // per output coordinate
  std::vector<bool> outside;           // tf_crop_and_resize: sample beyond the input
};

int64_t round_nearest(double x, const std::string& mode) {
  const double f = std::floor(x), frac = x - f;
  if (mode == "round_prefer_floor") return static_cast<int64_t>(frac > 0.5 ? f + 1 : f);
  if (mode == "round_prefer_ceil") return static_cast<int64_t>(frac >= 0.5 ? f + 1 : f);
  if (mode == "floor") return static_cast<int64_t>(f);
  if (mode == "ceil") return static_cast<int64_t>(std::ceil(x));
  fail("nearest_mode '{}' is not supported", mode);
}

// `length` is the resized length the coordinate formulas use: the output length, or with scales
// the unrounded in * scale (as the ONNX reference and backend tests have it).
ResizeAxis resize_axis(const NodeContext& ctx, int64_t in, int64_t out, double length,
                       double scale, double roi_start, double roi_end) {
  const std::string coord = ctx.string_attr("coordinate_transformation_mode", "half_pixel");
  const std::string mode = ctx.string_attr("mode", "nearest");
  const std::string nearest = ctx.string_attr("nearest_mode", "round_prefer_floor");
  const double a = ctx.float_attr("cubic_coeff_a", -0.75f);
  const bool exclude = ctx.int_attr("exclude_outside", 0) != 0;
  ResizeAxis axis;
  for (int64_t o = 0; o < out; ++o) {
    const double xr = static_cast<double>(o);
    double x;
    if (coord == "half_pixel") {
      x = (xr + 0.5) / scale - 0.5;
    } else if (coord == "pytorch_half_pixel") {
      x = length > 1 ? (xr + 0.5) / scale - 0.5 : 0;
    } else if (coord == "align_corners") {
      x = length > 1 ? xr * static_cast<double>(in - 1) / (length - 1) : 0;
    } else if (coord == "asymmetric") {
      x = xr / scale;
    } else if (coord == "tf_half_pixel_for_nn") {
      x = (xr + 0.5) / scale;
    } else if (coord == "tf_crop_and_resize") {
      x = length > 1 ? roi_start * static_cast<double>(in - 1) +
                           xr * (roi_end - roi_start) * static_cast<double>(in - 1) / (length - 1)
                  : 0.5 * (roi_start + roi_end) * static_cast<double>(in - 1);
    } else {
      fail("coordinate_transformation_mode '{}' is not supported", coord);
    }
    axis.outside.push_back(coord == "tf_crop_and_resize" &&
                           (x < 0 || x > static_cast<double>(in - 1)));
    std::vector<Tap> taps;
    auto clamp = [&](int64_t i) { return std::clamp<int64_t>(i, 0, in - 1); };
    if (mode == "nearest") {
      taps.push_back({clamp(round_nearest(x, nearest)), 1});
    } else if (mode == "linear") {
      const double f = std::floor(x), t = x - f;
      const auto i0 = static_cast<int64_t>(f);
      taps = {{clamp(i0), 1 - t}, {clamp(i0 + 1), t}};
    } else if (mode == "cubic") {
      const double f = std::floor(x), t = x - f;
      const auto i0 = static_cast<int64_t>(f);
      double sum = 0;
      for (int64_t j = -1; j <= 2; ++j) {
        const double w = cubic_weight(t - static_cast<double>(j), a);
        const int64_t i = i0 + j;
        if (exclude && (i < 0 || i >= in)) continue;
        taps.push_back({clamp(i), w});
        sum += w;
      }
      if (exclude) {
        if (sum == 0) fail("no weight left inside the input");
        for (auto& tap : taps) tap.weight /= sum;
      }
    } else {
      fail("mode '{}' is not supported", mode);
    }
    std::erase_if(taps, [](const Tap& tap) { return tap.weight == 0; });
    axis.taps.push_back(std::move(taps));
  }
  return axis;
}

std::vector<double> float_values(const Tensor* t) {
  std::vector<double> v;
  if (t == nullptr) return v;
  for (int64_t i = 0; i < t->numel(); ++i) v.push_back(t->as_double(i));
  return v;
}

// Resize-11 and Resize-13 differ only in which inputs may be omitted and in the types they
// allow, so one kernel serves both: X, roi, scales, sizes (an empty tensor counts as absent).
std::vector<Tensor> resize(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const size_t rank = x.rank();
  const std::vector<double> roi = float_values(ctx.optional_input(1));
  const std::vector<double> scales_in = float_values(ctx.optional_input(2));
  const Tensor* sizes_t = ctx.optional_input(3);
  std::vector<int64_t> sizes;
  if (sizes_t != nullptr && sizes_t->numel() > 0) sizes = read_ints(*sizes_t, "sizes");
  if (!sizes.empty() == !scales_in.empty()) fail("exactly one of scales and sizes is required");
  Shape shape = x.shape;
  std::vector<double> scales(rank, 1);
  for (size_t d = 0; d < rank; ++d) {
    if (!sizes.empty()) {
      if (sizes.size() != rank) fail("sizes has {} values for rank {}", sizes.size(), rank);
      shape[d] = sizes[d];
      scales[d] = static_cast<double>(sizes[d]) / static_cast<double>(x.shape[d]);
    } else {
      if (scales_in.size() != rank) fail("scales has {} values for rank {}", scales_in.size(), rank);
      if (scales_in[d] <= 0) fail("scales must be positive");
      scales[d] = scales_in[d];
      shape[d] = static_cast<int64_t>(std::floor(static_cast<double>(x.shape[d]) * scales[d]));
    }
  }
  std::vector<ResizeAxis> axes;
  for (size_t d = 0; d < rank; ++d) {
    const double start = roi.size() == 2 * rank ? roi[d] : 0;
    const double end = roi.size() == 2 * rank ? roi[d + rank] : 1;
    const double length = sizes.empty() ? static_cast<double>(x.shape[d]) * scales[d]
                                        : static_cast<double>(shape[d]);
    axes.push_back(resize_axis(ctx, x.shape[d], shape[d], length, scales[d], start, end));
  }
  const std::string mode = ctx.string_attr("mode", "nearest");
  const std::vector<int64_t> strides = strides_of(x.shape);
  Tensor y = make_tensor(x.dtype, shape);
  if (mode == "nearest" && ctx.string_attr("coordinate_transformation_mode", "") !=
                               "tf_crop_and_resize") {
    for_each_coord(shape, [&](int64_t i, const std::vector<int64_t>& c) {
      int64_t src = 0;
      for (size_t d = 0; d < rank; ++d) src += axes[d].taps[c[d]].front().index * strides[d];
      copy_element(x, src, y, i);
    });
    return {std::move(y)};
  }
  const double extrapolation = ctx.float_attr("extrapolation_value", 0);
  dispatch_floating(x.dtype, [&]<class T>(TypeTag<T>) {
    auto in = x.values<T>();
    auto out = y.values<T>();
    std::vector<size_t> pick(rank);
    for_each_coord(shape, [&](int64_t i, const std::vector<int64_t>& c) {
      for (size_t d = 0; d < rank; ++d) {
        if (axes[d].outside[c[d]]) {
          out[i] = static_cast<T>(extrapolation);
          return;
        }
      }
      // Sum over every combination of the axes' taps.
      double acc = 0;
      std::fill(pick.begin(), pick.end(), 0);
      for (;;) {
        double w = 1;
        int64_t src = 0;
        for (size_t d = 0; d < rank; ++d) {
          const Tap& tap = axes[d].taps[c[d]][pick[d]];
          w *= tap.weight;
          src += tap.index * strides[d];
        }
        acc += w * static_cast<double>(in[src]);
        size_t d = rank;
        while (d-- > 0) {
          if (++pick[d] < axes[d].taps[c[d]].size()) break;
          pick[d] = 0;
        }
        if (d == static_cast<size_t>(-1)) break;
      }
      out[i] = static_cast<T>(acc);
    });
  });
  return {std::move(y)};
}

const KernelRegistrar kGather1{"Gather", 1, gather, kMovesElements};
const KernelRegistrar kGatherElements11{"GatherElements", 11, gather_elements, kMovesElements};
const KernelRegistrar kGatherND11{"GatherND", 11, gather_nd, kMovesElements};
const KernelRegistrar kScatter9{"Scatter", 9, scatter_elements_11, kMovesElements};
const KernelRegistrar kScatterElements11{"ScatterElements", 11, scatter_elements_11,
                                         kMovesElements};
const KernelRegistrar kScatterElements16{"ScatterElements", 16, scatter_elements_16};
const KernelRegistrar kScatterND11{"ScatterND", 11, scatter_nd_11, kMovesElements};
const KernelRegistrar kScatterND16{"ScatterND", 16, scatter_nd_16};
const KernelRegistrar kPad2{"Pad", 2, pad_2, kMovesElements};
const KernelRegistrar kPad11{"Pad", 11, pad_11, kMovesElements};
const KernelRegistrar kExpand8{"Expand", 8, expand, kMovesElements};
const KernelRegistrar kTile6{"Tile", 6, tile, kMovesElements};
const KernelRegistrar kRange11{"Range", 11, range};
const KernelRegistrar kShape1{"Shape", 1, shape_1, kMovesElements};
const KernelRegistrar kShape15{"Shape", 15, shape_15, kMovesElements};
const KernelRegistrar kSize1{"Size", 1, size, kMovesElements};
const KernelRegistrar kConstantOfShape9{"ConstantOfShape", 9, constant_of_shape, kMovesElements};
const KernelRegistrar kFlatten1{"Flatten", 1, flatten, kMovesElements};
const KernelRegistrar kSplit2{"Split", 2, split_2, kMovesElements};
const KernelRegistrar kSplit13{"Split", 13, split_13, kMovesElements};
const KernelRegistrar kDepthToSpace1{"DepthToSpace", 1, depth_to_space, kMovesElements};
const KernelRegistrar kSpaceToDepth1{"SpaceToDepth", 1, space_to_depth, kMovesElements};
const KernelRegistrar kTrilu14{"Trilu", 14, trilu, kMovesElements};
const KernelRegistrar kResize11{"Resize", 11, resize};

}  // namespace
}  // namespace onnxfuzz::ref
