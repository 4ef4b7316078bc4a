// The fuzz loop and its status reporting.
#include "fuzzer/campaign.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "corpus/case_store.h"
#include "corpus/journal.h"
#include "fuzzer/evaluation.h"
#include "fuzzer/finding.h"
#include "fuzzer/localize.h"
#include "fuzzer/seed_pool.h"
#include "fuzzer/triage.h"
#include "generators/generator.h"
#include "generators/mutators/dispatcher.h"
#include "generators/model_io.h"
#include "generators/rng.h"

namespace onnxfuzz {
namespace {

// Crash and hang causes met so far, each the op set of a stored or known case's minimized
// model under its verdict key (kind, execution, message). A crash says no more than its signal
// ("worker died: SIGSEGV"), so a crash of a model that holds every op of such a set is taken for
// that cause: it is counted under the cause's own minimization budget, or as known when the
// case is one of a --known corpus, instead of under one budget per signal that the first
// crashes of a campaign would use up.
class CrashCauses {
 public:
  struct Cause {
    std::string budget_key;  // "budget|<verdict key>|{op,op,...}"
    std::set<std::string> ops;
    std::string case_id;
    bool known = false;
  };

  static bool applies(VerdictKind kind) {
    return kind == VerdictKind::kCrash || kind == VerdictKind::kHang;
  }

  // Records the cause of a stored or known case; returns its budget key ("" for a case of
  // another kind).
  std::string add(const CaseRecord& record, const std::string& case_id, bool known) {
    if (!applies(record.kind) || record.ops.empty()) return "";
    const Verdict verdict{record.kind, record.execution, "", record.message, ""};
    Cause cause;
    cause.ops = std::set<std::string>(record.ops.begin(), record.ops.end());
    cause.budget_key =
        fmt::format("budget|{}|{{{}}}", verdict.key(), fmt::join(cause.ops, ","));
    cause.case_id = case_id;
    cause.known = known;
    auto& causes = by_key_[verdict.key()];
    for (const Cause& existing : causes) {
      if (existing.ops == cause.ops) return existing.budget_key;
    }
    causes.push_back(std::move(cause));
    return causes.back().budget_key;
  }

  // The most specific cause (the largest op set) of `verdict`'s key whose ops `model` all holds,
  // or null.
  const Cause* explain(const Verdict& verdict, const onnx::ModelProto& model) const {
    auto causes = by_key_.find(verdict.key());
    if (causes == by_key_.end()) return nullptr;
    const std::vector<std::string> sequence = op_sequence(model.graph());
    const std::set<std::string> present(sequence.begin(), sequence.end());
    const Cause* best = nullptr;
    for (const Cause& cause : causes->second) {
      if (!std::includes(present.begin(), present.end(), cause.ops.begin(), cause.ops.end()))
        continue;
      if (best == nullptr || cause.ops.size() > best->ops.size()) best = &cause;
    }
    return best;
  }

