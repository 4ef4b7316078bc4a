// Reference interpreter internals: output allocation, axes, strides and broadcasting.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "generators/tensor.h"

namespace onnxfuzz::ref {

// Allocates an output, refusing sizes no test model needs (a fuzzed Reshape or Conv must not
// exhaust memory).
Tensor make_tensor(DType dtype, Shape shape);

int64_t normalize_axis(int64_t axis, int64_t rank);
// Reads a 1-D (or scalar) int32/int64 tensor as int64 values.
std::vector<int64_t> read_ints(const Tensor& t, std::string_view what);
// Row-major element strides.
std::vector<int64_t> strides_of(const Shape& shape);

// Multidirectional (numpy) broadcasting of two or three shapes; fails if incompatible.
Shape broadcast_shape(std::span<const Shape* const> shapes);
// Element strides of `in` viewed as `out` (right-aligned, 0 along broadcast dims).
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Visits every index of `shape` in row-major order as f(linear, offsets), where offsets[k] is
// the dot product of the index with strides[k]. The innermost dimension is a tight loop and
// nothing is allocated per element.
template <size_t N, class F>
void for_each_index(const Shape& shape, const std::array<std::vector<int64_t>, N>& strides, F&& f) {
  const size_t rank = shape.size();
  if (shape_numel(shape) == 0) return;
  std::array<int64_t, N> offset{};
  if (rank == 0) {
    f(int64_t{0}, offset);
    return;
  }
  const int64_t inner = shape[rank - 1];
  std::array<int64_t, N> inner_stride;
  for (size_t k = 0; k < N; ++k) inner_stride[k] = strides[k][rank - 1];
  std::vector<int64_t> counter(rank, 0);
  int64_t linear = 0;
  for (;;) {
    std::array<int64_t, N> at = offset;
    for (int64_t i = 0; i < inner; ++i) {
      f(linear++, at);
      for (size_t k = 0; k < N; ++k) at[k] += inner_stride[k];
    }
    int64_t d = static_cast<int64_t>(rank) - 2;
    for (; d >= 0; --d) {
      ++counter[d];
      for (size_t k = 0; k < N; ++k) offset[k] += strides[k][d];
      if (counter[d] < shape[d]) break;
      for (size_t k = 0; k < N; ++k) offset[k] -= strides[k][d] * shape[d];
      counter[d] = 0;
    }
    if (d < 0) return;
  }
}

}  // namespace onnxfuzz::ref
