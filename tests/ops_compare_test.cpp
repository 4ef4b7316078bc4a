// Comparison, logical, Mod, BitShift, variadic and cast ops: reference semantics on inline
// text-format models, and what the generator draws for them.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/defs/printer.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
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

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// A tensor of any dtype from values it holds (set_double rounds as the dtype table does).
// Element-wise equality where NaN equals NaN.
void expect_values(const Tensor& t, const std::vector<double>& expected) {
  const std::vector<double> got = doubles_of(t);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "element " << i << " is " << got[i];
    } else {
      EXPECT_EQ(got[i], expected[i]) << "element " << i;
    }
  }
}

// Runs `y = op(a, b)` (attributes in `attrs`, e.g. "<fmod: int = 1>") on two tensors.
Tensor run_binary(const std::string& op, const std::string& attrs, const Tensor& a,
                  const Tensor& b, DType out, const Shape& out_shape) {
  auto dims = [](const Shape& s) {
    std::string d;
    for (int64_t x : s) d += (d.empty() ? "" : ",") + std::to_string(x);
    return d;
  };
  const std::string text = fmt::format(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g ({}[{}] a, {}[{}] b) => ({}[{}] y) {{
      y = {} {} (a, b)
    }}
  )",
                                       text_type(a.dtype), dims(a.shape), text_type(b.dtype),
                                       dims(b.shape), text_type(out), dims(out_shape), op, attrs);
  RunResult r = run_ok(text, {{"a", a}, {"b", b}});
  if (r.status != RunStatus::kOk) return Tensor{};
  EXPECT_EQ(r.outputs.at("y").dtype, out);
  EXPECT_EQ(r.outputs.at("y").shape, out_shape);
  return r.outputs.at("y");
}

// Runs `y = Cast<to>(x)` on a 1-D tensor.
Tensor run_cast(const Tensor& x, DType to) {
  const std::string text = fmt::format(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g ({}[{}] x) => ({}[{}] y) {{
      y = Cast <to: int = {}> (x)
    }}
  )",
                                       text_type(x.dtype), x.numel(), text_type(to), x.numel(),
                                       static_cast<int>(to));
  RunResult r = run_ok(text, {{"x", x}});
  if (r.status != RunStatus::kOk) return Tensor{};
  EXPECT_EQ(r.outputs.at("y").dtype, to);
  return r.outputs.at("y");
}

// ---- comparisons ----

