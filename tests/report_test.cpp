// Issue-ready reports: fault localization names the planted node, `onnxfuzz report` fills ORT's
// bug template, and the generated repro.mjs reproduces (and only reproduces) a divergence.
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <limits>
#include <set>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "corpus/case_store.h"
#include "corpus/report.h"
#include "fuzzer/finding.h"
#include "fuzzer/localize.h"
#include "fuzzer/report_command.h"
#include "fuzzer/triage.h"
#include "generators/model_io.h"
#include "oracles/reference.h"
#include "test_support.h"

namespace onnxfuzz {
namespace {
namespace fs = std::filesystem;
using testing::run_onnxfuzz;
using testing::TempDir;

// Sqrt sits in the middle: its producers agree, its consumers inherit its error.
constexpr const char* kChain = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x, float[2,3] y) => (float[2,3] z) {
  a = Add(x, y)
  r = Abs(a)
  s = Sqrt(r)
  t = Mul(s, y)
  z = Neg(t)
}
)";

// Two outputs of two dtypes, for repro.mjs's TensorProto decoding.
constexpr const char* kTwoOutputs = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x, int64[3] k) => (float[2,3] z, int64[3] m) {
  a = Abs(x)
  s = Sqrt(a)
  z = Mul(s, x)
  m = Add(k, k)
}
)";

TensorMap chain_inputs() {
  const float x[] = {0.5f, -2.0f, 3.0f, 4.0f, -1.5f, 0.25f};
  const float y[] = {1.0f, 0.5f, -0.75f, 2.0f, 3.0f, -1.0f};
  return {{"x", Tensor::of_floats({2, 3}, x)}, {"y", Tensor::of_floats({2, 3}, y)}};
}

onnx::ModelProto parse(const char* text) {
  auto model = parse_model_text(text);
  EXPECT_TRUE(model.has_value()) << (model ? "" : model.error());
  return *model;
}

// Stores `model` as a case of a `kind` finding against `execution`, judged with ref.
std::string store_case(const TempDir& dir, const onnx::ModelProto& model, const TensorMap& inputs,
                       const std::string& execution, VerdictKind kind,
                       const std::string& message = "planted for the report test") {
  const RunResult expected = run_reference(model, inputs);
  EXPECT_EQ(expected.status, RunStatus::kOk) << expected.message;
  CaseRecord record;
  record.kind = kind;
  record.execution = execution;
  record.executions = {"ref", execution};
  record.ops = op_sequence(model.graph());
  record.message = message;
  record.nodes_before = record.nodes_after = model.graph().node_size();
  record.tolerances = {{DType::kFloat, {1e-3, 1e-2}}, {DType::kInt64, {}}};
  record.versions = {{execution, execution == "ort" ? "onnxruntime-node 1.30.0" : execution}};
  record.signature = execution + "-report-test";
  record.id = case_id(record);
  bool existed = false;
  auto path = write_case(dir.str(), record, model, model, inputs, expected.outputs, &existed);
  EXPECT_TRUE(path.has_value()) << (path ? "" : path.error());
  return *path;
}

struct NodeResult {
  int exit_code = -1;
  std::string output;
};

NodeResult run_repro(const std::string& case_dir) {
  const std::string command = "NODE_PATH=" ONNXFUZZ_SOURCE_DIR "/node_modules node " + case_dir +
                              "/repro.mjs 2>&1";
  NodeResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST(Localize, NamesThePlantedNodeNotItsConsumers) {
  ::setenv("ONNXFUZZ_PLANTED", "value=Sqrt", 1);
  auto ref = make_execution("ref", {});
  auto planted = make_execution("planted", {});
  ASSERT_TRUE(ref && planted);
  const onnx::ModelProto model = parse(kChain);
  const Localization loc = localize(model, chain_inputs(), **ref, **planted);
  ASSERT_EQ(loc.status, LocalizationStatus::kLocalized) << loc.detail;
  EXPECT_EQ(loc.node_index, 2);
  EXPECT_EQ(loc.op_type, "Sqrt");
  EXPECT_EQ(loc.output.name, "s");
  EXPECT_NEAR(loc.output.max_abs_error, 0.5, 1e-6);
  EXPECT_EQ(loc.output.mismatches, 6);
  // Replayed alone on the planted worker's own input values, ref computes something else.
  EXPECT_EQ(loc.evidence, "replay");
  EXPECT_FALSE(loc.replay.agrees);
  EXPECT_EQ(loc.input_types, std::vector<std::string>{"float32 rank 2"});
  EXPECT_FALSE(loc.vanished);
  EXPECT_EQ(loc.exposed_values, 4);  // a, r, s, t (z is an output already)
  ASSERT_EQ(loc.outputs.size(), 1u);
  EXPECT_FALSE(loc.outputs[0].agrees);
}

TEST(Localize, NamesThePlantedShapeFault) {
  ::setenv("ONNXFUZZ_PLANTED", "shape=Transpose", 1);
  auto ref = make_execution("ref", {});
  auto planted = make_execution("planted", {});
  ASSERT_TRUE(ref && planted);
  const onnx::ModelProto model = parse(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[3,2] z) {
  r = Relu(x)
  t = Transpose<perm = [1, 0]>(r)
  z = Neg(t)
}
)");
  const float x[] = {1, -2, 3, -4, 5, -6};
  const Localization loc =
      localize(model, {{"x", Tensor::of_floats({2, 3}, x)}}, **ref, **planted);
  ASSERT_EQ(loc.status, LocalizationStatus::kLocalized) << loc.detail;
  EXPECT_EQ(loc.op_type, "Transpose");
  EXPECT_EQ(loc.attributes, std::vector<std::string>{"perm=[1,0]"});
  EXPECT_TRUE(loc.output.shape_differs);
  EXPECT_EQ(loc.output.baseline_type, "float32[3,2]");
}

