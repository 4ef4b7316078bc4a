// Reference kernels for contractions, windows and reductions: MatMul, Gemm, Conv, pools,
// ReduceSum/Mean/Max and Softmax. Float sums accumulate in double and round once per output.
#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>

#include "oracles/reference/dispatch.h"
#include "oracles/reference/kernel.h"
#include "oracles/reference/shape.h"

namespace onnxfuzz::ref {
namespace {

// Accumulator per element type: double for floats, wrapping 64-bit for integers.
template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;

// Rounds a float sum once; integer sums wrap (modular conversion), as ORT's integer kernels do.
template <class T>
T from_acc(Acc<T> v) {
  return static_cast<T>(v);
}

template <class T>
Acc<T> to_acc(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<double>(v);
  } else {
    return to_wrapping(v);
  }
}

// ---- MatMul, Gemm ---------------------------------------------------------------------------

using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A rows x cols row-major block of floats (or doubles), widened to double.
template <class T>
RowMajorMatrix widen(const T* data, int64_t rows, int64_t cols) {
  return Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
             data, rows, cols)
      .template cast<double>();
}

std::vector<Tensor> matmul(const NodeContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype != b.dtype)
    fail("element types differ: {} and {}", dtype_name(a.dtype), dtype_name(b.dtype));
  if (a.rank() == 0 || b.rank() == 0) fail("MatMul operands must have rank >= 1");
  // numpy: a 1-D A is a row vector, a 1-D B a column vector; the added dim is removed after.
  Shape as = a.shape, bs = b.shape;
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs[bs.size() - 2] != k) {
    fail("inner dimensions differ: {} x {}", shape_string(a.shape), shape_string(b.shape));
  }
  const Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  const std::array<const Shape*, 2> batches{&a_batch, &b_batch};
  const Shape batch = broadcast_shape(batches);
  Shape out_shape = batch;
  if (a.rank() > 1) out_shape.push_back(m);
  if (b.rank() > 1) out_shape.push_back(n);
  std::array<std::vector<int64_t>, 2> strides{broadcast_strides(a_batch, batch),
                                              broadcast_strides(b_batch, batch)};
  for (auto& s : strides[0]) s *= m * k;
  for (auto& s : strides[1]) s *= k * n;

  return {dispatch_numeric(a.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(a.dtype, out_shape);
    auto av = a.values<T>();
    auto bv = b.values<T>();
    auto yv = y.values<T>();
    // Integer accumulators only: the floating path multiplies with Eigen.
    std::vector<Acc<T>> acc(std::is_floating_point_v<T> ? 0 : static_cast<size_t>(m * n));
    for_each_index(batch, strides, [&](int64_t index, const std::array<int64_t, 2>& at) {
      const T* ap = av.data() + at[0];
      const T* bp = bv.data() + at[1];
      T* out = yv.data() + index * m * n;
      if constexpr (std::is_floating_point_v<T>) {
        // Eigen's product in double: operands widened once, each output rounded once.
        const RowMajorMatrix product = widen(ap, m, k) * widen(bp, k, n);
        for (int64_t i = 0; i < m * n; ++i) out[i] = static_cast<T>(product.data()[i]);
        return;
      }
      std::fill(acc.begin(), acc.end(), Acc<T>{});
      for (int64_t i = 0; i < m; ++i) {
        Acc<T>* row = acc.data() + i * n;
        for (int64_t p = 0; p < k; ++p) {
          const Acc<T> aip = to_acc(ap[i * k + p]);
          const T* brow = bp + p * n;
          for (int64_t j = 0; j < n; ++j) row[j] += aip * to_acc(brow[j]);
        }
      }
      for (int64_t i = 0; i < m * n; ++i) out[i] = from_acc<T>(acc[i]);
    });
    return y;
  })};
}