TEST(CompareOps, ComparisonsBroadcastInEveryNumericDtype) {
  for (DType d : {DType::kFloat, DType::kDouble, DType::kFloat16, DType::kBfloat16, DType::kInt8,
                  DType::kUint8, DType::kInt16, DType::kUint16, DType::kInt32, DType::kUint32,
                  DType::kInt64, DType::kUint64}) {
    SCOPED_TRACE(dtype_name(d));
    const Tensor a = tensor_of(d, {2, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor b = tensor_of(d, {3}, {2, 2, 5});
    expect_values(run_binary("Equal", "", a, b, DType::kBool, {2, 3}), {0, 1, 0, 0, 0, 0});
    expect_values(run_binary("Less", "", a, b, DType::kBool, {2, 3}), {1, 0, 1, 0, 0, 0});
    expect_values(run_binary("Greater", "", a, b, DType::kBool, {2, 3}), {0, 0, 0, 1, 1, 1});
    expect_values(run_binary("LessOrEqual", "", a, b, DType::kBool, {2, 3}), {1, 1, 1, 0, 0, 0});
    expect_values(run_binary("GreaterOrEqual", "", a, b, DType::kBool, {2, 3}),
                  {0, 1, 0, 1, 1, 1});
  }
}

TEST(CompareOps, ComparisonsOfNaNAndSignedZerosAndIntegerExtremes) {
  const Tensor a = tensor_of(DType::kFloat, {4}, {kNaN, 0.0, -0.0, 1});
  const Tensor b = tensor_of(DType::kFloat, {4}, {kNaN, -0.0, 0.0, kNaN});
  expect_values(run_binary("Equal", "", a, b, DType::kBool, {4}), {0, 1, 1, 0});
  expect_values(run_binary("Less", "", a, b, DType::kBool, {4}), {0, 0, 0, 0});
  expect_values(run_binary("GreaterOrEqual", "", a, b, DType::kBool, {4}), {0, 1, 1, 0});
  // int64 extremes differ by one in the last bit: a double comparison would call them equal.
  Tensor x = Tensor::zeros(DType::kInt64, {2});
  Tensor y = Tensor::zeros(DType::kInt64, {2});
  x.values<int64_t>()[0] = std::numeric_limits<int64_t>::max();
  y.values<int64_t>()[0] = std::numeric_limits<int64_t>::max() - 1;
  x.values<int64_t>()[1] = std::numeric_limits<int64_t>::min();
  y.values<int64_t>()[1] = std::numeric_limits<int64_t>::min() + 1;
  expect_values(run_binary("Equal", "", x, y, DType::kBool, {2}), {0, 0});
  expect_values(run_binary("Greater", "", x, y, DType::kBool, {2}), {1, 0});
}

TEST(CompareOps, EqualTakesBoolsAndEmptyTensors) {
  const Tensor a = tensor_of(DType::kBool, {4}, {0, 0, 1, 1});
  const Tensor b = tensor_of(DType::kBool, {4}, {0, 1, 0, 1});
  expect_values(run_binary("Equal", "", a, b, DType::kBool, {4}), {1, 0, 0, 1});
  const Tensor e = tensor_of(DType::kInt32, {0, 3}, {});
  const Tensor s = tensor_of(DType::kInt32, {}, {7});
  expect_values(run_binary("Less", "", e, s, DType::kBool, {0, 3}), {});
}

// ---- logical ----

TEST(CompareOps, LogicalOpsTruthTablesWithBroadcast) {
  const Tensor a = tensor_of(DType::kBool, {2, 1}, {0, 1});
  const Tensor b = tensor_of(DType::kBool, {2}, {0, 1});
  expect_values(run_binary("And", "", a, b, DType::kBool, {2, 2}), {0, 0, 0, 1});
  expect_values(run_binary("Or", "", a, b, DType::kBool, {2, 2}), {0, 1, 1, 1});
  expect_values(run_binary("Xor", "", a, b, DType::kBool, {2, 2}), {0, 1, 1, 0});
  const Tensor scalar = tensor_of(DType::kBool, {}, {1});
  const Tensor empty = tensor_of(DType::kBool, {3, 0}, {});
  expect_values(run_binary("Xor", "", empty, scalar, DType::kBool, {3, 0}), {});
}

TEST(CompareOps, ComparisonsFeedLogicalOpsAndWhere) {
  const RunResult r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] y, bool[4] inside)
    <float lo = {-1.0}, float hi = {1.0}, float zero = {0.0}> {
      above = Greater(x, lo)
      below = Less(x, hi)
      inside = And(above, below)
      y = Where(inside, x, zero)
    }
  )",
                             {{"x", tensor_of(DType::kFloat, {4}, {-2, -0.5, 0.5, 3})}});
  expect_values(r.outputs.at("inside"), {0, 1, 1, 0});
  expect_values(r.outputs.at("y"), {0, -0.5, 0.5, 0});
}

// ---- Mod ----

TEST(CompareOps, ModIntegerSignRules) {
  for (DType d : {DType::kInt8, DType::kInt16, DType::kInt32, DType::kInt64}) {
    SCOPED_TRACE(dtype_name(d));
    const Tensor a = tensor_of(d, {6}, {7, -7, 7, -7, 6, 0});
    const Tensor b = tensor_of(d, {6}, {3, 3, -3, -3, 3, -5});
    // Python: the sign of the divisor.
    expect_values(run_binary("Mod", "", a, b, d, {6}), {1, 2, -2, -1, 0, 0});
    expect_values(run_binary("Mod", "<fmod: int = 0>", a, b, d, {6}), {1, 2, -2, -1, 0, 0});
    // C fmod: the sign of the dividend.
    expect_values(run_binary("Mod", "<fmod: int = 1>", a, b, d, {6}), {1, -1, 1, -1, 0, 0});
  }
  for (DType d : {DType::kUint8, DType::kUint16, DType::kUint32, DType::kUint64}) {
    SCOPED_TRACE(dtype_name(d));
    const Tensor a = tensor_of(d, {3}, {7, 200, 5});
    const Tensor b = tensor_of(d, {3}, {3, 7, 9});
    expect_values(run_binary("Mod", "", a, b, d, {3}), {1, 4, 5});
    expect_values(run_binary("Mod", "<fmod: int = 1>", a, b, d, {3}), {1, 4, 5});
  }
}

