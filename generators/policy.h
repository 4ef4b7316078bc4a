// GenPolicy: every knob of the model generator in one place (no probability lives in generator code).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace onnxfuzz {

struct GenPolicy {
  // --- size ---
  int min_nodes = 1;                 // lower bound on nodes per model (guards included); drawn uniformly up to max
  int max_nodes = 10;                // upper bound on nodes per model (guard nodes count too)
  int max_rank = 4;                  // highest tensor rank any value may have
  int64_t max_dim = 8;               // largest dim of a freshly made input or initializer
  int64_t max_elements = 4096;       // most elements any tensor may hold

  // --- op choice ---
  std::vector<std::string> only_ops;     // when non-empty, the only ops used (Clip guards only if Clip is listed)
  std::vector<std::string> exclude_ops;  // ops never used (without Clip, repairs draw fresh values instead of guards)
  std::map<std::string, double> op_weights = {  // relative draw weight; ops not listed weigh 1
      {"Conv", 1.5}, {"MatMul", 1.5}, {"Gemm", 1.2}, {"Add", 1.2}, {"Mul", 1.2}};

  // --- graph shape ---
  double prob_reuse_primary = 0.85;  // input 0 is an existing value (else a fresh graph input)
  double prob_pick_leaf = 0.6;       // when reusing, prefer a not-yet-consumed value (deep chains) over any value (branching)
  double prob_reuse_operand = 0.35;  // other operands reuse a compatible existing value when one exists
  double prob_initializer = 0.5;     // a fresh non-primary float operand is an initializer (else a graph input)
  double prob_condition_initializer = 0.3;  // Where's fresh condition is an initializer (else a graph input)
  double prob_extra_output = 0.1;    // a consumed intermediate value is also exposed as a graph output
  double prob_swap_operands = 0.5;   // the primary goes second in binary ops and Where
  int max_concat_inputs = 3;         // most tensors one Concat joins
  double prob_batched_rhs = 0.3;     // MatMul's fresh right operand repeats the left's batch dims (else rank 2)
  double prob_vector_rhs = 0.1;      // MatMul's fresh right operand is a rank-1 vector [K]
  double prob_pick_axis = 0.5;       // each axis joins the set a Slice / Squeeze / reduction works on

  // --- broadcasting of fresh operands ---
  double prob_drop_leading = 0.3;    // a fresh broadcast operand drops some leading dims
  double prob_unit_dim = 0.3;        // each kept dim of a fresh broadcast operand becomes 1
  double prob_expand_unit = 0.3;     // a unit dim of the primary is widened in the fresh operand (two-way broadcast)

  // --- attributes and optional parts ---
  double prob_omit_attr = 0.25;      // an attribute with a schema default is left out
  double prob_omit_optional_input = 0.3;  // Gemm C, Conv B, a Clip bound, Slice axes/steps are left out
  double prob_negative_axis = 0.3;   // an axis is written in its negative form
  double prob_reduce_all = 0.15;     // a reduction leaves out its axes (reduces everything)
  double prob_reshape_infer = 0.3;   // a Reshape target uses -1 for one dim
  double prob_reshape_copy = 0.2;    // a Reshape target uses 0 (copy) where the dim is unchanged
  double prob_slice_open_end = 0.2;  // a Slice end is written past the dim (clamped) or negative

  // --- value domains ---
  double max_magnitude = 1e4;        // a value whose range exceeds this gets a Clip guard (or bounded operands)
  double input_lo = -4.0;            // fresh graph inputs are drawn in [input_lo, input_hi] (∩ the op's domain)
  double input_hi = 4.0;             // upper end of the fresh input range
  double weight_abs = 1.0;           // fresh initializers (weights) are drawn in [-weight_abs, weight_abs] (∩ domain)
  double prob_guard_repair = 0.5;    // an input outside its op's domain is repaired with a Clip guard node (else a fresh value in the domain)
};

}  // namespace onnxfuzz
