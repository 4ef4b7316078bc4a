// Reference kernels: comparisons, logical ops, Mod, BitShift, variadic Min/Max/Sum/Mean, and
// Cast/CastLike between every pair of dtypes of the table.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "oracles/reference/dispatch.h"
#include "oracles/reference/kernel.h"
#include "oracles/reference/shape.h"

namespace onnxfuzz::ref {
namespace {

template <class T>
constexpr bool kIsFloat = std::is_floating_point_v<T>;

// A bool element: one byte, any nonzero byte reads as true. A struct, so that dispatch tells it
// from uint8.
struct BoolByte {
  uint8_t byte;
  bool value() const { return byte != 0; }
};
BoolByte bool_byte(bool v) { return {static_cast<uint8_t>(v ? 1 : 0)}; }

void require_same_dtype(const Tensor& a, const Tensor& b, const char* what) {
  if (a.dtype != b.dtype) {
    fail("{} element types differ: {} and {}", what, dtype_name(a.dtype), dtype_name(b.dtype));
  }
}

// Calls f(TypeTag<T>{}) for every numeric dtype, and for bool with T = BoolByte.
template <class F>
decltype(auto) dispatch_numeric_or_bool(DType dtype, F&& f) {
  if (dtype == DType::kBool) return f(TypeTag<BoolByte>{});
  return dispatch_numeric(dtype, std::forward<F>(f));
}

// Applies op(a_i, b_i) -> Out over the multidirectional broadcast of a and b.
template <class A, class B, class Out, class Op>
Tensor broadcast_map(const Tensor& a, const Tensor& b, DType out_dtype, Op op) {
  const std::array<const Shape*, 2> shapes{&a.shape, &b.shape};
  const Shape shape = broadcast_shape(shapes);
  Tensor y = make_tensor(out_dtype, shape);
  auto av = a.values<A>();
  auto bv = b.values<B>();
  auto out = y.values<Out>();
  const std::array<std::vector<int64_t>, 2> strides{broadcast_strides(a.shape, shape),
                                                    broadcast_strides(b.shape, shape)};
  for_each_index(shape, strides, [&](int64_t i, const std::array<int64_t, 2>& at) {
    out[i] = op(av[at[0]], bv[at[1]]);
  });
  return y;
}

// ---- comparisons ----------------------------------------------------------------------------

enum class CompareKind { kEqual, kLess, kGreater, kLessOrEqual, kGreaterOrEqual };

// Comparisons of half inputs see them widened to float32, which is exact. NaN compares unequal
// and unordered, as IEEE says.
template <CompareKind kind>
std::vector<Tensor> compare(const NodeContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  require_same_dtype(a, b, "operand");
  if (kind != CompareKind::kEqual && a.dtype == DType::kBool) fail("bool operands are not ordered");
  return {dispatch_numeric_or_bool(a.dtype, [&]<class T>(TypeTag<T>) {
    return broadcast_map<T, T, BoolByte>(a, b, DType::kBool, [](T x, T y) {
      if constexpr (std::is_same_v<T, BoolByte>) {
        return bool_byte(x.value() == y.value());
      } else {
        switch (kind) {
          case CompareKind::kEqual:
            return bool_byte(x == y);
          case CompareKind::kLess:
            return bool_byte(x < y);
          case CompareKind::kGreater:
            return bool_byte(x > y);
          case CompareKind::kLessOrEqual:
            return bool_byte(x <= y);
          case CompareKind::kGreaterOrEqual:
            return bool_byte(x >= y);
        }
        return bool_byte(false);
      }
    });
  })};
}

// ---- logical --------------------------------------------------------------------------------

enum class LogicalKind { kAnd, kOr, kXor };

template <LogicalKind kind>
std::vector<Tensor> logical(const NodeContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype != DType::kBool || b.dtype != DType::kBool) {
    fail("logical ops take bool operands, got {} and {}", dtype_name(a.dtype), dtype_name(b.dtype));
  }
  return {broadcast_map<BoolByte, BoolByte, BoolByte>(
      a, b, DType::kBool, [](BoolByte x, BoolByte y) {
        const bool p = x.value(), q = y.value();
        switch (kind) {
          case LogicalKind::kAnd:
            return bool_byte(p && q);
          case LogicalKind::kOr:
            return bool_byte(p || q);
          case LogicalKind::kXor:
            return bool_byte(p != q);
        }
        return bool_byte(false);
      })};
}

// ---- Mod ------------------------------------------------------------------------------------

// Integer remainder without undefined behaviour: lowest % -1 overflows in C (and traps on x86),
// but the remainder is 0.
template <class T>
T truncated_remainder(T x, T y) {
  if constexpr (std::is_signed_v<T>) {
    if (y == -1) return T{0};
  }
  return static_cast<T>(x % y);
}

// Mod-10: fmod=0 takes the sign of the divisor (Python's %), integers only; fmod=1 takes the sign
// of the dividend (C fmod). Half inputs arrive widened; fmod is exact, so rounding back is too.
std::vector<Tensor> mod_10(const NodeContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  require_same_dtype(a, b, "operand");
  const int64_t fmod = ctx.int_attr("fmod", 0);
  if (fmod != 0 && fmod != 1) fail("fmod must be 0 or 1, got {}", fmod);
  return {dispatch_numeric(a.dtype, [&]<class T>(TypeTag<T>) {
    if constexpr (kIsFloat<T>) {
      if (fmod == 0) fail("Mod on floating-point inputs requires fmod=1");
      return broadcast_map<T, T, T>(a, b, a.dtype, [](T x, T y) { return std::fmod(x, y); });
    } else {
      return broadcast_map<T, T, T>(a, b, a.dtype, [fmod](T x, T y) -> T {
        if (y == 0) fail("integer Mod by zero");
        T r = truncated_remainder(x, y);
        if constexpr (std::is_signed_v<T>) {
          // Python's sign rule: a nonzero remainder moves by one divisor toward the divisor's sign
          // (no overflow: r and y have opposite signs).
          if (fmod == 0 && r != 0 && ((r < 0) != (y < 0))) r = static_cast<T>(r + y);
        }
        return r;
      });
    }
  })};
}

// ---- BitShift -------------------------------------------------------------------------------

// BitShift-11: unsigned operands. A shift by the bit width or more is undefined in C; the
// reference gives 0 (every bit shifted out) rather than crash.
std::vector<Tensor> bitshift_11(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& s = ctx.input(1);
  require_same_dtype(x, s, "operand");
  const std::string direction = ctx.string_attr("direction", "");
  if (direction != "LEFT" && direction != "RIGHT")
    fail("direction must be LEFT or RIGHT, got '{}'", direction);
  const bool left = direction == "LEFT";
  auto run = [&]<class T>(TypeTag<T>) {
    return broadcast_map<T, T, T>(x, s, x.dtype, [left](T v, T amount) -> T {
      constexpr T kBits = static_cast<T>(sizeof(T) * 8);
      if (amount >= kBits) return T{0};
      // Integer promotion makes uint8/uint16 shifts happen in int; the cast keeps the low bits.
      return left ? static_cast<T>(static_cast<uint64_t>(v) << amount)
                  : static_cast<T>(v >> amount);
    });
  };
  switch (x.dtype) {
    case DType::kUint8:
      return {run(TypeTag<uint8_t>{})};
    case DType::kUint16:
      return {run(TypeTag<uint16_t>{})};
    case DType::kUint32:
      return {run(TypeTag<uint32_t>{})};
    case DType::kUint64:
      return {run(TypeTag<uint64_t>{})};
    default:
      fail("BitShift takes unsigned integers, got {}", dtype_name(x.dtype));
  }
}

// ---- variadic Min/Max/Sum/Mean --------------------------------------------------------------

Shape variadic_shape(const NodeContext& ctx, std::vector<const Tensor*>& inputs) {
  const int count = ctx.node().input_size();
  if (count < 1) fail("needs at least one input");
  std::vector<const Shape*> shapes;
  for (int i = 0; i < count; ++i) {
    inputs.push_back(&ctx.input(static_cast<size_t>(i)));
    require_same_dtype(*inputs.front(), *inputs.back(), "input");
    shapes.push_back(&inputs.back()->shape);
  }
  return broadcast_shape(shapes);
}

// Visits every output element of input `in` broadcast to `shape` as f(linear, element).
template <class T, class F>
void for_each_broadcast(const Tensor& in, const Shape& shape, F&& f) {
  auto v = in.values<T>();
  const std::array<std::vector<int64_t>, 1> strides{broadcast_strides(in.shape, shape)};
  for_each_index(shape, strides,
                 [&](int64_t i, const std::array<int64_t, 1>& at) { f(i, v[at[0]]); });
}

enum class ExtremeKind { kMin, kMax };

// Min-8 and Max-8: elementwise over every input, multidirectional broadcast; NaN propagates.
template <ExtremeKind kind>
std::vector<Tensor> extreme_8(const NodeContext& ctx) {
  std::vector<const Tensor*> inputs;
  const Shape shape = variadic_shape(ctx, inputs);
  return {dispatch_numeric(inputs.front()->dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(inputs.front()->dtype, shape);
    auto out = y.values<T>();
    for_each_broadcast<T>(*inputs.front(), shape, [&](int64_t i, T v) { out[i] = v; });
    for (size_t k = 1; k < inputs.size(); ++k) {
      for_each_broadcast<T>(*inputs[k], shape, [&](int64_t i, T v) {
        T& o = out[i];
        if constexpr (kIsFloat<T>) {
          if (std::isnan(o)) return;
          if (std::isnan(v)) {
            o = v;
            return;
          }
        }
        if (kind == ExtremeKind::kMin ? v < o : v > o) o = v;
      });
    }
    return y;
  })};
}

