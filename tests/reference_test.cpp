// Unit tests of the reference interpreter's tricky semantics, on inline text-format models.
#include "generators/op_spec.h"
#include "oracles/reference.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/defs/schema.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "generators/model_io.h"
#include "tests/reference_fixtures.h"

namespace onnxfuzz {
namespace {

using namespace fixtures;

std::vector<float> floats_of(const Tensor& t) {
  auto v = t.values<float>();
  return {v.begin(), v.end()};
}

// Every element as double, for any dtype.
// Runs a model that must succeed.
TEST(Reference, BroadcastsMultidirectionally) {
  const auto model = parse(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2,1] a, float[3] b) => (float[2,3] y) {
      y = Sub(a, b)
    }
  )");
  TensorMap inputs;
  inputs["a"] = Tensor::of_floats({2, 1}, std::vector<float>{10, 20});
  inputs["b"] = Tensor::of_floats({3}, std::vector<float>{1, 2, 3});
  const RunResult r = run_reference(model, inputs);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  const Tensor& y = r.outputs.at("y");
  EXPECT_EQ(y.shape, (Shape{2, 3}));
  EXPECT_EQ(floats_of(y), (std::vector<float>{9, 8, 7, 19, 18, 17}));
  EXPECT_EQ(r.output_order, (std::vector<std::string>{"y"}));
}

TEST(Reference, WhereBroadcastsThreeWays) {
  const auto model = parse(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool[2,1] c, float[1,3] x, float y) => (float[2,3] z) {
      z = Where(c, x, y)
    }
  )");
  TensorMap inputs;
  inputs["c"] = Tensor::of_bools({2, 1}, std::array<bool, 2>{true, false});
  inputs["x"] = Tensor::of_floats({1, 3}, std::vector<float>{1, 2, 3});
  inputs["y"] = Tensor::of_floats({}, std::vector<float>{-1});
  const RunResult r = run_reference(model, inputs);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(floats_of(r.outputs.at("z")), (std::vector<float>{1, 2, 3, -1, -1, -1}));
}

TEST(Reference, MatMulBroadcastsBatchAndHandlesVectors) {
  const auto model = parse(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2,1,2,3] a, float[3] v, float[3,2] b) => (float[2,1,2] av, float[2,1,2,2] ab) {
      av = MatMul(a, v)
      ab = MatMul(a, b)
    }
  )");
  std::vector<float> a(12);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
  TensorMap inputs;
  inputs["a"] = Tensor::of_floats({2, 1, 2, 3}, a);
  inputs["v"] = Tensor::of_floats({3}, std::vector<float>{1, 1, 1});
  inputs["b"] = Tensor::of_floats({3, 2}, std::vector<float>{1, 0, 0, 1, 1, 1});
  const RunResult r = run_reference(model, inputs);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(r.outputs.at("av").shape, (Shape{2, 1, 2}));
  EXPECT_EQ(floats_of(r.outputs.at("av")), (std::vector<float>{3, 12, 21, 30}));
  EXPECT_EQ(r.outputs.at("ab").shape, (Shape{2, 1, 2, 2}));
  EXPECT_EQ(floats_of(r.outputs.at("ab")), (std::vector<float>{2, 3, 8, 9, 14, 15, 20, 21}));
}

TEST(Reference, AccumulatesInDouble) {
  // In float, 1e8 + 1 - 1e8 loses the 1; a double accumulator keeps it.
  const auto model = parse(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float s) {
      s = ReduceSum <keepdims: int = 0> (x)
    }
  )");
  TensorMap inputs;
  inputs["x"] = Tensor::of_floats({3}, std::vector<float>{1e8f, 1.0f, -1e8f});
  const RunResult r = run_reference(model, inputs);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(r.outputs.at("s").shape, Shape{});
  EXPECT_EQ(floats_of(r.outputs.at("s")), (std::vector<float>{1.0f}));
}

