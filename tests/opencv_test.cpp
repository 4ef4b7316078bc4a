// The `opencv` execution (OpenCV DNN in a worker), its committed support matrix, `--target`
// and the exemption of rejections the matrix predicts.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <vector>

#include "fuzzer/evaluation.h"
#include "generators/generator.h"
#include "generators/model_io.h"
#include "oracles/backend_gaps.h"
#include "oracles/execution.h"
#include "oracles/support_matrix.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

namespace fs = std::filesystem;
using testing::run_onnxfuzz;
using testing::TempDir;

#ifdef ONNXFUZZ_HAVE_OPENCV

std::unique_ptr<Execution> make_opencv() {
  auto execution = make_execution("opencv", ExecutionOptions{});
  if (!execution) ADD_FAILURE() << execution.error();
  return execution ? std::move(*execution) : nullptr;
}

Tensor floats(Shape shape, std::vector<float> values) { return Tensor::of_floats(shape, values); }

// A model in ONNX text, its inputs, and every output's expected shape and values.
struct FixedModel {
  const char* name;
  const char* text;
  TensorMap inputs;
  std::map<std::string, Tensor> expected;
};

std::vector<FixedModel> fixed_models() {
  return {
      {"add-relu", testing::kAddRelu,
       {{"x", floats({2, 3}, {-1, 2, -3, 4, -5, 6})}, {"y", floats({2, 3}, {0.5, 0.5, 0.5, 0.5, 0.5, 0.5})}},
       {{"z", floats({2, 3}, {0, 2.5, 0, 4.5, 0, 6.5})}}},
      // OpenCV 4.6 needs kernel_shape, which ONNX makes optional (the campaign's finding).
      {"conv-2x2-ones", R"(
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[1,1,3,3] x) => (float[1,1,2,2] y)
          <float[1,1,2,2] w = {1.0, 1.0, 1.0, 1.0}> {
          y = Conv <kernel_shape = [2, 2]> (x, w)
        })",
       {{"x", floats({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})}},
       {{"y", floats({1, 1, 2, 2}, {12, 16, 24, 28})}}},
      {"matmul-initializer", R"(
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[2,3] a) => (float[2,2] y) <float[3,2] b = {1.0, 0.0, 0.0, 1.0, 1.0, 1.0}> {
          y = MatMul(a, b)
        })",
       {{"a", floats({2, 3}, {1, 2, 3, 4, 5, 6})}},
       {{"y", floats({2, 2}, {4, 5, 10, 11})}}},
      {"softmax", R"(
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[1,3] x) => (float[1,3] y) {
          y = Softmax <axis = -1> (x)
        })",
       {{"x", floats({1, 3}, {0.0f, std::log(2.0f), std::log(3.0f)})}},
       {{"y", floats({1, 3}, {1.0f / 6, 2.0f / 6, 3.0f / 6})}}},
      {"two-outputs", R"(
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[1,4] x) => (float[1,4] s, float[1,4] n) {
          s = Sigmoid(x)
          n = Neg(x)
        })",
       {{"x", floats({1, 4}, {0, 1, -1, 2})}},
       {{"s", floats({1, 4}, {0.5f, 0.7310586f, 0.2689414f, 0.8807971f})},
        {"n", floats({1, 4}, {0, -1, 1, -2})}}},
  };
}

TEST(Opencv, FixedModelsGiveTheirKnownOutputs) {
  auto opencv = make_opencv();
  ASSERT_NE(opencv, nullptr);
  for (const FixedModel& fixed : fixed_models()) {
    SCOPED_TRACE(fixed.name);
    auto model = parse_model_text(fixed.text);
    ASSERT_TRUE(model.has_value()) << model.error();
    const RunResult result = opencv->run(ModelUnderTest::view(*model), fixed.inputs);
    ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
    ASSERT_EQ(result.outputs.size(), fixed.expected.size());
    for (const auto& [name, want] : fixed.expected) {
      SCOPED_TRACE(name);
      auto got = result.outputs.find(name);
      ASSERT_NE(got, result.outputs.end());
      EXPECT_EQ(got->second.dtype, DType::kFloat);
      ASSERT_EQ(got->second.shape, want.shape);
      for (int64_t i = 0; i < want.numel(); ++i)
        EXPECT_NEAR(got->second.as_double(i), want.as_double(i), 1e-5) << "element " << i;
    }
  }
}

TEST(Opencv, ReportsItsVersionAndCarriesFloat32Only) {
  auto opencv = make_opencv();
  ASSERT_NE(opencv, nullptr);
  EXPECT_TRUE(opencv->version().starts_with("opencv 4.")) << opencv->version();
  const CarriedDtypes dtypes = opencv->carried_dtypes();
  EXPECT_EQ(dtypes.carried, std::vector<DType>{DType::kFloat});
  EXPECT_EQ(dtypes.carried.size() + dtypes.not_carried.size(), all_dtypes().size());
  for (const auto& [dtype, reason] : dtypes.not_carried) EXPECT_FALSE(reason.empty());
}