TEST(CompareOps, ModOfIntegerMinimumByMinusOneIsZero) {
  Tensor a = Tensor::zeros(DType::kInt32, {2});
  a.values<int32_t>()[0] = std::numeric_limits<int32_t>::min();
  a.values<int32_t>()[1] = std::numeric_limits<int32_t>::min();
  const Tensor b = tensor_of(DType::kInt32, {2}, {-1, 3});
  // -2147483648 = -715827883 * 3 + 1 (Python), = -715827882 * 3 - 2 (C).
  expect_values(run_binary("Mod", "", a, b, DType::kInt32, {2}), {0, 1});
  expect_values(run_binary("Mod", "<fmod: int = 1>", a, b, DType::kInt32, {2}), {0, -2});
}

TEST(CompareOps, ModFloatsUseFmodInEveryFloatDtype) {
  for (DType d : {DType::kFloat, DType::kDouble, DType::kFloat16, DType::kBfloat16}) {
    SCOPED_TRACE(dtype_name(d));
    const Tensor a = tensor_of(d, {2, 2}, {5.5, -5.5, 5.5, -5.5});
    const Tensor b = tensor_of(d, {2}, {2, -2});
    expect_values(run_binary("Mod", "<fmod: int = 1>", a, b, d, {2, 2}), {1.5, -1.5, 1.5, -1.5});
  }
  // fmod=0 has no meaning for floats: the model is rejected, not silently computed.
  const RunResult r = run_reference(parse(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] a, float[2] b) => (float[2] y) {
      y = Mod(a, b)
    }
  )"),
                                    {{"a", tensor_of(DType::kFloat, {2}, {1, 2})},
                                     {"b", tensor_of(DType::kFloat, {2}, {1, 2})}});
  EXPECT_EQ(r.status, RunStatus::kError);
  EXPECT_NE(r.message.find("fmod"), std::string::npos) << r.message;
}

// ---- BitShift ----

TEST(CompareOps, BitShiftBothDirectionsWrapAndReachTheTopBit) {
  const Tensor x8 = tensor_of(DType::kUint8, {4}, {200, 1, 255, 16});
  const Tensor s8 = tensor_of(DType::kUint8, {4}, {1, 7, 0, 4});
  expect_values(run_binary("BitShift", "<direction: string = \"LEFT\">", x8, s8, DType::kUint8, {4}),
                {144, 128, 255, 0});
  expect_values(
      run_binary("BitShift", "<direction: string = \"RIGHT\">", x8, s8, DType::kUint8, {4}),
      {100, 0, 255, 1});
  Tensor x64 = Tensor::zeros(DType::kUint64, {2});
  x64.values<uint64_t>()[0] = 1;
  x64.values<uint64_t>()[1] = std::numeric_limits<uint64_t>::max();
  const Tensor s64 = tensor_of(DType::kUint64, {}, {63});
  const Tensor left =
      run_binary("BitShift", "<direction: string = \"LEFT\">", x64, s64, DType::kUint64, {2});
  EXPECT_EQ(left.values<uint64_t>()[0], uint64_t{1} << 63);
  EXPECT_EQ(left.values<uint64_t>()[1], uint64_t{1} << 63);
  const Tensor right =
      run_binary("BitShift", "<direction: string = \"RIGHT\">", x64, s64, DType::kUint64, {2});
  expect_values(right, {0, 1});
  for (DType d : {DType::kUint16, DType::kUint32}) {
    SCOPED_TRACE(dtype_name(d));
    const Tensor x = tensor_of(d, {2, 2}, {3, 5, 7, 9});
    const Tensor s = tensor_of(d, {2, 1}, {1, 2});
    expect_values(run_binary("BitShift", "<direction: string = \"LEFT\">", x, s, d, {2, 2}),
                  {6, 10, 28, 36});
  }
}

// ---- Min / Max / Sum / Mean ----

TEST(CompareOps, VariadicOpsBroadcastAcrossThreeInputs) {
  const TensorMap inputs = {{"a", tensor_of(DType::kFloat, {2, 1}, {1, 6})},
                            {"b", tensor_of(DType::kFloat, {3}, {0, 4, 8})},
                            {"c", tensor_of(DType::kFloat, {}, {5})}};
  const RunResult r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2,1] a, float[3] b, float c) => (float[2,3] lo, float[2,3] hi, float[2,3] s, float[2,3] m) {
      lo = Min(a, b, c)
      hi = Max(a, b, c)
      s = Sum(a, b, c)
      m = Mean(a, b, c)
    }
  )",
                             inputs);
  expect_values(r.outputs.at("lo"), {0, 1, 1, 0, 4, 5});
  expect_values(r.outputs.at("hi"), {5, 5, 8, 6, 6, 8});
  expect_values(r.outputs.at("s"), {6, 10, 14, 11, 15, 19});
  const std::vector<double> mean = {6 / 3.0f, 10 / 3.0f, 14 / 3.0f, 11 / 3.0f, 5, 19 / 3.0f};
  const std::vector<double> got = doubles_of(r.outputs.at("m"));
  for (size_t i = 0; i < mean.size(); ++i) EXPECT_FLOAT_EQ(got[i], mean[i]) << i;
}

