// Reference kernels for ONNX Runtime's contrib ops (oracles/reference/contrib.cpp): hand-computed
// values, equivalence with their decomposition into ONNX ops on the reference, agreement with
// ONNX Runtime itself (ort-noopt runs com.microsoft ops), and domain-qualified dispatch.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "generators/model_io.h"
#include "oracles/execution.h"
#include "oracles/reference.h"
#include "oracles/worker_paths.h"
#include "tests/reference_fixtures.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

using fixtures::doubles_of;
using fixtures::parse;
using fixtures::tensor_of;
using fixtures::text_type;

constexpr const char* kOpsets = R"(<ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>)";

// A model whose graph is `signature { body }`, importing ONNX 17 and com.microsoft 1.
onnx::ModelProto model(const std::string& signature, const std::string& body) {
  return parse(fmt::format("{}\n{} {{\n{}\n}}", kOpsets, signature, body));
}

// Deterministic values in [lo, hi], exactly representable in float16 (multiples of 1/64).
Tensor random_tensor(DType dtype, Shape shape, uint32_t seed, double lo = -2, double hi = 2) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  Tensor t = Tensor::zeros(dtype, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.set_double(i, std::round(dist(rng) * 64) / 64);
  return t;
}

RunResult run_ref(const onnx::ModelProto& m, const TensorMap& inputs) {
  RunResult r = run_reference(m, inputs);
  EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
  return r;
}

// allclose with NaN positions matching, and shapes and dtypes equal.
void expect_close(const Tensor& actual, const Tensor& expected, double atol, double rtol) {
  ASSERT_EQ(actual.dtype, expected.dtype);
  ASSERT_EQ(actual.shape, expected.shape);
  for (int64_t i = 0; i < actual.numel(); ++i) {
    const double a = actual.as_double(i), e = expected.as_double(i);
    if (std::isnan(e)) {
      EXPECT_TRUE(std::isnan(a)) << "at " << i;
      continue;
    }
    EXPECT_LE(std::abs(a - e), atol + rtol * std::abs(e)) << "at " << i << ": " << a << " vs " << e;
  }
}

void expect_values(const Tensor& actual, const Shape& shape, const std::vector<double>& expected,
                   double tol = 1e-6) {
  ASSERT_EQ(actual.shape, shape);
  const std::vector<double> got = doubles_of(actual);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], tol) << "at " << i;
}

// Tolerance of a fused op against its decomposition: the decomposition rounds after every ONNX
// op, the fused kernel once, so float16 differs by a few half ulps.
double tolerance(DType dtype) { return dtype == DType::kFloat16 ? 2e-2 : 1e-5; }

const std::vector<DType> kFloatTypes = {DType::kFloat, DType::kDouble, DType::kFloat16};

// ---- hand-computed values -----------------------------------------------------------------------

TEST(ContribKernels, FusedMatMulHandComputed) {
  TensorMap in;
  in["a"] = tensor_of(DType::kFloat, {2, 2}, {1, 2, 3, 4});
  in["b"] = tensor_of(DType::kFloat, {2, 2}, {5, 6, 7, 8});
  // A^T = [[1, 3], [2, 4]]; A^T B = [[26, 30], [38, 44]]; times 0.5.
  auto r = run_ref(model("g (float[2,2] a, float[2,2] b) => (float[2,2] y)",
                         "y = com.microsoft.FusedMatMul <alpha = 0.5, transA = 1> (a, b)"),
                   in);
  expect_values(r.outputs.at("y"), {2, 2}, {13, 15, 19, 22});
  // transBatchA on [2, 1, 2]: dims [1, 0, 2] give [[1, 2], [3, 4]] as one [1, 2, 2] batch; B swaps
  // the columns.
  in["a"] = tensor_of(DType::kFloat, {2, 1, 2}, {1, 2, 3, 4});
  in["b"] = tensor_of(DType::kFloat, {1, 2, 2}, {0, 1, 1, 0});
  r = run_ref(model("g (float[2,1,2] a, float[1,2,2] b) => (float[1,2,2] y)",
                    "y = com.microsoft.FusedMatMul <transBatchA = 1> (a, b)"),
              in);
  expect_values(r.outputs.at("y"), {1, 2, 2}, {2, 1, 4, 3});
}

TEST(ContribKernels, FusedGemmAndFusedConvHandComputed) {
  TensorMap in;
  in["a"] = tensor_of(DType::kFloat, {1, 2}, {1, -2});
  in["b"] = tensor_of(DType::kFloat, {2, 2}, {1, 0, 0, 1});
  in["c"] = tensor_of(DType::kFloat, {2}, {0.5, 0.5});
  // A B + C = [1.5, -1.5].
  auto r = run_ref(model("g (float[1,2] a, float[2,2] b, float[2] c) => (float[1,2] y)",
                         "y = com.microsoft.FusedGemm <activation = \"Relu\"> (a, b, c)"),
                   in);
  expect_values(r.outputs.at("y"), {1, 2}, {1.5, 0});
  r = run_ref(model("g (float[1,2] a, float[2,2] b, float[2] c) => (float[1,2] y)",
                    "y = com.microsoft.FusedGemm <activation = \"LeakyRelu\", "
                    "activation_alpha = 0.1> (a, b, c)"),
              in);
  expect_values(r.outputs.at("y"), {1, 2}, {1.5, -0.15});

  TensorMap conv;
  conv["x"] = tensor_of(DType::kFloat, {1, 1, 2, 2}, {1, -2, 3, -4});
  conv["w"] = tensor_of(DType::kFloat, {1, 1, 1, 1}, {2});
  conv["b"] = tensor_of(DType::kFloat, {1}, {1});
  conv["z"] = tensor_of(DType::kFloat, {1, 1, 2, 2}, {1, 1, 1, 1});
  // 2x + 1 = [3, -3, 7, -7]; + Z = [4, -2, 8, -6].
  const std::string sig =
      "g (float[1,1,2,2] x, float[1,1,1,1] w, float[1] b, float[1,1,2,2] z) => "
      "(float[1,1,2,2] y)";
  r = run_ref(model(sig, "y = com.microsoft.FusedConv <activation = \"Relu\"> (x, w, b, z)"), conv);
  expect_values(r.outputs.at("y"), {1, 1, 2, 2}, {4, 0, 8, 0});
  r = run_ref(model(sig,
                    "y = com.microsoft.FusedConv <activation = \"Clip\", "
                    "activation_params = [-1.0, 5.0]> (x, w, b, z)"),
              conv);
  expect_values(r.outputs.at("y"), {1, 1, 2, 2}, {4, -1, 5, -1});
}

