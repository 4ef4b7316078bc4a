// Probe: which (op, dtype) pairs an execution runs, learned from single-op generated models.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "generators/tensor.h"
#include "oracles/execution.h"

namespace onnxfuzz {

// How one (op, dtype) pair fared on the probed execution.
enum class ProbeOutcome {
  kRuns,            // every probe model ran
  kPartial,         // some probe models ran, others failed (see the attribute counts)
  kNotImplemented,  // a not-implemented rejection (a backend gap), naming `reported_op`
  kRejected,        // another error: a finding to look at, not a gap
  kDied,            // crash, hang or resource limit
  kNotDrawn,        // the generator cannot draw a single-op model of this pair
};

struct ProbeRow {
  std::string op;
  int since_version = 0;
  DType dtype = DType::kFloat;
  ProbeOutcome outcome = ProbeOutcome::kRuns;
  std::string reported_op;  // for kNotImplemented
  std::string message;      // the first failure's message
  // Per attribute value of the probe models ("mode=nearest", support_matrix.h's
  // attribute_keys): how many models with it ran and how many failed.
  std::map<std::string, std::pair<int, int>> attributes;
  // Some probe model had graph inputs or outputs of a dtype the execution cannot carry, so it
  // ran wrapped in Casts (wrap_uncarried_io): unwrapped, such models cannot run on it at all.
  bool wrapped = false;
};

// Graph inputs and outputs of a dtype the execution cannot carry become float32, with Casts
// to and from the original dtype inside the model; the inputs are converted to match (exactly:
// every such dtype, bfloat16, widens to float32 without loss).
void wrap_uncarried_io(onnx::ModelProto& model, TensorMap& inputs, const CarriedDtypes& carried);

// Probes every registered (op, dtype) pair with `models_per_pair` single-op models.
std::vector<ProbeRow> probe_execution(Execution& execution, int models_per_pair);

std::string_view probe_outcome_name(ProbeOutcome outcome);

}  // namespace onnxfuzz