TEST(CompareOps, VariadicOpsWithOneInputAreIdentities) {
  const Tensor x = tensor_of(DType::kDouble, {3}, {-1.25, 0, 7});
  const RunResult r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (double[3] x) => (double[3] a, double[3] b, double[3] c, double[3] d) {
      a = Min(x)
      b = Max(x)
      c = Sum(x)
      d = Mean(x)
    }
  )",
                             {{"x", x}});
  for (const char* name : {"a", "b", "c", "d"}) {
    SCOPED_TRACE(name);
    expect_values(r.outputs.at(name), {-1.25, 0, 7});
  }
}

TEST(CompareOps, MinMaxAreExactOnWideIntegersAndPropagateNaN) {
  Tensor a = Tensor::zeros(DType::kUint64, {2});
  Tensor b = Tensor::zeros(DType::kUint64, {2});
  a.values<uint64_t>()[0] = std::numeric_limits<uint64_t>::max();
  b.values<uint64_t>()[0] = std::numeric_limits<uint64_t>::max() - 1;
  a.values<uint64_t>()[1] = 3;
  b.values<uint64_t>()[1] = 4;
  const Tensor lo = run_binary("Min", "", a, b, DType::kUint64, {2});
  EXPECT_EQ(lo.values<uint64_t>()[0], std::numeric_limits<uint64_t>::max() - 1);
  EXPECT_EQ(lo.values<uint64_t>()[1], 3u);
  for (DType d : {DType::kInt8, DType::kUint16, DType::kInt32, DType::kInt64}) {
    SCOPED_TRACE(dtype_name(d));
    const Tensor x = tensor_of(d, {3}, {1, 9, 4});
    const Tensor y = tensor_of(d, {1}, {5});
    expect_values(run_binary("Max", "", x, y, d, {3}), {5, 9, 5});
    expect_values(run_binary("Min", "", x, y, d, {3}), {1, 5, 4});
  }
  const Tensor f = tensor_of(DType::kFloat, {3}, {kNaN, 1, 2});
  const Tensor g = tensor_of(DType::kFloat, {3}, {0, kNaN, 1});
  expect_values(run_binary("Max", "", f, g, DType::kFloat, {3}), {kNaN, kNaN, 2});
  expect_values(run_binary("Min", "", f, g, DType::kFloat, {3}), {kNaN, kNaN, 1});
}

TEST(CompareOps, HalfSumRoundsOnceAndMeanDividesByTheInputCount) {
  // In float16, 2048 + 1 + 1 computed pairwise rounds to 2048 twice; the reference sums in wider
  // precision and rounds once to 2050.
  const Tensor a = tensor_of(DType::kFloat16, {1}, {2048});
  const Tensor b = tensor_of(DType::kFloat16, {1}, {1});
  const RunResult r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[1] a, float16[1] b) => (float16[1] s, float16[1] m, bfloat16[1] t) {
      s = Sum(a, b, b)
      m = Mean(a, b, b)
      a16 = Cast <to: int = 16> (a)
      b16 = Cast <to: int = 16> (b)
      t = Sum(a16, b16)
    }
  )",
                             {{"a", a}, {"b", b}});
  expect_values(r.outputs.at("s"), {2050});
  // 2050 / 3 = 683.33 lies nearest to 683.5 on float16's grid of halves.
  expect_values(r.outputs.at("m"), {683.5});
  // bfloat16 keeps 8 significant bits: 2049 rounds to 2048.
  expect_values(r.outputs.at("t"), {2048});
}

// ---- Cast / CastLike ----