TEST(Reference, AllValuesHoldsInputsInitializersAndIntermediates) {
  const auto model = parse(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y)
    <float[2] w = {2.0, 3.0}, int64[1] axes = {0}> {
      t = Mul(x, w)
      u = Unsqueeze(t, axes)
      y = Squeeze(u, axes)
    }
  )");
  TensorMap inputs;
  inputs["x"] = Tensor::of_floats({2}, std::vector<float>{1, 2});
  TensorMap all;
  const RunResult r = run_reference(model, inputs, &all);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  for (const char* name : {"x", "w", "axes", "t", "u", "y"}) {
    EXPECT_TRUE(all.contains(name)) << name;
  }
  EXPECT_EQ(all.size(), 6u);
  EXPECT_EQ(floats_of(all.at("t")), (std::vector<float>{2, 6}));
  EXPECT_EQ(all.at("u").shape, (Shape{1, 2}));
  EXPECT_EQ(all.at("y"), r.outputs.at("y"));
}

TEST(Reference, SuppliedValueOverridesInitializerInput) {
  const auto model = parse(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x, float[2] w) => (float[2] y)
    <float[2] w = {2.0, 3.0}> {
      y = Add(x, w)
    }
  )");
  TensorMap inputs;
  inputs["x"] = Tensor::of_floats({2}, std::vector<float>{1, 1});
  RunResult r = run_reference(model, inputs);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(floats_of(r.outputs.at("y")), (std::vector<float>{3, 4}));
  inputs["w"] = Tensor::of_floats({2}, std::vector<float>{10, 20});
  r = run_reference(model, inputs);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(floats_of(r.outputs.at("y")), (std::vector<float>{11, 21}));
}

TEST(Reference, OpsetSelectsSemantics) {
  // Softmax-11 normalises over the flattened trailing block; Softmax-13 over the last axis.
  const std::string body = R"(
    g (float[1,2,2] x) => (float[1,2,2] y) {
      y = Softmax <axis: int = 1> (x)
    }
  )";
  TensorMap inputs;
  inputs["x"] = Tensor::of_floats({1, 2, 2}, std::vector<float>{0, 0, 0, 0});
  const RunResult r11 =
      run_reference(parse("<ir_version: 7, opset_import: [\"\" : 11]>" + body), inputs);
  const RunResult r13 =
      run_reference(parse("<ir_version: 8, opset_import: [\"\" : 13]>" + body), inputs);
  ASSERT_EQ(r11.status, RunStatus::kOk) << r11.message;
  ASSERT_EQ(r13.status, RunStatus::kOk) << r13.message;
  EXPECT_EQ(floats_of(r11.outputs.at("y")), (std::vector<float>(4, 0.25f)));
  EXPECT_EQ(floats_of(r13.outputs.at("y")), (std::vector<float>(4, 0.5f)));
}

TEST(Reference, ClipPassesNaNAndSliceStepsBackwards) {
  const auto model = parse(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[5] x) => (float[5] c, float[2] s)
    <float lo = {0.0}, float hi = {1.0}, int64[1] st = {-1}, int64[1] en = {-100}, int64[1] ax = {0}, int64[1] sp = {-3}> {
      c = Clip(x, lo, hi)
      s = Slice(x, st, en, ax, sp)
    }
  )");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  TensorMap inputs;
  inputs["x"] = Tensor::of_floats({5}, std::vector<float>{-1, 0.5f, nan, 2, 3});
  const RunResult r = run_reference(model, inputs);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  const auto c = floats_of(r.outputs.at("c"));
  EXPECT_EQ(c[0], 0);
  EXPECT_EQ(c[1], 0.5f);
  EXPECT_TRUE(std::isnan(c[2]));
  EXPECT_EQ(c[3], 1);
  EXPECT_EQ(floats_of(r.outputs.at("s")), (std::vector<float>{3, 0.5f}));
}

