// Reference interpreter internals: the kernel interface, dtype dispatch and broadcasting.
#pragma once

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "generators/tensor.h"

namespace onnxfuzz::ref {

// A kernel reports a bad model (shape mismatch, bad attribute, unsupported dtype) by throwing
// this. The interpreter catches it at the node boundary and turns it into RunStatus::kError
// naming the node, so nothing escapes run_reference; throwing keeps the many small shape
// helpers free of error plumbing.
class KernelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw KernelError(fmt::format(format, std::forward<Args>(args)...));
}

// What a kernel sees of its node: the resolved inputs, attributes and the model's opset.
class NodeContext {
 public:
  NodeContext(const onnx::NodeProto& node, int64_t opset, std::span<const Tensor* const> inputs)
      : node_(node), opset_(opset), inputs_(inputs) {}

  const onnx::NodeProto& node() const { return node_; }
  // Default-domain opset the model imports; kernels pick the op version's semantics from it.
  int64_t opset() const { return opset_; }

  // Input i; fails if it is omitted ("" or beyond the node's inputs).
  const Tensor& input(size_t i) const;
  // Input i or nullptr when it is omitted.
  const Tensor* optional_input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  // Whether output i is requested (present and named).
  bool wants_output(size_t i) const {
    return static_cast<int>(i) < node_.output_size() && !node_.output(static_cast<int>(i)).empty();
  }

  const onnx::AttributeProto* attribute(std::string_view name) const;
  int64_t int_attr(std::string_view name, int64_t fallback) const;
  float float_attr(std::string_view name, float fallback) const;
  std::string string_attr(std::string_view name, std::string_view fallback) const;
  // Empty when absent.
  std::vector<int64_t> ints_attr(std::string_view name) const;

 private:
  const onnx::NodeProto& node_;
  int64_t opset_;
  std::span<const Tensor* const> inputs_;
};

using Kernel = std::vector<Tensor> (*)(const NodeContext&);
struct KernelEntry {
  std::string_view op_type;
  Kernel run;
};

// Kernel tables, one per source file, in the order reference_ops() lists them.
std::span<const KernelEntry> elementwise_kernels();  // unary/binary math, Clip, Where
std::span<const KernelEntry> nn_kernels();      // MatMul, Gemm, Conv, pools, reductions, Softmax
std::span<const KernelEntry> layout_kernels();  // Reshape ... Unsqueeze, Constant, Identity

// ---- dtype dispatch -------------------------------------------------------------------------

template <class T>
struct TypeTag {
  using type = T;
};

// Calls f(TypeTag<T>{}) for a floating dtype.
template <class F>
decltype(auto) dispatch_floating(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat:
      return f(TypeTag<float>{});
    case DType::kDouble:
      return f(TypeTag<double>{});
    default:
      fail("element type {} is not supported here (float32/float64 only)", dtype_name(dtype));
  }
}

// Calls f(TypeTag<T>{}) for any arithmetic dtype (bool excluded).
template <class F>
decltype(auto) dispatch_numeric(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat:
      return f(TypeTag<float>{});
    case DType::kDouble:
      return f(TypeTag<double>{});
    case DType::kInt8:
      return f(TypeTag<int8_t>{});
    case DType::kUint8:
      return f(TypeTag<uint8_t>{});
    case DType::kInt32:
      return f(TypeTag<int32_t>{});
    case DType::kInt64:
      return f(TypeTag<int64_t>{});
    case DType::kInt16:
      return f(TypeTag<int16_t>{});
    case DType::kUint16:
      return f(TypeTag<uint16_t>{});
    case DType::kUint32:
      return f(TypeTag<uint32_t>{});
    case DType::kUint64:
      return f(TypeTag<uint64_t>{});
    default:
      fail("element type {} is not supported here", dtype_name(dtype));
  }
}

// Data movement only cares about element width: calls f(TypeTag<uintN_t>{}).
template <class F>
decltype(auto) dispatch_width(DType dtype, F&& f) {
  switch (dtype_size(dtype)) {
    case 1:
      return f(TypeTag<uint8_t>{});
    case 2:
      return f(TypeTag<uint16_t>{});
    case 4:
      return f(TypeTag<uint32_t>{});
    case 8:
      return f(TypeTag<uint64_t>{});
    default:
      fail("element type {} has an unsupported width", dtype_name(dtype));
  }
}

// Double -> T without undefined behaviour: floats round, integers truncate and saturate
// (NaN becomes 0), so a wild value in a fuzzed model cannot crash the reference.
template <class T>
T from_double(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    if (std::isnan(v)) return T{0};
    constexpr double lo = static_cast<double>(std::numeric_limits<T>::lowest());
    constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
    if (v <= lo) return std::numeric_limits<T>::lowest();
    if (v >= hi) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

// ---- shapes and broadcasting ----------------------------------------------------------------

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
