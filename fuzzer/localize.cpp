// Fault localization: every intermediate exposed as an output, compared value by value.
#include "fuzzer/localize.h"

#include <fmt/format.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "generators/dtype.h"
#include "oracles/reference.h"

namespace onnxfuzz {
namespace {

std::string type_string(const Tensor& t) {
  return fmt::format("{}{}", dtype_name(t.dtype), shape_string(t.shape));
}

std::string attribute_string(const onnx::AttributeProto& a) {
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::FLOAT:
      return fmt::format("{}={}", a.name(), a.f());
    case A::INT:
      return fmt::format("{}={}", a.name(), a.i());
    case A::STRING:
      return fmt::format("{}=\"{}\"", a.name(), a.s());
    case A::INTS:
      return fmt::format("{}=[{}]", a.name(), fmt::join(a.ints(), ","));
    case A::FLOATS:
      return fmt::format("{}=[{}]", a.name(), fmt::join(a.floats(), ","));
    case A::STRINGS:
      return fmt::format("{}=[{} strings]", a.name(), a.strings_size());
    case A::TENSOR: {
      auto t = tensor_from_proto(a.t());
      return fmt::format("{}={}", a.name(), t ? tensor_summary(*t, 8) : "<tensor>");
    }
    case A::GRAPH:
      return fmt::format("{}=<graph of {} nodes>", a.name(), a.g().node_size());
    default:
      return fmt::format("{}=<{}>", a.name(), A::AttributeType_Name(a.type()));
  }
}

// Element types of every value shape inference can type (graph inputs, initializers and node
// outputs); inference errors leave the values it did not reach untyped.
std::map<std::string, int32_t> inferred_elem_types(const onnx::ModelProto& model) {
  onnx::ModelProto inferred = model;
  try {
    onnx::shape_inference::InferShapes(inferred);
  } catch (const std::exception&) {
  }
  std::map<std::string, int32_t> types;
  const auto& g = inferred.graph();
  for (const auto* list : {&g.input(), &g.value_info(), &g.output()}) {
    for (const auto& info : *list) {
      if (info.type().has_tensor_type() && info.type().tensor_type().elem_type() != 0) {
        types[info.name()] = info.type().tensor_type().elem_type();
      }
    }
  }
  for (const auto& init : g.initializer()) types[init.name()] = init.data_type();
  return types;
}

std::string node_op(const onnx::NodeProto& node) {
  return node.domain().empty() || node.domain() == "ai.onnx"
             ? node.op_type()
             : fmt::format("{}.{}", node.domain(), node.op_type());
}

bool ran(const RunResult& r) { return r.status == RunStatus::kOk; }

Tensor converted(const Tensor& tensor, DType dtype) {
  Tensor out = Tensor::zeros(dtype, tensor.shape);
  for (int64_t i = 0; i < tensor.numel(); ++i) out.set_double(i, tensor.as_double(i));
  return out;
}


std::string failure(const std::string& execution, const RunResult& r, std::string_view what) {
  return fmt::format("{} did not run {}: {}: {}", execution, what, run_status_name(r.status),
                     r.message.substr(0, 200));
}

// A float64 output computed in float32 (ONNX Runtime's Shrink on double, say): on the same
// inputs it differs from the baseline's by float32 rounding, far above float64's, on a good
// share of its elements. The tolerance (float64's is loose, for the error real models
// accumulate) lets each such value pass, and a later cancellation grows it. Elements far below
// the output's largest are left out: there a sum's reordering alone reaches such errors.
bool below_float64_precision(const Tensor& expected, const Tensor& actual) {
  if (expected.dtype != DType::kDouble || actual.dtype != DType::kDouble ||
      expected.shape != actual.shape) {
    return false;
  }
  const auto e = expected.values<double>();
  const auto a = actual.values<double>();
  double largest = 0;
  for (double v : e) {
    if (std::isfinite(v)) largest = std::max(largest, std::fabs(v));
  }
  int64_t significant = 0;
  int64_t coarse = 0;  // off by more than 2^-40 (4096 float64 ulps), relatively
  bool float32_level = false;  // some element is off by 2^-30 or more, relatively
  for (size_t i = 0; i < e.size(); ++i) {
    if (!std::isfinite(e[i]) || !std::isfinite(a[i]) || std::fabs(e[i]) < 1e-3 * largest) continue;
    ++significant;
    const double relative = std::fabs(a[i] - e[i]) / std::fabs(e[i]);
    if (relative > 0x1p-40) ++coarse;
    if (relative >= 0x1p-30) float32_level = true;
  }
  return float32_level && coarse * 4 >= significant;
}

// The replay of one node: the baseline's run of that node alone on the target's own values of
// its inputs, compared with the target's output.
struct NodeReplay {
  ValueComparison check;       // its worst output: baseline replay vs target
  // A float64 output that is the node's float32 result (computed_in_float32): beyond the
  // tolerance, or within it but far above float64's rounding (below_float64_precision).
  bool below_float64 = false;
  // The replay disagrees only where the exact result does not fit the integer output dtype
  // (see integer_overflow_only).
  bool overflow_only = false;
};

// Inputs of `node` that share the type constraint of its first output ("T" of ReduceSum's data,
// not its int64 axes), by input index; empty when the schema is not known.
std::vector<bool> inputs_typed_like_output(const onnx::ModelProto& model,
                                           const onnx::NodeProto& node) {
  int opset = 17;
  for (const auto& import : model.opset_import()) {
    if (import.domain().empty() || import.domain() == "ai.onnx") opset = import.version();
  }
  const auto* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset, node.domain());
  if (schema == nullptr || schema->outputs().empty()) return {};
  const std::string& t = schema->outputs()[0].GetTypeStr();
  std::vector<bool> same(static_cast<size_t>(node.input_size()), false);
  const auto& formal = schema->inputs();
  for (int i = 0; i < node.input_size(); ++i) {
    // A variadic last parameter covers the inputs past it.
    const size_t f = std::min(static_cast<size_t>(i), formal.size() - 1);
    if (!formal.empty()) same[static_cast<size_t>(i)] = formal[f].GetTypeStr() == t;
  }
  return same;
}

