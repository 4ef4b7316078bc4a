// ort-web: onnxruntime-web's WebAssembly CPU build in the Node worker. Fixed models with known
// outputs, the version and dtypes it reports, judging against ref, and the CLI.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "fuzzer/evaluation.h"
#include "generators/dtype.h"
#include "generators/model_io.h"
#include "oracles/execution.h"
#include "tests/reference_fixtures.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

using fixtures::doubles_of;
using fixtures::parse;
using fixtures::tensor_of;

// The ort-web execution, or a skip when the machine lacks node/onnxruntime-web (setup.sh
// installs both); any other failure to start is a test failure.
std::unique_ptr<Execution> make_ort_web() {
  auto web = make_execution("ort-web", ExecutionOptions{});
  if (!web) {
    EXPECT_NE(web.error().find("scripts/setup.sh"), std::string::npos) << web.error();
    return nullptr;
  }
  auto ready = (*web)->check_ready();
  EXPECT_TRUE(ready) << (ready ? "" : ready.error());
  return ready ? std::move(*web) : nullptr;
}

struct KnownModel {
  std::string name;
  std::string text;
  TensorMap inputs;
  std::string output;
  DType dtype;
  std::vector<double> expected;
};

std::vector<KnownModel> known_models() {
  return {
      {"add_relu_float32", testing::kAddRelu,
       {{"x", tensor_of(DType::kFloat, {2, 3}, {-1, 2, -3, 4, -5, 6})},
        {"y", tensor_of(DType::kFloat, {2, 3}, {0.5, 0.5, 0.5, 0.5, 0.5, 0.5})}},
       "z", DType::kFloat, {0, 2.5, 0, 4.5, 0, 6.5}},
      {"matmul_float32", R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] a, float[3,2] b) => (float[2,2] c) { c = MatMul(a, b) }
)",
       {{"a", tensor_of(DType::kFloat, {2, 3}, {1, 2, 3, 4, 5, 6})},
        {"b", tensor_of(DType::kFloat, {3, 2}, {1, 0, 0, 1, 1, 1})}},
       "c", DType::kFloat, {4, 5, 10, 11}},
      // Products past int32: the wasm build must keep 64-bit integers whole.
      {"mul_int64", R"(
<ir_version: 8, opset_import: ["" : 17]>
g (int64[3] a, int64[3] b) => (int64[3] c) { c = Mul(a, b) }
)",
       {{"a", tensor_of(DType::kInt64, {3}, {3000000000, -7, 0})},
        {"b", tensor_of(DType::kInt64, {3}, {2, 6, 5})}},
       "c", DType::kInt64, {6000000000, -42, 0}},
      {"sqrt_float16", R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float16[3] h) => (float16[3] r) { r = Sqrt(h) }
)",
       {{"h", tensor_of(DType::kFloat16, {3}, {4, 9, 0.25})}}, "r", DType::kFloat16, {2, 3, 0.5}},
      {"xor_bool", R"(
<ir_version: 8, opset_import: ["" : 17]>
g (bool[4] p, bool[4] q) => (bool[4] r) { r = Xor(p, q) }
)",
       {{"p", tensor_of(DType::kBool, {4}, {0, 0, 1, 1})},
        {"q", tensor_of(DType::kBool, {4}, {0, 1, 0, 1})}},
       "r", DType::kBool, {0, 1, 1, 0}},
  };
}

TEST(OrtWeb, FixedModelsGiveTheirKnownOutputs) {
  auto web = make_ort_web();
  if (!web) GTEST_SKIP() << "onnxruntime-web unavailable";
  for (const KnownModel& known : known_models()) {
    SCOPED_TRACE(known.name);
    const onnx::ModelProto model = parse(known.text);
    const RunResult result = web->run(ModelUnderTest::view(model), known.inputs);
    ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
    ASSERT_EQ(result.output_order, std::vector<std::string>{known.output});
    const Tensor& out = result.outputs.at(known.output);
    EXPECT_EQ(out.dtype, known.dtype);
    EXPECT_EQ(doubles_of(out), known.expected);
  }
}

