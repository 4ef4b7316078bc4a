// Reference kernels for ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
// ReduceLogSumExp, ReduceSumSquare, ArgMax, ArgMin, TopK and CumSum.
// Floats accumulate in double and round once per output. Integer sums and products wrap, as the
// spec's fixed-width arithmetic does; integer results of roots and logs are computed in double
// and truncated toward zero (numpy's astype), as the spec's reference does.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>

#include "oracles/reference/dispatch.h"
#include "oracles/reference/kernel.h"
#include "oracles/reference/shape.h"

namespace onnxfuzz::ref {
namespace {

// ---- reductions over a set of axes ----------------------------------------------------------

// Where each input element lands in the output of a reduction.
struct Reduction {
  Shape out_shape;
  std::array<std::vector<int64_t>, 1> to_out;  // input index -> output offset strides
};

// Reduces `axes` (every axis when empty), keeping them as 1 when `keepdims`.
Reduction reduction_of(const Shape& x, const std::vector<int64_t>& axes, bool keepdims) {
  const int64_t rank = static_cast<int64_t>(x.size());
  std::vector<bool> reduced(x.size(), axes.empty());
  if (!axes.empty()) {
    for (int64_t a : axes) {
      const int64_t axis = normalize_axis(a, rank);
      if (reduced[axis]) fail("axis {} is repeated", a);
      reduced[axis] = true;
    }
  }
  Reduction r;
  Shape kept;  // x with reduced dims set to 1
  for (int64_t d = 0; d < rank; ++d) {
    kept.push_back(reduced[d] ? 1 : x[d]);
    if (!reduced[d] || keepdims) r.out_shape.push_back(kept.back());
  }
  r.to_out[0] = broadcast_strides(kept, x);
  for (int64_t d = 0; d < rank; ++d) {
    if (reduced[d]) r.to_out[0][d] = 0;
  }
  return r;
}

Reduction reduction_of(const NodeContext& ctx) {
  return reduction_of(ctx.input(0).shape, ctx.ints_attr("axes"), ctx.int_attr("keepdims", 1) != 0);
}

// Folds every input element into its output's accumulator (`init` for each), then writes
// finish(accumulator) per output.
template <class T, class Acc, class Step, class Finish>
Tensor fold(const Tensor& x, const Reduction& r, Acc init, Step step, Finish finish) {
  Tensor y = make_tensor(x.dtype, r.out_shape);
  auto xv = x.values<T>();
  auto yv = y.values<T>();
  std::vector<Acc> acc(yv.size(), init);
  for_each_index(x.shape, r.to_out,
                 [&](int64_t i, const std::array<int64_t, 1>& at) { step(acc[at[0]], xv[i]); });
  for (size_t i = 0; i < yv.size(); ++i) yv[i] = finish(acc[i]);
  return y;
}

template <class T>
constexpr bool kFloating = std::is_floating_point_v<T>;

// An integer's absolute value, wrapping (|INT_MIN| is INT_MIN, as in two's complement).
template <class T>
uint64_t wrapping_abs(T v) {
  if constexpr (std::is_signed_v<T>) {
    if (v < 0) return uint64_t{0} - to_wrapping(v);
  }
  return to_wrapping(v);
}

// A wrapped integer accumulator read back as T, then as a real number.
template <class T>
double wrapped_value(uint64_t acc) {
  return static_cast<double>(from_wrapping<T>(acc));
}

// A real result stored as T: floats round, integers truncate toward zero (saturating).
template <class T>
T store(double v) {
  return from_double<T>(v);
}

std::vector<Tensor> reduce_min(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Reduction r = reduction_of(ctx);
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    T init = std::numeric_limits<T>::max();
    if constexpr (kFloating<T>) init = std::numeric_limits<T>::infinity();
    // NaN wins, as with numpy's minimum.
    return fold<T>(
        x, r, init,
        [](T& best, T v) {
          if (best != best) return;
          if (v < best || v != v) best = v;
        },
        [](T best) { return best; });
  })};
}

