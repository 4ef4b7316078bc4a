// Rebuild: re-emits a model through the GraphBuilder, re-deriving and repairing each node by its
// registration.
#include "generators/mutators/rebuild.h"

#include <onnx/version_converter/convert.h>

#include "generators/fold.h"

#include <fmt/format.h>
#include <onnx/defs/schema.h>

#include <algorithm>
#include <set>

namespace onnxfuzz {

namespace {

int default_opset(const onnx::ModelProto& model) {
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") return static_cast<int>(o.version());
  }
  return 0;
}

// The registration of a node, when it describes the operator version the model's opset selects.
const OpSpec* spec_for(const onnx::NodeProto& node, int opset) {
  if (!node.domain().empty() && node.domain() != "ai.onnx") return nullptr;
  const OpSpec* spec = find_op_spec(node.op_type());
  if (!spec) return nullptr;
  const auto* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset);
  if (!schema || schema->SinceVersion() != spec->since_version) return nullptr;
  return spec;
}

// The model the builder can start from: constant-folded when some value has no static type
// (generators/fold.h), then, when a node has no registration at the model's own opset, converted
// to kTargetOpset by ONNX's version converter (from the inferred model: its adapters need the
// shapes). Deterministic, so chains re-derive.
std::expected<onnx::ModelProto, std::string> prepare_uncached(const onnx::ModelProto& model) {
  onnx::ModelProto out = model;
  auto inferred = validate_model(out);
  if (!inferred) return std::unexpected(inferred.error());
  // Each round makes more shapes static (a Reshape whose target was folded), which lets the
  // next fold Shape nodes further down.
  auto untyped = [&] {
    return std::ranges::any_of(inferred->graph().value_info(),
                               [](const auto& info) { return !value_type_of(info); });
  };
  for (int round = 0; round < 16 && untyped(); ++round) {
    auto folded = fold_constants(out);
    if (!folded) return std::unexpected(fmt::format("folding constants: {}", folded.error()));
    if (*folded == 0) break;
    inferred = validate_model(out);
    if (!inferred) return std::unexpected(fmt::format("after folding: {}", inferred.error()));
  }
  const int opset = default_opset(out);
  const bool registered = std::ranges::all_of(out.graph().node(), [&](const auto& node) {
    return node.op_type() == "Constant" || spec_for(node, opset) != nullptr;
  });
  if (registered || opset >= kTargetOpset) return out;
  try {
    return onnx::version_conversion::ConvertVersion(*inferred, kTargetOpset);
  } catch (const std::exception& e) {
    return std::unexpected(
        fmt::format("converting opset {} to {}: {}", opset, kTargetOpset, e.what()));
  }
}

// The dispatcher tries many (mutator, seed) draws on one model: folding and converting a large
// real model once, not per draw. Keyed by the model's bytes; one entry per thread.
std::expected<onnx::ModelProto, std::string> prepare_for_rebuild(const onnx::ModelProto& model) {
  thread_local std::string cached_key;
  thread_local std::expected<onnx::ModelProto, std::string> cached;
  const std::string key = serialize_model(model);
  if (key != cached_key) {
    cached = prepare_uncached(model);
    cached_key = key;
  }
  return cached;
}

}  // namespace

