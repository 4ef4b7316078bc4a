// The mutators' apply functions, one group per file of generators/mutators/; table.cpp names
// them.
#pragma once

#include <string_view>

#include "generators/mutators/mutator.h"

namespace onnxfuzz {

// shape.cpp
MutationResult mutate_shape_unit(Mutant&, Rng&, const MutateOptions&);
MutationResult mutate_shape_prime(Mutant&, Rng&, const MutateOptions&);
MutationResult mutate_shape_empty(Mutant&, Rng&, const MutateOptions&);
MutationResult mutate_shape_rank(Mutant&, Rng&, const MutateOptions&);
// dtype.cpp
MutationResult mutate_dtype_region(Mutant&, Rng&, const MutateOptions&);
MutationResult mutate_dtype_graph(Mutant&, Rng&, const MutateOptions&);
// attribute.cpp
MutationResult mutate_attribute(Mutant&, Rng&, const MutateOptions&);
// structure.cpp
MutationResult mutate_insert_op(Mutant&, Rng&, const MutateOptions&);
MutationResult mutate_delete_node(Mutant&, Rng&, const MutateOptions&);
MutationResult mutate_duplicate_subgraph(Mutant&, Rng&, const MutateOptions&);
MutationResult mutate_swap_commutative(Mutant&, Rng&, const MutateOptions&);
// rewrite.cpp
MutationResult mutate_gemm_to_matmul(Mutant&, Rng&, const MutateOptions&);
MutationResult mutate_matmul_to_gemm(Mutant&, Rng&, const MutateOptions&);
MutationResult mutate_transpose_pair(Mutant&, Rng&, const MutateOptions&);
MutationResult mutate_insert_pattern(Mutant&, Rng&, const MutateOptions&);
// value.cpp
MutationResult mutate_value_edges(Mutant&, Rng&, const MutateOptions&);
// invalid.cpp
MutationResult break_dtype(Mutant&, Rng&, const MutateOptions&);
MutationResult break_rank(Mutant&, Rng&, const MutateOptions&);
MutationResult break_missing_input(Mutant&, Rng&, const MutateOptions&);
MutationResult break_axis(Mutant&, Rng&, const MutateOptions&);
MutationResult break_shapes(Mutant&, Rng&, const MutateOptions&);
MutationResult break_dim_sign(Mutant&, Rng&, const MutateOptions&);
// Whether the mutant breaks `rule` by our own check (for rules ONNX's checker does not see).
bool breaks_rule(const Mutant& m, std::string_view rule);

}  // namespace onnxfuzz
