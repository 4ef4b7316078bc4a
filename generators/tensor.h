// Tensor: the dense host value that flows between generator, executions, oracles and corpus.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <expected>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "generators/check.h"
#include "generators/dtype.h"

namespace onnx {
class TensorProto;
}

namespace onnxfuzz {

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& shape);
std::string shape_string(const Shape& shape);

struct Tensor {
  DType dtype = DType::kFloat;
  Shape shape;
  std::vector<std::byte> bytes;  // row-major, dtype_size(dtype) * numel() bytes

  static Tensor zeros(DType dtype, Shape shape);
  static Tensor of_floats(Shape shape, std::span<const float> values);
  static Tensor of_int64s(Shape shape, std::span<const int64_t> values);
  static Tensor of_bools(Shape shape, std::span<const bool> values);

  int64_t numel() const { return shape_numel(shape); }
  size_t rank() const { return shape.size(); }

  template <class T>
  std::span<T> values() {
    ONNXFUZZ_CHECK(sizeof(T) == dtype_size(dtype), "Tensor::values: element size mismatch");
    return {reinterpret_cast<T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
  template <class T>
  std::span<const T> values() const {
    ONNXFUZZ_CHECK(sizeof(T) == dtype_size(dtype), "Tensor::values: element size mismatch");
    return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
  // Element i converted to double, for any dtype (used by oracles and printing).
  double as_double(int64_t i) const;
  // Stores round_to_dtype(v) at element i, for any dtype.
  void set_double(int64_t i, double v);

  bool operator==(const Tensor&) const = default;
};

// Ordered by name so that iteration, and everything derived from it, is deterministic.
using TensorMap = std::map<std::string, Tensor>;

// Conversion to and from ONNX TensorProto. Reading accepts raw_data and the typed fields;
// writing always uses raw_data (what the backend test files and ORT's test runner use).
std::expected<Tensor, std::string> tensor_from_proto(const onnx::TensorProto& proto);
onnx::TensorProto tensor_to_proto(const Tensor& tensor, const std::string& name);

// Read/write a serialized TensorProto file (input_0.pb, output_0.pb ...). Reading returns
// the tensor and its stored name.
std::expected<std::pair<std::string, Tensor>, std::string> read_tensor_file(
    const std::string& path);

// Short human-readable rendering: dtype, shape and the first few values.
std::string tensor_summary(const Tensor& tensor, int max_values = 8);

}  // namespace onnxfuzz