TEST(Reference, ConvHandlesGroupsBiasDilationsAndRanks) {
  // The node tests have no grouped, dilated, biased, 1-D or 3-D Conv; these are worked by hand.
  const auto model = parse(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1,2,3] x, float[2,1,2] w, float[2] b, float[1,1,2,2,2] x3, float[1,1,2,2,2] w3)
      => (float[1,2,3] y, float[1,1,1,1,1] y3) {
      y = Conv <group: int = 2, dilations: ints = [2], pads: ints = [1, 1]> (x, w, b)
      y3 = Conv (x3, w3)
    }
  )");
  TensorMap inputs;
  inputs["x"] = Tensor::of_floats({1, 2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  inputs["w"] = Tensor::of_floats({2, 1, 2}, std::vector<float>{1, 1, 1, -1});
  inputs["b"] = Tensor::of_floats({2}, std::vector<float>{10, 20});
  inputs["x3"] = Tensor::of_floats({1, 1, 2, 2, 2}, std::vector<float>(8, 1.0f));
  inputs["w3"] = Tensor::of_floats({1, 1, 2, 2, 2}, std::vector<float>(8, 0.5f));
  const RunResult r = run_reference(model, inputs);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  // Taps of output position o read input positions o-1 and o+1.
  EXPECT_EQ(floats_of(r.outputs.at("y")), (std::vector<float>{12, 14, 12, 15, 18, 25}));
  EXPECT_EQ(floats_of(r.outputs.at("y3")), (std::vector<float>{4}));
}

TEST(Reference, AveragePoolCountsPaddingOnlyWhenAsked) {
  const auto model = parse(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1,1,5] x) => (float[1,1,3] ceil, float[1,1,3] incl) {
      ceil = AveragePool <kernel_shape: ints = [2], strides: ints = [2], ceil_mode: int = 1> (x)
      incl = AveragePool <kernel_shape: ints = [2], strides: ints = [2], pads: ints = [1, 1],
                          count_include_pad: int = 1> (x)
    }
  )");
  TensorMap inputs;
  inputs["x"] = Tensor::of_floats({1, 1, 5}, std::vector<float>{1, 2, 3, 4, 5});
  const RunResult r = run_reference(model, inputs);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  // The ceil-mode window past the end averages only the element it covers.
  EXPECT_EQ(floats_of(r.outputs.at("ceil")), (std::vector<float>{1.5f, 3.5f, 5}));
  EXPECT_EQ(floats_of(r.outputs.at("incl")), (std::vector<float>{0.5f, 2.5f, 4.5f}));
}

TEST(Reference, SliceAndReshapeSurviveExtremeValues) {
  // Steps and bounds at the int64 limits, as a fuzzer produces them.
  const auto model = parse(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[1] fwd, float[1] back, float[2,2] r)
    <int64[1] lo = {-9223372036854775807}, int64[1] hi = {9223372036854775807},
     int64[1] big = {9223372036854775807}, int64[1] small = {-9223372036854775807},
     int64[2] shape = {-1, 2}> {
      fwd = Slice(x, lo, hi, , big)
      back = Slice(x, hi, lo, , small)
      r = Reshape(x, shape)
    }
  )");
  TensorMap inputs;
  inputs["x"] = Tensor::of_floats({4}, std::vector<float>{1, 2, 3, 4});
  const RunResult r = run_reference(model, inputs);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(floats_of(r.outputs.at("fwd")), (std::vector<float>{1}));
  EXPECT_EQ(floats_of(r.outputs.at("back")), (std::vector<float>{4}));
  EXPECT_EQ(r.outputs.at("r").shape, (Shape{2, 2}));
}

TEST(Reference, ErrorsNameTheNode) {
  struct Case {
    const char* label;
    const char* model;
    TensorMap inputs;
    std::vector<std::string> message_parts;
  };
  const Tensor two_floats = Tensor::of_floats({2}, std::vector<float>{1, 2});
  const std::vector<Case> cases = {
      {"unsupported op",
       R"(
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[2] x) => (float[2] y) {
          t = Relu(x)
          y = Det(t)
        }
      )",
       {{"x", two_floats}},
       {"unsupported op 'Det'", "node 1"}},
      {"missing input",
       R"(
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[2] x) => (float[2] y) {
          y = Add(x, ghost)
        }
      )",
       {{"x", two_floats}},
       {"node 0", "'first'", "Add", "'ghost'", "not available"}},
      {"bad shapes",
       R"(
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[2] x, float[3] z) => (float[2] y) {
          y = Mul(x, z)
        }
      )",
       {{"x", two_floats}, {"z", Tensor::of_floats({3}, std::vector<float>{1, 2, 3})}},
       {"node 0", "'first'", "Mul", "[2]", "[3]", "broadcast"}},
      {"reshape to a wrong size",
       R"(
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[2] x) => (float[3] y) <int64[1] shape = {3}> {
          y = Reshape(x, shape)
        }
      )",
       {{"x", two_floats}},
       {"node 0", "'first'", "Reshape", "[2]", "[3]"}},
      {"integer division by zero",
       R"(
        <ir_version: 8, opset_import: ["" : 17]>
        g (int64[2] x) => (int64[2] y) <int64 zero = {0}> {
          y = Div(x, zero)
        }
      )",
       {{"x", Tensor::of_int64s({2}, std::vector<int64_t>{1, 2})}},
       {"node 0", "'first'", "Div", "division by zero"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    auto model = parse(c.model);
    model.mutable_graph()->mutable_node(0)->set_name("first");
    const RunResult r = run_reference(model, c.inputs);
    EXPECT_EQ(r.status, RunStatus::kError);
    EXPECT_TRUE(r.outputs.empty());
    for (const auto& part : c.message_parts) {
      EXPECT_NE(r.message.find(part), std::string::npos)
          << "'" << part << "' not in: " << r.message;
    }
  }
}

