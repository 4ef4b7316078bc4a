// Reference kernels for activations, rounding and sign, Reciprocal, Erf, trigonometric and
// hyperbolic functions, and the predicates IsNaN, IsInf and Not.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "oracles/reference/dispatch.h"
#include "oracles/reference/kernel.h"
#include "oracles/reference/shape.h"

namespace onnxfuzz::ref {
namespace {

// y = f(x) elementwise on float32/float64: computed in double and rounded once, so each result
// is within one rounding of the exact value.
template <class F>
Tensor map_floating(const Tensor& x, F f) {
  return dispatch_floating(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, x.shape);
    auto in = x.values<T>();
    auto out = y.values<T>();
    for (size_t i = 0; i < in.size(); ++i) out[i] = static_cast<T>(f(static_cast<double>(in[i])));
    return y;
  });
}

template <class F>
std::vector<Tensor> floating_unary(const NodeContext& ctx, F f) {
  return {map_floating(ctx.input(0), f)};
}

// y = pred(x) as bool, for float32/float64 (half types arrive widened, NaN and Inf intact).
template <class P>
std::vector<Tensor> floating_predicate(const NodeContext& ctx, P pred) {
  const Tensor& x = ctx.input(0);
  return {dispatch_floating(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(DType::kBool, x.shape);
    auto in = x.values<T>();
    auto out = y.values<uint8_t>();
    for (size_t i = 0; i < in.size(); ++i) out[i] = pred(static_cast<double>(in[i])) ? 1 : 0;
    return y;
  })};
}

// ---- activations ------------------------------------------------------------------------------
// Comparisons are written so that NaN falls through to the formula and stays NaN, except where
// the spec's own formula maps it elsewhere (ThresholdedRelu and Shrink give 0).

std::vector<Tensor> leaky_relu_1(const NodeContext& ctx) {
  const double alpha = ctx.float_attr("alpha", 0.01f);
  return floating_unary(ctx, [&](double x) { return x < 0 ? alpha * x : x; });
}

std::vector<Tensor> elu_1(const NodeContext& ctx) {
  const double alpha = ctx.float_attr("alpha", 1.0f);
  return floating_unary(ctx, [&](double x) { return x < 0 ? alpha * std::expm1(x) : x; });
}

std::vector<Tensor> selu_1(const NodeContext& ctx) {
  const double alpha = ctx.float_attr("alpha", 1.67326319217681884765625f);
  const double gamma = ctx.float_attr("gamma", 1.05070102214813232421875f);
  return floating_unary(
      ctx, [&](double x) { return x > 0 ? gamma * x : gamma * (alpha * std::exp(x) - alpha); });
}

// Celu: max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).
std::vector<Tensor> celu_12(const NodeContext& ctx) {
  const double alpha = ctx.float_attr("alpha", 1.0f);
  if (alpha == 0) fail("Celu alpha must not be 0");
  return floating_unary(ctx, [&](double x) {
    if (std::isnan(x)) return x;
    return std::max(0.0, x) + std::min(0.0, alpha * std::expm1(x / alpha));
  });
}

// HardSigmoid: max(0, min(1, alpha * x + beta)).
std::vector<Tensor> hard_sigmoid_1(const NodeContext& ctx) {
  const double alpha = ctx.float_attr("alpha", 0.2f);
  const double beta = ctx.float_attr("beta", 0.5f);
  return floating_unary(ctx, [&](double x) {
    double v = alpha * x + beta;
    if (v < 0) v = 0;
    if (v > 1) v = 1;
    return v;
  });
}

// HardSwish: x * HardSigmoid(x) with alpha = 1/6, beta = 1/2.
std::vector<Tensor> hard_swish_14(const NodeContext& ctx) {
  return floating_unary(ctx, [](double x) {
    double v = x / 6 + 0.5;
    if (v < 0) v = 0;
    if (v > 1) v = 1;
    return x * v;
  });
}

