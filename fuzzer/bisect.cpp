// Bisect: run a stored case on each release of one of its executions (every release of a
// short range, else a bisection) and record where it fails the same way.
#include "fuzzer/bisect.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "fuzzer/evaluation.h"
#include "fuzzer/finding.h"
#include "fuzzer/exit_codes.h"

namespace onnxfuzz {
namespace {

namespace fs = std::filesystem;

// Dotted numbers of a version; pre-release tails compare as text after the numbers.
std::vector<int64_t> version_numbers(std::string_view version) {
  std::vector<int64_t> numbers;
  while (!version.empty()) {
    int64_t value = 0;
    const auto [end, error] = std::from_chars(version.data(), version.data() + version.size(), value);
    if (error != std::errc()) break;
    numbers.push_back(value);
    version.remove_prefix(static_cast<size_t>(end - version.data()));
    if (!version.starts_with('.')) break;
    version.remove_prefix(1);
  }
  return numbers;
}

// The releases of `all` within "A..B" (inclusive, by release order; A and B need not be
// releases themselves) or equal to "V"; an error for bad syntax or an empty selection.
std::expected<std::vector<std::string>, std::string> select_releases(
    const std::vector<std::string>& all, std::string_view range, std::string& first,
    std::string& last) {
  if (range.empty()) {
    if (all.empty()) return std::unexpected(std::string("the backend lists no releases"));
    first = all.front();
    last = all.back();
    return all;
  }
  const size_t dots = range.find("..");
  first = std::string(range.substr(0, dots));
  last = dots == std::string_view::npos ? first : std::string(range.substr(dots + 2));
  for (const std::string& bound : {first, last}) {
    if (bound.empty() || version_numbers(bound).empty() ||
        bound.find_first_not_of("0123456789.") != std::string::npos) {
      return std::unexpected(fmt::format(
          "--versions: '{}': expected FIRST..LAST or VERSION with dotted release numbers, e.g. "
          "1.10.0..1.30.0",
          range));
    }
  }
  if (release_before(last, first)) {
    return std::unexpected(fmt::format("--versions: '{}': {} comes after {}", range, first, last));
  }
  std::vector<std::string> selected;
  for (const std::string& release : all) {
    if (!release_before(release, first) && !release_before(last, release)) {
      selected.push_back(release);
    }
  }
  if (selected.empty()) {
    return std::unexpected(fmt::format("--versions: no release in {}; releases: {}", range,
                                       fmt::join(all, ", ")));
  }
  return selected;
}

// Runs the case on one release and classifies the result against the recorded failure.
class ReleaseRunner {
 public:
  ReleaseRunner(const TestCase& test_case, std::string execution, const OracleConfig& oracle,
                const ExecutionMaker& make)
      : case_(test_case), execution_(std::move(execution)), oracle_(oracle), make_(make) {}

  ReleaseResult run(const std::string& version) {
    if (auto cached = results_.find(version); cached != results_.end()) return cached->second;
    const ExecutionFamily* family = execution_family_of(execution_);
    ReleaseResult result;
    result.version = version;
    result.execution = family->at_version(execution_, version).value_or(execution_ + "@" + version);
    std::vector<std::string> names = case_.record->executions;
    std::ranges::replace(names, execution_, result.execution);
    auto executions = make_(names);
    if (!executions) {
      result.outcome = ReleaseOutcome::kUnavailable;
      result.detail = executions.error();
    } else {
      std::vector<Execution*> pointers;
      for (auto& e : *executions) pointers.push_back(e.get());
      const Evaluation eval = evaluate_case(case_.model, case_.inputs.front(), pointers, oracle_,
                                            &*case_.record);
      Verdict wanted{case_.record->kind, case_.record->execution, "", case_.record->message, ""};
      if (wanted.execution == execution_) wanted.execution = result.execution;
      const Verdict* primary = primary_verdict(eval.verdicts);
      const auto same = std::ranges::find_if(
          eval.verdicts, [&](const Verdict& v) { return fails_same_way(v, wanted); });
      if (same != eval.verdicts.end()) {
        result.outcome = ReleaseOutcome::kSame;
        result.detail = fmt::format("{} on {}: {}", verdict_kind_name(same->kind),
                                    same->execution, same->message);
      } else if (primary) {
        result.outcome = ReleaseOutcome::kOther;
        result.detail = fmt::format("{} on {}: {}", verdict_kind_name(primary->kind),
                                    primary->execution, primary->message);
      } else if (no_execution_ran(eval) || !target_ran(eval, result.execution)) {
        result.outcome = ReleaseOutcome::kNotRun;
        result.detail = not_run_detail(eval, result.execution);
      } else {
        result.outcome = ReleaseOutcome::kPass;
        result.detail = fmt::format("agrees with {}", eval.baseline);
      }
    }
    spdlog::info("[bisect] {:<12} {:<12} {}", version, release_outcome_name(result.outcome),
                 result.detail);
    results_.emplace(version, result);
    return result;
  }

