// Bench: the campaign's models/s with `ref,ort` against the bare ONNX Runtime loop on the same
// models (bench/bare_ort_loop.mjs: only session create + run + release per model, in one Node
// process), and their ratio: how close the fuzz loop comes to the backend's own limit.
//
// Usage: bench_throughput [--count N=2000] [--seed S=1] [--rounds R=5] [--max-nodes K=10]
//                         [--executions ref,ort] [--lookahead D=4] [--keep DIR]
//
// The campaign is run_campaign itself (the loop of `onnxfuzz fuzz`, without minimization, as
// bench_jobs) for N iterations of seed S under the default policy (10 nodes at most, no pair
// ORT is documented not to run):
//   1. a first pass on a fresh output directory stores the findings (printed as `cold`);
//   2. a recording pass on that directory keeps every model and input the campaign sends to
//      `ort`, in order, and writes them to DIR/models.bin, which the bare loop reads into
//      memory before its clock starts: the same models, whatever the campaign's generator does;
//   3. each round runs the bare loop, the campaign with its executions one after the other
//      (`serial`: the loop without pipelining, each worker run waited for in turn, as it ran
//      before the worker's requests were pipelined) and the campaign as it runs, back to back,
//      so that all three see about the same load on a shared machine (the bare loop first in
//      odd rounds, last in even ones); the ratios of each round, their median, and those of
//      the totals are printed;
//   4. in each round too, the worker alone: the recorded requests sent to a fresh `ort` worker
//      through WorkerProcess, pipelined, with nothing else to do (`worker/s`): the ceiling of
//      any fuzz loop with this worker; between it and the bare loop is the worker's protocol
//      (decoding inputs, encoding outputs, the pipes), between it and the campaign the loop.
// Passes 2 and 3 run on the directory of pass 1 with no minimization budget left: every
// finding is known, so they time the loop of a long campaign's steady state (no case stored).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <deque>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ranges>
#include <string>
#include <vector>

#include "fuzzer/campaign.h"
#include "fuzzer/evaluation.h"
#include "generators/generator.h"
#include "generators/rng.h"
#include "oracles/backend_gaps.h"
#include "oracles/execution.h"
#include "oracles/worker_execution.h"
#include "oracles/worker_paths.h"
#include "oracles/worker_process.h"
#include "oracles/worker_protocol.h"

using namespace onnxfuzz;
namespace fs = std::filesystem;

namespace {

template <class T>
void put(std::string& out, T value) {
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.append(raw, sizeof(T));
}

// Forwards to `inner`. serial: never out of process, so that evaluate_model runs it in turn on
// the calling thread and waits for it, as it ran every execution before pipelining. record:
// keeps every model run, in the order sent, with its inputs and whether it crashed or hung the
// worker.
class Wrapped final : public Execution {
 public:
  struct Run {
    std::string model;
    TensorMap inputs;
    bool fatal = false;
  };
  Wrapped(Execution& inner, bool serial, bool record)
      : inner_(inner), serial_(serial), record_(record) {}
  const std::string& name() const override { return inner_.name(); }
  std::string version() override { return inner_.version(); }
  std::expected<void, std::string> check_ready() override { return inner_.check_ready(); }
  CarriedDtypes carried_dtypes() override { return inner_.carried_dtypes(); }
  bool runs_out_of_process() const override { return !serial_ && inner_.runs_out_of_process(); }
  RunResult run(const ModelUnderTest& model, const TensorMap& inputs) override {
    return collect(submit(model, inputs));
  }
  Ticket submit(const ModelUnderTest& model, const TensorMap& inputs) override {
    const Ticket ticket = inner_.submit(model, inputs);
    // A finding's check that it fails again runs the same model once more: kept once.
    if (record_ && (runs.empty() || runs.back().model != model.bytes)) {
      recorded_[ticket] = runs.size();
      runs.push_back({model.bytes, inputs, false});
    }
    return ticket;
  }
  RunResult collect(Ticket ticket) override {
    RunResult result = inner_.collect(ticket);
    if (auto it = recorded_.find(ticket); it != recorded_.end()) {
      runs[it->second].fatal =
          result.status == RunStatus::kCrash || result.status == RunStatus::kTimeout;
      recorded_.erase(it);
    }
    return result;
  }
  std::vector<Run> runs;

