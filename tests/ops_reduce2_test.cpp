// Semantics of ReduceMin/Prod/L1/L2/LogSum/LogSumExp/SumSquare, ArgMax/ArgMin, TopK, CumSum and
// the ReduceSum edge forms on inline text-format models; and what their registrations draw.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/defs/schema.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
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

// Runs an opset-17 graph (the text after the model header) that must succeed.
RunResult run_ok(const std::string& graph, const TensorMap& inputs) {
  auto model = parse_model_text("<ir_version: 8, opset_import: [\"\" : 17]>\n" + graph);
  EXPECT_TRUE(model.has_value()) << (model ? "" : model.error());
  if (!model) return {};
  RunResult r = run_reference(*model, inputs);
  EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
  return r;
}

// The element-wise expectation for one output: shape, dtype and values.
void expect_tensor(const RunResult& r, const std::string& name, DType dtype, const Shape& shape,
                   const std::vector<double>& values) {
  SCOPED_TRACE(name);
  ASSERT_TRUE(r.outputs.contains(name));
  const Tensor& t = r.outputs.at(name);
  EXPECT_EQ(t.dtype, dtype);
  EXPECT_EQ(t.shape, shape);
  const std::vector<double> got = doubles_of(t);
  ASSERT_EQ(got.size(), values.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(values[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << i;
    } else {
      EXPECT_NEAR(got[i], values[i], 1e-5 * std::max(1.0, std::abs(values[i]))) << i;
    }
  }
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- reductions over axes ----

TEST(Reduce2, MinOverAxesNegativeAxesAndAll) {
  TensorMap in;
  in["x"] = tensor_of(DType::kFloat, {2, 3}, {3, -1, 2, 0.5, 7, -4});
  const RunResult r = run_ok(R"(
    g (float[2,3] x) => (float[2] rows, float[1,3] cols, float[1,1] all) {
      rows = ReduceMin <axes: ints = [-1], keepdims: int = 0> (x)
      cols = ReduceMin <axes: ints = [0]> (x)
      all = ReduceMin (x)
    }
  )",
                             in);
  expect_tensor(r, "rows", DType::kFloat, {2}, {-1, -4});
  expect_tensor(r, "cols", DType::kFloat, {1, 3}, {0.5, -1, -4});
  expect_tensor(r, "all", DType::kFloat, {1, 1}, {-4});
}

TEST(Reduce2, MinKeepsIntegerExtremesAndNaN) {
  TensorMap in;
  in["a"] = tensor_of(DType::kInt8, {4}, {5, -128, 127, 0});
  in["b"] = tensor_of(DType::kUint8, {3}, {255, 9, 200});
  in["c"] = tensor_of(DType::kDouble, {3}, {1, kNaN, -2});
  const RunResult r = run_ok(R"(
    g (int8[4] a, uint8[3] b, double[3] c) => (int8[1] ma, uint8[1] mb, double[1] mc) {
      ma = ReduceMin (a)
      mb = ReduceMin (b)
      mc = ReduceMin (c)
    }
  )",
                             in);
  expect_tensor(r, "ma", DType::kInt8, {1}, {-128});
  expect_tensor(r, "mb", DType::kUint8, {1}, {9});
  expect_tensor(r, "mc", DType::kDouble, {1}, {kNaN});
}

TEST(Reduce2, ProdWrapsIntegersAndIsOneOverAnEmptySet) {
  TensorMap in;
  in["x"] = tensor_of(DType::kFloat, {2, 2}, {1.5, -2, 0.5, 4});
  in["i"] = tensor_of(DType::kInt32, {2}, {65536, 65537});
  in["e"] = Tensor::zeros(DType::kFloat, {0, 3});
  const RunResult r = run_ok(R"(
    g (float[2,2] x, int32[2] i, float[0,3] e) => (float[2] p, int32[1] pi, float[3] pe) {
      p = ReduceProd <axes: ints = [1], keepdims: int = 0> (x)
      pi = ReduceProd (i)
      pe = ReduceProd <axes: ints = [0], keepdims: int = 0> (e)
    }
  )",
                             in);
  expect_tensor(r, "p", DType::kFloat, {2}, {-3, 2});
  // 65536 * 65537 = 2^32 + 2^16, which wraps to 65536 in int32.
  expect_tensor(r, "pi", DType::kInt32, {1}, {65536});
  expect_tensor(r, "pe", DType::kFloat, {3}, {1, 1, 1});
}

