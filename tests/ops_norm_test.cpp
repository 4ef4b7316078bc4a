// Normalizations, LRN, ConvTranspose, global pools, LogSoftmax, Hardmax, Einsum and the window
// ops' auto_pad / ceil_mode / Indices: reference semantics on inline text-format models with
// hand-computed values, and what the generator draws for them.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "generators/generator.h"
#include "generators/model_io.h"
#include "generators/op_spec.h"
#include "oracles/reference.h"
#include "tests/reference_fixtures.h"

namespace onnxfuzz {
namespace {

using namespace fixtures;

// Element-wise closeness at a dtype-appropriate relative tolerance (exact for integers), or at
// `tolerance` when given.
void expect_near(const Tensor& t, const std::vector<double>& expected,
                 std::optional<double> tolerance = std::nullopt) {
  const std::vector<double> got = doubles_of(t);
  ASSERT_EQ(got.size(), expected.size());
  const double tol = tolerance                  ? *tolerance
                     : t.dtype == DType::kDouble ? 1e-9
                     : t.dtype == DType::kFloat  ? 1e-6
                     : is_float(t.dtype)         ? 1e-2
                                                 : 0;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], tol * std::max(1.0, std::abs(expected[i])))
        << "element " << i;
  }
}

std::string dims(const Shape& s) {
  std::string d;
  for (int64_t x : s) d += (d.empty() ? "" : ",") + std::to_string(x);
  return d;
}

// Runs `y = <node>` where node names the inputs x0, x1, ...; one output `y`.
Tensor run_node(const std::string& node, const std::vector<Tensor>& inputs, const Shape& out_shape,
                int opset = 17, std::optional<DType> out_dtype = std::nullopt) {
  std::string params;
  TensorMap feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    params += fmt::format("{}{}[{}] x{}", i ? ", " : "", text_type(inputs[i].dtype),
                          dims(inputs[i].shape), i);
    feeds[fmt::format("x{}", i)] = inputs[i];
  }
  const DType out = out_dtype.value_or(inputs[0].dtype);
  const std::string text = fmt::format(R"(
    <ir_version: 8, opset_import: ["" : {}]>
    g ({}) => ({}[{}] y) {{
      y = {}
    }}
  )",
                                       opset, params, text_type(out), dims(out_shape), node);
  RunResult r = run_ok(text, feeds);
  if (r.status != RunStatus::kOk) return Tensor{};
  EXPECT_EQ(r.outputs.at("y").shape, out_shape) << node;
  EXPECT_EQ(r.outputs.at("y").dtype, out) << node;
  return r.outputs.at("y");
}

const std::vector<DType> kFloatTypes = {DType::kFloat, DType::kDouble, DType::kFloat16,
                                        DType::kBfloat16};

// ---- normalizations ----

TEST(NormOps, BatchNormalizationInferenceInEveryFloatDtype) {
  for (DType d : kFloatTypes) {
    SCOPED_TRACE(dtype_name(d));
    // Channel 0: (x - 1) / sqrt(4) * 2 + 0.5; channel 1: (x + 1) / sqrt(1) * -1 + 0.
    const Tensor x = tensor_of(d, {1, 2, 2}, {1, 5, -1, 3});
    const Tensor scale = tensor_of(d, {2}, {2, -1}), b = tensor_of(d, {2}, {0.5, 0});
    const Tensor mean = tensor_of(d, {2}, {1, -1}), var = tensor_of(d, {2}, {4, 1});
    const Tensor y = run_node(
        "BatchNormalization <epsilon: float = 0.0, momentum: float = 0.5> (x0, x1, x2, x3, x4)",
        {x, scale, b, mean, var}, {1, 2, 2});
    expect_near(y, {0.5, 4.5, 0, -4});
  }
}

