// The campaign engine through the real CLI with planted faults: parallel jobs deduplicate
// findings, stats.csv and status, kill -9 and --resume, merge keeps the smallest reproducer.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "fuzzer/jobs.h"
#include "generators/model_io.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

using testing::run_onnxfuzz;
using testing::TempDir;
namespace fs = std::filesystem;

nlohmann::json read_json(const fs::path& path) {
  return nlohmann::json::parse(testing::read_file(path));
}

// Case ids in OUT/cases/ (temporaries skipped), each checked to be complete.
std::set<std::string> complete_cases(const fs::path& out) {
  std::set<std::string> ids;
  if (!fs::exists(out / "cases")) return ids;
  for (const auto& entry : fs::directory_iterator(out / "cases")) {
    const std::string id = entry.path().filename().string();
    if (id[0] == '.') continue;
    SCOPED_TRACE(id);
    EXPECT_TRUE(fs::exists(entry.path() / "case.json"));
    EXPECT_TRUE(fs::exists(entry.path() / "report.md"));
    EXPECT_TRUE(fs::exists(entry.path() / "test_data_set_0" / "output_0.pb"));
    EXPECT_NO_THROW(read_json(entry.path() / "case.json"));
    EXPECT_TRUE(load_model((entry.path() / "model.onnx").string()));
    EXPECT_TRUE(load_model((entry.path() / "original.onnx").string()));
    ids.insert(id);
  }
  return ids;
}

std::map<std::string, int> signatures(const fs::path& out) {
  std::map<std::string, int> count;
  for (const auto& id : complete_cases(out))
    ++count[read_json(out / "cases" / id / "case.json")["signature"].get<std::string>()];
  return count;
}

// Every line has the header's field count and numbers only; elapsed and models never go down.
void expect_well_formed_csv(const fs::path& csv, int64_t final_models) {
  std::istringstream in(testing::read_file(csv));
  std::string header;
  ASSERT_TRUE(std::getline(in, header));
  EXPECT_EQ(header.rfind("elapsed_s,models,models_per_s,executions_per_s", 0), 0u) << header;
  const auto fields = std::count(header.begin(), header.end(), ',') + 1;
  double last_elapsed = -1;
  int64_t last_models = -1;
  int rows = 0;
  for (std::string line; std::getline(in, line);) {
    SCOPED_TRACE(line);
    ASSERT_EQ(std::count(line.begin(), line.end(), ',') + 1, fields);
    std::istringstream cells(line);
    std::vector<double> values;
    for (std::string cell; std::getline(cells, cell, ',');) {
      size_t used = 0;
      values.push_back(std::stod(cell, &used));
      EXPECT_EQ(used, cell.size());
    }
    EXPECT_GE(values[0], last_elapsed);
    EXPECT_GE(static_cast<int64_t>(values[1]), last_models);
    last_elapsed = values[0];
    last_models = static_cast<int64_t>(values[1]);
    ++rows;
  }
  EXPECT_GE(rows, 1);
  EXPECT_EQ(last_models, final_models);
}

constexpr const char* kCrashCampaign =
    "fuzz --jobs 1 --max-nodes 6 --executions ref,planted --ops Sigmoid,Relu,Add,Neg --no-status";

