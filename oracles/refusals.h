// Refusals: clean errors that say the model is out of an execution's scope or limits, not that
// the execution is wrong. Each becomes kUnsupported or kResourceLimit, never a rejection.
#pragma once

#include <span>
#include <string_view>

#include "oracles/execution.h"

namespace onnxfuzz {

// One row: an error (kError) from `execution` whose message contains `fragment` is `status`.
struct Refusal {
  std::string_view execution;
  std::string_view fragment;
  RunStatus status;
  std::string_view reason;  // why it is no finding
};

std::span<const Refusal> refusals();

// Turns a kError `result` of `execution` that a row of refusals() matches into that row's
// status, with the reason prefixed to its message; returns the row, or null (unchanged).
// Never throws.
const Refusal* classify_refusal(std::string_view execution, RunResult& result);

}  // namespace onnxfuzz