// Sum-8 and Mean-8 (floating point only): accumulated in double and rounded once, so the result
// does not depend on the order of the inputs.
template <bool mean>
std::vector<Tensor> accumulate_8(const NodeContext& ctx) {
  std::vector<const Tensor*> inputs;
  const Shape shape = variadic_shape(ctx, inputs);
  return {dispatch_floating(inputs.front()->dtype, [&]<class T>(TypeTag<T>) {
    std::vector<double> acc(static_cast<size_t>(shape_numel(shape)), 0.0);
    for (const Tensor* in : inputs) {
      for_each_broadcast<T>(*in, shape, [&](int64_t i, T v) { acc[static_cast<size_t>(i)] += v; });
    }
    Tensor y = make_tensor(inputs.front()->dtype, shape);
    auto out = y.values<T>();
    const double n = static_cast<double>(inputs.size());
    for (size_t i = 0; i < acc.size(); ++i) out[i] = static_cast<T>(mean ? acc[i] / n : acc[i]);
    return y;
  })};
}

// ---- Cast and CastLike ----------------------------------------------------------------------

// Storage types for the half dtypes, so the cast dispatch can tell them from uint16.
struct Float16Bits {
  uint16_t bits;
};
struct Bfloat16Bits {
  uint16_t bits;
};

