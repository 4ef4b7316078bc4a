// Minimizer: reduction passes over the ONNX graph, each accepted only if the failure persists.
#include "fuzzer/minimizer.h"

#include <fmt/format.h>
#include <onnx/defs/schema.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "fuzzer/evaluation.h"
#include "generators/inputs.h"
#include "generators/model_io.h"
#include "generators/op_spec.h"
#include "generators/rng.h"
#include "oracles/reference.h"

namespace onnxfuzz {
namespace {

using Clock = std::chrono::steady_clock;

// Lexicographic model size: a candidate is only tried if it is strictly smaller, so every
// accepted step makes progress and the reducer cannot cycle.
struct ModelSize {
  int nodes = 0;
  int64_t elements = 0;          // runtime input + initializer elements
  int64_t attribute_weight = 0;  // attribute count + magnitude of int attribute values
  int interface = 0;             // graph inputs + outputs
  auto operator<=>(const ModelSize&) const = default;
};

ModelSize size_of(const onnx::ModelProto& model, const TensorMap& inputs) {
  ModelSize size;
  const auto& graph = model.graph();
  size.nodes = graph.node_size();
  for (const auto& [name, tensor] : inputs) size.elements += tensor.numel();
  for (const auto& init : graph.initializer()) {
    int64_t n = 1;
    for (int64_t d : init.dims()) n *= d;
    size.elements += n;
  }
  for (const auto& node : graph.node()) {
    for (const auto& attr : node.attribute()) {
      size.attribute_weight += 1;
      if (attr.has_i()) size.attribute_weight += std::min<int64_t>(std::abs(attr.i()), 64);
      for (int64_t v : attr.ints()) size.attribute_weight += std::min<int64_t>(std::abs(v), 64);
    }
  }
  size.interface = graph.input_size() + graph.output_size();
  return size;
}

// Removes nodes, initializers and graph inputs that no graph output depends on.
void eliminate_dead_code(onnx::GraphProto& graph) {
  std::set<std::string> needed;
  for (const auto& output : graph.output()) needed.insert(output.name());
  std::vector<bool> keep(graph.node_size(), false);
  for (int i = graph.node_size() - 1; i >= 0; --i) {
    const auto& node = graph.node(i);
    for (const auto& out : node.output()) keep[i] = keep[i] || needed.count(out);
    if (!keep[i]) continue;
    for (const auto& in : node.input()) {
      if (!in.empty()) needed.insert(in);
    }
  }
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (int i = 0; i < graph.node_size(); ++i) {
    if (keep[i]) *nodes.Add() = graph.node(i);
  }
  graph.mutable_node()->Swap(&nodes);
  auto* inits = graph.mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i) {
    if (!needed.count(inits->Get(i).name())) inits->DeleteSubrange(i, 1);
  }
  auto* inputs = graph.mutable_input();
  for (int i = inputs->size() - 1; i >= 0; --i) {
    if (!needed.count(inputs->Get(i).name())) inputs->DeleteSubrange(i, 1);
  }
}

// Copies the leading block of `source` with shape `shape` (every dim <= source's).
std::optional<Tensor> leading_block(const Tensor& source, const Shape& shape) {
  if (source.rank() != shape.size()) return std::nullopt;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] > source.shape[d]) return std::nullopt;
  }
  Tensor out = Tensor::zeros(source.dtype, shape);
  const size_t element = dtype_size(source.dtype);
  const int64_t n = out.numel();
  std::vector<int64_t> index(shape.size(), 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t src = 0;
    for (size_t d = 0; d < shape.size(); ++d) src = src * source.shape[d] + index[d];
    std::memcpy(out.bytes.data() + flat * element, source.bytes.data() + src * element, element);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

class Reducer {
 public:
  Reducer(Execution& baseline, Execution& target, const OracleConfig& config, const Verdict& wanted,
          const MinimizeOptions& options)
      : baseline_(baseline),
        target_(target),
        config_(config),
        wanted_(wanted),
        options_(options),
        started_(Clock::now()) {}

  // Checks the unreduced model; sets it as the current one.
  std::expected<void, std::string> start(const onnx::ModelProto& model, const TensorMap& inputs) {
    auto eval = evaluate(model, inputs);
    require_valid_ = eval.valid;
    if (!match(eval, nullptr, nullptr)) {  // the cause was found on this model
      std::string seen;
      for (const auto& v : eval.verdicts) {
        seen += fmt::format(" [{} on {}: {}]", verdict_kind_name(v.kind), v.execution, v.message);
      }
      return std::unexpected(fmt::format(
          "the unreduced model does not fail the way to be preserved ({} on {}: '{}'); "
          "observed:{}. Reproduce by hand with: onnxfuzz run <case-or-model> --executions {},{}",
          verdict_kind_name(wanted_.kind), wanted_.execution, wanted_.message,
          seen.empty() ? " no failure" : seen, baseline_.name(), target_.name()));
    }
    accept(eval, model, inputs, "start");
    return {};
  }

  // Runs `candidate` if it is smaller than the current model; accepts it if it fails the same
  // way. `what` names the step for the log.
  bool try_candidate(onnx::ModelProto candidate, const std::string& what) {
    if (out_of_budget()) return false;
    candidate.mutable_graph()->clear_value_info();
    // Output dims are re-derived by inference, since a reduction may change them. The rank
    // stays: the checker wants a shape, and no pass changes an output's rank.
    for (auto& output : *candidate.mutable_graph()->mutable_output()) {
      auto* shape = output.mutable_type()->mutable_tensor_type()->mutable_shape();
      for (auto& dim : *shape->mutable_dim()) {
        dim.clear_dim_value();
        dim.clear_dim_param();
      }
    }
    auto validated = validate_model(candidate);
    if (require_valid_ && !validated) {
      spdlog::debug("minimize: {}: invalid candidate: {}", what, validated.error());
      return false;
    }
    onnx::ModelProto& runnable = validated ? *validated : candidate;
    runnable.mutable_graph()->clear_value_info();
    auto inputs = inputs_for(runnable);
    if (!inputs) return false;
    if (!(size_of(runnable, *inputs) < size_of(current_, current_inputs_))) return false;
    ++stats.checks;
    auto eval = evaluate(runnable, *inputs);
    if (!match(eval, &runnable, &*inputs)) {
      if (spdlog::should_log(spdlog::level::debug)) {
        std::string seen;
        for (const auto& v : eval.verdicts) {
          seen += fmt::format(" [{} on {}: {}]", verdict_kind_name(v.kind), v.execution, v.message);
        }
        spdlog::debug("minimize: {}: does not fail the same way; observed:{}", what,
                      seen.empty() ? " no failure" : seen);
      }
      return false;
    }
    accept(eval, runnable, *inputs, what);
    return true;
  }

  bool out_of_budget() {
    const double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
    if (elapsed > options_.time_budget_seconds || stats.checks >= options_.max_checks ||
        (options_.stop && options_.stop->load())) {
      stats.budget_exhausted = true;
    }
    return stats.budget_exhausted;
  }

  const onnx::ModelProto& current() const { return current_; }
  const TensorMap& current_inputs() const { return current_inputs_; }
  const Verdict& current_verdict() const { return current_verdict_; }
  // Full static type of a value of the current model, from shape inference.
  const onnx::TypeProto* type_of(const std::string& name) const {
    auto it = types_.find(name);
    return it == types_.end() ? nullptr : &it->second;
  }
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }

  MinimizeStats stats;

 private:
  Evaluation evaluate(const onnx::ModelProto& model, const TensorMap& inputs) {
    std::vector<Execution*> executions{&baseline_};
    if (&target_ != &baseline_) executions.push_back(&target_);
    return evaluate_model(model, inputs, executions, config_);
  }

  // Whether a verdict of `eval` fails the way wanted; with a candidate's `model` and `inputs`,
  // also the same cause (MinimizeOptions::same_cause).
  bool match(const Evaluation& eval, const onnx::ModelProto* model, const TensorMap* inputs) {
    if (require_valid_ && !eval.valid) return false;
    for (const auto& v : eval.verdicts) {
      if (!fails_same_way(v, wanted_)) continue;
      if (model != nullptr && options_.same_cause && !options_.same_cause(*model, *inputs, v))
        continue;
      matched_ = v;
      return true;
    }
    return false;
  }

  void accept(const Evaluation& eval, const onnx::ModelProto& model, const TensorMap& inputs,
              const std::string& what) {
    current_ = model;
    current_inputs_ = inputs;
    current_verdict_ = matched_;
    types_.clear();
    if (eval.valid) {
      const auto& g = eval.inferred.graph();
      for (const auto* list : {&g.input(), &g.value_info(), &g.output()}) {
        for (const auto& vi : *list) types_[vi.name()] = vi.type();
      }
    }
    // Every value the reference computes on the accepted model: the exact tensors a cut-off
    // subgraph is fed, so reductions keep the numbers that triggered the failure.
    pool_.clear();
    run_reference(current_, current_inputs_, &pool_);
    for (const auto& [name, tensor] : inputs) pool_.insert_or_assign(name, tensor);
    if (what != "start") {
      ++stats.accepted;
      stats.log.push_back(fmt::format("{} -> {} nodes", what, current_.graph().node_size()));
      spdlog::debug("minimize: accepted {} ({} nodes)", what, current_.graph().node_size());
    }
  }

  // Inputs for a candidate: pool values by name, else a leading block of a larger pool value,
  // else fresh values.
  std::optional<TensorMap> inputs_for(const onnx::ModelProto& candidate) {
    TensorMap inputs;
    bool synthesized = false;
    for (const auto* info : runtime_inputs(candidate.graph())) {
      auto type = value_type_of(*info);
      if (!type) return std::nullopt;
      auto it = pool_.find(info->name());
      if (it != pool_.end() && it->second.dtype == type->dtype) {
        if (it->second.shape == type->shape) {
          inputs.emplace(info->name(), it->second);
          continue;
        }
        if (auto block = leading_block(it->second, type->shape)) {
          inputs.emplace(info->name(), std::move(*block));
          continue;
        }
      }
      synthesized = true;
    }
    if (synthesized) {
      Rng rng(0x5eed);
      TensorMap fresh = synthesize_inputs(candidate, rng);
      for (auto& [name, tensor] : fresh) inputs.try_emplace(name, std::move(tensor));
    }
    return inputs;
  }

  Execution& baseline_;
  Execution& target_;
  const OracleConfig& config_;
  const Verdict wanted_;
  const MinimizeOptions& options_;
  const Clock::time_point started_;
  bool require_valid_ = true;
  Verdict matched_;
  onnx::ModelProto current_;
  TensorMap current_inputs_;
  Verdict current_verdict_;
  std::map<std::string, onnx::TypeProto> types_;
  TensorMap pool_;
};