// Garbage and a truncated model are clean errors, and the worker keeps serving.
TEST(Opencv, CorruptModelIsACleanError) {
  auto opencv = make_opencv();
  ASSERT_NE(opencv, nullptr);
  auto model = parse_model_text(testing::kAddRelu);
  ASSERT_TRUE(model.has_value());
  const std::string bytes = serialize_model(*model);
  const TensorMap inputs = fixed_models()[0].inputs;
  for (const std::string& corrupt :
       {std::string("this is not an ONNX model"), bytes.substr(0, bytes.size() / 2)}) {
    SCOPED_TRACE(corrupt.size());
    ModelUnderTest mut;
    mut.bytes = corrupt;
    const RunResult result = opencv->run(mut, inputs);
    EXPECT_EQ(result.status, RunStatus::kError) << result.message;
    EXPECT_FALSE(result.message.empty());
  }
  const RunResult after = opencv->run(ModelUnderTest::view(*model), inputs);
  EXPECT_EQ(after.status, RunStatus::kOk) << after.message;
}

// Signals are not caught: OpenCV 4.6 dereferences a null blob on a BatchNormalization whose
// operands are all initializers (found by the first campaign), and that is a crash on this
// model, after which the worker restarts and runs the next model.
TEST(Opencv, CrashInOpencvIsACrashOfThatModel) {
  auto opencv = make_opencv();
  ASSERT_NE(opencv, nullptr);
  auto crashing = parse_model_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g () => (float[1,2,1] y)
      <float[1,2,1] x = {0.5, -0.5}, float[2] s = {1.0, 2.0}, float[2] b = {0.0, 1.0},
       float[2] m = {0.0, 0.0}, float[2] v = {1.0, 1.0}> {
      y = BatchNormalization(x, s, b, m, v)
    })");
  ASSERT_TRUE(crashing.has_value()) << crashing.error();
  const RunResult crash = opencv->run(ModelUnderTest::view(*crashing), {});
  EXPECT_EQ(crash.status, RunStatus::kCrash) << crash.message;
  EXPECT_NE(crash.message.find("SIG"), std::string::npos) << crash.message;
  auto model = parse_model_text(testing::kAddRelu);
  ASSERT_TRUE(model.has_value());
  const RunResult after = opencv->run(ModelUnderTest::view(*model), fixed_models()[0].inputs);
  EXPECT_EQ(after.status, RunStatus::kOk) << after.message;
}

// A float32 single-op model of every pair the committed matrix says OpenCV rejects by naming
// the node: run on ref and opencv, the rejection is `unsupported`, not a finding.
TEST(Opencv, RejectionOfAnUnsupportedPairIsUnsupported) {
  auto matrix = load_target_matrix("opencv");
  ASSERT_TRUE(matrix.has_value()) << matrix.error();
  auto ref = make_execution("ref", ExecutionOptions{});
  ASSERT_TRUE(ref.has_value());
  auto opencv = make_opencv();
  ASSERT_NE(opencv, nullptr);
  Execution* executions[] = {ref->get(), opencv.get()};
  int checked = 0;
  for (const auto& [op, by_dtype] : matrix->pairs) {
    auto pair = by_dtype.find(DType::kFloat);
    if (pair == by_dtype.end() || pair->second.outcome != "not-implemented") continue;
    GenPolicy policy;
    policy.only_ops = {op};
    policy.dtype_weights = {{DType::kFloat, 1.0}};
    policy.min_nodes = policy.max_nodes = 1;
    policy.patterns = false;
    policy.prob_edge = 0;
    auto generated = generate_model(policy, 1);
    if (!generated || generated->model.graph().node_size() != 1) continue;
    const auto& graph = generated->model.graph();
    bool all_float = true;
    for (const auto* list : {&graph.input(), &graph.output()})
      for (const auto& info : *list)
        all_float = all_float && info.type().tensor_type().elem_type() == onnx::TensorProto::FLOAT;
    if (!all_float) continue;
    SCOPED_TRACE(op);
    const Evaluation eval = evaluate_model(generated->model, generated->inputs, executions, {});
    ASSERT_EQ(eval.observations.size(), 2u);
    const RunResult& result = eval.observations[1].result;
    EXPECT_EQ(result.status, RunStatus::kUnsupported) << result.message;
    for (const Verdict& verdict : eval.verdicts) EXPECT_NE(verdict.execution, "opencv") << verdict.message;
    if (++checked == 5) break;
  }
  EXPECT_GT(checked, 0) << "the committed matrix lists no float32 pair OpenCV refuses by name";
}

