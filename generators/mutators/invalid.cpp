// Rule breakers (invalid mode): each mutant breaks exactly one stated rule of ONNX: a wrong
// dtype, a wrong rank, a missing input, an out-of-range axis, inconsistent shapes, a negative
// dim. A backend must reject such a model with an error.
#include <fmt/format.h>
#include <onnx/defs/schema.h>

#include "generators/mutators/edit.h"
#include "generators/mutators/kinds.h"

namespace onnxfuzz {

namespace {

// (runtime input or initializer, reader) pairs whose reader is a registered op.
struct Feed {
  std::string name;
  bool initializer = false;
  int node = -1;
  int slot = -1;
};
std::vector<Feed> feeds(const Mutant& m, bool inputs_only) {
  const auto& graph = m.model.graph();
  std::vector<Feed> out;
  auto add = [&](const std::string& name, bool initializer) {
    for (const auto& use : uses_of(graph, name)) {
      if (registered_spec(graph.node(use.node))) out.push_back({name, initializer, use.node, use.slot});
    }
  };
  for (const auto* info : runtime_inputs(graph)) {
    if (declared_type(*info)) add(info->name(), false);
  }
  if (!inputs_only) {
    for (const auto& init : graph.initializer()) add(init.name(), true);
  }
  return out;
}

// Gives a runtime input a new declared type, with matching data when the shape allows it.
void retype_input(Mutant& m, const std::string& name, DType dtype, const Shape& shape, Rng& rng) {
  auto* info = find_graph_input(*m.model.mutable_graph(), name);
  set_declared_type(info, dtype, shape);
  bool drawable = true;
  for (int64_t d : shape) drawable = drawable && d >= 0;
  auto old = m.inputs.find(name);
  if (drawable) m.inputs[name] = remake_tensor(old == m.inputs.end() ? nullptr : &old->second, dtype, shape, rng);
}

}  // namespace

MutationResult break_dtype(Mutant& m, Rng& rng, const MutateOptions&) {
  auto candidates = feeds(m, false);
  if (candidates.empty()) return MutationResult::not_applicable("no input read by a known op");
  const Feed f = rng.pick(candidates);
  const auto& node = m.model.graph().node(f.node);
  const auto allowed = schema_input_dtypes(node, f.slot, model_opset(m.model));
  std::vector<DType> wrong;
  for (const auto& row : all_dtypes()) {
    if (std::find(allowed.begin(), allowed.end(), row.dtype) == allowed.end()) wrong.push_back(row.dtype);
  }
  if (wrong.empty()) return MutationResult::not_applicable("the input takes every dtype");
  const DType dtype = rng.pick(wrong);
  if (f.initializer) {
    auto* graph = m.model.mutable_graph();
    for (auto& init : *graph->mutable_initializer()) {
      if (init.name() != f.name) continue;
      auto t = tensor_from_proto(init);
      if (!t) return MutationResult::not_applicable(t.error());
      Tensor converted = Tensor::zeros(dtype, t->shape);
      for (int64_t i = 0; i < t->numel(); ++i) converted.set_double(i, t->as_double(i));
      init = tensor_to_proto(converted, f.name);
    }
    for (auto& input : *graph->mutable_input()) {
      if (input.name() == f.name) input.mutable_type()->mutable_tensor_type()->set_elem_type(static_cast<int32_t>(dtype));
    }
  } else {
    auto type = declared_type(*find_graph_input(*m.model.mutable_graph(), f.name));
    retype_input(m, f.name, dtype, type->shape, rng);
  }
  forget_inferred_shapes(m.model);
  return MutationResult::applied(fmt::format("{} (input {} of {}) is {}", f.name, f.slot,
                                             node.op_type(), dtype_name(dtype)));
}

MutationResult break_rank(Mutant& m, Rng& rng, const MutateOptions&) {
  auto candidates = feeds(m, true);
  if (candidates.empty()) return MutationResult::not_applicable("no graph input read by a known op");
  const Feed f = rng.pick(candidates);
  auto type = *declared_type(*find_graph_input(*m.model.mutable_graph(), f.name));
  Shape shape = type.shape;
  if (!shape.empty() && rng.chance(0.5)) {
    shape.erase(shape.begin() + rng.uniform_int(0, static_cast<int64_t>(shape.size()) - 1));
  } else {
    const int64_t extra = rng.uniform_int(1, 3);
    for (int64_t i = 0; i < extra; ++i) shape.insert(shape.begin(), 2);
  }
  retype_input(m, f.name, type.dtype, shape, rng);
  forget_inferred_shapes(m.model);
  return MutationResult::applied(fmt::format("{}: rank {} -> {}", f.name, type.shape.size(), shape.size()));
}

MutationResult break_missing_input(Mutant& m, Rng& rng, const MutateOptions&) {
  std::vector<std::pair<int, int>> candidates;  // (node, required input slot)
  const int opset = model_opset(m.model);
  const auto& graph = m.model.graph();
  for (int n = 0; n < graph.node_size(); ++n) {
    const auto& node = graph.node(n);
    if (!registered_spec(node)) continue;
    const auto* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset);
    if (!schema) continue;
    for (int i = 0; i < node.input_size() && static_cast<size_t>(i) < schema->inputs().size(); ++i) {
      if (schema->inputs()[static_cast<size_t>(i)].GetOption() == onnx::OpSchema::Single)
        candidates.push_back({n, i});
    }
  }
  if (candidates.empty()) return MutationResult::not_applicable("no required input");
  const auto [n, slot] = rng.pick(candidates);
  auto* node = m.model.mutable_graph()->mutable_node(n);
  const std::string name = node->input(slot);
  if (slot == node->input_size() - 1) {
    node->mutable_input()->RemoveLast();
  } else {
    node->set_input(slot, "");
  }
  forget_inferred_shapes(m.model);
  return MutationResult::applied(fmt::format("{} ({}) lost required input {} ({})", node->name(),
                                             node->op_type(), slot, name));
}

