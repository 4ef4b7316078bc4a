// Reference kernels: BatchNormalization, InstanceNormalization, LayerNormalization, LRN,
// ConvTranspose, GlobalAveragePool, GlobalMaxPool, LogSoftmax, Hardmax and Einsum. Floats are
// computed in double and rounded once per output (half types arrive widened to float32).
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <type_traits>

#include "oracles/reference/dispatch.h"
#include "oracles/reference/kernel.h"
#include "oracles/reference/shape.h"

namespace onnxfuzz::ref {
namespace {

// A small parameter tensor (scale, bias, mean, var) of any float dtype, as doubles.
std::vector<double> doubles(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) out[static_cast<size_t>(i)] = t.as_double(i);
  return out;
}

void expect_channel_vector(const Tensor& t, int64_t channels, const char* what) {
  if (t.rank() != 1 || t.shape[0] != channels)
    fail("{} of shape {} does not match {} channels", what, shape_string(t.shape), channels);
}

// ---- BatchNormalization ---------------------------------------------------------------------

// BatchNormalization-9/14/15. Inference mode: Y = scale * (X - mean) / sqrt(var + eps) + B per
// channel. training_mode=1 (14+) normalizes with the batch statistics (population variance) and
// returns running_mean/var = input * momentum + batch * (1 - momentum).
std::vector<Tensor> batch_norm_9(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) fail("X must have rank >= 2, got {}", shape_string(x.shape));
  const int64_t batch = x.shape[0], channels = x.shape[1];
  const int64_t inner = shape_numel(Shape(x.shape.begin() + 2, x.shape.end()));
  const char* names[] = {"scale", "B", "input_mean", "input_var"};
  for (size_t i = 1; i <= 4; ++i) expect_channel_vector(ctx.input(i), channels, names[i - 1]);
  const std::vector<double> scale = doubles(ctx.input(1)), bias = doubles(ctx.input(2));
  std::vector<double> mean = doubles(ctx.input(3)), var = doubles(ctx.input(4));
  const double eps = ctx.float_attr("epsilon", 1e-5f);
  const bool training = ctx.int_attr("training_mode", 0) != 0;
  std::vector<double> batch_mean(static_cast<size_t>(channels)), batch_var(batch_mean.size());
  return dispatch_floating(x.dtype, [&]<class T>(TypeTag<T>) {
    auto xv = x.values<T>();
    if (training) {
      const double count = static_cast<double>(batch * inner);
      for (int64_t c = 0; c < channels; ++c) {
        double sum = 0, squares = 0;
        for (int64_t n = 0; n < batch; ++n) {
          const T* p = xv.data() + (n * channels + c) * inner;
          for (int64_t i = 0; i < inner; ++i) sum += p[i];
        }
        const double m = sum / count;
        for (int64_t n = 0; n < batch; ++n) {
          const T* p = xv.data() + (n * channels + c) * inner;
          for (int64_t i = 0; i < inner; ++i) squares += (p[i] - m) * (p[i] - m);
        }
        batch_mean[c] = m;
        batch_var[c] = squares / count;
      }
    }
    const std::vector<double>& use_mean = training ? batch_mean : mean;
    const std::vector<double>& use_var = training ? batch_var : var;
    Tensor y = make_tensor(x.dtype, x.shape);
    auto yv = y.values<T>();
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t c = 0; c < channels; ++c) {
        const double k = scale[c] / std::sqrt(use_var[c] + eps);
        const int64_t base = (n * channels + c) * inner;
        for (int64_t i = 0; i < inner; ++i) {
          yv[base + i] = static_cast<T>((xv[base + i] - use_mean[c]) * k + bias[c]);
        }
      }
    }
    std::vector<Tensor> outputs;
    outputs.push_back(std::move(y));
    if (training) {
      const double momentum = ctx.float_attr("momentum", 0.9f);
      for (size_t i = 1; i <= 2; ++i) {
        if (!ctx.wants_output(i)) break;
        const Tensor& running = ctx.input(i + 2);
        Tensor out = make_tensor(running.dtype, running.shape);
        const std::vector<double>& input = i == 1 ? mean : var;
        const std::vector<double>& current = i == 1 ? batch_mean : batch_var;
        for (int64_t c = 0; c < channels; ++c)
          out.set_double(c, input[c] * momentum + current[c] * (1 - momentum));
        outputs.push_back(std::move(out));
      }
    }
    return outputs;
  });
}

