// The command line that starts oracles/ort_worker.js for one backend package (shared by the
// ort-web and ort-optimized executions).
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "oracles/worker_process.h"

namespace onnxfuzz {

struct OrtWorkerSpec {
  std::string backend = "node";  // ort_worker.js --backend: node (native CPU) or web (wasm)
  std::string package = "onnxruntime-node";  // the npm package pinned in the project's package.json
  std::string opt_level = "all";             // --opt: disabled, basic, extended, all
};

// node, the worker script and its flags, loading the project's pinned `spec.package`. An error
// value (naming `execution` and scripts/setup.sh) when node or the package is missing.
std::expected<WorkerCommand, std::string> ort_worker_command(std::string_view execution,
                                                             const OrtWorkerSpec& spec);

}  // namespace onnxfuzz
