// The fuzz loop and its status reporting.
#include "fuzzer/campaign.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "corpus/case_store.h"
#include "corpus/journal.h"
#include "fuzzer/evaluation.h"
#include "generators/generator.h"
#include "generators/model_io.h"
#include "generators/rng.h"

namespace onnxfuzz {
namespace {

using Clock = std::chrono::steady_clock;
std::atomic<bool> g_stop{false};

void request_stop(int) { g_stop = true; }

std::string elapsed_string(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds);
  return fmt::format("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

std::string status_text(const CampaignSummary& s) {
  std::string kinds;
  for (const char* kind : {"crash", "hang", "rejection", "shape", "numeric"}) {
    auto it = s.findings_by_kind.find(kind);
    kinds += fmt::format(" {} {}", kind, it == s.findings_by_kind.end() ? 0 : it->second);
  }
  return fmt::format("{} models {} ({:.1f}/s) |{} | unique {}", elapsed_string(s.seconds), s.models,
                     s.seconds > 0 ? s.models / s.seconds : 0.0, kinds, s.unique);
}

std::expected<void, std::string> write_stats(const std::string& out_dir, const CampaignSummary& s,
                                             uint64_t seed) {
  nlohmann::json j;
  j["seed"] = seed;
  j["models"] = s.models;
  j["invalid_models"] = s.invalid_models;
  j["findings_by_kind"] = s.findings_by_kind;
  j["unique"] = s.unique;
  j["known"] = s.known;
  j["flaky"] = s.flaky;
  j["unsupported"] = s.unsupported;
  j["seconds"] = s.seconds;
  j["backend_seconds"] = s.backend_seconds;
  j["new_cases"] = s.new_cases;
  j["coverage"] = s.coverage.to_json();
  return write_file_atomic((std::filesystem::path(out_dir) / "stats.json").string(),
                           j.dump(2) + "\n");
}

// Fails early, with one message, when the output directory is unusable.
std::expected<void, std::string> prepare_out_dir(const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(out_dir) / "cases", ec);
  if (ec)
    return std::unexpected(
        fmt::format("cannot create output directory {}: {}", out_dir, ec.message()));
  auto probe = write_file_atomic((std::filesystem::path(out_dir) / ".write-probe").string(), "ok");
  if (!probe) return std::unexpected(fmt::format("output directory {} is not writable", out_dir));
  std::filesystem::remove(std::filesystem::path(out_dir) / ".write-probe", ec);
  remove_stale_temporaries(out_dir);
  return {};
}

}  // namespace

std::expected<CampaignSummary, std::string> run_campaign(const CampaignOptions& options) {
  auto prepared = prepare_out_dir(options.findings.out_dir);
  if (!prepared) return std::unexpected(prepared.error());
  auto journal = Journal::open(options.findings.out_dir);
  if (!journal) return std::unexpected(journal.error());
  g_stop = false;
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);

  CampaignSummary summary;
  std::set<std::string> seen_keys;               // crash/hang/rejection keys already stored
  std::map<std::string, int> minimized_per_key;  // numeric/shape minimizations per key
  // A campaign resumed on (or sharing) an existing OUT does not re-minimize its findings, and
  // findings of --known corpora are neither minimized again (errors) nor stored.
  FindingContext findings = options.findings;
  findings.minimize.stop = &g_stop;  // Ctrl-C ends a minimization early; its best is stored
  std::set<std::string> known_keys;
  std::map<std::string, std::string> case_of_key;  // verdict key -> first case stored for it  //
                                                   // crash/hang/rejection keys of --known corpora
  std::vector<std::string> corpora = options.known_dirs;
  corpora.push_back(options.findings.out_dir);
  for (const auto& corpus : corpora) {
    auto existing = find_case_dirs({corpus});
    if (!existing) {
      if (corpus == options.findings.out_dir) continue;  // a new OUT has no cases yet
      return std::unexpected(fmt::format("--known: {}", existing.error()));
    }
    for (const auto& dir : *existing) {
      auto record = read_case_record(dir);
      if (!record) continue;
      const Verdict known{record->kind, record->execution, "", record->message, ""};
      seen_keys.insert(known.key());
      if (corpus == options.findings.out_dir) {
        ++minimized_per_key[known.key()];
      } else {
        findings.known_signatures.insert(record->signature);
        known_keys.insert(known.key());
      }
    }
    if (!existing->empty())
      spdlog::info("[fuzz] {} existing cases in {}", existing->size(), corpus);
  }
  auto generator = Generator::make(options.policy);
  if (!generator) return std::unexpected(generator.error());
  Rng master(options.seed);
  const auto start = Clock::now();
  auto last_status = start;
  auto last_stats = start;
  spdlog::info("[fuzz] seed {} executions {} out {}", options.seed,
               fmt::join(
                   [&] {
                     std::vector<std::string> names;
                     for (auto* e : options.findings.executions) names.push_back(e->name());
                     return names;
                   }(),
                   ","),
               options.findings.out_dir);