// Stands in for an optimizer whose fusion stops applying once inner values are graph outputs:
// wrong (+1) only on the model as given, with the rewrite it "applied" in its notes.
class FusingExecution final : public Execution {
 public:
  explicit FusingExecution(size_t outputs) : outputs_(outputs) {}
  const std::string& name() const override { return name_; }
  std::string version() override { return "fusing 1"; }
  RunResult run(const ModelUnderTest& model, const TensorMap& inputs) override {
    RunResult result = run_reference(model.proto(), inputs);
    if (static_cast<size_t>(model.proto().graph().output_size()) != outputs_) return result;
    for (auto& [name, tensor] : result.outputs) {
      for (int64_t i = 0; i < tensor.numel(); ++i) tensor.values<float>()[i] += 1;
    }
    result.notes["rewrites"] = {"AbsSqrtFusion"};
    return result;
  }

 private:
  size_t outputs_;
  std::string name_ = "fusing";
};

// A consumer's error traced to the node upstream that computes a misshapen value: Add fails on
// the planted worker because Relu's output has an extra dim. Abs is no ancestor of Add, so the
// cut model leaves it out and the node index maps back past it.
TEST(Localize, TracesAConsumersErrorToTheMisshapenNodeUpstream) {
  ::setenv("ONNXFUZZ_PLANTED", "misshape=Relu", 1);
  auto ref = make_execution("ref", {});
  auto planted = make_execution("planted", {});
  ASSERT_TRUE(ref && planted);
  const onnx::ModelProto model = parse(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x, float[2,3] y) => (float[2,3] z) {
  b = Abs(y)
  r = Relu(x)
  s = Add(r, y)
  z = Mul(s, b)
}
)");
  const RunResult failed = (*planted)->run(ModelUnderTest::view(model), chain_inputs());
  ASSERT_EQ(failed.status, RunStatus::kError) << failed.message;
  const Localization loc = localize_error_upstream(model, chain_inputs(), failed.message, **ref,
                                                   **planted);
  ASSERT_EQ(loc.status, LocalizationStatus::kLocalized) << loc.detail;
  EXPECT_EQ(loc.failing_node, 2);
  EXPECT_EQ(loc.node_index, 1);
  EXPECT_EQ(loc.op_type, "Relu");
  EXPECT_TRUE(loc.output.shape_differs);
  EXPECT_EQ(loc.output.target_type, "float32[2,3,1]");
  EXPECT_NE(loc.detail.find("upstream of node 2"), std::string::npos) << loc.detail;

  // Without the fault the same message names a node whose inputs agree: the error is its own.
  ::setenv("ONNXFUZZ_PLANTED", "", 1);
  auto clean = make_execution("planted", {});
  ASSERT_TRUE(clean);
  const Localization own =
      localize_error_upstream(model, chain_inputs(), failed.message, **ref, **clean);
  EXPECT_EQ(own.status, LocalizationStatus::kNoDivergence) << own.detail;
  // A message that names no op of the model (a node the runtime made itself) is traced from
  // the nodes that end the graph; with nothing diverging there, it is not traced.
  const Localization unnamed = localize_error_upstream(
      model, chain_inputs(), "Gemm: Invalid bias shape for broadcast", **ref, **planted);
  ASSERT_EQ(unnamed.status, LocalizationStatus::kLocalized) << unnamed.detail;
  EXPECT_EQ(unnamed.op_type, "Relu");
  EXPECT_EQ(unnamed.failing_node, 2);  // the cut before Mul still fails on the planted worker
  const Localization untraced = localize_error_upstream(
      model, chain_inputs(), "Gemm: Invalid bias shape for broadcast", **ref, **clean);
  EXPECT_NE(untraced.status, LocalizationStatus::kLocalized);
  EXPECT_NE(untraced.detail.find("does not have"), std::string::npos) << untraced.detail;
}