TEST(ContribKernels, GeluFamilyHandComputed) {
  TensorMap in;
  in["x"] = tensor_of(DType::kFloat, {3}, {0, 1, -1});
  in["bias"] = tensor_of(DType::kFloat, {3}, {1, -1, 0});
  const std::string sig = "g (float[3] x, float[3] bias) => (float[3] y)";
  // Phi(1) = 0.8413447460685429: Gelu(1) = Phi(1), Gelu(-1) = -(1 - Phi(1)).
  auto r = run_ref(model(sig, "y = com.microsoft.Gelu (x)"), in);
  expect_values(r.outputs.at("y"), {3}, {0, 0.8413447460685429, -0.15865525393145707});
  r = run_ref(model(sig, "y = com.microsoft.BiasGelu (x, bias)"), in);  // Gelu([1, 0, -1])
  expect_values(r.outputs.at("y"), {3}, {0.8413447460685429, 0, -0.15865525393145707});
  // 0.5 x (1 + tanh(0.7978845608 (x + 0.044715 x^3))) at 1: tanh(0.8335565596) = 0.6823835.
  r = run_ref(model(sig, "y = com.microsoft.FastGelu (x)"), in);
  expect_values(r.outputs.at("y"), {3}, {0, 0.8411919906, -0.1588080094});
  r = run_ref(model(sig, "y = com.microsoft.FastGelu (x, bias)"), in);
  expect_values(r.outputs.at("y"), {3}, {0.8411919906, 0, -0.1588080094});
  // x sigmoid(1.702 x): sigmoid(1.702) = 0.8457957, sigmoid(-1.702) = 0.1542043.
  r = run_ref(model(sig, "y = com.microsoft.QuickGelu (x)"), in);
  expect_values(r.outputs.at("y"), {3}, {0, 0.8457957, -0.1542043});
  r = run_ref(model(sig, "y = com.microsoft.QuickGelu <alpha = 1.0> (x)"), in);
  expect_values(r.outputs.at("y"), {3}, {0, 0.7310586, -0.2689414});  // Swish
}

TEST(ContribKernels, NormalizationsHandComputed) {
  TensorMap in;
  in["x"] = tensor_of(DType::kFloat, {1, 2}, {1, 3});
  in["skip"] = tensor_of(DType::kFloat, {1, 2}, {1, 1});
  in["gamma"] = tensor_of(DType::kFloat, {2}, {2, 1});
  in["beta"] = tensor_of(DType::kFloat, {2}, {0.5, 0});
  // x + skip = [2, 4]: mean 3, variance 1, normalized [-1, 1]; * gamma + beta = [-1.5, 1].
  auto r = run_ref(
      model("g (float[1,2] x, float[1,2] skip, float[2] gamma, float[2] beta) => (float[1,2] y, "
            "float[1,1] mean, float[1,1] inv, float[1,2] sum)",
            "y, mean, inv, sum = com.microsoft.SkipLayerNormalization <epsilon = 0.0> "
            "(x, skip, gamma, beta)"),
      in);
  expect_values(r.outputs.at("y"), {1, 2}, {-1.5, 1});
  expect_values(r.outputs.at("mean"), {1, 1}, {3});
  expect_values(r.outputs.at("inv"), {1, 1}, {1});
  expect_values(r.outputs.at("sum"), {1, 2}, {2, 4});

  // RMS of [3, 4] is sqrt(12.5) = 3.5355339: [0.8485281, 1.1313708] * scale [1, 2].
  in["x"] = tensor_of(DType::kFloat, {1, 2}, {3, 4});
  in["scale"] = tensor_of(DType::kFloat, {2}, {1, 2});
  r = run_ref(model("g (float[1,2] x, float[2] scale) => (float[1,2] y, float[1,1] inv)",
                    "y, inv = SimplifiedLayerNormalization <epsilon = 0.0> (x, scale)"),
              in);
  expect_values(r.outputs.at("y"), {1, 2}, {0.8485281, 2.2627417});
  expect_values(r.outputs.at("inv"), {1, 1}, {0.2828427});
  // The skip form: [1, 2] + [2, 2] = [3, 4], then the same.
  in["x"] = tensor_of(DType::kFloat, {1, 2}, {1, 2});
  in["skip"] = tensor_of(DType::kFloat, {1, 2}, {2, 2});
  r = run_ref(model("g (float[1,2] x, float[1,2] skip, float[2] scale) => (float[1,2] y)",
                    "y = com.microsoft.SkipSimplifiedLayerNormalization <epsilon = 0.0> "
                    "(x, skip, scale)"),
              in);
  expect_values(r.outputs.at("y"), {1, 2}, {0.8485281, 2.2627417});
}

// ---- equivalence with the decomposition on the reference ---------------------------------------

// A fused model and its decomposition over the same signature, run on the same inputs: every
// graph output must agree.
struct Equivalence {
  std::string name;
  std::string signature;  // "{T}" is the dtype's text name
  std::string fused;
  std::string decomposed;
  std::vector<std::pair<std::string, Shape>> inputs;
};

void expect_equivalent(const Equivalence& e, DType dtype) {
  SCOPED_TRACE(e.name + " in " + std::string(dtype_name(dtype)));
  const std::string sig = fmt::format(fmt::runtime(e.signature), fmt::arg("T", text_type(dtype)));
  TensorMap in;
  uint32_t seed = 1;
  for (const auto& [name, shape] : e.inputs) in[name] = random_tensor(dtype, shape, seed++);
  const RunResult fused = run_ref(model(sig, e.fused), in);
  const RunResult plain = run_ref(model(sig, e.decomposed), in);
  ASSERT_EQ(fused.output_order, plain.output_order);
  for (const auto& name : fused.output_order) {
    SCOPED_TRACE(name);
    expect_close(fused.outputs.at(name), plain.outputs.at(name), tolerance(dtype),
                 tolerance(dtype));
  }
}

