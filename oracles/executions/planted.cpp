// Execution families "planted" and "planted@K": the test-only worker with faults planted by
// ONNXFUZZ_PLANTED (tests/planted/), used to test oracles, minimizer and corpus end to end.
// "planted@K" is fake release K of it, for testing `onnxfuzz bisect`: its faults are planted
// only in the releases ONNXFUZZ_PLANTED_VERSIONS lists (e.g. "3..5").
#include <fmt/format.h>

#include <charconv>

#include "oracles/execution.h"
#include "oracles/worker_execution.h"
#include "oracles/worker_paths.h"

namespace onnxfuzz {
namespace {

// The fake release line bisect walks by default.
constexpr int kPlantedReleases = 16;

std::optional<int> release_number(std::string_view text) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 1) {
    return std::nullopt;
  }
  return value;
}

std::expected<std::unique_ptr<Execution>, std::string> make_planted(
    std::string_view name, const ExecutionOptions& options) {
  auto path = find_planted_worker();
  if (!path) return std::unexpected(fmt::format("execution '{}': {}", name, path.error()));
  WorkerCommand command{{*path}, {}};
  if (const size_t at = name.find('@'); at != std::string_view::npos) {
    command.extra_env.push_back(fmt::format("ONNXFUZZ_PLANTED_VERSION={}", name.substr(at + 1)));
  }
  return std::make_unique<WorkerExecution>(std::string(name), std::move(command), options);
}

std::optional<std::string> planted_at_version(std::string_view, std::string_view version) {
  if (!release_number(version)) return std::nullopt;
  return fmt::format("planted@{}", version);
}

std::expected<std::vector<std::string>, std::string> planted_releases() {
  std::vector<std::string> releases;
  for (int k = 1; k <= kPlantedReleases; ++k) releases.push_back(std::to_string(k));
  return releases;
}

const ExecutionRegistrar kPlanted{{
    .usage = "planted",
    .summary = "test-only worker with faults planted by ONNXFUZZ_PLANTED",
    .parse = exact_name("planted"),
    .make = make_planted,
    .order = 90,
    .at_version = planted_at_version,
    .releases = planted_releases,
}};

const ExecutionRegistrar kPlantedRelease{{
    .usage = "planted@K",
    .summary = "test-only: fake release K of planted, faulty in ONNXFUZZ_PLANTED_VERSIONS",
    .parse = [](std::string_view name) -> std::optional<std::expected<void, std::string>> {
      if (!name.starts_with("planted@")) return std::nullopt;
      if (!release_number(name.substr(8))) {
        return std::unexpected(
            fmt::format("'{}': expected planted@K with a release number K >= 1", name));
      }
      return std::expected<void, std::string>{};
    },
    .make = make_planted,
    .order = 91,
    .at_version = planted_at_version,
    .releases = planted_releases,
}};

}  // namespace
}  // namespace onnxfuzz
