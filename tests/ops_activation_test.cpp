// Reference semantics of the activation family (activations, rounding, sign, Reciprocal, Erf,
// trigonometric and hyperbolic functions, IsNaN, IsInf, Not) on inline text-format models, and
// their registrations' rules.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/defs/schema.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "generators/generator.h"
#include "generators/model_io.h"
#include "generators/op_spec.h"
#include "oracles/reference.h"
#include "tests/reference_fixtures.h"

namespace onnxfuzz {
namespace {

using namespace fixtures;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The ONNX text name of a dtype ("float", "float16", "int8", ...).
std::string text_type(DType dtype) {
  const std::string_view t = dtype_info(dtype).onnx_type;  // "tensor(float16)"
  return std::string(t.substr(7, t.size() - 8));
}

// Runs `node` (reading x, writing y) at opset 17 on x and returns y; fails the test when the
// reference refuses.
Tensor run_node(const std::string& node, const Tensor& x, DType out_dtype,
                const Tensor* slope = nullptr, int opset = 17) {
  std::string shape;
  for (size_t i = 0; i < x.shape.size(); ++i) shape += (i ? "," : "") + std::to_string(x.shape[i]);
  std::string slope_decl;
  if (slope != nullptr) {
    std::string s;
    for (size_t i = 0; i < slope->shape.size(); ++i)
      s += (i ? "," : "") + std::to_string(slope->shape[i]);
    slope_decl = fmt::format(", {}[{}] slope", text_type(slope->dtype), s);
  }
  const std::string text = fmt::format(R"(
    <ir_version: 8, opset_import: ["" : {0}]>
    g ({1}[{2}] x{3}) => ({4}[{2}] y) {{
      {5}
    }}
  )",
                                       opset, text_type(x.dtype), shape, slope_decl,
                                       text_type(out_dtype), node);
  auto model = parse_model_text(text);
  EXPECT_TRUE(model.has_value()) << (model ? "" : model.error());
  if (!model) return Tensor{};
  TensorMap inputs;
  inputs["x"] = x;
  if (slope != nullptr) inputs["slope"] = *slope;
  const RunResult r = run_reference(*model, inputs);
  EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
  if (r.status != RunStatus::kOk) return Tensor{};
  EXPECT_EQ(r.outputs.at("y").dtype, out_dtype);
  EXPECT_EQ(r.outputs.at("y").shape, x.shape);
  return r.outputs.at("y");
}

// Elementwise comparison with a relative tolerance; NaN must meet NaN.
void expect_near_all(const std::vector<double>& got, const std::vector<double>& want,
                     double rtol = 1e-6) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "element " << i);
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << got[i];
    } else if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]);
    } else {
      EXPECT_NEAR(got[i], want[i], 1e-7 + rtol * std::abs(want[i]));
    }
  }
}

struct Sample {
  const char* node;
  std::vector<double> x;
  std::vector<double> y;
};

void check_samples(const std::vector<Sample>& samples, DType dtype, double rtol) {
  for (const Sample& s : samples) {
    SCOPED_TRACE(std::string(s.node) + " on " + text_type(dtype));
    const Tensor y = run_node(s.node, tensor_of(dtype, {static_cast<int64_t>(s.x.size())}, s.x),
                              dtype);
    expect_near_all(doubles_of(y), s.y, rtol);
  }
}