std::vector<Tensor> reduce_prod(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Reduction r = reduction_of(ctx);
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    if constexpr (kFloating<T>) {
      return fold<T>(
          x, r, 1.0, [](double& p, T v) { p *= v; }, [](double p) { return static_cast<T>(p); });
    } else {
      return fold<T>(
          x, r, uint64_t{1}, [](uint64_t& p, T v) { p *= to_wrapping(v); },
          [](uint64_t p) { return from_wrapping<T>(p); });
    }
  })};
}

std::vector<Tensor> reduce_l1(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Reduction r = reduction_of(ctx);
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    if constexpr (kFloating<T>) {
      return fold<T>(
          x, r, 0.0, [](double& s, T v) { s += std::abs(static_cast<double>(v)); },
          [](double s) { return static_cast<T>(s); });
    } else {
      return fold<T>(
          x, r, uint64_t{0}, [](uint64_t& s, T v) { s += wrapping_abs(v); },
          [](uint64_t s) { return from_wrapping<T>(s); });
    }
  })};
}

// Sum of squares, then `finish` on the real sum (the identity for ReduceSumSquare).
template <class Finish>
Tensor squares(const Tensor& x, const Reduction& r, Finish finish) {
  return dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    if constexpr (kFloating<T>) {
      return fold<T>(
          x, r, 0.0,
          [](double& s, T v) {
            const double d = v;
            s += d * d;
          },
          [&](double s) { return static_cast<T>(finish(s)); });
    } else {
      return fold<T>(
          x, r, uint64_t{0},
          [](uint64_t& s, T v) {
            const uint64_t w = to_wrapping(v);
            s += w * w;
          },
          [&](uint64_t s) { return store<T>(finish(wrapped_value<T>(s))); });
    }
  });
}

std::vector<Tensor> reduce_sum_square(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Reduction r = reduction_of(ctx);
  // Integers stay exact here: the wrapped sum is the result, no trip through double.
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    if constexpr (kFloating<T>) {
      return squares(x, r, [](double s) { return s; });
    } else {
      return fold<T>(
          x, r, uint64_t{0},
          [](uint64_t& s, T v) {
            const uint64_t w = to_wrapping(v);
            s += w * w;
          },
          [](uint64_t s) { return from_wrapping<T>(s); });
    }
  })};
}

std::vector<Tensor> reduce_l2(const NodeContext& ctx) {
  return {squares(ctx.input(0), reduction_of(ctx), [](double s) { return std::sqrt(s); })};
}

std::vector<Tensor> reduce_log_sum(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Reduction r = reduction_of(ctx);
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    if constexpr (kFloating<T>) {
      return fold<T>(
          x, r, 0.0, [](double& s, T v) { s += v; },
          [](double s) { return static_cast<T>(std::log(s)); });
    } else {
      return fold<T>(
          x, r, uint64_t{0}, [](uint64_t& s, T v) { s += to_wrapping(v); },
          [](uint64_t s) { return store<T>(std::log(wrapped_value<T>(s))); });
    }
  })};
}

// log(sum(exp(x))) computed as max + log(sum(exp(x - max))), so large inputs do not overflow.
std::vector<Tensor> reduce_log_sum_exp(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Reduction r = reduction_of(ctx);
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    auto xv = x.values<T>();
    const int64_t outputs = shape_numel(r.out_shape);
    std::vector<double> max(static_cast<size_t>(outputs), -std::numeric_limits<double>::infinity());
    std::vector<double> sum(static_cast<size_t>(outputs), 0.0);
    for_each_index(x.shape, r.to_out, [&](int64_t i, const std::array<int64_t, 1>& at) {
      const double v = static_cast<double>(xv[i]);
      double& m = max[at[0]];
      if (m != m) return;
      if (v > m || v != v) m = v;
    });
    for_each_index(x.shape, r.to_out, [&](int64_t i, const std::array<int64_t, 1>& at) {
      const double m = max[at[0]];
      if (std::isfinite(m)) sum[at[0]] += std::exp(static_cast<double>(xv[i]) - m);
    });
    Tensor y = make_tensor(x.dtype, r.out_shape);
    auto yv = y.values<T>();
    for (int64_t o = 0; o < outputs; ++o) {
      // An infinite or NaN maximum is the result (+inf dominates; all -inf, or none, is -inf).
      const double m = max[o];
      yv[o] = store<T>(std::isfinite(m) ? m + std::log(sum[o]) : m);
    }
    return y;
  })};
}

