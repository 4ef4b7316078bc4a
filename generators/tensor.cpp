// Tensor helpers and the TensorProto conversion used by every stage.
#include "generators/tensor.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <fstream>
#include <sstream>

namespace onnxfuzz {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kFloat:
      return 4;
    case DType::kUint8:
      return 1;
    case DType::kInt8:
      return 1;
    case DType::kInt32:
      return 4;
    case DType::kInt64:
      return 8;
    case DType::kBool:
      return 1;
    case DType::kDouble:
      return 8;
  }
  ONNXFUZZ_CHECK(false, "dtype_size: unknown dtype");
  return 0;
}

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kFloat:
      return "float32";
    case DType::kUint8:
      return "uint8";
    case DType::kInt8:
      return "int8";
    case DType::kInt32:
      return "int32";
    case DType::kInt64:
      return "int64";
    case DType::kBool:
      return "bool";
    case DType::kDouble:
      return "float64";
  }
  return "unknown";
}

bool dtype_supported(int32_t t) {
  switch (static_cast<DType>(t)) {
    case DType::kFloat:
    case DType::kUint8:
    case DType::kInt8:
    case DType::kInt32:
    case DType::kInt64:
    case DType::kBool:
    case DType::kDouble:
      return true;
  }
  return false;
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ",")); }

Tensor Tensor::zeros(DType dtype, Shape shape) {
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.bytes.assign(static_cast<size_t>(t.numel()) * dtype_size(dtype), std::byte{0});
  return t;
}

Tensor Tensor::of_floats(Shape shape, std::span<const float> values) {
  Tensor t = zeros(DType::kFloat, std::move(shape));
  ONNXFUZZ_CHECK(values.size() == static_cast<size_t>(t.numel()), "of_floats: size mismatch");
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

Tensor Tensor::of_int64s(Shape shape, std::span<const int64_t> values) {
  Tensor t = zeros(DType::kInt64, std::move(shape));
  ONNXFUZZ_CHECK(values.size() == static_cast<size_t>(t.numel()), "of_int64s: size mismatch");
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

Tensor Tensor::of_bools(Shape shape, std::span<const bool> values) {
  Tensor t = zeros(DType::kBool, std::move(shape));
  ONNXFUZZ_CHECK(values.size() == static_cast<size_t>(t.numel()), "of_bools: size mismatch");
  for (size_t i = 0; i < values.size(); ++i)
    t.bytes[i] = std::byte{values[i] ? uint8_t{1} : uint8_t{0}};
  return t;
}

double Tensor::as_double(int64_t i) const {
  switch (dtype) {
    case DType::kFloat:
      return values<float>()[i];
    case DType::kUint8:
      return values<uint8_t>()[i];
    case DType::kInt8:
      return values<int8_t>()[i];
    case DType::kInt32:
      return values<int32_t>()[i];
    case DType::kInt64:
      return static_cast<double>(values<int64_t>()[i]);
    case DType::kBool:
      return values<uint8_t>()[i] != 0 ? 1.0 : 0.0;
    case DType::kDouble:
      return values<double>()[i];
  }
  return 0;
}

namespace {

template <class Field, class T>
void copy_typed(const Field& field, Tensor& t) {
  auto out = t.values<T>();
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<T>(field.Get(i));
}

}  // namespace

std::expected<Tensor, std::string> tensor_from_proto(const onnx::TensorProto& proto) {
  if (!dtype_supported(proto.data_type())) {
    return std::unexpected(
        fmt::format("tensor '{}': unsupported element type {}", proto.name(), proto.data_type()));
  }
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    return std::unexpected(
        fmt::format("tensor '{}': external data is not supported", proto.name()));
  }
  Shape shape(proto.dims().begin(), proto.dims().end());
  for (int64_t d : shape) {
    if (d < 0) return std::unexpected(fmt::format("tensor '{}': negative dim", proto.name()));
  }
  // Refuse absurd sizes before allocating (a corrupt file must not exhaust memory).
  const DType dtype = static_cast<DType>(proto.data_type());
  long double total = 1;
  for (int64_t d : shape) total *= static_cast<long double>(d);
  if (total * dtype_size(dtype) > (1LL << 32)) {
    return std::unexpected(fmt::format("tensor '{}': {} elements is too large", proto.name(),
                                       static_cast<double>(total)));
  }
  Tensor t = Tensor::zeros(dtype, std::move(shape));
  const size_t expected_count = static_cast<size_t>(t.numel());
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != t.bytes.size()) {
      return std::unexpected(fmt::format("tensor '{}': raw_data has {} bytes, shape needs {}",
                                         proto.name(), proto.raw_data().size(), t.bytes.size()));
    }
    std::memcpy(t.bytes.data(), proto.raw_data().data(), t.bytes.size());
    return t;
  }
  auto count_error = [&](size_t got) {
    return std::unexpected(fmt::format("tensor '{}': has {} values, shape needs {}", proto.name(),
                                       got, expected_count));
  };
  switch (dtype) {
    case DType::kFloat:
      if (static_cast<size_t>(proto.float_data_size()) != expected_count)
        return count_error(proto.float_data_size());
      copy_typed<decltype(proto.float_data()), float>(proto.float_data(), t);
      break;
    case DType::kDouble:
      if (static_cast<size_t>(proto.double_data_size()) != expected_count)
        return count_error(proto.double_data_size());
      copy_typed<decltype(proto.double_data()), double>(proto.double_data(), t);
      break;
    case DType::kInt64:
      if (static_cast<size_t>(proto.int64_data_size()) != expected_count)
        return count_error(proto.int64_data_size());
      copy_typed<decltype(proto.int64_data()), int64_t>(proto.int64_data(), t);
      break;
    case DType::kInt32:
      if (static_cast<size_t>(proto.int32_data_size()) != expected_count)
        return count_error(proto.int32_data_size());
      copy_typed<decltype(proto.int32_data()), int32_t>(proto.int32_data(), t);
      break;
    case DType::kUint8:
    case DType::kBool:
      if (static_cast<size_t>(proto.int32_data_size()) != expected_count)
        return count_error(proto.int32_data_size());
      copy_typed<decltype(proto.int32_data()), uint8_t>(proto.int32_data(), t);
      break;
    case DType::kInt8:
      if (static_cast<size_t>(proto.int32_data_size()) != expected_count)
        return count_error(proto.int32_data_size());
      copy_typed<decltype(proto.int32_data()), int8_t>(proto.int32_data(), t);
      break;
  }
  return t;
}