 private:
  std::map<std::string, std::vector<Cause>> by_key_;
};

// The key a finding's minimization budget (CampaignOptions::max_minimized_per_key) is counted
// under. For a numeric or shape finding, the root cause of its faulty node (fuzzer/triage.h)
// when localization (fuzzer/localize.h) names that node on the model as found: two bugs in two
// ops then have two budgets, where their one message ("values differ from ref") would share
// one. Otherwise the verdict's key: kind, execution and message (crashes and hangs a stored
// case explains have their cause's key instead, CrashCauses).
struct BudgetKey {
  std::string key;
  // The localization it came from (numeric and shape findings), which store_finding reuses.
  std::optional<Localization> localization;
  bool propagated() const {  // no node is faulty: no finding
    return localization && localization->status == LocalizationStatus::kPropagated;
  }
};

BudgetKey budget_key_of(const Verdict& verdict, const onnx::ModelProto& model,
                        const TensorMap& inputs, const FindingContext& context) {
  if (verdict.kind != VerdictKind::kNumeric && verdict.kind != VerdictKind::kShape)
    return {verdict.key(), std::nullopt};
  BudgetKey budget{verdict.key(),
                   localize_finding(verdict, model, inputs, context.executions, context.oracle)};
  if (budget.localization->status == LocalizationStatus::kLocalized) {
    CaseRecord record;
    record.kind = verdict.kind;
    record.execution = verdict.execution;
    record.message = verdict.message;
    budget.key = "budget|" + root_cause(record, model, &*budget.localization).key;
  }
  return budget;
}

using Clock = std::chrono::steady_clock;
// Mixed into a model seed for the draw "mutant or generated", so that it does not correlate with
// the draws of the mutation itself.
constexpr uint64_t kMutateSalt = 0x6d75746174696f6eULL;
// The same for the guide's draw of a model's focus.
constexpr uint64_t kGuideSalt = 0x67756964616e6365ULL;
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
  if (auto it = s.findings_by_kind.find("accepted-invalid"); it != s.findings_by_kind.end())
    kinds += fmt::format(" accepted-invalid {}", it->second);
  const std::string mutants =
      s.mutants > 0 ? fmt::format(" mutants {} pool {}", s.mutants, s.pool_size) : "";
  return fmt::format("{} models {} ({:.1f}/s){} |{} | unique {}", elapsed_string(s.seconds),
                     s.models, s.seconds > 0 ? s.models / s.seconds : 0.0, mutants, kinds,
                     s.unique);
}

// The counters stats.json and the resume state share.
nlohmann::json counters_json(const CampaignSummary& s, uint64_t seed) {
  nlohmann::json j;
  j["seed"] = seed;
  j["models"] = s.models;  // = draws consumed from the seed stream
  j["invalid_models"] = s.invalid_models;
  j["findings_by_kind"] = s.findings_by_kind;
  j["unique"] = s.unique;
  j["signatures"] = s.signatures;
  j["known"] = s.known;
  j["flaky"] = s.flaky;
  j["propagated"] = s.propagated;
  j["unsupported"] = s.unsupported;
  j["seconds"] = s.seconds;
  j["backend_seconds"] = s.backend_seconds;
  j["executions"] = s.executions;
  return j;
}

std::expected<void, std::string> write_stats(const std::string& out_dir, const CampaignSummary& s,
                                             uint64_t seed) {
  nlohmann::json j = counters_json(s, seed);
  j["new_cases"] = s.new_cases;
  if (s.mutants > 0) {
    j["mutation"] = {{"mutants", s.mutants},
                     {"pool_added", s.pool_added},
                     {"pool_size", s.pool_size},
                     {"mutation_failed", s.mutation_failed}};
  }
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

// Resident set size of this process, from /proc/self/statm (second field, in pages).
int64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * ::sysconf(_SC_PAGESIZE);
}

const char* const kCsvKinds[] = {"crash", "hang", "rejection", "shape", "numeric",
                                 "accepted-invalid"};

// OUT/<instance>/stats.csv: one row every --stats-interval. Each row is one write(2) on an
// O_APPEND descriptor, so a killed campaign never leaves a torn line and a resumed one appends.
class StatsCsv {
 public:
  static std::expected<StatsCsv, std::string> open(const std::string& dir) {
    const std::string path = (std::filesystem::path(dir) / "stats.csv").string();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return std::unexpected(fmt::format("cannot open {}: {}", path, strerror(errno)));
    StatsCsv csv(fd);
    if (::lseek(fd, 0, SEEK_END) == 0) {
      std::string header = "elapsed_s,models,models_per_s,executions_per_s";
      for (const char* kind : kCsvKinds) header += fmt::format(",{}", kind);
      header += ",unique,cases,ops,op_dtypes,op_pairs,rss_mb,attr_values,signatures\n";
      csv.write_line(header);
    }
    return csv;
  }
  StatsCsv(StatsCsv&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  StatsCsv& operator=(StatsCsv&&) = delete;
  ~StatsCsv() {
    if (fd_ >= 0) ::close(fd_);
  }

  // models/s and executions/s are over the interval since the previous row.
  void append(const CampaignSummary& s, int64_t cases) {
    const double dt = s.seconds - last_seconds_;
    const double models_rate = dt > 0 ? (s.models - last_models_) / dt : 0.0;
    const double exec_rate = dt > 0 ? (s.executions - last_executions_) / dt : 0.0;
    std::string line = fmt::format("{:.1f},{},{:.2f},{:.2f}", s.seconds, s.models, models_rate,
                                   exec_rate);
    for (const char* kind : kCsvKinds) {
      auto it = s.findings_by_kind.find(kind);
      line += fmt::format(",{}", it == s.findings_by_kind.end() ? 0 : it->second);
    }
    line += fmt::format(",{},{},{},{},{},{:.1f},{},{}\n", s.unique, cases, s.coverage.ops.size(),
                        s.coverage.op_dtypes.size(), s.coverage.op_pairs.size(),
                        rss_bytes() / 1048576.0, s.coverage.attr_values.size(), s.signatures);
    write_line(line);
    last_seconds_ = s.seconds;
    last_models_ = s.models;
    last_executions_ = s.executions;
  }
  void start_from(const CampaignSummary& s) {
    last_seconds_ = s.seconds;
    last_models_ = s.models;
    last_executions_ = s.executions;
  }

 private:
  explicit StatsCsv(int fd) : fd_(fd) {}
  void write_line(const std::string& line) {
    const ssize_t written = ::write(fd_, line.data(), line.size());
    if (written != static_cast<ssize_t>(line.size()))
      spdlog::warn("[stats] stats.csv: short write: {}", strerror(errno));
  }
  int fd_ = -1;
  double last_seconds_ = 0;
  int64_t last_models_ = 0;
  int64_t last_executions_ = 0;
};

// What a resumed instance needs: the summary's counters and coverage, the minimizations spent
// per verdict key and the case ids already accounted for. Written atomically (state.json).
struct CampaignState {
  CampaignSummary summary;
  std::map<std::string, int> minimized_per_key;
  std::set<std::string> accounted_cases;
  std::map<std::string, int> guide_misses;  // CoverageGuide::misses() at the checkpoint
  // The focus of each model prepared ahead and not judged yet at the checkpoint, in order: a
  // resumed instance prepares them again with the same seeds and these focus draws.
  std::vector<std::string> pending_focus;
};

// One model of the loop, from its preparation to its judgement (run_campaign).
struct Candidate {
  uint64_t model_seed = 0;
  std::optional<GeneratedModel> generated;
  std::optional<Mutant> mutant;  // instead of a generated model
  Chain chain;                   // the mutant's
  std::string rule;              // invalid mode: the rule the mutant breaks
  std::vector<FocusTarget> focus;
  // Started when prepared; none for a rule-breaking mutant (evaluate_invalid when judged). It
  // refers to the model and inputs above: a Candidate stays where it was made.
  std::optional<EvaluationInFlight> in_flight;