TEST(NormOps, BatchNormalizationRankTwoEpsilonAndEmptyBatch) {
  const Tensor x = tensor_of(DType::kFloat, {1, 1}, {3});
  const Tensor one = tensor_of(DType::kFloat, {1}, {1}), zero = tensor_of(DType::kFloat, {1}, {0});
  const Tensor var = tensor_of(DType::kFloat, {1}, {0});
  // var 0, epsilon 1e4: 3 / 100.
  expect_near(run_node("BatchNormalization <epsilon: float = 10000.0> (x0, x1, x2, x3, x4)",
                       {x, one, zero, zero, var}, {1, 1}),
              {0.03});
  const Tensor empty = Tensor::zeros(DType::kFloat, {0, 1, 3});
  EXPECT_EQ(run_node("BatchNormalization (x0, x1, x2, x3, x4)", {empty, one, zero, zero, one},
                     {0, 1, 3})
                .numel(),
            0);
}

TEST(NormOps, InstanceNormalizationPerPlane) {
  for (DType d : kFloatTypes) {
    if (d == DType::kBfloat16) continue;  // not in InstanceNormalization's schema
    SCOPED_TRACE(dtype_name(d));
    // Plane (0,0): {1, 3} -> {-1, 1}; plane (0,1): {2, 2} -> {0, 0}; then * scale + B.
    const Tensor x = tensor_of(d, {1, 2, 2}, {1, 3, 2, 2});
    const Tensor y = run_node("InstanceNormalization <epsilon: float = 1e-12> (x0, x1, x2)",
                              {x, tensor_of(d, {2}, {2, 3}), tensor_of(d, {2}, {1, -1})},
                              {1, 2, 2});
    expect_near(y, {-1, 3, -1, -1});
  }
}

TEST(NormOps, LayerNormalizationAxesScaleAndOptionalBias) {
  for (DType d : kFloatTypes) {
    SCOPED_TRACE(dtype_name(d));
    const Tensor x = tensor_of(d, {2, 2}, {1, 3, 10, 30});
    // axis -1: rows {1,3} and {10,30} both normalize to {-1, 1}.
    expect_near(run_node("LayerNormalization <epsilon: float = 0.0> (x0, x1)",
                         {x, tensor_of(d, {2}, {1, 2})}, {2, 2}),
                {-1, 2, -1, 2});
    // axis -2 (= 0): the whole tensor; mean 11, population stddev sqrt(131.5). A float64 X
    // is normalized at stash_type's float32 precision, as the spec's function body does.
    const double s = std::sqrt(131.5);
    expect_near(run_node("LayerNormalization <axis: int = -2, epsilon: float = 0.0> (x0, x1, x2)",
                         {x, tensor_of(d, {2, 2}, {1, 1, 1, 1}),
                          tensor_of(d, {2, 2}, {0, 0, 0, 1})},
                         {2, 2}),
                {-10 / s, -8 / s, -1 / s, 19 / s + 1},
                d == DType::kDouble ? std::optional(1e-6) : std::nullopt);
  }
}

TEST(NormOps, LayerNormalizationMeanAndInvStdDevOutputsAndEmptyRows) {
  const auto r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2,2] x, float[2] s) => (float[2,2] y, float[2,1] m, float[2,1] inv) {
      y, m, inv = LayerNormalization <epsilon: float = 0.0> (x, s)
    }
  )",
                        {{"x", tensor_of(DType::kFloat, {2, 2}, {1, 3, 10, 30})},
                         {"s", tensor_of(DType::kFloat, {2}, {1, 1})}});
  ASSERT_EQ(r.status, RunStatus::kOk);
  expect_near(r.outputs.at("m"), {2, 20});
  expect_near(r.outputs.at("inv"), {1, 0.1});
  const Tensor empty = Tensor::zeros(DType::kFloat, {0, 3});
  EXPECT_EQ(run_node("LayerNormalization (x0, x1)", {empty, tensor_of(DType::kFloat, {3}, {1, 1, 1})},
                     {0, 3})
                .numel(),
            0);
}

