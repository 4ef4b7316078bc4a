// ort-optimized: ORT's ORT_ENABLE_ALL rewrite of a model, run by the reference. Fixed models
// with known outputs, the rewrites read off the optimized graph, ops the reference lacks, and
// the case directory keeping optimized.onnx and the rewrite list.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "corpus/case_store.h"
#include "fuzzer/evaluation.h"
#include "fuzzer/finding.h"
#include "generators/model_io.h"
#include "oracles/execution.h"
#include "oracles/graph_rewrites.h"
#include "oracles/reference.h"
#include "oracles/worker_protocol.h"
#include "tests/reference_fixtures.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

using fixtures::doubles_of;
using fixtures::tensor_of;

std::unique_ptr<Execution> make_ort_optimized() {
  auto optimized = make_execution("ort-optimized", ExecutionOptions{});
  if (!optimized) {
    EXPECT_NE(optimized.error().find("scripts/setup.sh"), std::string::npos) << optimized.error();
    return nullptr;
  }
  auto ready = (*optimized)->check_ready();
  EXPECT_TRUE(ready) << (ready ? "" : ready.error());
  return ready ? std::move(*optimized) : nullptr;
}

// A text-format model whose nodes are named n0, n1, ... in order (ORT names fused nodes after
// their source node, so the names make the rewrites readable).
onnx::ModelProto named_model(const std::string& text) {
  onnx::ModelProto model = fixtures::parse(text);
  for (int i = 0; i < model.graph().node_size(); ++i) {
    model.mutable_graph()->mutable_node(i)->set_name("n" + std::to_string(i));
  }
  return model;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::ranges::find(list, item) != list.end();
}

// x[2,3] @ w + b: ORT's MatMulAddFusion makes one Gemm of it.
constexpr const char* kMatMulAdd = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[2,2] y)
<float[3,2] w = {1, 0, 0, 1, 1, 1}, float[2] b = {10, 20}>
{
  mm = MatMul(x, w)
  y = Add(mm, b)
}
)";
const std::vector<double> kMatMulAddX = {1, 2, 3, 4, 5, 6};
const std::vector<double> kMatMulAddY = {14, 25, 20, 31};

// Conv then Relu: ORT's ConvActivationFusion turns the Conv into com.microsoft.FusedConv.
constexpr const char* kConvRelu = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,1,3,3] x) => (float[1,1,2,2] y)
<float[1,1,2,2] w = {1, 0, 0, 1}, float[1] bias = {0.5}>
{
  c = Conv(x, w, bias)
  y = Relu(c)
}
)";
const std::vector<double> kConvReluX = {1, -2, 3, -4, 5, -6, 7, -8, 9};
const std::vector<double> kConvReluY = {6.5, 0, 0, 14.5};

TEST(OrtOptimized, FixedModelsGiveTheirKnownOutputs) {
  auto optimized = make_ort_optimized();
  if (!optimized) GTEST_SKIP() << "onnxruntime-node unavailable";
  struct Known {
    std::string name;
    onnx::ModelProto model;
    TensorMap inputs;
    std::string output;
    std::vector<double> expected;
  };
  const std::vector<Known> known = {
      {"add_relu", named_model(testing::kAddRelu),
       {{"x", tensor_of(DType::kFloat, {2, 3}, {-1, 2, -3, 4, -5, 6})},
        {"y", tensor_of(DType::kFloat, {2, 3}, {0.5, 0.5, 0.5, 0.5, 0.5, 0.5})}},
       "z", {0, 2.5, 0, 4.5, 0, 6.5}},
      {"matmul_add", named_model(kMatMulAdd),
       {{"x", tensor_of(DType::kFloat, {2, 3}, kMatMulAddX)}}, "y", kMatMulAddY},
      {"sqrt_float16", named_model(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float16[3] h) => (float16[3] r) { r = Sqrt(h) }
)"),
       {{"h", tensor_of(DType::kFloat16, {3}, {4, 9, 0.25})}}, "r", {2, 3, 0.5}},
  };
  for (const Known& k : known) {
    SCOPED_TRACE(k.name);
    const RunResult result = optimized->run(ModelUnderTest::view(k.model), k.inputs);
    ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
    EXPECT_EQ(doubles_of(result.outputs.at(k.output)), k.expected);
    // Every run carries ORT's rewritten model, which parses.
    ASSERT_EQ(result.artifacts.size(), 1u);
    EXPECT_EQ(result.artifacts[0].file_name, "optimized.onnx");
    onnx::ModelProto rewritten;
    EXPECT_TRUE(rewritten.ParseFromString(result.artifacts[0].bytes));
    EXPECT_TRUE(result.notes.contains("rewrites"));
  }
}

