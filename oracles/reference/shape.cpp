// Output allocation, axes, strides and broadcasting shared by the reference kernels.
#include "oracles/reference/shape.h"

#include <algorithm>
#include <string>

#include "oracles/reference/kernel.h"

namespace onnxfuzz::ref {

Tensor make_tensor(DType dtype, Shape shape) {
  // 1 GiB: far above anything the fuzzer generates, far below what would take the host down.
  constexpr long double kMaxBytes = 1LL << 30;
  long double bytes = static_cast<long double>(dtype_size(dtype));
  for (int64_t d : shape) {
    if (d < 0) fail("negative dimension in output shape {}", shape_string(shape));
    bytes *= static_cast<long double>(d);
  }
  if (bytes > kMaxBytes) fail("output shape {} is too large", shape_string(shape));
  return Tensor::zeros(dtype, std::move(shape));
}

int64_t normalize_axis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) fail("axis {} is out of range for rank {}", axis, rank);
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> read_ints(const Tensor& t, std::string_view what) {
  if (t.rank() > 1) fail("{} must be 1-D, got shape {}", what, shape_string(t.shape));
  if (t.dtype == DType::kInt64) {
    auto v = t.values<int64_t>();
    return {v.begin(), v.end()};
  }
  if (t.dtype == DType::kInt32) {
    auto v = t.values<int32_t>();
    return {v.begin(), v.end()};
  }
  fail("{} must be int32 or int64, got {}", what, dtype_name(t.dtype));
}

std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

Shape broadcast_shape(std::span<const Shape* const> shapes) {
  size_t rank = 0;
  for (const Shape* s : shapes) rank = std::max(rank, s->size());
  Shape out(rank, 1);
  for (const Shape* s : shapes) {
    const size_t shift = rank - s->size();
    for (size_t d = 0; d < s->size(); ++d) {
      const int64_t dim = (*s)[d];
      int64_t& o = out[shift + d];
      if (dim == o || dim == 1) continue;
      if (o == 1) {
        o = dim;
        continue;
      }
      std::string all;
      for (const Shape* t : shapes) all += (all.empty() ? "" : " and ") + shape_string(*t);
      fail("shapes {} cannot be broadcast", all);
    }
  }
  return out;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  const std::vector<int64_t> own = strides_of(in);
  const size_t shift = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) {
    strides[shift + d] = in[d] == 1 ? 0 : own[d];
  }
  return strides;
}

}  // namespace onnxfuzz::ref
