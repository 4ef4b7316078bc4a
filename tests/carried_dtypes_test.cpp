// Dtypes across stages: workers' reports against the dtype table, models an execution cannot
// carry, documented backend gaps, and the planted value fault on every float dtype.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "fuzzer/evaluation.h"
#include "generators/model_io.h"
#include "tests/unary_model.h"
#include "oracles/backend_gaps.h"
#include "oracles/execution.h"
#include "oracles/worker_protocol.h"

namespace onnxfuzz {
namespace {

// Every table dtype is in exactly one of the report's lists, and not carrying one is explained.
void expect_covers_the_table(const CarriedDtypes& report) {
  for (const DTypeInfo& row : all_dtypes()) {
    SCOPED_TRACE(row.name);
    const auto carried = std::ranges::count(report.carried, row.dtype);
    const auto not_carried = std::ranges::count_if(
        report.not_carried, [&](const auto& entry) { return entry.first == row.dtype; });
    EXPECT_EQ(carried + not_carried, 1);
  }
  for (const auto& [dtype, reason] : report.not_carried) {
    EXPECT_FALSE(reason.empty()) << dtype_name(dtype);
  }
}

TEST(CarriedDtypes, ProtocolRoundTrip) {
  CarriedDtypes report;
  report.carried = {DType::kFloat, DType::kFloat16, DType::kUint64};
  report.not_carried = {{DType::kBfloat16, "no tensor type"}};
  auto decoded = decode_carried_dtypes(encode_carried_dtypes(report));
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(decoded->carried, report.carried);
  EXPECT_EQ(decoded->not_carried, report.not_carried);
  // Element types outside the table (int4 = 22) are ignored; a dtype listed twice is an error.
  auto extra = decode_carried_dtypes(R"({"carried": [1, 22], "not_carried": []})");
  ASSERT_TRUE(extra) << extra.error();
  EXPECT_EQ(extra->carried, std::vector<DType>{DType::kFloat});
  EXPECT_FALSE(decode_carried_dtypes(
      R"({"carried": [1], "not_carried": [{"elem_type": 1, "reason": "x"}]})"));
  EXPECT_FALSE(decode_carried_dtypes("not json"));
}

TEST(CarriedDtypes, PlantedWorkerCarriesTheWholeTable) {
  auto planted = make_execution("planted", ExecutionOptions{});
  ASSERT_TRUE(planted) << planted.error();
  ASSERT_TRUE((*planted)->check_ready());
  const CarriedDtypes report = (*planted)->carried_dtypes();
  expect_covers_the_table(report);
  EXPECT_TRUE(report.not_carried.empty());
}

TEST(CarriedDtypes, OrtWorkerReportCoversTheTable) {
  auto ort = make_execution("ort", ExecutionOptions{});
  if (!ort) {
    if (ort.error().find("scripts/setup.sh") == std::string::npos) FAIL() << ort.error();
    GTEST_SKIP() << "ONNX Runtime worker unavailable: " << ort.error();
  }
  auto ready = (*ort)->check_ready();
  ASSERT_TRUE(ready) << ready.error();
  const CarriedDtypes report = (*ort)->carried_dtypes();
  expect_covers_the_table(report);
  // What onnxruntime-node 1.30.0 can feed and fetch: everything but bfloat16.
  EXPECT_TRUE(report.carries(DType::kFloat16));
  EXPECT_TRUE(report.carries(DType::kUint64));
  EXPECT_FALSE(report.carries(DType::kBfloat16));
}

// An execution with scripted results, counting its runs.
class ScriptedExecution final : public Execution {
 public:
  ScriptedExecution(std::string name, RunResult result, std::vector<DType> carried)
      : name_(std::move(name)), result_(std::move(result)), carried_(std::move(carried)) {}
  const std::string& name() const override { return name_; }
  std::string version() override { return "scripted"; }
  CarriedDtypes carried_dtypes() override {
    CarriedDtypes report;
    for (const DTypeInfo& row : all_dtypes()) {
      if (std::ranges::count(carried_, row.dtype)) {
        report.carried.push_back(row.dtype);
      } else {
        report.not_carried.emplace_back(row.dtype, "scripted");
      }
    }
    return report;
  }
  RunResult run(const ModelUnderTest&, const TensorMap&) override {
    ++runs;
    return result_;
  }
  int runs = 0;