std::vector<Tensor> gemm(const NodeContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor* c = ctx.optional_input(2);
  if (a.rank() != 2 || b.rank() != 2) {
    fail("A and B must be 2-D, got {} and {}", shape_string(a.shape), shape_string(b.shape));
  }
  if (a.dtype != b.dtype || (c != nullptr && c->dtype != a.dtype)) fail("element types differ");
  const bool ta = ctx.int_attr("transA", 0) != 0;
  const bool tb = ctx.int_attr("transB", 0) != 0;
  const double alpha = ctx.float_attr("alpha", 1.0f);
  const double beta = ctx.float_attr("beta", 1.0f);
  const int64_t m = ta ? a.shape[1] : a.shape[0];
  const int64_t k = ta ? a.shape[0] : a.shape[1];
  const int64_t kb = tb ? b.shape[1] : b.shape[0];
  const int64_t n = tb ? b.shape[0] : b.shape[1];
  if (k != kb)
    fail("inner dimensions differ: {} x {}", shape_string(a.shape), shape_string(b.shape));
  const Shape out_shape{m, n};
  std::vector<int64_t> c_strides;
  if (c != nullptr) {
    // Unidirectional: C must broadcast to (M, N) without changing it.
    const std::array<const Shape*, 2> shapes{&c->shape, &out_shape};
    if (c->rank() > 2 || broadcast_shape(shapes) != out_shape) {
      fail("C of shape {} does not broadcast to {}", shape_string(c->shape),
           shape_string(out_shape));
    }
    c_strides = broadcast_strides(c->shape, out_shape);
  }
  return {dispatch_numeric(a.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(a.dtype, out_shape);
    auto av = a.values<T>();
    auto bv = b.values<T>();
    auto yv = y.values<T>();
    const T* cv = c != nullptr ? c->values<T>().data() : nullptr;
    auto add_c = [&](int64_t i, int64_t j, double v) {
      if (cv != nullptr) v += beta * static_cast<double>(cv[i * c_strides[0] + j * c_strides[1]]);
      return v;
    };
    if constexpr (std::is_floating_point_v<T>) {
      // Eigen's product in double, as in MatMul.
      RowMajorMatrix op_a = widen(av.data(), a.shape[0], a.shape[1]);
      RowMajorMatrix op_b = widen(bv.data(), b.shape[0], b.shape[1]);
      if (ta) op_a.transposeInPlace();
      if (tb) op_b.transposeInPlace();
      const RowMajorMatrix product = op_a * op_b;
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          yv[i * n + j] = from_double<T>(add_c(i, j, alpha * product(i, j)));
        }
      }
      return y;
    }
    // Element strides of op(A) along i and p, and of op(B) along p and j.
    const int64_t a_i = ta ? 1 : k, a_p = ta ? m : 1;
    const int64_t b_p = tb ? 1 : n, b_j = tb ? k : 1;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (int64_t p = 0; p < k; ++p) {
          sum += static_cast<double>(av[i * a_i + p * a_p]) *
                 static_cast<double>(bv[p * b_p + j * b_j]);
        }
        yv[i * n + j] = from_double<T>(add_c(i, j, alpha * sum));
      }
    }
    return y;
  })};
}

// ---- sliding windows (Conv, MaxPool, AveragePool) -------------------------------------------

// Output extent and padding of an N-D window op, from auto_pad/pads/strides/dilations.
struct WindowPlan {
  Shape in;  // input spatial dims
  Shape out;
  std::vector<int64_t> kernel, strides, dilations, pad_begin, pad_end;
  int64_t taps = 1;                  // prod(kernel)
  std::vector<int64_t> tap_offsets;  // taps x rank: offset of each tap, dilation applied
};