// "k = Constant(v) cast like `like`" in the decomposition.
std::string constant(const std::string& name, double v, const std::string& like) {
  return fmt::format("{0}_f = Constant <value_float = {1:.12f}> ()\n{0} = CastLike ({0}_f, {2})\n",
                     name, v, like);
}

// FusedMatMul's operand permutation, written out as the spec says it: transBatch moves dim 0
// behind the batch dims, trans swaps the last two.
std::vector<int64_t> operand_perm(size_t rank, bool trans_batch, bool trans) {
  std::vector<int64_t> perm;
  if (trans_batch) {
    for (size_t d = 1; d + 1 < rank; ++d) perm.push_back(static_cast<int64_t>(d));
    perm.push_back(0);
  } else {
    for (size_t d = 0; d + 1 < rank; ++d) perm.push_back(static_cast<int64_t>(d));
  }
  perm.push_back(static_cast<int64_t>(rank - 1));
  if (trans) std::swap(perm[rank - 2], perm[rank - 1]);
  return perm;
}

std::string dims(const Shape& s) { return fmt::format("{}", fmt::join(s, ",")); }

TEST(ContribKernels, FusedMatMulEqualsTransposeMatMulScale) {
  struct Case {
    Shape a, b, y;
    int trans_a, trans_b, batch_a, batch_b;
    double alpha;
  };
  const std::vector<Case> cases = {
      {{3, 4}, {3, 5}, {4, 5}, 1, 0, 0, 0, 0.5},
      {{2, 3, 4}, {2, 5, 4}, {2, 3, 5}, 0, 1, 0, 0, 1},
      {{3, 2, 4}, {2, 4, 5}, {2, 3, 5}, 0, 0, 1, 0, 2},
      {{3, 2, 4}, {4, 2, 5}, {2, 3, 5}, 0, 0, 1, 1, -1},
      {{4, 2, 3}, {2, 4, 5}, {2, 3, 5}, 1, 0, 1, 0, 0.25},
      {{3, 2, 2, 4}, {2, 2, 4, 5}, {2, 2, 3, 5}, 0, 0, 1, 0, 1},
      {{2, 3}, {3}, {2}, 0, 1, 0, 0, 2},  // trans of a 1-D operand is ignored
      {{1, 3, 4}, {2, 5, 4}, {2, 3, 5}, 0, 1, 0, 0, -1},
  };
  for (const Case& c : cases) {
    std::string body;
    std::string a = "a", b = "b";
    if (c.a.size() > 1 && (c.trans_a || c.batch_a)) {
      body += fmt::format("at = Transpose <perm = [{}]> (a)\n",
                          fmt::join(operand_perm(c.a.size(), c.batch_a, c.trans_a), ", "));
      a = "at";
    }
    if (c.b.size() > 1 && (c.trans_b || c.batch_b)) {
      body += fmt::format("bt = Transpose <perm = [{}]> (b)\n",
                          fmt::join(operand_perm(c.b.size(), c.batch_b, c.trans_b), ", "));
      b = "bt";
    }
    body +=
        fmt::format("m = MatMul ({}, {})\n", a, b) + constant("k", c.alpha, "m") + "y = Mul (m, k)";
    const Equivalence e{
        fmt::format("FusedMatMul {}x{} tA={} tB={} tbA={} tbB={}", dims(c.a), dims(c.b), c.trans_a,
                    c.trans_b, c.batch_a, c.batch_b),
        fmt::format("g ({{T}}[{}] a, {{T}}[{}] b) => ({{T}}[{}] y)", dims(c.a), dims(c.b),
                    dims(c.y)),
        fmt::format("y = com.microsoft.FusedMatMul <alpha = {:.4f}, transA = {}, transB = {}, "
                    "transBatchA = {}, transBatchB = {}> (a, b)",
                    c.alpha, c.trans_a, c.trans_b, c.batch_a, c.batch_b),
        body,
        {{"a", c.a}, {"b", c.b}}};
    for (DType dtype : kFloatTypes) expect_equivalent(e, dtype);
  }
}

TEST(ContribKernels, FusedGemmEqualsGemmThenActivation) {
  // (fused attributes, the ONNX activation node)
  const std::vector<std::pair<std::string, std::string>> activations = {
      {"activation = \"Relu\"", "y = Relu (g)"},
      {"activation = \"LeakyRelu\", activation_alpha = 0.2", "y = LeakyRelu <alpha = 0.2> (g)"},
      {"activation = \"Sigmoid\"", "y = Sigmoid (g)"},
      {"activation = \"Tanh\"", "y = Tanh (g)"},
      {"activation = \"HardSigmoid\", activation_alpha = 0.3, activation_beta = 0.4",
       "y = HardSigmoid <alpha = 0.3, beta = 0.4> (g)"},
      {"activation = \"Elu\", activation_alpha = 0.5", "y = Elu <alpha = 0.5> (g)"},
      {"activation = \"Selu\"", "y = Selu (g)"},
      {"activation = \"Softplus\"", "y = Softplus (g)"},
  };
  for (const auto& [attrs, act] : activations) {
    for (int trans_b : {0, 1}) {
      const Shape b = trans_b ? Shape{5, 4} : Shape{4, 5};
      const Equivalence e{
          "FusedGemm " + attrs,
          fmt::format("g ({{T}}[3,4] a, {{T}}[{}] b, {{T}}[5] c) => ({{T}}[3,5] y)", dims(b)),
          fmt::format("y = com.microsoft.FusedGemm <alpha = 0.5, beta = 2.0, transB = {}, {}> "
                      "(a, b, c)",
                      trans_b, attrs),
          fmt::format("g = Gemm <alpha = 0.5, beta = 2.0, transB = {}> (a, b, c)\n{}", trans_b,
                      act),
          {{"a", {3, 4}}, {"b", b}, {"c", {5}}}};
      for (DType dtype : {DType::kFloat, DType::kDouble}) expect_equivalent(e, dtype);
    }
  }
}

