// Bench: campaign throughput with --jobs 1, 2, ... through the real CLI, their ratio to one job,
// and the CPU each model costs.
//
// Usage: bench_jobs [SECONDS=20] [EXECUTIONS=ref,ort] [MAX_JOBS=2] [ROUNDS=3]
//
// A cold pass (--jobs MAX_JOBS, SECONDS) stores the findings a campaign meets in its first
// minute. Each round then runs every job count for SECONDS on a fresh output directory with
// --known COLD and the round's own seed, in alternating order: the steady state of a long
// campaign, where a new case (and the reports, optimizer attribution and worker restarts it
// costs) is rare. Models/s come from the campaign's stats.json; CPU from the children's rusage
// (the fuzzing processes and their workers). "cores" is CPU seconds over wall seconds: one job
// already uses more than one core (its worker, and the fuzzer preparing the next model on the
// other core), which bounds the ratio on a machine with that many cores.
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

double children_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Run {
  int64_t models = 0;
  double rate = 0;      // models/s
  double cpu = 0;       // CPU seconds of the whole campaign
  double wall = 0;      // wall seconds of the whole command
};

// One campaign through the CLI; nullopt (after saying why) when it left no stats.json.
std::optional<Run> run_campaign(const fs::path& binary, int jobs, const std::string& seconds,
                                const std::string& executions, int seed, const std::string& known) {
  char pattern[] = "/tmp/bench-jobs-XXXXXX";
  const fs::path out = ::mkdtemp(pattern);
  // No minimization: the figure is the loop's throughput, not the time findings cost.
  const std::string command = fmt::format(
      "'{}' fuzz --jobs {} --time {} --seed {} --executions {} --no-minimize --no-status {} "
      "--out '{}' >'{}/bench.log' 2>&1",
      binary.string(), jobs, seconds, seed, executions,
      known.empty() ? "" : fmt::format("--known '{}'", known), out.string(), out.string());
  const double cpu_before = children_cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  const int status = std::system(command.c_str());
  Run run;
  run.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.cpu = children_cpu_seconds() - cpu_before;
  std::ifstream in(out / "stats.json");
  if (!in) {
    fmt::print(stderr, "run failed ({}): see {}/bench.log\n", status, out.string());
    return std::nullopt;
  }
  const auto stats = nlohmann::json::parse(in);
  run.models = stats["models"].get<int64_t>();
  // A lone process writes its own stats.json; a parallel campaign the merged one, whose
  // models_per_s adds up the jobs' rates.
  run.rate = stats.contains("models_per_s")
                 ? stats["models_per_s"].get<double>()
                 : run.models / std::max(1e-9, stats["seconds"].get<double>());
  std::error_code ec;
  fs::remove_all(out, ec);
  return run;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n == 0 ? 0 : n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string seconds = argc > 1 ? argv[1] : "20";
  const std::string executions = argc > 2 ? argv[2] : "ref,ort";
  const int max_jobs = argc > 3 ? std::atoi(argv[3]) : 2;
  const int rounds = argc > 4 ? std::atoi(argv[4]) : 3;
  if (max_jobs < 1 || rounds < 1) {
    fmt::print(stderr, "usage: bench_jobs [SECONDS=20] [EXECUTIONS=ref,ort] [MAX_JOBS=2] [ROUNDS=3]\n");
    return 2;
  }
  // bench_jobs lives in build/bench/, onnxfuzz in build/.
  const fs::path binary = fs::canonical("/proc/self/exe").parent_path().parent_path() / "onnxfuzz";
  fmt::print("executions {} | {} s per run | {} cores | {} rounds\n", executions, seconds,
             ::sysconf(_SC_NPROCESSORS_ONLN), rounds);

  char pattern[] = "/tmp/bench-jobs-cold-XXXXXX";
  const fs::path cold = ::mkdtemp(pattern);
  {
    const std::string command = fmt::format(
        "'{}' fuzz --jobs {} --time {} --seed 1 --executions {} --no-minimize --no-status "
        "--out '{}/out' >'{}/bench.log' 2>&1",
        binary.string(), max_jobs, seconds, executions, cold.string(), cold.string());
    const int status = std::system(command.c_str());
    std::ifstream in(cold / "out" / "stats.json");
    if (!in) {
      fmt::print(stderr, "cold pass failed ({}): see {}/bench.log\n", status, cold.string());
      return 1;
    }
    const auto stats = nlohmann::json::parse(in);
    fmt::print("cold pass (--jobs {}, fresh output: the findings of a campaign's start): {} "
               "models, {:.1f} models/s\n",
               max_jobs, stats["models"].get<int64_t>(),
               stats.value("models_per_s", stats["models"].get<double>() /
                                               std::max(1e-9, stats["seconds"].get<double>())));
  }
  const std::string known = (cold / "out").string();

  fmt::print("{:>5} {:>5} {:>9} {:>10} {:>8} {:>12} {:>6}\n", "round", "jobs", "models",
             "models/s", "ratio", "CPU ms/model", "cores");
  std::map<int, std::vector<double>> ratios, cpu_per_model;
  for (int round = 1; round <= rounds; ++round) {
    std::map<int, Run> runs;
    for (int k = 0; k < max_jobs; ++k) {
      const int jobs = round % 2 ? k + 1 : max_jobs - k;  // 1..N in odd rounds, N..1 in even
      auto run = run_campaign(binary, jobs, seconds, executions, 100 + round, known);
      if (!run) return 1;
      runs[jobs] = *run;
    }
    for (const auto& [jobs, run] : runs) {
      const double ratio = run.rate / std::max(1e-9, runs[1].rate);
      const double ms = 1000 * run.cpu / std::max<int64_t>(1, run.models);
      ratios[jobs].push_back(ratio);
      cpu_per_model[jobs].push_back(ms);
      fmt::print("{:>5} {:>5} {:>9} {:>10.1f} {:>7.2f}x {:>12.3f} {:>6.2f}\n", round, jobs,
                 run.models, run.rate, ratio, ms, run.cpu / std::max(1e-9, run.wall));
    }
  }
  for (const auto& [jobs, values] : ratios) {
    fmt::print("median --jobs {}: {:.2f}x of --jobs 1, {:.3f} CPU ms/model\n", jobs,
               median(values), median(cpu_per_model[jobs]));
  }
  std::error_code ec;
  fs::remove_all(cold, ec);
  return 0;
}