// ---- InstanceNormalization, LayerNormalization ------------------------------------------------

// Mean and population variance of `n` values `stride` apart, in double.
template <class T>
std::pair<double, double> moments(const T* p, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += p[i];
  const double mean = n > 0 ? sum / static_cast<double>(n) : 0.0;
  double squares = 0;
  for (int64_t i = 0; i < n; ++i) squares += (p[i] - mean) * (p[i] - mean);
  return {mean, n > 0 ? squares / static_cast<double>(n) : 0.0};
}

// InstanceNormalization-6: each (n, c) plane normalized over its spatial values.
std::vector<Tensor> instance_norm_6(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 3) fail("input must have rank >= 3, got {}", shape_string(x.shape));
  const int64_t channels = x.shape[1];
  expect_channel_vector(ctx.input(1), channels, "scale");
  expect_channel_vector(ctx.input(2), channels, "B");
  const std::vector<double> scale = doubles(ctx.input(1)), bias = doubles(ctx.input(2));
  const double eps = ctx.float_attr("epsilon", 1e-5f);
  const int64_t inner = shape_numel(Shape(x.shape.begin() + 2, x.shape.end()));
  const int64_t planes = x.shape[0] * channels;
  return {dispatch_floating(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, x.shape);
    auto xv = x.values<T>();
    auto yv = y.values<T>();
    for (int64_t p = 0; p < planes; ++p) {
      const int64_t c = p % channels;
      const auto [mean, var] = moments(xv.data() + p * inner, inner);
      const double k = scale[c] / std::sqrt(var + eps);
      for (int64_t i = 0; i < inner; ++i) {
        yv[p * inner + i] = static_cast<T>((xv[p * inner + i] - mean) * k + bias[c]);
      }
    }
    return y;
  })};
}

