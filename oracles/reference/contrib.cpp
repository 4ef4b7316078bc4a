// Reference kernels for the ONNX Runtime operators its CPU graph optimizer writes into optimized
// models: the com.microsoft contrib ops (FusedMatMul, FusedGemm, FusedConv, Gelu, FastGelu,
// BiasGelu, QuickGelu, SkipLayerNormalization, SkipSimplifiedLayerNormalization) and ORT's
// ONNX-domain SimplifiedLayerNormalization, and the NCHWc layout ops (com.microsoft.nchwc) its
// x86 layout transformer writes. Semantics follow ORT's ContribOperators.md and its
// CPU kernels; a fused op is evaluated as its ONNX parts where the reference has them.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "generators/check.h"
#include "oracles/reference/dispatch.h"
#include "oracles/reference/kernel.h"
#include "oracles/reference/shape.h"

namespace onnxfuzz::ref {
namespace {

// ---- shared pieces ----------------------------------------------------------------------------

// Runs the reference's own kernel for ONNX `op_type` at ONNX version `version` on `node`'s
// attributes (a fused node carries its ONNX part's attributes under the same names).
std::vector<Tensor> run_onnx(std::string_view op_type, int version, const onnx::NodeProto& node,
                             std::span<const Tensor* const> inputs) {
  const Kernel* kernel = find_kernel(op_type, version);
  if (kernel == nullptr) fail("the reference has no {}-{} kernel to build on", op_type, version);
  return kernel->run(NodeContext(node, inputs));
}

// `t` transposed by `perm` (output dim i is input dim perm[i]).
Tensor permuted(const Tensor& t, const std::vector<int64_t>& perm) {
  Shape shape(perm.size());
  const std::vector<int64_t> in_strides = strides_of(t.shape);
  std::array<std::vector<int64_t>, 1> strides{std::vector<int64_t>(perm.size())};
  for (size_t i = 0; i < perm.size(); ++i) {
    shape[i] = t.shape[perm[i]];
    strides[0][i] = in_strides[perm[i]];
  }
  Tensor out = make_tensor(t.dtype, shape);
  dispatch_width(t.dtype, [&]<class T>(TypeTag<T>) {
    auto in = t.values<T>();
    auto y = out.values<T>();
    for_each_index(shape, strides,
                   [&](int64_t i, const std::array<int64_t, 1>& at) { y[i] = in[at[0]]; });
  });
  return out;
}

// Applies f(x) to every element of a float32/float64 tensor in place, in double.
template <class F>
void map_in_place(Tensor& t, F&& f) {
  dispatch_floating(t.dtype, [&]<class T>(TypeTag<T>) {
    for (T& v : t.values<T>()) v = static_cast<T>(f(static_cast<double>(v)));
  });
}

// The values of a float32/float64 tensor, widened to double.
std::vector<double> doubles(const Tensor& t) {
  return dispatch_floating(t.dtype, [&]<class T>(TypeTag<T>) {
    auto v = t.values<T>();
    return std::vector<double>(v.begin(), v.end());
  });
}

// A tensor of `dtype` and `shape` holding `values`, rounded once.
Tensor from_doubles(DType dtype, const Shape& shape, const std::vector<double>& values) {
  Tensor out = make_tensor(dtype, shape);
  dispatch_floating(dtype, [&]<class T>(TypeTag<T>) {
    auto y = out.values<T>();
    for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<T>(values[i]);
  });
  return out;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// The activation a FusedConv or FusedGemm applies after its contraction, with its parameters
// (the ONNX op's own defaults when a fusion did not copy them).
struct Activation {
  std::string name;
  double alpha = 0, beta = 0, gamma = 0;

  double operator()(double x) const {
    if (name.empty() || name == "Identity") return x;
    if (name == "Relu") return x > 0 ? x : 0;
    if (name == "Sigmoid") return sigmoid(x);
    if (name == "Tanh") return std::tanh(x);
    if (name == "LeakyRelu") return x >= 0 ? x : alpha * x;
    if (name == "Clip") return std::min(std::max(x, alpha), beta);
    if (name == "HardSigmoid") return std::clamp(alpha * x + beta, 0.0, 1.0);
    if (name == "Elu") return x >= 0 ? x : alpha * (std::exp(x) - 1);
    if (name == "Selu") return gamma * (x > 0 ? x : alpha * (std::exp(x) - 1));
    if (name == "Softplus") return std::log1p(std::exp(-std::abs(x))) + std::max(x, 0.0);
    if (name == "Softsign") return x / (1 + std::abs(x));
    if (name == "ThresholdedRelu") return x > alpha ? x : 0;
    fail("unsupported fused activation '{}'", name);
  }
};

// The ONNX defaults of each activation's attributes: alpha, beta, gamma.
Activation activation_defaults(std::string name) {
  Activation a{std::move(name)};
  if (a.name == "LeakyRelu") a.alpha = 0.01;
  if (a.name == "HardSigmoid") a.alpha = 0.2, a.beta = 0.5;
  if (a.name == "Elu" || a.name == "ThresholdedRelu") a.alpha = 1.0;
  if (a.name == "Selu") a.alpha = 1.6732632423543772, a.gamma = 1.0507009873554805;
  if (a.name == "Clip") {
    a.alpha = -std::numeric_limits<double>::infinity();
    a.beta = std::numeric_limits<double>::infinity();
  }
  a(0.0);  // an unknown name fails here, before any arithmetic
  return a;
}

// FusedConv: `activation` with `activation_params` in the order MLAS reads them (LeakyRelu:
// alpha; Clip: min, max; HardSigmoid: alpha, beta).
Activation conv_activation(const NodeContext& ctx) {
  Activation a = activation_defaults(ctx.string_attr("activation", ""));
  const auto* params = ctx.attribute("activation_params");
  if (params == nullptr) return a;
  const std::vector<float> p(params->floats().begin(), params->floats().end());
  if (!p.empty()) a.alpha = p[0];
  if (p.size() > 1) a.beta = p[1];
  return a;
}

// FusedGemm: the fused node's `activation_alpha/beta/gamma`, the activation's own attributes
// under a prefix.
Activation gemm_activation(const NodeContext& ctx) {
  Activation a = activation_defaults(ctx.string_attr("activation", ""));
  a.alpha = ctx.float_attr("activation_alpha", static_cast<float>(a.alpha));
  a.beta = ctx.float_attr("activation_beta", static_cast<float>(a.beta));
  a.gamma = ctx.float_attr("activation_gamma", static_cast<float>(a.gamma));
  return a;
}

// ---- FusedMatMul, FusedGemm, FusedConv --------------------------------------------------------

// The operand FusedMatMul multiplies: with trans_batch, dims [1, ..., R-2, 0, R-1] of `t` (the
// leading dim moves behind the batch dims); with trans, the last two dims swapped. Both are
// ignored for a 1-D operand, as ORT's kernel does.
Tensor matmul_operand(const Tensor& t, bool trans_batch, bool trans) {
  const int64_t rank = static_cast<int64_t>(t.rank());
  if (rank < 2 || (!trans_batch && !trans)) return t;
  std::vector<int64_t> perm(rank);
  for (int64_t d = 0; d < rank; ++d) perm[d] = d;
  if (trans_batch) {
    for (int64_t d = 0; d + 2 < rank; ++d) perm[d] = d + 1;
    perm[rank - 2] = 0;
  }
  if (trans) std::swap(perm[rank - 2], perm[rank - 1]);
  return permuted(t, perm);
}

// alpha * MatMul(op(A), op(B)).
std::vector<Tensor> fused_matmul_1(const NodeContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const bool batch_a = ctx.int_attr("transBatchA", 0) != 0;
  const bool batch_b = ctx.int_attr("transBatchB", 0) != 0;
  if ((batch_a || batch_b) && (a.rank() != b.rank() || a.rank() < 3)) {
    fail("transBatchA/transBatchB need operands of equal rank >= 3, got {} and {}",
         shape_string(a.shape), shape_string(b.shape));
  }
  const Tensor op_a = matmul_operand(a, batch_a, ctx.int_attr("transA", 0) != 0);
  const Tensor op_b = matmul_operand(b, batch_b, ctx.int_attr("transB", 0) != 0);
  const std::array<const Tensor*, 2> operands{&op_a, &op_b};
  onnx::NodeProto plain;
  plain.set_op_type("MatMul");
  std::vector<Tensor> out = run_onnx("MatMul", 13, plain, operands);
  const double alpha = ctx.float_attr("alpha", 1.0f);
  if (alpha != 1.0) map_in_place(out[0], [&](double v) { return alpha * v; });
  return out;
}

// activation(Gemm(A, B, C)).
std::vector<Tensor> fused_gemm_1(const NodeContext& ctx) {
  const Activation act = gemm_activation(ctx);
  std::vector<const Tensor*> inputs{&ctx.input(0), &ctx.input(1), ctx.optional_input(2)};
  std::vector<Tensor> out = run_onnx("Gemm", 13, ctx.node(), inputs);
  map_in_place(out[0], act);
  return out;
}

// activation(Conv(X, W, B) + Z): Z, when given, is added before the activation (ORT's
// ConvAddActivationFusion).
std::vector<Tensor> fused_conv_1(const NodeContext& ctx) {
  const Activation act = conv_activation(ctx);
  std::vector<const Tensor*> inputs{&ctx.input(0), &ctx.input(1), ctx.optional_input(2)};
  std::vector<Tensor> out = run_onnx("Conv", 11, ctx.node(), inputs);
  Tensor& y = out[0];
  if (const Tensor* z = ctx.optional_input(3)) {
    if (z->shape != y.shape || z->dtype != y.dtype) {
      fail("Z of shape {} does not match the convolution's output {}", shape_string(z->shape),
           shape_string(y.shape));
    }
    const std::vector<double> zv = doubles(*z);
    std::vector<double> sum = doubles(y);
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += zv[i];
    y = from_doubles(y.dtype, y.shape, sum);
  }
  map_in_place(y, act);
  return out;
}

// ---- Gelu family ------------------------------------------------------------------------------

double gelu(double x) { return 0.5 * x * (1 + std::erf(x / std::numbers::sqrt2)); }

// The tanh approximation.
double fast_gelu(double x) {
  constexpr double kRoot = 0.7978845608028654;  // sqrt(2 / pi)
  return 0.5 * x * (1 + std::tanh(kRoot * (x + 0.044715 * x * x * x)));
}

// X + bias, the bias a 1-D tensor along X's last dim (BiasGelu, FastGelu).
std::vector<double> plus_bias(const Tensor& x, const Tensor* bias) {
  std::vector<double> v = doubles(x);
  if (bias == nullptr) return v;
  if (bias->dtype != x.dtype) fail("bias element type differs from the input's");
  if (bias->rank() != 1 || x.rank() == 0 || bias->shape[0] != x.shape.back()) {
    fail("bias of shape {} must be 1-D, the last dim of {}", shape_string(bias->shape),
         shape_string(x.shape));
  }
  const std::vector<double> b = doubles(*bias);
  for (size_t i = 0; i < v.size(); ++i) v[i] += b[i % b.size()];
  return v;
}

template <double (*F)(double)>
std::vector<Tensor> biased_unary(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<double> v = plus_bias(x, ctx.optional_input(1));
  for (double& e : v) e = F(e);
  return {from_doubles(x.dtype, x.shape, v)};
}

std::vector<Tensor> gelu_1(const NodeContext& ctx) { return biased_unary<gelu>(ctx); }
std::vector<Tensor> bias_gelu_1(const NodeContext& ctx) {
  ctx.input(1);  // the bias is required here
  return biased_unary<gelu>(ctx);
}
std::vector<Tensor> fast_gelu_1(const NodeContext& ctx) { return biased_unary<fast_gelu>(ctx); }

// x * sigmoid(alpha * x).
std::vector<Tensor> quick_gelu_1(const NodeContext& ctx) {
  Tensor y = ctx.input(0);
  const double alpha = ctx.float_attr("alpha", 1.702f);
  map_in_place(y, [&](double x) { return x * sigmoid(alpha * x); });
  return {std::move(y)};
}

// ---- normalizations ---------------------------------------------------------------------------

// A per-element vector over the normalized dims (gamma, beta, bias): its element count must be
// the normalized size.
std::vector<double> normalized_vector(const Tensor* t, DType dtype, int64_t size,
                                      const char* what) {
  if (t == nullptr) return {};
  if (t->dtype != dtype) fail("{} element type differs from the input's", what);
  if (static_cast<int64_t>(t->numel()) != size) {
    fail("{} of shape {} does not hold the {} normalized elements", what, shape_string(t->shape),
         size);
  }
  return doubles(*t);
}

// Normalizes each row of `rows` x `size` values in place: (v - mean) / sqrt(var + eps), or for
// the simplified (RMS) form v / sqrt(mean(v^2) + eps); then * gamma (+ beta). Mean and 1/stddev
// per row go to `mean`/`inv_std`.
void normalize_rows(std::vector<double>& v, int64_t size, bool simplified, double eps,
                    const std::vector<double>& gamma, const std::vector<double>& beta,
                    std::vector<double>& mean, std::vector<double>& inv_std) {
  const int64_t rows = size == 0 ? 0 : static_cast<int64_t>(v.size()) / size;
  mean.assign(rows, 0);
  inv_std.assign(rows, 0);
  for (int64_t r = 0; r < rows; ++r) {
    double* row = v.data() + r * size;
    double m = 0, sq = 0;
    for (int64_t i = 0; i < size; ++i) m += row[i];
    m /= static_cast<double>(size);
    for (int64_t i = 0; i < size; ++i) {
      const double d = simplified ? row[i] : row[i] - m;
      sq += d * d;
    }
    const double inv = 1.0 / std::sqrt(sq / static_cast<double>(size) + eps);
    // gamma holds one value per normalized element, or (broadcast) one per element of v.
    const double* g = gamma.size() == v.size() ? gamma.data() + r * size : gamma.data();
    for (int64_t i = 0; i < size; ++i) {
      const double centered = simplified ? row[i] : row[i] - m;
      row[i] = centered * inv * (gamma.empty() ? 1.0 : g[i]) + (beta.empty() ? 0.0 : beta[i]);
    }
    mean[r] = m;
    inv_std[r] = inv;
  }
}

// SkipLayerNormalization / SkipSimplifiedLayerNormalization over the last dim of
// input + skip (+ bias): outputs the normalized value, the row mean and 1/stddev (float32, of
// shape input[:-1] + [1]) and the sum itself. `skip` repeats over the input when it is smaller
// (a [seq, hidden] skip for a [batch, seq, hidden] input), as ORT's kernel reads it.
template <bool kSimplified>
std::vector<Tensor> skip_layer_norm_1(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& skip = ctx.input(1);
  if (x.rank() < 2) fail("input must have rank >= 2, got {}", shape_string(x.shape));
  if (skip.dtype != x.dtype) fail("skip element type differs from the input's");
  const int64_t hidden = x.shape.back();
  const size_t skip_size = skip.numel();
  if (skip.rank() == 0 || skip.shape.back() != hidden || skip_size == 0 ||
      x.numel() % skip_size != 0) {
    fail("skip of shape {} does not repeat over input {}", shape_string(skip.shape),
         shape_string(x.shape));
  }
  const std::vector<double> gamma = normalized_vector(&ctx.input(2), x.dtype, hidden, "gamma");
  // The simplified form has no beta: its optional bias is input 3, not 4.
  const std::vector<double> beta =
      kSimplified ? std::vector<double>{}
                  : normalized_vector(ctx.optional_input(3), x.dtype, hidden, "beta");
  const std::vector<double> bias =
      normalized_vector(ctx.optional_input(kSimplified ? 3 : 4), x.dtype, hidden, "bias");
  std::vector<double> v = doubles(x);
  const std::vector<double> s = doubles(skip);
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] += s[i % skip_size] + (bias.empty() ? 0.0 : bias[i % hidden]);
  }
  const std::vector<double> sum = v;
  std::vector<double> mean, inv_std;
  normalize_rows(v, hidden, kSimplified, ctx.float_attr("epsilon", 1e-12f), gamma, beta, mean,
                 inv_std);
  Shape stats_shape = x.shape;
  stats_shape.back() = 1;
  return {from_doubles(x.dtype, x.shape, v), from_doubles(DType::kFloat, stats_shape, mean),
          from_doubles(DType::kFloat, stats_shape, inv_std), from_doubles(x.dtype, x.shape, sum)};
}

// SimplifiedLayerNormalization (RMSNorm) over dims [axis, rank): X / sqrt(mean(X^2) + eps) *
// scale; the second output is 1/stddev, of shape X[:axis] + [1, ...].
std::vector<Tensor> simplified_layer_norm_1(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const int64_t rank = static_cast<int64_t>(x.rank());
  const int64_t axis_attr = ctx.int_attr("axis", -1);
  if (axis_attr < -rank || axis_attr >= rank) {
    fail("axis {} out of range for rank {}", axis_attr, rank);
  }
  const int64_t axis = normalize_axis(axis_attr, rank);
  const int64_t size = shape_numel(Shape(x.shape.begin() + axis, x.shape.end()));
  // ORT broadcasts the scale (numpy, right-aligned) over X: ORT's SimplifiedLayerNormFusion
  // keeps a [1] or [1, C] gamma as it was.
  if (scale.dtype != x.dtype) fail("scale element type differs from the input's");
  const std::array<const Shape*, 2> shapes{&scale.shape, &x.shape};
  if (scale.rank() > x.rank() || broadcast_shape(shapes) != x.shape) {
    fail("scale of shape {} does not broadcast to {}", shape_string(scale.shape),
         shape_string(x.shape));
  }
  std::vector<double> gamma(static_cast<size_t>(x.numel()));
  const std::array<std::vector<int64_t>, 1> strides{broadcast_strides(scale.shape, x.shape)};
  for_each_index(x.shape, strides, [&](int64_t i, const std::array<int64_t, 1>& at) {
    gamma[i] = scale.as_double(at[0]);
  });
  std::vector<double> v = doubles(x);
  std::vector<double> mean, inv_std;
  normalize_rows(v, size, /*simplified=*/true, ctx.float_attr("epsilon", 1e-5f), gamma, {}, mean,
                 inv_std);
  Shape stats_shape = x.shape;
  for (int64_t d = axis; d < rank; ++d) stats_shape[d] = 1;
  return {from_doubles(x.dtype, x.shape, v), from_doubles(DType::kFloat, stats_shape, inv_std)};
}

// ---- NCHWc (com.microsoft.nchwc) --------------------------------------------------------------
//
// At ORT_ENABLE_ALL on x86, ORT's NchwcTransformer rewrites float 2-D Conv and pooling into the
// blocked NCHWc layout: a tensor of logical shape [N, C, H, W] (C padded to a multiple of the
// block size B) is stored as [N, C/B, H, W, B]. Weights are reordered offline in the model, so
// the reference must use the block size of the machine ORT ran on, which is this one (the
// ort-optimized execution runs ORT locally): MLAS uses 16 where AVX-512F is usable, else 8.
// Each kernel unblocks, runs the ONNX kernel, and blocks again.

int64_t nchwc_block_size() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx512f") ? 16 : 8;
#else
  return 8;
#endif
}