// ---- Passes. Each returns true when it made (at least) one accepted reduction. ----

// Makes a single intermediate value the only graph output (everything downstream dies).
bool pass_promote_output(Reducer& r) {
  const auto& graph = r.current().graph();
  for (int k = 0; k < graph.node_size(); ++k) {
    for (const auto& value : graph.node(k).output()) {
      if (value.empty() || !r.type_of(value)) continue;
      if (graph.output_size() == 1 && graph.output(0).name() == value) continue;
      onnx::ModelProto candidate = r.current();
      auto* g = candidate.mutable_graph();
      g->clear_output();
      auto* out = g->add_output();
      out->set_name(value);
      *out->mutable_type() = *r.type_of(value);
      eliminate_dead_code(*g);
      if (r.try_candidate(std::move(candidate),
                          fmt::format("promote '{}' to sole output", value))) {
        return true;
      }
    }
  }
  return false;
}

bool pass_drop_outputs(Reducer& r) {
  bool progress = false;
  for (int i = r.current().graph().output_size() - 1; i >= 0; --i) {
    if (r.current().graph().output_size() <= 1) break;
    if (i >= r.current().graph().output_size()) continue;
    onnx::ModelProto candidate = r.current();
    const std::string name = candidate.graph().output(i).name();
    candidate.mutable_graph()->mutable_output()->DeleteSubrange(i, 1);
    eliminate_dead_code(*candidate.mutable_graph());
    progress |= r.try_candidate(std::move(candidate), fmt::format("drop output '{}'", name));
  }
  return progress;
}

