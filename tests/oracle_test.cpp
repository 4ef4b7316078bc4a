// Oracle verdicts on synthetic execution results: every kind, tolerances, normalization.
#include "oracles/oracle.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <limits>

namespace onnxfuzz {
namespace {

RunResult ok_result(std::vector<float> values, Shape shape = {}) {
  RunResult r;
  if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
  r.outputs["y"] = Tensor::of_floats(shape, values);
  r.output_order = {"y"};
  return r;
}

RunResult failed_result(RunStatus status, std::string message) {
  RunResult r;
  r.status = status;
  r.message = std::move(message);
  return r;
}

TEST(Oracle, EachKindIsReported) {
  const Observation ref{"ref", ok_result({1, 2, 3})};
  struct Row {
    const char* name;
    RunResult result;
    VerdictKind kind;
  };
  const Row rows[] = {
      {"crash", failed_result(RunStatus::kCrash, "worker died: SIGSEGV"), VerdictKind::kCrash},
      {"hang", failed_result(RunStatus::kTimeout, "timed out after 1 s"), VerdictKind::kHang},
      {"rejection", failed_result(RunStatus::kError, "Node 'n3' failed: bad dims 7"),
       VerdictKind::kRejection},
      {"shape", ok_result({1, 2, 3}, {3, 1}), VerdictKind::kShape},
      {"numeric", ok_result({1, 2, 3.5f}), VerdictKind::kNumeric},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    auto verdicts = judge(ref, {{"ort", row.result}}, nullptr, OracleConfig{});
    ASSERT_EQ(verdicts.size(), 1u);
    EXPECT_EQ(verdicts[0].kind, row.kind);
    EXPECT_EQ(verdicts[0].execution, "ort");
  }
}

TEST(Oracle, AgreementWithinToleranceIsNoVerdict) {
  const Observation ref{"ref", ok_result({1, 100, -3})};
  // 100 * (1 + 0.5 * rtol) stays inside atol + rtol * |expected|.
  auto verdicts =
      judge(ref, {{"ort", ok_result({1.0005f, 100.5f, -3.001f})}}, nullptr, OracleConfig{});
  EXPECT_TRUE(verdicts.empty());
}

TEST(Oracle, NumericEvidenceNamesWorstElement) {
  const Observation ref{"ref", ok_result({1, 2, 3, 4}, {2, 2})};
  auto verdicts = judge(ref, {{"ort", ok_result({1, 2, 3, 9}, {2, 2})}}, nullptr, OracleConfig{});
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_NE(verdicts[0].evidence.find("[1,1]"), std::string::npos) << verdicts[0].evidence;
  EXPECT_NE(verdicts[0].evidence.find("max abs err 5"), std::string::npos) << verdicts[0].evidence;
}

TEST(Oracle, NanPositionsMustMatch) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Observation ref{"ref", ok_result({nan, 1})};
  EXPECT_TRUE(judge(ref, {{"ort", ok_result({nan, 1})}}, nullptr, OracleConfig{}).empty());
  auto verdicts = judge(ref, {{"ort", ok_result({0, 1})}}, nullptr, OracleConfig{});
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0].kind, VerdictKind::kNumeric);
  EXPECT_NE(verdicts[0].message.find("NaN/Inf"), std::string::npos);
}

TEST(Oracle, ToleranceIsConfigurable) {
  const Observation ref{"ref", ok_result({1})};
  OracleConfig strict;
  strict.tolerance[DType::kFloat] = {0, 0};
  EXPECT_EQ(judge(ref, {{"ort", ok_result({1.0001f})}}, nullptr, strict).size(), 1u);
  OracleConfig loose;
  loose.tolerance[DType::kFloat] = {0.5, 0};
  EXPECT_TRUE(judge(ref, {{"ort", ok_result({1.4f})}}, nullptr, loose).empty());
}

RunResult ok_tensor(Tensor value) {
  RunResult r;
  r.outputs["y"] = std::move(value);
  r.output_order = {"y"};
  return r;
}