// Hand-computed values of the float activations, checked in float32, float64 and float16.
TEST(Activation, FloatActivationsMatchHandValues) {
  const double e1 = std::exp(-1.0) - 1;  // expm1(-1)
  const std::vector<Sample> samples = {
      {"y = LeakyRelu(x)", {-2, -0.5, 0, 3}, {-0.02, -0.005, 0, 3}},
      {"y = LeakyRelu <alpha: float = 0.5> (x)", {-2, 4}, {-1, 4}},
      {"y = LeakyRelu <alpha: float = -1.0> (x)", {-2, 4}, {2, 4}},
      {"y = LeakyRelu <alpha: float = 0.0> (x)", {-2, 4}, {0, 4}},
      {"y = Elu(x)", {-1, 0, 2}, {e1, 0, 2}},
      {"y = Elu <alpha: float = 2.0> (x)", {-1, 2}, {2 * e1, 2}},
      {"y = Selu(x)", {-1, 0, 2},
       {1.0507009873554805 * 1.6732632423543772 * e1, 0, 2 * 1.0507009873554805}},
      {"y = Selu <alpha: float = 2.0, gamma: float = 3.0> (x)", {-1, 1}, {6 * e1, 3}},
      {"y = Celu(x)", {-1, 0, 2}, {e1, 0, 2}},
      {"y = Celu <alpha: float = 2.0> (x)", {-2, 2}, {2 * e1, 2}},
      {"y = HardSigmoid(x)", {-3, 0, 1, 3}, {0, 0.5, 0.7, 1}},
      {"y = HardSigmoid <alpha: float = 0.5, beta: float = 0.25> (x)", {-1, 0.5, 2}, {0, 0.5, 1}},
      {"y = HardSwish(x)", {-4, -3, -1.5, 0, 1, 3, 5}, {0, 0, -0.375, 0, 2.0 / 3, 3, 5}},
      {"y = Softplus(x)", {-1, 0, 1, 100}, {std::log1p(std::exp(-1.0)), std::log(2.0), 1.3132616875182228, 100}},
      {"y = Softsign(x)", {-3, 0, 1}, {-0.75, 0, 0.5}},
      {"y = ThresholdedRelu(x)", {0.5, 1, 1.5, -2}, {0, 0, 1.5, 0}},
      {"y = ThresholdedRelu <alpha: float = -1.0> (x)", {-2, -0.5, 0, 3}, {0, -0.5, 0, 3}},
      {"y = Shrink(x)", {-1, -0.5, 0, 0.25, 2}, {-1, 0, 0, 0, 2}},
      {"y = Shrink <lambd: float = 1.0, bias: float = 0.5> (x)", {-2, -1, 1, 3}, {-1.5, 0, 0, 2.5}},
      {"y = Floor(x)", {-1.5, -0.0, 0.5, 2}, {-2, 0, 0, 2}},
      {"y = Ceil(x)", {-1.5, 0.25, 2}, {-1, 1, 2}},
      {"y = Round(x)", {-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.6, -2.6}, {-2, -2, -0, 0, 2, 2, 3, -3}},
      {"y = Sign(x)", {-3, 0, 0.25}, {-1, 0, 1}},
      {"y = Reciprocal(x)", {-2, 0.5, 4}, {-0.5, 2, 0.25}},
      {"y = Erf(x)", {-1, 0, 0.5}, {std::erf(-1.0), 0, std::erf(0.5)}},
      {"y = Sin(x)", {-1, 0, 0.5}, {std::sin(-1.0), 0, std::sin(0.5)}},
      {"y = Cos(x)", {-1, 0, 0.5}, {std::cos(-1.0), 1, std::cos(0.5)}},
      {"y = Tan(x)", {-1, 0, 0.5}, {std::tan(-1.0), 0, std::tan(0.5)}},
      {"y = Asin(x)", {-0.5, 0, 1}, {std::asin(-0.5), 0, std::asin(1.0)}},
      {"y = Acos(x)", {-0.5, 0, 1}, {std::acos(-0.5), std::acos(0.0), 0}},
      {"y = Atan(x)", {-2, 0, 0.5}, {std::atan(-2.0), 0, std::atan(0.5)}},
      {"y = Sinh(x)", {-2, 0, 0.5}, {std::sinh(-2.0), 0, std::sinh(0.5)}},
      {"y = Cosh(x)", {-2, 0, 0.5}, {std::cosh(-2.0), 1, std::cosh(0.5)}},
      {"y = Asinh(x)", {-2, 0, 0.5}, {std::asinh(-2.0), 0, std::asinh(0.5)}},
      {"y = Acosh(x)", {1, 2, 4}, {0, std::acosh(2.0), std::acosh(4.0)}},
      {"y = Atanh(x)", {-0.5, 0, 0.5}, {std::atanh(-0.5), 0, std::atanh(0.5)}},
  };
  check_samples(samples, DType::kFloat, 1e-6);
  check_samples(samples, DType::kDouble, 1e-12);
  // Celu is float32 only; the others are checked in float16 too (one rounding: 2^-11 relative).
  std::vector<Sample> halves;
  for (const Sample& s : samples) {
    if (std::string(s.node).find("Celu") == std::string::npos) halves.push_back(s);
  }
  check_samples(halves, DType::kFloat16, 1e-3);
}