// ---- one axis: ArgMax, ArgMin, TopK, CumSum -------------------------------------------------

// x viewed as [outer, length, inner] around `axis`.
struct AxisView {
  int64_t axis = 0, outer = 1, length = 1, inner = 1;
};

AxisView axis_view(const Shape& x, int64_t axis_attr) {
  const int64_t rank = static_cast<int64_t>(x.size());
  AxisView v;
  v.axis = normalize_axis(axis_attr, rank);
  for (int64_t d = 0; d < rank; ++d) {
    (d < v.axis ? v.outer : d == v.axis ? v.length : v.inner) *= x[d];
  }
  return v;
}

// A strict weak order on values where NaN sorts above every number (numpy's sort order), so
// comparisons stay well defined on any input.
template <class T>
bool value_less(T a, T b) {
  if constexpr (kFloating<T>) {
    if (b != b) return a == a;
    if (a != a) return false;
  }
  return a < b;
}

// ArgMax/ArgMin-1..13: the index of the first (or, with select_last_index since 12, the last)
// extreme value along `axis`; NaN counts as the extreme, as numpy's argmax/argmin have it.
template <bool kMax>
std::vector<Tensor> arg_extreme(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const AxisView v = axis_view(x.shape, ctx.int_attr("axis", 0));
  if (v.length == 0) fail("the index of an extreme over an empty axis is undefined");
  const bool last = ctx.int_attr("select_last_index", 0) != 0;
  Shape out_shape = x.shape;
  if (ctx.int_attr("keepdims", 1) != 0) {
    out_shape[v.axis] = 1;
  } else {
    out_shape.erase(out_shape.begin() + v.axis);
  }
  Tensor y = make_tensor(DType::kInt64, out_shape);
  auto yv = y.values<int64_t>();
  dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    auto xv = x.values<T>();
    // `a` beats `b` strictly: larger for ArgMax, smaller for ArgMin, NaN beating both.
    auto beats = [](T a, T b) {
      if constexpr (kFloating<T>) {
        if (a != a) return b == b;
        if (b != b) return false;
      }
      return kMax ? b < a : a < b;
    };
    for (int64_t o = 0; o < v.outer; ++o) {
      for (int64_t i = 0; i < v.inner; ++i) {
        const int64_t base = o * v.length * v.inner + i;
        int64_t best = 0;
        for (int64_t l = 1; l < v.length; ++l) {
          const T cur = xv[base + l * v.inner], top = xv[base + best * v.inner];
          if (beats(cur, top) || (last && !beats(top, cur))) best = l;
        }
        yv[o * v.inner + i] = best;
      }
    }
  });
  return {y};
}

// The K largest (or smallest) values along `axis`, sorted, ties broken by the lower index, and
// their indices. Unsorted output (sorted=0) may come in any order; sorted order is one of them.
std::vector<Tensor> top_k(const Tensor& x, int64_t k, int64_t axis, bool largest) {
  const AxisView v = axis_view(x.shape, axis);
  if (k < 0 || k > v.length) fail("K = {} is outside [0, {}]", k, v.length);
  Shape out_shape = x.shape;
  out_shape[v.axis] = k;
  Tensor values = make_tensor(x.dtype, out_shape);
  Tensor indices = make_tensor(DType::kInt64, out_shape);
  auto iv = indices.values<int64_t>();
  dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    auto xv = x.values<T>();
    auto yv = values.values<T>();
    std::vector<int64_t> order(static_cast<size_t>(v.length));
    for (int64_t o = 0; o < v.outer; ++o) {
      for (int64_t i = 0; i < v.inner; ++i) {
        const int64_t base = o * v.length * v.inner + i;
        auto at = [&](int64_t l) { return xv[base + l * v.inner]; };
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          return largest ? value_less(at(b), at(a)) : value_less(at(a), at(b));
        });
        for (int64_t j = 0; j < k; ++j) {
          const int64_t out = (o * k + j) * v.inner + i;
          yv[out] = at(order[j]);
          iv[out] = order[j];
        }
      }
    }
  });
  return {values, indices};
}