TEST(Oracle, ToleranceFollowsTheDtypeTable) {
  // 1 vs 1.01: outside float32's default (1e-3 + 1e-2), inside float16's (1e-2 + 2e-2).
  struct Row {
    DType dtype;
    double expected, actual;
    bool differs;
  };
  const Row rows[] = {
      {DType::kFloat, 1, 1.02, true},         {DType::kFloat16, 1, 1.02, false},
      {DType::kBfloat16, 1, 1.0625, false},   {DType::kDouble, 1, 1 + 1e-5, true},
      {DType::kInt32, 7, 8, true},            {DType::kInt32, 7, 7, false},
      {DType::kBool, 1, 0, true},             {DType::kUint8, 200, 200, false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(fmt::format("{} {} vs {}", dtype_name(row.dtype), row.actual, row.expected));
    Tensor want = Tensor::zeros(row.dtype, {1});
    want.set_double(0, row.expected);
    Tensor got = Tensor::zeros(row.dtype, {1});
    got.set_double(0, row.actual);
    auto verdicts =
        judge({"ref", ok_tensor(want)}, {{"ort", ok_tensor(got)}}, nullptr, OracleConfig{});
    EXPECT_EQ(verdicts.size(), row.differs ? 1u : 0u);
  }
  // int64 beyond 2^53: one apart, equal as doubles, still a numeric verdict.
  auto big = [](int64_t v) { return Tensor::of_int64s({1}, std::vector<int64_t>{v}); };
  const int64_t huge = (int64_t{1} << 60) + 1;
  auto verdicts =
      judge({"ref", ok_tensor(big(huge))}, {{"ort", ok_tensor(big(huge + 1))}}, nullptr, {});
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_NE(verdicts[0].evidence.find("(exact)"), std::string::npos) << verdicts[0].evidence;
}

// Near the dtype's range the reference (double accumulation, one rounding) and a backend (its
// own order and precision) can overflow at different places: that is no finding, but a
// non-finite value where the reference is moderate still is.
TEST(Oracle, OverflowOnlyDifferencesAreNoVerdict) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Row {
    DType dtype;
    double expected, actual;
    bool differs;
  };
  const Row rows[] = {
      {DType::kFloat, -3.5e36, -inf, false},  // ORT's float accumulation overflowed
      {DType::kFloat, inf, nan, false},       // inf - inf in another order
      {DType::kFloat, nan, -inf, false},
      {DType::kFloat, 1e20, inf, false},      // beyond sqrt(float max) ~ 1.8e19
      {DType::kFloat, 1e18, inf, true},       // a moderate value that became inf
      {DType::kFloat, 1.5, nan, true},        // NaN where the reference is ordinary
      {DType::kFloat, inf, -inf, true},       // a sign flip is still a difference
      {DType::kFloat16, 300, inf, false},     // sqrt(65504) ~ 256
      {DType::kFloat16, 100, inf, true},
      {DType::kDouble, 1e200, inf, false},
      {DType::kDouble, 1e100, inf, true},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(fmt::format("{} {} vs {}", dtype_name(row.dtype), row.actual, row.expected));
    Tensor want = Tensor::zeros(row.dtype, {2});
    want.set_double(0, row.expected);
    Tensor got = Tensor::zeros(row.dtype, {2});
    got.set_double(0, row.actual);
    auto verdicts =
        judge({"ref", ok_tensor(want)}, {{"ort", ok_tensor(got)}}, nullptr, OracleConfig{});
    EXPECT_EQ(verdicts.size(), row.differs ? 1u : 0u);
  }
}

TEST(Oracle, ToleranceListParsesAndNamesWhatIsWrong) {
  OracleConfig config;
  ASSERT_TRUE(parse_tolerance_list("float16=0.5:0.25,bfloat16=1e-1:0", config));
  EXPECT_EQ(config.tolerance_for(DType::kFloat16), (Tolerance{0.5, 0.25}));
  EXPECT_EQ(config.tolerance_for(DType::kBfloat16), (Tolerance{0.1, 0}));
  EXPECT_EQ(config.tolerance_for(DType::kFloat), OracleConfig{}.tolerance_for(DType::kFloat));
  struct Row {
    const char* text;
    const char* message;
  };
  const Row rows[] = {
      {"float17=1:1", "unknown dtype 'float17'; known dtypes: float32"},
      {"float16=1", "expected DTYPE=ATOL:RTOL"},
      {"float16", "expected DTYPE=ATOL:RTOL"},
      {"float16=-1:0", ">= 0"},
      {"float16=a:b", ">= 0"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.text);
    auto parsed = parse_tolerance_list(row.text, config);
    ASSERT_FALSE(parsed);
    EXPECT_NE(parsed.error().find(row.message), std::string::npos) << parsed.error();
  }
}

TEST(Oracle, NoRejectionWhenBaselineAlsoFails) {
  const Observation ref{"ref", failed_result(RunStatus::kError, "unsupported op")};
  auto verdicts =
      judge(ref, {{"ort", failed_result(RunStatus::kError, "bad model")}}, nullptr, OracleConfig{});
  EXPECT_TRUE(verdicts.empty());
}

TEST(Oracle, NormalizeMessageStripsWhatVaries) {
  struct Row {
    const char* raw;
    const char* normalized;
  };
  const Row rows[] = {
      {"Node 'n12_Conv' dims 3 vs 4", "Node '_' dims N vs N"},
      {"at 0x7ffd1234 in /tmp/x/model.onnx: bad", "at 0x_ in <path>: bad"},
      {"first line\nsecond line", "first line"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.raw);
    EXPECT_EQ(normalize_message(row.raw), row.normalized);
  }
  EXPECT_EQ(normalize_message("Node 'a' failed 1"), normalize_message("Node 'bb' failed 22"));
}

// An invalid mutant: running it is accepted-invalid, an error is what a backend should do, a
// crash or hang stays a crash or hang; unsupported runs are not judged.
TEST(Oracle, InvalidMutantVerdicts) {
  auto obs = [](const char* execution, RunStatus status) {
    Observation o;
    o.execution = execution;
    o.result.status = status;
    o.result.message = "boom";
    return o;
  };
  const auto verdicts = judge_invalid({obs("a", RunStatus::kOk), obs("b", RunStatus::kError),
                                       obs("c", RunStatus::kCrash), obs("d", RunStatus::kTimeout),
                                       obs("e", RunStatus::kUnsupported)},
                                      "wrong-rank");
  ASSERT_EQ(verdicts.size(), 3u);
  EXPECT_EQ(verdicts[0].kind, VerdictKind::kAcceptedInvalid);
  EXPECT_EQ(verdicts[0].execution, "a");
  EXPECT_NE(verdicts[0].message.find("wrong-rank"), std::string::npos);
  EXPECT_EQ(verdicts[1].kind, VerdictKind::kCrash);
  EXPECT_EQ(verdicts[2].kind, VerdictKind::kHang);
  EXPECT_EQ(verdict_kind_name(VerdictKind::kAcceptedInvalid), "accepted-invalid");
  EXPECT_EQ(parse_verdict_kind("accepted-invalid"), VerdictKind::kAcceptedInvalid);
}

}  // namespace
}  // namespace onnxfuzz