TEST(Activation, RoundTiesToEvenAndFloorCeilAreExact) {
  // Large halves: 2^23 + 0.5 is not a float32, but 4194304.5 (2^22 + 0.5) is.
  const Tensor x = tensor_of(DType::kFloat, {4}, {4194304.5, 4194305.5, -4194304.5, 1e30});
  EXPECT_EQ(doubles_of(run_node("y = Round(x)", x, DType::kFloat)),
            (std::vector<double>{4194304, 4194306, -4194304, 1e30f}));
  const Tensor h = tensor_of(DType::kFloat16, {3}, {0.5, 1.5, 2.5});
  EXPECT_EQ(doubles_of(run_node("y = Round(x)", h, DType::kFloat16)),
            (std::vector<double>{0, 2, 2}));
  const Tensor b = tensor_of(DType::kBfloat16, {3}, {-1.5, 0.5, 3.25});
  EXPECT_EQ(doubles_of(run_node("y = Floor(x)", b, DType::kBfloat16)),
            (std::vector<double>{-2, 0, 3}));
  EXPECT_EQ(doubles_of(run_node("y = Ceil(x)", b, DType::kBfloat16)),
            (std::vector<double>{-1, 1, 4}));
  // Round keeps the sign of a zero result.
  const Tensor r = run_node("y = Round(x)", tensor_of(DType::kFloat, {1}, {-0.4}), DType::kFloat);
  EXPECT_TRUE(std::signbit(r.values<float>()[0]));
}

TEST(Activation, IntegerSignErfShrinkAndPRelu) {
  EXPECT_EQ(doubles_of(run_node("y = Sign(x)", tensor_of(DType::kInt8, {4}, {-128, -1, 0, 127}),
                                DType::kInt8)),
            (std::vector<double>{-1, -1, 0, 1}));
  EXPECT_EQ(doubles_of(run_node("y = Sign(x)", tensor_of(DType::kUint64, {3}, {0, 1, 1e18}),
                                DType::kUint64)),
            (std::vector<double>{0, 1, 1}));
  // erf(x) truncated toward zero: 0 until erf rounds to 1 in double (|x| >= 6).
  EXPECT_EQ(doubles_of(run_node("y = Erf(x)", tensor_of(DType::kInt32, {5}, {-10, -3, 0, 3, 10}),
                                DType::kInt32)),
            (std::vector<double>{-1, 0, 0, 0, 1}));
  EXPECT_EQ(doubles_of(run_node("y = Erf(x)", tensor_of(DType::kUint8, {2}, {0, 200}),
                                DType::kUint8)),
            (std::vector<double>{0, 1}));
  // Integer Shrink computes x -+ bias and truncates toward 0.
  EXPECT_EQ(doubles_of(run_node("y = Shrink <lambd: float = 1.0, bias: float = 0.5> (x)",
                                tensor_of(DType::kInt8, {5}, {-128, -3, 1, 3, 127}),
                                DType::kInt8)),
            (std::vector<double>{-127, -2, 0, 2, 126}));
  EXPECT_EQ(doubles_of(run_node("y = Shrink <lambd: float = 2.0, bias: float = 2.0> (x)",
                                tensor_of(DType::kUint16, {4}, {0, 2, 3, 65535}),
                                DType::kUint16)),
            (std::vector<double>{0, 0, 1, 65533}));
  EXPECT_EQ(doubles_of(run_node("y = Shrink(x)", tensor_of(DType::kInt64, {3}, {-5, 0, 5}),
                                DType::kInt64)),
            (std::vector<double>{-5, 0, 5}));
  // Integer PRelu wraps: -2^31 * 2 is 0 in int32; unsigned inputs are never negative.
  const Tensor slope = tensor_of(DType::kInt32, {1}, {2});
  EXPECT_EQ(doubles_of(run_node("y = PRelu(x, slope)",
                                tensor_of(DType::kInt32, {3}, {-2147483648.0, -3, 7}),
                                DType::kInt32, &slope)),
            (std::vector<double>{0, -6, 7}));
  const Tensor uslope = tensor_of(DType::kUint32, {1}, {5});
  EXPECT_EQ(doubles_of(run_node("y = PRelu(x, slope)", tensor_of(DType::kUint32, {2}, {0, 4e9}),
                                DType::kUint32, &uslope)),
            (std::vector<double>{0, 4e9}));
}