// `single` (a one-node model and its feeds) with the node's inputs that share its first output's
// type constraint retyped to `to`, values converted, and its first output alone, typed `to`.
// nullopt when the node's schema is unknown or such an input is not of a dtype `from` accepts.
struct Retyped {
  onnx::ModelProto model;
  TensorMap feeds;
};
std::optional<Retyped> retyped_like_output(const onnx::ModelProto& single, const TensorMap& feeds,
                                           const onnx::NodeProto& node,
                                           bool (*from)(DType), DType to) {
  const std::vector<bool> typed_like = inputs_typed_like_output(single, node);
  if (typed_like.empty() || node.output_size() == 0 || node.output(0).empty()) return std::nullopt;
  std::set<std::string> names;
  for (int i = 0; i < node.input_size(); ++i) {
    if (typed_like[static_cast<size_t>(i)] && !node.input(i).empty()) names.insert(node.input(i));
  }
  Retyped out{single, feeds};
  onnx::GraphProto* g = out.model.mutable_graph();
  for (auto& [name, tensor] : out.feeds) {
    if (!names.contains(name)) continue;
    if (!from(tensor.dtype)) return std::nullopt;
    tensor = converted(tensor, to);
  }
  for (auto& info : *g->mutable_input()) {
    if (names.contains(info.name()))
      info.mutable_type()->mutable_tensor_type()->set_elem_type(static_cast<int32_t>(to));
  }
  for (auto& init : *g->mutable_initializer()) {
    if (!names.contains(init.name())) continue;
    auto t = tensor_from_proto(init);
    if (!t || !from(t->dtype)) return std::nullopt;
    init = tensor_to_proto(converted(*t, to), init.name());
  }
  g->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
      static_cast<int32_t>(to));
  while (g->output_size() > 1) g->mutable_output()->RemoveLast();
  return out;
}

bool is_double(DType dtype) { return dtype == DType::kDouble; }

// Whether the target's float64 output of `node` is what the node computes in float32: the
// baseline runs the node alone with its float64 inputs of the output's type rounded to float32,
// and the target matches that within 4 float32 ulps (plus a 2^-30 share of the output's
// largest value, for results that cancel to near 0). ONNX Runtime's Shrink on double does this.
bool computed_in_float32(const onnx::ModelProto& single, const TensorMap& feeds,
                         const onnx::NodeProto& node, const TensorMap& values,
                         Execution& baseline) {
  if (node.output_size() == 0) return false;
  auto target = values.find(node.output(0));
  if (target == values.end() || target->second.dtype != DType::kDouble) return false;
  const auto low = retyped_like_output(single, feeds, node, is_double, DType::kFloat);
  if (!low) return false;
  const RunResult result = baseline.run(ModelUnderTest::view(low->model), low->feeds);
  auto n = result.outputs.find(node.output(0));
  if (!ran(result) || n == result.outputs.end() || n->second.shape != target->second.shape)
    return false;
  double largest = 0;
  for (int64_t i = 0; i < n->second.numel(); ++i) {
    const double v = n->second.as_double(i);
    if (std::isfinite(v)) largest = std::max(largest, std::fabs(v));
  }
  for (int64_t i = 0; i < n->second.numel(); ++i) {
    const double e = n->second.as_double(i);
    const double a = target->second.as_double(i);
    if (!std::isfinite(e) || !std::isfinite(a)) {
      if (!(e == a || (std::isnan(e) && std::isnan(a)))) return false;
      continue;
    }
    if (std::fabs(a - e) > 0x1p-21 * std::fabs(e) + 0x1p-30 * largest) return false;
  }
  return true;
}