TEST(OrtOptimized, MatMulAddFusionIsRecordedAndRunsAsGemm) {
  auto optimized = make_ort_optimized();
  if (!optimized) GTEST_SKIP() << "onnxruntime-node unavailable";
  const onnx::ModelProto model = named_model(kMatMulAdd);
  const RunResult result = optimized->run(
      ModelUnderTest::view(model), {{"x", tensor_of(DType::kFloat, {2, 3}, kMatMulAddX)}});
  ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
  EXPECT_EQ(doubles_of(result.outputs.at("y")), kMatMulAddY);
  const auto& rewrites = result.notes.at("rewrites");
  EXPECT_TRUE(contains(rewrites, "MatMulAddFusion")) << fmt::format("{}", fmt::join(rewrites, "; "));
  const auto& changes = result.notes.at("node_changes");
  EXPECT_TRUE(contains(changes, "removed MatMul 'n0'")) << fmt::format("{}", fmt::join(changes, "; "));
  EXPECT_TRUE(contains(changes, "removed Add 'n1'")) << fmt::format("{}", fmt::join(changes, "; "));
  onnx::ModelProto rewritten;
  ASSERT_TRUE(rewritten.ParseFromString(result.artifacts.at(0).bytes));
  EXPECT_EQ(op_sequence(rewritten.graph()), std::vector<std::string>{"Gemm"});
}

TEST(OrtOptimized, ConvActivationFusionIsRecordedAsAnOpChange) {
  auto optimized = make_ort_optimized();
  if (!optimized) GTEST_SKIP() << "onnxruntime-node unavailable";
  auto ref = make_execution("ref", ExecutionOptions{});
  ASSERT_TRUE(ref) << ref.error();
  const onnx::ModelProto model = named_model(kConvRelu);
  const TensorMap inputs = {{"x", tensor_of(DType::kFloat, {1, 1, 3, 3}, kConvReluX)}};
  std::vector<Execution*> executions{optimized.get(), ref->get()};
  const Evaluation eval = evaluate_model(model, inputs, executions, OracleConfig{});
  ASSERT_EQ(eval.observations.size(), 2u);
  const RunResult& result = eval.observations[0].result;
  // The Conv keeps its name and becomes FusedConv (NchwcTransformer is off, so no nchwc ops).
  const auto& rewrites = result.notes.at("rewrites");
  EXPECT_TRUE(contains(rewrites, "n0: Conv -> com.microsoft.FusedConv"))
      << fmt::format("{}", fmt::join(rewrites, "; "));
  EXPECT_TRUE(contains(result.notes.at("node_changes"), "removed Relu 'n1'"));
  // Whether the reference has a FusedConv kernel or not, the oracle raises nothing: it runs
  // and agrees, or the missing kernel is `unsupported`, naming the op.
  EXPECT_TRUE(eval.verdicts.empty()) << eval.verdicts.front().message;
  if (result.status == RunStatus::kOk) {
    EXPECT_EQ(doubles_of(result.outputs.at("y")), kConvReluY);
  } else {
    EXPECT_EQ(result.status, RunStatus::kUnsupported) << result.message;
    EXPECT_NE(result.message.find("FusedConv"), std::string::npos) << result.message;
  }
}