// Deletes a chunk of nodes; values they produced that are still used become graph inputs,
// fed the exact tensors the full model computed for them.
bool delete_nodes(Reducer& r, int begin, int end) {
  onnx::ModelProto candidate = r.current();
  auto* g = candidate.mutable_graph();
  std::set<std::string> removed_outputs;
  std::vector<std::string> removed_ops;
  for (int i = begin; i < end; ++i) {
    removed_ops.push_back(g->node(i).op_type());
    for (const auto& out : g->node(i).output()) {
      if (!out.empty()) removed_outputs.insert(out);
    }
  }
  g->mutable_node()->DeleteSubrange(begin, end - begin);
  std::set<std::string> used;
  for (const auto& node : g->node()) used.insert(node.input().begin(), node.input().end());
  for (const auto& out : g->output()) used.insert(out.name());
  for (const auto& value : removed_outputs) {
    if (!used.count(value)) continue;
    const onnx::TypeProto* type = r.type_of(value);
    if (!type) return false;
    auto* input = g->add_input();
    input->set_name(value);
    *input->mutable_type() = *type;
  }
  eliminate_dead_code(*g);
  return r.try_candidate(std::move(candidate), fmt::format("cut {}", fmt::join(removed_ops, ",")));
}

// ddmin-style: halves, then quarters, ... then single nodes.
bool pass_cut_nodes(Reducer& r) {
  bool progress = false;
  for (int chunk = std::max(1, r.current().graph().node_size() / 2); chunk >= 1; chunk /= 2) {
    for (int begin = 0; begin < r.current().graph().node_size();) {
      if (r.out_of_budget()) return progress;
      const int end = std::min(begin + chunk, r.current().graph().node_size());
      if (end - begin == r.current().graph().node_size() && r.current().graph().node_size() == 1) {
        break;  // never delete the last node: a failure needs an op
      }
      if (delete_nodes(r, begin, end)) {
        progress = true;  // same begin now points at the next chunk
      } else {
        begin += chunk;
      }
    }
  }
  return progress;
}