// Whether the target's integer output differs from the baseline's replay only at elements
// where the node's exact result (the same node on the inputs widened to float64, exact for
// values below 2^53; near int64's ends, within a relative 2^-40) does not fit the output dtype:
// an overflow, whose result ONNX does not define (the reference wraps, as numpy does; a runtime
// that accumulates wider and saturates differs only there).
bool integer_overflow_only(const onnx::ModelProto& single, const TensorMap& feeds,
                           const onnx::NodeProto& node, const TensorMap& replayed,
                           const TensorMap& values, Execution& baseline) {
  const auto wide = retyped_like_output(single, feeds, node, is_integer, DType::kDouble);
  if (!wide) return false;
  const std::string& out = node.output(0);
  const RunResult exact = baseline.run(ModelUnderTest::view(wide->model), wide->feeds);
  auto e = replayed.find(out);
  auto a = values.find(out);
  auto x = exact.outputs.find(out);
  if (!ran(exact) || e == replayed.end() || a == values.end() || x == exact.outputs.end() ||
      !is_integer(e->second.dtype) || e->second.shape != a->second.shape ||
      x->second.shape != e->second.shape) {
    return false;
  }
  const DTypeInfo& info = dtype_info(e->second.dtype);
  bool differs = false;
  const size_t size = dtype_size(e->second.dtype);
  for (int64_t i = 0; i < e->second.numel(); ++i) {
    const auto offset = static_cast<size_t>(i) * size;
    if (std::memcmp(e->second.bytes.data() + offset, a->second.bytes.data() + offset, size) == 0)
      continue;
    differs = true;
    // highest + 1 is a power of two, exact in double (INT64_MAX itself rounds up to it). The
    // widened sum of int64 values near its ends is rounded (-2^63 - 3 is -2^63 in double), so
    // a result within a relative 2^-40 of an end counts as overflowing too.
    const double v = x->second.as_double(i);
    const double margin = std::fabs(v) * 0x1p-40;
    if (v - margin >= info.lowest && v + margin < info.highest + 1.0) return false;  // it fits
  }
  return differs;
}

// Replays node `index` of `model`. `values` holds the target's values of the node outputs
// (every intermediate exposed), `inputs` the graph inputs. nullopt when the node cannot be
// replayed: a subgraph attribute (it may read outer values), an input value or an output type
// that is not known, or the baseline failing on the node alone.
std::optional<NodeReplay> replay_node_on(const onnx::ModelProto& model, int index,
                                         const TensorMap& values, const TensorMap& inputs,
                                         const std::map<std::string, int32_t>& types,
                                         Execution& baseline, const OracleConfig& config) {
  const onnx::GraphProto& graph = model.graph();
  const onnx::NodeProto& node = graph.node(index);
  for (const auto& attr : node.attribute()) {
    if (attr.has_g() || attr.graphs_size() > 0) return std::nullopt;
  }
  onnx::ModelProto single = model;
  onnx::GraphProto* g = single.mutable_graph();
  g->clear_node();
  g->clear_input();
  g->clear_output();
  g->clear_value_info();
  g->clear_initializer();
  g->clear_sparse_initializer();
  *g->add_node() = node;
  TensorMap feeds;
  for (const auto& in : node.input()) {
    if (in.empty() || feeds.contains(in)) continue;
    auto init = std::ranges::find_if(graph.initializer(),
                                     [&](const onnx::TensorProto& t) { return t.name() == in; });
    if (init != graph.initializer().end()) {
      if (std::ranges::none_of(g->initializer(), [&](const auto& t) { return t.name() == in; }))
        *g->add_initializer() = *init;
      continue;
    }
    auto value = values.find(in);
    if (value == values.end()) value = inputs.find(in);
    if (value == inputs.end()) return std::nullopt;
    const Tensor& t = value->second;
    auto* info = g->add_input();
    info->set_name(in);
    auto* tensor_type = info->mutable_type()->mutable_tensor_type();
    tensor_type->set_elem_type(static_cast<int32_t>(t.dtype));
    for (int64_t d : t.shape) tensor_type->mutable_shape()->add_dim()->set_dim_value(d);
    feeds.emplace(in, t);
  }
  for (const auto& out : node.output()) {
    if (out.empty()) continue;
    auto produced = values.find(out);
    if (produced == values.end()) return std::nullopt;
    auto* info = g->add_output();
    info->set_name(out);
    info->mutable_type()->mutable_tensor_type()->set_elem_type(
        types.contains(out) ? types.at(out) : static_cast<int32_t>(produced->second.dtype));
  }
  const RunResult replayed = baseline.run(ModelUnderTest::view(single), feeds);
  if (!ran(replayed)) return std::nullopt;
  NodeReplay replay;
  for (const auto& out : node.output()) {
    auto e = replayed.outputs.find(out);
    if (out.empty() || e == replayed.outputs.end()) continue;
    const Tensor& actual = values.at(out);
    ValueComparison c = compare_values(out, e->second, actual, config);
    replay.below_float64 |= below_float64_precision(e->second, actual);
    if (!c.agrees ? replay.check.agrees : (replay.check.agrees &&
                                           c.max_rel_error >= replay.check.max_rel_error)) {
      replay.check = std::move(c);
    }
  }
  if (!replay.check.agrees && !replay.check.shape_differs) {
    replay.overflow_only =
        integer_overflow_only(single, feeds, node, replayed.outputs, values, baseline);
  }
  // A float64 output beyond the tolerance, or within it and coarse, that is the node's float32
  // result: computed in float32, whatever the attribute values (Shrink's bias may cancel).
  if ((!replay.check.agrees || replay.below_float64) && !replay.check.shape_differs) {
    replay.below_float64 = computed_in_float32(single, feeds, node, values, baseline);
  }
  return replay;
}