WindowPlan plan_windows(const NodeContext& ctx, const Shape& in, const Shape& kernel,
                        bool ceil_allowed) {
  const size_t nd = in.size();
  WindowPlan plan;
  plan.in = in;
  plan.kernel = kernel;
  plan.strides = ctx.ints_attr("strides");
  plan.dilations = ctx.ints_attr("dilations");
  std::vector<int64_t> pads = ctx.ints_attr("pads");
  if (plan.strides.empty()) plan.strides.assign(nd, 1);
  if (plan.dilations.empty()) plan.dilations.assign(nd, 1);
  if (pads.empty()) pads.assign(2 * nd, 0);
  if (plan.kernel.size() != nd || plan.strides.size() != nd || plan.dilations.size() != nd ||
      pads.size() != 2 * nd) {
    fail("kernel_shape/strides/dilations/pads do not match {} spatial dims", nd);
  }
  const std::string auto_pad = ctx.string_attr("auto_pad", "NOTSET");
  const bool ceil_mode = ceil_allowed && ctx.int_attr("ceil_mode", 0) != 0;
  plan.out.resize(nd);
  plan.pad_begin.resize(nd);
  plan.pad_end.resize(nd);
  for (size_t d = 0; d < nd; ++d) {
    const int64_t k = plan.kernel[d], s = plan.strides[d], dil = plan.dilations[d];
    if (k <= 0 || s <= 0 || dil <= 0) fail("kernel, strides and dilations must be positive");
    const int64_t span = (k - 1) * dil + 1;  // extent of one window
    if (auto_pad == "NOTSET") {
      plan.pad_begin[d] = pads[d];
      plan.pad_end[d] = pads[d + nd];
      if (pads[d] < 0 || pads[d + nd] < 0) fail("pads must be non-negative");
      const int64_t room = in[d] + pads[d] + pads[d + nd] - span;
      if (room < 0)
        fail("window of extent {} exceeds padded input dim {}", span,
             in[d] + pads[d] + pads[d + nd]);
      // ONNX (as of opset 17) uses plain ceil here, without PyTorch's rule that the last
      // window must start inside the input.
      plan.out[d] = (ceil_mode ? (room + s - 1) / s : room / s) + 1;
    } else if (auto_pad == "VALID") {
      if (in[d] < span) fail("window of extent {} exceeds input dim {}", span, in[d]);
      plan.out[d] = (in[d] - span) / s + 1;
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      plan.out[d] = (in[d] + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (plan.out[d] - 1) * s + span - in[d]);
      // The odd pixel of padding goes at the end for SAME_UPPER, at the start for SAME_LOWER.
      plan.pad_begin[d] = auto_pad == "SAME_UPPER" ? total / 2 : (total + 1) / 2;
      plan.pad_end[d] = total - plan.pad_begin[d];
    } else {
      fail("unknown auto_pad '{}'", auto_pad);
    }
  }
  // Bounds the work of one node, so a fuzzed kernel_shape or pads cannot stall the loop.
  long double work = 1;
  for (int64_t k : plan.kernel) work *= static_cast<long double>(k);
  for (int64_t o : plan.out) work *= static_cast<long double>(o);
  if (work > 1e10L) fail("window op is too large ({} taps x positions)", static_cast<double>(work));
  for (int64_t k : plan.kernel) plan.taps *= k;
  plan.tap_offsets.resize(static_cast<size_t>(plan.taps) * nd);
  std::vector<int64_t> tap(nd, 0);
  for (int64_t t = 0; t < plan.taps; ++t) {
    for (size_t d = 0; d < nd; ++d) plan.tap_offsets[t * nd + d] = tap[d] * plan.dilations[d];
    for (size_t d = nd; d-- > 0;) {
      if (++tap[d] < plan.kernel[d]) break;
      tap[d] = 0;
    }
  }
  return plan;
}