TEST(NormOps, LrnWindowsOverChannels) {
  // C = 3, size 3: the window of channel c is [c - 1, c + 1] clipped.
  const Tensor x = tensor_of(DType::kFloat, {1, 3, 1}, {1, 2, 3});
  const double alpha = 0.5, beta = 0.75, bias = 2.0;
  auto expect = [&](double v, double squares) {
    return v / std::pow(bias + alpha / 3 * squares, beta);
  };
  expect_near(run_node("LRN <size: int = 3, alpha: float = 0.5, beta: float = 0.75, bias: float = "
                       "2.0> (x0)",
                       {x}, {1, 3, 1}),
              {expect(1, 5), expect(2, 14), expect(3, 13)});
  // size 1: only the channel itself; size 4 (even) spans c - 1 .. c + 2.
  expect_near(run_node("LRN <size: int = 1, alpha: float = 1.0, beta: float = 1.0> (x0)", {x},
                       {1, 3, 1}),
              {1 / 2.0, 2 / 5.0, 3 / 10.0});
  expect_near(run_node("LRN <size: int = 4, alpha: float = 4.0, beta: float = 1.0> (x0)", {x},
                       {1, 3, 1}),
              {1 / 15.0, 2 / 15.0, 3 / 14.0});
}

// ---- ConvTranspose ----

TEST(NormOps, ConvTransposeStridesPadsOutputPaddingAndGroups) {
  const Tensor x = tensor_of(DType::kFloat, {1, 1, 2}, {1, 2});
  const Tensor w = tensor_of(DType::kFloat, {1, 1, 2}, {1, 10});
  // stride 2: [1, 10, 2, 20]; output_padding 1 appends a zero; pads crop both ends.
  expect_near(run_node("ConvTranspose <strides: ints = [2]> (x0, x1)", {x, w}, {1, 1, 4}),
              {1, 10, 2, 20});
  expect_near(run_node("ConvTranspose <strides: ints = [2], output_padding: ints = [1]> (x0, x1)",
                       {x, w}, {1, 1, 5}),
              {1, 10, 2, 20, 0});
  expect_near(run_node("ConvTranspose <strides: ints = [2], pads: ints = [1, 1]> (x0, x1)", {x, w},
                       {1, 1, 2}),
              {10, 2});
  // stride 1 overlaps: [1, 12, 20]; dilation 2: [1, 2, 10, 20]; with a bias.
  expect_near(run_node("ConvTranspose (x0, x1, x2)", {x, w, tensor_of(DType::kFloat, {1}, {0.5})},
                       {1, 1, 3}),
              {1.5, 12.5, 20.5});
  expect_near(run_node("ConvTranspose <dilations: ints = [2]> (x0, x1)", {x, w}, {1, 1, 4}),
              {1, 2, 10, 20});
  // group 2: each channel with its own kernel, W of shape [C, M/group, k].
  const Tensor x2 = tensor_of(DType::kFloat, {1, 2, 1}, {1, 2});
  const Tensor w2 = tensor_of(DType::kFloat, {2, 1, 1}, {3, 5});
  expect_near(run_node("ConvTranspose <group: int = 2> (x0, x1)", {x2, w2}, {1, 2, 1}), {3, 10});
}