// Fills the named node's description: name, op, attributes and input types.
void describe_node(Localization& loc, const onnx::ModelProto& model, int index,
                   const TensorMap& baseline_values, const TensorMap& inputs) {
  const onnx::NodeProto& node = model.graph().node(index);
  loc.node_index = index;
  loc.node_name = node.name();
  loc.op_type = node_op(node);
  for (const auto& attr : node.attribute()) loc.attributes.push_back(attribute_string(attr));
  std::ranges::sort(loc.attributes);
  for (const auto& in : node.input()) {
    auto it = baseline_values.find(in);
    const Tensor* t = it != baseline_values.end() ? &it->second : nullptr;
    if (t == nullptr && inputs.count(in)) t = &inputs.at(in);
    std::string type;
    if (t != nullptr) {
      type = fmt::format("{} rank {}", dtype_name(t->dtype), t->rank());
    } else {
      for (const auto& init : model.graph().initializer()) {
        if (init.name() != in) continue;
        const DTypeInfo* info = find_dtype(init.data_type());
        type = fmt::format("{} rank {}", info ? info->name : "?", init.dims_size());
      }
    }
    loc.input_types.push_back(in.empty() ? "" : type);
  }
}

}  // namespace

std::vector<std::string> optimizer_changes(const std::map<std::string, std::vector<std::string>>& notes) {
  std::vector<std::string> changes;
  for (const char* key : {"rewrites", "node_changes"}) {
    if (auto it = notes.find(key); it != notes.end()) {
      changes.insert(changes.end(), it->second.begin(), it->second.end());
    }
  }
  return changes;
}

std::string_view localization_status_name(LocalizationStatus status) {
  switch (status) {
    case LocalizationStatus::kLocalized:
      return "localized";
    case LocalizationStatus::kVanished:
      return "vanished";
    case LocalizationStatus::kNoDivergence:
      return "no-divergence";
    case LocalizationStatus::kNotRun:
      return "not-run";
    case LocalizationStatus::kPropagated:
      return "propagated";
  }
  return "unknown";
}

ValueComparison compare_values(const std::string& name, const Tensor& expected,
                               const Tensor& actual, const OracleConfig& config) {
  ValueComparison c;
  c.name = name;
  c.baseline_type = type_string(expected);
  c.target_type = type_string(actual);
  if (expected.dtype != actual.dtype || expected.shape != actual.shape) {
    c.agrees = false;
    c.shape_differs = true;
    return c;
  }
  const Tolerance tol = config.tolerance_for(expected.dtype);
  const bool exact = !is_float(expected.dtype);
  const size_t size = dtype_size(expected.dtype);
  double worst = -1;
  const auto note_worst = [&](int64_t i, double error, double e, double a) {
    if (error <= worst) return;
    worst = error;
    c.worst_index = i;
    c.baseline_value = e;
    c.target_value = a;
  };
  for (int64_t i = 0; i < expected.numel(); ++i) {
    const double e = expected.as_double(i);
    const double a = actual.as_double(i);
    if (std::isnan(e) || std::isnan(a) || std::isinf(e) || std::isinf(a)) {
      const bool same = (std::isnan(e) && std::isnan(a)) || e == a;
      if (!same) {
        ++c.mismatches;
        note_worst(i, std::numeric_limits<double>::infinity(), e, a);
      }
      continue;
    }
    // Integers beyond 2^53 collapse in double: exact dtypes compare their bytes.
    const bool bytes_differ = exact && std::memcmp(actual.bytes.data() + i * size,
                                                   expected.bytes.data() + i * size, size) != 0;
    const double abs_error = std::max(std::fabs(a - e), bytes_differ ? 1.0 : 0.0);
    c.max_abs_error = std::max(c.max_abs_error, abs_error);
    if (e != 0) c.max_rel_error = std::max(c.max_rel_error, abs_error / std::fabs(e));
    if (abs_error > tol.atol + tol.rtol * std::fabs(e)) {
      ++c.mismatches;
      note_worst(i, abs_error, e, a);
    }
  }
  c.agrees = c.mismatches == 0;
  return c;
}