// Walks every output position of a plan. For each, fills `tap_index` with the row-major spatial
// input index of each tap, or -1 if it falls outside the input, and `tap_in_pads` with whether
// it lies inside input+pads (what count_include_pad counts). Then calls f(output_position).
template <class F>
void for_each_window(const WindowPlan& plan, std::vector<int64_t>& tap_index,
                     std::vector<uint8_t>& tap_in_pads, F&& f) {
  const size_t nd = plan.in.size();
  const std::vector<int64_t> in_strides = strides_of(plan.in);
  tap_index.assign(static_cast<size_t>(plan.taps), -1);
  tap_in_pads.assign(static_cast<size_t>(plan.taps), 0);
  std::vector<int64_t> pos(nd, 0), base(nd);
  const int64_t positions = shape_numel(plan.out);
  for (int64_t o = 0; o < positions; ++o) {
    for (size_t d = 0; d < nd; ++d) base[d] = pos[d] * plan.strides[d] - plan.pad_begin[d];
    for (int64_t t = 0; t < plan.taps; ++t) {
      int64_t index = 0;
      bool inside = true, in_pads = true;
      for (size_t d = 0; d < nd; ++d) {
        const int64_t c = base[d] + plan.tap_offsets[t * nd + d];
        if (c < 0 || c >= plan.in[d]) inside = false;
        if (c < -plan.pad_begin[d] || c >= plan.in[d] + plan.pad_end[d]) in_pads = false;
        index += c * in_strides[d];
      }
      tap_index[t] = inside ? index : -1;
      tap_in_pads[t] = in_pads ? 1 : 0;
    }
    f(o);
    for (size_t d = nd; d-- > 0;) {
      if (++pos[d] < plan.out[d]) break;
      pos[d] = 0;
    }
  }
}

std::vector<Tensor> conv(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* bias = ctx.optional_input(2);
  if (x.rank() < 3) fail("X must have rank >= 3, got {}", shape_string(x.shape));
  if (w.rank() != x.rank()) fail("W rank {} differs from X rank {}", w.rank(), x.rank());
  if (w.dtype != x.dtype || (bias != nullptr && bias->dtype != x.dtype))
    fail("element types differ");
  const int64_t batch = x.shape[0], channels = x.shape[1], maps = w.shape[0];
  const int64_t group = ctx.int_attr("group", 1);
  if (group <= 0 || channels % group != 0 || maps % group != 0) {
    fail("group {} does not divide channels {} and feature maps {}", group, channels, maps);
  }
  const int64_t group_channels = channels / group, group_maps = maps / group;
  if (w.shape[1] != group_channels) {
    fail("W has {} input channels per group, X gives {}", w.shape[1], group_channels);
  }
  if (bias != nullptr && (bias->rank() != 1 || bias->shape[0] != maps)) {
    fail("bias of shape {} does not match {} feature maps", shape_string(bias->shape), maps);
  }
  const Shape in(x.shape.begin() + 2, x.shape.end());
  const Shape w_kernel(w.shape.begin() + 2, w.shape.end());
  Shape kernel = ctx.ints_attr("kernel_shape");
  if (kernel.empty()) kernel = w_kernel;
  if (kernel != w_kernel)
    fail("kernel_shape {} differs from W's {}", shape_string(kernel), shape_string(w_kernel));
  const WindowPlan plan = plan_windows(ctx, in, kernel, /*ceil_allowed=*/false);
  Shape out_shape{batch, maps};
  out_shape.insert(out_shape.end(), plan.out.begin(), plan.out.end());

  return {dispatch_floating(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, out_shape);
    auto xv = x.values<T>();
    auto wv = w.values<T>();
    auto yv = y.values<T>();
    const int64_t in_size = shape_numel(in), out_size = shape_numel(plan.out);
    std::vector<int64_t> tap_index;
    std::vector<uint8_t> tap_in_pads;
    for (int64_t b = 0; b < batch; ++b) {
      for_each_window(plan, tap_index, tap_in_pads, [&](int64_t o) {
        for (int64_t m = 0; m < maps; ++m) {
          const int64_t g = m / group_maps;
          double sum = bias != nullptr ? static_cast<double>(bias->values<T>()[m]) : 0.0;
          for (int64_t c = 0; c < group_channels; ++c) {
            const T* xc = xv.data() + (b * channels + g * group_channels + c) * in_size;
            const T* wc = wv.data() + (m * group_channels + c) * plan.taps;
            for (int64_t t = 0; t < plan.taps; ++t) {
              if (tap_index[t] >= 0) sum += static_cast<double>(xc[tap_index[t]]) * wc[t];
            }
          }
          yv[(b * maps + m) * out_size + o] = static_cast<T>(sum);
        }
      });
    }
    return y;
  })};
}