TEST(Activation, PReluSlopeBroadcastsOneWay) {
  // Slope [2,1,1] over X [1,2,1,3]: a per-channel slope.
  const Tensor x = tensor_of(DType::kFloat, {1, 2, 1, 3}, {-1, 2, -3, -1, 2, -3});
  const Tensor slope = tensor_of(DType::kFloat, {2, 1, 1}, {0.5, 2});
  EXPECT_EQ(doubles_of(run_node("y = PRelu(x, slope)", x, DType::kFloat, &slope)),
            (std::vector<double>{-0.5, 2, -1.5, -2, 2, -6}));
  // Slope [3] along the last axis, and a rank-0 slope.
  const Tensor row = tensor_of(DType::kDouble, {3}, {1, 10, 100});
  EXPECT_EQ(doubles_of(run_node("y = PRelu(x, slope)",
                                tensor_of(DType::kDouble, {2, 3}, {-1, -1, -1, 1, -2, -3}),
                                DType::kDouble, &row)),
            (std::vector<double>{-1, -10, -100, 1, -20, -300}));
  const Tensor scalar = tensor_of(DType::kFloat16, {}, {0.25});
  EXPECT_EQ(doubles_of(run_node("y = PRelu(x, slope)", tensor_of(DType::kFloat16, {2}, {-4, 4}),
                                DType::kFloat16, &scalar)),
            (std::vector<double>{-1, 4}));
  // A slope that would widen X is refused.
  auto model = parse_model_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1,3] x, float[2,3] slope) => (float[1,3] y) {
      y = PRelu(x, slope)
    }
  )");
  ASSERT_TRUE(model.has_value()) << model.error();
  TensorMap inputs;
  inputs["x"] = tensor_of(DType::kFloat, {1, 3}, {-1, -1, -1});
  inputs["slope"] = tensor_of(DType::kFloat, {2, 3}, {1, 1, 1, 1, 1, 1});
  const RunResult r = run_reference(*model, inputs);
  EXPECT_EQ(r.status, RunStatus::kError);
  EXPECT_NE(r.message.find("does not broadcast"), std::string::npos) << r.message;
}