  const onnx::ModelProto& model() const { return mutant ? mutant->model : generated->model; }
  const TensorMap& inputs() const { return mutant ? mutant->inputs : generated->inputs; }
};

nlohmann::json state_to_json(const CampaignState& state, uint64_t seed) {
  const CampaignSummary& s = state.summary;
  nlohmann::json j = counters_json(s, seed);
  j["pid"] = ::getpid();
  j["mutants"] = s.mutants;
  j["pool_added"] = s.pool_added;
  j["mutation_failed"] = s.mutation_failed;
  j["coverage"] = {{"ops", s.coverage.ops},
                   {"op_dtypes", s.coverage.op_dtypes},
                   {"op_pairs", s.coverage.op_pairs},
                   {"attr_values", s.coverage.attr_values},
                   {"patterns", s.coverage.patterns}};
  j["minimized_per_key"] = state.minimized_per_key;
  j["accounted_cases"] = state.accounted_cases;
  j["guide_misses"] = state.guide_misses;
  j["pending_focus"] = state.pending_focus;
  return j;
}

std::expected<CampaignState, std::string> read_state(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::unexpected(fmt::format("cannot read {}", path));
  try {
    const auto j = nlohmann::json::parse(in);
    CampaignState state;
    CampaignSummary& s = state.summary;
    s.models = j.at("models").get<int64_t>();
    s.invalid_models = j.at("invalid_models").get<int64_t>();
    s.mutants = j.at("mutants").get<int64_t>();
    s.pool_added = j.at("pool_added").get<int64_t>();
    s.mutation_failed = j.at("mutation_failed").get<int64_t>();
    s.executions = j.at("executions").get<int64_t>();
    s.findings_by_kind = j.at("findings_by_kind").get<std::map<std::string, int64_t>>();
    s.unique = j.at("unique").get<int64_t>();
    s.signatures = j.value("signatures", s.unique);  // absent in an older onnxfuzz's state
    s.known = j.at("known").get<int64_t>();
    s.flaky = j.at("flaky").get<int64_t>();
    s.propagated = j.value("propagated", int64_t{0});  // absent in an older onnxfuzz's state
    s.unsupported = j.at("unsupported").get<std::map<std::string, int64_t>>();
    s.seconds = j.at("seconds").get<double>();
    s.backend_seconds = j.at("backend_seconds").get<double>();
    const auto& c = j.at("coverage");
    s.coverage.ops = c.at("ops").get<std::map<std::string, int64_t>>();
    s.coverage.op_dtypes = c.at("op_dtypes").get<std::map<std::string, int64_t>>();
    s.coverage.op_pairs = c.at("op_pairs").get<std::map<std::string, int64_t>>();
    s.coverage.patterns = c.at("patterns").get<std::map<std::string, int64_t>>();
    if (c.contains("attr_values"))  // absent in the state of an older onnxfuzz
      s.coverage.attr_values = c.at("attr_values").get<std::map<std::string, int64_t>>();
    state.minimized_per_key = j.at("minimized_per_key").get<std::map<std::string, int>>();
    state.accounted_cases = j.at("accounted_cases").get<std::set<std::string>>();
    if (j.contains("guide_misses"))
      state.guide_misses = j.at("guide_misses").get<std::map<std::string, int>>();
    if (j.contains("pending_focus"))  // absent in the state of an older onnxfuzz
      state.pending_focus = j.at("pending_focus").get<std::vector<std::string>>();
    return state;
  } catch (const nlohmann::json::exception& e) {
    return std::unexpected(fmt::format("{}: {}", path, e.what()));
  }
}

}  // namespace

std::expected<CampaignSummary, std::string> run_campaign(const CampaignOptions& options) {
  auto prepared = prepare_out_dir(options.findings.out_dir);
  if (!prepared) return std::unexpected(prepared.error());
  const std::string instance_dir =
      options.instance_dir.empty() ? options.findings.out_dir : options.instance_dir;
  if (!options.instance_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(instance_dir, ec);
    if (ec)
      return std::unexpected(fmt::format("cannot create {}: {}", instance_dir, ec.message()));
  }
  const std::string state_path = (std::filesystem::path(instance_dir) / "state.json").string();
  auto journal = Journal::open(instance_dir);
  if (!journal) return std::unexpected(journal.error());
  auto csv = StatsCsv::open(instance_dir);
  if (!csv) return std::unexpected(csv.error());
  // `onnxfuzz status` tells running instances from finished or killed ones by this pid.
  if (auto pid = write_file_atomic((std::filesystem::path(instance_dir) / "pid").string(),
                                   fmt::format("{}\n", ::getpid()), Durability::kAtomicOnly);
      !pid) {
    return std::unexpected(pid.error());
  }
  g_stop = false;
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);