TEST(OrtOptimized, AnOpTheReferenceLacksIsUnsupportedNotAFinding) {
  // Det: ORT has a CPU kernel and leaves it alone; the reference has none.
  if (reference_supports("Det")) GTEST_SKIP() << "the reference has Det now; pick another op";
  auto optimized = make_ort_optimized();
  if (!optimized) GTEST_SKIP() << "onnxruntime-node unavailable";
  const onnx::ModelProto model = named_model(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,2] a) => (float d) { d = Det(a) }
)");
  std::vector<Execution*> executions{optimized.get()};
  const Evaluation eval = evaluate_model(
      model, {{"a", tensor_of(DType::kFloat, {2, 2}, {1, 2, 3, 4})}}, executions, OracleConfig{});
  ASSERT_EQ(eval.observations.size(), 1u);
  const RunResult& result = eval.observations[0].result;
  EXPECT_EQ(result.status, RunStatus::kUnsupported) << result.message;
  EXPECT_NE(result.message.find("unsupported op 'Det'"), std::string::npos) << result.message;
  EXPECT_TRUE(eval.verdicts.empty());
  ASSERT_EQ(eval.unsupported.size(), 1u);
  EXPECT_EQ(eval.unsupported[0].execution, "ort-optimized");
  EXPECT_EQ(eval.unsupported[0].kind, UnsupportedKind::kUnsupportedOp);
  EXPECT_TRUE(no_execution_ran(eval));
}

TEST(OrtOptimized, ReportsOptimizerAndReferenceVersions) {
  auto optimized = make_ort_optimized();
  if (!optimized) GTEST_SKIP() << "onnxruntime-node unavailable";
  const auto lock = nlohmann::json::parse(
      testing::read_file(std::filesystem::path(ONNXFUZZ_SOURCE_DIR) / "package-lock.json"));
  const std::string pinned =
      lock["packages"]["node_modules/onnxruntime-node"]["version"].get<std::string>();
  const std::string version = optimized->version();
  EXPECT_EQ(version.rfind("onnxruntime-node " + pinned + " graph optimizer", 0), 0u) << version;
  EXPECT_NE(version.find(ReferenceExecution().version()), std::string::npos) << version;
  EXPECT_FALSE(optimized->carried_dtypes().carries(DType::kBfloat16));
}

TEST(OrtOptimized, CaseKeepsOptimizedModelAndRewrites) {
  auto optimized = make_ort_optimized();
  if (!optimized) GTEST_SKIP() << "onnxruntime-node unavailable";
  // A planted value fault on Relu makes a numeric finding; ort-optimized runs beside it and
  // leaves its side data in the case.
  ::setenv("ONNXFUZZ_PLANTED", "value=Relu", 1);
  auto planted = make_execution("planted", ExecutionOptions{});
  ASSERT_TRUE(planted) << planted.error();
  auto ref = make_execution("ref", ExecutionOptions{});
  ASSERT_TRUE(ref) << ref.error();
  const onnx::ModelProto model = named_model(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[2,2] z)
<float[3,2] w = {1, 0, 0, 1, 1, 1}, float[2] b = {10, 20}>
{
  mm = MatMul(x, w)
  y = Add(mm, b)
  z = Relu(y)
}
)");
  const TensorMap inputs = {{"x", tensor_of(DType::kFloat, {2, 3}, kMatMulAddX)}};
  std::vector<Execution*> executions{ref->get(), planted->get(), optimized.get()};
  const Evaluation eval = evaluate_model(model, inputs, executions, OracleConfig{});
  const Verdict* verdict = primary_verdict(eval.verdicts);
  ASSERT_NE(verdict, nullptr);
  ASSERT_EQ(verdict->execution, "planted");
  EXPECT_EQ(eval.verdicts.size(), 1u) << "ort-optimized must agree with ref";

  testing::TempDir out;
  FindingContext context;
  context.out_dir = out.str();
  context.executions = executions;
  context.minimize_enabled = false;
  auto stored = store_finding(context, model, inputs, *verdict, std::nullopt);
  ::unsetenv("ONNXFUZZ_PLANTED");
  ASSERT_TRUE(stored) << stored.error();
  const std::filesystem::path dir = stored->case_dir;
  ASSERT_TRUE(std::filesystem::exists(dir / "optimized.onnx"));
  auto rewritten = load_model((dir / "optimized.onnx").string());
  ASSERT_TRUE(rewritten) << rewritten.error();
  EXPECT_FALSE(contains(op_sequence(rewritten->graph()), "MatMul"));

  auto record = read_case_record(dir.string());
  ASSERT_TRUE(record) << record.error();
  ASSERT_TRUE(record->artifacts.contains("ort-optimized"));
  const CaseArtifacts& side = record->artifacts.at("ort-optimized");
  EXPECT_EQ(side.files, std::vector<std::string>{"optimized.onnx"});
  EXPECT_TRUE(contains(side.notes.at("rewrites"), "MatMulAddFusion"));
  EXPECT_FALSE(record->artifacts.contains("ref"));  // no side data, no entry
  // And it is plain JSON for triage.
  const auto json = nlohmann::json::parse(testing::read_file(dir / "case.json"));
  EXPECT_TRUE(json["artifacts"]["ort-optimized"]["notes"]["rewrites"].is_array());
}