TEST(Activation, PredicatesSeeNaNAndInfinity) {
  const std::vector<double> x = {kNaN, kInf, -kInf, 0, -1, 1e30};
  for (DType dtype : {DType::kFloat, DType::kDouble, DType::kFloat16, DType::kBfloat16}) {
    SCOPED_TRACE(text_type(dtype));
    const Tensor t = tensor_of(dtype, {6}, x);
    EXPECT_EQ(doubles_of(run_node("y = IsNaN(x)", t, DType::kBool)),
              (std::vector<double>{1, 0, 0, 0, 0, 0}));
  }
  struct Case {
    const char* node;
    std::vector<double> y;
  };
  const std::vector<Case> cases = {
      {"y = IsInf(x)", {0, 1, 1, 0, 0, 0}},
      {"y = IsInf <detect_negative: int = 0> (x)", {0, 1, 0, 0, 0, 0}},
      {"y = IsInf <detect_positive: int = 0> (x)", {0, 0, 1, 0, 0, 0}},
      {"y = IsInf <detect_negative: int = 0, detect_positive: int = 0> (x)", {0, 0, 0, 0, 0, 0}},
  };
  for (DType dtype : {DType::kFloat, DType::kDouble}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(c.node) + " on " + text_type(dtype));
      EXPECT_EQ(doubles_of(run_node(c.node, tensor_of(dtype, {6}, x), DType::kBool)), c.y);
    }
  }
  EXPECT_EQ(doubles_of(run_node("y = Not(x)", tensor_of(DType::kBool, {2, 2}, {1, 0, 0, 1}),
                                DType::kBool)),
            (std::vector<double>{0, 1, 1, 0}));
}

TEST(Activation, NaNPassesThroughOrFollowsTheFormula) {
  const Tensor x = tensor_of(DType::kFloat, {1}, {kNaN});
  for (const char* node :
       {"y = LeakyRelu(x)", "y = Elu(x)", "y = Selu(x)", "y = Celu(x)", "y = HardSigmoid(x)",
        "y = HardSwish(x)", "y = Softplus(x)", "y = Softsign(x)", "y = Floor(x)", "y = Round(x)",
        "y = Sign(x)", "y = Reciprocal(x)", "y = Erf(x)", "y = Sin(x)", "y = Atanh(x)"}) {
    SCOPED_TRACE(node);
    EXPECT_TRUE(std::isnan(run_node(node, x, DType::kFloat).values<float>()[0]));
  }
  // x > alpha and |x| > lambd are false for NaN: the formula's else branch, 0.
  EXPECT_EQ(run_node("y = ThresholdedRelu(x)", x, DType::kFloat).values<float>()[0], 0.0f);
  EXPECT_EQ(run_node("y = Shrink(x)", x, DType::kFloat).values<float>()[0], 0.0f);
  // Out-of-domain arguments give NaN or infinity, as the C functions do.
  const Tensor outside = tensor_of(DType::kFloat, {3}, {2, 1, 0});
  expect_near_all(doubles_of(run_node("y = Asin(x)", outside, DType::kFloat)),
                  {kNaN, std::asin(1.0), 0});
  expect_near_all(doubles_of(run_node("y = Atanh(x)", outside, DType::kFloat)), {kNaN, kInf, 0});
  expect_near_all(doubles_of(run_node("y = Reciprocal(x)", outside, DType::kFloat)),
                  {0.5, 1, kInf});
}

TEST(Activation, EmptyTensorsStayEmpty) {
  const Tensor x = Tensor::zeros(DType::kFloat, {0, 3});
  for (const char* node : {"y = LeakyRelu(x)", "y = Shrink(x)", "y = Round(x)", "y = Acosh(x)"}) {
    SCOPED_TRACE(node);
    EXPECT_EQ(run_node(node, x, DType::kFloat).numel(), 0);
  }
  EXPECT_EQ(run_node("y = IsNaN(x)", x, DType::kBool).numel(), 0);
  const Tensor slope = tensor_of(DType::kFloat, {1}, {0.5});
  EXPECT_EQ(run_node("y = PRelu(x, slope)", x, DType::kFloat, &slope).numel(), 0);
  EXPECT_EQ(run_node("y = Not(x)", Tensor::zeros(DType::kBool, {2, 0}), DType::kBool).numel(), 0);
}

