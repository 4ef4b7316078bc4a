// The dtype table: one row per ONNX tensor element type onnxfuzz can hold. Every stage reads it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace onnxfuzz {

// Element types, numbered as onnx::TensorProto::DataType so they convert by cast.
enum class DType : int32_t {
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUint32 = 12,
  kUint64 = 13,
  kBfloat16 = 16,
};

enum class DTypeClass { kFloat, kSigned, kUnsigned, kBool };

// One row of the table.
struct DTypeInfo {
  DType dtype;
  std::string_view name;       // onnxfuzz's and numpy's name: "float32", "bfloat16", "uint8"
  std::string_view onnx_type;  // as in ONNX type constraints: "tensor(float)"
  size_t size;                 // bytes per element
  DTypeClass cls;
  // Default numeric tolerance, allclose-style: |a - e| <= atol + rtol * |e|. Integers and bools
  // compare exactly (0, 0). Half types get room for one rounding per op on a chain of ops.
  double atol;
  double rtol;
  // Smallest and largest finite value (integers: exactly representable in double up to 2^53,
  // which is all the generator ever draws).
  double lowest;
  double highest;
};

// Every row, in enum order.
std::span<const DTypeInfo> all_dtypes();
const DTypeInfo& dtype_info(DType dtype);
// nullptr for element types onnxfuzz cannot hold (string, complex, float8 ...).
const DTypeInfo* find_dtype(int32_t onnx_elem_type);
// Accepts the table name ("float32"), the ONNX name inside tensor(...) ("float") and
// "tensor(float)"; nullopt when unknown.
std::optional<DType> dtype_from_name(std::string_view name);
// Comma-separated list of the table names, for error messages and --help.
std::string dtype_names();

size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);
bool dtype_supported(int32_t onnx_elem_type);
inline bool is_float(DType d) { return dtype_info(d).cls == DTypeClass::kFloat; }
inline bool is_integer(DType d) {
  const DTypeClass c = dtype_info(d).cls;
  return c == DTypeClass::kSigned || c == DTypeClass::kUnsigned;
}
inline bool is_half(DType d) { return d == DType::kFloat16 || d == DType::kBfloat16; }

// IEEE binary16 and bfloat16 conversions, round to nearest even (NaN stays NaN).
float half_to_float(uint16_t bits);
uint16_t float_to_half(float value);
float bfloat16_to_float(uint16_t bits);
uint16_t float_to_bfloat16(float value);
// Whether every value of `range` is representable in `dtype` (no wrap). The 64-bit integer
// maxima are not doubles: their table rows hold 2^63 and 2^64, which are out of range, so the
// upper bound is strict there.
bool dtype_holds(DType dtype, double lo, double hi);

// The value `v` becomes once stored as `dtype` (floats round, integers truncate toward zero
// and saturate, NaN becomes 0, bool is v != 0).
double round_to_dtype(double v, DType dtype);

}  // namespace onnxfuzz