TEST(OrtWeb, AgreesWithTheReferenceUnderTheOracle) {
  auto web = make_ort_web();
  if (!web) GTEST_SKIP() << "onnxruntime-web unavailable";
  auto ref = make_execution("ref", ExecutionOptions{});
  ASSERT_TRUE(ref) << ref.error();
  std::vector<Execution*> executions{web.get(), ref->get()};
  for (const KnownModel& known : known_models()) {
    SCOPED_TRACE(known.name);
    const Evaluation eval =
        evaluate_model(parse(known.text), known.inputs, executions, OracleConfig{});
    EXPECT_TRUE(eval.valid) << eval.invalid_reason;
    EXPECT_TRUE(eval.ran);
    EXPECT_EQ(eval.baseline, "ref");
    EXPECT_TRUE(eval.verdicts.empty()) << eval.verdicts.front().message;
  }
}

TEST(OrtWeb, ReportsTheWebPackageVersionAndItsWasmBackend) {
  auto web = make_ort_web();
  if (!web) GTEST_SKIP() << "onnxruntime-web unavailable";
  const auto lock = nlohmann::json::parse(
      testing::read_file(std::filesystem::path(ONNXFUZZ_SOURCE_DIR) / "package-lock.json"));
  const std::string pinned =
      lock["packages"]["node_modules/onnxruntime-web"]["version"].get<std::string>();
  EXPECT_EQ(web->version(), "onnxruntime-web " + pinned + " (wasm)");
  EXPECT_EQ(web->name(), "ort-web");
}

TEST(OrtWeb, CarriedDtypesAreMeasuredAndCoverTheTable) {
  auto web = make_ort_web();
  if (!web) GTEST_SKIP() << "onnxruntime-web unavailable";
  const CarriedDtypes report = web->carried_dtypes();
  for (const auto& row : all_dtypes()) {
    const bool carried = std::ranges::count(report.carried, row.dtype) == 1;
    const bool not_carried = std::ranges::count_if(report.not_carried, [&](const auto& entry) {
                               return entry.first == row.dtype;
                             }) == 1;
    EXPECT_NE(carried, not_carried) << dtype_name(row.dtype);
  }
  // What 1.30.0's wasm build round-trips through Identity: everything JS can hold.
  EXPECT_TRUE(report.carries(DType::kFloat16));
  EXPECT_TRUE(report.carries(DType::kUint64));
  EXPECT_TRUE(report.carries(DType::kInt8));
  EXPECT_FALSE(report.carries(DType::kBfloat16));
  for (const auto& [dtype, reason] : report.not_carried) EXPECT_FALSE(reason.empty());
}

TEST(OrtWeb, ModelWithAnUncarriedDtypeIsNotRunOnIt) {
  auto web = make_ort_web();
  if (!web) GTEST_SKIP() << "onnxruntime-web unavailable";
  std::vector<Execution*> executions{web.get()};
  const onnx::ModelProto model = parse(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (bfloat16[2] x) => (bfloat16[2] y) { y = Relu(x) }
)");
  const Evaluation eval = evaluate_model(
      model, {{"x", tensor_of(DType::kBfloat16, {2}, {1, -1})}}, executions, OracleConfig{});
  ASSERT_EQ(eval.observations.size(), 1u);
  EXPECT_EQ(eval.observations[0].result.status, RunStatus::kUnsupported);
  EXPECT_TRUE(eval.verdicts.empty());
}

TEST(OrtWeb, RunCommandShowsItAndPasses) {
  auto web = make_ort_web();
  if (!web) GTEST_SKIP() << "onnxruntime-web unavailable";
  testing::TempDir dir;
  auto model = parse_model_text(testing::kAddRelu);
  ASSERT_TRUE(model) << model.error();
  testing::write_file(dir.path() / "m.onnx", serialize_model(*model));
  auto result = testing::run_onnxfuzz("run " + dir.str("m.onnx") + " --executions ref,ort-web");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("ort-web"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("verdict: pass"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace onnxfuzz