TEST(OrtOptimized, OldCasesWithoutArtifactsStillLoad) {
  // corpus/findings/<backend>/<case>/: every corpus, written before case.json had artifacts.
  std::vector<std::string> corpora;
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(ONNXFUZZ_SOURCE_DIR) / "corpus" / "findings")) {
    if (entry.is_directory()) corpora.push_back(entry.path().string());
  }
  auto dirs = find_case_dirs(corpora);
  ASSERT_TRUE(dirs) << dirs.error();
  ASSERT_FALSE(dirs->empty());
  for (const auto& dir : *dirs) {
    auto record = read_case_record(dir);
    ASSERT_TRUE(record) << record.error();
    EXPECT_TRUE(record->artifacts.empty()) << dir;
  }
}

TEST(OrtOptimized, OptimizeRequestRoundTripsWithItsModelOnly) {
  WorkerRequest request;
  request.kind = kRequestOptimize;
  request.model_bytes = "model bytes";
  auto decoded = decode_request(encode_request(request));
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(decoded->kind, kRequestOptimize);
  EXPECT_EQ(decoded->model_bytes, "model bytes");
  EXPECT_TRUE(decoded->inputs.empty());
  // Its answer is the text form holding the optimized model's bytes, binary included.
  WorkerResponse response;
  response.text = std::string("\x08\x08\x00\x01onnx", 8);
  auto answer = decode_response(encode_response(response));
  ASSERT_TRUE(answer) << answer.error();
  EXPECT_EQ(answer->text, response.text);
  EXPECT_TRUE(answer->outputs.empty());
}

TEST(GraphRewrites, PassNamesFromFusedNodeNamesAndOpChanges) {
  onnx::ModelProto before = named_model(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x, float[3,2] w, float[2] b) => (float[2,2] z)
{
  mm = MatMul(x, w)
  y = Add(mm, b)
  z = Relu(y)
}
)");
  onnx::GraphProto after;
  auto* gemm = after.add_node();
  gemm->set_op_type("Gemm");
  gemm->set_name("n0/MatMulAddFusion/GemmTransposeFusion/_token_3");
  auto* relu = after.add_node();
  relu->set_op_type("Gelu");
  relu->set_domain("com.microsoft");
  relu->set_name("n2");
  const GraphRewrites r = graph_rewrites(before.graph(), after);
  EXPECT_EQ(r.rewrites, (std::vector<std::string>{"MatMulAddFusion", "GemmTransposeFusion",
                                                  "n2: Relu -> com.microsoft.Gelu"}));
  EXPECT_EQ(r.node_changes,
            (std::vector<std::string>{"removed MatMul 'n0'", "removed Add 'n1'",
                                      "added Gemm 'n0/MatMulAddFusion/GemmTransposeFusion/_token_3'"}));
  // In-place rewrites and constant folding leave no pass name in a node name.
  onnx::GraphProto in_place;
  *in_place.add_node() = before.graph().node(2);
  auto* pads = in_place.mutable_node(0)->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  pads->add_ints(1);
  in_place.add_initializer()->set_name("y");
  const GraphRewrites folded = graph_rewrites(before.graph(), in_place);
  EXPECT_EQ(folded.rewrites,
            (std::vector<std::string>{"ConstantFolding", "n2: Relu attributes pads changed"}));
  EXPECT_EQ(folded.node_changes, (std::vector<std::string>{"removed MatMul 'n0'",
                                                           "folded Add 'n1' into initializer 'y'"}));
  // Nothing rewritten, nothing reported.
  const GraphRewrites none = graph_rewrites(before.graph(), before.graph());
  EXPECT_TRUE(none.rewrites.empty());
  EXPECT_TRUE(none.node_changes.empty());
}

}  // namespace
}  // namespace onnxfuzz
