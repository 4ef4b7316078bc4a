// Tensor helpers and the TensorProto conversion used by every stage.
#include "generators/tensor.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <fstream>
#include <sstream>

namespace onnxfuzz {

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
  // Each case's storage type is its dtype's size: no table lookup per element.
  auto load = [this, i]<class T>(T) {
    T v;
    std::memcpy(&v, bytes.data() + static_cast<size_t>(i) * sizeof(T), sizeof(T));
    return v;
  };
  switch (dtype) {
    case DType::kFloat:
      return load(float{});
    case DType::kDouble:
      return load(double{});
    case DType::kFloat16:
      return half_to_float(load(uint16_t{}));
    case DType::kBfloat16:
      return bfloat16_to_float(load(uint16_t{}));
    case DType::kUint8:
      return load(uint8_t{});
    case DType::kInt8:
      return load(int8_t{});
    case DType::kUint16:
      return load(uint16_t{});
    case DType::kInt16:
      return load(int16_t{});
    case DType::kInt32:
      return load(int32_t{});
    case DType::kUint32:
      return load(uint32_t{});
    case DType::kInt64:
      return static_cast<double>(load(int64_t{}));
    case DType::kUint64:
      return static_cast<double>(load(uint64_t{}));
    case DType::kBool:
      return load(uint8_t{}) != 0 ? 1.0 : 0.0;
  }
  return 0;
}

void Tensor::set_double(int64_t i, double v) {
  auto store = [this, i]<class T>(T x) {
    std::memcpy(bytes.data() + static_cast<size_t>(i) * sizeof(T), &x, sizeof(T));
  };
  const double r = round_to_dtype(v, dtype);
  switch (dtype) {
    case DType::kFloat:
      return store(static_cast<float>(r));
    case DType::kDouble:
      return store(r);
    case DType::kFloat16:
      return store(float_to_half(static_cast<float>(r)));
    case DType::kBfloat16:
      return store(float_to_bfloat16(static_cast<float>(r)));
    case DType::kUint8:
      return store(static_cast<uint8_t>(r));
    case DType::kInt8:
      return store(static_cast<int8_t>(r));
    case DType::kUint16:
      return store(static_cast<uint16_t>(r));
    case DType::kInt16:
      return store(static_cast<int16_t>(r));
    case DType::kInt32:
      return store(static_cast<int32_t>(r));
    case DType::kUint32:
      return store(static_cast<uint32_t>(r));
    case DType::kInt64:
      // 2^63 rounds up in double: saturate explicitly.
      return store(r >= 9223372036854775807.0 ? INT64_MAX : static_cast<int64_t>(r));
    case DType::kUint64:
      return store(r >= 18446744073709551615.0 ? UINT64_MAX : static_cast<uint64_t>(r));
    case DType::kBool:
      return store(static_cast<uint8_t>(r != 0));
  }
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
  // Which typed field holds each element type (onnx.proto's TensorProto comments).
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
    case DType::kUint32:
    case DType::kUint64:
      if (static_cast<size_t>(proto.uint64_data_size()) != expected_count)
        return count_error(proto.uint64_data_size());
      for (int i = 0; i < proto.uint64_data_size(); ++i) {
        if (dtype == DType::kUint32) {
          t.values<uint32_t>()[i] = static_cast<uint32_t>(proto.uint64_data(i));
        } else {
          t.values<uint64_t>()[i] = proto.uint64_data(i);
        }
      }
      break;
    default:
      // int32_data holds int32 and every narrower type (half types as their bit patterns).
      if (static_cast<size_t>(proto.int32_data_size()) != expected_count)
        return count_error(proto.int32_data_size());
      for (int i = 0; i < proto.int32_data_size(); ++i) {
        const int32_t v = proto.int32_data(i);
        std::memcpy(t.bytes.data() + static_cast<size_t>(i) * dtype_size(dtype), &v,
                    dtype_size(dtype));  // little-endian: the low bytes
      }
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
    } else if (tensor.dtype == DType::kUint64) {
      out += fmt::format("{}{}", sep, tensor.values<uint64_t>()[i]);
    } else {
      out += fmt::format("{}{:.6g}", sep, tensor.as_double(i));
    }
  }
  if (tensor.numel() > n) out += ", ...";
  return out + "]";
}

}  // namespace onnxfuzz