// Shared front of the pools: checks X and plans the windows.
WindowPlan plan_pool(const NodeContext& ctx, const Tensor& x, Shape& out_shape) {
  if (x.rank() < 3) fail("X must have rank >= 3, got {}", shape_string(x.shape));
  const Shape in(x.shape.begin() + 2, x.shape.end());
  const Shape kernel = ctx.ints_attr("kernel_shape");
  if (kernel.empty()) fail("kernel_shape is required");
  WindowPlan plan = plan_windows(ctx, in, kernel, /*ceil_allowed=*/true);
  out_shape = {x.shape[0], x.shape[1]};
  out_shape.insert(out_shape.end(), plan.out.begin(), plan.out.end());
  return plan;
}

std::vector<Tensor> max_pool(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  Shape out_shape;
  const WindowPlan plan = plan_pool(ctx, x, out_shape);
  const bool column_major = ctx.int_attr("storage_order", 0) != 0;
  const bool want_indices = ctx.wants_output(1);
  // Indices are flat positions in X; with storage_order=1 the spatial part is column-major.
  const size_t nd = plan.in.size();
  const std::vector<int64_t> row_strides = strides_of(plan.in);
  std::vector<int64_t> col_strides(nd);
  for (size_t d = 0, s = 1; d < nd; ++d) {
    col_strides[d] = static_cast<int64_t>(s);
    s *= static_cast<size_t>(plan.in[d]);
  }
  Tensor indices = make_tensor(DType::kInt64, want_indices ? out_shape : Shape{0});
  Tensor y = dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, out_shape);
    auto xv = x.values<T>();
    auto yv = y.values<T>();
    auto iv = indices.values<int64_t>();
    const int64_t in_size = shape_numel(plan.in), out_size = shape_numel(plan.out);
    const int64_t planes = x.shape[0] * x.shape[1];
    std::vector<int64_t> tap_index;
    std::vector<uint8_t> tap_in_pads;
    for_each_window(plan, tap_index, tap_in_pads, [&](int64_t o) {
      for (int64_t p = 0; p < planes; ++p) {
        const T* xp = xv.data() + p * in_size;
        // First tap wins ties (strict '>'); a window with no usable tap gives lowest(), as ORT.
        T best = std::numeric_limits<T>::lowest();
        int64_t best_index = -1;
        for (int64_t t = 0; t < plan.taps; ++t) {
          const int64_t i = tap_index[t];
          if (i < 0 || xp[i] != xp[i]) continue;  // outside the input, or NaN (skipped like ORT)
          if (best_index < 0 || xp[i] > best) {
            best = xp[i];
            best_index = i;
          }
        }
        yv[p * out_size + o] = best;
        if (want_indices) {
          int64_t flat = -1;
          if (best_index >= 0) {
            flat = 0;
            int64_t rest = best_index;
            for (size_t d = 0; d < nd; ++d) {
              const int64_t coord = rest / row_strides[d];
              rest %= row_strides[d];
              flat += coord * (column_major ? col_strides[d] : row_strides[d]);
            }
            flat += p * in_size;
          }
          iv[p * out_size + o] = flat;
        }
      }
    });
    return y;
  });
  std::vector<Tensor> outputs;
  outputs.push_back(std::move(y));
  if (want_indices) outputs.push_back(std::move(indices));
  return outputs;
}