// Replaces a node by an existing value of identical type: first its own inputs
// (x -> Relu -> y becomes x), then graph inputs and earlier values.
bool pass_bypass_nodes(Reducer& r) {
  constexpr size_t kMaxReplacements = 8;  // bounds the checks spent on one node
  bool progress = false;
  for (int k = r.current().graph().node_size() - 1; k >= 0; --k) {
    if (k >= r.current().graph().node_size()) continue;
    const auto node = r.current().graph().node(k);
    if (node.output_size() < 1 || node.output(0).empty()) continue;
    const std::string out = node.output(0);
    const onnx::TypeProto* out_type = r.type_of(out);
    if (!out_type) continue;
    bool is_graph_output = false;
    for (const auto& o : r.current().graph().output()) is_graph_output |= o.name() == out;
    if (is_graph_output) continue;
    std::vector<std::string> replacements(node.input().begin(), node.input().end());
    for (const auto& input : r.current().graph().input()) replacements.push_back(input.name());
    for (int j = 0; j < k; ++j) {
      for (const auto& value : r.current().graph().node(j).output()) replacements.push_back(value);
    }
    const std::string wanted_type = out_type->SerializeAsString();
    std::vector<std::string> tried;
    for (const auto& in : replacements) {
      if (tried.size() >= kMaxReplacements) break;
      const onnx::TypeProto* in_type = r.type_of(in);
      if (in.empty() || !in_type || in_type->SerializeAsString() != wanted_type ||
          std::ranges::find(tried, in) != tried.end()) {
        continue;
      }
      tried.push_back(in);
      onnx::ModelProto candidate = r.current();
      auto* g = candidate.mutable_graph();
      g->mutable_node()->DeleteSubrange(k, 1);
      for (auto& consumer : *g->mutable_node()) {
        for (auto& name : *consumer.mutable_input()) {
          if (name == out) name = in;
        }
      }
      eliminate_dead_code(*g);
      if (r.try_candidate(std::move(candidate),
                          fmt::format("bypass {} with '{}'", node.op_type(), in))) {
        progress = true;
        break;
      }
    }
  }
  return progress;
}