Tensor reshaped(Tensor t, Shape shape) {
  ONNXFUZZ_CHECK(shape_numel(shape) == t.numel(), "reshaped: element count changes");
  t.shape = std::move(shape);
  return t;
}

// Checks a blocked tensor: rank >= 3, channels a multiple of the block size.
void expect_blocked(const Tensor& t, int64_t block, const char* what) {
  if (t.rank() < 3 || t.shape[1] % block != 0) {
    fail("{} of shape {} is not an NCHWc tensor of block size {}", what, shape_string(t.shape),
         block);
  }
}

// [N, C, S...] stored as [N, C/B, S..., B] -> plain NCHW [N, C, S...].
Tensor unblocked(const Tensor& t, int64_t block) {
  expect_blocked(t, block, "input");
  const int64_t rank = static_cast<int64_t>(t.rank());
  Shape physical{t.shape[0], t.shape[1] / block};
  physical.insert(physical.end(), t.shape.begin() + 2, t.shape.end());
  physical.push_back(block);
  std::vector<int64_t> perm{0, 1, rank};  // [N, C/B, B, S...]
  for (int64_t d = 2; d < rank; ++d) perm.push_back(d);
  return reshaped(permuted(reshaped(t, physical), perm), t.shape);
}

// Plain [N, C, S...] -> blocked, C zero-padded up to a multiple of the block size.
Tensor blocked(const Tensor& t, int64_t block) {
  const int64_t rank = static_cast<int64_t>(t.rank());
  const int64_t channels = t.shape[1];
  const int64_t padded = (channels + block - 1) / block * block;
  Tensor source = t;
  if (padded != channels) {
    Shape shape = t.shape;
    shape[1] = padded;
    source = make_tensor(t.dtype, shape);
    const size_t row = dtype_size(t.dtype) * static_cast<size_t>(channels) *
                       static_cast<size_t>(shape_numel(Shape(t.shape.begin() + 2, t.shape.end())));
    const size_t padded_row = row / static_cast<size_t>(channels) * static_cast<size_t>(padded);
    for (int64_t n = 0; n < t.shape[0]; ++n) {
      std::copy_n(t.bytes.begin() + n * row, row, source.bytes.begin() + n * padded_row);
    }
  }
  Shape split{source.shape[0], padded / block, block};
  split.insert(split.end(), source.shape.begin() + 2, source.shape.end());
  std::vector<int64_t> perm{0, 1};  // [N, C/B, S..., B]
  for (int64_t d = 3; d <= rank; ++d) perm.push_back(d);
  perm.push_back(2);
  return reshaped(permuted(reshaped(source, split), perm), source.shape);
}

