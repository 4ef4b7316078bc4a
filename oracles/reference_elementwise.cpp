// Reference kernels for elementwise ops: unary math, broadcasting binary math, Clip and Where.
#include <cmath>
#include <cstring>

#include "oracles/reference_kernels.h"

namespace onnxfuzz::ref {
namespace {

template <class T>
constexpr bool kIsFloat = std::is_floating_point_v<T>;

// Integer arithmetic wraps (two's complement) instead of being undefined on overflow.
template <class T>
T wrap(uint64_t v) {
  return static_cast<T>(v);
}

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
        if constexpr (std::is_signed_v<T>) return x < 0 ? wrap<T>(0 - static_cast<uint64_t>(x)) : x;
        return x;
      case UnaryKind::kNeg:
        return wrap<T>(0 - static_cast<uint64_t>(x));
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
        const uint64_t u = static_cast<uint64_t>(x), v = static_cast<uint64_t>(y);
        switch (kind) {
          case BinaryKind::kAdd:
            return wrap<T>(u + v);
          case BinaryKind::kSub:
            return wrap<T>(u - v);
          case BinaryKind::kMul:
            return wrap<T>(u * v);
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

// Pow: the exponent may have a different element type; the result has the base's type.
std::vector<Tensor> pow_kernel(const NodeContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (ctx.opset() < 12 && a.dtype != b.dtype) {
    fail("base and exponent element types differ before opset 12");
  }
  return {dispatch_numeric(a.dtype, [&]<class T>(TypeTag<T>) {
    return dispatch_numeric(b.dtype, [&]<class E>(TypeTag<E>) {
      return broadcast_binary<T, E, T>(a, b, a.dtype, [](T x, E e) {
        return from_double<T>(std::pow(static_cast<double>(x), static_cast<double>(e)));
      });
    });
  })};
}

// ---- Clip and Where -------------------------------------------------------------------------

std::vector<Tensor> clip(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    T lo = std::numeric_limits<T>::lowest();
    T hi = std::numeric_limits<T>::max();
    if (ctx.opset() < 11) {
      // Clip-1/6: bounds are float attributes.
      lo = from_double<T>(ctx.float_attr("min", std::numeric_limits<float>::lowest()));
      hi = from_double<T>(ctx.float_attr("max", std::numeric_limits<float>::max()));
    } else {
      auto bound = [&](size_t i, T& value) {
        const Tensor* t = ctx.optional_input(i);
        if (t == nullptr) return;
        if (t->dtype != x.dtype) fail("Clip bound {} has element type {}", i, dtype_name(t->dtype));
        if (t->numel() != 1)
          fail("Clip bound {} must be a scalar, got {}", i, shape_string(t->shape));
        value = t->values<T>()[0];
      };
      bound(1, lo);
      bound(2, hi);
    }
    Tensor y = make_tensor(x.dtype, x.shape);
    auto in = x.values<T>();
    auto out = y.values<T>();
    for (size_t i = 0; i < in.size(); ++i) {
      // Comparisons (not std::clamp) so NaN passes through and min > max yields max.
      T v = in[i];
      if (v < lo) v = lo;
      if (v > hi) v = hi;
      out[i] = v;
    }
    return y;
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

constexpr KernelEntry kKernels[] = {
    {"Relu", unary<UnaryKind::kRelu>},
    {"Sigmoid", unary<UnaryKind::kSigmoid>},
    {"Tanh", unary<UnaryKind::kTanh>},
    {"Exp", unary<UnaryKind::kExp>},
    {"Log", unary<UnaryKind::kLog>},
    {"Sqrt", unary<UnaryKind::kSqrt>},
    {"Abs", unary<UnaryKind::kAbs>},
    {"Neg", unary<UnaryKind::kNeg>},
    {"Add", binary<BinaryKind::kAdd>},
    {"Sub", binary<BinaryKind::kSub>},
    {"Mul", binary<BinaryKind::kMul>},
    {"Div", binary<BinaryKind::kDiv>},
    {"Pow", pow_kernel},
    {"Clip", clip},
    {"Where", where},
};

}  // namespace

std::span<const KernelEntry> elementwise_kernels() { return kKernels; }

}  // namespace onnxfuzz::ref