 private:
  std::map<Ticket, size_t> recorded_;  // submitted, not collected: index in runs
  Execution& inner_;
  bool serial_, record_;
};

// The format bench/bare_ort_loop.mjs reads (documented there). Returns the models that crashed
// or hung the worker.
std::expected<int, std::string> write_models(const std::string& path, int64_t unsent,
                                             const std::vector<Wrapped::Run>& runs) {
  std::string out;
  put<uint32_t>(out, static_cast<uint32_t>(unsent));
  put<uint32_t>(out, static_cast<uint32_t>(runs.size()));
  int fatal = 0;
  for (const auto& run : runs) {
    fatal += run.fatal;
    put<uint32_t>(out, run.fatal ? 1 : 0);
    // The worker's run request after its kind: the model and the input tensor records.
    out.append(encode_run_request(run.model, run.inputs), sizeof(uint32_t), std::string::npos);
  }
  std::ofstream file(path, std::ios::binary);
  file.write(out.data(), static_cast<std::streamsize>(out.size()));
  if (!file) return std::unexpected(fmt::format("cannot write {}", path));
  return fatal;
}

struct Rate {
  int64_t models = 0;
  double seconds = 0;
  double per_second() const { return seconds > 0 ? models / seconds : 0; }
};

std::expected<Rate, std::string> bare_loop(const std::string& models_file) {
  auto root = find_project_root();
  if (!root) return std::unexpected(root.error());
  // ORT's error lines go where the worker's go (a file the fuzzer reads on a crash): away.
  const std::string command =
      fmt::format("node '{}' '{}' --json 2>/dev/null",
                  (fs::path(*root) / "bench" / "bare_ort_loop.mjs").string(), models_file);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return std::unexpected("cannot start node");
  std::string output;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0) return std::unexpected(fmt::format("bare loop failed ({}): {}", status, output));
  try {
    const auto j = nlohmann::json::parse(output);
    return Rate{j.at("models").get<int64_t>(), j.at("seconds").get<double>()};
  } catch (const nlohmann::json::exception& e) {
    return std::unexpected(fmt::format("bare loop output: {}: {}", e.what(), output));
  }
}

std::expected<Rate, std::string> campaign(const CampaignOptions& options) {
  auto summary = run_campaign(options);
  if (!summary) return std::unexpected(summary.error());
  return Rate{summary->models, summary->seconds};
}

// The worker alone (step 4): every recorded run's request through a WorkerProcess of `command`,
// up to kWindow outstanding. Runs that crashed or hung the worker in the campaign are skipped
// and, with the models not sent, count as processed at no cost, as in the bare loop.
std::expected<Rate, std::string> worker_alone(const WorkerCommand& command, int64_t unsent,
                                              const std::vector<Wrapped::Run>& runs) {
  constexpr size_t kWindow = 8;
  std::vector<std::string> requests;
  for (const auto& run : runs) {
    if (!run.fatal) requests.push_back(encode_run_request(run.model, run.inputs));
  }
  WorkerProcess worker(command, ExecutionOptions{}.memory_limit_mb);
  WorkerRequest version;
  version.kind = kRequestVersion;
  if (auto ready = worker.call(encode_request(version), 60);
      ready.outcome != CallOutcome::kResponse) {
    return std::unexpected(fmt::format("worker: {}", ready.message));
  }
  const auto start = std::chrono::steady_clock::now();
  std::deque<WorkerProcess::Ticket> outstanding;
  int64_t failed = 0;
  auto receive_oldest = [&] {
    failed += worker.receive(outstanding.front()).outcome != CallOutcome::kResponse;
    outstanding.pop_front();
  };
  for (const std::string& request : requests) {
    outstanding.push_back(worker.send(request, 60));
    if (outstanding.size() >= kWindow) receive_oldest();
  }
  while (!outstanding.empty()) receive_oldest();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed > 0) return std::unexpected(fmt::format("worker: {} requests not answered", failed));
  return Rate{unsent + static_cast<int64_t>(runs.size()), seconds};
}