namespace {

// expose_intermediates with the element types shape inference gives `model` already known.
onnx::ModelProto expose_typed(const onnx::ModelProto& model, const TensorMap& inputs,
                              const std::map<std::string, int32_t>& types, int* added) {
  onnx::ModelProto exposed = model;
  std::set<std::string> taken;
  for (const auto& o : model.graph().output()) taken.insert(o.name());
  for (const auto& i : model.graph().input()) taken.insert(i.name());
  for (const auto& i : model.graph().initializer()) taken.insert(i.name());
  std::optional<TensorMap> reference_values;
  int count = 0;
  for (const auto& node : model.graph().node()) {
    for (const auto& name : node.output()) {
      if (name.empty() || !taken.insert(name).second) continue;
      int32_t elem_type = types.count(name) ? types.at(name) : 0;
      if (elem_type == 0) {
        // Shape inference did not reach it: the reference's value says its type.
        if (!reference_values) {
          reference_values.emplace();
          run_reference(model, inputs, &*reference_values);
        }
        auto it = reference_values->find(name);
        if (it == reference_values->end()) continue;  // untyped and unknown: not exposed
        elem_type = static_cast<int32_t>(it->second.dtype);
      }
      auto* output = exposed.mutable_graph()->add_output();
      output->set_name(name);
      output->mutable_type()->mutable_tensor_type()->set_elem_type(elem_type);
      ++count;
    }
  }
  if (added != nullptr) *added = count;
  return exposed;
}

}  // namespace

onnx::ModelProto expose_intermediates(const onnx::ModelProto& model, const TensorMap& inputs,
                                      int* added) {
  return expose_typed(model, inputs, inferred_elem_types(model), added);
}

Localization localize(const onnx::ModelProto& model, const TensorMap& inputs, Execution& baseline,
                      Execution& target, const LocalizeOptions& options) {
  Localization loc;
  loc.baseline = baseline.name();
  loc.target = target.name();
  loc.rewrites = options.rewrites;

  // The model as given: does the finding show, and how far apart are the outputs?
  const RunResult base = baseline.run(ModelUnderTest::view(model), inputs);
  const RunResult got = target.run(ModelUnderTest::view(model), inputs);
  if (auto found = optimizer_changes(got.notes); !found.empty()) loc.rewrites = found;
  if (!ran(base) || !ran(got)) {
    loc.detail = failure(ran(base) ? target.name() : baseline.name(), ran(base) ? got : base,
                         "the model");
    return loc;
  }
  bool diverges = false;
  for (const auto& name : base.output_order) {
    auto e = base.outputs.find(name);
    auto a = got.outputs.find(name);
    if (e == base.outputs.end() || a == got.outputs.end()) continue;
    loc.outputs.push_back(compare_values(name, e->second, a->second, options.oracle));
    diverges |= !loc.outputs.back().agrees;
  }
  if (!diverges) {
    loc.status = LocalizationStatus::kNoDivergence;
    loc.detail = fmt::format("{} and {} agree on every output of the model", loc.baseline,
                             loc.target);
    return loc;
  }

  // Every intermediate exposed.
  // Shape inference once: the exposed outputs' types and the replays' output types.
  const auto types = inferred_elem_types(model);
  const onnx::ModelProto exposed = expose_typed(model, inputs, types, &loc.exposed_values);
  const RunResult xbase = baseline.run(ModelUnderTest::view(exposed), inputs);
  const RunResult xgot = target.run(ModelUnderTest::view(exposed), inputs);
  if (!ran(xbase) || !ran(xgot)) {
    loc.detail = failure(ran(xbase) ? target.name() : baseline.name(), ran(xbase) ? xgot : xbase,
                         "the model with its intermediates exposed");
    return loc;
  }
  std::map<std::string, bool> agrees;  // value name -> agrees (absent: unknown)
  // A node that may be named, with the evidence that would name it. In order of evidence: the
  // first whose replay disagrees; with a replay missing, the first that diverges while its
  // inputs agree within the tolerance; the first float64 node computed in float32.
  struct Candidate {
    int index = -1;
    std::string evidence;
    ValueComparison output;  // its worst output, baseline vs target
    ValueComparison replay;  // its replay, when it has one
  };
  Candidate by_replay, by_tolerance, by_precision;
  bool replay_missing = false;  // some differing node could not be replayed
  int widest_node = -1;         // the differing node with the largest replay error
  double widest_error = -1;
  for (int index = 0; index < model.graph().node_size() && by_replay.index < 0; ++index) {
    const onnx::NodeProto& node = model.graph().node(index);
    bool differs = false;  // some output is not bit for bit the baseline's
    ValueComparison worst;
    for (const auto& name : node.output()) {
      auto e = xbase.outputs.find(name);
      auto a = xgot.outputs.find(name);
      if (name.empty() || e == xbase.outputs.end() || a == xgot.outputs.end()) continue;
      ValueComparison c = compare_values(name, e->second, a->second, options.oracle);
      agrees[name] = c.agrees;
      differs |= e->second.dtype != a->second.dtype || e->second.shape != a->second.shape ||
                 e->second.bytes != a->second.bytes;
      if (!c.agrees && worst.agrees) worst = c;
      if (c.agrees && worst.agrees && c.max_abs_error >= worst.max_abs_error) worst = c;
    }
    if (!worst.agrees && by_tolerance.index < 0) {
      const bool inputs_agree = std::ranges::none_of(node.input(), [&](const std::string& in) {
        auto it = agrees.find(in);
        return it != agrees.end() && !it->second;
      });
      if (inputs_agree) by_tolerance = {index, "tolerance", worst, {}};
    }
    if (!differs) continue;
    const std::optional<NodeReplay> replay =
        replay_node_on(model, index, xgot.outputs, inputs, types, baseline, options.oracle);
    if (!replay) {
      replay_missing = true;
      continue;
    }
    if (!replay->check.agrees) {
      const char* evidence = replay->overflow_only   ? "overflow"
                             : replay->below_float64 ? "precision"
                                                     : "replay";
      by_replay = {index, evidence, worst, replay->check};
    } else if (replay->below_float64 && by_precision.index < 0) {
      by_precision = {index, "precision", worst, replay->check};
    }
    if (replay->check.max_rel_error > widest_error) {
      widest_error = replay->check.max_rel_error;
      widest_node = index;
    }
  }
  // Did the graph outputs of the exposed model still diverge?
  bool still_diverges = false;
  for (const auto& out : loc.outputs) {
    auto e = xbase.outputs.find(out.name);
    auto a = xgot.outputs.find(out.name);
    if (e == xbase.outputs.end() || a == xgot.outputs.end()) continue;
    still_diverges |= !compare_values(out.name, e->second, a->second, options.oracle).agrees;
  }
  loc.vanished = !still_diverges;
  const Candidate* named = by_replay.index >= 0                           ? &by_replay
                           : replay_missing && by_tolerance.index >= 0    ? &by_tolerance
                           : still_diverges && by_precision.index >= 0    ? &by_precision
                                                                          : nullptr;
  if (named != nullptr) {
    loc.evidence = named->evidence;
    loc.output = named->output;
    loc.replay = named->replay;
    describe_node(loc, model, named->index, xbase.outputs, inputs);
    loc.status = LocalizationStatus::kLocalized;
    loc.detail = localization_summary(loc);
    return loc;
  }
  if (still_diverges && by_tolerance.index >= 0) {
    loc.status = LocalizationStatus::kPropagated;
    const onnx::NodeProto* widest = widest_node >= 0 ? &model.graph().node(widest_node) : nullptr;
    loc.detail = fmt::format(
        "every node whose output differs computes, from {}'s own values of its inputs, what {} "
        "computes from them (within the tolerance): the outputs diverge through differences the "
        "tolerance allows, grown by later nodes{}",
        loc.target, loc.baseline,
        widest == nullptr
            ? std::string()
            : fmt::format(" (the largest on a node's own inputs: node {} '{}' ({}), max rel "
                          "error {:.3g})",
                          widest_node, widest->name(), node_op(*widest), widest_error));
    return loc;
  }
  loc.status = LocalizationStatus::kVanished;
  loc.vanished = true;
  loc.detail = fmt::format(
      "the divergence disappears when the {} intermediates are graph outputs (an optimizer "
      "rewrite no longer applies){}",
      loc.exposed_values,
      loc.rewrites.empty() ? "; no rewrites recorded"
                           : fmt::format("; rewrites that fired on the model as given: {}",
                                         fmt::join(loc.rewrites, "; ")));
  return loc;
}

