// Value mutator: moves some elements of an initializer or of a graph input's data to edge
// values: zeros, negative zero, denormals, huge values, integer min/max, and NaN/Inf when the
// options allow them. Only tensors every reader takes as plain data with no value domain.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "generators/mutators/edit.h"
#include "generators/mutators/kinds.h"

namespace onnxfuzz {

namespace {

// The smallest positive denormal of a float dtype.
double denormal(DType d) {
  switch (d) {
    case DType::kFloat16:
      return 0x1p-24;
    case DType::kDouble:
      return std::numeric_limits<double>::denorm_min();
    default:  // float32 and bfloat16 share float32's exponent range
      return 0x1p-133;
  }
}

// Whether every reader of `name` takes it as plain data: an input of the primary's type
// parameter (not Resize's scales, not indices), with an unconstrained value domain.
bool plain_data(const onnx::ModelProto& model, const std::string& name) {
  const auto& graph = model.graph();
  const auto uses = uses_of(graph, name);
  if (uses.empty()) return false;
  for (const auto& use : uses) {
    const OpSpec* spec = registered_spec(graph.node(use.node));
    if (!spec || spec->inputs.empty()) return false;
    const size_t formal = std::min(static_cast<size_t>(use.slot), spec->inputs.size() - 1);
    if (spec->inputs[formal].role != InputRole::kData) return false;
    if (!spec->input_domain(static_cast<size_t>(use.slot)).unconstrained()) return false;
    if (!same_type_param(graph.node(use.node), use.slot, spec->primary_slots.front(),
                         model_opset(model)))
      return false;
  }
  return true;
}

}  // namespace

MutationResult mutate_value_edges(Mutant& m, Rng& rng, const MutateOptions& options) {
  auto* graph = m.model.mutable_graph();
  struct Target {
    std::string name;
    int initializer = -1;  // index, or -1 for a graph input's data
  };
  std::vector<Target> targets;
  for (int i = 0; i < graph->initializer_size(); ++i) {
    const auto& init = graph->initializer(i);
    if (dtype_supported(init.data_type()) && static_cast<DType>(init.data_type()) != DType::kBool &&
        plain_data(m.model, init.name()))
      targets.push_back({init.name(), i});
  }
  for (const auto& [name, t] : m.inputs) {
    if (t.dtype != DType::kBool && t.numel() > 0 && plain_data(m.model, name))
      targets.push_back({name, -1});
  }
  if (targets.empty()) return MutationResult::not_applicable("no plain data tensor");
  const Target target = rng.pick(targets);
  Tensor t;
  if (target.initializer >= 0) {
    auto read = tensor_from_proto(graph->initializer(target.initializer));
    if (!read) return MutationResult::not_applicable(read.error());
    t = std::move(*read);
  } else {
    t = m.inputs.at(target.name);
  }
  if (t.numel() == 0) return MutationResult::not_applicable("empty tensor");
  const DTypeInfo& info = dtype_info(t.dtype);
  std::vector<std::pair<std::string_view, double>> edges = {{"zero", 0.0}};
  if (is_float(t.dtype)) {
    edges.push_back({"negative zero", -0.0});
    edges.push_back({"denormal", denormal(t.dtype)});
    edges.push_back({"-denormal", -denormal(t.dtype)});
    edges.push_back({"huge", info.highest});
    edges.push_back({"-huge", info.lowest});
    if (options.nan_inf) {
      edges.push_back({"nan", std::numeric_limits<double>::quiet_NaN()});
      edges.push_back({"inf", std::numeric_limits<double>::infinity()});
      edges.push_back({"-inf", -std::numeric_limits<double>::infinity()});
    }
  } else {
    // Storing saturates: the 64-bit rows' 2^63 and 2^64 become INT64_MAX and UINT64_MAX.
    edges.push_back({"int min", info.lowest});
    edges.push_back({"int max", info.highest});
  }
  const auto& [label, value] = rng.pick(edges);
  // All elements, one, or a random share.
  const int64_t n = t.numel();
  int64_t changed = 0;
  const double share = rng.chance(0.2) ? 1.0 : rng.chance(0.5) ? 0.0 : rng.uniform_real(0.1, 0.9);
  for (int64_t i = 0; i < n; ++i) {
    if (share == 1.0 || rng.chance(share)) t.set_double(i, value), ++changed;
  }
  if (changed == 0) t.set_double(rng.uniform_int(0, n - 1), value), changed = 1;
  if (target.initializer >= 0) {
    *graph->mutable_initializer(target.initializer) = tensor_to_proto(t, target.name);
  } else {
    m.inputs[target.name] = std::move(t);
  }
  return MutationResult::applied(fmt::format("{}: {} of {} elements -> {}", target.name, changed, n, label));
}

}  // namespace onnxfuzz
