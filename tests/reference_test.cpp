// Unit tests of the reference interpreter's tricky semantics, on inline text-format models.
#include "oracles/reference.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "generators/model_io.h"

namespace onnxfuzz {
namespace {

onnx::ModelProto parse(const std::string& text) {
  auto model = parse_model_text(text);
  EXPECT_TRUE(model.has_value()) << (model ? "" : model.error());
  return model ? *model : onnx::ModelProto{};
}

std::vector<float> floats_of(const Tensor& t) {
  auto v = t.values<float>();
  return {v.begin(), v.end()};
}

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
          y = Erf(t)
        }
      )",
       {{"x", two_floats}},
       {"unsupported op 'Erf'", "node 1"}},
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

TEST(Reference, ListsItsOps) {
  EXPECT_EQ(reference_ops().size(), 32u);
  EXPECT_TRUE(reference_supports("Conv"));
  EXPECT_FALSE(reference_supports("Erf"));
  ReferenceExecution ref;
  EXPECT_EQ(ref.name(), "ref");
  EXPECT_NE(ref.version().find("onnxfuzz-ref"), std::string::npos);
}

}  // namespace
}  // namespace onnxfuzz