TEST(NormOps, ConvTransposeAutoPadAndOutputShape) {
  const Tensor x = tensor_of(DType::kDouble, {1, 1, 2}, {1, 2});
  const Tensor w = tensor_of(DType::kDouble, {1, 1, 3}, {1, 10, 100});
  // Full output (stride 2): [1, 10, 102, 20, 200]. SAME: out = 2 * 2 = 4, total pad 1, which
  // SAME_UPPER crops at the end and SAME_LOWER at the start (test_convtranspose_autopad_same).
  expect_near(run_node("ConvTranspose <strides: ints = [2], auto_pad: string = \"SAME_UPPER\"> "
                       "(x0, x1)",
                       {x, w}, {1, 1, 4}),
              {1, 10, 102, 20});
  expect_near(run_node("ConvTranspose <strides: ints = [2], auto_pad: string = \"SAME_LOWER\"> "
                       "(x0, x1)",
                       {x, w}, {1, 1, 4}),
              {10, 102, 20, 200});
  expect_near(run_node("ConvTranspose <strides: ints = [2], auto_pad: string = \"VALID\"> (x0, x1)",
                       {x, w}, {1, 1, 5}),
              {1, 10, 102, 20, 200});
  // output_shape 3: total pad 2, split 1 / 1; pads are ignored. output_shape 4: total 1, and
  // without SAME_UPPER the odd pixel is cropped at the start.
  expect_near(run_node("ConvTranspose <strides: ints = [2], output_shape: ints = [3], pads: ints = "
                       "[0, 0]> (x0, x1)",
                       {x, w}, {1, 1, 3}),
              {10, 102, 20});
  expect_near(run_node("ConvTranspose <strides: ints = [2], output_shape: ints = [4]> (x0, x1)",
                       {x, w}, {1, 1, 4}),
              {10, 102, 20, 200});
}

TEST(NormOps, ConvTransposeTwoDimensionsInHalfTypes) {
  for (DType d : {DType::kFloat16, DType::kFloat}) {
    SCOPED_TRACE(dtype_name(d));
    const Tensor x = tensor_of(d, {1, 1, 2, 2}, {1, 2, 3, 4});
    const Tensor w = tensor_of(d, {1, 2, 1, 1}, {1, -1});
    // Two output maps from one channel, 1x1 kernel, stride 2: zeros between the pixels.
    expect_near(run_node("ConvTranspose <strides: ints = [2, 2]> (x0, x1)", {x, w}, {1, 2, 3, 3}),
                {1, 0, 2, 0, 0, 0, 3, 0, 4, -1, 0, -2, 0, 0, 0, -3, 0, -4});
  }
}

// ---- global pools, LogSoftmax, Hardmax ----

TEST(NormOps, GlobalPoolsReduceEverySpatialDim) {
  for (DType d : {DType::kFloat, DType::kDouble, DType::kFloat16}) {
    SCOPED_TRACE(dtype_name(d));
    const Tensor x = tensor_of(d, {1, 2, 2, 2}, {1, 2, 3, 4, -1, -2, -3, -5});
    expect_near(run_node("GlobalAveragePool (x0)", {x}, {1, 2, 1, 1}), {2.5, -2.75});
    expect_near(run_node("GlobalMaxPool (x0)", {x}, {1, 2, 1, 1}), {4, -1});
  }
}

TEST(NormOps, LogSoftmaxAlongAxisAndCoercedBeforeOpset13) {
  const Tensor x = tensor_of(DType::kFloat, {2, 2}, {0, 0, 1, 3});
  const double l = std::log(1 + std::exp(2.0));
  expect_near(run_node("LogSoftmax (x0)", {x}, {2, 2}), {-std::log(2.0), -std::log(2.0), -l, 2 - l});
  // axis 0 (written -2): columns {0, 1} and {0, 3}.
  const double a = std::log(1 + std::exp(1.0)), b = std::log(1 + std::exp(3.0));
  expect_near(run_node("LogSoftmax <axis: int = -2> (x0)", {x}, {2, 2}), {-a, -b, 1 - a, 3 - b});
  // Opset 11, axis 0: the whole tensor is one row.
  const double all = std::log(2 + std::exp(1.0) + std::exp(3.0));
  expect_near(run_node("LogSoftmax <axis: int = 0> (x0)", {x}, {2, 2}, 11),
              {-all, -all, 1 - all, 3 - all});
  // Large magnitudes stay finite (x - max first).
  expect_near(run_node("LogSoftmax (x0)", {tensor_of(DType::kDouble, {2}, {1000, 1000})}, {2}),
              {-std::log(2.0), -std::log(2.0)});
}

