// Reference kernels for elementwise ops: unary math, broadcasting binary math, Clip and Where.
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>

#include "oracles/reference/dispatch.h"
#include "oracles/reference/kernel.h"
#include "oracles/reference/shape.h"

namespace onnxfuzz::ref {
namespace {

template <class T>
constexpr bool kIsFloat = std::is_floating_point_v<T>;

// ---- unary ----------------------------------------------------------------------------------

enum class UnaryKind { kRelu, kSigmoid, kTanh, kExp, kLog, kSqrt, kAbs, kNeg };

template <UnaryKind kind, class T>
T unary_value(T x) {
  if constexpr (kIsFloat<T>) {
    // Computed in double and rounded once, so the result is the correctly rounded float.
    const double v = x;
    switch (kind) {
      case UnaryKind::kRelu:
        return v < 0 ? T{0} : x;  // NaN stays NaN
      case UnaryKind::kSigmoid:
        return static_cast<T>(1.0 / (1.0 + std::exp(-v)));
      case UnaryKind::kTanh:
        return static_cast<T>(std::tanh(v));
      case UnaryKind::kExp:
        return static_cast<T>(std::exp(v));
      case UnaryKind::kLog:
        return static_cast<T>(std::log(v));
      case UnaryKind::kSqrt:
        return static_cast<T>(std::sqrt(v));
      case UnaryKind::kAbs:
        return std::fabs(x);
      case UnaryKind::kNeg:
        return -x;
    }
  } else {
    switch (kind) {
      case UnaryKind::kRelu:
        return x < 0 ? T{0} : x;
      case UnaryKind::kAbs:
        if constexpr (std::is_signed_v<T>) return x < 0 ? from_wrapping<T>(0 - to_wrapping(x)) : x;
        return x;
      case UnaryKind::kNeg:
        return from_wrapping<T>(0 - to_wrapping(x));
      default:
        break;
    }
  }
  return x;
}

template <UnaryKind kind>
std::vector<Tensor> unary(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  constexpr bool ints_ok =
      kind == UnaryKind::kRelu || kind == UnaryKind::kAbs || kind == UnaryKind::kNeg;
  auto run = [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, x.shape);
    auto in = x.values<T>();
    auto out = y.values<T>();
    for (size_t i = 0; i < in.size(); ++i) out[i] = unary_value<kind, T>(in[i]);
    return y;
  };
  if constexpr (ints_ok) {
    return {dispatch_numeric(x.dtype, run)};
  } else {
    return {dispatch_floating(x.dtype, run)};
  }
}

// ---- binary ---------------------------------------------------------------------------------

// Applies op(a_i, b_i) -> Out over the broadcast of a and b.
template <class A, class B, class Out, class Op>
Tensor broadcast_binary(const Tensor& a, const Tensor& b, DType out_dtype, Op op) {
  const std::array<const Shape*, 2> shapes{&a.shape, &b.shape};
  Shape shape = broadcast_shape(shapes);
  Tensor y = make_tensor(out_dtype, shape);
  auto av = a.values<A>();
  auto bv = b.values<B>();
  auto out = y.values<Out>();
  if (a.shape == b.shape) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = op(av[i], bv[i]);
  } else if (b.numel() == 1 && a.shape == shape) {
    const B s = bv[0];
    for (size_t i = 0; i < out.size(); ++i) out[i] = op(av[i], s);
  } else {
    const std::array<std::vector<int64_t>, 2> strides{broadcast_strides(a.shape, shape),
                                                      broadcast_strides(b.shape, shape)};
    for_each_index(shape, strides, [&](int64_t i, const std::array<int64_t, 2>& at) {
      out[i] = op(av[at[0]], bv[at[1]]);
    });
  }
  return y;
}

enum class BinaryKind { kAdd, kSub, kMul, kDiv };

template <BinaryKind kind>
std::vector<Tensor> binary(const NodeContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype != b.dtype) {
    fail("operand element types differ: {} and {}", dtype_name(a.dtype), dtype_name(b.dtype));
  }
  return {dispatch_numeric(a.dtype, [&]<class T>(TypeTag<T>) {
    auto op = [](T x, T y) -> T {
      if constexpr (kIsFloat<T>) {
        // Exact in double for +,-,*,/ on floats, then one rounding: the correctly rounded result.
        const double u = x, v = y;
        switch (kind) {
          case BinaryKind::kAdd:
            return static_cast<T>(u + v);
          case BinaryKind::kSub:
            return static_cast<T>(u - v);
          case BinaryKind::kMul:
            return static_cast<T>(u * v);
          case BinaryKind::kDiv:
            return static_cast<T>(u / v);
        }
      } else {
        const uint64_t u = to_wrapping(x), v = to_wrapping(y);
        switch (kind) {
          case BinaryKind::kAdd:
            return from_wrapping<T>(u + v);
          case BinaryKind::kSub:
            return from_wrapping<T>(u - v);
          case BinaryKind::kMul:
            return from_wrapping<T>(u * v);
          case BinaryKind::kDiv:
            if (y == 0) fail("integer division by zero");
            if constexpr (std::is_signed_v<T>) {
              if (x == std::numeric_limits<T>::lowest() && y == -1) return x;  // wraps
            }
            return static_cast<T>(x / y);  // truncates toward zero, as C and ORT do
        }
      }
      return T{};
    };
    return broadcast_binary<T, T, T>(a, b, a.dtype, op);
  })};
}