template <class T>
constexpr bool kIsHalf = std::is_same_v<T, Float16Bits> || std::is_same_v<T, Bfloat16Bits>;

// Calls f(TypeTag<T>{}) for every dtype of the table (bool as BoolByte, halves as their bits).
template <class F>
decltype(auto) dispatch_any(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kBool:
      return f(TypeTag<BoolByte>{});
    case DType::kFloat16:
      return f(TypeTag<Float16Bits>{});
    case DType::kBfloat16:
      return f(TypeTag<Bfloat16Bits>{});
    default:
      return dispatch_numeric(dtype, std::forward<F>(f));
  }
}

// One element converted from S (stored as `from`) to D (stored as `to`). Integers convert
// exactly among themselves (narrowing keeps the low bits, as numpy and ORT do), floats round to
// nearest even (half types through float32, as the dtype table does), float -> integer truncates
// toward zero (saturating here; out of range is undefined in opset 17 and never generated),
// anything -> bool tests != 0 (NaN is true), bool -> anything gives 0 or 1.
template <class D, class S>
D convert(S x, DType from, DType to) {
  // Source value: as float when it is floating point, else as an exact integer.
  if constexpr (kIsHalf<S>) {
    const float f = from == DType::kFloat16 ? half_to_float(x.bits) : bfloat16_to_float(x.bits);
    return convert<D, float>(f, DType::kFloat, to);
  } else if constexpr (kIsHalf<D>) {
    float f;
    if constexpr (std::is_same_v<S, BoolByte>) {
      f = x.value() ? 1.0f : 0.0f;
    } else {
      f = static_cast<float>(x);
    }
    return D{to == DType::kFloat16 ? float_to_half(f) : float_to_bfloat16(f)};
  } else if constexpr (std::is_same_v<D, BoolByte>) {
    if constexpr (std::is_same_v<S, BoolByte>) {
      return bool_byte(x.value());
    } else {
      return bool_byte(x != 0);
    }
  } else if constexpr (std::is_same_v<S, BoolByte>) {
    return static_cast<D>(x.value() ? 1 : 0);
  } else if constexpr (kIsFloat<D>) {
    return static_cast<D>(x);
  } else if constexpr (kIsFloat<S>) {
    return from_double<D>(static_cast<double>(x));
  } else {
    return static_cast<D>(x);  // integer -> integer: modular (C++20)
  }
}