  std::vector<ReleaseResult> tested(const std::vector<std::string>& order) const {
    std::vector<ReleaseResult> out;
    for (const auto& version : order) {
      if (auto it = results_.find(version); it != results_.end()) out.push_back(it->second);
    }
    return out;
  }

 private:
  static bool target_ran(const Evaluation& eval, const std::string& name) {
    return std::ranges::any_of(eval.observations, [&](const Observation& obs) {
      return obs.execution == name && obs.result.status == RunStatus::kOk;
    });
  }
  static std::string not_run_detail(const Evaluation& eval, const std::string& name) {
    for (const auto& obs : eval.observations) {
      if (obs.execution == name) {
        return fmt::format("{}: {}", run_status_name(obs.result.status), obs.result.message);
      }
    }
    return "no execution ran the model";
  }

  const TestCase& case_;
  std::string execution_;
  const OracleConfig& oracle_;
  const ExecutionMaker& make_;
  std::map<std::string, ReleaseResult> results_;
};

// Bisection over `releases` assuming the releases that fail the same way are one stretch:
// find one failing release, then each end of its stretch. A release that cannot be made is
// dropped from the search rather than taken as passing.
void bisect_releases(std::vector<std::string> releases, ReleaseRunner& runner,
                     const std::string& hint) {
  auto same = [&](const std::string& v) { return runner.run(v).outcome == ReleaseOutcome::kSame; };
  auto usable = [&](const std::string& v) {
    return runner.run(v).outcome != ReleaseOutcome::kUnavailable;
  };
  // Probe order for a first failing release: the one the case was found on, the newest,
  // the oldest, then midpoints of ever finer halves.
  std::vector<std::string> probes;
  if (std::ranges::find(releases, hint) != releases.end()) probes.push_back(hint);
  probes.push_back(releases.back());
  probes.push_back(releases.front());
  for (size_t parts = 2; parts <= 8; parts *= 2) {
    for (size_t k = 1; k < parts; k += 2) probes.push_back(releases[releases.size() * k / parts]);
  }
  std::optional<std::string> anchor;
  for (const auto& probe : probes) {
    if (same(probe)) {
      anchor = probe;
      break;
    }
  }
  if (!anchor) return;
  std::erase_if(releases, [&](const std::string& v) {
    return runner.tested({v}).size() == 1 && !usable(v);
  });
  // Invariant of each search: `good` (not failing the same way, or the range's edge) and
  // `bad` (failing) are neighbours when it ends.
  auto boundary = [&](ptrdiff_t good, ptrdiff_t bad) {
    while (std::abs(bad - good) > 1) {
      const ptrdiff_t mid = good + (bad - good) / 2;
      const std::string version = releases[static_cast<size_t>(mid)];
      if (!usable(version)) {
        releases.erase(releases.begin() + mid);
        if (bad > mid) --bad;
        if (good > mid) --good;
        continue;
      }
      (same(version) ? bad : good) = mid;
    }
  };
  auto anchor_index = [&] {
    return std::ranges::find(releases, *anchor) - releases.begin();
  };
  boundary(-1, anchor_index());
  boundary(static_cast<ptrdiff_t>(releases.size()), anchor_index());
}

std::string range_text(const BisectResult& result) {
  if (result.failing.empty()) return "none";
  return result.first_failing == result.last_failing
             ? result.first_failing
             : fmt::format("{}..{}", result.first_failing, result.last_failing);
}

std::string releases_section(const BisectResult& result) {
  std::string out = fmt::format(
      "## Releases that fail the same way\n\n`onnxfuzz bisect` ran this case on releases {}..{} "
      "of `{}` ({}, {} of {} releases tested): **{}**.\n\n",
      result.first_version, result.last_version, result.execution,
      result.exhaustive ? "every release" : "a bisection, assuming one stretch of failing releases",
      result.tested.size(), result.releases.size(), range_text(result));
  if (!result.failing.empty()) {
    out += fmt::format("Failing the same way: {}.\n\n", fmt::join(result.failing, ", "));
  }
  out += "| release | outcome | detail |\n|---|---|---|\n";
  for (const auto& r : result.tested) {
    std::string detail = r.detail.substr(0, 160);
    std::ranges::replace(detail, '|', '/');
    std::ranges::replace(detail, '\n', ' ');
    out += fmt::format("| {} | {} | {} |\n", r.version, release_outcome_name(r.outcome), detail);
  }
  return out + "\n";
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

const FlagSpec kFlags[] = {
    {"execution", "NAME", "",
     "the case's execution whose releases are tried (default: the one that failed)"},
    {"versions", "FIRST..LAST", "",
     "releases to try, inclusive, e.g. 1.10.0..1.30.0 or one VERSION (default: all)"},
    {"exhaustive-limit", "N", "25",
     "try every release when the range holds at most N, else bisect"},
    {"no-write", "", "", "print the result only; leave case.json and report.md as they are"},
    {"timeout", "SECONDS", "10", "per-model time limit of worker executions"},
    {"memory-limit-mb", "MB", "4096", "resident memory limit of a worker process"},
    {"verbose", "", "", "debug logging"},
};

}  // namespace

const std::span<const FlagSpec> kBisectFlags = kFlags;

std::string_view release_outcome_name(ReleaseOutcome outcome) {
  switch (outcome) {
    case ReleaseOutcome::kSame:
      return "same";
    case ReleaseOutcome::kPass:
      return "pass";
    case ReleaseOutcome::kOther:
      return "other";
    case ReleaseOutcome::kNotRun:
      return "not-run";
    case ReleaseOutcome::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}

bool release_before(std::string_view a, std::string_view b) {
  const auto na = version_numbers(a);
  const auto nb = version_numbers(b);
  if (na != nb) return na < nb;
  return a < b;
}

std::expected<BisectResult, std::string> bisect_case(const TestCase& test_case,
                                                     const BisectOptions& options,
                                                     const OracleConfig& oracle,
                                                     const ExecutionMaker& make) {
  if (!test_case.record) {
    return std::unexpected(fmt::format("{}: no case.json: bisect needs the recorded failure",
                                       test_case.dir));
  }
  const CaseRecord& record = *test_case.record;
  BisectResult result;
  result.execution = options.execution.empty() ? record.execution : options.execution;
  if (std::ranges::find(record.executions, result.execution) == record.executions.end()) {
    return std::unexpected(fmt::format("--execution: '{}' is not an execution of this case ({})",
                                       result.execution, fmt::join(record.executions, ", ")));
  }
  const ExecutionFamily* family = execution_family_of(result.execution);
  if (!family || !family->at_version || !family->releases) {
    return std::unexpected(
        fmt::format("--execution: '{}' has no releases to try (bisect walks the releases of "
                    "ort, ort-noopt and ort@VERSION executions)",
                    result.execution));
  }
  auto all = family->releases();
  if (!all) return std::unexpected(all.error());
  auto selected = select_releases(*all, options.versions, result.first_version,
                                  result.last_version);
  if (!selected) return std::unexpected(selected.error());
  result.releases = std::move(*selected);
  result.exhaustive = result.releases.size() <= options.exhaustive_limit;

  ReleaseRunner runner(test_case, result.execution, oracle, make);
  if (result.exhaustive) {
    for (const auto& version : result.releases) runner.run(version);
  } else {
    // The release the case was found on, from its recorded version ("onnxruntime-node 1.23.2").
    std::string hint;
    if (auto it = record.versions.find(result.execution); it != record.versions.end()) {
      hint = it->second.substr(it->second.rfind(' ') + 1);
    }
    bisect_releases(result.releases, runner, hint);
  }
  result.tested = runner.tested(result.releases);
  for (const auto& r : result.tested) {
    if (r.outcome == ReleaseOutcome::kSame) result.failing.push_back(r.version);
  }
  if (!result.failing.empty()) {
    result.first_failing = result.failing.front();
    result.last_failing = result.failing.back();
  }
  return result;
}

std::expected<void, std::string> write_bisect(const std::string& case_dir,
                                              const BisectResult& result) {
  const fs::path dir(case_dir);
  nlohmann::json j = nlohmann::json::parse(read_text(dir / "case.json"), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return std::unexpected(fmt::format("{}: case.json is not a JSON object", case_dir));
  }
  nlohmann::json tested = nlohmann::json::array();
  for (const auto& r : result.tested) {
    tested.push_back({{"version", r.version},
                      {"execution", r.execution},
                      {"outcome", release_outcome_name(r.outcome)},
                      {"detail", r.detail}});
  }
  j["bisect"] = {{"execution", result.execution},
                 {"versions", fmt::format("{}..{}", result.first_version, result.last_version)},
                 {"mode", result.exhaustive ? "every release" : "bisection"},
                 {"first", result.first_failing},
                 {"last", result.last_failing},
                 {"failing", result.failing},
                 {"tested", tested},
                 {"tool_version", "onnxfuzz " ONNXFUZZ_VERSION}};
  if (auto ok = write_file_atomic((dir / "case.json").string(), j.dump(2) + "\n"); !ok) return ok;

  // report.md: the section replaces an earlier one, else goes before "## Environment".
  std::string report = read_text(dir / "report.md");
  const std::string heading = "## Releases that fail the same way\n";
  if (const size_t at = report.find(heading); at != std::string::npos) {
    const size_t next = report.find("\n## ", at + heading.size());
    report.erase(at, next == std::string::npos ? std::string::npos : next + 1 - at);
  }
  const size_t environment = report.find("## Environment");
  report.insert(environment == std::string::npos ? report.size() : environment,
                releases_section(result));
  return write_file_atomic((dir / "report.md").string(), report);
}

int command_bisect(const ParsedFlags& flags) {
  if (flags.positional.size() != 1) return fail(exit_code::kUsage, "bisect needs exactly one CASE_DIR");
  BisectOptions options;
  options.execution = flags.get("execution");
  options.versions = flags.get("versions");
  auto limit = flags.get_int("exhaustive-limit");
  if (!limit || *limit < 0) return fail(exit_code::kUsage, "--exhaustive-limit: expected N >= 0");
  options.exhaustive_limit = static_cast<size_t>(*limit);
  auto limits = worker_limits(flags);
  if (!limits) return fail(exit_code::kUsage, limits.error());
  const ExecutionOptions execution_options = *limits;
  if (!options.execution.empty() && !is_execution_name(options.execution)) {
    return fail(exit_code::kUsage,
                fmt::format("--execution: unknown execution '{}'; known executions: {}",
                            options.execution, fmt::join(known_execution_names(), ", ")));
  }

  const std::string dir = flags.positional[0];
  if (!fs::is_directory(dir)) {
    return fail(exit_code::kBadInput, fmt::format("{}: no such case directory", dir));
  }
  auto test_case = read_test_case(dir);
  if (!test_case) return fail(exit_code::kBadInput, test_case.error());
  if (!test_case->record) {
    return fail(exit_code::kBadInput,
                fmt::format("{}: no case.json: bisect needs a stored case (onnxfuzz fuzz or "
                            "minimize writes one)",
                            dir));
  }
  if (test_case->inputs.empty()) return fail(exit_code::kBadInput, fmt::format("{}: no test data", dir));
  OracleConfig oracle;
  for (const auto& [dtype, tol] : test_case->record->tolerances) oracle.tolerance[dtype] = tol;

  const ExecutionMaker make = [&](const std::vector<std::string>& names)
      -> std::expected<std::vector<std::unique_ptr<Execution>>, std::string> {
    std::vector<std::unique_ptr<Execution>> executions;
    for (const auto& name : names) {
      auto execution = make_execution(name, execution_options);
      if (!execution) return std::unexpected(execution.error());
      if (auto ready = (*execution)->check_ready(); !ready) return std::unexpected(ready.error());
      executions.push_back(std::move(*execution));
    }
    return executions;
  };
  auto result = bisect_case(*test_case, options, oracle, make);
  if (!result) return fail(exit_code::kUsage, result.error());
  const bool all_unavailable = std::ranges::all_of(result->tested, [](const ReleaseResult& r) {
    return r.outcome == ReleaseOutcome::kUnavailable;
  });
  if (all_unavailable) {
    return fail(exit_code::kEnvironment,
                fmt::format("no release of {} could be made: {}", result->execution,
                            result->tested.empty() ? "" : result->tested.front().detail));
  }
  fmt::print("{}: {} on {}, releases {}..{}: fails the same way in {} ({}; {} of {} releases "
             "tested)\n",
             dir, verdict_kind_name(test_case->record->kind), result->execution,
             result->first_version, result->last_version, range_text(*result),
             result->exhaustive ? "every release" : "bisection", result->tested.size(),
             result->releases.size());
  if (!result->failing.empty()) fmt::print("failing: {}\n", fmt::join(result->failing, ","));
  if (!flags.has("no-write")) {
    if (auto written = write_bisect(dir, *result); !written)
      return fail(exit_code::kEnvironment, written.error());
  }
  return result->failing.empty() ? exit_code::kFindings : exit_code::kOk;
}

}  // namespace onnxfuzz