// LayerNormalization-17: X normalized over the dims from `axis` on, then Y = normalized * Scale
// + B, Scale and B broadcasting to X.shape[axis:]. Stage one (mean, variance, 1/stddev) runs at
// stash_type's precision: float32 for a float64 X (as the spec's function body says), double
// otherwise (float32 and half inputs are rounded once at the end).
std::vector<Tensor> layer_norm_17(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* bias = ctx.optional_input(2);
  const int64_t rank = static_cast<int64_t>(x.rank());
  const int64_t axis_attr = ctx.int_attr("axis", -1);
  if (axis_attr < -rank || axis_attr >= rank) fail("axis {} out of range for rank {}", axis_attr, rank);
  const int64_t axis = normalize_axis(axis_attr, rank);
  const int64_t stash = ctx.int_attr("stash_type", 1);
  // ORT's LayerNormFusion writes stash_type 11 (double) for a float64 X.
  if (stash != 1 && stash != 11) fail("stash_type {} is not supported (only 1 and 11)", stash);
  const float eps = ctx.float_attr("epsilon", 1e-5f);
  const Shape normalized(x.shape.begin() + axis, x.shape.end());
  const int64_t inner = shape_numel(normalized);
  const int64_t outer = shape_numel(Shape(x.shape.begin(), x.shape.begin() + axis));
  auto strides_into = [&](const Tensor& t, const char* what) {
    const std::array<const Shape*, 2> shapes{&t.shape, &normalized};
    if (t.rank() > normalized.size() || broadcast_shape(shapes) != normalized)
      fail("{} of shape {} does not broadcast to {}", what, shape_string(t.shape),
           shape_string(normalized));
    return std::array<std::vector<int64_t>, 1>{broadcast_strides(t.shape, normalized)};
  };
  // Scale and B laid out over the normalized block.
  std::vector<double> scale_of(static_cast<size_t>(inner)), bias_of(scale_of.size(), 0.0);
  for_each_index(normalized, strides_into(scale, "Scale"),
                 [&](int64_t i, const std::array<int64_t, 1>& at) { scale_of[i] = scale.as_double(at[0]); });
  if (bias != nullptr) {
    for_each_index(normalized, strides_into(*bias, "B"),
                   [&](int64_t i, const std::array<int64_t, 1>& at) { bias_of[i] = bias->as_double(at[0]); });
  }
  Shape stat_shape(x.shape.begin(), x.shape.begin() + axis);
  stat_shape.resize(x.rank(), 1);
  Tensor mean_out = make_tensor(DType::kFloat, stat_shape);
  Tensor inv_std_out = make_tensor(DType::kFloat, stat_shape);
  Tensor y = dispatch_floating(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, x.shape);
    auto xv = x.values<T>();
    auto yv = y.values<T>();
    std::vector<float> narrowed;
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = xv.data() + o * inner;
      double mean, inv_std;
      std::vector<double> normalized_row(static_cast<size_t>(inner));
      if (std::is_same_v<T, double> && stash == 1) {
        // The function body: X cast to float32, every stage-one op rounded to float32.
        narrowed.assign(row, row + inner);
        const float m = static_cast<float>(moments(narrowed.data(), inner).first);
        std::vector<float> centered(static_cast<size_t>(inner));
        double squares = 0;
        for (int64_t i = 0; i < inner; ++i) {
          centered[i] = narrowed[i] - m;
          squares += static_cast<float>(centered[i] * centered[i]);
        }
        const float var = static_cast<float>(inner > 0 ? squares / static_cast<double>(inner) : 0.0);
        const float inv = 1.0f / std::sqrt(var + eps);
        for (int64_t i = 0; i < inner; ++i) normalized_row[i] = centered[i] * inv;
        mean = m;
        inv_std = inv;
      } else {
        const auto [m, var] = moments(row, inner);
        mean = m;
        inv_std = 1.0 / std::sqrt(var + static_cast<double>(eps));
        for (int64_t i = 0; i < inner; ++i) normalized_row[i] = (row[i] - mean) * inv_std;
      }
      for (int64_t i = 0; i < inner; ++i) {
        yv[o * inner + i] = static_cast<T>(normalized_row[i] * scale_of[i] + bias_of[i]);
      }
      mean_out.values<float>()[o] = static_cast<float>(mean);
      inv_std_out.values<float>()[o] = static_cast<float>(inv_std);
    }
    return y;
  });
  std::vector<Tensor> outputs;
  outputs.push_back(std::move(y));
  if (ctx.wants_output(1) || ctx.wants_output(2)) outputs.push_back(std::move(mean_out));
  if (ctx.wants_output(2)) outputs.push_back(std::move(inv_std_out));
  return outputs;
}

// ---- LRN ------------------------------------------------------------------------------------

// LRN-1/13: y = x / (bias + alpha / size * sum of x^2 over the channels
// [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)])^beta.
std::vector<Tensor> lrn_1(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) fail("X must have rank >= 2, got {}", shape_string(x.shape));
  const int64_t size = ctx.int_attr("size", 0);
  if (size < 1) fail("size must be positive, got {}", size);
  const double alpha = ctx.float_attr("alpha", 1e-4f), beta = ctx.float_attr("beta", 0.75f);
  const double bias = ctx.float_attr("bias", 1.0f);
  const int64_t channels = x.shape[1];
  const int64_t inner = shape_numel(Shape(x.shape.begin() + 2, x.shape.end()));
  const int64_t below = (size - 1) / 2, above = size - 1 - below;
  return {dispatch_floating(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, x.shape);
    auto xv = x.values<T>();
    auto yv = y.values<T>();
    for (int64_t n = 0; n < x.shape[0]; ++n) {
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t lo = std::max<int64_t>(0, c - below);
        const int64_t hi = std::min<int64_t>(channels - 1, c + above);
        for (int64_t i = 0; i < inner; ++i) {
          double squares = 0;
          for (int64_t k = lo; k <= hi; ++k) {
            const double v = xv[(n * channels + k) * inner + i];
            squares += v * v;
          }
          const int64_t at = (n * channels + c) * inner + i;
          yv[at] = static_cast<T>(xv[at] / std::pow(bias + alpha / static_cast<double>(size) * squares, beta));
        }
      }
    }
    return y;
  })};
}

// ---- ConvTranspose --------------------------------------------------------------------------