Tensor cast_tensor(const Tensor& x, DType to) {
  if (!find_dtype(static_cast<int32_t>(to)))
    fail("Cast to unsupported element type {}", static_cast<int>(to));
  Tensor y = make_tensor(to, x.shape);
  dispatch_any(x.dtype, [&]<class S>(TypeTag<S>) {
    dispatch_any(to, [&]<class D>(TypeTag<D>) {
      auto in = x.values<S>();
      auto out = y.values<D>();
      for (size_t i = 0; i < in.size(); ++i) out[i] = convert<D, S>(in[i], x.dtype, to);
    });
  });
  return y;
}

// Cast-6 ('to' became an int; later versions only add element types).
std::vector<Tensor> cast_6(const NodeContext& ctx) {
  if (ctx.attribute("to") == nullptr) fail("Cast requires the 'to' attribute");
  return {cast_tensor(ctx.input(0), static_cast<DType>(ctx.int_attr("to", 0)))};
}

// CastLike-15: the target element type is that of the second input; its values are unused.
std::vector<Tensor> cast_like_15(const NodeContext& ctx) {
  return {cast_tensor(ctx.input(0), ctx.input(1).dtype)};
}

// Numpy broadcasting arrived in version 7 of the comparisons and logical ops.
const KernelRegistrar kEqual7{"Equal", 7, compare<CompareKind::kEqual>};
const KernelRegistrar kLess7{"Less", 7, compare<CompareKind::kLess>};
const KernelRegistrar kGreater7{"Greater", 7, compare<CompareKind::kGreater>};
const KernelRegistrar kLessOrEqual12{"LessOrEqual", 12, compare<CompareKind::kLessOrEqual>};
const KernelRegistrar kGreaterOrEqual12{"GreaterOrEqual", 12,
                                        compare<CompareKind::kGreaterOrEqual>};
const KernelRegistrar kAnd7{"And", 7, logical<LogicalKind::kAnd>};
const KernelRegistrar kOr7{"Or", 7, logical<LogicalKind::kOr>};
const KernelRegistrar kXor7{"Xor", 7, logical<LogicalKind::kXor>};
const KernelRegistrar kMod10{"Mod", 10, mod_10};
const KernelRegistrar kBitShift11{"BitShift", 11, bitshift_11};
// Version 8 brought multidirectional broadcasting; later versions only add element types.
const KernelRegistrar kMin8{"Min", 8, extreme_8<ExtremeKind::kMin>};
const KernelRegistrar kMax8{"Max", 8, extreme_8<ExtremeKind::kMax>};
const KernelRegistrar kSum8{"Sum", 8, accumulate_8<false>};
const KernelRegistrar kMean8{"Mean", 8, accumulate_8<true>};
// Casts convert half types themselves, bit for bit through the dtype table's conversions.
const KernelRegistrar kCast6{"Cast", 6, cast_6, {.handles_half = true}};
const KernelRegistrar kCastLike15{"CastLike", 15, cast_like_15, {.handles_half = true}};

}  // namespace
}  // namespace onnxfuzz::ref