TEST(ContribKernels, FusedConvEqualsConvAddActivation) {
  const std::vector<std::pair<std::string, std::string>> activations = {
      {"activation = \"Relu\"", "y = Relu (s)"},
      {"activation = \"LeakyRelu\", activation_params = [0.1]", "y = LeakyRelu <alpha = 0.1> (s)"},
      {"activation = \"Clip\", activation_params = [-0.5, 0.5]",
       constant("lo", -0.5, "s") + constant("hi", 0.5, "s") + "y = Clip (s, lo, hi)"},
      {"activation = \"HardSigmoid\", activation_params = [0.2, 0.5]",
       "y = HardSigmoid <alpha = 0.2, beta = 0.5> (s)"},
      {"activation = \"Sigmoid\"", "y = Sigmoid (s)"},
      {"activation = \"Tanh\"", "y = Tanh (s)"},
  };
  const std::string conv_attrs = "group = 2, strides = [2, 2], pads = [1, 1, 1, 1]";
  for (const auto& [attrs, act] : activations) {
    for (bool with_z : {false, true}) {
      const Equivalence e{
          fmt::format("FusedConv {} z={}", attrs, with_z),
          "g ({T}[1,2,5,5] x, {T}[4,1,3,3] w, {T}[4] b, {T}[1,4,3,3] z) => ({T}[1,4,3,3] y)",
          fmt::format("y = com.microsoft.FusedConv <{}, {}> (x, w, b{})", conv_attrs, attrs,
                      with_z ? ", z" : ""),
          fmt::format("c = Conv <{}> (x, w, b)\n{}\n{}", conv_attrs,
                      with_z ? "s = Add (c, z)" : "s = Identity (c)", act),
          {{"x", {1, 2, 5, 5}}, {"w", {4, 1, 3, 3}}, {"b", {4}}, {"z", {1, 4, 3, 3}}}};
      for (DType dtype : kFloatTypes) expect_equivalent(e, dtype);
    }
  }
}

TEST(ContribKernels, GeluFamilyEqualsItsOnnxPatterns) {
  const std::string gelu_of_b = constant("sqrt2", std::sqrt(2.0), "b") + constant("one", 1, "b") +
                                constant("half", 0.5, "b") +
                                "d = Div (b, sqrt2)\ne = Erf (d)\np = Add (e, one)\n"
                                "m = Mul (b, p)\ny = Mul (m, half)";
  const std::string fast_gelu_of_b =
      constant("three", 3, "b") + constant("coef", 0.044715, "b") +
      constant("root", 0.7978845608028654, "b") + constant("one", 1, "b") +
      constant("half", 0.5, "b") +
      "c = Pow (b, three)\nk = Mul (c, coef)\ns = Add (b, k)\nt = Mul (s, root)\n"
      "h = Tanh (t)\np = Add (h, one)\nm = Mul (b, p)\ny = Mul (m, half)";
  const std::string sig = "g ({T}[2,3,4] x, {T}[4] bias) => ({T}[2,3,4] y)";
  const std::vector<std::pair<std::string, Shape>> inputs = {{"x", {2, 3, 4}}, {"bias", {4}}};
  const std::vector<Equivalence> cases = {
      {"Gelu", sig, "y = com.microsoft.Gelu (x)", "b = Identity (x)\n" + gelu_of_b, inputs},
      {"BiasGelu", sig, "y = com.microsoft.BiasGelu (x, bias)", "b = Add (x, bias)\n" + gelu_of_b,
       inputs},
      {"FastGelu", sig, "y = com.microsoft.FastGelu (x)", "b = Identity (x)\n" + fast_gelu_of_b,
       inputs},
      {"FastGelu+bias", sig, "y = com.microsoft.FastGelu (x, bias)",
       "b = Add (x, bias)\n" + fast_gelu_of_b, inputs},
      {"QuickGelu", sig, "y = com.microsoft.QuickGelu <alpha = 1.702> (x)",
       constant("k", 1.702, "x") + "m = Mul (x, k)\ns = Sigmoid (m)\ny = Mul (x, s)", inputs},
      {"QuickGelu alpha 1", sig, "y = com.microsoft.QuickGelu <alpha = 1.0> (x)",
       "s = Sigmoid (x)\ny = Mul (x, s)", inputs},
  };
  for (const Equivalence& e : cases) {
    for (DType dtype : kFloatTypes) expect_equivalent(e, dtype);
  }
}

