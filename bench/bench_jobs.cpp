// Bench: campaign throughput with --jobs 1 and --jobs 2 (models/s through the real CLI) and
// their ratio. Usage: bench_jobs [SECONDS=20] [EXECUTIONS=ref,ort] [MAX_JOBS=2]
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  const std::string seconds = argc > 1 ? argv[1] : "20";
  const std::string executions = argc > 2 ? argv[2] : "ref,ort";
  const int max_jobs = argc > 3 ? std::atoi(argv[3]) : 2;
  // bench_jobs lives in build/bench/, onnxfuzz in build/.
  const fs::path binary = fs::canonical("/proc/self/exe").parent_path().parent_path() / "onnxfuzz";
  fmt::print("executions {} | {} s per run | {} cores\n", executions, seconds,
             ::sysconf(_SC_NPROCESSORS_ONLN));
  fmt::print("{:>5} {:>9} {:>10} {:>8}\n", "jobs", "models", "models/s", "ratio");
  double base = 0;
  for (int jobs = 1; jobs <= max_jobs; ++jobs) {
    char pattern[] = "/tmp/bench-jobs-XXXXXX";
    const fs::path out = ::mkdtemp(pattern);
    // No minimization: the figure is the loop's throughput, not the time findings cost.
    const std::string command = fmt::format(
        "'{}' fuzz --jobs {} --time {} --seed 1 --executions {} --no-minimize --no-status "
        "--out '{}' >'{}/bench.log' 2>&1",
        binary.string(), jobs, seconds, executions, out.string(), out.string());
    const int status = std::system(command.c_str());
    std::ifstream in(out / "stats.json");
    if (!in) {
      fmt::print(stderr, "run failed ({}): see {}/bench.log\n", status, out.string());
      return 1;
    }
    const auto stats = nlohmann::json::parse(in);
    const int64_t models = stats["models"].get<int64_t>();
    // A lone process writes its own stats.json; a parallel campaign the merged one, whose
    // models_per_s adds up the jobs' rates.
    const double rate = stats.contains("models_per_s")
                            ? stats["models_per_s"].get<double>()
                            : models / std::max(1e-9, stats["seconds"].get<double>());
    if (jobs == 1) base = rate;
    fmt::print("{:>5} {:>9} {:>10.1f} {:>7.2f}x\n", jobs, models, rate, base > 0 ? rate / base : 0);
    std::error_code ec;
    fs::remove_all(out, ec);
  }
  return 0;
}
