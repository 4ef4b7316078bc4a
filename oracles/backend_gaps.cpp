// The backend-gap table and its lookup for the rejection oracle.
#include "oracles/backend_gaps.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "generators/model_io.h"
#include "oracles/support_matrix.h"

namespace onnxfuzz {
namespace {

// The rows come from `onnxfuzz probe --execution ort-noopt` (fuzzer/probe.cpp): single-op
// models of every registered (op, dtype) pair, bfloat16 ones wrapped in Casts from and to float
// since the worker cannot carry bfloat16 graph I/O. 42 of them were also checked by hand with
// `onnxfuzz run`. Each is a pair ONNX Runtime's CPU execution provider registers no kernel for
// (it answers "Could not find an implementation for Op(version)"), or, for the scatters, a type
// its kernel refuses at run time for reductions other than none. A row stays only while the
// backend refuses the pair: re-probe after an upgrade to retire rows.
constexpr std::string_view kProbed =
    "onnxruntime-node 1.30.0 CPU: no kernel for this type (onnxfuzz probe, single-op model)";
constexpr std::string_view kReductionType =
    "onnxruntime-node 1.30.0 CPU: the kernel refuses this type when reduction is add/mul "
    "(\"data type is not supported with ... when reduction is\")";
constexpr BackendGap kBackendGaps[] = {
    {"ort", "Abs", DType::kBfloat16, "Abs", kProbed},
    {"ort", "Acos", DType::kDouble, "Acos", kProbed},
    {"ort", "Acosh", DType::kDouble, "Acosh", kProbed},
    {"ort", "Add", DType::kBfloat16, "Add", kProbed},
    {"ort", "ArgMax", DType::kUint16, "ArgMax", kProbed},
    {"ort", "ArgMax", DType::kUint32, "ArgMax", kProbed},
    {"ort", "ArgMax", DType::kUint64, "ArgMax", kProbed},
    {"ort", "ArgMax", DType::kInt16, "ArgMax", kProbed},
    {"ort", "ArgMax", DType::kBfloat16, "ArgMax", kProbed},
    {"ort", "ArgMin", DType::kUint16, "ArgMin", kProbed},
    {"ort", "ArgMin", DType::kUint32, "ArgMin", kProbed},
    {"ort", "ArgMin", DType::kUint64, "ArgMin", kProbed},
    {"ort", "ArgMin", DType::kInt16, "ArgMin", kProbed},
    {"ort", "ArgMin", DType::kBfloat16, "ArgMin", kProbed},
    {"ort", "Asin", DType::kDouble, "Asin", kProbed},
    {"ort", "Asinh", DType::kDouble, "Asinh", kProbed},
    {"ort", "Atan", DType::kDouble, "Atan", kProbed},
    {"ort", "Atanh", DType::kDouble, "Atanh", kProbed},
    {"ort", "AveragePool", DType::kDouble, "AveragePool", kProbed},
    {"ort", "BatchNormalization", DType::kBfloat16, "BatchNormalization", kProbed},
    {"ort", "BitShift", DType::kUint16, "BitShift", kProbed},
    {"ort", "Ceil", DType::kBfloat16, "Ceil", kProbed},
    {"ort", "Clip", DType::kUint16, "Where", kProbed},
    {"ort", "Clip", DType::kInt16, "Where", kProbed},
    {"ort", "Clip", DType::kBfloat16, "Less", kProbed},
    {"ort", "Conv", DType::kDouble, "Conv", kProbed},
    {"ort", "ConvTranspose", DType::kDouble, "ConvTranspose", kProbed},
    {"ort", "Cosh", DType::kDouble, "Cosh", kProbed},
    {"ort", "CumSum", DType::kUint32, "CumSum", kProbed},
    {"ort", "CumSum", DType::kUint64, "CumSum", kProbed},
    {"ort", "CumSum", DType::kBfloat16, "CumSum", kProbed},
    {"ort", "DepthToSpace", DType::kUint16, "DepthToSpace", kProbed},
    {"ort", "DepthToSpace", DType::kUint32, "DepthToSpace", kProbed},
    {"ort", "DepthToSpace", DType::kUint64, "DepthToSpace", kProbed},
    {"ort", "DepthToSpace", DType::kInt16, "DepthToSpace", kProbed},
    {"ort", "DepthToSpace", DType::kInt32, "DepthToSpace", kProbed},
    {"ort", "DepthToSpace", DType::kInt64, "DepthToSpace", kProbed},
    {"ort", "DepthToSpace", DType::kBfloat16, "DepthToSpace", kProbed},
    {"ort", "DepthToSpace", DType::kBool, "DepthToSpace", kProbed},
    {"ort", "Div", DType::kBfloat16, "Div", kProbed},
    {"ort", "Elu", DType::kDouble, "Elu", kProbed},
    {"ort", "Equal", DType::kBfloat16, "Equal", kProbed},
    {"ort", "Erf", DType::kDouble, "Erf", kProbed},
    {"ort", "Erf", DType::kBfloat16, "Erf", kProbed},
    {"ort", "Exp", DType::kBfloat16, "Exp", kProbed},
    {"ort", "Expand", DType::kBfloat16, "Expand", kProbed},
    {"ort", "Floor", DType::kBfloat16, "Floor", kProbed},
    {"ort", "Gemm", DType::kBfloat16, "Gemm", kProbed},
    {"ort", "GlobalAveragePool", DType::kDouble, "GlobalAveragePool", kProbed},
    {"ort", "GlobalMaxPool", DType::kDouble, "GlobalMaxPool", kProbed},
    {"ort", "Greater", DType::kBfloat16, "Greater", kProbed},
    {"ort", "GreaterOrEqual", DType::kBfloat16, "Greater", kProbed},
    {"ort", "HardSigmoid", DType::kDouble, "HardSigmoid", kProbed},
    {"ort", "HardSwish", DType::kDouble, "HardSigmoid", kProbed},
    {"ort", "Hardmax", DType::kDouble, "Hardmax", kProbed},
    {"ort", "Hardmax", DType::kBfloat16, "Hardmax", kProbed},
    {"ort", "InstanceNormalization", DType::kDouble, "InstanceNormalization", kProbed},
    {"ort", "IsNaN", DType::kBfloat16, "IsNaN", kProbed},
    {"ort", "LRN", DType::kDouble, "LRN", kProbed},
    {"ort", "LRN", DType::kBfloat16, "LRN", kProbed},
    {"ort", "LeakyRelu", DType::kBfloat16, "Less", kProbed},
    {"ort", "Less", DType::kBfloat16, "Less", kProbed},
    {"ort", "LessOrEqual", DType::kBfloat16, "Less", kProbed},
    {"ort", "Log", DType::kBfloat16, "Log", kProbed},
    {"ort", "LogSoftmax", DType::kBfloat16, "ReduceMax", kProbed},
    {"ort", "MatMul", DType::kBfloat16, "MatMul", kProbed},
    {"ort", "Max", DType::kUint16, "Max", kProbed},
    {"ort", "Max", DType::kInt16, "Max", kProbed},
    {"ort", "Max", DType::kBfloat16, "Max", kProbed},
    {"ort", "Mean", DType::kDouble, "Mean", kProbed},
    {"ort", "Mean", DType::kBfloat16, "Mean", kProbed},
    {"ort", "Min", DType::kUint16, "Min", kProbed},
    {"ort", "Min", DType::kInt16, "Min", kProbed},
    {"ort", "Min", DType::kBfloat16, "Min", kProbed},
    {"ort", "Mod", DType::kBfloat16, "Mod", kProbed},
    {"ort", "Mul", DType::kBfloat16, "Mul", kProbed},
    {"ort", "Neg", DType::kBfloat16, "Neg", kProbed},
    {"ort", "PRelu", DType::kBfloat16, "Less", kProbed},
    {"ort", "PRelu", DType::kUint32, "Where", kProbed},
    {"ort", "PRelu", DType::kUint64, "Where", kProbed},
    {"ort", "Pad", DType::kUint16, "Pad", kProbed},
    {"ort", "Pad", DType::kInt16, "Pad", kProbed},
    {"ort", "Pad", DType::kBfloat16, "Pad", kProbed},
    {"ort", "Pow", DType::kBfloat16, "Pow", kProbed},
    {"ort", "Reciprocal", DType::kBfloat16, "Reciprocal", kProbed},
    {"ort", "ReduceL1", DType::kUint32, "ReduceL1", kProbed},
    {"ort", "ReduceL1", DType::kUint64, "ReduceL1", kProbed},
    {"ort", "ReduceL1", DType::kBfloat16, "ReduceL1", kProbed},
    {"ort", "ReduceL2", DType::kUint32, "ReduceL2", kProbed},
    {"ort", "ReduceL2", DType::kUint64, "ReduceL2", kProbed},
    {"ort", "ReduceL2", DType::kBfloat16, "ReduceL2", kProbed},
    {"ort", "ReduceLogSum", DType::kUint32, "ReduceLogSum", kProbed},
    {"ort", "ReduceLogSum", DType::kUint64, "ReduceLogSum", kProbed},
    {"ort", "ReduceLogSum", DType::kBfloat16, "ReduceLogSum", kProbed},
    {"ort", "ReduceLogSumExp", DType::kUint32, "ReduceLogSumExp", kProbed},
    {"ort", "ReduceLogSumExp", DType::kUint64, "ReduceLogSumExp", kProbed},
    {"ort", "ReduceLogSumExp", DType::kBfloat16, "ReduceLogSumExp", kProbed},
    {"ort", "ReduceMax", DType::kUint32, "ReduceMax", kProbed},
    {"ort", "ReduceMax", DType::kUint64, "ReduceMax", kProbed},
    {"ort", "ReduceMax", DType::kBfloat16, "ReduceMax", kProbed},
    {"ort", "ReduceMean", DType::kUint32, "ReduceMean", kProbed},
    {"ort", "ReduceMean", DType::kUint64, "ReduceMean", kProbed},
    {"ort", "ReduceMean", DType::kBfloat16, "ReduceMean", kProbed},
    {"ort", "ReduceMin", DType::kUint32, "ReduceMin", kProbed},
    {"ort", "ReduceMin", DType::kUint64, "ReduceMin", kProbed},
    {"ort", "ReduceMin", DType::kBfloat16, "ReduceMin", kProbed},
    {"ort", "ReduceProd", DType::kUint32, "ReduceProd", kProbed},
    {"ort", "ReduceProd", DType::kUint64, "ReduceProd", kProbed},
    {"ort", "ReduceProd", DType::kBfloat16, "ReduceProd", kProbed},
    {"ort", "ReduceSum", DType::kUint32, "ReduceSum", kProbed},
    {"ort", "ReduceSum", DType::kUint64, "ReduceSum", kProbed},
    {"ort", "ReduceSum", DType::kBfloat16, "ReduceSum", kProbed},
    {"ort", "ReduceSumSquare", DType::kUint32, "ReduceSumSquare", kProbed},
    {"ort", "ReduceSumSquare", DType::kUint64, "ReduceSumSquare", kProbed},
    {"ort", "ReduceSumSquare", DType::kBfloat16, "ReduceSumSquare", kProbed},
    {"ort", "Relu", DType::kInt16, "Relu", kProbed},
    {"ort", "Relu", DType::kInt64, "Relu", kProbed},
    {"ort", "Relu", DType::kBfloat16, "Relu", kProbed},
    {"ort", "Resize", DType::kUint16, "Resize", kProbed},
    {"ort", "Resize", DType::kUint32, "Resize", kProbed},
    {"ort", "Resize", DType::kUint64, "Resize", kProbed},
    {"ort", "Resize", DType::kInt16, "Resize", kProbed},
    {"ort", "Resize", DType::kInt64, "Resize", kProbed},
    {"ort", "Resize", DType::kBfloat16, "Resize", kProbed},
    {"ort", "Resize", DType::kDouble, "Resize", kProbed},
    {"ort", "Resize", DType::kBool, "Resize", kProbed},
    {"ort", "ScatterElements", DType::kBfloat16, "ScatterElements", kReductionType},
    {"ort", "ScatterElements", DType::kFloat16, "ScatterElements", kReductionType},
    {"ort", "ScatterND", DType::kBfloat16, "ScatterND", kReductionType},
    {"ort", "ScatterND", DType::kFloat16, "ScatterND", kReductionType},
    {"ort", "Selu", DType::kDouble, "Selu", kProbed},
    {"ort", "Sigmoid", DType::kBfloat16, "Sigmoid", kProbed},
    {"ort", "Sinh", DType::kDouble, "Sinh", kProbed},
    {"ort", "Size", DType::kBfloat16, "Size", kProbed},
    {"ort", "Softmax", DType::kBfloat16, "ReduceMax", kProbed},
    {"ort", "Softplus", DType::kDouble, "Softplus", kProbed},
    {"ort", "Softsign", DType::kDouble, "Softsign", kProbed},
    {"ort", "SpaceToDepth", DType::kUint16, "SpaceToDepth", kProbed},
    {"ort", "SpaceToDepth", DType::kUint32, "SpaceToDepth", kProbed},
    {"ort", "SpaceToDepth", DType::kUint64, "SpaceToDepth", kProbed},
    {"ort", "SpaceToDepth", DType::kInt16, "SpaceToDepth", kProbed},
    {"ort", "SpaceToDepth", DType::kInt32, "SpaceToDepth", kProbed},
    {"ort", "SpaceToDepth", DType::kInt64, "SpaceToDepth", kProbed},
    {"ort", "SpaceToDepth", DType::kBfloat16, "SpaceToDepth", kProbed},
    {"ort", "SpaceToDepth", DType::kBool, "SpaceToDepth", kProbed},
    {"ort", "Sqrt", DType::kBfloat16, "Sqrt", kProbed},
    {"ort", "Sub", DType::kBfloat16, "Sub", kProbed},
    {"ort", "Sum", DType::kBfloat16, "Sum", kProbed},
    {"ort", "Tan", DType::kDouble, "Tan", kProbed},
    {"ort", "Tanh", DType::kBfloat16, "Tanh", kProbed},
    {"ort", "ThresholdedRelu", DType::kDouble, "ThresholdedRelu", kProbed},
    {"ort", "Tile", DType::kBfloat16, "Tile", kProbed},
    {"ort", "TopK", DType::kUint16, "TopK", kProbed},
    {"ort", "TopK", DType::kUint32, "TopK", kProbed},
    {"ort", "TopK", DType::kUint64, "TopK", kProbed},
    {"ort", "Trilu", DType::kUint8, "Trilu", kProbed},
    {"ort", "Trilu", DType::kUint16, "Trilu", kProbed},
    {"ort", "Trilu", DType::kUint32, "Trilu", kProbed},
    {"ort", "Trilu", DType::kUint64, "Trilu", kProbed},
    {"ort", "Trilu", DType::kInt8, "Trilu", kProbed},
    {"ort", "Trilu", DType::kInt16, "Trilu", kProbed},
    {"ort", "Trilu", DType::kBfloat16, "Trilu", kProbed},
    {"ort", "Where", DType::kUint16, "Where", kProbed},
    {"ort", "Where", DType::kUint32, "Where", kProbed},
    {"ort", "Where", DType::kUint64, "Where", kProbed},
    {"ort", "Where", DType::kInt8, "Where", kProbed},
    {"ort", "Where", DType::kInt16, "Where", kProbed},
    {"ort", "Where", DType::kBfloat16, "Where", kProbed},
    {"ort", "Where", DType::kBool, "Where", kProbed},
};

// The op named by ORT's two messages for a type its CPU provider does not implement, or "":
// "Could not find an implementation for Op(13) node with name '...'" (no kernel registered) and
// "... data type is not supported with Op opset 16 when reduction is ..." (a kernel that refuses
// the type at run time).
std::string_view named_op(std::string_view message) {
  // OpenCV DNN's ONNX importer: "Node [Op@ai.onnx]:(onnx_node!name) parse error: ...".
  constexpr std::string_view kOpencvNode = "Node [";
  if (const size_t at = message.find(kOpencvNode); at != std::string_view::npos) {
    const std::string_view rest = message.substr(at + kOpencvNode.size());
    const size_t end = rest.find_first_of("@]");
    if (end != std::string_view::npos && end > 0) return rest.substr(0, end);
  }
  constexpr std::string_view kLead = "Could not find an implementation for ";
  if (const size_t at = message.find(kLead); at != std::string_view::npos) {
    const std::string_view rest = message.substr(at + kLead.size());
    const size_t paren = rest.find('(');
    return paren == std::string_view::npos ? std::string_view() : rest.substr(0, paren);
  }
  constexpr std::string_view kRefused = "data type is not supported with ";
  if (const size_t at = message.find(kRefused); at != std::string_view::npos) {
    const std::string_view rest = message.substr(at + kRefused.size());
    const size_t space = rest.find(' ');
    return space == std::string_view::npos ? std::string_view() : rest.substr(0, space);
  }
  return {};
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

// A gap row made at run time. Rows live as long as the process: the lookup hands out pointers,
// like the static table's. One row per distinct gap, however often a campaign meets it, so a
// long campaign's memory stays flat.
const BackendGap* keep_row(std::string_view execution, std::string_view op, DType dtype,
                           std::string reason) {
  struct Row {
    std::string execution, op, reason;
    BackendGap gap;
  };
  static std::mutex mutex;
  static std::map<std::tuple<std::string, std::string, DType, std::string>, Row> rows;
  const std::lock_guard lock(mutex);
  auto [it, added] = rows.try_emplace({std::string(execution), std::string(op), dtype, reason});
  if (added) {
    Row& row = it->second;  // map nodes do not move: the views below stay valid
    row.execution = execution;
    row.op = op;
    row.reason = std::move(reason);
    row.gap = BackendGap{row.execution, row.op, dtype, row.op, row.reason};
  }
  return &it->second.gap;
}

// The committed support matrix's verdict on a rejection by `execution` naming `reported`: a row
// for the first node of that op whose pair the matrix says the backend does not run (or runs
// only with other attribute values).
const BackendGap* matrix_gap(std::string_view execution, const onnx::ModelProto& model,
                             std::string_view reported, const std::map<std::string, int32_t>& types) {
  const SupportMatrix* matrix = committed_matrix(execution);
  if (matrix == nullptr) return nullptr;
  for (const onnx::NodeProto& node : model.graph().node()) {
    if (node.op_type() != reported || node.input_size() == 0) continue;
    auto type = types.find(node.input(0));
    if (type == types.end()) continue;
    const DTypeInfo* dtype = find_dtype(type->second);
    if (dtype == nullptr || !matrix->predicts_rejection(node, dtype->dtype)) continue;
    return keep_row(execution, node.op_type(), dtype->dtype,
                    fmt::format("{} probe (committed support matrix): {}({}) does not run",
                                matrix->version, node.op_type(), dtype_name(dtype->dtype)));
  }
  return nullptr;
}

// The text between `lead` and the next ')' in `message`, or "".
std::string_view enclosed_after(std::string_view message, std::string_view lead) {
  const size_t at = message.find(lead);
  if (at == std::string_view::npos) return {};
  const std::string_view rest = message.substr(at + lead.size());
  const size_t close = rest.find(')');
  return close == std::string_view::npos ? std::string_view() : rest.substr(0, close);
}

// ONNX Runtime's own statement that it has a kernel for the op and version, but not for the
// node's types: "Failed to find kernel for Pow(15) (node:'n1' ep:'CPUExecutionProvider'). ...
// Kernel found kernel in the supported version range (node_version: 15). However the types are
// incompatible. This op has been implemented only for the following types (tensor(int32),...),
// but the node in the model has the following type (tensor(uint16))". The type it names can be
// any type constraint of the op (Pow's exponent, say), which the probed rows, keyed on the data
// operand, do not cover. Only for an op of the default domain the model has: a contrib op the
// optimizer put in (com.microsoft.QuickGelu) is the optimizer's doing, a finding.
const BackendGap* declared_type_gap(std::string_view execution, const onnx::ModelProto& model,
                                    std::string_view message) {
  constexpr std::string_view kLead = "Failed to find kernel for ";
  const size_t at = message.find(kLead);
  if (at == std::string_view::npos || message.find("types are incompatible") == std::string_view::npos)
    return nullptr;
  const std::string_view rest = message.substr(at + kLead.size());
  const std::string_view op = rest.substr(0, rest.find('('));
  if (op.empty() || op.size() == rest.size() || op.find('.') != std::string_view::npos) return nullptr;
  const std::string_view implemented = enclosed_after(message, "implemented only for the following types (");
  // ONNX's type name, "uint16" or "float": the dtype table knows both spellings.
  const std::string_view node_type = enclosed_after(message, "has the following type (tensor(");
  if (implemented.empty() || node_type.empty()) return nullptr;
  const std::optional<DType> dtype = dtype_from_name(node_type);
  const bool has_op = std::ranges::any_of(model.graph().node(), [&](const onnx::NodeProto& node) {
    return node.op_type() == op && (node.domain().empty() || node.domain() == "ai.onnx");
  });
  if (!dtype || !has_op) return nullptr;
  return keep_row(execution, op, *dtype,
                  fmt::format("the backend says {} is implemented only for the types ({}), not {}",
                              op, implemented, dtype_name(*dtype)));
}

}  // namespace

std::span<const BackendGap> backend_gaps() { return kBackendGaps; }

std::map<std::string, std::set<DType>> documented_gaps(std::span<const std::string> executions) {
  std::map<std::string, std::set<DType>> gaps;
  for (const std::string& execution : executions) {
    for (const BackendGap& row : kBackendGaps) {
      if (execution.starts_with(row.execution_prefix)) gaps[std::string(row.op)].insert(row.dtype);
    }
    const SupportMatrix* matrix = committed_matrix(execution);
    if (matrix == nullptr) continue;
    for (const auto& [op, by_dtype] : matrix->pairs) {
      for (const auto& [dtype, pair] : by_dtype) {
        if (!pair.runs()) gaps[op].insert(dtype);
      }
    }
  }
  return gaps;
}

std::string_view not_implemented_op(std::string_view message) { return named_op(message); }

bool is_not_implemented_message(std::string_view message) { return !named_op(message).empty(); }

const BackendGap* find_backend_gap(std::string_view execution, const onnx::ModelProto& model,
                                   std::string_view message) {
  if (const BackendGap* declared = declared_type_gap(execution, model, message)) return declared;
  const std::string_view reported = named_op(message);
  if (reported.empty()) return nullptr;
  std::vector<const BackendGap*> rows;
  for (const BackendGap& row : kBackendGaps) {
    if (execution.starts_with(row.execution_prefix) && row.reported_op == reported) {
      rows.push_back(&row);
    }
  }
  const bool has_matrix = committed_matrix(execution) != nullptr;
  if (rows.empty() && !has_matrix) return nullptr;
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
  return has_matrix ? matrix_gap(execution, model, reported, types) : nullptr;
}

}  // namespace onnxfuzz