// The first `channels` channels of a plain [N, C, S...] tensor.
Tensor first_channels(const Tensor& t, int64_t channels) {
  if (channels > t.shape[1]) fail("channels {} exceed the tensor's {}", channels, t.shape[1]);
  Shape shape = t.shape;
  shape[1] = channels;
  Tensor out = make_tensor(t.dtype, shape);
  const size_t plane = dtype_size(t.dtype) *
                       static_cast<size_t>(shape_numel(Shape(t.shape.begin() + 2, t.shape.end())));
  for (int64_t n = 0; n < t.shape[0]; ++n) {
    std::copy_n(t.bytes.begin() + n * t.shape[1] * plane, channels * plane,
                out.bytes.begin() + n * channels * plane);
  }
  return out;
}

// ReorderInput: NCHW (or NHWC with channels_last) -> NCHWc.
std::vector<Tensor> reorder_input_1(const NodeContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() != 4) fail("ReorderInput needs a 4-D input, got {}", shape_string(x.shape));
  if (ctx.int_attr("channels_last", 0) != 0)
    return {blocked(permuted(x, {0, 3, 1, 2}), nchwc_block_size())};
  return {blocked(x, nchwc_block_size())};
}

// ReorderOutput: NCHWc -> NCHW (or NHWC) with the original `channels`.
std::vector<Tensor> reorder_output_1(const NodeContext& ctx) {
  const int64_t channels = ctx.int_attr("channels", 0);
  if (channels <= 0) fail("ReorderOutput needs a positive 'channels' attribute");
  Tensor y = first_channels(unblocked(ctx.input(0), nchwc_block_size()), channels);
  if (ctx.int_attr("channels_last", 0) != 0) return {permuted(y, {0, 2, 3, 1})};
  return {y};
}