// ConvTranspose-1/11. Each input position i scatters x * w into output position
// i * stride + tap * dilation - pad_begin. The output extent is output_shape when given (pads
// then split the total it implies), in * stride under SAME_*, else
// stride * (in - 1) + output_padding + (k - 1) * dilation + 1 - pads. The ConvTranspose-11 text
// splits a total pad as start = total / 2 under SAME_UPPER (the odd pixel at the end, which
// test_convtranspose_autopad_same confirms) and start = total - total / 2 otherwise (NOTSET
// with output_shape, SAME_LOWER).
std::vector<Tensor> conv_transpose_1(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* bias = ctx.optional_input(2);
  if (x.rank() < 3) fail("X must have rank >= 3, got {}", shape_string(x.shape));
  if (w.rank() != x.rank()) fail("W rank {} differs from X rank {}", w.rank(), x.rank());
  const size_t nd = x.rank() - 2;
  const int64_t batch = x.shape[0], channels = x.shape[1];
  const int64_t group = ctx.int_attr("group", 1);
  if (group <= 0 || channels % group != 0 || w.shape[0] != channels)
    fail("W of shape {} and group {} do not match {} channels", shape_string(w.shape), group,
         channels);
  const int64_t group_channels = channels / group, group_maps = w.shape[1];
  const int64_t maps = group_maps * group;
  if (bias != nullptr && (bias->rank() != 1 || bias->shape[0] != maps))
    fail("bias of shape {} does not match {} feature maps", shape_string(bias->shape), maps);
  const Shape in(x.shape.begin() + 2, x.shape.end());
  Shape kernel = ctx.ints_attr("kernel_shape");
  const Shape w_kernel(w.shape.begin() + 2, w.shape.end());
  if (kernel.empty()) kernel = w_kernel;
  if (kernel != w_kernel)
    fail("kernel_shape {} differs from W's {}", shape_string(kernel), shape_string(w_kernel));
  auto per_dim = [&](const char* name, int64_t fallback, size_t count) {
    std::vector<int64_t> v = ctx.ints_attr(name);
    if (v.empty()) v.assign(count, fallback);
    if (v.size() != count) fail("{} has {} values, expected {}", name, v.size(), count);
    return v;
  };
  const std::vector<int64_t> strides = per_dim("strides", 1, nd);
  const std::vector<int64_t> dilations = per_dim("dilations", 1, nd);
  const std::vector<int64_t> output_padding = per_dim("output_padding", 0, nd);
  std::vector<int64_t> pads = per_dim("pads", 0, 2 * nd);
  const std::vector<int64_t> output_shape = ctx.ints_attr("output_shape");
  if (!output_shape.empty() && output_shape.size() != nd)
    fail("output_shape has {} values, expected {}", output_shape.size(), nd);
  const std::string auto_pad = ctx.string_attr("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" &&
      auto_pad != "SAME_LOWER")
    fail("unknown auto_pad '{}'", auto_pad);
  Shape out(nd);
  for (size_t d = 0; d < nd; ++d) {
    if (kernel[d] <= 0 || strides[d] <= 0 || dilations[d] <= 0)
      fail("kernel, strides and dilations must be positive");
    const int64_t full = strides[d] * (in[d] - 1) + output_padding[d] +
                         (kernel[d] - 1) * dilations[d] + 1;
    const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
    if (!output_shape.empty() || same) {
      out[d] = !output_shape.empty() ? output_shape[d] : in[d] * strides[d];
      const int64_t total = std::max<int64_t>(0, full - out[d]);
      pads[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pads[d + nd] = total - pads[d];
    } else {
      if (auto_pad == "VALID") std::fill(pads.begin(), pads.end(), 0);
      out[d] = full - pads[d] - pads[d + nd];
    }
    if (out[d] < 0) fail("negative output extent along spatial dim {}", d);
  }
  Shape out_shape{batch, maps};
  out_shape.insert(out_shape.end(), out.begin(), out.end());
  const int64_t in_size = shape_numel(in), out_size = shape_numel(out);
  const int64_t taps = shape_numel(kernel);
  if (static_cast<long double>(batch) * channels * in_size * taps * group_maps > 1e10L)
    fail("ConvTranspose is too large");
  // Per tap, its offset along each dim (dilation applied).
  std::vector<int64_t> tap_offsets(static_cast<size_t>(taps) * nd);
  for (int64_t t = 0, rest; t < taps; ++t) {
    rest = t;
    for (size_t d = nd; d-- > 0;) {
      tap_offsets[t * nd + d] = (rest % kernel[d]) * dilations[d];
      rest /= kernel[d];
    }
  }
  const std::vector<int64_t> out_strides = strides_of(out);
  return {dispatch_floating(x.dtype, [&]<class T>(TypeTag<T>) {
    auto xv = x.values<T>();
    auto wv = w.values<T>();
    std::vector<double> acc(static_cast<size_t>(batch * maps * out_size), 0.0);
    std::vector<int64_t> pos(nd, 0);
    for (int64_t i = 0; i < in_size; ++i) {
      for (int64_t t = 0; t < taps; ++t) {
        int64_t o = 0;
        bool inside = true;
        for (size_t d = 0; d < nd && inside; ++d) {
          const int64_t c = pos[d] * strides[d] + tap_offsets[t * nd + d] - pads[d];
          inside = c >= 0 && c < out[d];
          o += c * out_strides[d];
        }
        if (!inside) continue;
        for (int64_t n = 0; n < batch; ++n) {
          for (int64_t c = 0; c < channels; ++c) {
            const double xval = xv[(n * channels + c) * in_size + i];
            const int64_t g = c / group_channels;
            for (int64_t m = 0; m < group_maps; ++m) {
              acc[(n * maps + g * group_maps + m) * out_size + o] +=
                  xval * wv[(c * group_maps + m) * taps + t];
            }
          }
        }
      }
      for (size_t d = nd; d-- > 0;) {
        if (++pos[d] < in[d]) break;
        pos[d] = 0;
      }
    }
    Tensor y = make_tensor(x.dtype, out_shape);
    auto yv = y.values<T>();
    for (int64_t j = 0; j < static_cast<int64_t>(acc.size()); ++j) {
      const int64_t m = (j / out_size) % maps;
      yv[j] = static_cast<T>(acc[j] + (bias != nullptr ? bias->as_double(m) : 0.0));
    }
    return y;
  })};
}

// ---- GlobalAveragePool, GlobalMaxPool ---------------------------------------------------------

template <bool kMax>
std::vector<Tensor> global_pool_1(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) fail("X must have rank >= 2, got {}", shape_string(x.shape));
  const int64_t inner = shape_numel(Shape(x.shape.begin() + 2, x.shape.end()));
  Shape out_shape(x.rank(), 1);
  out_shape[0] = x.shape[0];
  out_shape[1] = x.shape[1];
  return {dispatch_floating(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, out_shape);
    auto xv = x.values<T>();
    auto yv = y.values<T>();
    for (int64_t p = 0; p < shape_numel(out_shape); ++p) {
      const T* plane = xv.data() + p * inner;
      if constexpr (kMax) {
        // NaN wins, as in ReduceMax.
        double best = -std::numeric_limits<double>::infinity();
        for (int64_t i = 0; i < inner; ++i) {
          if (plane[i] != plane[i] || plane[i] > best) best = plane[i];
          if (best != best) break;
        }
        yv[p] = static_cast<T>(best);
      } else {
        double sum = 0;
        for (int64_t i = 0; i < inner; ++i) sum += plane[i];
        yv[p] = static_cast<T>(sum / static_cast<double>(inner));
      }
    }
    return y;
  })};
}