std::vector<Tensor> average_pool(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  Shape out_shape;
  const WindowPlan plan = plan_pool(ctx, x, out_shape);
  const bool include_pad = ctx.int_attr("count_include_pad", 0) != 0;
  return {dispatch_floating(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, out_shape);
    auto xv = x.values<T>();
    auto yv = y.values<T>();
    const int64_t in_size = shape_numel(plan.in), out_size = shape_numel(plan.out);
    const int64_t planes = x.shape[0] * x.shape[1];
    std::vector<int64_t> tap_index;
    std::vector<uint8_t> tap_in_pads;
    for_each_window(plan, tap_index, tap_in_pads, [&](int64_t o) {
      int64_t count = 0;
      for (int64_t t = 0; t < plan.taps; ++t) {
        count += include_pad ? tap_in_pads[t] : (tap_index[t] >= 0 ? 1 : 0);
      }
      for (int64_t p = 0; p < planes; ++p) {
        const T* xp = xv.data() + p * in_size;
        double sum = 0;
        for (int64_t t = 0; t < plan.taps; ++t) {
          if (tap_index[t] >= 0) sum += xp[tap_index[t]];
        }
        yv[p * out_size + o] = static_cast<T>(sum / static_cast<double>(count));
      }
    });
    return y;
  })};
}

// ---- reductions -----------------------------------------------------------------------------

enum class ReduceKind { kSum, kMean, kMax };

// Reduces x over `axes` (all axes when empty), keeping reduced dims as 1 when `keepdims`.
template <ReduceKind kind>
Tensor reduce(const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  const int64_t rank = static_cast<int64_t>(x.rank());
  std::vector<bool> reduced(x.rank(), axes.empty());
  for (int64_t a : axes) reduced[normalize_axis(a, rank)] = true;
  Shape out_shape, kept_shape;  // kept_shape: x.shape with reduced dims set to 1
  for (int64_t d = 0; d < rank; ++d) {
    kept_shape.push_back(reduced[d] ? 1 : x.shape[d]);
    if (!reduced[d] || keepdims) out_shape.push_back(kept_shape.back());
  }
  std::array<std::vector<int64_t>, 1> to_out{broadcast_strides(kept_shape, x.shape)};
  for (int64_t d = 0; d < rank; ++d) {
    if (reduced[d]) to_out[0][d] = 0;  // also when a reduced dim has size 1
  }
  const int64_t count = shape_numel(x.shape) / std::max<int64_t>(1, shape_numel(kept_shape));

  return dispatch_numeric(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, out_shape);
    auto xv = x.values<T>();
    auto yv = y.values<T>();
    if constexpr (kind == ReduceKind::kMax) {
      // NaN wins, as with numpy's maximum.
      T init = std::numeric_limits<T>::lowest();
      if constexpr (std::is_floating_point_v<T>) init = -std::numeric_limits<T>::infinity();
      std::fill(yv.begin(), yv.end(), init);
      for_each_index(x.shape, to_out, [&](int64_t i, const std::array<int64_t, 1>& at) {
        T& best = yv[at[0]];
        if (best != best) return;  // NaN already won
        if (xv[i] > best || xv[i] != xv[i]) best = xv[i];
      });
    } else {
      std::vector<Acc<T>> acc(yv.size(), Acc<T>{});
      for_each_index(x.shape, to_out, [&](int64_t i, const std::array<int64_t, 1>& at) {
        acc[at[0]] += to_acc(xv[i]);
      });
      for (size_t i = 0; i < yv.size(); ++i) {
        if constexpr (kind == ReduceKind::kMean) {
          // An integer mean is the wrapped sum (read back as T's signedness) divided, truncated.
          double sum;
          if constexpr (std::is_floating_point_v<T>) {
            sum = acc[i];
          } else if constexpr (std::is_signed_v<T>) {
            sum = static_cast<double>(static_cast<int64_t>(acc[i]));
          } else {
            sum = static_cast<double>(acc[i]);
          }
          yv[i] = from_double<T>(sum / static_cast<double>(count));
        } else {
          yv[i] = from_acc<T>(acc[i]);
        }
      }
    }
    return y;
  });
}

