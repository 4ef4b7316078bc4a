// The mutator interface: a mutant (model + input data), mutation kinds and modes, and the table
// of named mutators the dispatcher draws from.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "generators/policy.h"
#include "generators/rng.h"
#include "generators/tensor.h"

namespace onnxfuzz {

// What a mutator changes; one file of generators/mutators/ per kind.
enum class MutationKind { kShape, kDtype, kAttribute, kStructure, kValue, kInvalid };
std::string_view mutation_kind_name(MutationKind kind);

// valid: every mutant passes the checker and strict shape inference. invalid: every mutant
// breaks exactly one stated rule (the mutator's `rule`).
enum class MutateMode { kValid, kInvalid };
std::string_view mutate_mode_name(MutateMode mode);

// A model with data for every runtime input.
struct Mutant {
  onnx::ModelProto model;
  TensorMap inputs;
};

struct MutateOptions {
  MutateMode mode = MutateMode::kValid;
  // The value mutator may write NaN and Inf (off by default: most runtimes agree on them only
  // loosely, and they hide every other difference downstream).
  bool nan_inf = false;
  // Knobs of the builder the structural, shape and dtype mutators re-plan nodes with; size
  // limits are widened per model to hold its largest tensor.
  GenPolicy policy;
};

// A mutator that cannot apply to this model says so; the dispatcher then tries another.
enum class MutationStatus { kApplied, kNotApplicable };
struct MutationResult {
  MutationStatus status = MutationStatus::kNotApplicable;
  std::string detail;  // what was changed, or why the mutator does not apply

  static MutationResult applied(std::string detail) {
    return {MutationStatus::kApplied, std::move(detail)};
  }
  static MutationResult not_applicable(std::string why) {
    return {MutationStatus::kNotApplicable, std::move(why)};
  }
  bool ok() const { return status == MutationStatus::kApplied; }
};

// One row of the table. `apply` edits the mutant in place only when it returns kApplied.
// Valid-mode mutators have an empty `rule`; invalid-mode mutators name the rule they break.
struct Mutator {
  std::string_view name;
  MutationKind kind;
  MutationResult (*apply)(Mutant&, Rng&, const MutateOptions&);
  std::string_view rule;  // invalid mode: the rule each mutant breaks (its name is `name`)
  // invalid mode: ONNX's checker and strict inference do not see this rule (a negative input
  // dim), so the mutant is checked against the rule itself (see breaks_rule).
  bool checker_blind = false;
};

// The whole table, in a fixed order: valid-mode mutators first, then the rule breakers.
std::span<const Mutator> all_mutators();
const Mutator* find_mutator(std::string_view name);

}  // namespace onnxfuzz
