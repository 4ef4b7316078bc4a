// The mutator table: (function, name) rows, in a fixed order; the dispatcher draws from it.
#include "generators/mutators/kinds.h"

namespace onnxfuzz {

namespace {

const Mutator kMutators[] = {
    {"shape-unit", MutationKind::kShape, mutate_shape_unit, ""},
    {"shape-prime", MutationKind::kShape, mutate_shape_prime, ""},
    {"shape-empty", MutationKind::kShape, mutate_shape_empty, ""},
    {"shape-rank", MutationKind::kShape, mutate_shape_rank, ""},
    {"dtype-region", MutationKind::kDtype, mutate_dtype_region, ""},
    {"dtype-graph", MutationKind::kDtype, mutate_dtype_graph, ""},
    {"attribute", MutationKind::kAttribute, mutate_attribute, ""},
    {"insert-op", MutationKind::kStructure, mutate_insert_op, ""},
    {"delete-node", MutationKind::kStructure, mutate_delete_node, ""},
    {"duplicate-subgraph", MutationKind::kStructure, mutate_duplicate_subgraph, ""},
    {"swap-commutative", MutationKind::kStructure, mutate_swap_commutative, ""},
    {"gemm-to-matmul", MutationKind::kStructure, mutate_gemm_to_matmul, ""},
    {"matmul-to-gemm", MutationKind::kStructure, mutate_matmul_to_gemm, ""},
    {"transpose-pair", MutationKind::kStructure, mutate_transpose_pair, ""},
    {"insert-pattern", MutationKind::kStructure, mutate_insert_pattern, ""},
    {"value-edges", MutationKind::kValue, mutate_value_edges, ""},
    {"wrong-dtype", MutationKind::kInvalid, break_dtype, "an input's dtype is one its op's schema does not allow"},
    {"wrong-rank", MutationKind::kInvalid, break_rank, "a graph input's rank differs from what its reader needs"},
    {"missing-input", MutationKind::kInvalid, break_missing_input, "a node lacks a required input"},
    {"axis-out-of-range", MutationKind::kInvalid, break_axis, "an axis attribute lies outside [-rank, rank)"},
    {"inconsistent-shapes", MutationKind::kInvalid, break_shapes, "a graph input's dim disagrees with the node's other inputs"},
    {"negative-dim", MutationKind::kInvalid, break_dim_sign, "a graph input declares a negative dim", true},
};

}  // namespace

std::string_view mutation_kind_name(MutationKind kind) {
  switch (kind) {
    case MutationKind::kShape:
      return "shape";
    case MutationKind::kDtype:
      return "dtype";
    case MutationKind::kAttribute:
      return "attribute";
    case MutationKind::kStructure:
      return "structure";
    case MutationKind::kValue:
      return "value";
    case MutationKind::kInvalid:
      return "invalid";
  }
  return "unknown";
}

std::string_view mutate_mode_name(MutateMode mode) {
  return mode == MutateMode::kValid ? "valid" : "invalid";
}

std::span<const Mutator> all_mutators() { return kMutators; }

const Mutator* find_mutator(std::string_view name) {
  for (const auto& m : kMutators) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

}  // namespace onnxfuzz