#else

TEST(Opencv, WithoutOpencvTheExecutionSaysHowToGetIt) {
  auto execution = make_execution("opencv", ExecutionOptions{});
  ASSERT_FALSE(execution.has_value());
  EXPECT_NE(execution.error().find("install libopencv-dnn-dev and rebuild"), std::string::npos);
}

#endif

// ---- the support matrix, which needs no OpenCV -----------------------------------------------

constexpr const char* kMatrix = R"({
  "execution": "opencv", "version": "opencv 4.6.0", "carried": ["float32"],
  "pairs": [
    {"op": "Relu", "dtype": "float32", "outcome": "runs"},
    {"op": "Resize", "dtype": "float32", "outcome": "partial",
     "attributes": {"mode=nearest": {"runs": 2, "fails": 0}, "mode=cubic": {"runs": 0, "fails": 1}}},
    {"op": "Mod", "dtype": "float32", "outcome": "not-implemented", "reported_op": "Mod"}
  ]})";

onnx::NodeProto node_of(const char* op, const char* mode = nullptr) {
  onnx::NodeProto node;
  node.set_op_type(op);
  node.add_input("x");
  node.add_output("y");
  if (mode != nullptr) {
    auto* attribute = node.add_attribute();
    attribute->set_name("mode");
    attribute->set_type(onnx::AttributeProto::STRING);
    attribute->set_s(mode);
  }
  return node;
}

TEST(SupportMatrix, ParsesPairsOutcomesAndAttributeCounts) {
  auto matrix = parse_support_matrix(kMatrix);
  ASSERT_TRUE(matrix.has_value()) << matrix.error();
  EXPECT_EQ(matrix->execution, "opencv");
  EXPECT_EQ(matrix->carried, std::vector<DType>{DType::kFloat});
  EXPECT_TRUE(matrix->supports("Relu", DType::kFloat));
  EXPECT_TRUE(matrix->supports("Resize", DType::kFloat));
  EXPECT_FALSE(matrix->supports("Mod", DType::kFloat));
  EXPECT_FALSE(matrix->supports("Relu", DType::kInt64));  // not probed: not supported
  EXPECT_FALSE(matrix->supports("Conv", DType::kFloat));
  EXPECT_FALSE(matrix->predicts_rejection(node_of("Relu"), DType::kFloat));
  EXPECT_TRUE(matrix->predicts_rejection(node_of("Mod"), DType::kFloat));
  EXPECT_TRUE(matrix->predicts_rejection(node_of("Relu"), DType::kDouble));
  EXPECT_FALSE(matrix->predicts_rejection(node_of("Resize", "nearest"), DType::kFloat));
  EXPECT_TRUE(matrix->predicts_rejection(node_of("Resize", "cubic"), DType::kFloat));
  // A value the probe never saw is not held against the node.
  EXPECT_FALSE(matrix->predicts_rejection(node_of("Resize", "linear"), DType::kFloat));
}

TEST(SupportMatrix, MalformedMatricesAreErrors) {
  const char* bad[] = {
      "not json",
      "[]",
      R"({"pairs": []})",
      R"({"execution": "opencv", "pairs": [{"op": "Relu", "outcome": "runs"}]})",
      R"({"execution": "opencv", "pairs": [{"op": "Relu", "dtype": "float99", "outcome": "runs"}]})",
      R"({"execution": "opencv", "carried": ["nope"], "pairs": []})",
  };
  for (const char* text : bad) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(parse_support_matrix(text).has_value());
  }
  EXPECT_FALSE(load_support_matrix("/nonexistent/matrix.json").has_value());
  EXPECT_FALSE(load_target_matrix("nosuch").has_value());
}

TEST(SupportMatrix, CommittedOpencvMatrixLoads) {
  auto matrix = load_target_matrix("opencv");
  ASSERT_TRUE(matrix.has_value()) << matrix.error();
  EXPECT_EQ(matrix->execution, "opencv");
  EXPECT_TRUE(matrix->version.starts_with("opencv 4.6")) << matrix->version;
  EXPECT_EQ(matrix->carried, std::vector<DType>{DType::kFloat});
  int runs = 0, refused = 0;
  for (const auto& [op, by_dtype] : matrix->pairs) {
    ASSERT_NE(find_op_spec(op), nullptr) << op << " is not a registered op";
    for (const auto& [dtype, pair] : by_dtype) (pair.runs() ? runs : refused) += 1;
  }
  EXPECT_GT(runs, 0);
  EXPECT_GT(refused, 0);
}