MutationResult break_axis(Mutant& m, Rng& rng, const MutateOptions&) {
  auto inferred = validate_model(m.model);
  if (!inferred) return MutationResult::not_applicable(inferred.error());
  std::map<std::string, size_t> ranks;
  for (const auto& list : {&inferred->graph().input(), &inferred->graph().value_info()}) {
    for (const auto& info : *list) {
      if (info.type().tensor_type().has_shape())
        ranks[info.name()] = static_cast<size_t>(info.type().tensor_type().shape().dim_size());
    }
  }
  for (const auto& init : inferred->graph().initializer()) ranks[init.name()] = static_cast<size_t>(init.dims_size());
  std::vector<std::pair<int, int>> candidates;  // (node, attribute)
  const auto& graph = m.model.graph();
  for (int n = 0; n < graph.node_size(); ++n) {
    const auto& node = graph.node(n);
    if (!registered_spec(node) || node.input_size() == 0 || !ranks.count(node.input(0))) continue;
    for (int a = 0; a < node.attribute_size(); ++a) {
      const auto& attr = node.attribute(a);
      if ((attr.name() == "axis" && attr.type() == onnx::AttributeProto::INT) ||
          (attr.name() == "axes" && attr.type() == onnx::AttributeProto::INTS && attr.ints_size() > 0))
        candidates.push_back({n, a});
    }
  }
  if (candidates.empty()) return MutationResult::not_applicable("no axis attribute");
  const auto [n, a] = rng.pick(candidates);
  auto* node = m.model.mutable_graph()->mutable_node(n);
  const int64_t rank = static_cast<int64_t>(ranks.at(node->input(0)));
  // Concat, Flatten and a few others accept `rank` itself: go at least one beyond.
  const int64_t axis = rng.chance(0.5) ? rank + rng.uniform_int(1, 3) : -rank - rng.uniform_int(1, 3);
  auto* attr = node->mutable_attribute(a);
  if (attr->type() == onnx::AttributeProto::INT) {
    attr->set_i(axis);
  } else {
    attr->set_ints(static_cast<int>(rng.uniform_int(0, attr->ints_size() - 1)), axis);
  }
  forget_inferred_shapes(m.model);
  return MutationResult::applied(fmt::format("{} ({}): {} {} for rank {}", node->name(),
                                             node->op_type(), attr->name(), axis, rank));
}

MutationResult break_shapes(Mutant& m, Rng& rng, const MutateOptions&) {
  // A graph input read by a node with another data input: one of its dims no longer matches.
  std::vector<Feed> candidates;
  for (const auto& f : feeds(m, true)) {
    if (m.model.graph().node(f.node).input_size() >= 2) candidates.push_back(f);
  }
  if (candidates.empty()) return MutationResult::not_applicable("no input of a multi-input node");
  const Feed f = rng.pick(candidates);
  auto type = *declared_type(*find_graph_input(*m.model.mutable_graph(), f.name));
  if (type.shape.empty()) return MutationResult::not_applicable("a scalar input");
  Shape shape = type.shape;
  const size_t axis = static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(shape.size()) - 1));
  // Never 1, which would broadcast.
  shape[axis] = shape[axis] + rng.uniform_int(1, 3);
  if (shape[axis] == 1) shape[axis] = 2;
  retype_input(m, f.name, type.dtype, shape, rng);
  forget_inferred_shapes(m.model);
  return MutationResult::applied(fmt::format("{}: {} -> {} (read by {})", f.name,
                                             shape_string(type.shape), shape_string(shape),
                                             m.model.graph().node(f.node).op_type()));
}

MutationResult break_dim_sign(Mutant& m, Rng& rng, const MutateOptions&) {
  auto candidates = feeds(m, true);
  std::erase_if(candidates, [&](const Feed& f) {
    return declared_type(*find_graph_input(*m.model.mutable_graph(), f.name))->shape.empty();
  });
  if (candidates.empty()) return MutationResult::not_applicable("no graph input of rank >= 1");
  const Feed f = rng.pick(candidates);
  auto* info = find_graph_input(*m.model.mutable_graph(), f.name);
  auto* dims = info->mutable_type()->mutable_tensor_type()->mutable_shape();
  const int axis = static_cast<int>(rng.uniform_int(0, dims->dim_size() - 1));
  const int64_t dim = -rng.uniform_int(1, 4);
  dims->mutable_dim(axis)->set_dim_value(dim);
  forget_inferred_shapes(m.model);
  return MutationResult::applied(fmt::format("{}: dim {} is {}", f.name, axis, dim));
}

bool breaks_rule(const Mutant& m, std::string_view rule) {
  if (rule != "negative-dim") return false;
  for (const auto* info : runtime_inputs(m.model.graph())) {
    for (const auto& dim : info->type().tensor_type().shape().dim()) {
      if (dim.has_dim_value() && dim.dim_value() < 0) return true;
    }
  }
  return false;
}

}  // namespace onnxfuzz