TEST(Jobs, SameFaultFoundByBothJobsIsOneCase) {
  TempDir out;
  auto result = run_onnxfuzz(fmt::format("{} --jobs 2 --iterations 16 --seed 3 --stats-interval "
                                         "0.2 --out {}",
                                         kCrashCampaign, out.str()));
  ASSERT_EQ(result.exit_code, 1) << result.output;
  int64_t models = 0, crash_verdicts = 0;
  std::set<std::string> cases_named;
  for (int job = 0; job < 2; ++job) {
    SCOPED_TRACE(job);
    const fs::path dir = out.path() / fmt::format("job-{}", job);
    const auto state = read_json(dir / "state.json");
    const auto stats = read_json(dir / "stats.json");
    EXPECT_EQ(state["models"], 8);  // --iterations is split among the jobs
    EXPECT_EQ(stats["models"], 8);
    // Each job hit the planted Sigmoid crash itself.
    ASSERT_GE(state["findings_by_kind"].value("crash", 0), 1) << state.dump(2);
    models += state["models"].get<int64_t>();
    crash_verdicts += state["findings_by_kind"]["crash"].get<int64_t>();
    expect_well_formed_csv(dir / "stats.csv", 8);
    std::istringstream journal(testing::read_file(dir / "findings.jsonl"));
    for (std::string line; std::getline(journal, line);) {
      const auto entry = nlohmann::json::parse(line);
      if (entry["kind"] == "crash" && entry["case"].is_string()) cases_named.insert(entry["case"]);
    }
  }
  EXPECT_EQ(models, 16);
  EXPECT_GE(crash_verdicts, 2);
  // One crash case, which both jobs' journals name.
  int crash_cases = 0;
  for (const auto& id : complete_cases(out.path())) {
    crash_cases += read_json(out.path() / "cases" / id / "case.json")["kind"] == "crash";
  }
  EXPECT_EQ(crash_cases, 1);
  EXPECT_EQ(cases_named.size(), 1u);
  for (const auto& [signature, n] : signatures(out.path())) EXPECT_EQ(n, 1) << signature;
  // The parent's merged stats.json and status agree with the instances.
  const auto merged = read_json(out.path() / "stats.json");
  EXPECT_EQ(merged["models"], 16);
  EXPECT_EQ(merged["unique"].get<int64_t>(), merged["cases"].get<int64_t>());
  auto status = run_onnxfuzz("status " + out.str());
  ASSERT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("instances 2 (0 alive) | models 16"), std::string::npos)
      << status.output;
  EXPECT_NE(status.output.find("job-1"), std::string::npos);
  EXPECT_NE(status.output.find("stopped"), std::string::npos);
  auto json = run_onnxfuzz("status --json " + out.str());
  ASSERT_EQ(json.exit_code, 0);
  const auto j = nlohmann::json::parse(json.output);
  EXPECT_EQ(j["models"], 16);
  EXPECT_EQ(j["per_instance"].size(), 2u);
  EXPECT_EQ(j["cases"], static_cast<int64_t>(complete_cases(out.path()).size()));
  // plot: PNGs from both jobs' stats.csv, or a clear environment error without gnuplot.
  auto plot = run_onnxfuzz("plot " + out.str());
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    ASSERT_EQ(plot.exit_code, 0) << plot.output;
    for (const char* png : {"findings.png", "coverage.png", "throughput.png", "rss.png"}) {
      EXPECT_GT(fs::file_size(out.path() / "plots" / png), 0u) << png;
    }
  } else {
    EXPECT_EQ(plot.exit_code, 4) << plot.output;
    EXPECT_NE(plot.output.find("gnuplot not found"), std::string::npos) << plot.output;
  }
}

// Without --jobs a campaign runs one job per usable core (a lone instance on a one-core machine).
TEST(Jobs, DefaultIsOneJobPerCore) {
  TempDir out;
  auto result = run_onnxfuzz("fuzz --iterations 8 --seed 4 --max-nodes 3 --executions ref "
                             "--ops Relu,Neg --no-status --out " + out.str());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const unsigned cores = static_cast<unsigned>(usable_cores());
  ASSERT_GE(cores, 1u);
  ASSERT_LE(cores, std::max(1u, std::thread::hardware_concurrency()));
  const auto stats = nlohmann::json::parse(testing::read_file(out.path() / "stats.json"));
  EXPECT_EQ(stats["models"], 8);
  if (cores == 1) {
    EXPECT_FALSE(std::filesystem::exists(out.path() / "job-0"));
    return;
  }
  for (unsigned job = 0; job < cores; ++job) {
    EXPECT_TRUE(std::filesystem::exists(out.path() / fmt::format("job-{}", job) / "stats.json"))
        << job;
  }
  EXPECT_FALSE(std::filesystem::exists(out.path() / fmt::format("job-{}", cores)));
}