// The plain OIHW filter of a reordered NCHWc one: OIHWBo ([O/B, I, kh, kw, Bo]) for a plain
// NCHW input or a depthwise convolution, else OIHWBiBo ([O/B, I/B, kh, kw, Bi, Bo]).
Tensor plain_filter(const Tensor& w, int64_t block, bool bi_bo) {
  if (w.rank() != 4 || w.shape[0] % block != 0 || (bi_bo && w.shape[1] % block != 0)) {
    fail("filter of shape {} is not an NCHWc filter of block size {}", shape_string(w.shape),
         block);
  }
  const int64_t o = w.shape[0], i = w.shape[1], kh = w.shape[2], kw = w.shape[3];
  if (bi_bo) {
    const Tensor t =
        permuted(reshaped(w, {o / block, i / block, kh, kw, block, block}), {0, 5, 1, 4, 2, 3});
    return reshaped(t, w.shape);
  }
  return reshaped(permuted(reshaped(w, {o / block, i, kh, kw, block}), {0, 4, 1, 2, 3}), w.shape);
}

// NCHWc Conv: activation(Conv(X, W, B) + Sum), every blocked tensor unblocked around the ONNX
// Conv. X is blocked unless it is a plain NCHW input of fewer channels than a block (the
// transformer's first-layer form, filter OIHWBo); a depthwise Conv (group > 1) has an OIHWBo
// filter too.
std::vector<Tensor> nchwc_conv_1(const NodeContext& ctx) {
  const int64_t block = nchwc_block_size();
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  if (x.dtype != DType::kFloat) fail("NCHWc Conv runs float32 only");
  const bool depthwise = ctx.int_attr("group", 1) > 1;
  const bool plain_input = !depthwise && w.rank() == 4 && w.shape[1] < block;
  const Tensor filter = plain_filter(w, block, !depthwise && !plain_input);
  const Tensor input = plain_input ? x : unblocked(x, block);
  Tensor bias;
  const Tensor* b = ctx.optional_input(2);
  if (b != nullptr) {
    // The transformer pads the bias to the padded output channels; accept either length.
    bias = make_tensor(b->dtype, {filter.shape[0]});
    if (b->rank() != 1 || b->shape[0] > filter.shape[0])
      fail("bias of shape {} does not fit", shape_string(b->shape));
    std::copy(b->bytes.begin(), b->bytes.end(), bias.bytes.begin());
  }
  const std::array<const Tensor*, 3> inputs{&input, &filter, b != nullptr ? &bias : nullptr};
  std::vector<Tensor> out = run_onnx("Conv", 11, ctx.node(), inputs);
  Tensor& y = out[0];
  if (const Tensor* sum = ctx.optional_input(3)) {
    const Tensor plain_sum = unblocked(*sum, block);
    if (plain_sum.shape != y.shape) {
      fail("Sum of shape {} does not match the convolution's output {}", shape_string(sum->shape),
           shape_string(y.shape));
    }
    auto yv = y.values<float>();
    auto sv = plain_sum.values<float>();
    for (size_t i = 0; i < yv.size(); ++i) yv[i] += sv[i];
  }
  map_in_place(y, conv_activation(ctx));
  y = blocked(y, block);
  return out;
}