// Pow: x^e computed in double and converted once (integers truncate and saturate).
template <class T, class E>
Tensor power(const Tensor& base, const Tensor& exponent) {
  return broadcast_binary<T, E, T>(base, exponent, base.dtype, [](T x, E e) {
    return from_double<T>(std::pow(static_cast<double>(x), static_cast<double>(e)));
  });
}

// Pow-7: base and exponent share one element type.
std::vector<Tensor> pow_7(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& e = ctx.input(1);
  if (x.dtype != e.dtype) {
    fail("base and exponent element types differ: {} and {}", dtype_name(x.dtype),
         dtype_name(e.dtype));
  }
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) { return power<T, T>(x, e); })};
}

// Pow-12: the exponent may have its own element type; the result has the base's.
std::vector<Tensor> pow_12(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& e = ctx.input(1);
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    return dispatch_numeric(e.dtype, [&]<class E>(TypeTag<E>) { return power<T, E>(x, e); });
  })};
}

// ---- Clip and Where -------------------------------------------------------------------------

// y = min(max(x, lo), hi), by comparisons (not std::clamp) so NaN passes through and
// lo > hi yields hi, as ORT does.
template <class T>
Tensor clamp(const Tensor& x, T lo, T hi) {
  Tensor y = make_tensor(x.dtype, x.shape);
  auto in = x.values<T>();
  auto out = y.values<T>();
  for (size_t i = 0; i < in.size(); ++i) {
    T v = in[i];
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    out[i] = v;
  }
  return y;
}

// Clip-6: the bounds are float attributes, defaulting to the float range.
std::vector<Tensor> clip_6(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const double lo = ctx.float_attr("min", std::numeric_limits<float>::lowest());
  const double hi = ctx.float_attr("max", std::numeric_limits<float>::max());
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    return clamp<T>(x, from_double<T>(lo), from_double<T>(hi));
  })};
}

// Clip-11: the bounds are optional scalar inputs of x's type; an omitted one does not clip.
std::vector<Tensor> clip_11(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    auto bound = [&](size_t i, T fallback) {
      const Tensor* t = ctx.optional_input(i);
      if (t == nullptr) return fallback;
      if (t->dtype != x.dtype) fail("Clip bound {} has element type {}", i, dtype_name(t->dtype));
      if (t->numel() != 1)
        fail("Clip bound {} must be a scalar, got {}", i, shape_string(t->shape));
      return t->values<T>()[0];
    };
    return clamp<T>(x, bound(1, std::numeric_limits<T>::lowest()),
                    bound(2, std::numeric_limits<T>::max()));
  })};
}

std::vector<Tensor> where(const NodeContext& ctx) {
  const Tensor& c = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  if (c.dtype != DType::kBool) fail("condition must be bool, got {}", dtype_name(c.dtype));
  if (x.dtype != y.dtype) {
    fail("X and Y element types differ: {} and {}", dtype_name(x.dtype), dtype_name(y.dtype));
  }
  const std::array<const Shape*, 3> shapes{&c.shape, &x.shape, &y.shape};
  const Shape shape = broadcast_shape(shapes);
  return {dispatch_width(x.dtype, [&]<class W>(TypeTag<W>) {
    Tensor out = make_tensor(x.dtype, shape);
    auto cv = c.values<uint8_t>();
    auto xv = x.values<W>();
    auto yv = y.values<W>();
    auto ov = out.values<W>();
    const std::array<std::vector<int64_t>, 3> strides{broadcast_strides(c.shape, shape),
                                                      broadcast_strides(x.shape, shape),
                                                      broadcast_strides(y.shape, shape)};
    for_each_index(shape, strides, [&](int64_t i, const std::array<int64_t, 3>& at) {
      ov[i] = cv[at[0]] != 0 ? xv[at[1]] : yv[at[2]];
    });
    return out;
  })};
}

// Version 1 of the unary ops differs only by the legacy consumed_inputs hint, which a
// kernel may ignore; later versions only add element types.
const KernelRegistrar kRelu1{"Relu", 1, unary<UnaryKind::kRelu>};
const KernelRegistrar kSigmoid1{"Sigmoid", 1, unary<UnaryKind::kSigmoid>};
const KernelRegistrar kTanh1{"Tanh", 1, unary<UnaryKind::kTanh>};
const KernelRegistrar kExp1{"Exp", 1, unary<UnaryKind::kExp>};
const KernelRegistrar kLog1{"Log", 1, unary<UnaryKind::kLog>};
const KernelRegistrar kSqrt1{"Sqrt", 1, unary<UnaryKind::kSqrt>};
const KernelRegistrar kAbs1{"Abs", 1, unary<UnaryKind::kAbs>};
const KernelRegistrar kNeg1{"Neg", 1, unary<UnaryKind::kNeg>};
// Version 7 replaced the legacy broadcast/axis attributes with numpy broadcasting.
const KernelRegistrar kAdd7{"Add", 7, binary<BinaryKind::kAdd>};
const KernelRegistrar kSub7{"Sub", 7, binary<BinaryKind::kSub>};
const KernelRegistrar kMul7{"Mul", 7, binary<BinaryKind::kMul>};
const KernelRegistrar kDiv7{"Div", 7, binary<BinaryKind::kDiv>};
const KernelRegistrar kPow7{"Pow", 7, pow_7};
const KernelRegistrar kPow12{"Pow", 12, pow_12};
const KernelRegistrar kClip6{"Clip", 6, clip_6};
const KernelRegistrar kClip11{"Clip", 11, clip_11};
// Where selects whole elements, so it moves half-precision values as they are.
const KernelRegistrar kWhere9{"Where", 9, where, {.handles_half = true}};

}  // namespace

}  // namespace onnxfuzz::ref