TEST(ContribKernels, NormalizationsEqualAddThenLayerNormalization) {
  const std::vector<std::pair<std::string, Shape>> inputs = {
      {"x", {2, 3, 4}}, {"skip", {2, 3, 4}}, {"gamma", {4}}, {"beta", {4}}, {"bias", {4}}};
  const std::string sig =
      "g ({T}[2,3,4] x, {T}[2,3,4] skip, {T}[4] gamma, {T}[4] beta, {T}[4] bias) => "
      "({T}[2,3,4] y, {T}[2,3,4] sum)";
  // (x + skip + bias) / rms * gamma over the last dim, written as the RMSNorm pattern.
  auto rms = [](const std::string& v, const std::string& axes, const std::string& scale) {
    return constant("two", 2, v) + constant("eps", 1e-5, v) +
           fmt::format(
               "p = Pow ({0}, two)\nr = ReduceMean <axes = [{1}]> (p)\nq = Add (r, eps)\n"
               "sq = Sqrt (q)\nn = Div ({0}, sq)\ny = Mul (n, {2})",
               v, axes, scale);
  };
  const std::vector<Equivalence> cases = {
      {"SkipLayerNormalization", sig,
       "y, mean, inv, sum = com.microsoft.SkipLayerNormalization <epsilon = 0.00001> "
       "(x, skip, gamma, beta, bias)",
       "a = Add (x, skip)\nsum = Add (a, bias)\n"
       "y = LayerNormalization <axis = -1, epsilon = 0.00001> (sum, gamma, beta)",
       inputs},
      {"SkipLayerNormalization, no beta or bias", sig,
       "y, mean, inv, sum = com.microsoft.SkipLayerNormalization <epsilon = 0.00001> "
       "(x, skip, gamma)",
       "sum = Add (x, skip)\ny = LayerNormalization <axis = -1, epsilon = 0.00001> (sum, gamma)",
       inputs},
      {"SkipSimplifiedLayerNormalization", sig,
       "y, mean, inv, sum = com.microsoft.SkipSimplifiedLayerNormalization <epsilon = 0.00001> "
       "(x, skip, gamma, bias)",
       "a = Add (x, skip)\nsum = Add (a, bias)\n" + rms("sum", "-1", "gamma"), inputs},
      {"SimplifiedLayerNormalization axis -1",
       "g ({T}[2,3,4] x, {T}[4] gamma) => ({T}[2,3,4] y)",
       "y = SimplifiedLayerNormalization <axis = -1, epsilon = 0.00001> (x, gamma)",
       rms("x", "-1", "gamma"),
       {{"x", {2, 3, 4}}, {"gamma", {4}}}},
      {"SimplifiedLayerNormalization axis 1",
       "g ({T}[2,3,4] x, {T}[3,4] gamma) => ({T}[2,3,4] y)",
       "y = SimplifiedLayerNormalization <axis = 1, epsilon = 0.00001> (x, gamma)",
       rms("x", "1, 2", "gamma"),
       {{"x", {2, 3, 4}}, {"gamma", {3, 4}}}},
  };
  for (const Equivalence& e : cases) {
    for (DType dtype : kFloatTypes) expect_equivalent(e, dtype);
  }
  // A skip of shape [seq, hidden] repeats over the batch, like Add's broadcasting.
  const Equivalence repeated{
      "SkipLayerNormalization, [3, 4] skip",
      "g ({T}[2,3,4] x, {T}[3,4] skip, {T}[4] gamma, {T}[4] beta) => ({T}[2,3,4] y)",
      "y = com.microsoft.SkipLayerNormalization <epsilon = 0.00001> (x, skip, gamma, beta)",
      "a = Add (x, skip)\ny = LayerNormalization <axis = -1, epsilon = 0.00001> (a, gamma, beta)",
      {{"x", {2, 3, 4}}, {"skip", {3, 4}}, {"gamma", {4}}, {"beta", {4}}}};
  for (DType dtype : kFloatTypes) expect_equivalent(repeated, dtype);
}

// ---- ONNX Runtime itself ------------------------------------------------------------------------