TEST(Reduce2, L1L2AndSumSquareOnFloatsIntegersAndEmptySets) {
  TensorMap in;
  in["x"] = tensor_of(DType::kFloat, {2, 2}, {3, -4, -6, 8});
  in["i"] = tensor_of(DType::kInt64, {2, 2}, {3, -4, 1, 1});
  in["u"] = tensor_of(DType::kUint32, {2}, {3, 4});
  in["e"] = Tensor::zeros(DType::kDouble, {2, 0});
  const RunResult r = run_ok(R"(
    g (float[2,2] x, int64[2,2] i, uint32[2] u, double[2,0] e)
      => (float[2,1] l1, float[2,1] l2, float[2,1] ss, int64[2] il2, int64[2] il1, uint32[1] ul2,
          double[2] el1, double[2] el2, double[2] ess) {
      l1 = ReduceL1 <axes: ints = [1]> (x)
      l2 = ReduceL2 <axes: ints = [-1]> (x)
      ss = ReduceSumSquare <axes: ints = [1]> (x)
      il2 = ReduceL2 <axes: ints = [1], keepdims: int = 0> (i)
      il1 = ReduceL1 <axes: ints = [1], keepdims: int = 0> (i)
      ul2 = ReduceL2 (u)
      el1 = ReduceL1 <axes: ints = [1], keepdims: int = 0> (e)
      el2 = ReduceL2 <axes: ints = [1], keepdims: int = 0> (e)
      ess = ReduceSumSquare <axes: ints = [1], keepdims: int = 0> (e)
    }
  )",
                             in);
  expect_tensor(r, "l1", DType::kFloat, {2, 1}, {7, 14});
  expect_tensor(r, "l2", DType::kFloat, {2, 1}, {5, 10});
  expect_tensor(r, "ss", DType::kFloat, {2, 1}, {25, 100});
  // An integer L2 is the root computed in floating point, truncated: sqrt(2) -> 1.
  expect_tensor(r, "il2", DType::kInt64, {2}, {5, 1});
  expect_tensor(r, "il1", DType::kInt64, {2}, {7, 2});
  expect_tensor(r, "ul2", DType::kUint32, {1}, {5});
  expect_tensor(r, "el1", DType::kDouble, {2}, {0, 0});
  expect_tensor(r, "el2", DType::kDouble, {2}, {0, 0});
  expect_tensor(r, "ess", DType::kDouble, {2}, {0, 0});
}

TEST(Reduce2, L1AndSumSquareWrapIntegers) {
  TensorMap in;
  in["i"] = tensor_of(DType::kInt32, {2}, {-2147483648.0, 1});
  in["s"] = tensor_of(DType::kInt32, {1}, {65536});
  const RunResult r = run_ok(R"(
    g (int32[2] i, int32[1] s) => (int32[1] l1, int32[1] ss) {
      l1 = ReduceL1 (i)
      ss = ReduceSumSquare (s)
    }
  )",
                             in);
  // |INT32_MIN| wraps to INT32_MIN; 65536^2 = 2^32 wraps to 0.
  expect_tensor(r, "l1", DType::kInt32, {1}, {-2147483647.0});
  expect_tensor(r, "ss", DType::kInt32, {1}, {0});
}