// Every op of the family runs every dtype its opset-17 schema allows for input 0.
TEST(Activation, EveryOpRunsEveryDtypeItsSchemaAllows) {
  const std::vector<std::string> ops = {
      "Erf",  "LeakyRelu", "Elu",   "Selu",       "Celu", "HardSigmoid", "HardSwish", "PRelu",
      "Softplus", "Softsign", "ThresholdedRelu", "Shrink", "Floor", "Ceil", "Round", "Sign",
      "Reciprocal", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh",
      "Acosh", "Atanh", "IsNaN", "IsInf", "Not"};
  for (const std::string& op : ops) {
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(op, 17, "");
    ASSERT_NE(schema, nullptr) << op;
    const std::string& param = schema->inputs()[0].GetTypeStr();
    const std::string& out_param = schema->outputs()[0].GetTypeStr();
    std::vector<std::string> allowed, out_allowed;
    for (const auto& constraint : schema->typeConstraintParams()) {
      if (constraint.type_param_str == param) allowed = constraint.allowed_type_strs;
      if (constraint.type_param_str == out_param) out_allowed = constraint.allowed_type_strs;
    }
    ASSERT_FALSE(allowed.empty()) << op;
    for (const std::string& type : allowed) {
      const auto dtype = dtype_from_name(type);
      if (!dtype) continue;
      SCOPED_TRACE(op + " on " + type);
      const DType out = param == out_param ? *dtype : *dtype_from_name(out_allowed.front());
      // Acosh needs x >= 1; 1 suits every op (and bool true for Not).
      const Tensor x = tensor_of(*dtype, {2, 2}, {1, 1, 1, 1});
      const Tensor slope = tensor_of(*dtype, {1}, {1});
      run_node(op == "PRelu" ? "y = PRelu(x, slope)" : "y = " + op + "(x)", x, out,
               op == "PRelu" ? &slope : nullptr);
    }
  }
}

TEST(Activation, KernelVersionsFollowTheSchemas) {
  // Legacy versions that differ only by consumed_inputs or types share the first kernel;
  // PRelu before 7 (no numpy broadcasting of the slope) is not served.
  EXPECT_EQ(reference_kernel_for("LeakyRelu", 6)->since_version, 1);
  EXPECT_EQ(reference_kernel_for("LeakyRelu", 17)->since_version, 1);
  EXPECT_EQ(reference_kernel_for("Floor", 17)->since_version, 1);
  EXPECT_EQ(reference_kernel_for("PRelu", 17)->since_version, 7);
  EXPECT_FALSE(reference_supports("PRelu", 6));
  EXPECT_FALSE(reference_supports("IsInf", 9));  // IsInf begins at opset 10
  EXPECT_TRUE(reference_supports("Not", 1));
  // A LeakyRelu-1 model (legacy opset) runs.
  const Tensor y = run_node("y = LeakyRelu <alpha: float = 0.5> (x)",
                            tensor_of(DType::kFloat, {2}, {-2, 2}), DType::kFloat, nullptr, 6);
  EXPECT_EQ(doubles_of(y), (std::vector<double>{-1, 2}));
}