 private:
  std::string name_;
  RunResult result_;
  std::vector<DType> carried_;
};

onnx::ModelProto relu_model(std::string_view elem) { return testing::unary_model("Relu", elem); }

RunResult ok_with(DType dtype) { return testing::y_result(Tensor::zeros(dtype, {2, 3})); }

RunResult error_with(std::string message) { return testing::error_result(std::move(message)); }

TEST(CarriedDtypes, ModelWithAnUncarriedDtypeIsNotRunAndIsNoFinding) {
  ScriptedExecution baseline("ref", ok_with(DType::kInt32), {DType::kFloat, DType::kInt32});
  ScriptedExecution floats_only("ort", error_with("would be a rejection"), {DType::kFloat});
  Execution* executions[] = {&baseline, &floats_only};
  const Evaluation eval =
      evaluate_model(relu_model("int32"), {}, executions, OracleConfig{}, Validation::kFull);
  ASSERT_TRUE(eval.valid) << eval.invalid_reason;
  EXPECT_EQ(floats_only.runs, 0);
  EXPECT_EQ(baseline.runs, 1);
  EXPECT_TRUE(eval.verdicts.empty());
  ASSERT_EQ(eval.unsupported.size(), 1u);
  EXPECT_EQ(eval.unsupported[0].execution, "ort");
  EXPECT_EQ(eval.unsupported[0].kind, UnsupportedKind::kDtype);
  EXPECT_EQ(eval.observations[1].result.status, RunStatus::kUnsupported);
  EXPECT_NE(eval.observations[1].result.message.find("int32"), std::string::npos);
}

TEST(CarriedDtypes, RejectionAtADocumentedGapIsUnsupportedNotAFinding) {
  // Relu(int16) is a listed ORT gap; the same words elsewhere stay rejections.
  const std::string not_implemented =
      "Could not find an implementation for Relu(14) node with name 'n0'";
  struct Row {
    const char* what;
    std::string execution;
    std::string elem;
    std::string message;
    bool exempt;
  };
  const Row rows[] = {
      {"listed pair, ort", "ort", "int16", not_implemented, true},
      {"listed pair, ort-noopt", "ort-noopt", "int16", not_implemented, true},
      {"dtype not listed", "ort", "float", not_implemented, false},
      {"other message", "ort", "int16", "Relu: bad shape", false},
      {"execution not listed", "planted", "int16", not_implemented, false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    const DType dtype = *dtype_from_name(row.elem);
    ScriptedExecution baseline("ref", ok_with(dtype), {dtype});
    ScriptedExecution target(row.execution, error_with(row.message), {dtype});
    Execution* executions[] = {&baseline, &target};
    const Evaluation eval = evaluate_model(relu_model(row.elem), {}, executions, OracleConfig{},
                                           Validation::kCheckerOnly);
    if (row.exempt) {
      EXPECT_TRUE(eval.verdicts.empty());
      ASSERT_EQ(eval.unsupported.size(), 1u);
      EXPECT_EQ(eval.unsupported[0].kind, UnsupportedKind::kBackendGap);
      EXPECT_EQ(eval.observations[1].result.status, RunStatus::kUnsupported);
    } else {
      ASSERT_EQ(eval.verdicts.size(), 1u);
      EXPECT_EQ(eval.verdicts[0].kind, VerdictKind::kRejection);
      EXPECT_TRUE(eval.unsupported.empty());
    }
  }
}

TEST(CarriedDtypes, GapFoundThroughAnIntermediateValueAndAnExpandedFunction) {
  // Clip(int16) has no ORT kernel: ORT expands it and names Where. The Clip's operand is an
  // intermediate without value_info, typed by inference.
  auto model = parse_model_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (int16[2,3] x, int16 lo) => (int16[2,3] y) {
      a = Abs(x)
      y = Clip(a, lo)
    }
  )");
  ASSERT_TRUE(model) << model.error();
  const BackendGap* gap = find_backend_gap(
      "ort", *model, "Could not find an implementation for Where(16) node with name ''");
  ASSERT_NE(gap, nullptr);
  EXPECT_EQ(gap->op, "Clip");
  EXPECT_EQ(gap->dtype, DType::kInt16);
  EXPECT_EQ(find_backend_gap("ort", *model,
                             "Could not find an implementation for Abs(13) node with name ''"),
            nullptr);
}

// ORT's own statement of a kernel's types (onnxruntime-node 1.30.0 on Pow with a uint16
// exponent) is a gap for a default-domain op the model has; a contrib op an optimizer inserted,
// or a version mismatch alone, is not.
TEST(CarriedDtypes, BackendsOwnStatementOfAKernelsTypesIsAGap) {
  auto model = parse_model_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[2] x, uint16[2] e) => (float16[2] y) {
      y = Pow(x, e)
    }
  )");
  ASSERT_TRUE(model) << model.error();
  const std::string declared =
      "Failed to find kernel for Pow(15) (node:'n1_Pow' ep:'CPUExecutionProvider'). Op with name "
      "(n1_Pow) domain () and type (Pow) kernel is not supported in CPUExecutionProvider. "
      "Encountered following errors: ( Version mismatch. node_version: 15 kernel start version: "
      "7 kernel_end_version: 11\nKernel found kernel in the supported version range "
      "(node_version: 15). However the types are incompatible. This op has been implemented "
      "only for the following types (tensor(int32),tensor(int64),tensor(float),tensor(double),), "
      "but the node in the model has the following type (tensor(uint16))\n)";
  const BackendGap* gap = find_backend_gap("ort", *model, declared);
  ASSERT_NE(gap, nullptr);
  EXPECT_EQ(gap->op, "Pow");
  EXPECT_EQ(gap->dtype, DType::kUint16);
  EXPECT_NE(gap->reason.find("implemented only for the types (tensor(int32)"), std::string::npos)
      << gap->reason;
  // Met again (a campaign meets it on every such model), it is the same row: memory stays flat.
  EXPECT_EQ(find_backend_gap("ort", *model, declared), gap);
  // The model has no such op: not its gap.
  std::string other = declared;
  for (size_t at; (at = other.find("Pow")) != std::string::npos;) other.replace(at, 3, "Div");
  EXPECT_EQ(find_backend_gap("ort", *model, other), nullptr);
  // A contrib op an optimizer inserted is a finding.
  EXPECT_EQ(find_backend_gap("ort", *model,
                             "Failed to find kernel for com.microsoft.QuickGelu(1) (node:'n' "
                             "ep:'CPUExecutionProvider'). However the types are incompatible. This "
                             "op has been implemented only for the following types "
                             "(tensor(float)), but the node in the model has the following type "
                             "(tensor(float16))"),
            nullptr);
  // Without ORT's statement of the types (a version mismatch only), no gap either.
  EXPECT_EQ(find_backend_gap("ort", *model,
                             "Failed to find kernel for Pow(15) (node:'n1_Pow' ep:'CPU'). Version "
                             "mismatch. node_version: 15 kernel start version: 7"),
            nullptr);
}

