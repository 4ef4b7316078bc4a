// Bisect: the releases of a backend in which a stored case fails the same way.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "corpus/case_store.h"
#include "fuzzer/flags.h"
#include "oracles/execution.h"
#include "oracles/oracle.h"

namespace onnxfuzz {

// How one release did on the case.
enum class ReleaseOutcome {
  kSame,         // fails the way case.json records (kind, execution, normalized message)
  kPass,         // ran, nothing failed
  kOther,        // failed another way
  kNotRun,       // no execution ran the model, or the release could not carry it
  kUnavailable,  // the release could not be made (an install failed): not tested
};
std::string_view release_outcome_name(ReleaseOutcome outcome);

struct ReleaseResult {
  std::string version;
  std::string execution;  // the execution name at that release, e.g. "ort@1.16.3"
  ReleaseOutcome outcome = ReleaseOutcome::kPass;
  std::string detail;  // the verdict or the error
};

struct BisectResult {
  std::string execution;              // the case's execution whose releases were walked
  std::string first_version;          // of the range asked for
  std::string last_version;           //
  std::vector<std::string> releases;  // in the range, oldest first
  bool exhaustive = false;            // every release tested (else bisected)
  std::vector<ReleaseResult> tested;  // oldest first
  std::vector<std::string> failing;   // releases that fail the same way, oldest first
  // The first and last failing release, empty when none fails. After a bisection they
  // bound a failing stretch assumed contiguous.
  std::string first_failing;
  std::string last_failing;
};

struct BisectOptions {
  std::string execution;  // one of the case's executions; empty: the one that failed
  std::string versions;   // "A..B" or "V"; empty: every release of the backend
  size_t exhaustive_limit = 25;  // test every release when the range holds at most this many
};

// Makes the executions a release is run with (the case's list with one name replaced).
using ExecutionMaker = std::function<std::expected<std::vector<std::unique_ptr<Execution>>,
                                                   std::string>(const std::vector<std::string>&)>;

// Numeric order of dotted release versions ("1.9.0" < "1.10.0", "3" < "12").
bool release_before(std::string_view a, std::string_view b);

// Which releases of the case's execution fail the same way. Usage errors (an execution not in
// the case, one without releases, a bad or empty range) come back as an error value before any
// release runs. Progress is logged.
std::expected<BisectResult, std::string> bisect_case(const TestCase& test_case,
                                                     const BisectOptions& options,
                                                     const OracleConfig& oracle,
                                                     const ExecutionMaker& make);

// Records `result` in the case directory: "bisect" in case.json, a "Releases" section in
// report.md (replacing earlier ones).
std::expected<void, std::string> write_bisect(const std::string& case_dir,
                                              const BisectResult& result);

// `onnxfuzz bisect CASE [--execution NAME] [--versions A..B]`.
extern const std::span<const FlagSpec> kBisectFlags;
int command_bisect(const ParsedFlags& flags);

}  // namespace onnxfuzz