namespace {

// What localize_upstream and localize_beside say before they find anything: for a node index
// outside the model, why.
Localization unlocalized(const onnx::ModelProto& model, int failing, Execution& baseline,
                         Execution& target) {
  Localization none;
  none.baseline = baseline.name();
  none.target = target.name();
  none.failing_node = failing;
  if (failing < 0 || failing >= model.graph().node_size())
    none.detail = fmt::format("no node {} in the model", failing);
  return none;
}

// localize() on `cut`, whose nodes are the model's nodes `kept`, in order: node indexes mapped
// back to the model's.
Localization localize_cut(const onnx::ModelProto& cut, const std::vector<int>& kept, int failing,
                          const TensorMap& inputs, Execution& baseline, Execution& target,
                          const LocalizeOptions& options) {
  Localization loc = localize(cut, inputs, baseline, target, options);
  loc.failing_node = failing;
  if (loc.node_index >= 0) loc.node_index = kept[static_cast<size_t>(loc.node_index)];
  if (loc.status == LocalizationStatus::kLocalized) loc.detail = localization_summary(loc);
  return loc;
}

}  // namespace

Localization localize_upstream(const onnx::ModelProto& model, const TensorMap& inputs,
                               int failing, Execution& baseline, Execution& target,
                               const LocalizeOptions& options) {
  Localization none = unlocalized(model, failing, baseline, target);
  const onnx::GraphProto& graph = model.graph();
  if (failing < 0 || failing >= graph.node_size()) return none;
  // The cut model: the nodes `failing` depends on, in graph order (topological, so they all
  // come before it). Nodes beside it are left out: a sibling that reads the same bad value
  // would fail the cut model the same way.
  std::set<std::string> needed(graph.node(failing).input().begin(),
                               graph.node(failing).input().end());
  std::set<std::string> produced;
  std::vector<int> kept;  // cut model node index -> model node index, reversed at first
  for (int index = failing - 1; index >= 0; --index) {
    const onnx::NodeProto& node = graph.node(index);
    if (std::ranges::none_of(node.output(), [&](const auto& out) { return needed.contains(out); }))
      continue;
    kept.push_back(index);
    produced.insert(node.output().begin(), node.output().end());
    needed.insert(node.input().begin(), node.input().end());
  }
  std::ranges::reverse(kept);
  onnx::ModelProto prefix = model;
  onnx::GraphProto* cut = prefix.mutable_graph();
  cut->clear_node();
  for (int index : kept) *cut->add_node() = graph.node(index);
  // Its outputs are the values `failing` reads, nothing else: a divergence that does not reach
  // it explains nothing.
  cut->clear_output();
  cut->clear_value_info();
  const auto types = inferred_elem_types(model);
  std::set<std::string> outputs;
  int read = 0;  // values `failing` reads from the remaining nodes
  for (const auto& in : graph.node(failing).input()) {
    if (in.empty() || !produced.contains(in)) continue;
    ++read;
    if (!outputs.insert(in).second) continue;
    auto type = types.find(in);
    if (type == types.end() || type->second == 0) {
      none.status = LocalizationStatus::kNotRun;
      none.detail = fmt::format("the type of '{}', an input of node {}, is not known", in, failing);
      return none;
    }
    auto* output = cut->add_output();
    output->set_name(in);
    output->mutable_type()->mutable_tensor_type()->set_elem_type(type->second);
  }
  if (read == 0) {
    none.status = LocalizationStatus::kNoDivergence;
    none.detail = fmt::format("node {} ({}) reads no value another node computes", failing,
                              node_op(graph.node(failing)));
    return none;
  }
  return localize_cut(prefix, kept, failing, inputs, baseline, target, options);
}