TEST(Reference, MissingGraphInputIsAnError) {
  const auto model = parse(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) {
      y = Relu(x)
    }
  )");
  const RunResult r = run_reference(model, {});
  EXPECT_EQ(r.status, RunStatus::kError);
  EXPECT_NE(r.message.find("'x'"), std::string::npos) << r.message;
}

TEST(Reference, EveryKernelIsARealSchemaVersion) {
  const std::vector<KernelKey> kernels = reference_kernels();
  ASSERT_FALSE(kernels.empty());
  EXPECT_TRUE(std::is_sorted(kernels.begin(), kernels.end()));
  for (const KernelKey& k : kernels) {
    SCOPED_TRACE(k.op_type + "-" + std::to_string(k.since_version));
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(k.op_type, k.since_version, "");
    ASSERT_NE(schema, nullptr);
    EXPECT_EQ(schema->since_version(), k.since_version);
    // A kernel serves the model opsets from its own version on.
    EXPECT_EQ(reference_kernel_for(k.op_type, k.since_version), k);
  }
  // reference_ops() is the distinct op types of the kernels.
  std::vector<std::string> ops;
  for (const KernelKey& k : kernels) ops.push_back(k.op_type);
  ops.erase(std::unique(ops.begin(), ops.end()), ops.end());
  EXPECT_EQ(reference_ops(), ops);
  EXPECT_FALSE(reference_supports("Det"));
  ReferenceExecution ref;
  EXPECT_EQ(ref.name(), "ref");
  EXPECT_NE(ref.version().find("onnxfuzz-ref"), std::string::npos);
}

TEST(Reference, OpsetPicksTheNewestKernelAtOrBeforeTheSchemaVersion) {
  struct Case {
    const char* op;
    int opset;
    std::optional<int> kernel_since;
  };
  const std::vector<Case> cases = {
      {"Softmax", 11, 1},
      {"Softmax", 12, 1},
      {"Softmax", 13, 13},
      {"Softmax", 17, 13},
      {"Clip", 10, 6},
      {"Clip", 11, 11},
      {"Clip", 17, 11},
      {"ReduceSum", 12, 1},
      {"ReduceSum", 13, 13},
      {"Reshape", 13, 5},
      {"Reshape", 14, 14},
      {"Pow", 11, 7},
      {"Pow", 15, 12},
      // Add-6 still had the legacy broadcast attribute: no kernel. Where begins at opset 9.
      {"Add", 6, std::nullopt},
      {"Add", 7, 7},
      {"Where", 8, std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.op) + " at opset " + std::to_string(c.opset));
    const auto kernel = reference_kernel_for(c.op, c.opset);
    EXPECT_EQ(kernel.has_value(), c.kernel_since.has_value());
    if (kernel && c.kernel_since) EXPECT_EQ(kernel->since_version, *c.kernel_since);
    EXPECT_EQ(reference_supports(c.op, c.opset), c.kernel_since.has_value());
  }
  // A model of an op version without a kernel is refused, naming the version.
  TensorMap inputs;
  inputs["x"] = Tensor::of_floats({2}, std::vector<float>{1, 2});
  const RunResult r = run_reference(parse(R"(
    <ir_version: 3, opset_import: ["" : 6]>
    g (float[2] x) => (float[2] y) {
      y = Add(x, x)
    }
  )"),
                                    inputs);
  EXPECT_EQ(r.status, RunStatus::kError);
  EXPECT_NE(r.message.find("unsupported op 'Add'"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("Add-6"), std::string::npos) << r.message;
}