// Single contrib-op models in float32 on ort-noopt (ORT runs com.microsoft ops with graph
// optimizations off, so these are its kernels, not its rewrites) against the reference.
TEST(ContribKernels, ReferenceAgreesWithOnnxRuntime) {
  auto ort = make_execution("ort-noopt", ExecutionOptions{});
  if (!ort) GTEST_SKIP() << "ort-noopt is not available: " << ort.error();
  struct Case {
    std::string signature;
    std::string body;
    std::vector<std::pair<std::string, Shape>> inputs;
  };
  const std::vector<Case> cases = {
      {"g (float[4,3] a, float[4,5] b) => (float[3,5] y)",
       "y = com.microsoft.FusedMatMul <alpha = 0.5, transA = 1> (a, b)",
       {{"a", {4, 3}}, {"b", {4, 5}}}},
      {"g (float[2,3,4] a, float[2,5,4] b) => (float[2,3,5] y)",
       "y = com.microsoft.FusedMatMul <alpha = 2.0, transB = 1> (a, b)",
       {{"a", {2, 3, 4}}, {"b", {2, 5, 4}}}},
      {"g (float[3,2,4] a, float[4,2,5] b) => (float[2,3,5] y)",
       "y = com.microsoft.FusedMatMul <transBatchA = 1, transBatchB = 1> (a, b)",
       {{"a", {3, 2, 4}}, {"b", {4, 2, 5}}}},
      {"g (float[4,2,3] a, float[2,4,5] b) => (float[2,3,5] y)",
       "y = com.microsoft.FusedMatMul <transA = 1, transBatchA = 1> (a, b)",
       {{"a", {4, 2, 3}}, {"b", {2, 4, 5}}}},
      {"g (float[3,4] a, float[5,4] b, float[5] c) => (float[3,5] y)",
       "y = com.microsoft.FusedGemm <alpha = 0.5, beta = 2.0, transB = 1, "
       "activation = \"LeakyRelu\", activation_alpha = 0.2> (a, b, c)",
       {{"a", {3, 4}}, {"b", {5, 4}}, {"c", {5}}}},
      {"g (float[1,2,5,5] x, float[4,1,3,3] w, float[4] b, float[1,4,3,3] z) => "
       "(float[1,4,3,3] y)",
       "y = com.microsoft.FusedConv <group = 2, strides = [2, 2], pads = [1, 1, 1, 1], "
       "activation = \"Relu\"> (x, w, b, z)",
       {{"x", {1, 2, 5, 5}}, {"w", {4, 1, 3, 3}}, {"b", {4}}, {"z", {1, 4, 3, 3}}}},
      {"g (float[1,2,5,5] x, float[4,2,3,3] w) => (float[1,4,3,3] y)",
       "y = com.microsoft.FusedConv <activation = \"Clip\", activation_params = [-0.5, 0.5]> "
       "(x, w)",
       {{"x", {1, 2, 5, 5}}, {"w", {4, 2, 3, 3}}}},
      {"g (float[1,2,5,5] x, float[4,2,3,3] w) => (float[1,4,3,3] y)",
       "y = com.microsoft.FusedConv <activation = \"LeakyRelu\", activation_params = [0.1]> (x, w)",
       {{"x", {1, 2, 5, 5}}, {"w", {4, 2, 3, 3}}}},
      {"g (float[1,2,5,5] x, float[4,2,3,3] w) => (float[1,4,3,3] y)",
       "y = com.microsoft.FusedConv <activation = \"HardSigmoid\", "
       "activation_params = [0.3, 0.4]> (x, w)",
       {{"x", {1, 2, 5, 5}}, {"w", {4, 2, 3, 3}}}},
      {"g (float[1,2,5,5] x, float[4,2,3,3] w) => (float[1,4,3,3] y)",
       "y = com.microsoft.FusedConv <activation = \"Sigmoid\"> (x, w)",
       {{"x", {1, 2, 5, 5}}, {"w", {4, 2, 3, 3}}}},
      {"g (float[1,2,5,5] x, float[4,2,3,3] w) => (float[1,4,3,3] y)",
       "y = com.microsoft.FusedConv <activation = \"Tanh\"> (x, w)",
       {{"x", {1, 2, 5, 5}}, {"w", {4, 2, 3, 3}}}},
      {"g (float[3,4] a, float[4,5] b, float[5] c) => (float[3,5] y)",
       "y = com.microsoft.FusedGemm <activation = \"HardSigmoid\", activation_alpha = 0.3, "
       "activation_beta = 0.4> (a, b, c)",
       {{"a", {3, 4}}, {"b", {4, 5}}, {"c", {5}}}},
      {"g (float[3,4] a, float[4,5] b, float[5] c) => (float[3,5] y)",
       "y = com.microsoft.FusedGemm <activation = \"Tanh\"> (a, b, c)",
       {{"a", {3, 4}}, {"b", {4, 5}}, {"c", {5}}}},
      {"g (float[2,3,4] x, float[3,4] skip, float[4] gamma, float[4] beta) => "
       "(float[2,3,4] y, float[2,3,4] sum)",
       "y, mean, inv, sum = com.microsoft.SkipLayerNormalization <epsilon = 0.00001> "
       "(x, skip, gamma, beta)",
       {{"x", {2, 3, 4}}, {"skip", {3, 4}}, {"gamma", {4}}, {"beta", {4}}}},
      {"g (float[2,3,4] x) => (float[2,3,4] y)", "y = com.microsoft.Gelu (x)", {{"x", {2, 3, 4}}}},
      {"g (float[2,3,4] x, float[4] bias) => (float[2,3,4] y)",
       "y = com.microsoft.FastGelu (x, bias)",
       {{"x", {2, 3, 4}}, {"bias", {4}}}},
      {"g (float[2,3,4] x, float[4] bias) => (float[2,3,4] y)",
       "y = com.microsoft.BiasGelu (x, bias)",
       {{"x", {2, 3, 4}}, {"bias", {4}}}},
      {"g (float[2,3,4] x) => (float[2,3,4] y)",
       "y = com.microsoft.QuickGelu <alpha = 1.702> (x)",
       {{"x", {2, 3, 4}}}},
      {"g (float[2,3,4] x, float[2,3,4] skip, float[4] gamma, float[4] beta, float[4] bias) => "
       "(float[2,3,4] y)",
       "y = com.microsoft.SkipLayerNormalization <epsilon = 0.00001> "
       "(x, skip, gamma, beta, bias)",
       {{"x", {2, 3, 4}}, {"skip", {2, 3, 4}}, {"gamma", {4}}, {"beta", {4}}, {"bias", {4}}}},
      {"g (float[2,3,4] x, float[2,3,4] skip, float[4] gamma) => (float[2,3,4] y)",
       "y = com.microsoft.SkipSimplifiedLayerNormalization <epsilon = 0.00001> (x, skip, gamma)",
       {{"x", {2, 3, 4}}, {"skip", {2, 3, 4}}, {"gamma", {4}}}},
      {"g (float[2,3,4] x, float[4] gamma) => (float[2,3,4] y)",
       "y = SimplifiedLayerNormalization <axis = -1, epsilon = 0.00001> (x, gamma)",
       {{"x", {2, 3, 4}}, {"gamma", {4}}}},
      // Broadcast scales, as ORT's SimplifiedLayerNormFusion keeps them.
      {"g (float[2,3,4] x, float[1] gamma) => (float[2,3,4] y)",
       "y = SimplifiedLayerNormalization <axis = -1, epsilon = 0.00001> (x, gamma)",
       {{"x", {2, 3, 4}}, {"gamma", {1}}}},
      {"g (float[2,3,4] x, float[1,4] gamma) => (float[2,3,4] y)",
       "y = SimplifiedLayerNormalization <axis = -1, epsilon = 0.00001> (x, gamma)",
       {{"x", {2, 3, 4}}, {"gamma", {1, 4}}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    TensorMap in;
    uint32_t seed = 7;
    for (const auto& [name, shape] : c.inputs)
      in[name] = random_tensor(DType::kFloat, shape, seed++);
    const onnx::ModelProto m = model(c.signature, c.body);
    const RunResult expected = run_ref(m, in);
    const RunResult actual = (*ort)->run(ModelUnderTest::view(m), in);
    ASSERT_EQ(actual.status, RunStatus::kOk) << actual.message;
    ASSERT_EQ(actual.output_order, expected.output_order);
    for (const auto& name : expected.output_order) {
      expect_close(actual.outputs.at(name), expected.outputs.at(name), 1e-4, 1e-4);
    }
  }
}

// ORT's LayerNormFusion writes stash_type 11 for a float64 LayerNormalization: the reference
// then computes stage one in double, as ORT does.
TEST(ContribKernels, LayerNormalizationStashDoubleAgreesWithOnnxRuntime) {
  auto ort = make_execution("ort-noopt", ExecutionOptions{});
  if (!ort) GTEST_SKIP() << "ort-noopt is not available: " << ort.error();
  const onnx::ModelProto m =
      model("g (double[2,3,4] x, double[4] gamma, double[4] beta) => (double[2,3,4] y)",
            "y = LayerNormalization <axis = -1, epsilon = 0.00001, stash_type = 11> "
            "(x, gamma, beta)");
  TensorMap in;
  in["x"] = random_tensor(DType::kDouble, {2, 3, 4}, 21);
  in["gamma"] = random_tensor(DType::kDouble, {4}, 22);
  in["beta"] = random_tensor(DType::kDouble, {4}, 23);
  const RunResult expected = run_ref(m, in);
  const RunResult actual = (*ort)->run(ModelUnderTest::view(m), in);
  ASSERT_EQ(actual.status, RunStatus::kOk) << actual.message;
  expect_close(actual.outputs.at("y"), expected.outputs.at("y"), 1e-9, 1e-9);
}

// ---- NCHWc: ORT's own optimized models ---------------------------------------------------------

// Writes ONNX Runtime's ORT_ENABLE_ALL optimized model of `m` (NchwcTransformer on, as the `ort`
// execution runs it) with the pinned onnxruntime-node, and reads it back.
std::expected<onnx::ModelProto, std::string> optimized_by_ort(const onnx::ModelProto& m) {
  const auto root = find_project_root();
  if (!root) return std::unexpected(root.error());
  const auto node = find_in_path("node");
  if (!node) return std::unexpected("node is not on PATH");
  const std::filesystem::path module =
      std::filesystem::path(*root) / "node_modules" / "onnxruntime-node";
  if (!std::filesystem::exists(module)) return std::unexpected("onnxruntime-node is not installed");
  testing::TempDir dir;
  testing::write_file(dir.path() / "in.onnx", serialize_model(m));
  const std::string script = fmt::format(
      "require('{}').InferenceSession.create('{}', {{graphOptimizationLevel: 'all', "
      "optimizedModelFilePath: '{}', logSeverityLevel: 3}}).catch(e => {{ console.log(String(e)); "
      "process.exit(1); }})",
      module.string(), dir.str("in.onnx"), dir.str("out.onnx"));
  const std::string command = fmt::format("{} -e \"{}\" 2>&1", *node, script);
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return std::unexpected("popen failed");
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    output.append(buffer.data(), n);
  if (::pclose(pipe) != 0) return std::unexpected("onnxruntime-node failed: " + output);
  onnx::ModelProto optimized;
  if (!optimized.ParseFromString(testing::read_file(dir.path() / "out.onnx"))) {
    return std::unexpected("the optimized model does not parse");
  }
  return optimized;
}

// Moves graph inputs named in `weights` into initializers holding those tensors (the
// transformer rewrites only convolutions whose weights are constant).
onnx::ModelProto with_initializers(onnx::ModelProto m, const TensorMap& weights) {
  auto* inputs = m.mutable_graph()->mutable_input();
  for (int i = inputs->size() - 1; i >= 0; --i) {
    auto found = weights.find(inputs->Get(i).name());
    if (found == weights.end()) continue;
    *m.mutable_graph()->add_initializer() = tensor_to_proto(found->second, found->first);
    inputs->DeleteSubrange(i, 1);
  }
  return m;
}

// Convolution and pooling models that ORT rewrites into com.microsoft.nchwc ops on x86: the
// reference on ORT's rewritten model must match the reference on the original.
TEST(ContribKernels, NchwcRewritesMatchTheOriginalModel) {
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "ORT uses NCHWc only from AVX2 on";
#else
  GTEST_SKIP() << "ORT's NCHWc transformer is x86-only";
#endif
  struct Case {
    std::string name, signature, body;
    std::vector<std::pair<std::string, Shape>> inputs;  // the first is the data, the rest weights
  };
  const std::vector<Case> cases = {
      {"plain NCHW input, 20 maps padded, Relu",
       "g (float[1,3,8,8] x, float[20,3,3,3] w, float[20] b) => (float[1,20,8,8] y)",
       "c = Conv <pads = [1, 1, 1, 1]> (x, w, b)\ny = Relu (c)",
       {{"x", {1, 3, 8, 8}}, {"w", {20, 3, 3, 3}}, {"b", {20}}}},
      {"blocked input, strided, then depthwise and pools",
       "g (float[1,16,9,9] x, float[32,16,3,3] w, float[32,1,3,3] dw) => (float[1,32,1,1] y, "
       "float[1,32,2,2] m, float[1,32,2,2] a)",
       "c = Conv <strides = [2, 2], pads = [1, 1, 1, 1]> (x, w)\n"
       "d = Conv <group = 32, pads = [1, 1, 1, 1]> (c, dw)\n"
       "r = Relu (d)\nm = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (r)\n"
       "a = AveragePool <kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]> (r)\n"
       "y = GlobalAveragePool (r)",
       {{"x", {1, 16, 9, 9}}, {"w", {32, 16, 3, 3}}, {"dw", {32, 1, 3, 3}}}},
      {"residual sum, clip",
       "g (float[2,16,6,6] x, float[16,16,1,1] w1, float[16,16,3,3] w2) => (float[2,16,6,6] y)",
       "c1 = Conv (x, w1)\nc2 = Conv <pads = [1, 1, 1, 1]> (c1, w2)\ns = Add (c2, c1)\n"
       "lo = Constant <value_float = -0.5> ()\nhi = Constant <value_float = 0.5> ()\n"
       "y = Clip (s, lo, hi)",
       {{"x", {2, 16, 6, 6}}, {"w1", {16, 16, 1, 1}}, {"w2", {16, 16, 3, 3}}}},
  };
  int nchwc_nodes = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TensorMap data, weights;
    uint32_t seed = 3;
    for (const auto& [name, shape] : c.inputs) {
      (data.empty() ? data : weights)[name] = random_tensor(DType::kFloat, shape, seed++, -1, 1);
    }
    const onnx::ModelProto original = with_initializers(model(c.signature, c.body), weights);
    auto optimized = optimized_by_ort(original);
    if (!optimized) GTEST_SKIP() << optimized.error();
    for (const auto& node : optimized->graph().node()) {
      nchwc_nodes += node.domain() == "com.microsoft.nchwc";
    }
    const RunResult expected = run_ref(original, data);
    const RunResult actual = run_ref(*optimized, data);
    ASSERT_EQ(actual.output_order, expected.output_order);
    for (const auto& name : expected.output_order) {
      SCOPED_TRACE(name);
      expect_close(actual.outputs.at(name), expected.outputs.at(name), 1e-4, 1e-4);
    }
  }
  // Not vacuous: ORT did write the blocked-layout ops.
  EXPECT_GT(nchwc_nodes, 6);
}

// ReorderInput then ReorderOutput is the identity on the original channels, in both layouts.
TEST(ContribKernels, NchwcReorderRoundTrip) {
  TensorMap in;
  in["x"] = random_tensor(DType::kFloat, {2, 5, 3, 4}, 9);
  const auto r =
      run_ref(parse(R"(<ir_version: 8, opset_import: ["" : 17, "com.microsoft.nchwc" : 1]>
        g (float[2,5,3,4] x) => (float[2,5,3,4] y, float[2,3,4,5] z) {
          b = com.microsoft.nchwc.ReorderInput (x)
          y = com.microsoft.nchwc.ReorderOutput <channels = 5> (b)
          z = com.microsoft.nchwc.ReorderOutput <channels = 5, channels_last = 1> (b)
        })"),
              in);
  expect_close(r.outputs.at("y"), in["x"], 0, 0);
  std::vector<double> nhwc;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t h = 0; h < 3; ++h)
      for (int64_t w = 0; w < 4; ++w)
        for (int64_t c = 0; c < 5; ++c)
          nhwc.push_back(in["x"].as_double(((n * 5 + c) * 3 + h) * 4 + w));
  expect_values(r.outputs.at("z"), {2, 3, 4, 5}, nhwc, 0);
}