// Out-of-scope runs are shown with their share of the models, and past a tenth (gaps and
// uncarried dtypes) with the way to draw only what the backend runs; limits alone do not ask.
TEST(Jobs, SkippedRunsAreShownWithTheirShareAndTheWayOut) {
  EXPECT_EQ(skipped_runs_text({}, 100), "");
  const std::string many = skipped_runs_text({{"backend_gap", 23}, {"unsupported_dtype", 10}}, 100);
  EXPECT_NE(many.find("backend_gap 23 (23.0%), unsupported_dtype 10 (10.0%)"), std::string::npos)
      << many;
  EXPECT_NE(many.find("fuzz --target"), std::string::npos) << many;
  const std::string few = skipped_runs_text({{"backend_gap", 5}, {"resource_limit", 40}}, 100);
  EXPECT_NE(few.find("resource_limit 40 (40.0%)"), std::string::npos) << few;
  EXPECT_EQ(few.find("fuzz --target"), std::string::npos) << few;
}

TEST(Jobs, BadArgumentsGetClearErrors) {
  TempDir dir;
  fs::create_directories(dir.path() / "not-a-campaign");
  struct Row {
    std::string args;
    int exit_code;
    const char* message;
  };
  const std::vector<Row> rows = {
      {"fuzz --jobs 0 --iterations 1 --out " + dir.str("o"), 2, "--jobs"},
      {"fuzz --jobs two --iterations 1 --out " + dir.str("o"), 2, "--jobs"},
      {"fuzz --jobs 1 --shard 2/2 --iterations 1 --out " + dir.str("o"), 2, "--shard"},
      {"fuzz --jobs 1 --shard 1 --iterations 1 --out " + dir.str("o"), 2, "--shard"},
      {"fuzz --jobs 1 --stats-interval 0 --iterations 1 --out " + dir.str("o"), 2, "--stats-interval"},
      {"fuzz --jobs 1 --spare-worker maybe --iterations 1 --out " + dir.str("o"), 2, "--spare-worker"},
      {"fuzz --jobs 1 --lookahead -1 --iterations 1 --out " + dir.str("o"), 2, "--lookahead"},
      {"fuzz --jobs 1 --lookahead many --iterations 1 --out " + dir.str("o"), 2, "--lookahead"},
      {"fuzz --resume --out " + dir.str("not-a-campaign"), 3, "not a campaign"},
      {"fuzz --resume --out " + dir.str("missing"), 3, "not a campaign"},
      {"fuzz --jobs 2 --iterations 1 --executions ref --out /proc/onnxfuzz-out", 4, "output directory"},
      {"status " + dir.str("not-a-campaign"), 3, "not a campaign"},
      {"merge " + dir.str("not-a-campaign"), 2, "--into"},
      {"merge " + dir.str("missing") + " --into " + dir.str("m"), 3, "no such directory"},
      {"plot " + dir.str("not-a-campaign"), 3, "not a campaign"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.args);
    auto result = run_onnxfuzz(row.args);
    EXPECT_EQ(result.exit_code, row.exit_code) << result.output;
    EXPECT_NE(result.output.find(row.message), std::string::npos) << result.output;
  }
}

// Starts `onnxfuzz ARGS` in its own process group, output to `log`.
pid_t spawn_onnxfuzz(const std::string& args, const fs::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    const std::string command =
        fmt::format("exec {} {} >>'{}' 2>&1", ONNXFUZZ_BINARY, args, log.string());
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  return pid;
}

// (model seed, op sequence) of every model findings.jsonl lists: which models a campaign ran
// (all of them here, nearly: most models hold a planted fault). A line a kill cut short is
// skipped.
std::set<std::string> journal_models(const fs::path& out) {
  std::set<std::string> models;
  std::istringstream journal(testing::read_file(out / "findings.jsonl"));
  for (std::string line; std::getline(journal, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("model_seed")) continue;
    models.insert(fmt::format("{} {}", j["model_seed"].get<uint64_t>(), fmt::join(j["model_ops"], ">")));
  }
  return models;
}