TEST(Reduce2, LogSumAndLogSumExpAreStableAndTruncateIntegers) {
  TensorMap in;
  in["x"] = tensor_of(DType::kFloat, {2, 2}, {1, 2, 1000, 1000});
  in["i"] = tensor_of(DType::kInt32, {3}, {1, 1, 1});
  in["n"] = tensor_of(DType::kInt64, {3}, {-5, -5, -5});
  in["h"] = tensor_of(DType::kFloat16, {2}, {0.5, 0.25});
  const RunResult r = run_ok(R"(
    g (float[2,2] x, int32[3] i, int64[3] n, float16[2] h)
      => (float[2] ls, float[2] lse, int32[1] ils, int64[1] ilse, float16[1] hls) {
      ls = ReduceLogSum <axes: ints = [1], keepdims: int = 0> (x)
      lse = ReduceLogSumExp <axes: ints = [-1], keepdims: int = 0> (x)
      ils = ReduceLogSum (i)
      ilse = ReduceLogSumExp (n)
      hls = ReduceLogSum (h)
    }
  )",
                             in);
  expect_tensor(r, "ls", DType::kFloat, {2}, {std::log(3.0), std::log(2000.0)});
  expect_tensor(r, "lse", DType::kFloat, {2},
                {2 + std::log(1 + std::exp(-1.0)), 1000 + std::log(2.0)});
  // log(3) = 1.1 truncates to 1; -5 + log(3) = -3.9 truncates toward zero, to -3.
  expect_tensor(r, "ils", DType::kInt32, {1}, {1});
  expect_tensor(r, "ilse", DType::kInt64, {1}, {-3});
  // float16: computed in float32, rounded once: log(0.75) = -0.28768 -> -0.2876.
  expect_tensor(r, "hls", DType::kFloat16, {1},
                {static_cast<double>(half_to_float(float_to_half(std::log(0.75f))))});
}

TEST(Reduce2, ReduceSumNoopWithEmptyAxesAndEmptySets) {
  TensorMap in;
  in["x"] = tensor_of(DType::kFloat, {2, 2}, {1, 2, 3, 4});
  in["e"] = Tensor::zeros(DType::kInt32, {3, 0});
  const RunResult r = run_ok(R"(
    g (float[2,2] x, int32[3,0] e) => (float[2,2] same, float[2,2] same2, float[1,1] all,
                                       float[2] rows, int32[3] zero) <int64[0] none = {}, int64[1] one = {1}> {
      same = ReduceSum <noop_with_empty_axes: int = 1> (x)
      same2 = ReduceSum <noop_with_empty_axes: int = 1> (x, none)
      all = ReduceSum (x, none)
      rows = ReduceSum <noop_with_empty_axes: int = 1, keepdims: int = 0> (x, one)
      zero = ReduceSum <keepdims: int = 0> (e, one)
    }
  )",
                             in);
  expect_tensor(r, "same", DType::kFloat, {2, 2}, {1, 2, 3, 4});
  expect_tensor(r, "same2", DType::kFloat, {2, 2}, {1, 2, 3, 4});
  expect_tensor(r, "all", DType::kFloat, {1, 1}, {10});
  expect_tensor(r, "rows", DType::kFloat, {2}, {3, 7});
  expect_tensor(r, "zero", DType::kInt32, {3}, {0, 0, 0});
}

// ---- ArgMax, ArgMin ----

TEST(Reduce2, ArgMaxArgMinAxesKeepdimsAndTies) {
  TensorMap in;
  in["x"] = tensor_of(DType::kFloat, {2, 3}, {1, 5, 2, 9, -1, 9});
  in["t"] = tensor_of(DType::kInt32, {4}, {3, 7, 7, 1});
  in["u"] = tensor_of(DType::kUint8, {2, 2}, {255, 0, 0, 255});
  const RunResult r = run_ok(R"(
    g (float[2,3] x, int32[4] t, uint8[2,2] u)
      => (int64[2] amax, int64[2,1] amin, int64[1,3] amax0, int64[1] first, int64[1] last,
          int64[1] minlast, int64[2] uargmin) {
      amax = ArgMax <axis: int = -1, keepdims: int = 0> (x)
      amin = ArgMin <axis: int = 1> (x)
      amax0 = ArgMax (x)
      first = ArgMax (t)
      last = ArgMax <select_last_index: int = 1> (t)
      minlast = ArgMin <select_last_index: int = 1> (t)
      uargmin = ArgMin <axis: int = 0, keepdims: int = 0> (u)
    }
  )",
                             in);
  expect_tensor(r, "amax", DType::kInt64, {2}, {1, 0});
  expect_tensor(r, "amin", DType::kInt64, {2, 1}, {0, 1});
  expect_tensor(r, "amax0", DType::kInt64, {1, 3}, {1, 0, 1});
  expect_tensor(r, "first", DType::kInt64, {1}, {1});
  expect_tensor(r, "last", DType::kInt64, {1}, {2});
  expect_tensor(r, "minlast", DType::kInt64, {1}, {3});
  expect_tensor(r, "uargmin", DType::kInt64, {2}, {1, 0});
}

