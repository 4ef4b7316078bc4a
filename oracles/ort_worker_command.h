// The command line and environment that start oracles/ort_worker.js for one backend package
// (shared by the ort, ort-web and ort-optimized executions).
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "oracles/worker_process.h"

namespace onnxfuzz {

struct OrtWorkerSpec {
  std::string backend = "node";  // ort_worker.js --backend: node (native CPU) or web (wasm)
  // The package directory to load instead of the pinned one (an installed ORT release).
  std::string module_dir = "";
  std::string package = "onnxruntime-node";  // the npm package pinned in the project's package.json
  std::string opt_level = "all";             // --opt: disabled, basic, extended, all
};

// node, the worker script and its flags, loading the project's pinned `spec.package` (or
// `spec.module_dir`). An error value (naming `execution` and scripts/setup.sh) when node or the
// pinned package is missing.
//
// The environment drops NODE_EXTRA_CA_CERTS: the worker opens no connection, and Node parses
// every certificate of that file at startup, which made each worker start 0.13 s instead of
// 0.03 s of CPU on a machine that sets it to the system bundle. Workers start again after
// every crash and hang, and a spare starts beside a running campaign.
std::expected<WorkerCommand, std::string> ort_worker_command(std::string_view execution,
                                                             const OrtWorkerSpec& spec);

}  // namespace onnxfuzz