// Reduce*-1 (and ReduceSum up to 11, ReduceMean/ReduceMax up to 13): axes is an attribute.
template <ReduceKind kind>
std::vector<Tensor> reduce_1(const NodeContext& ctx) {
  return {reduce<kind>(ctx.input(0), ctx.ints_attr("axes"), ctx.int_attr("keepdims", 1) != 0)};
}

// ReduceSum-13: axes is an optional input, and noop_with_empty_axes turns "no axes" from
// "all axes" into the identity.
std::vector<Tensor> reduce_sum_13(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> axes;
  if (const Tensor* t = ctx.optional_input(1)) axes = read_ints(*t, "axes");
  if (axes.empty() && ctx.int_attr("noop_with_empty_axes", 0) != 0) return {x};
  return {reduce<ReduceKind::kSum>(x, axes, ctx.int_attr("keepdims", 1) != 0)};
}

// exp(x - max) / sum(exp(x - max)) over `length` elements `inner` apart, for each of the
// outer x inner positions; computed in double and rounded once.
Tensor normalized_exp(const Tensor& x, int64_t outer, int64_t length, int64_t inner) {
  return dispatch_floating(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, x.shape);
    auto xv = x.values<T>();
    auto yv = y.values<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = o * length * inner + i;
        double max = -std::numeric_limits<double>::infinity();
        for (int64_t l = 0; l < length; ++l) max = std::max<double>(max, xv[base + l * inner]);
        double sum = 0;
        for (int64_t l = 0; l < length; ++l) sum += std::exp(xv[base + l * inner] - max);
        for (int64_t l = 0; l < length; ++l) {
          yv[base + l * inner] = static_cast<T>(std::exp(xv[base + l * inner] - max) / sum);
        }
      }
    }
    return y;
  });
}

// Softmax-1/11: x is coerced to 2-D at `axis` (default 1) and each row, the whole trailing
// block, is normalised.
std::vector<Tensor> softmax_1(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.rank());
  const int64_t axis = normalize_axis(ctx.int_attr("axis", 1), std::max<int64_t>(rank, 1));
  int64_t outer = 1, length = 1;
  for (int64_t d = 0; d < rank; ++d) (d < axis ? outer : length) *= x.shape[d];
  return {normalized_exp(x, outer, length, 1)};
}

// Softmax-13: normalised along the single `axis` (default -1).
std::vector<Tensor> softmax_13(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.rank());
  const int64_t axis = normalize_axis(ctx.int_attr("axis", -1), std::max<int64_t>(rank, 1));
  int64_t outer = 1, length = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) (d < axis ? outer : d == axis ? length : inner) *= x.shape[d];
  return {normalized_exp(x, outer, length, inner)};
}

// MatMul-9/13 and the later versions of the window ops only add element types or attributes
// with defaults that keep the version-1 behaviour, so one kernel serves each op.
const KernelRegistrar kMatMul1{"MatMul", 1, matmul};
// Gemm-7 replaced the legacy broadcast attribute with unidirectional broadcasting of C.
const KernelRegistrar kGemm7{"Gemm", 7, gemm};
const KernelRegistrar kConv1{"Conv", 1, conv};
const KernelRegistrar kMaxPool1{"MaxPool", 1, max_pool};
const KernelRegistrar kAveragePool1{"AveragePool", 1, average_pool};
const KernelRegistrar kReduceSum1{"ReduceSum", 1, reduce_1<ReduceKind::kSum>};
const KernelRegistrar kReduceSum13{"ReduceSum", 13, reduce_sum_13};
const KernelRegistrar kReduceMean1{"ReduceMean", 1, reduce_1<ReduceKind::kMean>};
const KernelRegistrar kReduceMax1{"ReduceMax", 1, reduce_1<ReduceKind::kMax>};
const KernelRegistrar kSoftmax1{"Softmax", 1, softmax_1};
const KernelRegistrar kSoftmax13{"Softmax", 13, softmax_13};

}  // namespace

}  // namespace onnxfuzz::ref