// ---- LogSoftmax, Hardmax --------------------------------------------------------------------

// Splits x around the op's axis: opset < 13 coerces to 2-D at `axis` (the whole trailing block
// is one row), opset 13 works along the single axis.
struct AxisLayout {
  int64_t outer = 1, length = 1, inner = 1;
};

AxisLayout axis_layout(const NodeContext& ctx, const Tensor& x, bool coerce_2d) {
  const int64_t rank = static_cast<int64_t>(x.rank());
  const int64_t fallback = coerce_2d ? 1 : -1;
  const int64_t attr = ctx.int_attr("axis", fallback);
  const int64_t r = std::max<int64_t>(rank, 1);
  if (attr < -r || attr > (coerce_2d ? r : r - 1)) fail("axis {} out of range for rank {}", attr, rank);
  const int64_t axis = attr < 0 ? attr + r : attr;
  AxisLayout l;
  for (int64_t d = 0; d < rank; ++d) {
    if (d < axis) {
      l.outer *= x.shape[d];
    } else if (coerce_2d || d == axis) {
      l.length *= x.shape[d];
    } else {
      l.inner *= x.shape[d];
    }
  }
  return l;
}

template <bool kCoerce2d>
std::vector<Tensor> log_softmax(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const AxisLayout l = axis_layout(ctx, x, kCoerce2d);
  return {dispatch_floating(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, x.shape);
    auto xv = x.values<T>();
    auto yv = y.values<T>();
    for (int64_t o = 0; o < l.outer; ++o) {
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t base = o * l.length * l.inner + i;
        double max = -std::numeric_limits<double>::infinity();
        for (int64_t k = 0; k < l.length; ++k) max = std::max<double>(max, xv[base + k * l.inner]);
        double sum = 0;
        for (int64_t k = 0; k < l.length; ++k) sum += std::exp(xv[base + k * l.inner] - max);
        const double log_sum = std::log(sum);
        for (int64_t k = 0; k < l.length; ++k) {
          yv[base + k * l.inner] = static_cast<T>(xv[base + k * l.inner] - max - log_sum);
        }
      }
    }
    return y;
  })};
}