// PRelu-7 and later: slope broadcasts to X one way (unidirectionally); y = x < 0 ? slope * x : x.
// Integer products wrap.
std::vector<Tensor> prelu_7(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& slope = ctx.input(1);
  if (x.dtype != slope.dtype) {
    fail("X and slope element types differ: {} and {}", dtype_name(x.dtype),
         dtype_name(slope.dtype));
  }
  const bool fits = [&] {
    if (slope.shape.size() > x.shape.size()) return false;
    const size_t offset = x.shape.size() - slope.shape.size();
    for (size_t i = 0; i < slope.shape.size(); ++i) {
      if (slope.shape[i] != 1 && slope.shape[i] != x.shape[offset + i]) return false;
    }
    return true;
  }();
  if (!fits) {
    fail("slope {} does not broadcast to X {}", shape_string(slope.shape), shape_string(x.shape));
  }
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, x.shape);
    auto xv = x.values<T>();
    auto sv = slope.values<T>();
    auto out = y.values<T>();
    const std::array<std::vector<int64_t>, 2> strides{strides_of(x.shape),
                                                      broadcast_strides(slope.shape, x.shape)};
    for_each_index(x.shape, strides, [&](int64_t i, const std::array<int64_t, 2>& at) {
      const T v = xv[at[0]];
      const T s = sv[at[1]];
      if constexpr (std::is_floating_point_v<T>) {
        out[i] = v < 0 ? static_cast<T>(static_cast<double>(s) * v) : v;
      } else {
        out[i] = v < 0 ? from_wrapping<T>(to_wrapping(s) * to_wrapping(v)) : v;
      }
    });
    return y;
  })};
}

std::vector<Tensor> softplus_1(const NodeContext& ctx) {
  // The stable form of log(exp(x) + 1).
  return floating_unary(ctx, [](double x) {
    return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  });
}

std::vector<Tensor> softsign_1(const NodeContext& ctx) {
  return floating_unary(ctx, [](double x) { return x / (1 + std::abs(x)); });
}

std::vector<Tensor> thresholded_relu_10(const NodeContext& ctx) {
  const double alpha = ctx.float_attr("alpha", 1.0f);
  return floating_unary(ctx, [&](double x) { return x > alpha ? x : 0.0; });
}

// Shrink: x + bias below -lambd, x - bias above lambd, else 0. Integers compute in double and
// truncate toward 0 (saturating), like the spec's cast back to the input type.
std::vector<Tensor> shrink_9(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const double lambd = ctx.float_attr("lambd", 0.5f);
  const double bias = ctx.float_attr("bias", 0.0f);
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, x.shape);
    auto in = x.values<T>();
    auto out = y.values<T>();
    for (size_t i = 0; i < in.size(); ++i) {
      const double v = static_cast<double>(in[i]);
      const double r = v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0);
      out[i] = from_double<T>(r);
    }
    return y;
  })};
}

// ---- rounding, sign, reciprocal, erf ----------------------------------------------------------

std::vector<Tensor> floor_1(const NodeContext& ctx) {
  return floating_unary(ctx, [](double x) { return std::floor(x); });
}
std::vector<Tensor> ceil_1(const NodeContext& ctx) {
  return floating_unary(ctx, [](double x) { return std::ceil(x); });
}
// Round: halves go to the even neighbour (nearbyint under the default rounding mode).
std::vector<Tensor> round_11(const NodeContext& ctx) {
  return floating_unary(ctx, [](double x) { return std::nearbyint(x); });
}
std::vector<Tensor> reciprocal_1(const NodeContext& ctx) {
  return floating_unary(ctx, [](double x) { return 1.0 / x; });
}

// Sign: -1, 0 or 1 in the input's type; NaN stays NaN.
std::vector<Tensor> sign_9(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, x.shape);
    auto in = x.values<T>();
    auto out = y.values<T>();
    for (size_t i = 0; i < in.size(); ++i) {
      const T v = in[i];
      if constexpr (std::is_floating_point_v<T>) {
        out[i] = v > 0 ? T{1} : (v < 0 ? T{-1} : v);  // +-0 and NaN pass through
      } else if constexpr (std::is_signed_v<T>) {
        out[i] = static_cast<T>(v > 0 ? 1 : (v < 0 ? -1 : 0));
      } else {
        out[i] = static_cast<T>(v > 0 ? 1 : 0);
      }
    }
    return y;
  })};
}

// Erf on every numeric type ONNX 1.12 lists; integers take erf(x) truncated toward 0. (ONNX is
// withdrawing the integer types, onnx/onnx#7175; the generator draws floats only.)
std::vector<Tensor> erf_9(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, x.shape);
    auto in = x.values<T>();
    auto out = y.values<T>();
    for (size_t i = 0; i < in.size(); ++i)
      out[i] = from_double<T>(std::erf(static_cast<double>(in[i])));
    return y;
  })};
}

// ---- trigonometric and hyperbolic -------------------------------------------------------------