// TopK-1: K is the attribute `k`; always the largest, sorted.
std::vector<Tensor> top_k_1(const NodeContext& ctx) {
  const onnx::AttributeProto* k = ctx.attribute("k");
  if (k == nullptr) fail("TopK-1 needs the attribute k");
  return top_k(ctx.input(0), k->i(), ctx.int_attr("axis", -1), true);
}

// TopK-10: K is a one-element int64 input; TopK-11 adds `largest` and `sorted`, whose defaults
// are TopK-10's behaviour, and negative axes, which this kernel takes anyway.
std::vector<Tensor> top_k_10(const NodeContext& ctx) {
  const Tensor& k = ctx.input(1);
  if (k.dtype != DType::kInt64 || k.numel() != 1 || k.rank() != 1)
    fail("K must be a 1-D int64 tensor of one element, got {}", shape_string(k.shape));
  return top_k(ctx.input(0), k.values<int64_t>()[0], ctx.int_attr("axis", -1),
               ctx.int_attr("largest", 1) != 0);
}

// CumSum-11 (and 14, which only adds element types): running sums along the axis given as a
// rank-0 (or one-element) int32/int64 input; `exclusive` leaves the current element out,
// `reverse` runs from the end.
std::vector<Tensor> cum_sum(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::vector<int64_t> axis = read_ints(ctx.input(1), "axis");
  if (axis.size() != 1) fail("axis must hold one value, got {}", axis.size());
  if (x.rank() == 0) fail("CumSum needs an input of rank >= 1");
  const AxisView v = axis_view(x.shape, axis[0]);
  const bool exclusive = ctx.int_attr("exclusive", 0) != 0;
  const bool reverse = ctx.int_attr("reverse", 0) != 0;
  return {dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, x.shape);
    auto xv = x.values<T>();
    auto yv = y.values<T>();
    using Acc = std::conditional_t<kFloating<T>, double, uint64_t>;
    for (int64_t o = 0; o < v.outer; ++o) {
      for (int64_t i = 0; i < v.inner; ++i) {
        const int64_t base = o * v.length * v.inner + i;
        Acc run{};
        for (int64_t step = 0; step < v.length; ++step) {
          const int64_t at = base + (reverse ? v.length - 1 - step : step) * v.inner;
          Acc term;
          if constexpr (kFloating<T>) {
            term = static_cast<double>(xv[at]);
          } else {
            term = to_wrapping(xv[at]);
          }
          if (!exclusive) run += term;
          if constexpr (kFloating<T>) {
            yv[at] = static_cast<T>(run);
          } else {
            yv[at] = from_wrapping<T>(run);
          }
          if (exclusive) run += term;
        }
      }
    }
    return y;
  })};
}

// Reduce*-1, 11 and 13 differ only in element types and in negative axes (taken by every
// version here); opset 18 moves axes to an input and would be a new kernel.
const KernelRegistrar kReduceMin1{"ReduceMin", 1, reduce_min};
const KernelRegistrar kReduceProd1{"ReduceProd", 1, reduce_prod};
const KernelRegistrar kReduceL11{"ReduceL1", 1, reduce_l1};
const KernelRegistrar kReduceL21{"ReduceL2", 1, reduce_l2};
const KernelRegistrar kReduceLogSum1{"ReduceLogSum", 1, reduce_log_sum};
const KernelRegistrar kReduceLogSumExp1{"ReduceLogSumExp", 1, reduce_log_sum_exp};
const KernelRegistrar kReduceSumSquare1{"ReduceSumSquare", 1, reduce_sum_square};
// ArgMax/ArgMin-12 added select_last_index, whose default 0 is the version-1 behaviour.
const KernelRegistrar kArgMax1{"ArgMax", 1, arg_extreme<true>};
const KernelRegistrar kArgMin1{"ArgMin", 1, arg_extreme<false>};
const KernelRegistrar kTopK1{"TopK", 1, top_k_1};
const KernelRegistrar kTopK10{"TopK", 10, top_k_10};
const KernelRegistrar kCumSum11{"CumSum", 11, cum_sum};

}  // namespace
}  // namespace onnxfuzz::ref