  while (!g_stop) {
    summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (options.iterations ? summary.models >= *options.iterations
                           : summary.seconds >= options.time_seconds) {
      break;
    }
    const uint64_t model_seed = master.next();
    const std::optional<GeneratedModel> generated = generator->generate(model_seed);
    ++summary.models;
    summary.coverage.add(*generated);
    const bool full =
        options.full_validation_every <= 1 || summary.models % options.full_validation_every == 1;
    Evaluation eval = evaluate_model(generated->model, generated->inputs,
                                     options.findings.executions, options.findings.oracle,
                                     full ? Validation::kFull : Validation::kCheckerOnly);
    for (const auto& obs : eval.observations) summary.backend_seconds += obs.result.seconds;
    for (const auto& skipped : eval.unsupported) {
      ++summary.unsupported[std::string(unsupported_kind_name(skipped.kind))];
    }
    if (no_execution_ran(eval)) ++summary.unsupported["no_execution_ran"];
    if (!eval.valid) {
      ++summary.invalid_models;
      spdlog::error("[generator] seed {} produced an invalid model: {}", model_seed,
                    eval.invalid_reason);
    }
    for (const auto& verdict : eval.verdicts) {
      ++summary.findings_by_kind[std::string(verdict_kind_name(verdict.kind))];
      JournalEntry entry{model_seed, verdict, FindingOutcome::kDuplicate, "",
                         op_sequence(generated->model.graph())};
      // Every verdict leaves one journal line, whichever way this iteration ends.
      struct JournalLine {
        Journal& journal;
        const JournalEntry& entry;
        ~JournalLine() { journal.append(entry); }
      } journal_line{*journal, entry};
      const std::string key = verdict.key();
      const bool by_message = dedupes_by_message(verdict.kind);
      if (by_message && known_keys.count(key)) {
        ++summary.known;
        entry.outcome = FindingOutcome::kKnown;
        continue;
      }
      if (by_message ? seen_keys.count(key) > 0
                     : minimized_per_key[key] >= (verdict.kind == VerdictKind::kHang
                                                      ? options.max_minimized_hangs_per_key
                                                      : options.max_minimized_per_key)) {
        if (auto it = case_of_key.find(key); it != case_of_key.end()) entry.case_id = it->second;
        continue;  // a duplicate by signature: not worth another minimization
      }
      ++minimized_per_key[key];
      auto stored =
          store_finding(findings, generated->model, generated->inputs, verdict, model_seed);
      if (!stored) return std::unexpected(stored.error());
      if (by_message) seen_keys.insert(key);
      entry.case_id = stored->record.id;
      case_of_key.emplace(key, stored->record.id);
      if (stored->flaky) {
        ++summary.flaky;
        entry.outcome = FindingOutcome::kFlaky;
        entry.case_id.clear();
        spdlog::warn("[finding] {} on {} did not reproduce; not stored: {}",
                     verdict_kind_name(verdict.kind), verdict.execution,
                     stored->record.minimize_log);
        continue;
      }
      if (stored->known) {
        ++summary.known;
        entry.outcome = FindingOutcome::kKnown;
        spdlog::debug("[finding] known {} on {}: {}", verdict_kind_name(stored->record.kind),
                      stored->record.execution, stored->record.signature);
        continue;
      }
      if (stored->is_new) {
        entry.outcome = FindingOutcome::kNew;
        ++summary.unique;
        summary.new_cases.push_back(stored->case_dir);
        summary.new_case_lines.push_back(
            fmt::format("{} on {}: {} ({} -> {} nodes)", verdict_kind_name(stored->record.kind),
                        stored->record.execution, fmt::join(stored->record.ops, ">"),
                        stored->record.nodes_before, stored->record.nodes_after));
        if (options.status_line) fmt::print(stderr, "\r\033[K");
        spdlog::info("[finding] NEW {} on {}: {} | ops {} | nodes {} -> {} | {}",
                     verdict_kind_name(stored->record.kind), stored->record.execution,
                     stored->record.message, fmt::join(stored->record.ops, ">"),
                     stored->record.nodes_before, stored->record.nodes_after, stored->case_dir);
      }
    }
    const auto now = Clock::now();
    summary.seconds = std::chrono::duration<double>(now - start).count();
    if (now - last_status >= std::chrono::seconds(options.status_line ? 1 : 10)) {
      last_status = now;
      if (options.status_line) {
        fmt::print(stderr, "\r\033[K[status] {}", status_text(summary));
        std::fflush(stderr);
      } else {
        spdlog::info("[status] {}", status_text(summary));
      }
    }
    if (now - last_stats >= std::chrono::seconds(10)) {
      last_stats = now;
      (void)write_stats(options.findings.out_dir, summary, options.seed);
    }
  }
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (options.status_line) fmt::print(stderr, "\r\033[K");
  spdlog::info("[done] {}{}", status_text(summary), g_stop ? " (interrupted)" : "");
  auto written = write_stats(options.findings.out_dir, summary, options.seed);
  if (!written) return std::unexpected(written.error());
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return summary;
}

}  // namespace onnxfuzz