TEST(Reduce2, ArgMaxOnHalfAndEmptyNonReducedDims) {
  TensorMap in;
  in["h"] = tensor_of(DType::kBfloat16, {3}, {0.5, -2, 1.5});
  in["e"] = Tensor::zeros(DType::kFloat, {0, 4});
  const RunResult r = run_ok(R"(
    g (bfloat16[3] h, float[0,4] e) => (int64[1] hm, int64[0] em) {
      hm = ArgMin (h)
      em = ArgMax <axis: int = 1, keepdims: int = 0> (e)
    }
  )",
                             in);
  expect_tensor(r, "hm", DType::kInt64, {1}, {1});
  expect_tensor(r, "em", DType::kInt64, {0}, {});
}

// ---- TopK ----

TEST(Reduce2, TopKLargestSmallestAxesAndTies) {
  TensorMap in;
  in["x"] = tensor_of(DType::kFloat, {2, 4}, {1, 4, 2, 3, 8, 5, 7, 6});
  in["t"] = tensor_of(DType::kInt64, {5}, {2, 9, 2, 9, 1});
  const RunResult r = run_ok(R"(
    g (float[2,4] x, int64[5] t)
      => (float[2,2] v, int64[2,2] i, float[2,2] sv, int64[2,2] si, float[1,4] cv, int64[1,4] ci,
          int64[3] tv, int64[3] ti, int64[2] lv, int64[2] li)
      <int64[1] two = {2}, int64[1] one = {1}, int64[1] three = {3}> {
      v, i = TopK (x, two)
      sv, si = TopK <largest: int = 0, axis: int = 1> (x, two)
      cv, ci = TopK <axis: int = -2> (x, one)
      tv, ti = TopK (t, three)
      lv, li = TopK <largest: int = 0> (t, two)
    }
  )",
                             in);
  expect_tensor(r, "v", DType::kFloat, {2, 2}, {4, 3, 8, 7});
  expect_tensor(r, "i", DType::kInt64, {2, 2}, {1, 3, 0, 2});
  expect_tensor(r, "sv", DType::kFloat, {2, 2}, {1, 2, 5, 6});
  expect_tensor(r, "si", DType::kInt64, {2, 2}, {0, 2, 1, 3});
  expect_tensor(r, "cv", DType::kFloat, {1, 4}, {8, 5, 7, 6});
  expect_tensor(r, "ci", DType::kInt64, {1, 4}, {1, 1, 1, 1});
  // Equal values come in index order, for the largest and the smallest alike.
  expect_tensor(r, "tv", DType::kInt64, {3}, {9, 9, 2});
  expect_tensor(r, "ti", DType::kInt64, {3}, {1, 3, 0});
  expect_tensor(r, "lv", DType::kInt64, {2}, {1, 2});
  expect_tensor(r, "li", DType::kInt64, {2}, {4, 0});
}

TEST(Reduce2, TopKEdgeKAndDtypes) {
  TensorMap in;
  in["x"] = tensor_of(DType::kFloat16, {3}, {0.5, -1, 2});
  in["u"] = tensor_of(DType::kUint8, {3}, {7, 255, 0});
  in["e"] = Tensor::zeros(DType::kDouble, {2, 0});
  const RunResult r = run_ok(R"(
    g (float16[3] x, uint8[3] u, double[2,0] e)
      => (float16[0] zv, int64[0] zi, float16[3] av, int64[3] ai, uint8[1] uv, int64[1] ui,
          double[2,0] ev, int64[2,0] ei)
      <int64[1] zero = {0}, int64[1] three = {3}, int64[1] one = {1}> {
      zv, zi = TopK (x, zero)
      av, ai = TopK <largest: int = 0> (x, three)
      uv, ui = TopK <sorted: int = 0> (u, one)
      ev, ei = TopK <axis: int = 1> (e, zero)
    }
  )",
                             in);
  expect_tensor(r, "zv", DType::kFloat16, {0}, {});
  expect_tensor(r, "zi", DType::kInt64, {0}, {});
  expect_tensor(r, "av", DType::kFloat16, {3}, {-1, 0.5, 2});
  expect_tensor(r, "ai", DType::kInt64, {3}, {1, 0, 2});
  expect_tensor(r, "uv", DType::kUint8, {1}, {255});
  expect_tensor(r, "ui", DType::kInt64, {1}, {1});
  expect_tensor(r, "ev", DType::kDouble, {2, 0}, {});
  expect_tensor(r, "ei", DType::kInt64, {2, 0}, {});
}