// Every ordered pair of table dtypes on values every dtype holds exactly.
TEST(CompareOps, CastBetweenEveryPairOfDtypes) {
  const std::vector<double> values = {0, 1, 3, 100};
  for (const auto& from : all_dtypes()) {
    for (const auto& to : all_dtypes()) {
      SCOPED_TRACE(fmt::format("{} -> {}", from.name, to.name));
      const std::vector<double> in =
          from.dtype == DType::kBool ? std::vector<double>{0, 1, 1, 0} : values;
      std::vector<double> expected;
      for (double v : in) expected.push_back(to.dtype == DType::kBool ? (v != 0) : v);
      expect_values(run_cast(tensor_of(from.dtype, {4}, in), to.dtype), expected);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(CompareOps, CastFloatToIntegerTruncatesTowardZero) {
  for (DType from : {DType::kFloat, DType::kDouble, DType::kFloat16, DType::kBfloat16}) {
    for (DType to : {DType::kInt8, DType::kInt16, DType::kInt32, DType::kInt64}) {
      SCOPED_TRACE(fmt::format("{} -> {}", dtype_name(from), dtype_name(to)));
      expect_values(run_cast(tensor_of(from, {5}, {-2.75, -0.5, 0.5, 2.75, -100}), to),
                    {-2, 0, 0, 2, -100});
    }
    for (DType to : {DType::kUint8, DType::kUint16, DType::kUint32, DType::kUint64}) {
      SCOPED_TRACE(fmt::format("{} -> {}", dtype_name(from), dtype_name(to)));
      expect_values(run_cast(tensor_of(from, {3}, {0.75, 2.75, 127.5}), to), {0, 2, 127});
    }
  }
}

TEST(CompareOps, CastIntegerNarrowingWrapsAndWideningIsExact) {
  expect_values(run_cast(tensor_of(DType::kInt32, {4}, {300, -129, 128, -1}), DType::kInt8),
                {44, 127, -128, -1});
  expect_values(run_cast(tensor_of(DType::kInt64, {2}, {-1, 256}), DType::kUint8), {255, 0});
  expect_values(run_cast(tensor_of(DType::kInt8, {2}, {-1, -128}), DType::kUint16), {65535, 65408});
  Tensor big = Tensor::zeros(DType::kInt64, {2});
  big.values<int64_t>()[0] = std::numeric_limits<int64_t>::min();
  big.values<int64_t>()[1] = std::numeric_limits<int64_t>::max();
  const Tensor u = run_cast(big, DType::kUint64);
  EXPECT_EQ(u.values<uint64_t>()[0], uint64_t{1} << 63);
  EXPECT_EQ(u.values<uint64_t>()[1], (uint64_t{1} << 63) - 1);
  const Tensor back = run_cast(u, DType::kInt64);
  EXPECT_EQ(back, big);
  // int64 -> float rounds once to nearest: 2^63 - 1 becomes 2^63.
  expect_values(run_cast(big, DType::kFloat), {-0x1p63, 0x1p63});
}

TEST(CompareOps, CastToAndFromBool) {
  expect_values(run_cast(tensor_of(DType::kFloat, {5}, {0.0, -0.0, -0.5, kNaN, 3}), DType::kBool),
                {0, 0, 1, 1, 1});
  expect_values(run_cast(tensor_of(DType::kFloat16, {3}, {0, 0.001, -2}), DType::kBool), {0, 1, 1});
  expect_values(run_cast(tensor_of(DType::kInt64, {3}, {0, -7, 256}), DType::kBool), {0, 1, 1});
  Tensor raw = tensor_of(DType::kBool, {3}, {0, 1, 1});
  raw.values<uint8_t>()[2] = 7;  // a nonzero byte that is not 1 still reads as true
  expect_values(run_cast(raw, DType::kFloat16), {0, 1, 1});
  expect_values(run_cast(raw, DType::kInt32), {0, 1, 1});
  EXPECT_EQ(run_cast(raw, DType::kBool).values<uint8_t>()[2], 1);
}

TEST(CompareOps, CastBetweenFloatsRoundsToNearestEven) {
  const Tensor third = tensor_of(DType::kFloat, {1}, {1.0 / 3});
  expect_values(run_cast(third, DType::kFloat16), {0.333251953125});
  expect_values(run_cast(third, DType::kBfloat16), {0.333984375});
  // Beyond float16's largest finite value (65504), from 65520 on, is infinity.
  expect_values(run_cast(tensor_of(DType::kFloat, {4}, {65504, 65519, 65520, -1e6}),
                         DType::kFloat16),
                {65504, 65504, kInf, -kInf});
  expect_values(run_cast(tensor_of(DType::kDouble, {3}, {kNaN, 1e40, 0.1}), DType::kFloat),
                {kNaN, kInf, static_cast<float>(0.1)});
  expect_values(run_cast(tensor_of(DType::kFloat16, {3}, {kNaN, -kInf, 65504}), DType::kBfloat16),
                {kNaN, -kInf, 65536});
  expect_values(run_cast(tensor_of(DType::kBfloat16, {2}, {0.333984375, -3e38}), DType::kDouble),
                {0.333984375, static_cast<double>(bfloat16_to_float(float_to_bfloat16(-3e38f)))});
  // float16 -> int32 and int -> float16 go through float32 exactly.
  expect_values(run_cast(tensor_of(DType::kFloat16, {2}, {-3.5, 2048}), DType::kInt32), {-3, 2048});
  expect_values(run_cast(tensor_of(DType::kInt32, {2}, {2049, 4097}), DType::kFloat16),
                {2048, 4096});
}

TEST(CompareOps, CastChainsAreNotFolded) {
  // float -> int32 -> float truncates; float -> float16 -> float rounds; bfloat16 travels inside.
  const RunResult r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] a, float[3] b, float[3] c) {
      i = Cast <to: int = 6> (x)
      a = Cast <to: int = 1> (i)
      h = Cast <to: int = 10> (x)
      b = Cast <to: int = 1> (h)
      bf = Cast <to: int = 16> (x)
      u = Cast <to: int = 2> (bf)
      c = Cast <to: int = 1> (u)
    }
  )",
                             {{"x", tensor_of(DType::kFloat, {3}, {2.7, -1.3, 100.3})}});
  expect_values(r.outputs.at("a"), {2, -1, 100});
  expect_values(r.outputs.at("b"),
                {half_to_float(float_to_half(2.7f)), half_to_float(float_to_half(-1.3f)),
                 half_to_float(float_to_half(100.3f))});
  // 2.7 -> bf16 2.703125 -> uint8 2; -1.3 is out of uint8's range and not generated.
  EXPECT_EQ(r.outputs.at("c").as_double(0), 2);
  EXPECT_EQ(r.outputs.at("c").as_double(2), 100);
}