// ---- dispatch by domain -------------------------------------------------------------------------

TEST(ContribKernels, KernelsAreKeyedByDomain) {
  // The contrib kernels are listed apart from the ONNX ones, each under its domain.
  const std::vector<KernelKey> runtime = reference_runtime_kernels();
  EXPECT_TRUE(std::ranges::find(runtime, KernelKey{"FusedMatMul", 1, "com.microsoft"}) !=
              runtime.end());
  EXPECT_TRUE(std::ranges::find(runtime, KernelKey{"SimplifiedLayerNormalization", 1, ""}) !=
              runtime.end());
  for (const KernelKey& k : reference_kernels()) {
    EXPECT_TRUE(k.domain.empty()) << k.op_type;
    EXPECT_TRUE(std::ranges::find(runtime, k) == runtime.end()) << k.op_type;
  }
  EXPECT_FALSE(std::ranges::binary_search(reference_ops(), std::string("FusedMatMul")));
  // Lookup is by (domain, op): Gelu is com.microsoft's, not ONNX opset 17's (ONNX has no Gelu
  // before opset 20); Relu is ONNX's, not com.microsoft's. "ai.onnx" is the default domain.
  EXPECT_TRUE(reference_supports("Gelu", 1, "com.microsoft"));
  EXPECT_FALSE(reference_supports("Gelu", 17));
  EXPECT_FALSE(reference_supports("Relu", 1, "com.microsoft"));
  EXPECT_TRUE(reference_supports("Relu", 17, "ai.onnx"));
  EXPECT_TRUE(reference_supports("SimplifiedLayerNormalization", 17));
}