TEST(Reduce2, TopKRejectsKBeyondTheAxis) {
  auto model = parse_model_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[4] v, int64[4] i) <int64[1] k = {4}> {
      v, i = TopK (x, k)
    }
  )");
  ASSERT_TRUE(model.has_value()) << model.error();
  TensorMap in;
  in["x"] = tensor_of(DType::kFloat, {3}, {1, 2, 3});
  const RunResult r = run_reference(*model, in);
  EXPECT_EQ(r.status, RunStatus::kError);
  EXPECT_NE(r.message.find("K = 4"), std::string::npos) << r.message;
}

// ---- CumSum ----

TEST(Reduce2, CumSumExclusiveReverseAndAxes) {
  TensorMap in;
  in["x"] = tensor_of(DType::kDouble, {4}, {1, 2, 3, 4});
  in["m"] = tensor_of(DType::kFloat, {2, 3}, {1, 2, 3, 4, 5, 6});
  in["w"] = tensor_of(DType::kUint32, {2}, {4294967295.0, 2});
  const RunResult r = run_ok(R"(
    g (double[4] x, float[2,3] m, uint32[2] w)
      => (double[4] inc, double[4] exc, double[4] rev, double[4] both, float[2,3] rows,
          float[2,3] cols, uint32[2] wrap)
      <int64 a0 = {0}, int32 a_neg = {-1}, int32 a0i = {0}> {
      inc = CumSum (x, a0)
      exc = CumSum <exclusive: int = 1> (x, a0)
      rev = CumSum <reverse: int = 1> (x, a0)
      both = CumSum <exclusive: int = 1, reverse: int = 1> (x, a0)
      rows = CumSum (m, a_neg)
      cols = CumSum (m, a0i)
      wrap = CumSum (w, a0)
    }
  )",
                             in);
  expect_tensor(r, "inc", DType::kDouble, {4}, {1, 3, 6, 10});
  expect_tensor(r, "exc", DType::kDouble, {4}, {0, 1, 3, 6});
  expect_tensor(r, "rev", DType::kDouble, {4}, {10, 9, 7, 4});
  expect_tensor(r, "both", DType::kDouble, {4}, {9, 7, 4, 0});
  expect_tensor(r, "rows", DType::kFloat, {2, 3}, {1, 3, 6, 4, 9, 15});
  expect_tensor(r, "cols", DType::kFloat, {2, 3}, {1, 2, 3, 5, 7, 9});
  expect_tensor(r, "wrap", DType::kUint32, {2}, {4294967295.0, 1});
}

TEST(Reduce2, CumSumOfHalfAndEmpty) {
  TensorMap in;
  in["h"] = tensor_of(DType::kBfloat16, {3}, {1, 0.5, 0.25});
  in["e"] = Tensor::zeros(DType::kInt64, {0, 2});
  const RunResult r = run_ok(R"(
    g (bfloat16[3] h, int64[0,2] e) => (bfloat16[3] hs, int64[0,2] es) <int64 a = {0}> {
      hs = CumSum (h, a)
      es = CumSum (e, a)
    }
  )",
                             in);
  expect_tensor(r, "hs", DType::kBfloat16, {3}, {1, 1.5, 1.75});
  expect_tensor(r, "es", DType::kInt64, {0, 2}, {});
}

// ---- every dtype of every op's schema ----