Localization localize_beside(const onnx::ModelProto& model, const TensorMap& inputs, int failing,
                             Execution& baseline, Execution& target,
                             const LocalizeOptions& options) {
  Localization none = unlocalized(model, failing, baseline, target);
  const onnx::GraphProto& graph = model.graph();
  if (failing < 0 || failing >= graph.node_size()) return none;
  // Every node but `failing` and what reads from it, in graph order.
  std::set<std::string> from_failing(graph.node(failing).output().begin(),
                                     graph.node(failing).output().end());
  std::vector<int> kept;  // cut model node index -> model node index
  for (int index = 0; index < graph.node_size(); ++index) {
    if (index == failing) continue;
    const onnx::NodeProto& node = graph.node(index);
    if (std::ranges::any_of(node.input(), [&](const auto& in) { return from_failing.contains(in); })) {
      from_failing.insert(node.output().begin(), node.output().end());
      continue;
    }
    kept.push_back(index);
  }
  const auto types = inferred_elem_types(model);
  onnx::ModelProto rest = model;
  onnx::GraphProto* cut = rest.mutable_graph();
  cut->clear_node();
  cut->clear_output();
  cut->clear_value_info();
  for (int index : kept) {
    *cut->add_node() = graph.node(index);
    for (const auto& out : graph.node(index).output()) {
      auto type = types.find(out);
      if (out.empty() || type == types.end() || type->second == 0) continue;
      auto* output = cut->add_output();
      output->set_name(out);
      output->mutable_type()->mutable_tensor_type()->set_elem_type(type->second);
    }
  }
  if (cut->output_size() == 0) {
    none.status = LocalizationStatus::kNoDivergence;
    none.detail = fmt::format("no node beside node {} computes a typed value", failing);
    return none;
  }
  return localize_cut(rest, kept, failing, inputs, baseline, target, options);
}

std::string localization_summary(const Localization& loc) {
  if (loc.status != LocalizationStatus::kLocalized) {
    return fmt::format("{}: {}", localization_status_name(loc.status), loc.detail);
  }
  const auto& c = loc.output;
  std::string error =
      c.shape_differs
          ? fmt::format("{} has {}, {} {}", loc.baseline, c.baseline_type, loc.target,
                        c.target_type)
          : fmt::format("max abs error {:.6g}, max rel error {:.6g}, {} elements outside the "
                        "tolerance",
                        c.max_abs_error, c.max_rel_error, c.mismatches);
  std::string how;
  if (loc.evidence == "precision") {
    how = fmt::format("computes its float64 output '{}' at float32 precision: it is {}'s float32 "
                      "result of the node (max rel error {:.3g} against its float64 one on the "
                      "same inputs{})",
                      c.name, loc.baseline, loc.replay.max_rel_error,
                      loc.replay.agrees ? ", within the tolerance; later nodes grow it" : "");
  } else if (loc.evidence == "overflow") {
    how = fmt::format("differs from {} on the same inputs only where the exact result of '{}' "
                      "overflows its integer dtype (undefined in ONNX; {} wraps)",
                      loc.baseline, c.name, loc.baseline);
  } else if (loc.evidence == "replay") {
    how = fmt::format("is the first whose output '{}' {} computes differently from the same "
                      "inputs",
                      c.name, loc.target);
  } else {
    how = fmt::format("is the first whose output '{}' diverges while its inputs agree", c.name);
  }
  return fmt::format("node {} '{}' ({}) {}: {}{}{}", loc.node_index, loc.node_name, loc.op_type,
                     how, error,
                     loc.failing_node >= 0
                         ? fmt::format(", upstream of node {}, whose error follows from it",
                                       loc.failing_node)
                         : std::string(),
                     loc.vanished ? " (but the graph outputs agree once intermediates are "
                                    "exposed)"
                                  : "");
}