// Halves (or sets to 1) one dim of a runtime input, alone or jointly with every runtime input
// that has the same size at the same position from the right (broadcast partners).
bool pass_shrink_dims(Reducer& r) {
  bool progress = false;
  const auto inputs = runtime_inputs(r.current().graph());
  std::vector<std::string> names;
  for (const auto* info : inputs) names.push_back(info->name());
  for (const auto& name : names) {
    for (int axis = 0;; ++axis) {
      const onnx::ValueInfoProto* info = nullptr;
      for (const auto* vi : runtime_inputs(r.current().graph())) {
        if (vi->name() == name) info = vi;
      }
      if (!info) break;
      auto type = value_type_of(*info);
      if (!type || axis >= static_cast<int>(type->shape.size())) break;
      const int64_t size = type->shape[axis];
      if (size <= 1) continue;
      const int from_right = static_cast<int>(type->shape.size()) - axis;
      for (int64_t new_size : {int64_t{1}, size / 2}) {
        bool done = false;
        for (bool joint : {false, true}) {
          onnx::ModelProto candidate = r.current();
          for (auto& vi : *candidate.mutable_graph()->mutable_input()) {
            auto* shape = vi.mutable_type()->mutable_tensor_type()->mutable_shape();
            const int rank = shape->dim_size();
            const int pos = rank - from_right;
            if (pos < 0 || !shape->dim(pos).has_dim_value()) continue;
            const bool self = vi.name() == name;
            if (!self && !(joint && shape->dim(pos).dim_value() == size)) continue;
            shape->mutable_dim(pos)->set_dim_value(new_size);
          }
          if (r.try_candidate(std::move(candidate),
                              fmt::format("shrink {} dim {} {}->{}{}", name, axis, size, new_size,
                                          joint ? " (with partners)" : ""))) {
            progress = done = true;
            break;
          }
        }
        if (done) break;
      }
    }
  }
  return progress;
}