// NCHWc MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool: the ONNX op on the unblocked
// tensor (padded channels pool to zeros and stay padding).
template <const char* kOp, int kVersion>
std::vector<Tensor> nchwc_pool_1(const NodeContext& ctx) {
  const int64_t block = nchwc_block_size();
  const Tensor input = unblocked(ctx.input(0), block);
  const std::array<const Tensor*, 1> inputs{&input};
  std::vector<Tensor> out = run_onnx(kOp, kVersion, ctx.node(), inputs);
  out.resize(1);
  out[0] = blocked(out[0], block);
  return out;
}

constexpr char kMaxPool[] = "MaxPool";
constexpr char kAveragePool[] = "AveragePool";
constexpr char kGlobalMaxPool[] = "GlobalMaxPool";
constexpr char kGlobalAveragePool[] = "GlobalAveragePool";

constexpr std::string_view kNchwcDomain = "com.microsoft.nchwc";

// The statistics outputs are float32 whatever the input type (ORT's type parameter U).
constexpr KernelOptions kStatsFloat{.float_outputs = 0b0110};

const KernelRegistrar kFusedMatMul1{kMicrosoftDomain, "FusedMatMul", 1, fused_matmul_1};
const KernelRegistrar kFusedGemm1{kMicrosoftDomain, "FusedGemm", 1, fused_gemm_1};
const KernelRegistrar kFusedConv1{kMicrosoftDomain, "FusedConv", 1, fused_conv_1};
const KernelRegistrar kGelu1{kMicrosoftDomain, "Gelu", 1, gelu_1};
const KernelRegistrar kBiasGelu1{kMicrosoftDomain, "BiasGelu", 1, bias_gelu_1};
const KernelRegistrar kFastGelu1{kMicrosoftDomain, "FastGelu", 1, fast_gelu_1};
const KernelRegistrar kQuickGelu1{kMicrosoftDomain, "QuickGelu", 1, quick_gelu_1};
const KernelRegistrar kSkipLayerNormalization1{kMicrosoftDomain, "SkipLayerNormalization", 1,
                                               skip_layer_norm_1<false>, kStatsFloat};