TEST(ContribKernels, UnknownDomainOpsAreUnsupportedNamingDomainAndOp) {
  struct Case {
    std::string name, text, expected;
  };
  const std::vector<Case> cases = {
      {"unknown com.microsoft op",
       std::string(kOpsets) + "g (float[2] x) => (float[2] y) { y = com.microsoft.Frobnicate (x) }",
       "unsupported op 'com.microsoft::Frobnicate'"},
      {"ONNX op under com.microsoft",
       std::string(kOpsets) + "g (float[2] x) => (float[2] y) { y = com.microsoft.Relu (x) }",
       "unsupported op 'com.microsoft::Relu'"},
      {"contrib op under the ONNX domain",
       std::string(kOpsets) + "g (float[2] x) => (float[2] y) { y = Gelu (x) }",
       "unsupported op 'Gelu'"},
      {"domain not imported",
       R"(<ir_version: 8, opset_import: ["" : 17]> g (float[2] x) => (float[2] y) {
            y = com.microsoft.Gelu (x) })",
       "does not import domain 'com.microsoft'"},
  };
  TensorMap in;
  in["x"] = tensor_of(DType::kFloat, {2}, {1, 2});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const RunResult r = run_reference(parse(c.text), in);
    EXPECT_EQ(r.status, RunStatus::kError);
    EXPECT_NE(r.message.find(c.expected), std::string::npos) << r.message;
  }
}

// ORT's optimized models hold ops libonnx has no schema for; the reference runs them without
// ONNX's checker or strict shape inference, which reject SimplifiedLayerNormalization.
TEST(ContribKernels, ReferenceRunsModelsOnnxCannotValidate) {
  const onnx::ModelProto m =
      model("g (float[1,2] x, float[2] scale) => (float[1,2] y)",
            "h = com.microsoft.QuickGelu (x)\ny = SimplifiedLayerNormalization (h, scale)");
  EXPECT_FALSE(validate_model(m).has_value());
  TensorMap in;
  in["x"] = tensor_of(DType::kFloat, {1, 2}, {1, 2});
  in["scale"] = tensor_of(DType::kFloat, {2}, {1, 1});
  const RunResult r = run_ref(m, in);
  ASSERT_EQ(r.status, RunStatus::kOk);
  // Half inputs are widened around the kernel and rounded back, like ONNX ops.
  const onnx::ModelProto half =
      model("g (float16[1,2] x, float16[2] scale) => (float16[1,2] y, float[1,1] inv)",
            "y, inv = SimplifiedLayerNormalization (x, scale)");
  TensorMap hin;
  hin["x"] = tensor_of(DType::kFloat16, {1, 2}, {3, 4});
  hin["scale"] = tensor_of(DType::kFloat16, {2}, {1, 2});
  const RunResult hr = run_ref(half, hin);
  ASSERT_EQ(hr.status, RunStatus::kOk);
  EXPECT_EQ(hr.outputs.at("y").dtype, DType::kFloat16);
  EXPECT_EQ(hr.outputs.at("inv").dtype, DType::kFloat);
  expect_values(hr.outputs.at("y"), {1, 2}, {0.8485281, 2.2627417}, 2e-3);
}

}  // namespace
}  // namespace onnxfuzz
