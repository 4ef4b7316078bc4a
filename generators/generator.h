// Grammar-driven model generator: grows a random ONNX DAG that is valid by construction.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "generators/graph_builder.h"
#include "generators/policy.h"
#include "generators/tensor.h"

namespace onnxfuzz {

// Builds the model for `seed` under `policy`. The same (policy, seed) always gives the same
// model bytes and inputs. The error value is only for an impossible policy (unknown op names,
// no op left after filtering, min_nodes > max_nodes ...); it names the known ops.
std::expected<GeneratedModel, std::string> generate_model(const GenPolicy& policy, uint64_t seed);

// Op types the generator can draw, in table order.
std::vector<std::string> generator_ops();

// Error naming the first unknown op (and listing the known ones) when `names` has one.
std::expected<void, std::string> validate_op_names(const std::vector<std::string>& names);

}  // namespace onnxfuzz