// An execution that is the reference on a rewritten model: each node `rewrite` returns nodes
// for is replaced by them (they compute the node's outputs under the same names, so later nodes
// read what they compute).
class RewritingExecution final : public Execution {
 public:
  using Rewrite = std::function<std::vector<onnx::NodeProto>(const onnx::NodeProto&)>;
  RewritingExecution(std::string name, Rewrite rewrite)
      : name_(std::move(name)), rewrite_(std::move(rewrite)) {}
  const std::string& name() const override { return name_; }
  std::string version() override { return name_ + " 1"; }
  RunResult run(const ModelUnderTest& model, const TensorMap& inputs) override {
    onnx::ModelProto rewritten = model.proto();
    onnx::GraphProto* graph = rewritten.mutable_graph();
    const auto nodes = graph->node();
    graph->clear_node();
    for (const auto& node : nodes) {
      std::vector<onnx::NodeProto> replacement = rewrite_(node);
      if (replacement.empty()) replacement.push_back(node);
      for (auto& n : replacement) *graph->add_node() = std::move(n);
    }
    return run_reference(rewritten, inputs);
  }

 private:
  std::string name_;
  Rewrite rewrite_;
};

onnx::NodeProto node_of(const std::string& op, std::vector<std::string> inputs,
                        const std::string& output, int64_t to = -1) {
  onnx::NodeProto node;
  node.set_op_type(op);
  for (auto& in : inputs) node.add_input(in);
  node.add_output(output);
  if (to >= 0) {
    auto* attr = node.add_attribute();
    attr->set_name("to");
    attr->set_type(onnx::AttributeProto::INT);
    attr->set_i(to);
  }
  return node;
}

// Stands in for ONNX Runtime's Shrink on double, which computes in float32: Shrink's input and
// output are rounded to float32 and back.
RewritingExecution float32_shrink() {
  return RewritingExecution("float32-shrink", [](const onnx::NodeProto& node) {
    std::vector<onnx::NodeProto> nodes;
    if (node.op_type() != "Shrink") return nodes;
    // Input and output rounded to float32, as a float32 kernel reads and writes them.
    const std::string in = node.input(0);
    const std::string out = node.output(0);
    nodes.push_back(node_of("Cast", {in}, in + "_in32", onnx::TensorProto::FLOAT));
    nodes.push_back(node_of("Cast", {in + "_in32"}, in + "_in64", onnx::TensorProto::DOUBLE));
    nodes.push_back(node);
    nodes.back().set_input(0, in + "_in64");
    nodes.back().set_output(0, out + "_exact");
    nodes.push_back(node_of("Cast", {out + "_exact"}, out + "_f32", onnx::TensorProto::FLOAT));
    nodes.push_back(node_of("Cast", {out + "_f32"}, out, onnx::TensorProto::DOUBLE));
    return nodes;
  });
}

Tensor doubles(Shape shape, std::vector<double> values) {
  Tensor t = Tensor::zeros(DType::kDouble, std::move(shape));
  for (size_t i = 0; i < values.size(); ++i) t.set_double(static_cast<int64_t>(i), values[i]);
  return t;
}

// Shrink's float32 rounding is within float64's tolerance (1e-7 relative here); MatMul's
// cancellation (1000.0001 - 1000) grows it to 4e-5 absolute. MatMul's inputs agree within the
// tolerance, so the tolerance rule alone would blame MatMul, which computes exactly what ref
// computes from the same inputs.
TEST(Localize, NamesTheNodeComputedInFloat32NotTheCancellationThatGrowsIt) {
  auto ref = make_execution("ref", {});
  ASSERT_TRUE(ref);
  RewritingExecution shrink = float32_shrink();
  const onnx::ModelProto model = parse(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (double[2,2] x, double[2,1] w) => (double[2,1] z) {
  s = Shrink(x)
  z = MatMul(s, w)
}
)");
  const TensorMap inputs = {{"x", doubles({2, 2}, {1000.0001, 1000.0, 3.0, 2.0})},
                            {"w", doubles({2, 1}, {1.0, -1.0})}};
  const Localization loc = localize(model, inputs, **ref, shrink);
  ASSERT_EQ(loc.status, LocalizationStatus::kLocalized) << loc.detail;
  EXPECT_EQ(loc.op_type, "Shrink");
  EXPECT_EQ(loc.evidence, "precision");
  EXPECT_TRUE(loc.output.agrees);  // within the tolerance: only its precision gives it away
  EXPECT_GT(loc.replay.max_rel_error, 1e-9);
  EXPECT_NE(loc.detail.find("float32 precision"), std::string::npos) << loc.detail;
  ASSERT_EQ(loc.outputs.size(), 1u);
  EXPECT_FALSE(loc.outputs[0].agrees);

  // One Shrink whose bias cancels its input (1000.0001 - 1000): its float32 result is off by
  // 4e-5, beyond the tolerance on its own. Still named for its precision, and one root cause
  // with the case above whatever the bias; a float64 Shrink wrong by 0.5 is a wrong value.
  const onnx::ModelProto alone = parse(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (double[2] x) => (double[2] s) {
  s = Shrink<bias = 1000.0>(x)
}
)");
  const TensorMap near_bias = {{"x", doubles({2}, {1000.0001, 3000.0})}};
  const Localization single = localize(alone, near_bias, **ref, shrink);
  ASSERT_EQ(single.status, LocalizationStatus::kLocalized) << single.detail;
  EXPECT_EQ(single.evidence, "precision");
  EXPECT_FALSE(single.replay.agrees);
  CaseRecord record;
  record.kind = VerdictKind::kNumeric;
  record.execution = "float32-shrink";
  EXPECT_EQ(root_cause(record, alone, &single).key, root_cause(record, model, &loc).key);
  RewritingExecution half_off("half-off", [](const onnx::NodeProto& node) {
    std::vector<onnx::NodeProto> nodes;
    if (node.op_type() != "Shrink") return nodes;
    nodes.push_back(node);
    nodes.back().set_output(0, node.output(0) + "_exact");
    nodes.push_back(node_of("Add", {node.output(0) + "_exact", "half"}, node.output(0)));
    return nodes;
  });
  onnx::ModelProto with_half = alone;
  *with_half.mutable_graph()->add_initializer() = tensor_to_proto(doubles({}, {0.5}), "half");
  EXPECT_EQ(localize(with_half, near_bias, **ref, half_off).evidence, "replay");

  // The same execution on values float32 holds exactly: nothing diverges.
  const TensorMap exact = {{"x", doubles({2, 2}, {1000.5, 1000.0, 3.0, 2.0})},
                           {"w", doubles({2, 1}, {1.0, -1.0})}};
  EXPECT_EQ(localize(model, exact, **ref, shrink).status, LocalizationStatus::kNoDivergence);
}