// 1 at the first maximum along the axis (or row), 0 elsewhere.
template <bool kCoerce2d>
std::vector<Tensor> hardmax(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const AxisLayout l = axis_layout(ctx, x, kCoerce2d);
  return {dispatch_floating(x.dtype, [&]<class T>(TypeTag<T>) {
    Tensor y = make_tensor(x.dtype, x.shape);
    auto xv = x.values<T>();
    auto yv = y.values<T>();
    for (int64_t o = 0; o < l.outer; ++o) {
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t base = o * l.length * l.inner + i;
        int64_t best = 0;
        for (int64_t k = 1; k < l.length; ++k) {
          if (xv[base + k * l.inner] > xv[base + best * l.inner]) best = k;
        }
        for (int64_t k = 0; k < l.length; ++k) yv[base + k * l.inner] = T(k == best ? 1 : 0);
      }
    }
    return y;
  })};
}

// ---- Einsum ---------------------------------------------------------------------------------

// One parsed equation: a label per operand dim and per output dim. Letters are labels 0..51;
// the dims an ellipsis stands for get labels 52.. (right-aligned across operands, numpy-style).
struct EinsumPlan {
  std::vector<std::vector<int>> operand_labels;
  std::vector<int> output_labels;
  std::vector<int64_t> label_size;  // per label
};

constexpr int kLetterLabels = 52;

int letter_label(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  fail("Einsum equation has an invalid character '{}'", c);
}

// A term's labels, with -1 where its ellipsis stands.
std::vector<int> parse_term(const std::string& term) {
  std::vector<int> labels;
  bool ellipsis = false;
  for (size_t i = 0; i < term.size(); ++i) {
    if (term[i] == '.') {
      if (ellipsis || term.compare(i, 3, "...") != 0) fail("Einsum term '{}' has a bad ellipsis", term);
      ellipsis = true;
      labels.push_back(-1);
      i += 2;
    } else {
      labels.push_back(letter_label(term[i]));
    }
  }
  return labels;
}

