// Locating worker pieces from any cwd: the project root, node, the planted and OpenCV workers.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace onnxfuzz {

// Directory holding the running executable (from /proc/self/exe), or empty if unknown.
std::string executable_dir();

// The project root, from any working directory: $ONNXFUZZ_HOME, then the source directory
// compiled in, then the parent of executable_dir(). A root is a directory holding
// package.json and oracles/ort_worker.js. The error lists every place tried.
std::expected<std::string, std::string> find_project_root();

// Absolute path of `program` found in $PATH, if any.
std::optional<std::string> find_in_path(std::string_view program);

// The test-only planted-fault worker binary: next to the running executable, one directory
// up (for bench/ binaries), or in the source tree's build directories.
std::expected<std::string, std::string> find_planted_worker();

// The `opencv` execution's worker binary (onnxfuzz_opencv_worker), searched like the planted
// worker. It exists only in builds that found OpenCV DNN.
std::expected<std::string, std::string> find_opencv_worker();

}  // namespace onnxfuzz