TEST(NormOps, HardmaxPicksTheFirstMaximum) {
  for (DType d : kFloatTypes) {
    SCOPED_TRACE(dtype_name(d));
    const Tensor x = tensor_of(d, {2, 3}, {1, 3, 3, -1, -2, -1});
    expect_near(run_node("Hardmax (x0)", {x}, {2, 3}), {0, 1, 0, 1, 0, 0});
    expect_near(run_node("Hardmax <axis: int = 0> (x0)", {x}, {2, 3}), {1, 1, 1, 0, 0, 0});
  }
  // Opset 11 coerces to 2-D at axis 1: one maximum per batch row over 2 x 2 values.
  const Tensor x = tensor_of(DType::kFloat, {2, 2, 2}, {0, 5, 5, 1, 7, 0, 0, 8});
  expect_near(run_node("Hardmax <axis: int = 1> (x0)", {x}, {2, 2, 2}, 11),
              {0, 1, 0, 0, 0, 0, 0, 1});
  EXPECT_EQ(run_node("Hardmax (x0)", {Tensor::zeros(DType::kFloat, {2, 0})}, {2, 0}).numel(), 0);
}

// ---- Einsum ----

TEST(NormOps, EinsumContractionsTransposesTracesAndReductions) {
  const Tensor a = tensor_of(DType::kFloat, {2, 2}, {1, 2, 3, 4});
  const Tensor b = tensor_of(DType::kFloat, {2, 3}, {1, 0, 1, 0, 1, 1});
  expect_near(run_node("Einsum <equation: string = \"ij,jk->ik\"> (x0, x1)", {a, b}, {2, 3}),
              {1, 2, 3, 3, 4, 7});
  expect_near(run_node("Einsum <equation: string = \"ij,jk\"> (x0, x1)", {a, b}, {2, 3}),
              {1, 2, 3, 3, 4, 7});  // implicit output: i, k
  expect_near(run_node("Einsum <equation: string = \"ij->ji\"> (x0)", {a}, {2, 2}), {1, 3, 2, 4});
  expect_near(run_node("Einsum <equation: string = \"ba\"> (x0)", {a}, {2, 2}), {1, 3, 2, 4});
  expect_near(run_node("Einsum <equation: string = \"ii\"> (x0)", {a}, {}), {5});
  expect_near(run_node("Einsum <equation: string = \"ii->i\"> (x0)", {a}, {2}), {1, 4});
  expect_near(run_node("Einsum <equation: string = \"ij->\"> (x0)", {a}, {}), {10});
  expect_near(run_node("Einsum <equation: string = \"ij->j\"> (x0)", {a}, {2}), {4, 6});
  const Tensor u = tensor_of(DType::kDouble, {2}, {1, 2}), v = tensor_of(DType::kDouble, {3}, {1, 10, 100});
  expect_near(run_node("Einsum <equation: string = \"i,j->ij\"> (x0, x1)", {u, v}, {2, 3}),
              {1, 10, 100, 2, 20, 200});
  expect_near(run_node("Einsum <equation: string = \"i,i\"> (x0, x1)", {u, u}, {}), {5});
}