// A runtime that sums int32 in float64 and saturates: it differs from the reference (which
// wraps, like numpy) only where the exact sum does not fit int32, an overflow ONNX leaves
// undefined. One root cause per op, whatever the dtype; a wrong sum that fits is a replay.
TEST(Localize, TellsAnIntegerOverflowApartFromAWrongValue) {
  auto ref = make_execution("ref", {});
  ASSERT_TRUE(ref);
  RewritingExecution saturating("saturating", [](const onnx::NodeProto& node) {
    std::vector<onnx::NodeProto> nodes;
    if (node.op_type() != "ReduceSum") return nodes;
    const std::string out = node.output(0);
    nodes.push_back(node_of("Cast", {node.input(0)}, out + "_wide", onnx::TensorProto::DOUBLE));
    nodes.push_back(node);
    nodes.back().set_input(0, out + "_wide");
    nodes.back().set_output(0, out + "_sum");
    nodes.push_back(node_of("Clip", {out + "_sum", "lowest", "highest"}, out + "_clipped"));
    nodes.push_back(node_of("Cast", {out + "_clipped"}, out, onnx::TensorProto::INT32));
    return nodes;
  });
  RewritingExecution off_by_one("off-by-one", [](const onnx::NodeProto& node) {
    std::vector<onnx::NodeProto> nodes;
    if (node.op_type() != "ReduceSum") return nodes;
    const std::string out = node.output(0);
    nodes.push_back(node);
    nodes.back().set_output(0, out + "_sum");
    nodes.push_back(node_of("Add", {out + "_sum", "one"}, out));
    return nodes;
  });
  const onnx::ModelProto model = parse(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (int32[3] x) => (int32[] z) {
  lowest = Constant<value = double {-2147483648.0}>()
  highest = Constant<value = double {2147483647.0}>()
  one = Constant<value = int32 {1}>()
  y = ReduceSum<keepdims = 0>(x)
  z = Neg(y)
}
)");
  auto int32s = [](std::vector<int32_t> v) {
    Tensor t = Tensor::zeros(DType::kInt32, {static_cast<int64_t>(v.size())});
    for (size_t i = 0; i < v.size(); ++i) t.set_double(static_cast<int64_t>(i), v[i]);
    return TensorMap{{"x", t}};
  };
  const TensorMap overflowing = int32s({2147483647, 5, 1});
  const Localization overflow = localize(model, overflowing, **ref, saturating);
  ASSERT_EQ(overflow.status, LocalizationStatus::kLocalized) << overflow.detail;
  EXPECT_EQ(overflow.op_type, "ReduceSum");
  EXPECT_EQ(overflow.evidence, "overflow");
  CaseRecord record;
  record.kind = VerdictKind::kNumeric;
  record.execution = "saturating";
  EXPECT_EQ(root_cause(record, model, &overflow).key,
            "numeric|saturating|ReduceSum integer overflow");

  // Where the sum fits, the two agree; a sum that is wrong where it fits is a wrong value.
  const TensorMap fitting = int32s({2147483600, 5, 1});
  EXPECT_EQ(localize(model, fitting, **ref, saturating).status, LocalizationStatus::kNoDivergence);
  const Localization wrong = localize(model, fitting, **ref, off_by_one);
  ASSERT_EQ(wrong.status, LocalizationStatus::kLocalized) << wrong.detail;
  EXPECT_EQ(wrong.op_type, "ReduceSum");
  EXPECT_EQ(wrong.evidence, "replay");

  // int64: -3 + INT64_MIN overflows, though in double (the widened run) it rounds to INT64_MIN
  // itself. A runtime that returns INT64_MIN there (saturating) differs only by overflowing.
  RewritingExecution saturated_int64("saturated-int64", [](const onnx::NodeProto& node) {
    std::vector<onnx::NodeProto> nodes;
    if (node.op_type() != "ReduceSum") return nodes;
    onnx::NodeProto constant = node_of("Constant", {}, node.output(0));
    auto* value = constant.add_attribute();
    value->set_name("value");
    value->set_type(onnx::AttributeProto::TENSOR);
    value->mutable_t()->set_data_type(onnx::TensorProto::INT64);
    value->mutable_t()->add_int64_data(std::numeric_limits<int64_t>::min());
    nodes.push_back(std::move(constant));
    return nodes;
  });
  const onnx::ModelProto wide_model = parse(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (int64[2] x) => (int64[] z) {
  y = ReduceSum<keepdims = 0>(x)
  z = Neg(y)
}
)");
  const int64_t pair[] = {-3, std::numeric_limits<int64_t>::min()};
  const Localization int64_overflow =
      localize(wide_model, {{"x", Tensor::of_int64s({2}, pair)}}, **ref, saturated_int64);
  ASSERT_EQ(int64_overflow.status, LocalizationStatus::kLocalized) << int64_overflow.detail;
  EXPECT_EQ(int64_overflow.evidence, "overflow");
}