// Removes optional attributes and moves int attributes towards 0/1.
bool pass_simplify_attributes(Reducer& r) {
  bool progress = false;
  int opset = kTargetOpset;
  for (const auto& import : r.current().opset_import()) {
    if (import.domain().empty() || import.domain() == "ai.onnx") opset = import.version();
  }
  for (int k = 0; k < r.current().graph().node_size(); ++k) {
    for (int a = r.current().graph().node(k).attribute_size() - 1; a >= 0; --a) {
      if (a >= r.current().graph().node(k).attribute_size()) continue;
      const auto node = r.current().graph().node(k);
      const auto& attr = node.attribute(a);
      const auto* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset, node.domain());
      bool required = true;
      if (schema) {
        auto it = schema->attributes().find(attr.name());
        required = it != schema->attributes().end() && it->second.required;
      }
      std::vector<onnx::ModelProto> candidates;
      if (!required) {
        candidates.push_back(r.current());
        candidates.back().mutable_graph()->mutable_node(k)->mutable_attribute()->DeleteSubrange(a,
                                                                                                1);
      }
      // Simpler values: the values the op's registration draws for this attribute (the one
      // place that knows which values an op accepts); 0 and 1 only for an attribute it does
      // not draw. Never 0 for a window attribute: ONNX 1.12's shape inference divides by a
      // zero stride and would take the whole process down with SIGFPE.
      std::vector<int64_t> simpler;
      bool drawn = false;
      if (const OpSpec* spec = find_op_spec(node.op_type())) {
        for (const auto& domain : spec->attr_domains) {
          if (domain.name != attr.name()) continue;
          drawn = true;
          for (double choice : domain.choices) simpler.push_back(static_cast<int64_t>(choice));
        }
      }
      if (!drawn) simpler = {0, 1};
      static const char* kPositive[] = {"strides", "dilations", "kernel_shape", "group",
                                        "blocksize", "size"};
      if (std::any_of(std::begin(kPositive), std::end(kPositive),
                      [&](const char* n) { return attr.name() == n; })) {
        std::erase_if(simpler, [](int64_t v) { return v < 1; });
      }
      std::ranges::sort(simpler, [](int64_t x, int64_t y) { return std::abs(x) < std::abs(y); });
      simpler.erase(std::unique(simpler.begin(), simpler.end()), simpler.end());
      if (attr.type() == onnx::AttributeProto::INT) {
        for (int64_t v : simpler) {
          if (std::abs(v) >= std::abs(attr.i())) continue;
          candidates.push_back(r.current());
          candidates.back().mutable_graph()->mutable_node(k)->mutable_attribute(a)->set_i(v);
        }
      }
      if (attr.type() == onnx::AttributeProto::INTS) {
        for (int64_t v : simpler) {
          candidates.push_back(r.current());
          auto* ints = candidates.back()
                           .mutable_graph()
                           ->mutable_node(k)
                           ->mutable_attribute(a)
                           ->mutable_ints();
          for (auto& x : *ints) x = v;
        }
      }
      for (auto& candidate : candidates) {
        if (r.try_candidate(std::move(candidate),
                            fmt::format("simplify {}.{}", node.op_type(), attr.name()))) {
          progress = true;
          break;
        }
      }
    }
  }
  return progress;
}

struct Pass {
  const char* name;
  bool (*run)(Reducer&);
};

// Pass order is data: cheap, large reductions first; fine-grained ones last.
constexpr Pass kPasses[] = {
    {"promote-output", pass_promote_output}, {"drop-outputs", pass_drop_outputs},
    {"cut-nodes", pass_cut_nodes},           {"bypass-nodes", pass_bypass_nodes},
    {"shrink-dims", pass_shrink_dims},       {"simplify-attributes", pass_simplify_attributes},
};

}  // namespace

std::expected<MinimizeResult, std::string> minimize(const onnx::ModelProto& model,
                                                    const TensorMap& inputs, const Verdict& wanted,
                                                    Execution& baseline, Execution& target,
                                                    const OracleConfig& config,
                                                    const MinimizeOptions& options) {
  Reducer reducer(baseline, target, config, wanted, options);
  if (auto started = reducer.start(model, inputs); !started) {
    return std::unexpected(started.error());
  }
  reducer.stats.nodes_before = model.graph().node_size();
  // Run the pass pipeline to a fixpoint: a later pass can enable an earlier one.
  for (bool progress = true; progress && !reducer.out_of_budget();) {
    progress = false;
    for (const auto& pass : kPasses) {
      while (!reducer.out_of_budget() && pass.run(reducer)) progress = true;
    }
  }
  MinimizeResult result;
  result.model = reducer.current();
  result.inputs = reducer.current_inputs();
  result.verdict = reducer.current_verdict();
  result.stats = reducer.stats;
  result.stats.nodes_after = result.model.graph().node_size();
  result.stats.seconds = reducer.elapsed();
  return result;
}

}  // namespace onnxfuzz