TEST(CarriedDtypes, BackendGapRowsAreWellFormed) {
  const auto executions = known_execution_names();
  for (const BackendGap& row : backend_gaps()) {
    SCOPED_TRACE(fmt::format("{} {} {}", row.execution_prefix, row.op, dtype_name(row.dtype)));
    EXPECT_TRUE(std::ranges::any_of(
        executions, [&](const std::string& name) { return name.starts_with(row.execution_prefix); }));
    EXPECT_FALSE(row.op.empty());
    EXPECT_FALSE(row.reported_op.empty());
    EXPECT_FALSE(row.reason.empty());
    EXPECT_TRUE(is_not_implemented_message(
        fmt::format("Could not find an implementation for {}(1) node with name ''",
                    row.reported_op)));
  }
}

// What a campaign avoids drawing: every row of an execution's prefix and nothing else.
TEST(CarriedDtypes, DocumentedGapsAreTheRowsOfTheExecutions) {
  const std::vector<std::string> ort = {"ref", "ort"};
  const auto gaps = documented_gaps(ort);
  size_t pairs = 0;
  for (const auto& [op, dtypes] : gaps) pairs += dtypes.size();
  std::set<std::pair<std::string_view, DType>> rows;
  for (const BackendGap& row : backend_gaps()) {
    if (!std::string_view("ort").starts_with(row.execution_prefix)) continue;
    rows.insert({row.op, row.dtype});
    ASSERT_TRUE(gaps.contains(std::string(row.op))) << row.op;
    EXPECT_TRUE(gaps.at(std::string(row.op)).contains(row.dtype)) << row.op;
  }
  EXPECT_EQ(pairs, rows.size());
  EXPECT_GT(pairs, 0u);
  EXPECT_TRUE(documented_gaps(std::vector<std::string>{"ref", "planted"}).empty());
}

TEST(CarriedDtypes, PlantedValueFaultHitsEveryFloatDtype) {
  auto planted = make_execution("planted", ExecutionOptions{});
  ASSERT_TRUE(planted) << planted.error();
  for (const DTypeInfo& row : all_dtypes()) {
    if (row.cls != DTypeClass::kFloat) continue;
    SCOPED_TRACE(row.name);
    const std::string_view elem = row.onnx_type.substr(7, row.onnx_type.size() - 8);
    auto model = parse_model_text(fmt::format(R"(
      <ir_version: 8, opset_import: ["" : 17]>
      g ({0}[2] x) => ({0}[2] y) {{
        y = Sqrt(x)
      }}
    )",
                                              elem));
    ASSERT_TRUE(model) << model.error();
    Tensor x = Tensor::zeros(row.dtype, {2});
    x.set_double(0, 4);
    x.set_double(1, 16);
    RunResult result = (*planted)->run(ModelUnderTest::from_proto(*model), {{"x", x}});
    ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
    const Tensor& y = result.outputs.at("y");
    EXPECT_EQ(y.dtype, row.dtype);
    EXPECT_DOUBLE_EQ(y.as_double(0), 2.5);
    EXPECT_DOUBLE_EQ(y.as_double(1), 4.5);
  }
}

}  // namespace
}  // namespace onnxfuzz
