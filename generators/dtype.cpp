// The dtype table and the half-precision conversions.
#include "generators/dtype.h"

#include <array>
#include <bit>
#include <cmath>
#include <limits>

#include "generators/check.h"

namespace onnxfuzz {

namespace {

constexpr double kF16Max = 65504.0;
constexpr double kBf16Max = 3.3895313892515355e38;

// float32/float64 keep the tolerances the numeric oracle has always used. float16 (11-bit
// significand, one rounding per op) and bfloat16 (8-bit significand) get a tolerance a few
// roundings wide, since a chain of ops in a backend may round at other points than ref does.
constexpr DTypeInfo kTable[] = {
    {DType::kFloat, "float32", "tensor(float)", 4, DTypeClass::kFloat, 1e-3, 1e-2,
     -std::numeric_limits<float>::max(), std::numeric_limits<float>::max()},
    {DType::kUint8, "uint8", "tensor(uint8)", 1, DTypeClass::kUnsigned, 0, 0, 0, 255},
    {DType::kInt8, "int8", "tensor(int8)", 1, DTypeClass::kSigned, 0, 0, -128, 127},
    {DType::kUint16, "uint16", "tensor(uint16)", 2, DTypeClass::kUnsigned, 0, 0, 0, 65535},
    {DType::kInt16, "int16", "tensor(int16)", 2, DTypeClass::kSigned, 0, 0, -32768, 32767},
    {DType::kInt32, "int32", "tensor(int32)", 4, DTypeClass::kSigned, 0, 0, -2147483648.0,
     2147483647.0},
    {DType::kInt64, "int64", "tensor(int64)", 8, DTypeClass::kSigned, 0, 0, -9223372036854775808.0,
     9223372036854775807.0},
    {DType::kBool, "bool", "tensor(bool)", 1, DTypeClass::kBool, 0, 0, 0, 1},
    {DType::kFloat16, "float16", "tensor(float16)", 2, DTypeClass::kFloat, 1e-2, 2e-2, -kF16Max,
     kF16Max},
    {DType::kDouble, "float64", "tensor(double)", 8, DTypeClass::kFloat, 1e-7, 1e-6,
     -std::numeric_limits<double>::max(), std::numeric_limits<double>::max()},
    {DType::kUint32, "uint32", "tensor(uint32)", 4, DTypeClass::kUnsigned, 0, 0, 0, 4294967295.0},
    {DType::kUint64, "uint64", "tensor(uint64)", 8, DTypeClass::kUnsigned, 0, 0, 0,
     18446744073709551615.0},
    {DType::kBfloat16, "bfloat16", "tensor(bfloat16)", 2, DTypeClass::kFloat, 5e-2, 5e-2,
     -kBf16Max, kBf16Max},
};

}  // namespace

std::span<const DTypeInfo> all_dtypes() { return kTable; }

// Rows by ONNX element type code, for lookups per tensor element (Tensor::set_double).
constexpr int32_t kMaxElemType = 63;

const DTypeInfo* find_dtype(int32_t onnx_elem_type) {
  static const auto by_code = [] {
    std::array<const DTypeInfo*, kMaxElemType + 1> rows{};
    for (const auto& row : kTable) {
      const auto code = static_cast<int32_t>(row.dtype);
      ONNXFUZZ_CHECK(code >= 0 && code <= kMaxElemType, "dtype table: element type code too large");
      rows[static_cast<size_t>(code)] = &row;
    }
    return rows;
  }();
  if (onnx_elem_type < 0 || onnx_elem_type > kMaxElemType) return nullptr;
  return by_code[static_cast<size_t>(onnx_elem_type)];
}

const DTypeInfo& dtype_info(DType dtype) {
  const DTypeInfo* row = find_dtype(static_cast<int32_t>(dtype));
  ONNXFUZZ_CHECK(row != nullptr, "dtype_info: dtype outside the table");
  return *row;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& row : kTable) {
    const std::string_view inner = row.onnx_type.substr(7, row.onnx_type.size() - 8);
    if (name == row.name || name == row.onnx_type || name == inner) return row.dtype;
  }
  return std::nullopt;
}

std::string dtype_names() {
  std::string out;
  for (const auto& row : kTable) {
    if (!out.empty()) out += ",";
    out += row.name;
  }
  return out;
}

size_t dtype_size(DType dtype) { return dtype_info(dtype).size; }
std::string_view dtype_name(DType dtype) {
  const DTypeInfo* row = find_dtype(static_cast<int32_t>(dtype));
  return row ? row->name : "unknown";
}
bool dtype_supported(int32_t onnx_elem_type) { return find_dtype(onnx_elem_type) != nullptr; }

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000 | (mant << 13);  // inf / NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal: normalize
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400) == 0);
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((mant & 0x3ff) << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t float_to_half(float value) {
  const uint32_t f = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((f >> 16) & 0x8000);
  const uint32_t abs = f & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00;                  // NaN
  if (abs >= 0x477ff000) return sign | 0x7c00;                 // rounds to >= 65520: inf
  if (abs >= 0x38800000) {                                     // normal half
    const uint32_t mant = abs & 0x7fffff;
    const uint32_t exp = (abs >> 23) - 112;
    uint32_t h = (exp << 10) | (mant >> 13);
    const uint32_t rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;  // carries into the exponent
    return sign | static_cast<uint16_t>(h);
  }
  if (abs < 0x33000000) return sign;  // below half the smallest subnormal: +-0
  // Subnormal half: value = m * 2^-24.
  const uint32_t exp = abs >> 23;
  const uint32_t mant = (abs & 0x7fffff) | 0x800000;
  const int shift = static_cast<int>(126 - exp);  // 14..24
  uint32_t h = mant >> shift;
  const uint32_t rest = mant & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (h & 1))) ++h;
  return sign | static_cast<uint16_t>(h);
}

float bfloat16_to_float(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

uint16_t float_to_bfloat16(float value) {
  const uint32_t f = std::bit_cast<uint32_t>(value);
  if ((f & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((f >> 16) | 0x40);  // NaN
  const uint32_t rounding = 0x7fff + ((f >> 16) & 1);
  return static_cast<uint16_t>((f + rounding) >> 16);
}

bool dtype_holds(DType dtype, double lo, double hi) {
  const DTypeInfo& info = dtype_info(dtype);
  if (!(lo >= info.lowest)) return false;
  if (dtype == DType::kInt64 || dtype == DType::kUint64) return hi < info.highest;
  return hi <= info.highest;
}

double round_to_dtype(double v, DType dtype) {
  const DTypeInfo& info = dtype_info(dtype);
  switch (info.cls) {
    case DTypeClass::kBool:
      return v != 0 ? 1.0 : 0.0;
    case DTypeClass::kFloat:
      if (dtype == DType::kDouble) return v;
      if (dtype == DType::kFloat) return static_cast<float>(v);
      if (dtype == DType::kFloat16) return half_to_float(float_to_half(static_cast<float>(v)));
      return bfloat16_to_float(float_to_bfloat16(static_cast<float>(v)));
    case DTypeClass::kSigned:
    case DTypeClass::kUnsigned:
      if (std::isnan(v)) return 0;
      if (v <= info.lowest) return info.lowest;
      if (v >= info.highest) return info.highest;
      return std::trunc(v);
  }
  return v;
}

}  // namespace onnxfuzz