TEST(NormOps, EinsumEllipsisBroadcastsAndIntegersWrap) {
  // Batch dims: [2] against [1] broadcast.
  const Tensor a = tensor_of(DType::kFloat, {2, 1, 2}, {1, 2, 3, 4});
  const Tensor b = tensor_of(DType::kFloat, {1, 2, 1}, {10, 100});
  expect_near(run_node("Einsum <equation: string = \"...ij,...jk->...ik\"> (x0, x1)", {a, b},
                       {2, 1, 1}),
              {210, 430});
  expect_near(run_node("Einsum <equation: string = \"...j->...\"> (x0)", {a}, {2, 1}), {3, 7});
  expect_near(run_node("Einsum <equation: string = \"b...\"> (x0)", {a}, {1, 2, 2}),
              {1, 3, 2, 4});  // implicit: ellipsis dims first, then b
  // int32 products wrap: 65536 * 65536 = 2^32 -> 0, plus 3.
  const Tensor i = tensor_of(DType::kInt32, {2}, {65536, 3});
  const Tensor j = tensor_of(DType::kInt32, {2}, {65536, 1});
  expect_near(run_node("Einsum <equation: string = \"i,i->\"> (x0, x1)", {i, j}, {}), {3});
  for (DType d : {DType::kUint8, DType::kInt64, DType::kFloat16}) {
    SCOPED_TRACE(dtype_name(d));
    expect_near(run_node("Einsum <equation: string = \"ij,j->i\"> (x0, x1)",
                         {tensor_of(d, {2, 2}, {1, 2, 3, 4}), tensor_of(d, {2}, {1, 2})}, {2}),
                {5, 11});
  }
  // A summed empty dim gives zeros.
  expect_near(run_node("Einsum <equation: string = \"ij->i\"> (x0)",
                       {Tensor::zeros(DType::kFloat, {2, 0})}, {2}),
              {0, 0});
}

// ---- Conv / MaxPool / AveragePool auto_pad, ceil_mode, Indices ----

TEST(NormOps, WindowAutoPadPutsTheOddPadAtTheEndForSameUpper) {
  // in 4, k 2, stride 1: total pad 1. SAME_UPPER pads at the end, SAME_LOWER at the start.
  const Tensor x = tensor_of(DType::kFloat, {1, 1, 4}, {1, 5, 2, 7});
  expect_near(run_node("MaxPool <kernel_shape: ints = [2], auto_pad: string = \"SAME_UPPER\"> (x0)",
                       {x}, {1, 1, 4}),
              {5, 5, 7, 7});
  expect_near(run_node("MaxPool <kernel_shape: ints = [2], auto_pad: string = \"SAME_LOWER\"> (x0)",
                       {x}, {1, 1, 4}),
              {1, 5, 5, 7});
  expect_near(run_node("AveragePool <kernel_shape: ints = [2], auto_pad: string = \"SAME_UPPER\"> "
                       "(x0)",
                       {x}, {1, 1, 4}),
              {3, 3.5, 4.5, 7});
  expect_near(run_node("AveragePool <kernel_shape: ints = [2], auto_pad: string = \"SAME_UPPER\", "
                       "count_include_pad: int = 1> (x0)",
                       {x}, {1, 1, 4}),
              {3, 3.5, 4.5, 3.5});
  // in 5, k 3, dilation 2 (span 5), stride 2: out 3, total max(0, 4 + 5 - 5) = 4, 2 / 2.
  const Tensor y = tensor_of(DType::kFloat, {1, 1, 5}, {1, 2, 3, 4, 5});
  expect_near(run_node("MaxPool <kernel_shape: ints = [3], strides: ints = [2], dilations: ints = "
                       "[2], auto_pad: string = \"SAME_LOWER\"> (x0)",
                       {y}, {1, 1, 3}),
              {3, 5, 5});
  expect_near(run_node("MaxPool <kernel_shape: ints = [3], auto_pad: string = \"VALID\"> (x0)", {y},
                       {1, 1, 3}),
              {3, 4, 5});
  // Conv SAME_UPPER, kernel [1, 1]: in 3, total 1 at the end -> [1 + 2, 2 + 3, 3 + 0].
  const Tensor c = tensor_of(DType::kFloat, {1, 1, 3}, {1, 2, 3});
  expect_near(run_node("Conv <auto_pad: string = \"SAME_UPPER\"> (x0, x1)",
                       {c, tensor_of(DType::kFloat, {1, 1, 2}, {1, 1})}, {1, 1, 3}),
              {3, 5, 3});
  expect_near(run_node("Conv <auto_pad: string = \"SAME_LOWER\"> (x0, x1)",
                       {c, tensor_of(DType::kFloat, {1, 1, 2}, {1, 1})}, {1, 1, 3}),
              {1, 3, 5});
}