// The planted nudge makes Sqrt 0.1% large, within float32's tolerance; Greater then flips where
// Sqrt's true value equals the other operand. Greater computes from the nudged values what ref
// computes from them, so no node is faulty: the divergence is propagated, one root cause for
// every such case, not a Greater bug.
TEST(Localize, AComparisonThatWithinToleranceInputsFlipIsPropagatedNotAFaultyNode) {
  ::setenv("ONNXFUZZ_PLANTED", "nudge=Sqrt", 1);
  auto ref = make_execution("ref", {});
  auto planted = make_execution("planted", {});
  ASSERT_TRUE(ref && planted);
  const onnx::ModelProto model = parse(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[4] x, float[4] y) => (bool[4] z) {
  s = Sqrt(x)
  z = Greater(s, y)
}
)");
  const float x[] = {4.0f, 9.0f, 16.0f, 2.0f};
  const float y[] = {2.0f, 1.0f, 5.0f, 0.0f};
  const TensorMap inputs = {{"x", Tensor::of_floats({4}, x)}, {"y", Tensor::of_floats({4}, y)}};
  const Localization loc = localize(model, inputs, **ref, **planted);
  ASSERT_EQ(loc.status, LocalizationStatus::kPropagated) << loc.detail;
  EXPECT_EQ(loc.node_index, -1);
  EXPECT_NE(loc.detail.find("(Sqrt)"), std::string::npos) << loc.detail;
  ASSERT_EQ(loc.outputs.size(), 1u);
  EXPECT_EQ(loc.outputs[0].mismatches, 1);  // 2.002 > 2 on the planted worker only

  CaseRecord record;
  record.kind = VerdictKind::kNumeric;
  record.execution = "planted";
  const RootCause cause = root_cause(record, model, &loc);
  EXPECT_EQ(cause.basis, "propagated");
  EXPECT_EQ(cause.key, "numeric|planted|propagated");
  ::unsetenv("ONNXFUZZ_PLANTED");
}

// Two divergences with one message: Exp is faulty (planted), and the nudged Sqrt flips Greater
// (propagated, no faulty node). The finding is localized to Exp, so the minimizer must not keep
// "promote z2 to sole output", which still fails the same way by its verdict alone.
TEST(Minimize, KeepsTheOpALocalizedFindingCameFrom) {
  ::setenv("ONNXFUZZ_PLANTED", "value=Exp,nudge=Sqrt", 1);
  auto ref = make_execution("ref", {});
  auto planted = make_execution("planted", {});
  ASSERT_TRUE(ref && planted);
  const onnx::ModelProto model = parse(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[4] y, float[4] w, float[4] x) => (bool[4] z2, float[4] z1) {
  s = Sqrt(y)
  z2 = Greater(s, w)
  e = Exp(x)
  z1 = Neg(e)
}
)");
  const float y[] = {4.0f, 9.0f, 16.0f, 25.0f};
  const float w[] = {2.0f, 3.0f, 4.0f, 5.0f};
  const float x[] = {0.5f, -1.0f, 1.5f, 0.25f};
  const TensorMap inputs = {{"y", Tensor::of_floats({4}, y)},
                            {"w", Tensor::of_floats({4}, w)},
                            {"x", Tensor::of_floats({4}, x)}};
  Execution* executions[] = {ref->get(), planted->get()};
  const Evaluation eval = evaluate_model(model, inputs, executions, {});
  ASSERT_EQ(eval.verdicts.size(), 1u);
  ASSERT_EQ(eval.verdicts[0].kind, VerdictKind::kNumeric);
  TempDir out;
  FindingContext context;
  context.out_dir = out.str();
  context.executions = executions;
  const auto stored = store_finding(context, model, inputs, eval.verdicts[0], std::nullopt);
  ASSERT_TRUE(stored.has_value()) << stored.error();
  EXPECT_EQ(stored->record.ops, std::vector<std::string>{"Exp"}) << stored->record.minimize_log;
  ::unsetenv("ONNXFUZZ_PLANTED");
}

