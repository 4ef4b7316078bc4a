// The mutation dispatcher: draws mutators from the table, applies each with its own seed, holds
// every mutant to its mode's contract, and records the steps that made it.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "generators/mutators/mutator.h"

namespace onnxfuzz {

// One link of a mutant's chain: the mutator's name and the seed of its Rng.
struct MutationStep {
  std::string mutator;
  uint64_t seed = 0;
  std::string detail;  // what it changed (for the reader; not needed to re-derive)
};

// Applies `mutator` with Rng(seed) to a copy of `m`. valid mode: the mutant must pass the
// checker and strict shape inference; invalid mode: they must reject it (or, for a rule they do
// not see, the mutant must break it by our own check). On success `m` becomes the mutant and
// the result describes the change; else `m` is untouched and the error says why.
std::expected<std::string, std::string> apply_step(Mutant& m, const Mutator& mutator,
                                                   uint64_t seed, const MutateOptions& options);

// How many steps one mutant takes and how hard the dispatcher tries.
struct DispatchOptions {
  std::vector<const Mutator*> mutators;  // drawn uniformly
  int max_depth = 3;      // valid mode: 1..max_depth stacked steps (invalid mode: exactly one)
  int max_attempts = 48;  // (mutator, seed) draws per step before giving up
};

// Mutates `m` in place; returns the steps taken (a mutator that does not apply, or whose
// mutant breaks the contract, is skipped and another is drawn). Error when no step applied.
std::expected<std::vector<MutationStep>, std::string> mutate(Mutant& m, Rng& rng,
                                                             const MutateOptions& options,
                                                             const DispatchOptions& dispatch);

// The table rows of a mode (valid: the mutators without a rule; invalid: the rule breakers),
// narrowed to `names` when given; the error names an unknown or wrong-mode mutator.
std::expected<std::vector<const Mutator*>, std::string> select_mutators(
    MutateMode mode, const std::vector<std::string>& names);

}  // namespace onnxfuzz