onnx::TensorProto tensor_to_proto(const Tensor& tensor, const std::string& name) {
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(static_cast<int32_t>(tensor.dtype));
  for (int64_t d : tensor.shape) proto.add_dims(d);
  proto.set_raw_data(
      std::string(reinterpret_cast<const char*>(tensor.bytes.data()), tensor.bytes.size()));
  return proto;
}

std::expected<std::pair<std::string, Tensor>, std::string> read_tensor_file(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(fmt::format("cannot open tensor file {}", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  onnx::TensorProto proto;
  if (!proto.ParseFromString(buffer.str())) {
    return std::unexpected(fmt::format("{}: not a valid TensorProto", path));
  }
  auto tensor = tensor_from_proto(proto);
  if (!tensor) return std::unexpected(fmt::format("{}: {}", path, tensor.error()));
  return std::pair{proto.name(), std::move(*tensor)};
}

std::string tensor_summary(const Tensor& tensor, int max_values) {
  std::string out = fmt::format("{}{} [", dtype_name(tensor.dtype), shape_string(tensor.shape));
  const int64_t n = std::min<int64_t>(tensor.numel(), max_values);
  for (int64_t i = 0; i < n; ++i) {
    const char* sep = i ? ", " : "";
    if (tensor.dtype == DType::kInt64) {
      out += fmt::format("{}{}", sep, tensor.values<int64_t>()[i]);  // exact: no double detour
    } else {
      out += fmt::format("{}{:.6g}", sep, tensor.as_double(i));
    }
  }
  if (tensor.numel() > n) out += ", ...";
  return out + "]";
}

}  // namespace onnxfuzz