// Stands in for ONNX Runtime's allocation planner: Relu's output has an extra dim of 1, and on
// a model with a Neg the planner has lent Relu's buffer to Neg's output, so Neg fails (though it
// reads nothing Relu computes) with `message`.
class BufferReuseExecution final : public Execution {
 public:
  explicit BufferReuseExecution(std::string message) : message_(std::move(message)) {}
  const std::string& name() const override { return name_; }
  std::string version() override { return "buffer-reuse 1"; }
  RunResult run(const ModelUnderTest& model, const TensorMap& inputs) override {
    const auto& graph = model.proto().graph();
    std::set<std::string> relu_outputs;
    for (const auto& node : graph.node()) {
      if (node.op_type() == "Neg") {
        RunResult failed;
        failed.status = RunStatus::kError;
        failed.message = message_;
        return failed;
      }
      if (node.op_type() == "Relu") relu_outputs.insert(node.output(0));
    }
    RunResult result = run_reference(model.proto(), inputs);
    for (auto& [name, tensor] : result.outputs) {
      if (relu_outputs.contains(name)) tensor.shape.push_back(1);
    }
    return result;
  }

 private:
  std::string message_;
  std::string name_ = "buffer-reuse";
};

// Neg's error comes from Relu, which is not upstream of it: traced beside it, for the error of
// the allocation planner only (ORT's message, cut as a case stores it, still names the function
// that allocates outputs).
TEST(Localize, TracesABufferReuseErrorToTheMisshapenNodeBesideIt) {
  auto ref = make_execution("ref", {});
  ASSERT_TRUE(ref);
  const onnx::ModelProto model = parse(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x, float[2,3] y) => (float[2,3] r, float[2,3] z) {
  r = Relu(x)
  a = Abs(y)
  z = Neg(a)
}
)");
  const std::string reuse =
      "Non-zero status code returned while running Neg node. Name:'_' Status Message: <path>:N "
      "virtual OrtValue* onnxruntime::OpKernelContext::OutputMLValue(int, cons";
  BufferReuseExecution planner(reuse);
  const Localization loc = localize_error_upstream(model, chain_inputs(), reuse, **ref, planner);
  ASSERT_EQ(loc.status, LocalizationStatus::kLocalized) << loc.detail;
  EXPECT_EQ(loc.op_type, "Relu");
  EXPECT_EQ(loc.failing_node, 2);
  EXPECT_TRUE(loc.output.shape_differs);
  // Another error in Neg is Neg's own: what is beside it explains nothing.
  const std::string own = "Non-zero status code returned while running Neg node: bad input";
  BufferReuseExecution other(own);
  EXPECT_NE(localize_error_upstream(model, chain_inputs(), own, **ref, other).status,
            LocalizationStatus::kLocalized);
}

TEST(Localize, SaysWhenExposingIntermediatesMakesTheDivergenceVanish) {
  auto ref = make_execution("ref", {});
  ASSERT_TRUE(ref);
  FusingExecution fusing(1);
  const Localization loc = localize(parse(kChain), chain_inputs(), **ref, fusing);
  EXPECT_EQ(loc.status, LocalizationStatus::kVanished) << loc.detail;
  EXPECT_TRUE(loc.vanished);
  EXPECT_EQ(loc.rewrites, std::vector<std::string>{"AbsSqrtFusion"});
  EXPECT_NE(loc.detail.find("AbsSqrtFusion"), std::string::npos) << loc.detail;
  ASSERT_EQ(loc.outputs.size(), 1u);
  EXPECT_NEAR(loc.outputs[0].max_abs_error, 1.0, 1e-6);
}

TEST(Localize, AgreeingExecutionsHaveNothingToLocalize) {
  auto ref = make_execution("ref", {});
  auto again = make_execution("ref", {});
  ASSERT_TRUE(ref && again);
  const Localization loc = localize(parse(kChain), chain_inputs(), **ref, **again);
  EXPECT_EQ(loc.status, LocalizationStatus::kNoDivergence);
  EXPECT_EQ(loc.node_index, -1);
}

TEST(Localize, ComparesShapesAndNanPositions) {
  const float a[] = {1.0f, NAN};
  const float b[] = {1.0f, 2.0f};
  const Tensor x = Tensor::of_floats({2}, a);
  EXPECT_FALSE(compare_values("v", x, Tensor::of_floats({2}, b), {}).agrees);
  EXPECT_TRUE(compare_values("v", x, x, {}).agrees);
  const ValueComparison shape = compare_values("v", x, Tensor::of_floats({1, 2}, b), {});
  EXPECT_TRUE(shape.shape_differs);
  EXPECT_FALSE(shape.agrees);
  // int64 values 3 apart near -2^63 are one double: integers compare exactly all the same.
  const int64_t low[] = {std::numeric_limits<int64_t>::min()};
  const int64_t above[] = {std::numeric_limits<int64_t>::min() + 3};
  const ValueComparison ints = compare_values("i", Tensor::of_int64s({1}, low),
                                              Tensor::of_int64s({1}, above), {});
  EXPECT_FALSE(ints.agrees);
  EXPECT_EQ(ints.mismatches, 1);
}