// kill -9 at random moments, then --resume: every case stays complete, the counters carry
// over, the seed stream continues where it stopped (a lone instance ends with the very cases
// and models of an uninterrupted run: the models prepared ahead of a checkpoint are prepared
// again with their focus draws) and no signature is stored twice.
TEST(Resume, KillNineAtRandomMomentsThenResume) {
  const std::string campaign =
      "fuzz --jobs 1 --iterations 30 --seed 7 --max-nodes 6 --executions ref,planted "
      "--ops Sigmoid,Sqrt,Transpose,Relu,Add,Neg --no-status --stats-interval 0.1";
  TempDir reference;
  const auto full = run_onnxfuzz(campaign + " --out " + reference.str());
  ASSERT_EQ(full.exit_code, 1) << full.output;
  const std::set<std::string> expected = complete_cases(reference.path());
  ASSERT_GE(expected.size(), 2u);
  const std::set<std::string> expected_models = journal_models(reference.path());
  ASSERT_GE(expected_models.size(), 20u);

  std::mt19937 rng(2024);
  constexpr int kTrials = 20;
  int killed_midway = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const int jobs = trial % 2 == 0 ? 1 : 2;
    SCOPED_TRACE(fmt::format("trial {} jobs {}", trial, jobs));
    TempDir out;
    const pid_t pid = spawn_onnxfuzz(fmt::format("{} --jobs {} --out {}", campaign, jobs, out.str()),
                                     out.path() / "log.txt");
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 1500));
    ::kill(-pid, SIGKILL);  // the whole process group: parent and jobs alike
    int status = 0;
    ::waitpid(pid, &status, 0);
    killed_midway += WIFSIGNALED(status);
    complete_cases(out.path());  // every case complete or absent

    std::vector<fs::path> dirs;
    if (jobs == 1) {
      dirs.push_back(out.path());
    } else {
      for (int job = 0; job < jobs; ++job) dirs.push_back(out.path() / fmt::format("job-{}", job));
    }
    int64_t before = 0;
    for (const auto& dir : dirs) {
      if (fs::exists(dir / "state.json")) before += read_json(dir / "state.json")["models"].get<int64_t>();
    }
    if (!fs::exists(out.path() / "campaign.json")) continue;  // killed before it began
    auto resumed = run_onnxfuzz("fuzz --resume --out " + out.str());
    ASSERT_TRUE(resumed.exit_code == 0 || resumed.exit_code == 1) << resumed.output;
    int64_t after = 0;
    for (const auto& dir : dirs) {
      const auto state = read_json(dir / "state.json");
      after += state["models"].get<int64_t>();
      expect_well_formed_csv(dir / "stats.csv", state["models"].get<int64_t>());
    }
    EXPECT_EQ(after, 30);
    EXPECT_GE(after, before);
    const auto cases = complete_cases(out.path());
    if (jobs == 1) {
      EXPECT_EQ(cases, expected);
      EXPECT_EQ(journal_models(out.path()), expected_models);
    }
    for (const auto& [signature, n] : signatures(out.path())) EXPECT_EQ(n, 1) << signature;
    auto summary = run_onnxfuzz("status " + out.str());
    EXPECT_EQ(summary.exit_code, 0) << summary.output;
    EXPECT_NE(summary.output.find("models 30 "), std::string::npos) << summary.output;
  }
  EXPECT_GE(killed_midway, kTrials / 2);
}

// Every model of these campaigns crashes the planted execution (each holds a Sigmoid), so the
// journal lists the seed of every model: shards of one master seed draw disjoint streams, and a
// shard run again draws the same one.
std::set<uint64_t> journal_seeds(const fs::path& out) {
  std::set<uint64_t> seeds;
  std::istringstream journal(testing::read_file(out / "findings.jsonl"));
  for (std::string line; std::getline(journal, line);)
    seeds.insert(nlohmann::json::parse(line)["model_seed"].get<uint64_t>());
  return seeds;
}