TEST(Reference, Float16ComputesInFloat32AndRoundsOncePerOp) {
  // float16 has an 11-bit significand: between 2048 and 4096 only even integers exist, and a
  // tie rounds to the even significand. Above 65504 is infinity.
  TensorMap inputs;
  inputs["a"] = tensor_of(DType::kFloat16, {4}, {2048, 2050, 65504, -1.5});
  inputs["b"] = tensor_of(DType::kFloat16, {4}, {1, 1, 65504, 0.25});
  inputs["m"] = tensor_of(DType::kFloat16, {1, 3}, {2048, 1, 1});
  inputs["v"] = tensor_of(DType::kFloat16, {3, 1}, {1, 1, 1});
  inputs["s"] = tensor_of(DType::kFloat16, {2}, {0, 1});
  const RunResult r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[4] a, float16[4] b, float16[1,3] m, float16[3,1] v, float16[2] s)
      => (float16[4] sum, float16[4] relu, float16[1,1] dot, float16[2] soft) {
      sum = Add(a, b)
      relu = Relu(a)
      dot = MatMul(m, v)
      soft = Softmax(s)
    }
  )",
                             inputs);
  for (const char* name : {"sum", "relu", "dot", "soft"}) {
    EXPECT_EQ(r.outputs.at(name).dtype, DType::kFloat16) << name;
  }
  // 2049 ties to 2048, 2051 to 2052; 131008 overflows.
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(doubles_of(r.outputs.at("sum")), (std::vector<double>{2048, 2052, inf, -1.25}));
  EXPECT_EQ(doubles_of(r.outputs.at("relu")), (std::vector<double>{2048, 2050, 65504, 0}));
  // Summed in float16, 2048 + 1 + 1 would stay 2048; summed in float32 it is 2050.
  EXPECT_EQ(doubles_of(r.outputs.at("dot")), (std::vector<double>{2050}));
  // softmax([0, 1]) = [0.268941..., 0.731058...]; float16 steps are 2^-12 and 2^-11 there.
  EXPECT_EQ(doubles_of(r.outputs.at("soft")), (std::vector<double>{1102.0 / 4096, 1497.0 / 2048}));
}

TEST(Reference, Bfloat16ComputesInFloat32AndRoundsOncePerOp) {
  // bfloat16 has an 8-bit significand: between 256 and 512 only even integers exist.
  TensorMap inputs;
  inputs["a"] = tensor_of(DType::kBfloat16, {3}, {256, 258, -3});
  inputs["b"] = tensor_of(DType::kBfloat16, {3}, {1, 1, 1});
  inputs["m"] = tensor_of(DType::kBfloat16, {1, 3}, {256, 1, 1});
  inputs["v"] = tensor_of(DType::kBfloat16, {3, 1}, {1, 1, 1});
  inputs["s"] = tensor_of(DType::kBfloat16, {2}, {0, 1});
  const RunResult r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bfloat16[3] a, bfloat16[3] b, bfloat16[1,3] m, bfloat16[3,1] v, bfloat16[2] s)
      => (bfloat16[3] sum, bfloat16[3] relu, bfloat16[1,1] dot, bfloat16[2] soft) {
      sum = Add(a, b)
      relu = Relu(a)
      dot = MatMul(m, v)
      soft = Softmax(s)
    }
  )",
                             inputs);
  for (const char* name : {"sum", "relu", "dot", "soft"}) {
    EXPECT_EQ(r.outputs.at(name).dtype, DType::kBfloat16) << name;
  }
  EXPECT_EQ(doubles_of(r.outputs.at("sum")), (std::vector<double>{256, 260, -2}));
  EXPECT_EQ(doubles_of(r.outputs.at("relu")), (std::vector<double>{256, 258, 0}));
  EXPECT_EQ(doubles_of(r.outputs.at("dot")), (std::vector<double>{258}));
  // bfloat16 steps are 2^-9 and 2^-8 around 0.27 and 0.73.
  EXPECT_EQ(doubles_of(r.outputs.at("soft")), (std::vector<double>{138.0 / 512, 187.0 / 256}));
}

