// Grammar-driven model generator: grows a random ONNX DAG that is valid by construction.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <expected>
#include <set>
#include <string>
#include <vector>

#include "generators/graph_builder.h"
#include "generators/guidance.h"
#include "generators/policy.h"
#include "generators/tensor.h"

namespace onnxfuzz {

// A generator for one policy: the op and dtype table it draws from is prepared once, so a
// campaign pays for it once instead of per model.
class Generator {
 public:
  // Error value only for an impossible policy (unknown op names, no op left after filtering,
  // min_nodes > max_nodes ...); it names the known ops.
  static std::expected<Generator, std::string> make(const GenPolicy& policy);
  // The model for `seed`: the same (policy, seed) always gives the same bytes and inputs.
  GeneratedModel generate(uint64_t seed) const { return generate(seed, {}); }
  // A guided model (generators/guidance.h): built around the focus targets first, each placed
  // when the graph so far and the node budget allow, then grown as generate(seed). An empty
  // focus gives generate(seed)'s model.
  GeneratedModel generate(uint64_t seed, const std::vector<FocusTarget>& focus) const;
  const GenPolicy& policy() const { return policy_; }
  // The ops it draws, with their dtypes (the indices FocusTarget refers to).
  const std::vector<OpChoice>& choices() const { return ops_; }

 private:
  explicit Generator(const GenPolicy& policy) : policy_(policy) {}
  GenPolicy policy_;
  std::vector<OpChoice> ops_;
  std::vector<double> weights_;
  std::set<const OpSpec*> allowed_;  // ops the policy lets patterns use (in some dtype)
  // Per pattern (all_patterns() order): the policy's dtype weights, 0 for a dtype in which
  // the policy does not allow each of its ops (GenPolicy::only_pairs, `--target`).
  std::vector<std::map<DType, double>> pattern_dtypes_;
  const OpSpec* guard_ = nullptr;    // Clip, when the policy allows it
};

// Generator::make(policy) then generate(seed), for one-off models; loops keep a Generator.
std::expected<GeneratedModel, std::string> generate_model(const GenPolicy& policy, uint64_t seed);

// Op types the generator can draw, in table order.
std::vector<std::string> generator_ops();

// Error naming the first unknown op (and listing the known ones) when `names` has one.
std::expected<void, std::string> validate_op_names(const std::vector<std::string>& names);

}  // namespace onnxfuzz