template <double (*f)(double)>
std::vector<Tensor> math_unary(const NodeContext& ctx) {
  return floating_unary(ctx, f);
}
double sin_fn(double x) { return std::sin(x); }
double cos_fn(double x) { return std::cos(x); }
double tan_fn(double x) { return std::tan(x); }
double asin_fn(double x) { return std::asin(x); }
double acos_fn(double x) { return std::acos(x); }
double atan_fn(double x) { return std::atan(x); }
double sinh_fn(double x) { return std::sinh(x); }
double cosh_fn(double x) { return std::cosh(x); }
double asinh_fn(double x) { return std::asinh(x); }
double acosh_fn(double x) { return std::acosh(x); }
double atanh_fn(double x) { return std::atanh(x); }

// ---- predicates -------------------------------------------------------------------------------

std::vector<Tensor> is_nan_9(const NodeContext& ctx) {
  return floating_predicate(ctx, [](double x) { return std::isnan(x); });
}

std::vector<Tensor> is_inf_10(const NodeContext& ctx) {
  const bool negative = ctx.int_attr("detect_negative", 1) != 0;
  const bool positive = ctx.int_attr("detect_positive", 1) != 0;
  return floating_predicate(ctx, [&](double x) {
    return std::isinf(x) && (x > 0 ? positive : negative);
  });
}

std::vector<Tensor> not_1(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype != DType::kBool) fail("Not takes bool, got {}", dtype_name(x.dtype));
  Tensor y = make_tensor(DType::kBool, x.shape);
  auto in = x.values<uint8_t>();
  auto out = y.values<uint8_t>();
  for (size_t i = 0; i < in.size(); ++i) out[i] = in[i] == 0 ? 1 : 0;
  return {y};
}

// Earlier versions differ only by the legacy consumed_inputs hint (ignored) or by element types;
// PRelu before 7 had no numpy-style broadcasting of the slope and is not served.
const KernelRegistrar kLeakyRelu1{"LeakyRelu", 1, leaky_relu_1};
const KernelRegistrar kElu1{"Elu", 1, elu_1};
const KernelRegistrar kSelu1{"Selu", 1, selu_1};
const KernelRegistrar kCelu12{"Celu", 12, celu_12};
const KernelRegistrar kHardSigmoid1{"HardSigmoid", 1, hard_sigmoid_1};
const KernelRegistrar kHardSwish14{"HardSwish", 14, hard_swish_14};
const KernelRegistrar kPRelu7{"PRelu", 7, prelu_7};
const KernelRegistrar kSoftplus1{"Softplus", 1, softplus_1};
const KernelRegistrar kSoftsign1{"Softsign", 1, softsign_1};
const KernelRegistrar kThresholdedRelu10{"ThresholdedRelu", 10, thresholded_relu_10};
const KernelRegistrar kShrink9{"Shrink", 9, shrink_9};
const KernelRegistrar kFloor1{"Floor", 1, floor_1};
const KernelRegistrar kCeil1{"Ceil", 1, ceil_1};
const KernelRegistrar kRound11{"Round", 11, round_11};
const KernelRegistrar kSign9{"Sign", 9, sign_9};
const KernelRegistrar kReciprocal1{"Reciprocal", 1, reciprocal_1};
const KernelRegistrar kErf9{"Erf", 9, erf_9};
const KernelRegistrar kSin7{"Sin", 7, math_unary<sin_fn>};
const KernelRegistrar kCos7{"Cos", 7, math_unary<cos_fn>};
const KernelRegistrar kTan7{"Tan", 7, math_unary<tan_fn>};
const KernelRegistrar kAsin7{"Asin", 7, math_unary<asin_fn>};
const KernelRegistrar kAcos7{"Acos", 7, math_unary<acos_fn>};
const KernelRegistrar kAtan7{"Atan", 7, math_unary<atan_fn>};
const KernelRegistrar kSinh9{"Sinh", 9, math_unary<sinh_fn>};
const KernelRegistrar kCosh9{"Cosh", 9, math_unary<cosh_fn>};
const KernelRegistrar kAsinh9{"Asinh", 9, math_unary<asinh_fn>};
const KernelRegistrar kAcosh9{"Acosh", 9, math_unary<acosh_fn>};
const KernelRegistrar kAtanh9{"Atanh", 9, math_unary<atanh_fn>};
const KernelRegistrar kIsNaN9{"IsNaN", 9, is_nan_9};
const KernelRegistrar kIsInf10{"IsInf", 10, is_inf_10};
const KernelRegistrar kNot1{"Not", 1, not_1};

}  // namespace

}  // namespace onnxfuzz::ref