TEST(Reference, HalfExponentDoesNotRoundAFloatPow) {
  // Pow's result follows its base, so a float16 exponent leaves a float32 result unrounded.
  TensorMap inputs;
  inputs["x"] = Tensor::of_floats({1}, std::vector<float>{3.0f});
  inputs["e"] = tensor_of(DType::kFloat16, {1}, {0.5});
  const RunResult r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1] x, float16[1] e) => (float[1] y) {
      y = Pow(x, e)
    }
  )",
                             inputs);
  EXPECT_EQ(r.outputs.at("y").dtype, DType::kFloat);
  EXPECT_EQ(floats_of(r.outputs.at("y")), (std::vector<float>{std::sqrt(3.0f)}));
}

TEST(Reference, IntegerArithmeticWrapsAndDivisionTruncates) {
  TensorMap inputs;
  inputs["a"] = tensor_of(DType::kInt8, {3}, {127, -128, 100});
  inputs["b"] = tensor_of(DType::kInt8, {3}, {1, -1, 100});
  inputs["n"] = tensor_of(DType::kInt32, {4}, {7, -7, 7, -7});
  inputs["d"] = tensor_of(DType::kInt32, {4}, {2, 2, -2, -2});
  const RunResult r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (int8[3] a, int8[3] b, int32[4] n, int32[4] d) => (int8[3] sum, int32[4] q) {
      sum = Add(a, b)
      q = Div(n, d)
    }
  )",
                             inputs);
  EXPECT_EQ(doubles_of(r.outputs.at("sum")), (std::vector<double>{-128, 127, -56}));
  EXPECT_EQ(doubles_of(r.outputs.at("q")), (std::vector<double>{3, -3, -3, 3}));
}

TEST(Reference, Uint64MatMulIsExactAndWraps) {
  // 2^53 + 1 has no double; (2^63 + 7) * 2 wraps to 14.
  Tensor a = Tensor::zeros(DType::kUint64, {2, 2});
  Tensor b = Tensor::zeros(DType::kUint64, {2, 1});
  auto av = a.values<uint64_t>();
  auto bv = b.values<uint64_t>();
  av[0] = (uint64_t{1} << 53) + 1, av[1] = 0, av[2] = uint64_t{1} << 63,
  av[3] = (uint64_t{1} << 63) + 7;
  bv[0] = 1, bv[1] = 2;
  TensorMap inputs{{"a", a}, {"b", b}};
  const RunResult r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (uint64[2,2] a, uint64[2,1] b) => (uint64[2,1] y) {
      y = MatMul(a, b)
    }
  )",
                             inputs);
  const Tensor& y = r.outputs.at("y");
  ASSERT_EQ(y.dtype, DType::kUint64);
  EXPECT_EQ(y.values<uint64_t>()[0], (uint64_t{1} << 53) + 1);
  EXPECT_EQ(y.values<uint64_t>()[1], (uint64_t{1} << 63) + 14);
}

