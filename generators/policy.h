// GenPolicy: every knob of the model generator in one place; generator code holds no odds.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "generators/dtype.h"

namespace onnxfuzz {

// Field names say what is drawn; `prob_*` fields are probabilities in [0, 1].
struct GenPolicy {
  // --- size ---
  // Fewest nodes per model (guards included); the count is drawn uniformly up to max_nodes.
  int min_nodes = 1;
  // Most nodes per model; Clip guards count too.
  int max_nodes = 10;
  // Highest rank any value may have.
  int max_rank = 4;
  // Largest dim of a freshly made input or initializer (dims are drawn in 1..max_dim).
  int64_t max_dim = 8;
  // Most elements any tensor may hold.
  int64_t max_elements = 4096;

  // --- op choice ---
  // When non-empty, the only ops used (Clip guards only if Clip is listed).
  std::vector<std::string> only_ops;
  // Ops never used; without Clip, repairs draw fresh values instead of guards.
  std::vector<std::string> exclude_ops;
  // When non-empty, the only (op, dtype) pairs drawn (a backend's support matrix, `--target`):
  // op instances and Clip guards only in listed pairs, patterns only when each of their ops is
  // listed in every dtype the policy draws.
  std::map<std::string, std::set<DType>> only_pairs;
  // (op, dtype) pairs never drawn, whatever only_pairs says: pairs an execution under test is
  // documented not to run (`--avoid-gaps`; a campaign's default), since a model holding one is
  // refused there and tests nothing on it.
  std::map<std::string, std::set<DType>> avoid_pairs;
  // Relative draw weight per op; ops not listed weigh 1, weight 0 never draws.
  std::map<std::string, double> op_weights = {
      {"Conv", 1.5}, {"MatMul", 1.5}, {"Gemm", 1.2}, {"Add", 1.2}, {"Mul", 1.2}};

  // --- dtypes ---
  // Relative draw weight of each element type for fresh values and op instances; a dtype not
  // listed (or weighing 0) is never drawn. An op is drawn only in dtypes its schema allows.
  std::map<DType, double> dtype_weights = {
      {DType::kFloat, 6},   {DType::kFloat16, 1}, {DType::kBfloat16, 0.5}, {DType::kDouble, 1},
      {DType::kInt8, 0.5},  {DType::kUint8, 0.5}, {DType::kInt16, 0.3},    {DType::kUint16, 0.3},
      {DType::kInt32, 1},   {DType::kInt64, 1},   {DType::kUint32, 0.3},   {DType::kUint64, 0.3},
      {DType::kBool, 0.5}};

  // --- edge values ---
  // An op instance draws edge shapes and attribute values on purpose: empty tensors, negative
  // axes, INT64 bounds, unit broadcast dims, rank-0/1 operands, rare attribute values.
  double prob_edge = 0.1;
  // In an edge instance: a fresh primary of an op that allows empty tensors gets a 0 dim.
  double prob_edge_empty = 0.3;
  // In an edge instance: a fresh broadcast partner is rank 0 (or all unit dims).
  double prob_edge_scalar_partner = 0.3;
  // In an edge instance: a fresh unconstrained integer tensor holds its dtype's min and max.
  double prob_edge_int_extremes = 0.3;

  // --- optimizer patterns ---
  // Whether subgraphs that runtime optimizers rewrite (generators/patterns) are inserted whole.
  bool patterns = true;
  // A growth step inserts a pattern instead of a single op.
  double prob_pattern = 0.15;
  // An inserted pattern gets one perturbation (attribute, constant rank/shape/dtype, operand
  // order, whole-pattern dtype) of the kind a fusion may forget to check.
  double prob_perturb_pattern = 0.5;

  // --- graph shape ---
  // Input 0 is an existing value (else a fresh graph input).
  double prob_reuse_primary = 0.85;
  // When reusing, take a not-yet-consumed value (deep chains) rather than any (branching).
  double prob_pick_leaf = 0.6;
  // Other operands reuse a compatible existing value when there is one.
  double prob_reuse_operand = 0.35;
  // A fresh non-primary float operand is an initializer (else a graph input).
  double prob_initializer = 0.5;
  // Where's fresh condition is an initializer (else a graph input).
  double prob_condition_initializer = 0.3;
  // A consumed intermediate value is also exposed as a graph output.
  double prob_extra_output = 0.1;
  // The primary goes second in binary ops (and third in Where).
  double prob_swap_operands = 0.5;
  // Most tensors one Concat joins.
  int max_concat_inputs = 3;
  // MatMul's fresh right operand repeats the left's batch dims (else rank 2).
  double prob_batched_rhs = 0.3;
  // MatMul's fresh right operand is a rank-1 vector [K].
  double prob_vector_rhs = 0.1;
  // Each axis joins the set a Slice, Squeeze or reduction works on.
  double prob_pick_axis = 0.5;

  // --- broadcasting of fresh operands ---
  // A fresh broadcast operand drops some leading dims.
  double prob_drop_leading = 0.3;
  // Each kept dim of a fresh broadcast operand becomes 1.
  double prob_unit_dim = 0.3;
  // A unit dim of the primary is widened in the fresh operand (two-way broadcast).
  double prob_expand_unit = 0.3;

  // --- attributes and optional parts ---
  // An attribute at its schema default is left out.
  double prob_omit_attr = 0.25;
  // Gemm C, Conv B, a Clip bound, Slice axes/steps, Squeeze axes are left out.
  double prob_omit_optional_input = 0.3;
  // An axis or index is written in its negative form.
  double prob_negative_axis = 0.3;
  // A reduction leaves out its axes and reduces everything.
  double prob_reduce_all = 0.15;
  // A Reshape target uses -1 for one dim.
  double prob_reshape_infer = 0.3;
  // A Reshape target uses 0 (copy) where the dim is unchanged.
  double prob_reshape_copy = 0.2;
  // A full-extent Slice bound is written as INT64_MAX/INT64_MIN (clamped).
  double prob_slice_open_end = 0.2;

  // --- value domains ---
  // A value whose range exceeds this gets a Clip guard (or bounded operands).
  double max_magnitude = 1e4;
  // Fresh graph inputs are drawn in [input_lo, input_hi], narrowed to the op's domain.
  double input_lo = -4.0;
  // Upper end of the fresh graph input range.
  double input_hi = 4.0;
  // Fresh initializers are drawn in [-weight_abs, weight_abs], narrowed to the domain.
  double weight_abs = 1.0;
  // An input outside its op's domain gets a Clip guard node (else a fresh in-domain value).
  double prob_guard_repair = 0.5;

  // Whether `only_pairs` and `avoid_pairs` let an instance of `op` take `dtype`.
  bool allows_pair(const std::string& op, DType dtype) const {
    if (auto avoided = avoid_pairs.find(op);
        avoided != avoid_pairs.end() && avoided->second.contains(dtype)) {
      return false;
    }
    if (only_pairs.empty()) return true;
    auto listed = only_pairs.find(op);
    return listed != only_pairs.end() && listed->second.contains(dtype);
  }
};

}  // namespace onnxfuzz