std::expected<std::unique_ptr<Rebuild>, std::string> Rebuild::start(const Mutant& mutant, Rng& rng,
                                                                    const MutateOptions& options,
                                                                    const InputEdit& edit) {
  // Real models: raised to the opset the registrations describe, and their run-time shape
  // computations folded (generators/fold.h), so that every value has a static type.
  auto prepared = prepare_for_rebuild(mutant.model);
  if (!prepared) return std::unexpected(prepared.error());
  auto inferred = validate_model(*prepared);
  if (!inferred) return std::unexpected(inferred.error());
  std::unique_ptr<Rebuild> r(new Rebuild());
  const auto& graph = inferred->graph();
  for (const auto& list : {&graph.input(), &graph.value_info(), &graph.output()}) {
    for (const auto& info : *list) {
      auto type = value_type_of(info);
      if (!type) return std::unexpected(type.error());
      r->original_types_[info.name()] = *type;
    }
  }
  const int opset = default_opset(*prepared);
  onnx::ModelProto stripped = *prepared;
  auto* g = stripped.mutable_graph();
  g->clear_node();
  g->clear_output();
  g->clear_value_info();
  for (const auto& init : graph.initializer()) {
    auto t = tensor_from_proto(init);
    if (!t) return std::unexpected(fmt::format("initializer '{}': {}", init.name(), t.error()));
    r->original_types_[init.name()] = {t->dtype, t->shape};
  }
  for (const auto& node : graph.node()) {
    // A Constant node is an initializer by another name: rebuilt as one.
    if ((node.domain().empty() || node.domain() == "ai.onnx") && node.op_type() == "Constant" &&
        node.attribute_size() == 1 && node.attribute(0).name() == "value" &&
        node.output_size() == 1) {
      onnx::TensorProto t = node.attribute(0).t();
      t.set_name(node.output(0));
      *g->add_initializer() = t;
      continue;
    }
    const OpSpec* spec = spec_for(node, opset);
    if (!spec) {
      return std::unexpected(fmt::format("node '{}' ({}): no registration at opset {}", node.name(),
                                         node.op_type(), opset));
    }
    r->nodes_.push_back(node);
    r->specs_.push_back(spec);
  }
  TensorMap inputs = mutant.inputs;
  if (edit) {
    if (auto ok = edit(stripped, inputs); !ok) return std::unexpected(ok.error());
  }
  for (const auto& init : g->initializer()) {
    auto t = tensor_from_proto(init);
    if (!t) return std::unexpected(fmt::format("initializer '{}': {}", init.name(), t.error()));
    r->constants_.emplace(init.name(), std::move(*t));
  }
  // The builder's size limits hold the model's largest tensor.
  r->policy_ = options.policy;
  for (const auto& [name, type] : r->original_types_) {
    r->policy_.max_rank = std::max<int>(r->policy_.max_rank, static_cast<int>(type.shape.size()));
    r->policy_.max_elements = std::max(r->policy_.max_elements, shape_numel(type.shape));
  }
  for (const auto& [name, t] : inputs) {
    r->policy_.max_rank = std::max<int>(r->policy_.max_rank, static_cast<int>(t.shape.size()));
    r->policy_.max_elements = std::max(r->policy_.max_elements, t.numel());
  }
  auto built = GraphBuilder::from_model(stripped, inputs, r->policy_, rng, find_op_spec("Clip"));
  if (!built) return std::unexpected(built.error());
  r->builder_.emplace(std::move(*built));
  // Guards and rewrites may add nodes freely; the mutant's size is bounded by the seed's.
  r->builder_->set_budget(1 << 20);
  for (size_t i = 0; i < r->builder_->values().size(); ++i)
    r->bound_[r->builder_->value(static_cast<int>(i)).name] = static_cast<int>(i);
  return r;
}

std::optional<ValueType> Rebuild::original_type(const std::string& name) const {
  auto it = original_types_.find(name);
  if (it == original_types_.end()) return std::nullopt;
  return it->second;
}

std::optional<int> Rebuild::value_of(const std::string& name) const {
  auto it = bound_.find(name);
  if (it == bound_.end()) return std::nullopt;
  return it->second;
}

std::expected<void, std::string> Rebuild::fits(const Plan& plan) const {
  const OpSpec& spec = *plan.spec;
  for (const auto& o : plan.operands) {
    if (o.value >= 0 && !spec.empty_ok && shape_numel(o.sig.shape) == 0)
      return std::unexpected(fmt::format("{} takes no empty tensor", spec.op_type));
  }
  const NodeSig sig = plan.sig();
  auto shape = spec.output_shape(sig);
  if (!shape) return std::unexpected(fmt::format("{}: {}", spec.op_type, shape.error()));
  std::vector<Shape> shapes = {*shape};
  if (spec.extra_outputs) {
    auto extra = spec.extra_outputs(spec, sig);
    if (!extra) return std::unexpected(fmt::format("{}: {}", spec.op_type, extra.error()));
    for (const auto& e : *extra) shapes.push_back(e.shape);
  }
  for (const auto& s : shapes) {
    if (static_cast<int>(s.size()) > policy_.max_rank || shape_numel(s) > policy_.max_elements)
      return std::unexpected(fmt::format("{}: output {} beyond the size limits", spec.op_type,
                                         shape_string(s)));
  }
  return {};
}