// Every dtype ONNX allows for each op's first input at opset 17 runs, and the output keeps it.
// The dtype lists come from the ONNX schemas, so a kernel cannot silently lag behind them.
TEST(Reference, EveryOpRunsEveryDtypeItsSchemaAllows) {
  struct Case {
    const char* op;
    const char* node;  // uses x: T[1,1,2,2], c: bool[1,1,2,2] and the initializers below
  };
  const std::vector<Case> cases = {
      {"Relu", "y = Relu(x)"},
      {"Sigmoid", "y = Sigmoid(x)"},
      {"Tanh", "y = Tanh(x)"},
      {"Exp", "y = Exp(x)"},
      {"Log", "y = Log(x)"},
      {"Sqrt", "y = Sqrt(x)"},
      {"Abs", "y = Abs(x)"},
      {"Neg", "y = Neg(x)"},
      {"Add", "y = Add(x, x)"},
      {"Sub", "y = Sub(x, x)"},
      {"Mul", "y = Mul(x, x)"},
      {"Div", "y = Div(x, x)"},
      {"Pow", "y = Pow(x, x)"},
      {"Clip", "y = Clip(x)"},
      {"Where", "y = Where(c, x, x)"},
      {"MatMul", "y = MatMul(x, x)"},
      {"Gemm", "y = Gemm(x2, x2)"},
      {"Conv", "y = Conv(x, x)"},
      {"MaxPool", "y = MaxPool <kernel_shape: ints = [2, 2]> (x)"},
      {"AveragePool", "y = AveragePool <kernel_shape: ints = [2, 2]> (x)"},
      {"ReduceSum", "y = ReduceSum(x)"},
      {"ReduceMean", "y = ReduceMean(x)"},
      {"ReduceMax", "y = ReduceMax(x)"},
      {"Softmax", "y = Softmax(x)"},
      {"Reshape", "y = Reshape(x, shape)"},
      {"Transpose", "y = Transpose(x)"},
      {"Concat", "y = Concat <axis: int = 1> (x, x)"},
      {"Slice", "y = Slice(x, st, en, ax)"},
      {"Squeeze", "y = Squeeze(x)"},
      {"Unsqueeze", "y = Unsqueeze(x, ax)"},
      {"Identity", "y = Identity(x)"},
      {"Einsum", "y = Einsum <equation: string = \"ij,jk->ik\"> (x2, x2)"},
  };
  std::set<std::string> covered;
  std::set<DType> dtypes_run;
  for (const Case& c : cases) {
    covered.insert(c.op);
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(c.op, 17, "");
    ASSERT_NE(schema, nullptr) << c.op;
    const std::string& param = schema->inputs()[0].GetTypeStr();
    std::vector<std::string> allowed;
    for (const auto& constraint : schema->typeConstraintParams()) {
      if (constraint.type_param_str == param) allowed = constraint.allowed_type_strs;
    }
    ASSERT_FALSE(allowed.empty()) << c.op;
    for (const std::string& type : allowed) {
      const auto dtype = dtype_from_name(type);
      if (!dtype) continue;  // string, complex: not onnxfuzz dtypes
      const std::string name(dtype_info(*dtype).onnx_type.substr(7));  // "float16)"
      const std::string text_type = name.substr(0, name.size() - 1);
      SCOPED_TRACE(std::string(c.op) + " on " + text_type);
      const std::string text = fmt::format(R"(
        <ir_version: 8, opset_import: ["" : 17]>
        g ({0}[1,1,2,2] x, {0}[2,2] x2, bool[1,1,2,2] c) => ({0} y)
        <int64[1] shape = {{4}}, int64[1] st = {{0}}, int64[1] en = {{1}}, int64[1] ax = {{0}}> {{
          {1}
        }}
      )",
                                           text_type, c.node);
      TensorMap inputs;
      Tensor x = Tensor::zeros(*dtype, {1, 1, 2, 2});
      for (int64_t i = 0; i < x.numel(); ++i) x.set_double(i, 1);
      inputs["x"] = x;
      x.shape = {2, 2};
      inputs["x2"] = x;
      inputs["c"] = Tensor::of_bools({1, 1, 2, 2}, std::array<bool, 4>{true, false, true, false});
      const RunResult r = run_reference(parse(text), inputs);
      ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
      EXPECT_EQ(r.outputs.at("y").dtype, *dtype);
      dtypes_run.insert(*dtype);
    }
  }
  EXPECT_EQ(dtypes_run.size(), all_dtypes().size());
  // The table above covers the ops the reference runs that the generator does not draw; the
  // generator's ops are run in every dtype their registration allows by
  // Generator.EveryOpIsDrawnInEveryDtypeItAllows (and each family's own test).
  for (const auto& op : reference_ops()) {
    // Scatter is deprecated since opset 11 (ScatterElements replaced it): the backend node
    // tests cover its opset 9-10 kernel.
    if (op == "Constant" || op == "Scatter" || find_op_spec(op) != nullptr) continue;
    EXPECT_TRUE(covered.contains(op)) << op << " is missing from the table";
  }
}

TEST(Reference, WhereSelectsBools) {
  TensorMap inputs;
  inputs["c"] = Tensor::of_bools({3}, std::array<bool, 3>{true, false, true});
  inputs["x"] = Tensor::of_bools({3}, std::array<bool, 3>{true, true, false});
  inputs["y"] = Tensor::of_bools({1}, std::array<bool, 1>{false});
  const RunResult r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool[3] c, bool[3] x, bool[1] y) => (bool[3] z) {
      z = Where(c, x, y)
    }
  )",
                             inputs);
  EXPECT_EQ(r.outputs.at("z"), Tensor::of_bools({3}, std::array<bool, 3>{true, false, false}));
}

}  // namespace
}  // namespace onnxfuzz