const KernelRegistrar kSkipSimplifiedLayerNormalization1{
    kMicrosoftDomain, "SkipSimplifiedLayerNormalization", 1, skip_layer_norm_1<true>, kStatsFloat};
const KernelRegistrar kNchwcReorderInput1{kNchwcDomain, "ReorderInput", 1, reorder_input_1};
const KernelRegistrar kNchwcReorderOutput1{kNchwcDomain, "ReorderOutput", 1, reorder_output_1};
const KernelRegistrar kNchwcConv1{kNchwcDomain, "Conv", 1, nchwc_conv_1};
const KernelRegistrar kNchwcMaxPool1{kNchwcDomain, "MaxPool", 1, nchwc_pool_1<kMaxPool, 12>};
const KernelRegistrar kNchwcAveragePool1{kNchwcDomain, "AveragePool", 1,
                                         nchwc_pool_1<kAveragePool, 11>};
const KernelRegistrar kNchwcGlobalMaxPool1{kNchwcDomain, "GlobalMaxPool", 1,
                                           nchwc_pool_1<kGlobalMaxPool, 1>};
const KernelRegistrar kNchwcGlobalAveragePool1{kNchwcDomain, "GlobalAveragePool", 1,
                                               nchwc_pool_1<kGlobalAveragePool, 1>};
// ORT registers this one in the ONNX domain, from version 1; libonnx has no schema for it.
const KernelRegistrar kSimplifiedLayerNormalization1{
    "", "SimplifiedLayerNormalization", 1, simplified_layer_norm_1, {.float_outputs = 0b10}};

}  // namespace
}  // namespace onnxfuzz::ref