// What report.md says for each way a node is named: an overflow is said to be one, undefined in
// ONNX; a propagated divergence names no node and says it is likely not a bug.
TEST(ReportCommand, TheLocalizationSectionSaysWhatNamedTheNode) {
  Localization loc;
  loc.baseline = "ref";
  loc.target = "ort";
  loc.status = LocalizationStatus::kLocalized;
  loc.node_index = 0;
  loc.node_name = "n0";
  loc.op_type = "ReduceSum";
  loc.output.name = "y";
  loc.evidence = "overflow";
  const std::string overflow = localization_section(loc);
  EXPECT_NE(overflow.find("**integer overflow**"), std::string::npos) << overflow;
  EXPECT_NE(overflow.find("does not define"), std::string::npos) << overflow;
  loc.evidence = "precision";
  loc.op_type = "Shrink";
  loc.replay.agrees = false;
  const std::string precision = localization_section(loc);
  EXPECT_NE(precision.find("computes it in float32"), std::string::npos) << precision;
  EXPECT_EQ(precision.find("later nodes grow"), std::string::npos) << precision;
  loc.evidence = "replay";
  EXPECT_NE(localization_section(loc).find("the node is wrong, not its inputs"), std::string::npos);
  loc.status = LocalizationStatus::kPropagated;
  loc.detail = "every node agrees";
  const std::string propagated = localization_section(loc);
  EXPECT_NE(propagated.find("**No node is faulty**"), std::string::npos) << propagated;
  EXPECT_EQ(propagated.find("faulty node: #"), std::string::npos) << propagated;
}

TEST(ReportCommand, NamesTheFirstDivergentNodeAndFillsOrtsTemplate) {
  TempDir dir;
  const std::string case_dir =
      store_case(dir, parse(kChain), chain_inputs(), "planted", VerdictKind::kNumeric);
  // As `onnxfuzz bisect` records it.
  auto j = nlohmann::json::parse(testing::read_file(fs::path(case_dir) / "case.json"));
  j["bisect"] = {{"execution", "planted"}, {"versions", "1..8"}, {"mode", "every release"},
                 {"first", "3"}, {"last", "5"}, {"failing", {"3", "4", "5"}}};
  testing::write_file(fs::path(case_dir) / "case.json", j.dump(2));
  auto result = run_onnxfuzz("report " + case_dir, "ONNXFUZZ_PLANTED=value=Sqrt");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("node 2 "), std::string::npos) << result.output;
  const std::string report = testing::read_file(fs::path(case_dir) / "report.md");
  EXPECT_NE(report.find("first divergent node: #2 `"), std::string::npos) << report;
  EXPECT_NE(report.find("(`Sqrt`)"), std::string::npos) << report;
  EXPECT_EQ(report.find("(`Mul`)"), std::string::npos) << report;
  EXPECT_NE(report.find("max abs error 0.5"), std::string::npos) << report;
  for (const char* field :
       {"**Summary.**", "### Describe the issue", "### To reproduce", "### Urgency",
        "### Platform", "### OS Version", "### ONNX Runtime Installation",
        "### ONNX Runtime Version or Commit ID", "### ONNX Runtime API", "### Architecture",
        "### Execution Provider", "#### Model (ONNX text format)", "#### Inputs",
        "#### Expected vs actual", "executions that agree with them: `ref`", "repro.mjs",
        "not run here", "Fails the same way from 3 to 5 (3 releases: 3, 4, 5)"}) {
    SCOPED_TRACE(field);
    EXPECT_NE(report.find(field), std::string::npos);
  }
  EXPECT_TRUE(fs::exists(fs::path(case_dir) / "repro.mjs"));
  EXPECT_NE(testing::read_file(fs::path(case_dir) / "repro.py").find("NOT RUN HERE"),
            std::string::npos);
}

// A consumer's rejection whose cause is a misshapen value upstream: the report names the
// upstream node and says the error follows from it.
TEST(ReportCommand, TracesARejectionToTheNodeUpstream) {
  TempDir dir;
  const std::string case_dir =
      store_case(dir, parse(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x, float[2,3] y) => (float[2,3] z) {
  r = Relu(x)
  z = Add(r, y)
}
)"),
                 chain_inputs(), "planted", VerdictKind::kRejection,
                 "Add: planted input check: shapes do not match");
  auto result = run_onnxfuzz("report " + case_dir, "ONNXFUZZ_PLANTED=misshape=Relu");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("upstream of node 1"), std::string::npos) << result.output;
  const std::string report = testing::read_file(fs::path(case_dir) / "report.md");
  EXPECT_NE(report.find("The error is raised in node #1"), std::string::npos) << report;
  EXPECT_NE(report.find("first divergent node: #0 `"), std::string::npos) << report;
  EXPECT_NE(report.find("(`Relu`)"), std::string::npos) << report;
  EXPECT_NE(report.find("report node #0, not the node that raised the error"), std::string::npos)
      << report;

  // Without the fault upstream the error is the consumer's own: no localization section.
  result = run_onnxfuzz("report " + case_dir, "ONNXFUZZ_PLANTED=reject=Add");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(testing::read_file(fs::path(case_dir) / "report.md").find("Fault localization"),
            std::string::npos);
}