TEST(NormOps, PoolCeilModeAndMaxPoolIndices) {
  const Tensor x = tensor_of(DType::kFloat, {1, 1, 5}, {1, 9, 2, 3, 8});
  // k 2, stride 2: floor gives 2 windows, ceil 3 (the last holds only x[4]).
  expect_near(run_node("AveragePool <kernel_shape: ints = [2], strides: ints = [2], ceil_mode: int "
                       "= 1> (x0)",
                       {x}, {1, 1, 3}),
              {5, 2.5, 8});
  expect_near(run_node("MaxPool <kernel_shape: ints = [2], strides: ints = [2], ceil_mode: int = "
                       "1> (x0)",
                       {x}, {1, 1, 3}),
              {9, 3, 8});
  // Indices: flat positions in X; storage_order=1 numbers the spatial dims column-major.
  const auto r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1,2,2,2] x) => (float[1,2,1,1] y, int64[1,2,1,1] i, int64[1,2,1,1] j) {
      y, i = MaxPool <kernel_shape: ints = [2, 2]> (x)
      z, j = MaxPool <kernel_shape: ints = [2, 2], storage_order: int = 1> (x)
    }
  )",
                        {{"x", tensor_of(DType::kFloat, {1, 2, 2, 2}, {1, 2, 9, 3, 4, 8, 5, 6})}});
  ASSERT_EQ(r.status, RunStatus::kOk);
  expect_near(r.outputs.at("y"), {9, 8});
  expect_near(r.outputs.at("i"), {2, 5});      // (0, 1, 0) and (1, 0, 1) row-major
  expect_near(r.outputs.at("j"), {1, 4 + 2});  // column-major: h + w * H
}

// ---- generator ----

// Every op of this family is drawn, with its rare attribute forms, under the default policy.
TEST(NormOps, GeneratorDrawsEveryOpAndItsEdgeAttributes) {
  GenPolicy policy;
  policy.only_ops = {"BatchNormalization", "LayerNormalization", "InstanceNormalization", "LRN",
                     "ConvTranspose", "GlobalAveragePool", "GlobalMaxPool", "LogSoftmax",
                     "Hardmax", "MaxPool", "AveragePool", "Conv"};
  std::set<std::string> ops, forms;
  for (uint64_t seed = 0; seed < 1000; ++seed) {
    auto g = generate_model(policy, seed);
    ASSERT_TRUE(g.has_value()) << g.error();
    for (const auto& node : g->model.graph().node()) {
      ops.insert(node.op_type());
      for (const auto& a : node.attribute()) {
        if (a.name() == "auto_pad") forms.insert(node.op_type() + ":" + a.s());
        if (a.name() == "ceil_mode" && a.i() == 1) forms.insert(node.op_type() + ":ceil");
        if (a.name() == "output_shape") forms.insert("ConvTranspose:output_shape");
        if (a.name() == "output_padding" && a.ints_size() > 0) forms.insert("ConvTranspose:op");
      }
      if (node.op_type() == "MaxPool" && node.output_size() == 2) forms.insert("MaxPool:indices");
    }
  }
  for (const auto& op : policy.only_ops) EXPECT_TRUE(ops.contains(op)) << op;
  for (const char* form :
       {"Conv:SAME_UPPER", "Conv:SAME_LOWER", "Conv:VALID", "MaxPool:SAME_UPPER",
        "MaxPool:SAME_LOWER", "MaxPool:VALID", "AveragePool:SAME_LOWER", "AveragePool:ceil",
        "MaxPool:ceil", "MaxPool:indices", "ConvTranspose:SAME_UPPER", "ConvTranspose:SAME_LOWER",
        "ConvTranspose:VALID", "ConvTranspose:output_shape", "ConvTranspose:op"}) {
    EXPECT_TRUE(forms.contains(form)) << form << " never generated";
  }
}

}  // namespace
}  // namespace onnxfuzz