  CampaignState state;
  if (options.resume && std::filesystem::exists(state_path)) {
    auto restored = read_state(state_path);
    if (!restored) return std::unexpected(restored.error());
    state = std::move(*restored);
    spdlog::info("[fuzz] resuming {} after {} models ({:.0f} s, {} unique)", instance_dir,
                 state.summary.models, state.summary.seconds, state.summary.unique);
  }
  CampaignSummary& summary = state.summary;
  std::set<std::string> seen_keys;  // crash/hang/rejection keys already stored
  std::map<std::string, int>& minimized_per_key = state.minimized_per_key;  // per verdict key
  // A campaign resumed on (or sharing) an existing OUT does not re-minimize its findings, and
  // findings of --known corpora are neither minimized again (errors) nor stored.
  FindingContext findings = options.findings;
  findings.minimize.stop = &g_stop;  // Ctrl-C ends a minimization early; its best is stored
  std::set<std::string> known_keys;  // crash/hang/rejection keys of --known corpora
  CrashCauses crash_causes;          // crash and hang causes of stored and --known cases
  std::map<std::string, std::string> case_of_key;  // verdict key -> first case stored for it
  // One case per root cause (fuzzer/triage.h), numeric and shape cases localized on this
  // campaign's executions; passing models' op n-grams for triage's n-gram analysis.
  const Localizer localizer = [&](const TestCase& tc) {
    return localize_case(tc, options.findings.executions, options.findings.oracle);
  };
  RootCauseIndex root_causes(options.findings.out_dir, localizer);
  NgramCounts passing_ngrams = NgramCounts::load(instance_dir);
  for (const auto& corpus : options.known_dirs) {
    auto existing = find_case_dirs({corpus});
    if (!existing) return std::unexpected(fmt::format("--known: {}", existing.error()));
    for (const auto& dir : *existing) {
      auto record = read_case_record(dir);
      if (!record) continue;
      const Verdict known{record->kind, record->execution, "", record->message, ""};
      seen_keys.insert(known.key());
      findings.known_signatures.insert(record->signature);
      known_keys.insert(known.key());
      crash_causes.add(*record, std::filesystem::path(dir).filename().string(), true);
    }
    if (!existing->empty())
      spdlog::info("[fuzz] {} existing cases in {}", existing->size(), corpus);
  }
  // Cases in OUT/cases/ that this instance has not accounted for yet: those of an earlier run,
  // and those other instances of a parallel campaign store meanwhile (rescanned periodically).
  // Each counts as one minimization spent on its key, as if this instance had stored it;
  // except when resuming: a case stored after the last checkpoint is stored again by the models
  // run again, which spends its minimization then.
  // A case another instance replaced with a smaller reproducer of its root cause is gone: it is
  // no longer counted.
  auto absorb_cases = [&](bool spend_budget) -> int64_t {
    std::error_code ec;
    const auto cases = std::filesystem::path(options.findings.out_dir) / "cases";
    int64_t absorbed = 0;
    std::set<std::string> present;
    for (const auto& entry : std::filesystem::directory_iterator(cases, ec)) {
      const std::string id = entry.path().filename().string();
      present.insert(id);
      if (id.empty() || id[0] == '.' || state.accounted_cases.count(id)) continue;
      auto record = read_case_record(entry.path().string());
      if (!record) continue;
      const Verdict stored{record->kind, record->execution, "", record->message, ""};
      seen_keys.insert(stored.key());
      case_of_key.emplace(stored.key(), id);
      const std::string cause_key = crash_causes.add(*record, id, false);
      if (spend_budget) ++minimized_per_key[cause_key.empty() ? stored.key() : cause_key];
      state.accounted_cases.insert(id);
      ++absorbed;
    }
    if (!ec) {
      std::erase_if(state.accounted_cases, [&](const auto& id) { return !present.contains(id); });
    }
    return absorbed;
  };
  // Keys of cases already accounted for (a resumed instance) still dedupe by message.
  for (const auto& id : state.accounted_cases) {
    auto record =
        read_case_record((std::filesystem::path(options.findings.out_dir) / "cases" / id).string());
    if (!record) continue;
    const Verdict stored{record->kind, record->execution, "", record->message, ""};
    seen_keys.insert(stored.key());
    case_of_key.emplace(stored.key(), id);
    crash_causes.add(*record, id, false);
  }
  if (const int64_t existing = absorb_cases(!options.resume); existing > 0)
    spdlog::info("[fuzz] {} existing cases in {}", existing, options.findings.out_dir);
  csv->start_from(summary);
  // The guide, when on (set up below, before the first model).
  std::optional<CoverageGuide> guide;
  // Models prepared ahead of the one being judged, in order (see the loop below).
  std::deque<std::unique_ptr<Candidate>> ahead;
  auto checkpoint = [&] {
    if (guide) state.guide_misses = guide->misses();
    state.pending_focus.clear();
    for (const auto& c : ahead) state.pending_focus.push_back(focus_string(c->focus));
    if (auto written = write_file_atomic(state_path, state_to_json(state, options.seed).dump() + "\n",
                                         Durability::kAtomicOnly);
        !written) {
      spdlog::warn("[stats] {}", written.error());
    }
  };
  auto generator = Generator::make(options.policy);
  if (!generator) return std::unexpected(generator.error());
  if (options.guidance) {
    guide.emplace(*generator);
    guide->restore_misses(state.guide_misses);
  }
  std::optional<SeedPool> pool;
  size_t next_seed = 0;  // seeds run as they are before any mutant
  MutateOptions mutate_options;  // the defaults `mutate --chain` re-derives with
  mutate_options.mode = options.mutate_mode;
  DispatchOptions dispatch;
  dispatch.max_depth = options.mutate_depth;
  if (!options.seed_paths.empty()) {
    auto opened = SeedPool::open(options.seed_paths,
                                 (std::filesystem::path(options.findings.out_dir) / "pool").string(),
                                 /*input_seed=*/1, options.seed_shapes);
    if (!opened) return std::unexpected(opened.error());
    pool = std::move(*opened);
    auto selected = select_mutators(options.mutate_mode, options.mutators);
    if (!selected) return std::unexpected(selected.error());
    dispatch.mutators = std::move(*selected);
    spdlog::info("[seeds] {} seeds, {} pool entries kept from earlier runs, {} skipped; {:.0f}% of "
                 "models are {} mutants",
                 pool->seeds(), pool->size() - pool->seeds(), pool->skipped().size(),
                 100 * options.mutate_ratio, mutate_mode_name(options.mutate_mode));
  }
  FindingContext unminimized = findings;
  unminimized.minimize_enabled = false;
  Rng master(options.seed);
  // A resumed instance continues the same seed stream: one draw per model consumed (the seeds
  // of --seeds, run first, included).
  for (int64_t i = 0; i < summary.models; ++i) master.next();
  if (pool) next_seed = std::min(pool->seeds(), static_cast<size_t>(summary.models));
  const double base_seconds = summary.seconds;
  const auto start = Clock::now();
  auto last_status = start;
  auto last_stats = start;
  auto last_checkpoint = start;
  auto last_row = start;
  auto last_ngrams = start;
  spdlog::info("[fuzz] seed {} executions {} out {}", options.seed,
               fmt::join(
                   [&] {
                     std::vector<std::string> names;
                     for (auto* e : options.findings.executions) names.push_back(e->name());
                     return names;
                   }(),
                   ","),
               options.findings.out_dir);