bool Rebuild::primary_fits(const OpSpec& spec, const Value& v) const {
  return !v.shape.empty() && static_cast<int>(v.shape.size()) <= policy_.max_rank &&
         shape_numel(v.shape) <= policy_.max_elements &&
         (spec.empty_ok || shape_numel(v.shape) > 0) && spec.allows_dtype(v.dtype) &&
         spec.accepts_primary(v.shape, policy_);
}

std::expected<int, std::string> Rebuild::cast(int value, DType to) {
  const OpSpec* spec = find_op_spec("Cast");
  if (!spec) return std::unexpected(std::string("no Cast registration"));
  Plan plan;
  plan.spec = spec;
  plan.dtype = builder_->value(value).dtype;
  plan.operands = {builder_->data(value)};
  plan.attrs = {Attr::of_int("to", static_cast<int64_t>(to))};
  if (auto ok = fits(plan); !ok) return std::unexpected(ok.error());
  return builder_->emit(plan).front();
}

std::expected<Plan, std::string> Rebuild::plan_of(size_t k) {
  const onnx::NodeProto& node = nodes_[k];
  const OpSpec& spec = *specs_[k];
  Plan plan;
  plan.spec = &spec;
  plan.attrs = attrs_of_node(node);
  for (int i = 0; i < node.input_size(); ++i) {
    const std::string& name = node.input(i);
    if (name.empty()) {
      plan.operands.push_back(GraphBuilder::omitted());
      continue;
    }
    auto index = value_of(name);
    if (!index) return std::unexpected(fmt::format("value '{}' is gone", name));
    auto type = original_type(name);
    const DType original = type ? type->dtype : builder_->value(*index).dtype;
    const DType want = expected_dtype ? expected_dtype(k, static_cast<size_t>(i), original)
                                      : original;
    if (builder_->value(*index).dtype != want) {
      auto cast_value = cast(*index, want);
      if (!cast_value) return std::unexpected(cast_value.error());
      index = *cast_value;
    }
    Operand o = builder_->data(*index);
    const size_t formal = std::min(static_cast<size_t>(i), spec.inputs.size() - 1);
    auto data = constants_.find(builder_->value(*index).name);
    if (data != constants_.end() && data->second.dtype == DType::kInt64) {
      auto ints = data->second.values<int64_t>();
      o.sig.ints.assign(ints.begin(), ints.end());
    } else if (spec.inputs[formal].role == InputRole::kConstInts) {
      return std::unexpected(
          fmt::format("{} input {} is computed, not constant", spec.op_type, i));
    }
    plan.operands.push_back(std::move(o));
  }
  const bool variadic = !spec.inputs.empty() && spec.inputs.back().variadic;
  while (!variadic && plan.operands.size() < spec.inputs.size())
    plan.operands.push_back(GraphBuilder::omitted());
  const size_t slot = static_cast<size_t>(spec.primary_slots.front());
  plan.dtype = slot < plan.operands.size() && plan.operands[slot].sig.present
                   ? plan.operands[slot].sig.dtype
                   : DType::kFloat;
  return plan;
}

std::expected<std::vector<int>, std::string> Rebuild::emit(const Plan& plan, bool repair) {
  auto ok = fits(plan);
  if (ok) return builder_->emit(plan);
  if (!repair) return std::unexpected(ok.error());
  const OpSpec& spec = *plan.spec;
  const size_t slot = static_cast<size_t>(spec.primary_slots.front());
  const int primary = slot < plan.operands.size() ? plan.operands[slot].value : -1;
  return replan(spec, primary, ok.error());
}

std::expected<std::vector<int>, std::string> Rebuild::replan(const OpSpec& spec, int primary,
                                                             const std::string& why) {
  if (primary < 0 || !primary_fits(spec, builder_->value(primary))) {
    return std::unexpected(
        fmt::format("{} cannot be re-planned around its primary ({})", spec.op_type, why));
  }
  Plan fresh;
  fresh.spec = &spec;
  fresh.dtype = builder_->value(primary).dtype;
  spec.plan(*builder_, fresh, primary, spec.primary_slots.front());
  builder_->repair_domains(fresh);
  if (auto refit = fits(fresh); !refit) return std::unexpected(refit.error());
  return builder_->emit(fresh);
}