// The registrations: output dtypes, the PRelu shape rule and range rules on edge attributes.
TEST(Activation, RulesOfTheRegistrations) {
  auto sig_of = [](DType dtype, Shape shape, Interval range, AttrList attrs = {}) {
    NodeSig sig;
    NodeInput in;
    in.dtype = dtype;
    in.shape = std::move(shape);
    in.range = range;
    sig.inputs.push_back(in);
    sig.attrs = std::move(attrs);
    return sig;
  };
  const OpSpec* is_nan = find_op_spec("IsNaN");
  ASSERT_NE(is_nan, nullptr);
  EXPECT_EQ(is_nan->dtype_rule(*is_nan, sig_of(DType::kFloat, {2}, {-1, 1})), DType::kBool);
  const OpSpec* lrelu = find_op_spec("LeakyRelu");
  ASSERT_NE(lrelu, nullptr);
  EXPECT_EQ(lrelu->output_range(sig_of(DType::kFloat, {2}, {-4, 2},
                                       {Attr::of_float("alpha", -0.5f)})),
            (Interval{0, 2}));
  EXPECT_EQ(lrelu->output_range(sig_of(DType::kFloat, {2}, {-kInf, 2},
                                       {Attr::of_float("alpha", 0.0f)})),
            (Interval{0, 2}));
  const OpSpec* hswish = find_op_spec("HardSwish");
  EXPECT_EQ(hswish->output_range(sig_of(DType::kFloat, {2}, {-4, 4})), (Interval{-0.375, 4}));
  const OpSpec* cosine = find_op_spec("Cos");
  EXPECT_EQ(cosine->output_range(sig_of(DType::kFloat, {2}, {-1, 1})).hi, 1.0);
  EXPECT_NEAR(cosine->output_range(sig_of(DType::kFloat, {2}, {-1, 1})).lo, std::cos(1.0), 1e-12);
  const OpSpec* sine = find_op_spec("Sin");
  EXPECT_EQ(sine->output_range(sig_of(DType::kFloat, {2}, {-4, 4})), (Interval{-1, 1}));
  const OpSpec* shrink = find_op_spec("Shrink");
  const Interval shrunk = shrink->output_range(sig_of(
      DType::kFloat, {2}, {-3, 0.5}, {Attr::of_float("lambd", 1.0f), Attr::of_float("bias", 0.5f)}));
  EXPECT_NEAR(shrunk.lo, -2.5, 1e-5);
  EXPECT_EQ(shrunk.hi, 0);
  // Step functions take their input range widened by a few roundings: a float16 value just
  // below -1 (an Erf rounded to -1) must still be inside Ceil's range.
  const OpSpec* ceil = find_op_spec("Ceil");
  EXPECT_EQ(ceil->output_range(sig_of(DType::kFloat16, {2}, {-0.99999998, 0.5})), (Interval{-1, 1}));
  EXPECT_EQ(ceil->output_range(sig_of(DType::kInt32, {2}, {-1, 2})), (Interval{-1, 2}));
  // Integer-capable ops take every integer type their schema lists.
  // Erf is generated on floats only (onnx/onnx#7175), though the kernel runs integers.
  EXPECT_FALSE(find_op_spec("Erf")->allows_dtype(DType::kUint64));
  EXPECT_TRUE(find_op_spec("Erf")->allows_dtype(DType::kBfloat16));
  EXPECT_TRUE(find_op_spec("Sign")->allows_dtype(DType::kInt8));
  EXPECT_TRUE(find_op_spec("PRelu")->allows_dtype(DType::kInt32));
  EXPECT_TRUE(find_op_spec("Not")->allows_dtype(DType::kBool));
  const OpSpec* prelu = find_op_spec("PRelu");
  NodeSig sig = sig_of(DType::kFloat, {2, 3, 4}, {-1, 1});
  NodeInput slope;
  slope.shape = {3, 1};
  slope.range = {-2, 2};
  sig.inputs.push_back(slope);
  EXPECT_EQ(prelu->output_shape(sig).value(), (Shape{2, 3, 4}));
  EXPECT_EQ(prelu->output_range(sig), (Interval{-2, 2}));
  sig.inputs[1].shape = {2, 2, 3, 4};
  EXPECT_FALSE(prelu->output_shape(sig).has_value());
}