int usage() {
  fmt::print(stderr,
             "usage: bench_throughput [--count N] [--seed S] [--rounds R] [--max-nodes K] "
             "[--executions LIST] [--lookahead D] [--keep DIR]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int count = 2000;
  uint64_t seed = 1;
  int rounds = 5;
  int max_nodes = GenPolicy{}.max_nodes;
  std::string executions_list = "ref,ort";
  int lookahead = CampaignOptions{}.lookahead;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string value = argv[++i];
    if (arg == "--count")
      count = std::stoi(value);
    else if (arg == "--seed")
      seed = std::stoull(value);
    else if (arg == "--rounds")
      rounds = std::stoi(value);
    else if (arg == "--max-nodes")
      max_nodes = std::stoi(value);
    else if (arg == "--executions")
      executions_list = value;
    else if (arg == "--lookahead")
      lookahead = std::stoi(value);
    else if (arg == "--keep")
      keep = value;
    else
      return usage();
  }
  spdlog::set_level(spdlog::level::warn);

  std::vector<std::unique_ptr<Execution>> owned;
  std::vector<Execution*> executions;
  std::vector<std::unique_ptr<Wrapped>> wrapped;
  std::vector<Execution*> serial, recording;
  Wrapped* recorder = nullptr;
  const WorkerProcess* ort_worker = nullptr;
  for (size_t start = 0; start <= executions_list.size();) {
    const size_t comma = executions_list.find(',', start);
    const std::string name = executions_list.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    auto e = make_execution(name, ExecutionOptions{});
    if (!e) {
      fmt::print(stderr, "{}: {}\n", name, e.error());
      return 1;
    }
    if (auto ready = (*e)->check_ready(); !ready) {
      fmt::print(stderr, "{}\n", ready.error());
      return 1;
    }
    executions.push_back(e->get());
    wrapped.push_back(std::make_unique<Wrapped>(**e, true, false));
    serial.push_back(wrapped.back().get());
    wrapped.push_back(std::make_unique<Wrapped>(**e, false, name == "ort"));
    recording.push_back(wrapped.back().get());
    if (name == "ort") {
      recorder = wrapped.back().get();
      ort_worker = &dynamic_cast<WorkerExecution&>(**e).process();
    }
    owned.push_back(std::move(*e));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (recorder == nullptr) {
    fmt::print(stderr, "--executions must include ort: the bare loop runs what it ran\n");
    return 2;
  }

  char pattern[] = "/tmp/bench-throughput-XXXXXX";
  const fs::path dir = keep.empty() ? fs::path(::mkdtemp(pattern)) : fs::path(keep);
  fs::create_directories(dir);
  auto cleanup = [&] {
    std::error_code ec;
    if (keep.empty()) fs::remove_all(dir, ec);
  };
  CampaignOptions options;
  options.policy.max_nodes = max_nodes;
  // As `fuzz` does by default: no pair ORT is documented not to run.
  options.policy.avoid_pairs = documented_gaps(std::vector<std::string>{"ref", "ort"});
  options.seed = seed;
  options.iterations = count;
  options.lookahead = lookahead;
  options.findings.out_dir = (dir / "out").string();
  options.findings.executions = executions;
  options.findings.minimize_enabled = false;
  options.findings.generator_flags = fmt::format(" --max-nodes {}", max_nodes);
  auto cold = campaign(options);
  // From here on every finding is known: no budget to store another.
  options.max_minimized_per_key = 0;
  options.max_minimized_hangs_per_key = 0;
  CampaignOptions recording_options = options;
  recording_options.findings.executions = recording;
  auto recorded = cold ? campaign(recording_options) : cold;
  if (!recorded) {
    fmt::print(stderr, "campaign: {}\n", recorded.error());
    cleanup();
    return 1;
  }
  const std::string models_file = (dir / "models.bin").string();
  const int64_t unsent = recorded->models - static_cast<int64_t>(recorder->runs.size());
  auto fatal = write_models(models_file, unsent, recorder->runs);
  if (!fatal) {
    fmt::print(stderr, "{}\n", fatal.error());
    cleanup();
    return 1;
  }
  const std::vector<Wrapped::Run> recorded_runs = std::move(recorder->runs);
  recorder->runs.clear();
  CampaignOptions serial_options = options;
  serial_options.findings.executions = serial;

  fmt::print(
      "{} models (seed {}, default policy, max {} nodes), campaign --executions {} without "
      "minimization; {} of them not sent to ort (a dtype it cannot carry) and {} that crash "
      "or hang it count as processed at no cost in the bare loop; {} cores\n",
      count, seed, max_nodes, executions_list, unsent, *fatal, ::sysconf(_SC_NPROCESSORS_ONLN));
  fmt::print("{:<6} {:>8} {:>8} {:>6} {:>10} {:>6} {:>8} {:>6}\n", "round", "bare/s", "serial/s",
             "ratio", "campaign/s", "ratio", "worker/s", "ratio");
  fmt::print("{:<6} {:>8} {:>8} {:>6} {:>10.1f}   (first pass: stores the findings)\n", "cold", "",
             "", "", cold->per_second());
  Rate bare_total, serial_total, campaign_total, worker_total;
  auto add = [](Rate& total, const Rate& r) {
    total.models += r.models;
    total.seconds += r.seconds;
  };
  auto line = [](const std::string& label, const Rate& bare, const Rate& before, const Rate& after,
                 const Rate& worker) {
    auto pct = [&](const Rate& r) { return 100 * r.per_second() / bare.per_second(); };
    fmt::print("{:<6} {:>8.1f} {:>8.1f} {:>5.1f}% {:>10.1f} {:>5.1f}% {:>8.1f} {:>5.1f}%\n", label,
               bare.per_second(), before.per_second(), pct(before), after.per_second(), pct(after),
               worker.per_second(), pct(worker));
    std::fflush(stdout);
  };
  std::vector<double> serial_ratios, campaign_ratios, worker_ratios;
  std::vector<double> idle;  // per round: the share of the campaign's time its ort worker idled
  for (int round = 1; round <= rounds; ++round) {
    // Odd rounds run the bare loop first, even rounds last: a trend in the machine's load
    // favours neither side.
    std::expected<Rate, std::string> bare = Rate{}, before = Rate{}, after = Rate{},
                                     worker = Rate{};
    if (round % 2 == 1) bare = bare_loop(models_file);
    if (bare) before = campaign(serial_options);
    const double idle_before = ort_worker->idle_seconds();
    if (bare && before) after = campaign(options);
    if (after) idle.push_back((ort_worker->idle_seconds() - idle_before) / after->seconds);
    if (bare && before && after) worker = worker_alone(ort_worker->command(), unsent, recorded_runs);
    if (round % 2 == 0 && before && after && worker) bare = bare_loop(models_file);
    if (!bare || !before || !after || !worker) {
      fmt::print(stderr, "{}\n",
                 !bare ? bare.error()
                       : !before ? before.error() : !after ? after.error() : worker.error());
      cleanup();
      return 1;
    }
    line(std::to_string(round), *bare, *before, *after, *worker);
    add(bare_total, *bare);
    add(serial_total, *before);
    add(campaign_total, *after);
    add(worker_total, *worker);
    serial_ratios.push_back(before->per_second() / bare->per_second());
    campaign_ratios.push_back(after->per_second() / bare->per_second());
    worker_ratios.push_back(worker->per_second() / bare->per_second());
  }
  line("all", bare_total, serial_total, campaign_total, worker_total);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  fmt::print("{:<6} {:>8} {:>8} {:>5.1f}% {:>10} {:>5.1f}% {:>8} {:>5.1f}%\n", "median", "", "",
             100 * median(serial_ratios), "", 100 * median(campaign_ratios), "",
             100 * median(worker_ratios));
  fmt::print("the campaign's ort worker idle (no request handed to it), per round: {:.1f}%\n",
             fmt::join(idle | std::views::transform([](double x) { return 100 * x; }), "%, "));
  fmt::print(
      "\nbare/s: bench/bare_ort_loop.mjs on {}, session create + run + release per model and "
      "nothing else; serial/s: the campaign without pipelining, each worker run waited for in "
      "turn; campaign/s: the campaign as it runs; worker/s: the ort worker alone, fed the "
      "recorded requests pipelined; ratio: models/s over the bare loop's.\n",
      models_file);
  cleanup();
  return 0;
}