TEST(Reduce2, EveryOpRunsEveryDtypeItsSchemaAllows) {
  struct Case {
    const char* op;
    const char* node;  // uses x: T[2,2]; outputs y (T or int64) and maybe z
    bool index_output;
  };
  const std::vector<Case> cases = {
      {"ReduceMin", "y = ReduceMin(x)", false},
      {"ReduceProd", "y = ReduceProd(x)", false},
      {"ReduceL1", "y = ReduceL1(x)", false},
      {"ReduceL2", "y = ReduceL2(x)", false},
      {"ReduceLogSum", "y = ReduceLogSum(x)", false},
      {"ReduceLogSumExp", "y = ReduceLogSumExp(x)", false},
      {"ReduceSumSquare", "y = ReduceSumSquare(x)", false},
      {"ArgMax", "y = ArgMax(x)", true},
      {"ArgMin", "y = ArgMin(x)", true},
      {"TopK", "z, y = TopK(x, k)", true},
      {"CumSum", "y = CumSum(x, axis)", false},
  };
  for (const Case& c : cases) {
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
      if (!dtype) continue;
      const std::string name(dtype_info(*dtype).onnx_type.substr(7));
      const std::string text_type = name.substr(0, name.size() - 1);
      SCOPED_TRACE(std::string(c.op) + " on " + text_type);
      const std::string text = fmt::format(R"(
        g ({0}[2,2] x) => ({1} y) <int64[1] k = {{1}}, int64 axis = {{1}}> {{
          {2}
        }}
      )",
                                           text_type, c.index_output ? "int64" : text_type,
                                           c.node);
      TensorMap in;
      in["x"] = tensor_of(*dtype, {2, 2}, {1, 2, 3, 1});
      const RunResult r = run_ok(text, in);
      ASSERT_TRUE(r.outputs.contains("y"));
      EXPECT_EQ(r.outputs.at("y").dtype, c.index_output ? DType::kInt64 : *dtype);
    }
  }
}

// ---- registrations ----

// Over many seeds, each op of the family is drawn with every value of each attribute it
// explores, with and without the attribute, and (where it allows them) with empty inputs.
TEST(Reduce2, RegistrationsDrawEveryAttributeValueAndEmptyInputs) {
  struct Case {
    const char* op;
    std::vector<std::pair<std::string, int64_t>> wanted;  // (attribute, value) pairs
  };
  const std::vector<Case> cases = {
      {"ReduceMin", {{"keepdims", 0}, {"keepdims", 1}}},
      {"ReduceProd", {{"keepdims", 0}, {"keepdims", 1}}},
      {"ReduceLogSumExp", {{"keepdims", 0}, {"keepdims", 1}}},
      {"ReduceSum", {{"noop_with_empty_axes", 0}, {"noop_with_empty_axes", 1}}},
      {"ArgMax", {{"select_last_index", 0}, {"select_last_index", 1}, {"keepdims", 0}}},
      {"ArgMin", {{"select_last_index", 1}, {"keepdims", 1}}},
      {"TopK", {{"largest", 0}, {"largest", 1}, {"sorted", 0}, {"sorted", 1}}},
      {"CumSum", {{"exclusive", 0}, {"exclusive", 1}, {"reverse", 0}, {"reverse", 1}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    GenPolicy policy;
    policy.only_ops = {c.op, "Clip"};
    policy.max_nodes = 4;
    std::set<std::pair<std::string, int64_t>> seen;
    bool negative_axis = false, empty_input = false;
    for (uint64_t seed = 0; seed < 600; ++seed) {
      auto g = generate_model(policy, seed);
      ASSERT_TRUE(g.has_value()) << g.error();
      auto inferred = validate_model(g->model);
      ASSERT_TRUE(inferred.has_value()) << inferred.error();
      std::map<std::string, Shape> shapes;
      for (const auto& list : {&inferred->graph().input(), &inferred->graph().value_info()}) {
        for (const auto& info : *list) {
          if (auto t = value_type_of(info)) shapes[info.name()] = t->shape;
        }
      }
      for (const auto& node : g->model.graph().node()) {
        if (node.op_type() != c.op) continue;
        for (const auto& a : node.attribute()) {
          if (a.type() == onnx::AttributeProto::INT) seen.insert({a.name(), a.i()});
          if (a.name() == "axis" && a.i() < 0) negative_axis = true;
          for (int64_t v : a.ints()) negative_axis = negative_axis || v < 0;
        }
        if (auto it = shapes.find(node.input(0)); it != shapes.end())
          empty_input = empty_input || shape_numel(it->second) == 0;
      }
    }
    for (const auto& w : c.wanted) {
      EXPECT_TRUE(seen.contains(w)) << w.first << " = " << w.second << " never drawn";
    }
    if (std::string(c.op) != "CumSum" && std::string(c.op) != "ReduceSum")
      EXPECT_TRUE(negative_axis) << "no negative axis drawn";
    EXPECT_TRUE(empty_input) << "no empty input drawn";
  }
}

}  // namespace
}  // namespace onnxfuzz