// Models made of this family only (with Add, Mul and Clip around it), edge instances often:
// every model validates, the reference runs it to finite values, and each family node's shape,
// dtype and range rules hold on the values the reference computed (a family node's input range
// is its producer's rule range when the producer is in the family, else the actual values).
TEST(Activation, FamilyModelsValidateRunFiniteAndKeepTheirRules) {
  GenPolicy policy;
  policy.only_ops = {"Erf",   "LeakyRelu", "Elu",        "Selu",  "Celu",    "HardSigmoid",
                     "HardSwish", "PRelu", "Softplus",   "Softsign", "ThresholdedRelu",
                     "Shrink", "Floor",    "Ceil",       "Round", "Sign",    "Reciprocal",
                     "Sin",   "Cos",       "Tan",        "Asin",  "Acos",    "Atan",
                     "Sinh",  "Cosh",      "Asinh",      "Acosh", "Atanh",   "IsNaN",
                     "IsInf", "Not",       "Add",        "Mul",   "Clip"};
  policy.max_nodes = 12;
  policy.prob_edge = 0.4;
  policy.patterns = false;
  std::map<std::string, int> seen;
  for (uint64_t seed = 0; seed < 600; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    auto generated = generate_model(policy, seed);
    ASSERT_TRUE(generated.has_value()) << generated.error();
    auto validated = validate_model(generated->model);
    ASSERT_TRUE(validated.has_value()) << validated.error();
    TensorMap values;
    const RunResult result = run_reference(generated->model, generated->inputs, &values);
    ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
    for (const auto& [name, t] : result.outputs) {
      for (int64_t i = 0; i < t.numel(); ++i) {
        ASSERT_TRUE(std::isfinite(t.as_double(i))) << name << " holds " << t.as_double(i);
      }
    }
    std::map<std::string, Interval> ranges;
    for (const auto& node : generated->model.graph().node()) {
      ++seen[node.op_type()];
      const OpSpec* spec = find_op_spec(node.op_type());
      ASSERT_NE(spec, nullptr) << node.op_type();
      NodeSig sig;
      sig.attrs = attrs_of_node(node);
      for (int i = 0; i < node.input_size(); ++i) {
        NodeInput in;
        if (node.input(i).empty()) {
          in.present = false;
        } else if (auto it = ranges.find(node.input(i)); it != ranges.end()) {
          const Tensor& t = values.at(node.input(i));
          in.dtype = t.dtype;
          in.shape = t.shape;
          in.range = it->second;
        } else {
          const Tensor& t = values.at(node.input(i));
          in.dtype = t.dtype;
          in.shape = t.shape;
          in.range = {kInf, -kInf};
          for (int64_t k = 0; k < t.numel(); ++k) in.range = in.range.hull(Interval::point(t.as_double(k)));
        }
        sig.inputs.push_back(std::move(in));
      }
      // Add, Mul and Clip only connect the family here; their rules are another suite's.
      if (std::string_view op = node.op_type(); op == "Add" || op == "Mul" || op == "Clip") continue;
      const Tensor& out = values.at(node.output(0));
      auto shape = spec->output_shape(sig);
      ASSERT_TRUE(shape.has_value()) << node.name() << ": " << shape.error();
      EXPECT_EQ(*shape, out.shape) << node.name();
      EXPECT_EQ(spec->dtype_rule(*spec, sig), out.dtype) << node.name();
      Interval range = spec->output_range(sig);
      const DTypeInfo& info = dtype_info(out.dtype);
      if (!is_float(out.dtype) && !dtype_holds(out.dtype, range.lo, range.hi))
        range = {info.lowest, info.highest};
      const double slack = std::max(1e-4, info.rtol) * std::max(1.0, range.magnitude());
      for (int64_t i = 0; i < out.numel(); ++i) {
        ASSERT_GE(out.as_double(i), range.lo - slack) << node.name();
        ASSERT_LE(out.as_double(i), range.hi + slack) << node.name();
      }
      ranges[node.output(0)] = range;
    }
  }
  for (const auto& op : policy.only_ops) EXPECT_GT(seen[op], 0) << op << " never generated";
}

}  // namespace
}  // namespace onnxfuzz
