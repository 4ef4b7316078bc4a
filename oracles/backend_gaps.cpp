// The backend-gap table and its lookup for the rejection oracle.
#include "oracles/backend_gaps.h"

#include <map>
#include <string>
#include <vector>

#include "generators/model_io.h"

namespace onnxfuzz {
namespace {

// Rows verified by hand against onnxruntime-node 1.30.0 (CPU execution provider), each with a
// single-node model run through `onnxfuzz run --executions ort-noopt` (bfloat16 ones with the
// op between Casts from and to float, since the worker cannot carry bfloat16 graph I/O). The full
// list comes from scripts/probe_backend_gaps.sh; a pair stays listed only while the backend refuses
// it, so replaying after an upgrade (or re-probing) is how rows are retired.
constexpr std::string_view kSeen = "onnxruntime-node 1.30.0, single-node model, opset 17";
constexpr BackendGap kBackendGaps[] = {
    {"ort", "Relu", DType::kBfloat16, "Relu", kSeen},
    {"ort", "Sigmoid", DType::kBfloat16, "Sigmoid", kSeen},
    {"ort", "Tanh", DType::kBfloat16, "Tanh", kSeen},
    {"ort", "Exp", DType::kBfloat16, "Exp", kSeen},
    {"ort", "Log", DType::kBfloat16, "Log", kSeen},
    {"ort", "Sqrt", DType::kBfloat16, "Sqrt", kSeen},
    {"ort", "Abs", DType::kBfloat16, "Abs", kSeen},
    {"ort", "Neg", DType::kBfloat16, "Neg", kSeen},
    {"ort", "Add", DType::kBfloat16, "Add", kSeen},
    {"ort", "Sub", DType::kBfloat16, "Sub", kSeen},
    {"ort", "Mul", DType::kBfloat16, "Mul", kSeen},
    {"ort", "Div", DType::kBfloat16, "Div", kSeen},
    {"ort", "Pow", DType::kBfloat16, "Pow", kSeen},
    {"ort", "MatMul", DType::kBfloat16, "MatMul", kSeen},
    {"ort", "Gemm", DType::kBfloat16, "Gemm", kSeen},
    {"ort", "ReduceMean", DType::kBfloat16, "ReduceMean", kSeen},
    {"ort", "ReduceMax", DType::kBfloat16, "ReduceMax", kSeen},
    {"ort", "Where", DType::kBfloat16, "Where", kSeen},
    {"ort", "Softmax", DType::kBfloat16, "ReduceMax", kSeen},
    {"ort", "Clip", DType::kBfloat16, "Less", kSeen},
    {"ort", "Relu", DType::kInt16, "Relu", kSeen},
    {"ort", "Relu", DType::kInt64, "Relu", kSeen},
    {"ort", "Gemm", DType::kInt32, "Gemm", kSeen},
    {"ort", "Gemm", DType::kInt64, "Gemm", kSeen},
    {"ort", "Gemm", DType::kUint32, "Gemm", kSeen},
    {"ort", "Gemm", DType::kUint64, "Gemm", kSeen},
    {"ort", "Where", DType::kInt8, "Where", kSeen},
    {"ort", "Where", DType::kInt16, "Where", kSeen},
    {"ort", "Where", DType::kUint16, "Where", kSeen},
    {"ort", "Where", DType::kUint32, "Where", kSeen},
    {"ort", "Where", DType::kUint64, "Where", kSeen},
    {"ort", "Where", DType::kBool, "Where", kSeen},
    {"ort", "Clip", DType::kInt16, "Where", kSeen},
    {"ort", "Clip", DType::kUint16, "Where", kSeen},
    {"ort", "ReduceMean", DType::kUint32, "ReduceMean", kSeen},
    {"ort", "ReduceMean", DType::kUint64, "ReduceMean", kSeen},
    {"ort", "ReduceMax", DType::kUint32, "ReduceMax", kSeen},
    {"ort", "ReduceMax", DType::kUint64, "ReduceMax", kSeen},
    {"ort", "ReduceSum", DType::kUint32, "ReduceSum", kSeen},
    {"ort", "ReduceSum", DType::kUint64, "ReduceSum", kSeen},
    {"ort", "Conv", DType::kDouble, "Conv", kSeen},
    {"ort", "AveragePool", DType::kDouble, "AveragePool", kSeen},
};

// The op named by "Could not find an implementation for Op(13) node with name '...'", or "".
std::string_view named_op(std::string_view message) {
  constexpr std::string_view kLead = "Could not find an implementation for ";
  const size_t at = message.find(kLead);
  if (at == std::string_view::npos) return {};
  const std::string_view rest = message.substr(at + kLead.size());
  const size_t paren = rest.find('(');
  return paren == std::string_view::npos ? std::string_view() : rest.substr(0, paren);
}

// Element types of every value the model declares (inputs, outputs, value_info, initializers).
void collect_types(const onnx::ModelProto& model, std::map<std::string, int32_t>& types) {
  const onnx::GraphProto& graph = model.graph();
  for (const auto* list : {&graph.input(), &graph.output(), &graph.value_info()}) {
    for (const onnx::ValueInfoProto& info : *list) {
      if (info.type().has_tensor_type()) types[info.name()] = info.type().tensor_type().elem_type();
    }
  }
  for (const onnx::TensorProto& init : graph.initializer()) types[init.name()] = init.data_type();
}

// A kernel is chosen by the element types of a node's data operand and results; later inputs
// are often int64 axes, shapes or indices whatever the kernel, so they do not count.
bool node_has_dtype(const onnx::NodeProto& node, DType dtype,
                    const std::map<std::string, int32_t>& types) {
  auto is = [&](const std::string& name) {
    auto it = types.find(name);
    return it != types.end() && it->second == static_cast<int32_t>(dtype);
  };
  if (node.input_size() > 0 && is(node.input(0))) return true;
  for (const std::string& name : node.output()) {
    if (is(name)) return true;
  }
  return false;
}

}  // namespace

std::span<const BackendGap> backend_gaps() { return kBackendGaps; }

bool is_not_implemented_message(std::string_view message) { return !named_op(message).empty(); }

const BackendGap* find_backend_gap(std::string_view execution, const onnx::ModelProto& model,
                                   std::string_view message) {
  const std::string_view reported = named_op(message);
  if (reported.empty()) return nullptr;
  std::vector<const BackendGap*> rows;
  for (const BackendGap& row : kBackendGaps) {
    if (execution.starts_with(row.execution_prefix) && row.reported_op == reported) {
      rows.push_back(&row);
    }
  }
  if (rows.empty()) return nullptr;
  std::map<std::string, int32_t> types;
  collect_types(model, types);
  // Intermediate values of a generated model carry no value_info; inference supplies them.
  // Only this rare path (a not-implemented rejection of a listed op) pays for it.
  bool untyped = false;
  for (const onnx::NodeProto& node : model.graph().node()) {
    for (const std::string& name : node.output()) untyped = untyped || !types.contains(name);
  }
  if (untyped) {
    if (auto inferred = validate_model(model)) collect_types(*inferred, types);
  }
  for (const BackendGap* row : rows) {
    for (const onnx::NodeProto& node : model.graph().node()) {
      if (node.op_type() == row->op && node_has_dtype(node, row->dtype, types)) return row;
    }
  }
  return nullptr;
}

}  // namespace onnxfuzz