TEST(CompareOps, CastLikeTakesTheTargetTypeFromItsSecondInput) {
  const RunResult r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x, int8[0] like8) => (int8[3] a, float[3] b, bool[3] c) {
      likebf = Cast <to: int = 16> (x)
      likeb = Cast <to: int = 9> (like8)
      a = CastLike(x, like8)
      bf = CastLike(x, likebf)
      b = CastLike(bf, x)
      c = CastLike(x, likeb)
    }
  )",
                             {{"x", tensor_of(DType::kFloat, {3}, {-2.5, 0, 1.0 / 3})},
                              {"like8", tensor_of(DType::kInt8, {0}, {})}});
  expect_values(r.outputs.at("a"), {-2, 0, 0});
  expect_values(r.outputs.at("b"), {-2.5, 0, 0.333984375});
  expect_values(r.outputs.at("c"), {1, 0, 1});
}

TEST(CompareOps, CastOfEmptyTensorsAndScalars) {
  const RunResult r = run_ok(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[2,0] x, double s) => (uint64[2,0] a, bool b) {
      a = Cast <to: int = 13> (x)
      b = Cast <to: int = 9> (s)
    }
  )",
                             {{"x", tensor_of(DType::kFloat16, {2, 0}, {})},
                              {"s", tensor_of(DType::kDouble, {}, {0.25})}});
  EXPECT_EQ(r.outputs.at("a").shape, (Shape{2, 0}));
  EXPECT_EQ(r.outputs.at("b").shape, Shape{});
  expect_values(r.outputs.at("b"), {1});
}

// ---- generator ----

std::map<std::string, DType> value_types(const onnx::ModelProto& model) {
  auto validated = validate_model(model);
  EXPECT_TRUE(validated.has_value()) << validated.error();
  std::map<std::string, DType> types;
  if (!validated) return types;
  const auto& g = validated->graph();
  for (const auto& list : {&g.input(), &g.value_info(), &g.output()}) {
    for (const auto& info : *list)
      types[info.name()] = static_cast<DType>(info.type().tensor_type().elem_type());
  }
  for (const auto& init : g.initializer()) types[init.name()] = static_cast<DType>(init.data_type());
  return types;
}

