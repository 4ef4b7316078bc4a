// Probe: single-op generated models per (op, dtype), run on one execution, classified.
#include "fuzzer/probe.h"

#include <fmt/format.h>

#include "generators/generator.h"
#include "generators/graph_builder.h"
#include "generators/op_spec.h"
#include "oracles/backend_gaps.h"
#include "oracles/support_matrix.h"

namespace onnxfuzz {

std::string_view probe_outcome_name(ProbeOutcome outcome) {
  switch (outcome) {
    case ProbeOutcome::kRuns:
      return "runs";
    case ProbeOutcome::kPartial:
      return "partial";
    case ProbeOutcome::kNotImplemented:
      return "not-implemented";
    case ProbeOutcome::kRejected:
      return "rejected";
    case ProbeOutcome::kDied:
      return "died";
    case ProbeOutcome::kNotDrawn:
      return "not-drawn";
  }
  return "?";
}

void wrap_uncarried_io(onnx::ModelProto& model, TensorMap& inputs, const CarriedDtypes& carried) {
  auto* graph = model.mutable_graph();
  std::vector<onnx::NodeProto> casts_in;
  for (auto& info : *graph->mutable_input()) {
    auto* tt = info.mutable_type()->mutable_tensor_type();
    const DType dtype = static_cast<DType>(tt->elem_type());
    if (carried.carries(dtype)) continue;
    const std::string outer = info.name() + "__carried";
    onnx::NodeProto cast;
    cast.set_op_type("Cast");
    cast.set_name(outer + "_cast");
    cast.add_input(outer);
    cast.add_output(info.name());
    auto* to = cast.add_attribute();
    to->set_name("to");
    to->set_type(onnx::AttributeProto::INT);
    to->set_i(static_cast<int64_t>(dtype));
    casts_in.push_back(std::move(cast));
    if (auto it = inputs.find(info.name()); it != inputs.end()) {
      Tensor wide = Tensor::zeros(DType::kFloat, it->second.shape);
      for (int64_t i = 0; i < wide.numel(); ++i) wide.set_double(i, it->second.as_double(i));
      inputs.erase(it);
      inputs.emplace(outer, std::move(wide));
    }
    info.set_name(outer);
    tt->set_elem_type(static_cast<int32_t>(DType::kFloat));
  }
  for (auto& info : *graph->mutable_output()) {
    auto* tt = info.mutable_type()->mutable_tensor_type();
    const DType dtype = static_cast<DType>(tt->elem_type());
    if (carried.carries(dtype)) continue;
    const std::string outer = info.name() + "__carried";
    onnx::NodeProto* cast = graph->add_node();
    cast->set_op_type("Cast");
    cast->set_name(outer + "_cast");
    cast->add_input(info.name());
    cast->add_output(outer);
    auto* to = cast->add_attribute();
    to->set_name("to");
    to->set_type(onnx::AttributeProto::INT);
    to->set_i(static_cast<int64_t>(DType::kFloat));
    info.set_name(outer);
    tt->set_elem_type(static_cast<int32_t>(DType::kFloat));
  }
  // The input casts go first, keeping the node list topologically sorted.
  if (!casts_in.empty()) {
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    for (auto& c : casts_in) *nodes.Add() = std::move(c);
    for (auto& n : *graph->mutable_node()) *nodes.Add() = std::move(n);
    graph->mutable_node()->Swap(&nodes);
  }
}

std::vector<ProbeRow> probe_execution(Execution& execution, int models_per_pair) {
  std::vector<ProbeRow> rows;
  const CarriedDtypes carried = execution.carried_dtypes();
  for (const OpSpec& spec : all_op_specs()) {
    for (DType dtype : spec.dtypes) {
      ProbeRow row;
      row.op = spec.op_type;
      row.since_version = spec.since_version;
      row.dtype = dtype;
      GenPolicy policy;
      policy.only_ops = {spec.op_type};
      policy.dtype_weights = {{dtype, 1.0}};
      policy.min_nodes = policy.max_nodes = 1;
      policy.patterns = false;
      policy.prob_edge = 0;
      policy.prob_reuse_primary = 0;
      int drawn = 0;
      int ran = 0;
      bool failed = false;
      // Every model runs, also after a failure, so that each attribute value seen gets counts.
      for (uint64_t seed = 1; seed <= 40 && drawn < models_per_pair; ++seed) {
        auto g = generate_model(policy, seed);
        if (!g || g->model.graph().node_size() != 1) continue;
        const auto& node = g->model.graph().node(0);
        // Keep models whose op really carries the probed dtype on its primary.
        if (g->node_dtypes.empty() || g->node_dtypes[0] != dtype || node.op_type() != spec.op_type)
          continue;
        ++drawn;
        const std::vector<std::string> keys = attribute_keys(node);
        for (const auto* list : {&g->model.graph().input(), &g->model.graph().output()}) {
          for (const auto& info : *list) {
            row.wrapped = row.wrapped ||
                          !carried.carries(static_cast<DType>(info.type().tensor_type().elem_type()));
          }
        }
        wrap_uncarried_io(g->model, g->inputs, carried);
        const RunResult r = execution.run(ModelUnderTest::view(g->model), g->inputs);
        for (const std::string& key : keys) {
          auto& counts = row.attributes[key];
          (r.status == RunStatus::kOk ? counts.first : counts.second) += 1;
        }
        if (r.status == RunStatus::kOk) {
          ++ran;
          continue;
        }
        if (failed) continue;  // the first failure classifies the pair
        failed = true;
        row.message = r.message;
        if (r.status == RunStatus::kError && is_not_implemented_message(r.message)) {
          row.outcome = ProbeOutcome::kNotImplemented;
          row.reported_op = std::string(not_implemented_op(r.message));
        } else if (r.status == RunStatus::kError || r.status == RunStatus::kUnsupported) {
          row.outcome = ProbeOutcome::kRejected;
        } else {
          row.outcome = ProbeOutcome::kDied;
        }
      }
      // A pair that ran in some models and was refused cleanly in others runs in part; a
      // crash or hang stays `died` whatever else ran.
      if (failed && ran > 0 && row.outcome != ProbeOutcome::kDied)
        row.outcome = ProbeOutcome::kPartial;
      if (drawn == 0) row.outcome = ProbeOutcome::kNotDrawn;
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

}  // namespace onnxfuzz
