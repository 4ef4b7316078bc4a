// Case store: atomic layout, round trip through read_test_case, discovery and stale temps.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "corpus/case_store.h"
#include "generators/model_io.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

CaseRecord sample_record() {
  CaseRecord record;
  record.kind = VerdictKind::kNumeric;
  record.execution = "ort";
  record.executions = {"ref", "ort"};
  record.ops = {"Add", "Relu"};
  record.message = "values differ from ref";
  record.signature =
      finding_signature({VerdictKind::kNumeric, "ort", "ref", record.message, ""}, record.ops);
  record.id = case_id(record);
  record.seed = 42;
  record.nodes_before = 7;
  record.nodes_after = 2;
  record.versions = {{"ref", "onnxfuzz-ref"}, {"ort", "onnxruntime-node 1.23.2"}};
  record.tolerances = {{DType::kFloat, {1e-3, 1e-2}}, {DType::kInt64, {0, 0}}};
  return record;
}

TEST(CaseStore, RoundTrip) {
  testing::TempDir dir;
  auto model = parse_model_text(testing::kAddRelu);
  ASSERT_TRUE(model) << model.error();
  TensorMap inputs{{"x", Tensor::of_floats({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6})},
                   {"y", Tensor::of_floats({2, 3}, std::vector<float>{-1, -1, -1, -1, -1, -1})}};
  TensorMap outputs{{"z", Tensor::of_floats({2, 3}, std::vector<float>{0, 1, 2, 3, 4, 5})}};
  const CaseRecord record = sample_record();
  bool existed = true;
  auto path = write_case(dir.str(), record, *model, *model, inputs, outputs, &existed);
  ASSERT_TRUE(path) << path.error();
  EXPECT_FALSE(existed);
  for (const char* file :
       {"model.onnx", "original.onnx", "case.json", "test_data_set_0/input_0.pb",
        "test_data_set_0/input_1.pb", "test_data_set_0/output_0.pb", "report.md"}) {
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(*path) / file)) << file;
  }
  // The issue-ready report carries the model text, the versions and the verdict.
  const std::string report = testing::read_file(std::filesystem::path(*path) / "report.md");
  EXPECT_NE(report.find("onnxruntime-node 1.23.2: numeric on a 2-node model (Add -> Relu)"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("z = Relu(s)"), std::string::npos) << report;
  EXPECT_NE(report.find("ORT_ENABLE_ALL"), std::string::npos) << report;
  auto tc = read_test_case(*path);
  ASSERT_TRUE(tc) << tc.error();
  ASSERT_EQ(tc->inputs.size(), 1u);
  EXPECT_EQ(tc->inputs[0], inputs);
  EXPECT_EQ(tc->expected[0], outputs);
  ASSERT_TRUE(tc->record);
  EXPECT_EQ(tc->record->kind, VerdictKind::kNumeric);
  EXPECT_EQ(tc->record->ops, record.ops);
  EXPECT_EQ(tc->record->seed, std::optional<uint64_t>(42));
  EXPECT_EQ(tc->record->nodes_before, 7);
  EXPECT_EQ(tc->record->versions.at("ort"), "onnxruntime-node 1.23.2");
  EXPECT_EQ(tc->record->tolerances, record.tolerances);
  EXPECT_NE(report.find("tolerance: float32: atol=0.001 rtol=0.01; int64: exact"),
            std::string::npos)
      << report;

  // Same signature again: nothing is rewritten.
  auto again = write_case(dir.str(), record, *model, *model, inputs, outputs, &existed);
  ASSERT_TRUE(again);
  EXPECT_TRUE(existed);
  EXPECT_EQ(*again, *path);
}

TEST(CaseStore, ReportPythonReproducerIsValidPython) {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0) GTEST_SKIP() << "no python3";
  testing::TempDir dir;
  auto model = parse_model_text(testing::kAddRelu);
  ASSERT_TRUE(model);
  auto path = write_case(dir.str(), sample_record(), *model, *model, {}, {}, nullptr);
  ASSERT_TRUE(path) << path.error();
  const std::string report = testing::read_file(std::filesystem::path(*path) / "report.md");
  const size_t begin = report.find("```python\n");
  ASSERT_NE(begin, std::string::npos) << report;
  const size_t end = report.find("```", begin + 10);
  ASSERT_NE(end, std::string::npos);
  testing::write_file(dir.path() / "repro.py", report.substr(begin + 10, end - begin - 10));
  const std::string command = "python3 -m py_compile " + dir.str("repro.py") + " 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << report.substr(begin, end - begin);
}

