// Model edits several mutators share.
#include "generators/mutators/edit.h"

#include <onnx/defs/schema.h>

#include "generators/graph_builder.h"

#include <algorithm>
#include <cmath>

namespace onnxfuzz {

std::optional<ValueType> declared_type(const onnx::ValueInfoProto& info) {
  auto type = value_type_of(info);
  if (!type) return std::nullopt;
  return *type;
}

void set_declared_type(onnx::ValueInfoProto* info, DType dtype, const Shape& shape) {
  const std::string name = info->name();
  info->clear_type();
  set_value_info(info, name, dtype, shape);
}

onnx::ValueInfoProto* find_graph_input(onnx::GraphProto& graph, const std::string& name) {
  for (auto& input : *graph.mutable_input()) {
    if (input.name() == name) return &input;
  }
  return nullptr;
}

Tensor remake_tensor(const Tensor* like, DType dtype, const Shape& shape, Rng& rng) {
  double lo = -1, hi = 1;
  if (like && like->numel() > 0) {
    lo = hi = like->as_double(0);
    for (int64_t i = 1; i < like->numel(); ++i) {
      const double v = like->as_double(i);
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
  }
  const DTypeInfo& info = dtype_info(dtype);
  lo = std::clamp(lo, info.lowest, info.highest);
  hi = std::clamp(hi, info.lowest, info.highest);
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) lo = 0, hi = 1;
  Tensor t = Tensor::zeros(dtype, shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dtype == DType::kBool) {
      t.set_double(i, static_cast<double>(rng.uniform_int(0, 1)));
    } else if (is_float(dtype)) {
      t.set_double(i, rng.uniform_real(lo, hi));
    } else {
      // Floors keep lo <= hi; the clamp keeps the 64-bit rows' 2^63 and 2^64 out of int64.
      const double lim = 0x1p62;
      t.set_double(i, static_cast<double>(
                          rng.uniform_int(static_cast<int64_t>(std::clamp(std::floor(lo), -lim, lim)),
                                          static_cast<int64_t>(std::clamp(std::floor(hi), -lim, lim)))));
    }
  }
  return t;
}

std::vector<Use> uses_of(const onnx::GraphProto& graph, const std::string& name) {
  std::vector<Use> uses;
  for (int n = 0; n < graph.node_size(); ++n) {
    for (int i = 0; i < graph.node(n).input_size(); ++i) {
      if (graph.node(n).input(i) == name) uses.push_back({n, i});
    }
  }
  return uses;
}

const OpSpec* registered_spec(const onnx::NodeProto& node) {
  if (!node.domain().empty() && node.domain() != "ai.onnx") return nullptr;
  return find_op_spec(node.op_type());
}

int model_opset(const onnx::ModelProto& model) {
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") return static_cast<int>(o.version());
  }
  return kTargetOpset;
}

namespace {

const onnx::OpSchema::FormalParameter* formal_input(const onnx::NodeProto& node, int slot,
                                                    int opset) {
  if (!node.domain().empty() && node.domain() != "ai.onnx") return nullptr;
  const auto* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset);
  if (!schema || schema->inputs().empty()) return nullptr;
  const size_t i = std::min(static_cast<size_t>(slot), schema->inputs().size() - 1);
  if (static_cast<size_t>(slot) >= schema->inputs().size() &&
      schema->inputs().back().GetOption() != onnx::OpSchema::Variadic)
    return nullptr;
  return &schema->inputs()[i];
}

}  // namespace

std::vector<DType> schema_input_dtypes(const onnx::NodeProto& node, int slot, int opset) {
  const auto* formal = formal_input(node, slot, opset);
  if (!formal) return {};
  std::vector<std::string> names;
  for (const auto* t : formal->GetTypes()) names.push_back(*t);
  return dtypes_of(names);
}

bool same_type_param(const onnx::NodeProto& node, int a, int b, int opset) {
  const auto* fa = formal_input(node, a, opset);
  const auto* fb = formal_input(node, b, opset);
  return fa && fb && fa->GetTypeStr() == fb->GetTypeStr();
}

void forget_inferred_shapes(onnx::ModelProto& model) {
  auto* graph = model.mutable_graph();
  graph->clear_value_info();
  for (auto& out : *graph->mutable_output()) {
    if (out.type().has_tensor_type()) out.mutable_type()->mutable_tensor_type()->clear_shape();
  }
}

}  // namespace onnxfuzz