TEST(Shard, ShardsDrawDisjointSeedStreams) {
  const std::string campaign =
      "fuzz --jobs 1 --iterations 12 --seed 5 --max-nodes 3 --executions ref,planted --ops Sigmoid "
      "--no-minimize --no-status";
  TempDir a, b, a_again, whole;
  for (const auto& [shard, dir] : {std::pair{"0/2", &a}, {"1/2", &b}, {"0/2", &a_again}}) {
    auto result = run_onnxfuzz(fmt::format("{} --shard {} --out {}", campaign, shard, dir->str()));
    ASSERT_EQ(result.exit_code, 1) << result.output;
  }
  auto result = run_onnxfuzz(fmt::format("{} --out {}", campaign, whole.str()));
  ASSERT_EQ(result.exit_code, 1) << result.output;
  const auto seeds_a = journal_seeds(a.path()), seeds_b = journal_seeds(b.path());
  EXPECT_EQ(seeds_a.size(), 12u);
  EXPECT_EQ(seeds_b.size(), 12u);
  for (uint64_t seed : seeds_a) EXPECT_EQ(seeds_b.count(seed), 0u) << seed;
  for (uint64_t seed : journal_seeds(whole.path())) {
    EXPECT_EQ(seeds_a.count(seed) + seeds_b.count(seed), 0u) << "unsharded run shares " << seed;
  }
  EXPECT_EQ(journal_seeds(a_again.path()), seeds_a);
}

TEST(Merge, KeepsTheSmallestReproducerPerSignature) {
  TempDir source;
  auto result = run_onnxfuzz(fmt::format("{} --iterations 8 --seed 3 --max-nodes 8 --out {}",
                                         kCrashCampaign, source.str()));
  ASSERT_EQ(result.exit_code, 1) << result.output;
  // A case whose original is bigger than its minimized model.
  std::string id;
  for (const auto& c : complete_cases(source.path())) {
    const auto record = read_json(source.path() / "cases" / c / "case.json");
    if (record["nodes_before"].get<int>() > record["nodes_after"].get<int>()) id = c;
  }
  ASSERT_FALSE(id.empty()) << result.output;
  // Campaign a holds the minimized case; b the same signature with the unminimized model.
  TempDir a, b, into;
  fs::create_directories(a.path() / "cases");
  fs::create_directories(b.path() / "cases");
  fs::copy(source.path() / "cases" / id, a.path() / "cases" / id, fs::copy_options::recursive);
  fs::copy(source.path() / "cases" / id, b.path() / "cases" / id, fs::copy_options::recursive);
  fs::copy_file(b.path() / "cases" / id / "original.onnx", b.path() / "cases" / id / "model.onnx",
                fs::copy_options::overwrite_existing);
  const std::string small = testing::read_file(a.path() / "cases" / id / "model.onnx");
  const std::string big = testing::read_file(b.path() / "cases" / id / "model.onnx");
  ASSERT_NE(small, big);

  // b first: a's smaller model replaces b's, whatever the order.
  auto first = run_onnxfuzz(fmt::format("merge {} --into {}", b.str(), into.str()));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(testing::read_file(into.path() / "cases" / id / "model.onnx"), big);
  auto second = run_onnxfuzz(fmt::format("merge {} {} --into {}", b.str(), a.str(), into.str()));
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("replaced by a smaller reproducer 1"), std::string::npos)
      << second.output;
  EXPECT_EQ(testing::read_file(into.path() / "cases" / id / "model.onnx"), small);
  auto third = run_onnxfuzz(fmt::format("merge {} --into {}", b.str(), into.str()));
  ASSERT_EQ(third.exit_code, 0) << third.output;
  EXPECT_NE(third.output.find("kept 1"), std::string::npos) << third.output;
  EXPECT_EQ(testing::read_file(into.path() / "cases" / id / "model.onnx"), small);
  EXPECT_EQ(complete_cases(into.path()), std::set<std::string>{id});
  // Merging the whole source campaign adds its other signatures once each.
  auto all = run_onnxfuzz(fmt::format("merge {} {} --into {}", source.str(), b.str(), into.str()));
  ASSERT_EQ(all.exit_code, 0) << all.output;
  EXPECT_EQ(complete_cases(into.path()), complete_cases(source.path()));
  for (const auto& [signature, n] : signatures(into.path())) EXPECT_EQ(n, 1) << signature;
}

}  // namespace
}  // namespace onnxfuzz