EinsumPlan plan_einsum(std::string equation, const std::vector<const Tensor*>& operands) {
  std::erase(equation, ' ');
  const size_t arrow = equation.find("->");
  const std::string lhs = equation.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != operands.size())
    fail("Einsum equation has {} operands, the node {}", terms.size(), operands.size());
  EinsumPlan plan;
  plan.label_size.assign(kLetterLabels, -1);
  // Ellipsis dims: as many as the widest operand's, right-aligned and broadcast.
  size_t ellipsis_rank = 0;
  std::vector<std::vector<int>> parsed;
  for (size_t k = 0; k < terms.size(); ++k) {
    parsed.push_back(parse_term(terms[k]));
    const size_t letters = std::count_if(parsed[k].begin(), parsed[k].end(), [](int l) { return l >= 0; });
    const bool has_ellipsis = letters != parsed[k].size();
    if (operands[k]->rank() < letters || (!has_ellipsis && operands[k]->rank() != letters))
      fail("Einsum term '{}' does not fit an operand of rank {}", terms[k], operands[k]->rank());
    if (has_ellipsis) ellipsis_rank = std::max(ellipsis_rank, operands[k]->rank() - letters);
  }
  plan.label_size.resize(kLetterLabels + ellipsis_rank, 1);
  for (size_t k = 0; k < terms.size(); ++k) {
    const Shape& shape = operands[k]->shape;
    const size_t letters = std::count_if(parsed[k].begin(), parsed[k].end(), [](int l) { return l >= 0; });
    const size_t covered = shape.size() - letters;  // dims this operand's ellipsis stands for
    std::vector<int> labels;
    size_t dim = 0;
    for (int l : parsed[k]) {
      if (l >= 0) {
        labels.push_back(l);
        int64_t& size = plan.label_size[l];
        if (size >= 0 && size != shape[dim])
          fail("Einsum label '{}' has sizes {} and {}", terms[k], size, shape[dim]);
        size = shape[dim++];
        continue;
      }
      for (size_t e = 0; e < covered; ++e, ++dim) {
        const int label = kLetterLabels + static_cast<int>(ellipsis_rank - covered + e);
        labels.push_back(label);
        int64_t& size = plan.label_size[label];
        if (size != 1 && shape[dim] != 1 && size != shape[dim])
          fail("Einsum ellipsis dims do not broadcast");
        if (shape[dim] != 1) size = shape[dim];
      }
    }
    plan.operand_labels.push_back(std::move(labels));
  }
  std::vector<int> ellipsis_labels;
  for (size_t e = 0; e < ellipsis_rank; ++e) ellipsis_labels.push_back(kLetterLabels + static_cast<int>(e));
  if (arrow != std::string::npos) {
    for (int l : parse_term(equation.substr(arrow + 2))) {
      if (l < 0) {
        plan.output_labels.insert(plan.output_labels.end(), ellipsis_labels.begin(), ellipsis_labels.end());
      } else {
        if (plan.label_size[l] < 0) fail("Einsum output label does not occur in the inputs");
        if (std::ranges::find(plan.output_labels, l) != plan.output_labels.end())
          fail("Einsum output repeats a label");
        plan.output_labels.push_back(l);
      }
    }
  } else {
    // Implicit output: the ellipsis dims, then the letters that occur once, in label order
    // (upper case before lower case, as in ASCII).
    std::vector<int> count(kLetterLabels, 0);
    for (char c : lhs) {
      if (c != ',' && c != '.') ++count[letter_label(c)];
    }
    plan.output_labels = ellipsis_labels;
    for (int l = 0; l < kLetterLabels; ++l) {
      if (count[l] == 1) plan.output_labels.push_back(l);
    }
  }
  return plan;
}