  // The loop's models are prepared ahead: models i+1..i+D (D = options.lookahead) are generated
  // and handed to the workers before model i's results are collected and judged, so that a
  // worker finds its next models waiting when it answers, and the fuzzer's own work
  // (generation, validation, ref, judging) overlaps the worker's runs. What model i+D is does
  // not depend on the results of the models before it: its seed is the next draw, and its focus
  // sees the coverage of models 0..i, counted as each model comes up for judging (account,
  // below). Every model prepared is judged, whatever stops the loop. A checkpoint taken while
  // judging model i counts models 0..i and keeps the focus of models i+1..i+D, so a resumed
  // instance prepares them as this one did. With a seed pool, a mutant's parent may be the
  // model just judged: no lookahead.
  const size_t depth = pool ? 0 : static_cast<size_t>(std::max(options.lookahead, 0));
  // Focus draws of the models a checkpoint left prepared ahead (a resumed instance).
  std::deque<std::string> resumed_focus(state.pending_focus.begin(), state.pending_focus.end());
  auto stopping = [&] {
    summary.seconds = base_seconds + std::chrono::duration<double>(Clock::now() - start).count();
    return g_stop || (options.iterations ? summary.models + static_cast<int64_t>(ahead.size()) >=
                                               *options.iterations
                                         : summary.seconds >= options.time_seconds);
  };
  // This iteration's model: generated from its seed, or (with --seeds) a mutant of a pool
  // entry, or a seed as it is (each once, first); its evaluation started unless it breaks a
  // rule (evaluate_invalid runs when it is judged).
  auto prepare = [&]() -> std::unique_ptr<Candidate> {
    auto c = std::make_unique<Candidate>();
    c->model_seed = master.next();
    // Its number in the campaign: the models before it are counted or prepared ahead.
    const int64_t number = summary.models + static_cast<int64_t>(ahead.size()) + 1;
    if (pool && next_seed < pool->seeds()) {
      const PoolEntry& entry = pool->entry(next_seed++);
      c->mutant = entry.mutant;
      c->chain = entry.chain;
    } else if (pool && Rng(c->model_seed ^ kMutateSalt).chance(options.mutate_ratio)) {
      Rng rng(c->model_seed);
      const PoolEntry& entry = pool->pick(rng);
      Mutant m = entry.mutant;
      auto steps = mutate(m, rng, mutate_options, dispatch);
      if (steps) {
        c->chain = entry.chain;
        c->chain.mode = options.mutate_mode;
        c->chain.steps.insert(c->chain.steps.end(), steps->begin(), steps->end());
        if (options.mutate_mode == MutateMode::kInvalid) {
          c->rule = find_mutator(steps->back().mutator)->rule;
        }
        c->mutant = std::move(m);
      } else {
        ++summary.mutation_failed;
      }
    }
    Validation validation = Validation::kFull;
    if (!c->mutant) {
      if (!resumed_focus.empty()) {
        auto focus = parse_focus(*generator, resumed_focus.front());
        if (focus) c->focus = std::move(*focus);
        resumed_focus.pop_front();
      } else if (guide) {
        Rng guide_rng(c->model_seed ^ kGuideSalt);
        c->focus = guide->draw(summary.coverage, guide_rng);
      }
      c->generated = generator->generate(c->model_seed, c->focus);
      if (options.full_validation_every > 1 && number % options.full_validation_every != 1) {
        validation = Validation::kCheckerOnly;
      }
    }
    if (c->rule.empty()) {
      c->in_flight = start_evaluation(c->model(), c->inputs(), options.findings.executions,
                                      options.findings.oracle, validation);
    }
    return c;
  };
  // What a prepared model adds to the campaign before it is judged: the model count and, for a
  // generated one, its coverage and the guide's record of its focus.
  auto account = [&](const Candidate& c) {
    ++summary.models;
    if (c.mutant) {
      ++summary.mutants;
      return;
    }
    summary.coverage.add(*c.generated);
    if (guide) guide->record(c.focus, summary.coverage);
  };
  // Judges a prepared model's evaluation: journal, cases, root causes, pool, statistics.
  auto judge = [&](Candidate& c) -> std::expected<void, std::string> {
    const uint64_t model_seed = c.model_seed;
    const std::optional<Mutant>& mutant = c.mutant;
    const Chain& chain = c.chain;
    const std::string& rule = c.rule;
    const std::vector<FocusTarget>& focus = c.focus;
    const onnx::ModelProto& model = c.model();
    const TensorMap& inputs = c.inputs();
    Evaluation eval = c.in_flight ? c.in_flight->finish()
                                  : evaluate_invalid(model, inputs, options.findings.executions, rule);
    int64_t fresh_coverage = 0;
    if (mutant && rule.empty()) fresh_coverage = summary.coverage.add(eval.valid ? eval.inferred : model);
    bool found_new = false;
    for (const auto& obs : eval.observations) summary.backend_seconds += obs.result.seconds;
    summary.executions += static_cast<int64_t>(eval.observations.size());
    for (const auto& skipped : eval.unsupported) {
      ++summary.unsupported[std::string(unsupported_kind_name(skipped.kind))];
    }
    if (no_execution_ran(eval)) ++summary.unsupported["no_execution_ran"];
    // A sample of the passing models' op n-grams (1 in ngram_sample_every), for triage's
    // operator-sequence analysis: enough for the ratios, and it bounds the time and memory the
    // counts take in a long campaign.
    if (eval.ran && eval.verdicts.empty() &&
        model_seed % static_cast<uint64_t>(std::max(1, options.ngram_sample_every)) == 0) {
      passing_ngrams.add(op_sequence(model.graph()));
    }
    if (!eval.valid && rule.empty() && mutant && chain.steps.empty()) {
      // A seed as given: not ours to be valid (real models can fail strict inference); it
      // is still run, and only crashes and hangs are drawn from it.
      ++summary.unsupported["invalid_seed"];
      spdlog::warn("[seeds] {} fails validation (only crashes and hangs count on it): {}",
                   chain.seed_path, eval.invalid_reason);
    } else if (!eval.valid && rule.empty()) {
      ++summary.invalid_models;
      if (mutant) {
        spdlog::error("[mutator] a valid-mode mutant is invalid ({}): {}",
                      chain_to_json(chain).dump(), eval.invalid_reason);
      } else {
        spdlog::error("[generator] seed {} produced an invalid model: {}", model_seed,
                      eval.invalid_reason);
      }
    }
    // Only verdicts use the chain's JSON (journal lines, stored cases): not built for a mutant
    // that passes, the common case on the per-model path.
    const nlohmann::json chain_json =
        mutant && !eval.verdicts.empty() ? chain_to_json(chain) : nlohmann::json();
    const std::optional<uint64_t> gen_seed =
        mutant ? std::nullopt : std::optional<uint64_t>(model_seed);
    for (const auto& verdict : eval.verdicts) {
      JournalEntry entry{model_seed, verdict, FindingOutcome::kDuplicate, "",
                         op_sequence(model.graph()), "", chain_json};
      // Every verdict leaves one journal line, whichever way this iteration ends.
      struct JournalLine {
        Journal& journal;
        const JournalEntry& entry;
        ~JournalLine() { journal.append(entry); }
      } journal_line{*journal, entry};
      const std::string key = verdict.key();
      const bool by_message = dedupes_by_message(verdict.kind);
      // A crash's stored case explains it (CrashCauses); a numeric or shape finding's faulty
      // node is its cause (budget_key_of), and when no node is faulty it is no finding.
      const CrashCauses::Cause* crash_cause =
          by_message ? nullptr : crash_causes.explain(verdict, model);
      const BudgetKey localized = by_message || crash_cause != nullptr
                                      ? BudgetKey{key, std::nullopt}
                                      : budget_key_of(verdict, model, inputs, options.findings);
      if (localized.propagated()) {
        ++summary.propagated;
        entry.outcome = FindingOutcome::kPropagated;
        continue;
      }
      ++summary.findings_by_kind[std::string(verdict_kind_name(verdict.kind))];
      if (by_message && known_keys.count(key)) {
        ++summary.known;
        entry.outcome = FindingOutcome::kKnown;
        continue;
      }
      // The minimization budget is per cause where the cause is known without minimizing: a
      // crash's stored case (CrashCauses), a numeric or shape finding's faulty node
      // (budget_key_of). Such findings share a few messages, so a budget per message would let
      // the first bugs of a campaign use it up and hide every later one as their duplicate.
      std::string budget_key = localized.key;
      if (crash_cause != nullptr && crash_cause->known) {
        ++summary.known;
        entry.outcome = FindingOutcome::kKnown;
        continue;
      }
      if (crash_cause != nullptr) {
        budget_key = crash_cause->budget_key;
        case_of_key.emplace(budget_key, crash_cause->case_id);
      }
      if (by_message ? seen_keys.count(key) > 0
                     : minimized_per_key[budget_key] >= (verdict.kind == VerdictKind::kHang
                                                             ? options.max_minimized_hangs_per_key
                                                             : options.max_minimized_per_key)) {
        if (auto it = case_of_key.find(budget_key); it != case_of_key.end())
          entry.case_id = it->second;
        entry.root_cause = root_causes.key_of(entry.case_id);
        continue;  // a duplicate by signature: not worth another minimization
      }
      ++minimized_per_key[budget_key];
      // A rule-breaking mutant is its own reproducer: the minimizer's contract (a valid model
      // that fails the same way) does not hold for it.
      const std::string focus_flag =
          focus.empty() ? "" : fmt::format(" --focus '{}'", focus_string(focus));  // '>' for a shell
      auto stored = rule.empty() ? store_finding(findings, model, inputs, verdict, gen_seed,
                                                 chain_json, focus_flag,
                                                 localized.localization
                                                     ? &*localized.localization
                                                     : nullptr)
                                 : store_finding(unminimized, model, inputs, verdict, gen_seed,
                                                 chain_json, focus_flag);
      if (!stored) return std::unexpected(stored.error());
      if (by_message) seen_keys.insert(key);
      if (!stored->flaky && !stored->known) {
        state.accounted_cases.insert(stored->record.id);
        crash_causes.add(stored->record, stored->record.id, false);
      }
      entry.case_id = stored->record.id;
      case_of_key.emplace(budget_key, stored->record.id);
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
      if (!stored->is_new) entry.root_cause = root_causes.key_of(stored->record.id);
      if (stored->is_new) {
        ++summary.signatures;
        // A new case of a root cause that has a case already is one more hit of that cause.
        if (auto cause = case_root_cause(stored->case_dir, localizer)) {
          entry.root_cause = cause->key;
          const std::string owner = root_causes.claim(cause->key, stored->record.id);
          if (owner != stored->record.id) {
            // One case per root cause, and the smallest reproducer of it: a new case with
            // fewer nodes (a consumer's error traced upstream, then the upstream node's own
            // finding) takes the stored one's place.
            const auto cases_dir = std::filesystem::path(stored->case_dir).parent_path();
            const auto owner_record = read_case_record((cases_dir / owner).string());
            const bool replaces =
                owner_record && stored->record.nodes_after < owner_record->nodes_after;
            const std::string dropped = replaces ? owner : stored->record.id;
            // Renamed out of cases/ first: a campaign killed meanwhile leaves a stale
            // temporary (removed on the next start), never a half-deleted case.
            std::error_code ec;
            const auto doomed = cases_dir / fmt::format(".tmp-{}-{}-drop", dropped, ::getpid());
            std::filesystem::rename(cases_dir / dropped, doomed, ec);
            std::filesystem::remove_all(ec ? cases_dir / dropped : doomed, ec);
            state.accounted_cases.erase(dropped);
            if (!replaces) {
              entry.case_id = owner;
              case_of_key[budget_key] = owner;
              spdlog::info("[finding] {} on {} ({}): root cause of {}, not stored",
                           verdict_kind_name(stored->record.kind), stored->record.execution,
                           fmt::join(stored->record.ops, ">"), owner);
              continue;
            }
            root_causes.replace(cause->key, stored->record.id);
            for (auto& [verdict_key, id] : case_of_key) {
              if (id == owner) id = stored->record.id;
            }
            entry.outcome = FindingOutcome::kNew;
            found_new = true;
            const std::string line = fmt::format(
                "{} on {}: {} ({} -> {} nodes), replacing {}", verdict_kind_name(stored->record.kind),
                stored->record.execution, fmt::join(stored->record.ops, ">"),
                stored->record.nodes_before, stored->record.nodes_after, owner);
            const auto listed = std::ranges::find(summary.new_cases, (cases_dir / owner).string());
            if (listed != summary.new_cases.end()) {
              const auto at = listed - summary.new_cases.begin();
              summary.new_cases.erase(listed);
              summary.new_case_lines.erase(summary.new_case_lines.begin() + at);
            }
            summary.new_cases.push_back(stored->case_dir);
            summary.new_case_lines.push_back(line);
            spdlog::info("[finding] {}: a smaller reproducer of the same root cause", line);
            continue;
          }
        }
        entry.outcome = FindingOutcome::kNew;
        found_new = true;
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
    if (mutant && rule.empty() && !chain.steps.empty() && (found_new || fresh_coverage > 0)) {
      auto added = pool->add(*mutant, chain);
      if (!added) return std::unexpected(added.error());
      if (*added) ++summary.pool_added;
    }
    if (pool) summary.pool_size = static_cast<int64_t>(pool->size());
    const auto now = Clock::now();
    summary.seconds = base_seconds + std::chrono::duration<double>(now - start).count();
    // The state is consistent between iterations: checkpoint right after a new case, and
    // once a second (when other instances' new cases are picked up too).
    if (found_new) checkpoint();
    // A row follows its checkpoint, so a resumed instance never goes back behind a row.
    const bool row_due = now - last_row >= std::chrono::duration<double>(options.stats_interval);
    if (row_due || now - last_checkpoint >= std::chrono::seconds(1)) {
      last_checkpoint = now;
      absorb_cases(true);
      checkpoint();
    }
    if (row_due) {
      last_row = now;
      csv->append(summary, static_cast<int64_t>(state.accounted_cases.size()));
    }
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
      (void)write_stats(instance_dir, summary, options.seed);
    }
    if (now - last_ngrams >= std::chrono::seconds(60)) {  // triage's sample: a minute is fresh enough
      last_ngrams = now;
      (void)passing_ngrams.save(instance_dir);
    }
    return {};
  };

  while (ahead.size() < std::max<size_t>(depth, 1) && !stopping()) ahead.push_back(prepare());
  while (!ahead.empty()) {
    std::unique_ptr<Candidate> current = std::move(ahead.front());
    ahead.pop_front();
    account(*current);
    if (depth > 0 && !stopping()) ahead.push_back(prepare());
    if (auto judged = judge(*current); !judged) return std::unexpected(judged.error());
    if (depth == 0 && !stopping()) ahead.push_back(prepare());
  }
  summary.seconds = base_seconds + std::chrono::duration<double>(Clock::now() - start).count();
  absorb_cases(true);
  checkpoint();
  csv->append(summary, static_cast<int64_t>(state.accounted_cases.size()));
  if (options.status_line) fmt::print(stderr, "\r\033[K");
  spdlog::info("[done] {}{}", status_text(summary), g_stop ? " (interrupted)" : "");
  (void)passing_ngrams.save(instance_dir);
  auto written = write_stats(instance_dir, summary, options.seed);
  if (!written) return std::unexpected(written.error());
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return std::move(summary);
}

}  // namespace onnxfuzz