TEST(ReportCommand, BadInputIsAClearError) {
  TempDir dir;
  EXPECT_EQ(run_onnxfuzz("report " + dir.str("missing")).exit_code, 3);
  EXPECT_EQ(run_onnxfuzz("report").exit_code, 2);
  fs::create_directories(dir.path() / "plain");
  ASSERT_TRUE(write_test_case(dir.str("plain"), parse(kChain), chain_inputs(),
                              run_reference(parse(kChain), chain_inputs()).outputs));
  auto plain = run_onnxfuzz("report " + dir.str("plain"));
  EXPECT_EQ(plain.exit_code, 3) << plain.output;
  EXPECT_NE(plain.output.find("no case.json"), std::string::npos) << plain.output;
}

// ORT agrees with ref on this model, so the stored case is made to "fail" by perturbing its
// expected output: repro.mjs must then report the difference (exit 1), and pass (exit 0) on
// the untouched expected outputs. No ORT bug needs to stay unfixed for this to hold.
TEST(ReproMjs, ReproducesAPerturbedExpectationAndPassesTheTrueOne) {
  TempDir dir;
  const float x[] = {0.5f, -2.0f, 3.0f, 4.0f, -1.5f, 0.25f};
  const int64_t k[] = {1, -7, 1LL << 40};
  const TensorMap inputs = {{"x", Tensor::of_floats({2, 3}, x)}, {"k", Tensor::of_int64s({3}, k)}};
  const std::string case_dir =
      store_case(dir, parse(kTwoOutputs), inputs, "ort", VerdictKind::kNumeric);
  // A case on an ORT execution is stored with its reproducers, before any `report`.
  ASSERT_TRUE(fs::exists(fs::path(case_dir) / "repro.py"));
  const NodeResult as_stored = run_repro(case_dir);
  EXPECT_EQ(as_stored.exit_code, 0) << as_stored.output;
  EXPECT_NE(testing::read_file(fs::path(case_dir) / "report.md").find("node repro.mjs"),
            std::string::npos);
  auto report = run_onnxfuzz("report " + case_dir);
  ASSERT_EQ(report.exit_code, 0) << report.output;
  EXPECT_NE(report.output.find("no-divergence"), std::string::npos) << report.output;

  const NodeResult clean = run_repro(case_dir);
  EXPECT_EQ(clean.exit_code, 0) << clean.output;
  EXPECT_NE(clean.output.find("not reproduced"), std::string::npos) << clean.output;

  // Perturb the float output by 0.1 (beyond atol 1e-3 + rtol 1e-2 of these magnitudes).
  for (int i = 0; i < 2; ++i) {
    const fs::path file = fs::path(case_dir) / "test_data_set_0" / ("output_" + std::to_string(i) + ".pb");
    auto tensor = read_tensor_file(file.string());
    ASSERT_TRUE(tensor.has_value());
    if (tensor->second.dtype != DType::kFloat) continue;
    for (float& v : tensor->second.values<float>()) v += 0.1f;
    testing::write_file(file, tensor_to_proto(tensor->second, tensor->first).SerializeAsString());
  }
  const NodeResult perturbed = run_repro(case_dir);
  EXPECT_EQ(perturbed.exit_code, 1) << perturbed.output;
  EXPECT_NE(perturbed.output.find("REPRODUCED"), std::string::npos) << perturbed.output;
  EXPECT_NE(perturbed.output.find("DIFF z"), std::string::npos) << perturbed.output;
  EXPECT_NE(perturbed.output.find("ok   m"), std::string::npos) << perturbed.output;
}

TEST(ReproMjs, CarriesTheCasesOptimizationLevelAndTolerance) {
  CaseRecord record;
  record.execution = "ort-noopt";
  record.tolerances = {{DType::kFloat, {1e-3, 1e-2}}};
  const std::string script = render_repro_mjs(record);
  EXPECT_NE(script.find("const LEVEL = 'disabled';"), std::string::npos);
  EXPECT_NE(script.find("\"float32\": [0.001, 0.01]"), std::string::npos);
  record.execution = "ort@1.16.3-extended";
  EXPECT_NE(render_repro_mjs(record).find("const LEVEL = 'extended';"), std::string::npos);
  record.kind = VerdictKind::kRejection;
  EXPECT_NE(render_repro_mjs(record).find("const EXPECT = 'error';"), std::string::npos);
}

}  // namespace
}  // namespace onnxfuzz