// Einsum-12: every combination of label values; the product of the operands' elements adds
// into the output element its output labels select. Floats accumulate in double, integers wrap.
std::vector<Tensor> einsum_12(const NodeContext& ctx) {
  std::vector<const Tensor*> operands;
  for (int i = 0; i < ctx.node().input_size(); ++i) operands.push_back(&ctx.input(static_cast<size_t>(i)));
  if (operands.empty()) fail("Einsum needs at least one operand");
  for (const Tensor* t : operands) {
    if (t->dtype != operands[0]->dtype) fail("Einsum operands differ in element type");
  }
  const EinsumPlan plan = plan_einsum(ctx.string_attr("equation", ""), operands);
  // The loop runs over the output labels first, then the summed ones.
  std::vector<int> loop = plan.output_labels;
  for (const auto& labels : plan.operand_labels) {
    for (int l : labels) {
      if (std::ranges::find(loop, l) == loop.end()) loop.push_back(l);
    }
  }
  Shape loop_shape, out_shape;
  for (int l : loop) loop_shape.push_back(plan.label_size[l]);
  for (int l : plan.output_labels) out_shape.push_back(plan.label_size[l]);
  if (static_cast<long double>(shape_numel(loop_shape)) * operands.size() > 1e9L)
    fail("Einsum is too large ({} index combinations)", shape_numel(loop_shape));
  // Element strides of each operand along the loop dims (a repeated label walks the diagonal).
  std::vector<std::vector<int64_t>> strides(operands.size() + 1,
                                            std::vector<int64_t>(loop.size(), 0));
  auto add_strides = [&](std::vector<int64_t>& into, const std::vector<int>& labels,
                         const Shape& shape) {
    const std::vector<int64_t> own = strides_of(shape);
    for (size_t d = 0; d < labels.size(); ++d) {
      if (shape[d] == 1) continue;  // a broadcast ellipsis dim
      const size_t at = static_cast<size_t>(std::ranges::find(loop, labels[d]) - loop.begin());
      into[at] += own[d];
    }
  };
  for (size_t k = 0; k < operands.size(); ++k)
    add_strides(strides[k], plan.operand_labels[k], operands[k]->shape);
  add_strides(strides.back(), plan.output_labels, out_shape);
  return {dispatch_numeric(operands[0]->dtype, [&]<class T>(TypeTag<T>) {
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;
    std::vector<Acc> acc(static_cast<size_t>(shape_numel(out_shape)), Acc{});
    std::vector<const T*> data;
    for (const Tensor* t : operands) data.push_back(t->values<T>().data());
    std::vector<int64_t> counter(loop.size(), 0), offset(operands.size() + 1, 0);
    const int64_t total = shape_numel(loop_shape);
    for (int64_t step = 0; step < total; ++step) {
      Acc product;
      if constexpr (std::is_floating_point_v<T>) {
        product = 1.0;
        for (size_t k = 0; k < data.size(); ++k) product *= static_cast<double>(data[k][offset[k]]);
      } else {
        product = 1;
        for (size_t k = 0; k < data.size(); ++k) product *= to_wrapping(data[k][offset[k]]);
      }
      acc[static_cast<size_t>(offset.back())] += product;
      for (size_t d = loop.size(); d-- > 0;) {
        for (size_t k = 0; k < offset.size(); ++k) offset[k] += strides[k][d];
        if (++counter[d] < loop_shape[d]) break;
        for (size_t k = 0; k < offset.size(); ++k) offset[k] -= strides[k][d] * loop_shape[d];
        counter[d] = 0;
      }
    }
    Tensor y = make_tensor(operands[0]->dtype, out_shape);
    auto yv = y.values<T>();
    for (size_t i = 0; i < acc.size(); ++i) {
      if constexpr (std::is_floating_point_v<T>) {
        yv[i] = static_cast<T>(acc[i]);
      } else {
        yv[i] = from_wrapping<T>(acc[i]);
      }
    }
    return y;
  })};
}

// BatchNormalization-9 dropped `spatial` (always 1 before); 14 added training_mode and 15 let
// scale/B and mean/var take their own float types: one kernel serves them. LogSoftmax and
// Hardmax work on a 2-D coercion before 13 and along one axis from 13 on.
const KernelRegistrar kBatchNormalization9{"BatchNormalization", 9, batch_norm_9};
const KernelRegistrar kInstanceNormalization6{"InstanceNormalization", 6, instance_norm_6};
const KernelRegistrar kLayerNormalization17{"LayerNormalization", 17, layer_norm_17};
const KernelRegistrar kLRN1{"LRN", 1, lrn_1};
const KernelRegistrar kConvTranspose1{"ConvTranspose", 1, conv_transpose_1};
const KernelRegistrar kGlobalAveragePool1{"GlobalAveragePool", 1, global_pool_1<false>};
const KernelRegistrar kGlobalMaxPool1{"GlobalMaxPool", 1, global_pool_1<true>};
const KernelRegistrar kLogSoftmax1{"LogSoftmax", 1, log_softmax<true>};
const KernelRegistrar kLogSoftmax13{"LogSoftmax", 13, log_softmax<false>};
const KernelRegistrar kHardmax1{"Hardmax", 1, hardmax<true>};
const KernelRegistrar kHardmax13{"Hardmax", 13, hardmax<false>};
const KernelRegistrar kEinsum12{"Einsum", 12, einsum_12};

}  // namespace
}  // namespace onnxfuzz::ref
