// Constant folding through the registered evaluator (the reference interpreter).
#include "generators/fold.h"

#include <fmt/format.h>
#include <onnx/shape_inference/implementation.h>

#include <set>

#include "generators/inputs.h"
#include "generators/model_io.h"
#include "generators/rng.h"

namespace onnxfuzz {
namespace {

AllValuesEvaluator& evaluator() {
  static AllValuesEvaluator registered = nullptr;
  return registered;
}

bool has_static_shape(const onnx::ValueInfoProto& info) {
  if (!info.type().tensor_type().has_shape()) return false;
  for (const auto& dim : info.type().tensor_type().shape().dim()) {
    if (!dim.has_dim_value()) return false;
  }
  return true;
}

bool has_subgraph(const onnx::NodeProto& node) {
  for (const auto& attribute : node.attribute()) {
    if (attribute.has_g() || attribute.graphs_size() > 0) return true;
  }
  return false;
}

bool is_random(const std::string& op) {
  return op.starts_with("Random") || op == "Multinomial" || op == "Bernoulli" ||
         op == "Dropout";  // Dropout is deterministic in inference, but its mask output is not
}

}  // namespace

AllValuesEvaluatorRegistrar::AllValuesEvaluatorRegistrar(AllValuesEvaluator e) { evaluator() = e; }

std::expected<int, std::string> fold_constants(onnx::ModelProto& model) {
  if (!evaluator()) return std::unexpected(std::string("no evaluator registered for folding"));
  // Types of intermediates, without strictness: a real model may not infer fully.
  onnx::ModelProto inferred = model;
  try {
    onnx::shape_inference::InferShapes(inferred);
  } catch (const std::exception& e) {
    return std::unexpected(fmt::format("shape inference: {}", e.what()));
  }
  const auto& graph = model.graph();
  std::set<std::string> statically_shaped;
  for (const auto* list : {&inferred.graph().input(), &inferred.graph().value_info(),
                           &inferred.graph().output()}) {
    for (const auto& info : *list) {
      if (has_static_shape(info)) statically_shaped.insert(info.name());
    }
  }
  std::set<std::string> constant;
  for (const auto& init : graph.initializer()) constant.insert(init.name());
  std::set<std::string> graph_outputs;
  for (const auto& out : graph.output()) graph_outputs.insert(out.name());

  std::vector<bool> folded(static_cast<size_t>(graph.node_size()), false);
  int count = 0;
  for (int n = 0; n < graph.node_size(); ++n) {
    const auto& node = graph.node(n);
    if (!node.domain().empty() || has_subgraph(node) || is_random(node.op_type())) continue;
    bool foldable = true;
    for (const auto& in : node.input()) {
      if (in.empty() || constant.contains(in)) continue;
      const bool shape_only = (node.op_type() == "Shape" || node.op_type() == "Size");
      if (shape_only && statically_shaped.contains(in)) continue;
      foldable = false;
    }
    for (const auto& out : node.output()) foldable = foldable && !graph_outputs.contains(out);
    if (!foldable) continue;
    folded[static_cast<size_t>(n)] = true;
    ++count;
    for (const auto& out : node.output()) {
      if (!out.empty()) constant.insert(out);
    }
  }
  if (count == 0) return 0;

  Rng rng(1);
  const TensorMap inputs = synthesize_inputs(model, rng);
  auto values = evaluator()(model, inputs);
  if (!values) return std::unexpected(fmt::format("evaluating the model: {}", values.error()));

  onnx::ModelProto out = model;
  auto* g = out.mutable_graph();
  g->clear_node();
  std::set<std::string> used;
  for (int n = 0; n < graph.node_size(); ++n) {
    if (folded[static_cast<size_t>(n)]) continue;
    *g->add_node() = graph.node(n);
    for (const auto& in : graph.node(n).input()) used.insert(in);
  }
  for (const auto& o : graph.output()) used.insert(o.name());
  // Initializers still used, then the folded values that remaining nodes read.
  std::set<std::string> kept;
  g->clear_initializer();
  for (const auto& init : graph.initializer()) {
    if (used.contains(init.name())) {
      *g->add_initializer() = init;
      kept.insert(init.name());
    }
  }
  for (int n = 0; n < graph.node_size(); ++n) {
    if (!folded[static_cast<size_t>(n)]) continue;
    for (const auto& name : graph.node(n).output()) {
      if (name.empty() || !used.contains(name)) continue;
      auto it = values->find(name);
      if (it == values->end()) {
        return std::unexpected(fmt::format("the evaluator computed no value for '{}'", name));
      }
      *g->add_initializer() = tensor_to_proto(it->second, name);
      kept.insert(name);
    }
  }
  // Graph inputs that only named dropped initializers (models before IR 4 list them).
  std::set<std::string> initial;
  for (const auto& init : graph.initializer()) initial.insert(init.name());
  auto* graph_inputs = g->mutable_input();
  for (int i = graph_inputs->size() - 1; i >= 0; --i) {
    const std::string& name = graph_inputs->Get(i).name();
    if (initial.contains(name) && !kept.contains(name)) graph_inputs->DeleteSubrange(i, 1);
  }
  // value_info of values that are now initializers or gone.
  auto* infos = g->mutable_value_info();
  for (int i = infos->size() - 1; i >= 0; --i) {
    if (constant.contains(infos->Get(i).name())) infos->DeleteSubrange(i, 1);
  }
  model = std::move(out);
  return count;
}

}  // namespace onnxfuzz