namespace {

bool is_half(int32_t elem_type) {
  return elem_type == onnx::TensorProto::FLOAT16 || elem_type == onnx::TensorProto::BFLOAT16;
}

// Rewrites half precision as float32 in a graph, counting what it changed; `ok` turns false
// when a tensor cannot be read.
struct Widening {
  int changed = 0;
  bool ok = true;

  void tensor(onnx::TensorProto& proto) {
    if (!is_half(proto.data_type())) return;
    auto read = tensor_from_proto(proto);
    if (!read) {
      ok = false;
      return;
    }
    proto = tensor_to_proto(converted(*read, DType::kFloat), proto.name());
    ++changed;
  }
  void type(onnx::TypeProto& t) {
    if (!t.has_tensor_type() || !is_half(t.tensor_type().elem_type())) return;
    t.mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    ++changed;
  }
  void graph(onnx::GraphProto& g) {
    for (auto* values : {g.mutable_input(), g.mutable_output(), g.mutable_value_info()}) {
      for (auto& value : *values) type(*value.mutable_type());
    }
    for (auto& initializer : *g.mutable_initializer()) tensor(initializer);
    for (auto& node : *g.mutable_node()) {
      for (auto& attr : *node.mutable_attribute()) {
        // Element type codes: Cast's `to`, the `dtype` of EyeLike and the Random ops.
        const bool type_code = attr.name() == "to" || attr.name() == "dtype";
        if (attr.type() == onnx::AttributeProto::INT && type_code &&
            is_half(static_cast<int32_t>(attr.i()))) {
          attr.set_i(onnx::TensorProto::FLOAT);
          ++changed;
        }
        if (attr.has_t()) tensor(*attr.mutable_t());
        for (auto& t : *attr.mutable_tensors()) tensor(t);
        if (attr.has_g()) graph(*attr.mutable_g());
        for (auto& body : *attr.mutable_graphs()) graph(body);
      }
    }
  }
};

}  // namespace

std::optional<HalfWidened> widen_half_precision(const onnx::ModelProto& model,
                                                const TensorMap& inputs) {
  HalfWidened out{model, inputs};
  Widening widening;
  widening.graph(*out.model.mutable_graph());
  if (!widening.ok) return std::nullopt;
  for (auto& [name, tensor] : out.inputs) {
    if (tensor.dtype == DType::kFloat16 || tensor.dtype == DType::kBfloat16) {
      tensor = converted(tensor, DType::kFloat);
      ++widening.changed;
    }
  }
  if (widening.changed == 0) return std::nullopt;
  return out;
}

namespace {

// matches_half_widened with the model already widened.
std::optional<bool> agrees_with_widened(const HalfWidened& widened, const onnx::ModelProto& model,
                                        const RunResult& target_result, Execution& baseline,
                                        const OracleConfig& config) {
  if (target_result.status != RunStatus::kOk) return std::nullopt;
  const ModelUnderTest mut = ModelUnderTest::view(widened.model);
  RunResult expected = baseline.run(mut, widened.inputs);
  if (expected.status != RunStatus::kOk) return std::nullopt;
  // The widened run's outputs back in the dtypes the model declares: a float16 output of the
  // model is float16 on the target too (its last cast rounds it).
  for (const auto& output : model.graph().output()) {
    auto it = expected.outputs.find(output.name());
    auto got = target_result.outputs.find(output.name());
    if (it == expected.outputs.end() || got == target_result.outputs.end()) return std::nullopt;
    if (it->second.dtype != got->second.dtype) {
      it->second = converted(it->second, got->second.dtype);
    }
  }
  const Observation baseline_obs{baseline.name(), std::move(expected)};
  const Observation target_obs{"target", target_result};
  for (const Verdict& verdict : judge(baseline_obs, {target_obs}, nullptr, config)) {
    if (verdict.kind == VerdictKind::kNumeric || verdict.kind == VerdictKind::kShape) return false;
  }
  return true;
}

}  // namespace

std::optional<bool> matches_half_widened(const onnx::ModelProto& model, const TensorMap& inputs,
                                         const RunResult& target_result, Execution& baseline,
                                         const OracleConfig& config) {
  auto widened = widen_half_precision(model, inputs);
  if (!widened) return std::nullopt;
  return agrees_with_widened(*widened, model, target_result, baseline, config);
}

bool computes_half_in_float32(const onnx::ModelProto& model, const TensorMap& inputs,
                              Execution& target, Execution& baseline, const OracleConfig& config) {
  auto widened = widen_half_precision(model, inputs);
  if (!widened) return false;  // nothing to widen: the target is not run
  const RunResult got = target.run(ModelUnderTest::view(model), inputs);
  return agrees_with_widened(*widened, model, got, baseline, config).value_or(false);
}

}  // namespace onnxfuzz