// Casts and CastLikes reach every (source, target) pair, Cast -> Cast chains appear, and every
// generated model runs on the reference with float outputs bounded.
TEST(CompareOps, GeneratorDrawsEveryCastPairAndCastChains) {
  GenPolicy policy;
  policy.only_ops = {"Cast", "CastLike", "Clip", "Add", "Less", "Mod"};
  policy.max_nodes = 12;
  for (const auto& row : all_dtypes()) policy.dtype_weights[row.dtype] = 1;
  std::set<std::pair<DType, DType>> pairs;
  int chains = 0;
  for (uint64_t seed = 0; seed < 900; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    auto g = generate_model(policy, seed);
    ASSERT_TRUE(g.has_value()) << g.error();
    const auto types = value_types(g->model);
    std::map<std::string, std::string> producer;
    for (const auto& node : g->model.graph().node()) {
      for (const auto& out : node.output()) producer[out] = node.op_type();
      if (node.op_type() != "Cast" && node.op_type() != "CastLike") continue;
      pairs.insert({types.at(node.input(0)), types.at(node.output(0))});
      if (node.op_type() == "Cast" && producer[node.input(0)] == "Cast") ++chains;
    }
    const RunResult r = run_reference(g->model, g->inputs);
    ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
    for (const auto& [name, t] : r.outputs) {
      if (!is_float(t.dtype)) continue;
      for (int64_t i = 0; i < t.numel(); ++i) {
        ASSERT_TRUE(std::isfinite(t.as_double(i)) && std::abs(t.as_double(i)) <= 1e9) << name;
      }
    }
  }
  std::vector<std::string> missing;
  for (const auto& from : all_dtypes()) {
    for (const auto& to : all_dtypes()) {
      if (!pairs.contains({from.dtype, to.dtype}))
        missing.push_back(fmt::format("{}->{}", from.name, to.name));
    }
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " pairs never cast, e.g. " << missing.front();
  EXPECT_GT(chains, 20);
}

// A float -> integer cast steps on a last-bit difference of its source, so its source is exact
// data: a graph input or initializer, possibly through the Clip guard a repair adds or the first
// cast of a chain (both exact on exact data), or an integer computation. Casts that do not
// truncate keep computed float sources.
TEST(CompareOps, TruncatingCastsReadExactData) {
  GenPolicy policy;
  policy.only_ops = {"Cast", "CastLike", "Add", "Sigmoid", "Mul"};
  policy.max_nodes = 10;
  for (const auto& row : all_dtypes()) policy.dtype_weights[row.dtype] = 1;
  int truncating = 0, computed_sources = 0;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    auto g = generate_model(policy, seed);
    ASSERT_TRUE(g.has_value()) << g.error();
    const auto& graph = g->model.graph();
    const auto types = value_types(g->model);
    std::map<std::string, const onnx::NodeProto*> producer;
    for (const auto& node : graph.node()) {
      for (const auto& out : node.output()) producer[out] = &node;
    }
    // Exact: integers and bools (every backend computes them alike), graph inputs and
    // initializers, and what a Clip or cast makes of exact data.
    std::function<bool(const std::string&)> exact = [&](const std::string& name) {
      auto it = producer.find(name);
      if (it == producer.end() || !is_float(types.at(name))) return true;
      const std::string& op = it->second->op_type();
      return (op == "Clip" || op == "Cast" || op == "CastLike") && exact(it->second->input(0));
    };
    for (const auto& node : graph.node()) {
      if (node.op_type() != "Cast" && node.op_type() != "CastLike") continue;
      const DType from = types.at(node.input(0)), to = types.at(node.output(0));
      if (is_float(from) && is_integer(to)) {
        ++truncating;
        EXPECT_TRUE(exact(node.input(0)))
            << node.input(0) << " -> " << dtype_name(to) << "\n" << graph;
      } else if (!exact(node.input(0))) {
        ++computed_sources;
      }
    }
  }
  EXPECT_GT(truncating, 50);
  EXPECT_GT(computed_sources, 50);
}

