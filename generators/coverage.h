// Coverage of generated models and mutants: ops, (op, dtype) pairs, producer->consumer op pairs,
// attribute values and optimizer patterns x perturbations, counted over a campaign.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "generators/graph_builder.h"

namespace onnxfuzz {

struct Coverage {
  std::map<std::string, int64_t> ops;        // "Conv"
  std::map<std::string, int64_t> op_dtypes;  // "Conv:float16" (the primary operand's dtype)
  std::map<std::string, int64_t> op_pairs;   // "Conv>Relu": a Conv output consumed by a Relu
  std::map<std::string, int64_t> patterns;   // "LayerNorm/attribute"
  // "Conv.group=2", "Resize.mode=linear", "MaxPool.kernel_shape=3": one key per value of an
  // INT, FLOAT or STRING attribute, and per distinct element of an INTS attribute.
  std::map<std::string, int64_t> attr_values;

  // Each returns how many keys it saw for the first time (new coverage).
  int64_t add(const GeneratedModel& model);
  // A model onnxfuzz did not generate (a mutant, a seed): a node's dtype is the element type of
  // its first input, read from graph inputs, initializers, value_info and outputs (pass a model
  // with inferred value_info to cover every node).
  int64_t add(const onnx::ModelProto& model);
  nlohmann::json to_json() const;

  // The key of attribute `name` of `op` at `value` (an INTS attribute: of one element).
  static std::string attr_key(const std::string& op, const std::string& name, int64_t value);
  static std::string attr_key(const std::string& op, const std::string& name, float value);
  static std::string attr_key(const std::string& op, const std::string& name,
                              const std::string& value);
};

}  // namespace onnxfuzz