TEST(CaseStore, DiscoverySkipsTemporariesAndStaleOnesAreRemoved) {
  testing::TempDir dir;
  auto model = parse_model_text(testing::kAddRelu);
  ASSERT_TRUE(model);
  ASSERT_TRUE(write_case(dir.str(), sample_record(), *model, *model, {}, {}, nullptr));
  // What a campaign killed mid-write leaves behind.
  // pid 999999999 cannot exist: its writer is dead.
  const auto stale = dir.path() / "cases" / ".tmp-numeric-ort-0-999999999-0";
  // A parallel instance (this very process stands in for it) still writing: kept.
  const auto live = dir.path() / "cases" / fmt::format(".tmp-numeric-ort-1-{}-0", ::getppid());
  std::filesystem::create_directories(live);
  std::filesystem::create_directories(stale);
  testing::write_file(stale / "model.onnx", "partial");
  auto found = find_case_dirs({dir.str()});
  ASSERT_TRUE(found) << found.error();
  EXPECT_EQ(found->size(), 1u);
  remove_stale_temporaries(dir.str());
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(live));
}

TEST(CaseStore, SignatureRules) {
  // Rejections dedupe by the backend's message whatever the ops.
  const Verdict rejection{VerdictKind::kRejection, "ort", "ref", "Gemm: Invalid bias shape", ""};
  EXPECT_EQ(finding_signature(rejection, {"Conv"}), finding_signature(rejection, {"Relu"}));
  // Every segfault says SIGSEGV: crashes also need the op sequence to tell bugs apart.
  const Verdict crash{VerdictKind::kCrash, "ort", "", "worker died: SIGSEGV", ""};
  EXPECT_NE(finding_signature(crash, {"Conv"}), finding_signature(crash, {"Relu", "Add"}));
  EXPECT_EQ(finding_signature(crash, {"Conv"}), finding_signature(crash, {"Conv"}));
  const Verdict numeric{VerdictKind::kNumeric, "ort", "ref", "values differ from ref", ""};
  EXPECT_NE(finding_signature(numeric, {"Conv"}), finding_signature(numeric, {"Relu"}));
}

TEST(CaseStore, OldFloat32OnlyToleranceStillReads) {
  testing::TempDir dir;
  testing::write_file(dir.path() / "case.json", R"({"kind": "numeric", "execution": "ort",
      "executions": ["ref", "ort"], "tolerance": {"float32_atol": 0.5, "float32_rtol": 0.25}})");
  auto record = read_case_record(dir.str());
  ASSERT_TRUE(record) << record.error();
  EXPECT_EQ(record->tolerances, (std::map<DType, Tolerance>{{DType::kFloat, {0.5, 0.25}}}));
}

TEST(CaseStore, ReportHandlesHalfPrecisionOutputs) {
  testing::TempDir dir;
  auto half = parse_model_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[2] x) => (float16[2] y) {
      y = Relu(x)
    }
  )");
  ASSERT_TRUE(half) << half.error();
  CaseRecord record = sample_record();
  record.tolerances = {{DType::kFloat16, {1e-2, 2e-2}}};
  auto path = write_case(dir.str(), record, *half, *half, {}, {}, nullptr);
  ASSERT_TRUE(path) << path.error();
  const std::string report = testing::read_file(std::filesystem::path(*path) / "report.md");
  EXPECT_NE(report.find(R"(tolerance = {"float16": (0.01, 0.02)})"), std::string::npos) << report;
  EXPECT_NE(report.find("astype(np.float64)"), std::string::npos) << report;
  EXPECT_EQ(report.find("bfloat16"), std::string::npos) << report;

  auto bf16 = parse_model_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bfloat16[2] x) => (bfloat16[2] y) {
      y = Relu(x)
    }
  )");
  ASSERT_TRUE(bf16) << bf16.error();
  record.ops = {"Relu"};
  record.id = "numeric-ort-bf16";
  auto bf16_path = write_case(dir.str(), record, *bf16, *bf16, {}, {}, nullptr);
  ASSERT_TRUE(bf16_path) << bf16_path.error();
  const std::string bf16_report =
      testing::read_file(std::filesystem::path(*bf16_path) / "report.md");
  EXPECT_NE(bf16_report.find("cannot be fed or fetched through onnxruntime's Python API"),
            std::string::npos)
      << bf16_report;
}

TEST(CaseStore, UnreadableCaseIsAnError) {
  testing::TempDir dir;
  testing::write_file(dir.path() / "model.onnx", "\x08\x01garbage-not-a-model");
  auto tc = read_test_case(dir.str());
  EXPECT_FALSE(tc);
}

}  // namespace
}  // namespace onnxfuzz
