// The table of refusals that are out of scope or out of limits, and its lookup.
#include "oracles/refusals.h"

#include <fmt/format.h>

namespace onnxfuzz {
namespace {

// The reference's messages come from oracles/reference.cpp (unsupported op) and
// oracles/reference/shape.cpp (its 1 GiB cap on one output, and allocation failure).
constexpr Refusal kRefusals[] = {
    {"ref", "is too large", RunStatus::kResourceLimit,
     "the reference refuses an output over its 1 GiB cap"},
    {"ref", ": out of memory", RunStatus::kResourceLimit, "the reference ran out of memory"},
    {"ref", "unsupported op '", RunStatus::kUnsupported,
     "the reference has no kernel for this op"},
    // oracles/executions/ort_optimized.cpp prefixes the reference's messages on ORT's
    // rewritten model; its resource limits it classifies itself.
    {"ort-optimized", "ref on optimized.onnx: unsupported op '", RunStatus::kUnsupported,
     "the reference has no kernel for an op of ORT's optimized model"},
    // The opencv worker caps each model's address space at the memory limit
    // (oracles/opencv_worker/): OpenCV's allocator then throws instead of growing.
    {"opencv", "Failed to allocate", RunStatus::kResourceLimit,
     "OpenCV hit the worker's memory limit"},
    {"opencv", "std::bad_alloc", RunStatus::kResourceLimit, "OpenCV hit the worker's memory limit"},
};

}  // namespace

std::span<const Refusal> refusals() { return kRefusals; }

const Refusal* classify_refusal(std::string_view execution, RunResult& result) {
  if (result.status != RunStatus::kError) return nullptr;
  for (const Refusal& row : kRefusals) {
    if (row.execution != execution ||
        result.message.find(row.fragment) == std::string::npos) {
      continue;
    }
    result.status = row.status;
    result.message = fmt::format("{}: {}", row.reason, result.message);
    return &row;
  }
  return nullptr;
}

}  // namespace onnxfuzz