void Rebuild::bind_outputs(size_t k, const std::vector<int>& outputs) {
  const onnx::NodeProto& node = nodes_[k];
  for (int o = 0; o < node.output_size() && static_cast<size_t>(o) < outputs.size(); ++o) {
    if (!node.output(o).empty()) bind(node.output(o), outputs[static_cast<size_t>(o)]);
  }
}

std::expected<void, std::string> Rebuild::replay(size_t k) {
  auto plan = plan_of(k);
  std::expected<std::vector<int>, std::string> outputs;
  if (plan) {
    outputs = emit(*plan, true);
  } else {
    // A computed shape operand: re-plan the node around its primary when it has one.
    const onnx::NodeProto& node = nodes_[k];
    const size_t slot = static_cast<size_t>(specs_[k]->primary_slots.front());
    if (slot >= static_cast<size_t>(node.input_size())) return std::unexpected(plan.error());
    auto primary = value_of(node.input(static_cast<int>(slot)));
    if (!primary) return std::unexpected(plan.error());
    outputs = replan(*specs_[k], *primary, plan.error());
  }
  if (!outputs) return std::unexpected(fmt::format("node {} ({}): {}", k, nodes_[k].op_type(),
                                                   outputs.error()));
  bind_outputs(k, *outputs);
  return {};
}

std::expected<std::vector<int>, std::string> Rebuild::emit_op(std::string_view op_type,
                                                              std::vector<Operand> operands,
                                                              AttrList attrs) {
  const OpSpec* spec = find_op_spec(op_type);
  if (!spec) return std::unexpected(fmt::format("no registration of {}", op_type));
  Plan plan;
  plan.spec = spec;
  plan.operands = std::move(operands);
  plan.attrs = std::move(attrs);
  const size_t slot = static_cast<size_t>(spec->primary_slots.front());
  plan.dtype = slot < plan.operands.size() ? plan.operands[slot].sig.dtype : DType::kFloat;
  if (!spec->allows_dtype(plan.dtype))
    return std::unexpected(fmt::format("{} does not take {}", op_type, dtype_name(plan.dtype)));
  return emit(plan, false);
}

std::expected<int, std::string> Rebuild::insert_on(int value) {
  std::vector<const OpSpec*> candidates;
  for (const auto& spec : all_op_specs()) {
    if (primary_fits(spec, builder_->value(value))) candidates.push_back(&spec);
  }
  if (candidates.empty()) return std::unexpected(std::string("no op takes this value"));
  for (int attempt = 0; attempt < 8; ++attempt) {
    const OpSpec& spec = *rng().pick(candidates);
    Plan plan;
    plan.spec = &spec;
    plan.dtype = builder_->value(value).dtype;
    spec.plan(*builder_, plan, value, spec.primary_slots.front());
    builder_->repair_domains(plan);
    if (fits(plan)) return builder_->emit(plan).front();
  }
  return std::unexpected(std::string("no planned op fits here"));
}

Mutant Rebuild::finish() {
  GeneratedModel built = builder_->finish(0);
  Mutant out;
  out.model = std::move(built.model);
  out.model.clear_metadata_props();
  auto* graph = out.model.mutable_graph();
  std::set<std::string> read;
  for (const auto& node : graph->node()) {
    for (const auto& name : node.input()) read.insert(name);
  }
  for (const auto& o : graph->output()) read.insert(o.name());
  auto* inits = graph->mutable_initializer();
  for (int i = inits->size(); i-- > 0;) {
    if (!read.count(inits->Get(i).name())) inits->DeleteSubrange(i, 1);
  }
  auto* ins = graph->mutable_input();
  for (int i = ins->size(); i-- > 0;) {
    if (!read.count(ins->Get(i).name())) ins->DeleteSubrange(i, 1);
  }
  for (const auto* info : runtime_inputs(*graph)) {
    auto it = built.inputs.find(info->name());
    if (it != built.inputs.end()) out.inputs.insert(*it);
  }
  return out;
}

}  // namespace onnxfuzz
