// Parallel jobs, campaign status, merge and plots (see jobs.h).
#include "fuzzer/jobs.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "corpus/case_store.h"
#include "fuzzer/exit_codes.h"
#include "generators/model_io.h"

namespace onnxfuzz {
namespace {

namespace fs = std::filesystem;

std::atomic<int> g_forward_signal{0};
void remember_signal(int signal) { g_forward_signal = signal; }

std::expected<int, std::string> parse_int(std::string_view text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    return std::unexpected(fmt::format("'{}' is not an integer", text));
  return value;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Whether `pid` is a live onnxfuzz process (not a recycled pid of something else).
bool onnxfuzz_alive(int64_t pid) {
  if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM)) return false;
  const std::string cmdline = read_text(fmt::format("/proc/{}/cmdline", pid));
  if (cmdline.find("onnxfuzz") == std::string::npos) return false;
  // A zombie (killed, not yet reaped) is not running.
  const std::string stat = read_text(fmt::format("/proc/{}/stat", pid));
  const size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

int64_t count_cases(const std::string& out_dir) {
  std::error_code ec;
  int64_t n = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(out_dir) / "cases", ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && name[0] != '.' && entry.is_directory(ec)) ++n;
  }
  return n;
}

std::string kinds_text(const nlohmann::json& by_kind) {
  std::string out;
  for (const char* kind : {"crash", "hang", "rejection", "shape", "numeric"}) {
    out += fmt::format(" {} {}", kind, by_kind.value(kind, int64_t{0}));
  }
  if (by_kind.contains("accepted-invalid"))
    out += fmt::format(" accepted-invalid {}", by_kind.value("accepted-invalid", int64_t{0}));
  return out;
}

// Nodes of a case's model.onnx (the reproducer's size); INT32_MAX when it does not load.
int model_nodes(const std::string& case_dir) {
  auto model = load_model((fs::path(case_dir) / "model.onnx").string());
  return model ? model->graph().node_size() : std::numeric_limits<int>::max();
}

// Copies a case directory into cases/ under a temporary name, then renames it into place
// (moving an existing one aside first), so a reader sees the old case or the new one.
std::expected<void, std::string> install_case(const fs::path& source, const fs::path& cases,
                                              const std::string& id) {
  std::error_code ec;
  const fs::path temp = cases / fmt::format(".tmp-{}-{}-merge", id, ::getpid());
  fs::remove_all(temp, ec);
  fs::copy(source, temp, fs::copy_options::recursive, ec);
  if (ec) {
    fs::remove_all(temp, ec);
    return std::unexpected(fmt::format("cannot copy {}: {}", source.string(), ec.message()));
  }
  const fs::path target = cases / id;
  if (fs::exists(target)) {
    const fs::path old = cases / fmt::format(".tmp-old-{}-{}-merge", id, ::getpid());
    fs::remove_all(old, ec);
    fs::rename(target, old, ec);
    if (ec) return std::unexpected(fmt::format("cannot replace {}: {}", target.string(), ec.message()));
    fs::rename(temp, target, ec);
    if (ec) {
      fs::rename(old, target, ec);
      return std::unexpected(fmt::format("cannot replace {}", target.string()));
    }
    fs::remove_all(old, ec);
    return {};
  }
  fs::rename(temp, target, ec);
  if (ec) {
    fs::remove_all(temp, ec);
    return std::unexpected(fmt::format("cannot rename into {}: {}", target.string(), ec.message()));
  }
  return {};
}

}  // namespace

std::expected<Shard, std::string> parse_shard(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::unexpected("expected i/n, e.g. 0/4");
  auto index = parse_int(text.substr(0, slash));
  auto count = parse_int(text.substr(slash + 1));
  if (!index || !count || *count < 1 || *index < 0 || *index >= *count)
    return std::unexpected(fmt::format("expected i/n with 0 <= i < n, got '{}'", text));
  return Shard{*index, *count};
}

