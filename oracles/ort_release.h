// ONNX Runtime releases as executions: `ort`, `ort-noopt` (the pinned release in the project's
// node_modules) and `ort@VERSION[-LEVEL]` (any onnxruntime-node release from 1.10.0 on,
// installed on first use into a cache outside the repository).
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace onnxfuzz {

// What an ORT execution name asks for.
struct OrtRelease {
  std::string version;     // "1.16.3"; empty: the pinned release of the project's node_modules
  std::string opt_level;   // graphOptimizationLevel: "disabled", "basic", "extended" or "all"
};

// nullopt when `name` is no ORT execution name at all; an error value (a usage error: bad
// version string, unknown level, a release before 1.10.0) when it starts with "ort@" but
// cannot be served; else the release and level.
std::optional<std::expected<OrtRelease, std::string>> parse_ort_execution_name(
    std::string_view name);

// Where releases are installed: $ONNXFUZZ_ORT_CACHE, else $XDG_CACHE_HOME/onnxfuzz/ort, else
// ~/.cache/onnxfuzz/ort; one directory per version.
std::string ort_cache_dir();

// The onnxruntime-node package directory of `version`, installed into ort_cache_dir() by npm
// (with ONNXRUNTIME_NODE_INSTALL=skip) when it is not there yet; a cached release is used
// without calling npm. The error says what failed (npm missing, npm's exit and last output).
std::expected<std::string, std::string> ensure_ort_release(const std::string& version);

// The ORT execution `name` ("ort", "ort-noopt", "ort@V[-LEVEL]") at release `version`, same
// level ("ort-noopt", "1.16.3" -> "ort@1.16.3-noopt"); nullopt when no such execution exists.
std::optional<std::string> ort_execution_at_version(std::string_view name,
                                                    std::string_view version);

// The onnxruntime-node releases an ort@VERSION execution can use, oldest first: npm's stable
// versions from 1.10.0 on, without 1.17.3 (its install script downloads from GitHub). Asked of
// npm (`npm view onnxruntime-node versions --json`) at most once a day, cached as
// releases.json in ort_cache_dir(); offline, the cached list, else a built-in one.
std::vector<std::string> ort_releases();

}  // namespace onnxfuzz
