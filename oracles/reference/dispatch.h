// Reference interpreter internals: dispatch from a runtime dtype to a C++ element type.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "generators/dtype.h"
#include "oracles/reference/kernel.h"

namespace onnxfuzz::ref {

template <class T>
struct TypeTag {
  using type = T;
};

// Calls f(TypeTag<T>{}) for float32/float64. Half types never get here: the interpreter widens
// them to float32 unless a kernel opts out (KernelOptions::handles_half).
template <class F>
decltype(auto) dispatch_floating(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat:
      return f(TypeTag<float>{});
    case DType::kDouble:
      return f(TypeTag<double>{});
    default:
      fail("element type {} is not supported by this op (floating point only)", dtype_name(dtype));
  }
}

// Calls f(TypeTag<T>{}) for float32/float64 and every integer dtype (bool excluded).
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
    case DType::kInt16:
      return f(TypeTag<int16_t>{});
    case DType::kUint16:
      return f(TypeTag<uint16_t>{});
    case DType::kInt32:
      return f(TypeTag<int32_t>{});
    case DType::kUint32:
      return f(TypeTag<uint32_t>{});
    case DType::kInt64:
      return f(TypeTag<int64_t>{});
    case DType::kUint64:
      return f(TypeTag<uint64_t>{});
    default:
      fail("element type {} is not supported by this op", dtype_name(dtype));
  }
}

// Data movement only cares about element width: calls f(TypeTag<uintN_t>{}). Covers every
// dtype, bool and the half types included, bit for bit.
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

// Integer arithmetic wraps (two's complement) instead of being undefined on overflow: compute
// in uint64_t, then keep the low bits.
template <class T>
uint64_t to_wrapping(T v) {
  if constexpr (std::is_signed_v<T>) {
    return static_cast<uint64_t>(static_cast<int64_t>(v));
  } else {
    return static_cast<uint64_t>(v);
  }
}
template <class T>
T from_wrapping(uint64_t v) {
  return static_cast<T>(v);
}

}  // namespace onnxfuzz::ref