int usable_cores() {
  // The CPUs this process may run on: Slurm and Kubernetes' static CPU manager bind a task to
  // its allocation with a cpuset, which hardware_concurrency() does not see.
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0) cores = std::max(1, CPU_COUNT(&set));
  // A CPU quota (cgroup v2 cpu.max "QUOTA PERIOD", e.g. a Kubernetes CPU limit): its whole
  // cores, at least one.
  std::ifstream in("/sys/fs/cgroup/cpu.max");
  std::string quota;
  int64_t period = 0;
  if (in >> quota >> period && quota != "max" && period > 0) {
    if (auto q = parse_int(quota); q && *q > 0) {
      cores = std::min<int>(cores, std::max<int64_t>(1, *q / period));
    }
  }
  return cores;
}

std::expected<int, std::string> parse_jobs(std::string_view text) {
  if (text == "all") return usable_cores();
  auto jobs = parse_int(text);
  if (!jobs || *jobs < 1 || *jobs > 1024)
    return std::unexpected(fmt::format("expected N in 1..1024 or all, got '{}'", text));
  return *jobs;
}

uint64_t instance_seed(uint64_t master, Shard shard, int job, bool lone) {
  if (lone && shard.count == 1) return master;
  // splitmix64 of the master seed offset by the instance's index: distinct instances get
  // unrelated 64-bit streams.
  uint64_t x = master + 0x9e3779b97f4a7c15ULL * (1 + static_cast<uint64_t>(shard.index) * 4096 +
                                                 static_cast<uint64_t>(job));
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string instance_name(int job) { return fmt::format("job-{}", job); }

std::expected<void, std::string> write_manifest(const std::string& out_dir,
                                                const CampaignManifest& manifest) {
  const nlohmann::json j = {{"args", manifest.args}, {"jobs", manifest.jobs}};
  return write_file_atomic((fs::path(out_dir) / "campaign.json").string(), j.dump(2) + "\n");
}

std::expected<CampaignManifest, std::string> read_manifest(const std::string& out_dir) {
  const fs::path path = fs::path(out_dir) / "campaign.json";
  if (!fs::exists(path))
    return std::unexpected(fmt::format("{} is not a campaign (no campaign.json)", out_dir));
  try {
    const auto j = nlohmann::json::parse(read_text(path));
    return CampaignManifest{j.at("args").get<std::vector<std::string>>(), j.at("jobs").get<int>()};
  } catch (const nlohmann::json::exception& e) {
    return std::unexpected(fmt::format("{}: {}", path.string(), e.what()));
  }
}

std::expected<std::vector<InstanceStatus>, std::string> read_instances(const std::string& out_dir) {
  std::error_code ec;
  if (!fs::is_directory(out_dir, ec))
    return std::unexpected(fmt::format("{}: no such directory", out_dir));
  std::vector<fs::path> dirs;
  if (fs::exists(fs::path(out_dir) / "state.json")) dirs.push_back(out_dir);
  std::vector<fs::path> jobs;
  for (const auto& entry : fs::directory_iterator(out_dir, ec)) {
    if (entry.path().filename().string().rfind("job-", 0) == 0 && entry.is_directory(ec))
      jobs.push_back(entry.path());
  }
  std::ranges::sort(jobs, [](const fs::path& a, const fs::path& b) {
    return std::atoi(a.filename().c_str() + 4) < std::atoi(b.filename().c_str() + 4);
  });
  dirs.insert(dirs.end(), jobs.begin(), jobs.end());
  if (dirs.empty())
    return std::unexpected(fmt::format("{} is not a campaign (no state.json, no job-*/)", out_dir));
  std::vector<InstanceStatus> instances;
  for (const auto& dir : dirs) {
    InstanceStatus instance;
    instance.dir = dir.string();
    instance.name = dir == fs::path(out_dir) ? "." : dir.filename().string();
    instance.pid = std::atoll(read_text(dir / "pid").c_str());
    instance.alive = onnxfuzz_alive(instance.pid);
    try {
      if (fs::exists(dir / "state.json"))
        instance.state = nlohmann::json::parse(read_text(dir / "state.json"));
    } catch (const nlohmann::json::exception&) {
      // A state.json is written atomically; a broken one is reported as no state.
    }
    instances.push_back(std::move(instance));
  }
  return instances;
}

nlohmann::json merged_status(const std::string& out_dir,
                             const std::vector<InstanceStatus>& instances) {
  int64_t models = 0, executions = 0, unique = 0, signatures = 0, propagated = 0, alive = 0;
  double seconds = 0, rate = 0;
  std::map<std::string, int64_t> by_kind, unsupported;
  std::map<std::string, std::set<std::string>> coverage;
  for (const auto& instance : instances) {
    alive += instance.alive;
    const auto& s = instance.state;
    if (!s.is_object()) continue;
    const int64_t m = s.value("models", int64_t{0});
    const double sec = s.value("seconds", 0.0);
    models += m;
    executions += s.value("executions", int64_t{0});
    unique += s.value("unique", int64_t{0});
    signatures += s.value("signatures", s.value("unique", int64_t{0}));
    propagated += s.value("propagated", int64_t{0});
    seconds = std::max(seconds, sec);
    if (sec > 0) rate += m / sec;  // instances run side by side: their rates add up
    const nlohmann::json kinds = s.value("findings_by_kind", nlohmann::json::object());
    for (const auto& [kind, n] : kinds.items()) by_kind[kind] += n.get<int64_t>();
    const nlohmann::json skipped = s.value("unsupported", nlohmann::json::object());
    for (const auto& [kind, n] : skipped.items()) unsupported[kind] += n.get<int64_t>();
    if (!s.contains("coverage")) continue;
    for (const char* what : {"ops", "op_dtypes", "op_pairs", "attr_values", "patterns"}) {
      if (!s["coverage"].contains(what) || !s["coverage"][what].is_object()) continue;
      for (const auto& [key, n] : s["coverage"][what].items()) coverage[what].insert(key);
    }
  }
  nlohmann::json j;
  j["instances"] = instances.size();
  j["alive"] = alive;
  j["models"] = models;
  j["executions"] = executions;
  j["seconds"] = seconds;
  j["models_per_s"] = rate;
  j["findings_by_kind"] = by_kind;
  j["unsupported"] = unsupported;
  j["unique"] = unique;
  j["signatures"] = signatures;
  j["propagated"] = propagated;
  j["cases"] = count_cases(out_dir);
  for (const char* what : {"ops", "op_dtypes", "op_pairs", "attr_values", "patterns"})
    j["coverage"][what] = coverage[what].size();
  return j;
}

std::string skipped_runs_text(const std::map<std::string, int64_t>& unsupported, int64_t models) {
  if (unsupported.empty() || models <= 0) return "";
  std::vector<std::string> parts;
  int64_t out_of_scope = 0;
  for (const auto& [kind, count] : unsupported) {
    parts.push_back(fmt::format("{} {} ({:.1f}%)", kind, count, 100.0 * count / models));
    if (kind == "backend_gap" || kind == "unsupported_dtype") out_of_scope += count;
  }
  std::string out =
      fmt::format("not run on an execution (not findings): {}\n", fmt::join(parts, ", "));
  if (out_of_scope * 10 > models) {
    out += "  more than a tenth of the models did not reach an execution: `onnxfuzz probe "
           "--execution NAME`, then `fuzz --target` with its .json, draws only what it runs "
           "(README, --target)\n";
  }
  return out;
}

std::string render_status(const nlohmann::json& merged,
                          const std::vector<InstanceStatus>& instances) {
  std::string out = fmt::format(
      "instances {} ({} alive) | models {} | {:.1f} models/s | findings{} | cases {} (root "
      "causes; {} distinct signatures)\n"
      "coverage: ops {} | (op, dtype) {} | op pairs {} | attribute values {} | patterns {}\n",
      merged["instances"].get<int64_t>(), merged["alive"].get<int64_t>(),
      merged["models"].get<int64_t>(), merged["models_per_s"].get<double>(),
      kinds_text(merged["findings_by_kind"]), merged["cases"].get<int64_t>(),
      merged["signatures"].get<int64_t>(),
      merged["coverage"]["ops"].get<int64_t>(), merged["coverage"]["op_dtypes"].get<int64_t>(),
      merged["coverage"]["op_pairs"].get<int64_t>(),
      merged["coverage"]["attr_values"].get<int64_t>(),
      merged["coverage"]["patterns"].get<int64_t>());
  if (merged.value("propagated", int64_t{0}) > 0) {
    out += fmt::format(
        "propagated (not findings): {} numeric or shape verdicts no node makes (within-tolerance "
        "differences grown by later nodes)\n",
        merged["propagated"].get<int64_t>());
  }
  if (merged.contains("unsupported")) {
    out += skipped_runs_text(merged["unsupported"].get<std::map<std::string, int64_t>>(),
                             merged["models"].get<int64_t>());
  }
  for (const auto& instance : instances) {
    const auto& s = instance.state;
    const int64_t models = !s.is_object() ? 0 : s.value("models", int64_t{0});
    const double seconds = !s.is_object() ? 0 : s.value("seconds", 0.0);
    out += fmt::format("  {:<8} pid {:<8} {:<8} models {:<9} {:>8.1f} s {:>8.1f}/s unique {}\n",
                       instance.name, instance.pid, instance.alive ? "alive" : "stopped", models,
                       seconds, seconds > 0 ? models / seconds : 0.0,
                       !s.is_object() ? 0 : s.value("unique", int64_t{0}));
  }
  return out;
}

int run_jobs(const std::string& out_dir, const std::vector<std::string>& args, int jobs,
             double status_seconds) {
  std::vector<pid_t> children(jobs, -1);
  g_forward_signal = 0;
  std::signal(SIGINT, remember_signal);
  std::signal(SIGTERM, remember_signal);
  for (int job = 0; job < jobs; ++job) {
    const fs::path dir = fs::path(out_dir) / instance_name(job);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      spdlog::error("cannot create {}: {}", dir.string(), ec.message());
      return exit_code::kEnvironment;
    }
    std::vector<std::string> argv = {"onnxfuzz", "fuzz"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--instance");
    argv.push_back(std::to_string(job));
    const std::string log = (dir / "log.txt").string();
    const pid_t pid = ::fork();
    if (pid < 0) {
      spdlog::error("fork: {}", strerror(errno));
      g_forward_signal = SIGTERM;
      break;
    }
    if (pid == 0) {
      std::signal(SIGINT, SIG_DFL);
      std::signal(SIGTERM, SIG_DFL);
      FILE* out = std::fopen(log.c_str(), "a");
      if (out) {
        ::dup2(fileno(out), STDOUT_FILENO);
        ::dup2(fileno(out), STDERR_FILENO);
      }
      std::vector<char*> raw;
      for (auto& a : argv) raw.push_back(a.data());
      raw.push_back(nullptr);
      ::execv("/proc/self/exe", raw.data());
      std::fprintf(stderr, "exec /proc/self/exe: %s\n", strerror(errno));
      ::_exit(exit_code::kEnvironment);
    }
    children[job] = pid;
  }
  spdlog::info("[jobs] {} jobs in {} (logs in {}/job-*/log.txt)", jobs, out_dir, out_dir);
  std::vector<int> codes(jobs, -1);
  int running = 0;
  for (pid_t pid : children) running += pid > 0;
  bool forwarded = false;
  auto last_status = std::chrono::steady_clock::now();
  while (running > 0) {
    if (g_forward_signal != 0 && !forwarded) {
      forwarded = true;
      for (int job = 0; job < jobs; ++job)
        if (children[job] > 0 && codes[job] < 0) ::kill(children[job], SIGTERM);
    }
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      for (int job = 0; job < jobs; ++job) {
        if (children[job] != done) continue;
        codes[job] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        --running;
        if (codes[job] > exit_code::kFindings)
          spdlog::warn("[jobs] {} exited with {} (see {}/{}/log.txt)", instance_name(job),
                       codes[job], out_dir, instance_name(job));
      }
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto now = std::chrono::steady_clock::now();
    if (status_seconds > 0 && now - last_status >= std::chrono::duration<double>(status_seconds)) {
      last_status = now;
      if (auto instances = read_instances(out_dir)) {
        const auto merged = merged_status(out_dir, *instances);
        spdlog::info("[status] {} jobs alive | models {} ({:.1f}/s) |{} | cases {}",
                     merged["alive"].get<int64_t>(), merged["models"].get<int64_t>(),
                     merged["models_per_s"].get<double>(), kinds_text(merged["findings_by_kind"]),
                     merged["cases"].get<int64_t>());
      }
    }
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  auto instances = read_instances(out_dir);
  if (!instances) {
    spdlog::error("{}", instances.error());
    return exit_code::kEnvironment;
  }
  const auto merged = merged_status(out_dir, *instances);
  (void)write_file_atomic((fs::path(out_dir) / "stats.json").string(), merged.dump(2) + "\n");
  fmt::print("{}", render_status(merged, *instances));
  int worst = exit_code::kOk;
  for (int code : codes) {
    if (code > exit_code::kFindings) worst = std::max(worst, code == exit_code::kUsage ||
                                                                 code == exit_code::kBadInput
                                                             ? code
                                                             : exit_code::kEnvironment);
  }
  if (worst != exit_code::kOk) return worst;
  if (forwarded) spdlog::info("[jobs] interrupted; resume with: onnxfuzz fuzz --resume --out {}", out_dir);
  return merged["unique"].get<int64_t>() > 0 ? exit_code::kFindings : exit_code::kOk;
}

std::expected<MergeResult, std::string> merge_campaigns(const std::vector<std::string>& inputs,
                                                        const std::string& into) {
  const fs::path cases = fs::path(into) / "cases";
  std::error_code ec;
  fs::create_directories(cases, ec);
  if (ec) return std::unexpected(fmt::format("cannot create {}: {}", cases.string(), ec.message()));
  // signature -> (nodes, case dir) of the smallest reproducer, `into` included.
  struct Best {
    int nodes;
    std::string dir;
    std::string id;
    bool in_target;
  };
  std::map<std::string, Best> best;
  auto consider = [&](const std::string& dir, bool in_target) {
    auto record = read_case_record(dir);
    if (!record) return;
    const std::string key = record->signature.empty() ? record->id : record->signature;
    const int nodes = model_nodes(dir);
    auto it = best.find(key);
    if (it == best.end() || nodes < it->second.nodes)
      best[key] = Best{nodes, dir, fs::path(dir).filename().string(), in_target};
  };
  if (auto existing = find_case_dirs({into}); existing) {
    for (const auto& dir : *existing) consider(dir, true);
  }
  std::set<std::string> before;
  for (const auto& [key, b] : best) before.insert(key);
  for (const auto& input : inputs) {
    if (!fs::is_directory(input)) return std::unexpected(fmt::format("{}: no such directory", input));
    auto dirs = find_case_dirs({input});
    if (!dirs) return std::unexpected(dirs.error());
    for (const auto& dir : *dirs) consider(dir, false);
  }
  MergeResult result;
  result.signatures = static_cast<int64_t>(best.size());
  for (const auto& [key, b] : best) {
    if (b.in_target) {
      ++result.kept;
      continue;
    }
    // A smaller reproducer of a signature `into` holds under another id replaces that one.
    if (before.count(key)) {
      const auto held = find_case_dirs({into});
      for (const auto& dir : held ? *held : std::vector<std::string>{}) {
        auto record = read_case_record(dir);
        if (record && record->signature == key && fs::path(dir).filename() != b.id)
          fs::remove_all(dir, ec);
      }
    }
    auto installed = install_case(b.dir, cases, b.id);
    if (!installed) return std::unexpected(installed.error());
    ++(before.count(key) ? result.replaced : result.copied);
  }
  return result;
}

std::expected<std::vector<std::string>, std::string> plot_campaign(const std::string& out_dir) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0)
    return std::unexpected("gnuplot not found; install it (Debian: apt-get install gnuplot)");
  auto instances = read_instances(out_dir);
  if (!instances) return std::unexpected(instances.error());
  std::vector<std::pair<std::string, std::string>> csvs;  // (title, path)
  for (const auto& instance : *instances) {
    const fs::path csv = fs::path(instance.dir) / "stats.csv";
    if (fs::exists(csv)) csvs.emplace_back(instance.name == "." ? "campaign" : instance.name, csv.string());
  }
  if (csvs.empty()) return std::unexpected(fmt::format("{}: no stats.csv", out_dir));
  const fs::path plots = fs::path(out_dir) / "plots";
  std::error_code ec;
  fs::create_directories(plots, ec);
  if (ec) return std::unexpected(fmt::format("cannot create {}: {}", plots.string(), ec.message()));
  // Columns of stats.csv (campaign.cpp): 1 elapsed_s, 2 models, 3 models_per_s,
  // 4 executions_per_s, 5..10 findings by kind, 11 unique, 12 cases, 13 ops, 14 op_dtypes,
  // 15 op_pairs, 16 rss_mb, 17 attr_values, 18 signatures.
  struct Plot {
    const char* file;
    const char* title;
    const char* ylabel;
    std::vector<std::pair<int, const char*>> columns;
  };
  const std::vector<Plot> specs = {
      {"findings.png", "findings over time", "count",
       {{5, "crash"}, {6, "hang"}, {7, "rejection"}, {8, "shape"}, {9, "numeric"}, {12, "cases"},
        {18, "signatures"}}},
      {"coverage.png", "coverage over time", "distinct keys",
       {{13, "ops"}, {14, "(op, dtype)"}, {15, "op pairs"}, {17, "attribute values"}}},
      {"throughput.png", "throughput", "per second", {{3, "models/s"}, {4, "executions/s"}}},
      {"rss.png", "fuzzer RSS", "MiB", {{16, "rss"}}},
  };
  std::string script =
      "set datafile separator ','\nset key autotitle columnhead\nset key outside right\n"
      "set terminal pngcairo size 1000,500\nset xlabel 'elapsed (s)'\n";
  std::vector<std::string> written;
  for (const auto& plot : specs) {
    const std::string file = (plots / plot.file).string();
    script += fmt::format("set output '{}'\nset title '{}'\nset ylabel '{}'\nplot ", file,
                          plot.title, plot.ylabel);
    bool first = true;
    for (const auto& [title, path] : csvs) {
      for (const auto& [column, name] : plot.columns) {
        script += fmt::format("{}'{}' using 1:{} with lines title '{} {}'", first ? "" : ", ", path,
                              column, title, name);
        first = false;
      }
    }
    script += "\n";
    written.push_back(file);
  }
  const fs::path script_path = plots / "plots.gnuplot";
  if (auto w = write_file_atomic(script_path.string(), script, Durability::kAtomicOnly); !w)
    return std::unexpected(w.error());
  const std::string command = fmt::format("gnuplot '{}' 2>'{}'", script_path.string(),
                                          (plots / "gnuplot.log").string());
  if (std::system(command.c_str()) != 0)
    return std::unexpected(fmt::format("gnuplot failed: {}", read_text(plots / "gnuplot.log")));
  return written;
}

}  // namespace onnxfuzz