// Generated BitShift amounts stay below the operand's bit width; Mod divisors are never 0.
TEST(CompareOps, GeneratorKeepsShiftAmountsAndDivisorsDefined) {
  GenPolicy policy;
  policy.only_ops = {"BitShift", "Mod", "Add", "Clip"};
  policy.dtype_weights = {{DType::kUint8, 1},  {DType::kUint16, 1}, {DType::kUint32, 1},
                          {DType::kUint64, 1}, {DType::kInt32, 1},  {DType::kFloat16, 1}};
  policy.prob_edge = 0.5;
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    auto g = generate_model(policy, seed);
    ASSERT_TRUE(g.has_value()) << g.error();
    TensorMap values;
    const RunResult r = run_reference(g->model, g->inputs, &values);
    ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
    for (const auto& node : g->model.graph().node()) {
      if (node.op_type() != "BitShift" && node.op_type() != "Mod") continue;
      const Tensor& second = values.at(node.input(1));
      for (int64_t i = 0; i < second.numel(); ++i) {
        const double v = second.as_double(i);
        if (node.op_type() == "BitShift") {
          ASSERT_LT(v, 8.0 * static_cast<double>(dtype_size(second.dtype))) << node.name();
          seen.insert(fmt::format("shift {}", node.attribute(0).s()));
          if (v == 8.0 * static_cast<double>(dtype_size(second.dtype)) - 1) seen.insert("top bit");
        } else {
          ASSERT_NE(v, 0) << node.name();
          for (const auto& a : node.attribute()) seen.insert(fmt::format("fmod {}", a.i()));
        }
      }
    }
  }
  for (const char* outcome : {"shift LEFT", "shift RIGHT", "top bit", "fmod 0", "fmod 1"})
    EXPECT_TRUE(seen.contains(outcome)) << outcome << " never generated";
}

// The range rules of the family hold on the values the reference computes, for inputs whose
// ranges are exactly their values' hull, over many seeds with frequent edge instances.
TEST(CompareOps, RangeRulesContainReferenceValues) {
  const std::vector<std::string> family = {"Equal", "Less",   "Greater", "LessOrEqual",
                                           "GreaterOrEqual", "And", "Or", "Xor", "Mod",
                                           "BitShift", "Min", "Max", "Sum", "Mean", "Cast",
                                           "CastLike"};
  GenPolicy policy;
  policy.only_ops = family;
  policy.only_ops.insert(policy.only_ops.end(), {"Add", "Mul", "Clip", "Where"});
  policy.max_nodes = 15;
  policy.prob_edge = 0.3;
  for (const auto& row : all_dtypes()) policy.dtype_weights[row.dtype] = 1;
  std::map<std::string, int> checked;
  for (uint64_t seed = 0; seed < 500; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    auto g = generate_model(policy, seed);
    ASSERT_TRUE(g.has_value()) << g.error();
    TensorMap values;
    const RunResult r = run_reference(g->model, g->inputs, &values);
    ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
    for (const auto& node : g->model.graph().node()) {
      if (std::find(family.begin(), family.end(), node.op_type()) == family.end()) continue;
      const OpSpec* spec = find_op_spec(node.op_type());
      ASSERT_NE(spec, nullptr);
      NodeSig sig;
      sig.attrs = attrs_of_node(node);
      for (const auto& name : node.input()) {
        NodeInput in;
        if (name.empty()) {  // an omitted optional input (a Clip bound)
          in.present = false;
          sig.inputs.push_back(std::move(in));
          continue;
        }
        const Tensor& t = values.at(name);
        in.dtype = t.dtype;
        in.shape = t.shape;
        in.range = Interval::point(0);
        for (int64_t i = 0; i < t.numel(); ++i) {
          const Interval v = Interval::point(t.as_double(i));
          in.range = i == 0 ? v : in.range.hull(v);
        }
        sig.inputs.push_back(std::move(in));
      }
      const Tensor& out = values.at(node.output(0));
      auto shape = spec->output_shape(sig);
      ASSERT_TRUE(shape.has_value()) << node.name() << ": " << shape.error();
      EXPECT_EQ(*shape, out.shape) << node.name();
      EXPECT_EQ(spec->dtype_rule(*spec, sig), out.dtype) << node.name();
      Interval range = spec->output_range(sig);
      // Integer results beyond the dtype wrap (the builder reads such a range as the whole type).
      const DTypeInfo& info = dtype_info(out.dtype);
      if (!is_float(out.dtype) && !dtype_holds(out.dtype, range.lo, range.hi))
        range = {info.lowest, info.highest};
      const double slack =
          std::max(1e-4, info.rtol) * std::max(1.0, range.magnitude());
      for (int64_t i = 0; i < out.numel(); ++i) {
        const double v = out.as_double(i);  // an infinite bound minus its slack is NaN
        ASSERT_TRUE(v >= range.lo || v >= range.lo - slack) << node.name() << ": " << v;
        ASSERT_TRUE(v <= range.hi || v <= range.hi + slack) << node.name() << ": " << v;
      }
      ++checked[node.op_type()];
    }
  }
  for (const auto& op : family) EXPECT_GT(checked[op], 20) << op;
}

}  // namespace
}  // namespace onnxfuzz