// A campaign with opencv avoids the pairs its matrix probed and never saw run, and only those.
TEST(SupportMatrix, DocumentedGapsOfOpencvAreThePairsThatNeverRan) {
  auto matrix = load_target_matrix("opencv");
  ASSERT_TRUE(matrix.has_value()) << matrix.error();
  const auto gaps = documented_gaps(std::vector<std::string>{"opencv"});
  int refused = 0;
  for (const auto& [op, by_dtype] : matrix->pairs) {
    for (const auto& [dtype, pair] : by_dtype) {
      const bool avoided = gaps.contains(op) && gaps.at(op).contains(dtype);
      EXPECT_EQ(avoided, !pair.runs()) << op << " " << dtype_name(dtype);
      refused += !pair.runs();
    }
  }
  EXPECT_GT(refused, 0);
}

// The rejection oracle asks the committed matrix: a node-naming OpenCV rejection of an op the
// matrix says does not run is a backend gap; the same message about an op it runs is not.
TEST(SupportMatrix, OpencvRejectionIsAGapExactlyWhereTheMatrixSaysSo) {
  auto matrix = load_target_matrix("opencv");
  ASSERT_TRUE(matrix.has_value()) << matrix.error();
  std::string unsupported, supported;
  for (const auto& [op, by_dtype] : matrix->pairs) {
    auto pair = by_dtype.find(DType::kFloat);
    if (pair == by_dtype.end() || !find_op_spec(op)->allows_dtype(DType::kFloat)) continue;
    if (op == "Identity" || find_op_spec(op)->since_version > 17) continue;
    std::string& slot = pair->second.runs() ? supported : unsupported;
    if (slot.empty() && pair->second.outcome != "partial") slot = op;
  }
  ASSERT_FALSE(unsupported.empty());
  ASSERT_FALSE(supported.empty());
  for (const auto& [op, gap] : {std::pair{unsupported, true}, std::pair{supported, false}}) {
    SCOPED_TRACE(op);
    onnx::ModelProto model;
    model.set_ir_version(8);
    model.add_opset_import()->set_version(17);
    auto* graph = model.mutable_graph();
    *graph->add_node() = node_of(op.c_str());
    for (auto* info : {graph->add_input(), graph->add_output()}) {
      info->set_name(info == &graph->input(0) ? "x" : "y");
      info->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    }
    const std::string message = fmt::format(
        "OpenCV: OpenCV(4.6.0) onnx_importer.cpp:1: error: (-2:Unspecified error) in function "
        "'handleNode' > Node [{}@ai.onnx]:(onnx_node!n0) parse error: not supported",
        op);
    const BackendGap* row = find_backend_gap("opencv", model, message);
    EXPECT_EQ(row != nullptr, gap);
    if (row != nullptr) {
      EXPECT_EQ(row->op, op);
      EXPECT_EQ(row->dtype, DType::kFloat);
    }
    // The same message from another execution is no gap of the matrix.
    EXPECT_EQ(find_backend_gap("ort", model, message), nullptr);
  }
}

// `--target opencv`: every generated node is a pair the matrix says runs, in a carried dtype.
TEST(SupportMatrix, TargetOpencvOnlyEmitsMatrixPairs) {
  auto matrix = load_target_matrix("opencv");
  ASSERT_TRUE(matrix.has_value()) << matrix.error();
  TempDir out;
  auto result = run_onnxfuzz("gen --target opencv --count 60 --seed 5 --out " + out.str());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  int nodes = 0;
  for (const auto& entry : fs::directory_iterator(out.path())) {
    if (entry.path().extension() != ".onnx") continue;
    SCOPED_TRACE(entry.path().filename().string());
    auto model = load_model(entry.path().string());
    ASSERT_TRUE(model.has_value()) << model.error();
    auto inferred = validate_model(*model);
    ASSERT_TRUE(inferred.has_value()) << inferred.error();
    std::map<std::string, int32_t> types;
    const auto& graph = inferred->graph();
    for (const auto* list : {&graph.input(), &graph.output(), &graph.value_info()})
      for (const auto& info : *list) types[info.name()] = info.type().tensor_type().elem_type();
    for (const auto& init : graph.initializer()) types[init.name()] = init.data_type();
    for (const auto* list : {&graph.input(), &graph.output()})
      for (const auto& info : *list)
        EXPECT_EQ(info.type().tensor_type().elem_type(), onnx::TensorProto::FLOAT) << info.name();
    for (const auto& node : graph.node()) {
      ASSERT_TRUE(types.contains(node.input(0))) << node.op_type();
      const DType dtype = find_dtype(types[node.input(0)])->dtype;
      EXPECT_TRUE(matrix->supports(node.op_type(), dtype))
          << node.op_type() << "(" << dtype_name(dtype) << ")";
      ++nodes;
    }
  }
  EXPECT_GT(nodes, 60);
  EXPECT_EQ(run_onnxfuzz("gen --target nosuch --count 1 --out " + out.str()).exit_code, 2);
}

}  // namespace
}  // namespace onnxfuzz
