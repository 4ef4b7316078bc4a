// Coverage of generated models: ops, (op, dtype) pairs, producer->consumer op pairs and
// optimizer patterns x perturbations, counted over a campaign.
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

  void add(const GeneratedModel& model);
  nlohmann::json to_json() const;
};

}  // namespace onnxfuzz
