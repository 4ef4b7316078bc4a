// The mutation dispatcher: draw, apply, check the mode's contract, record.
#include "generators/mutators/dispatcher.h"

#include <fmt/format.h>

#include "generators/model_io.h"
#include "generators/mutators/kinds.h"

namespace onnxfuzz {

std::expected<std::string, std::string> apply_step(Mutant& m, const Mutator& mutator,
                                                   uint64_t seed, const MutateOptions& options) {
  Mutant copy = m;
  Rng rng(seed);
  const MutationResult result = mutator.apply(copy, rng, options);
  if (!result.ok()) return std::unexpected(fmt::format("{}: not applicable: {}", mutator.name, result.detail));
  const auto valid = validate_model(copy.model);
  if (mutator.rule.empty()) {
    if (!valid) return std::unexpected(fmt::format("{}: mutant invalid: {}", mutator.name, valid.error()));
  } else if (valid && !(mutator.checker_blind && breaks_rule(copy, mutator.name))) {
    return std::unexpected(fmt::format("{}: mutant still valid", mutator.name));
  }
  m = std::move(copy);
  return result.detail;
}

std::expected<std::vector<MutationStep>, std::string> mutate(Mutant& m, Rng& rng,
                                                             const MutateOptions& options,
                                                             const DispatchOptions& dispatch) {
  if (dispatch.mutators.empty()) return std::unexpected(std::string("no mutator to draw"));
  const int depth = options.mode == MutateMode::kInvalid
                        ? 1
                        : static_cast<int>(rng.uniform_int(1, std::max(1, dispatch.max_depth)));
  std::vector<MutationStep> steps;
  std::string last_error;
  for (int step = 0; step < depth; ++step) {
    bool applied = false;
    for (int attempt = 0; attempt < dispatch.max_attempts && !applied; ++attempt) {
      const Mutator& mutator = *rng.pick(dispatch.mutators);
      const uint64_t seed = rng.next();
      auto done = apply_step(m, mutator, seed, options);
      if (!done) {
        last_error = done.error();
        continue;
      }
      steps.push_back({std::string(mutator.name), seed, *done});
      applied = true;
    }
    if (!applied) break;
  }
  if (steps.empty()) {
    return std::unexpected(fmt::format("no mutator applied in {} attempts (last: {})",
                                       dispatch.max_attempts, last_error));
  }
  return steps;
}

std::expected<std::vector<const Mutator*>, std::string> select_mutators(
    MutateMode mode, const std::vector<std::string>& names) {
  std::vector<const Mutator*> out;
  const bool invalid = mode == MutateMode::kInvalid;
  if (names.empty()) {
    for (const auto& m : all_mutators()) {
      if (m.rule.empty() != invalid) out.push_back(&m);
    }
    return out;
  }
  for (const auto& name : names) {
    const Mutator* m = find_mutator(name);
    std::string known;
    for (const auto& row : all_mutators()) {
      if (row.rule.empty() != invalid) known += (known.empty() ? "" : ", ") + std::string(row.name);
    }
    if (!m || m->rule.empty() == invalid) {
      return std::unexpected(fmt::format("unknown {} mutator '{}' (known: {})",
                                         mutate_mode_name(mode), name, known));
    }
    out.push_back(m);
  }
  return out;
}

}  // namespace onnxfuzz
