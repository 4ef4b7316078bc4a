// ORT release names, the release cache, and installing a release with npm on first use.
#include "oracles/ort_release.h"

#include <fcntl.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "oracles/worker_paths.h"

extern char** environ;

namespace onnxfuzz {
namespace {

namespace fs = std::filesystem;

// Level suffixes of `ort@VERSION`: the graph optimization level each asks for.
struct LevelSuffix {
  std::string_view suffix;
  std::string_view opt_level;
};
constexpr LevelSuffix kLevels[] = {
    {"", "all"},       {"-all", "all"},           {"-noopt", "disabled"},
    {"-basic", "basic"}, {"-extended", "extended"},
};

// Releases before this one download their native binaries from GitHub in their install
// script, which ONNXRUNTIME_NODE_INSTALL=skip does not turn off, so they cannot be installed
// offline; from it on the binaries ship inside the npm package.
constexpr std::array<int, 3> kOldestRelease = {1, 10, 0};

std::optional<std::array<int, 3>> parse_version(std::string_view text) {
  std::array<int, 3> parts{};
  for (int i = 0; i < 3; ++i) {
    const size_t dot = i < 2 ? text.find('.') : text.size();
    if (dot == std::string_view::npos) return std::nullopt;
    const std::string_view digits = text.substr(0, dot);
    if (digits.empty() || digits.size() > 4 || (digits.size() > 1 && digits[0] == '0')) {
      return std::nullopt;
    }
    int value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    parts[i] = value;
    text.remove_prefix(std::min(text.size(), dot + 1));
  }
  return parts;
}

// Last `max_bytes` of a file, for an error message.
std::string file_tail(const fs::path& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Runs `argv` with `extra_env` added, stdout and stderr into `log`; the exit status, or an
// error value when it cannot be started.
std::expected<int, std::string> run_logged(const std::vector<std::string>& argv,
                                           const std::vector<std::string>& extra_env,
                                           const fs::path& log) {
  std::vector<std::string> env_strings = extra_env;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& s : args) argp.push_back(s.data());
  argp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, argp[0], &actions, nullptr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return std::unexpected(fmt::format("cannot start {}: {}", argv[0], strerror(spawned)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return std::unexpected(fmt::format("waitpid: {}", strerror(errno)));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

fs::path package_dir(const fs::path& release_dir) {
  return release_dir / "node_modules" / "onnxruntime-node";
}

bool installed(const fs::path& release_dir) {
  std::error_code ignored;
  return fs::is_regular_file(package_dir(release_dir) / "package.json", ignored);
}

// npm's stable releases from 1.10.0 on as of November 2026, without 1.17.3: the list used
// when npm cannot be asked and nothing is cached.
constexpr std::string_view kKnownReleases[] = {
    "1.10.0", "1.11.0", "1.12.0", "1.12.1", "1.13.1", "1.14.0", "1.15.0", "1.15.1",
    "1.16.0", "1.16.1", "1.16.2", "1.16.3", "1.17.0", "1.18.0", "1.19.0", "1.19.2",
    "1.20.0", "1.20.1", "1.21.0", "1.21.1", "1.22.0", "1.23.0", "1.23.2", "1.24.1",
    "1.24.2", "1.24.3", "1.25.1", "1.26.0", "1.27.0", "1.29.0", "1.30.0",
};

// The release whose install script fetches from GitHub although ONNXRUNTIME_NODE_INSTALL=skip.
constexpr std::string_view kUninstallableRelease = "1.17.3";

// Stable, installable releases of a JSON array of npm versions, sorted; empty if not an array.
std::vector<std::string> usable_releases(const nlohmann::json& versions) {
  std::vector<std::string> releases;
  if (!versions.is_array()) return releases;
  for (const auto& entry : versions) {
    if (!entry.is_string()) continue;
    const std::string version = entry.get<std::string>();
    const auto parts = parse_version(version);  // pre-releases ("-dev...", "-rev") fail here
    if (!parts || *parts < kOldestRelease || version == kUninstallableRelease) continue;
    releases.push_back(version);
  }
  std::ranges::sort(releases, [](const std::string& a, const std::string& b) {
    return *parse_version(a) < *parse_version(b);
  });
  return releases;
}

}  // namespace

std::optional<std::string> ort_execution_at_version(std::string_view name,
                                                    std::string_view version) {
  auto release = parse_ort_execution_name(name);
  if (!release || !*release || !parse_version(version)) return std::nullopt;
  // The first row of a level is its shortest spelling ("" for all).
  const auto level = std::ranges::find(kLevels, (*release)->opt_level, &LevelSuffix::opt_level);
  const std::string at = fmt::format("ort@{}{}", version, level->suffix);
  auto parsed = parse_ort_execution_name(at);
  if (!parsed || !*parsed) return std::nullopt;
  return at;
}

std::vector<std::string> ort_releases() {
  const fs::path cached = fs::path(ort_cache_dir()) / "releases.json";
  auto read_cached = [&]() -> std::vector<std::string> {
    std::ifstream in(cached);
    if (!in) return {};
    return usable_releases(nlohmann::json::parse(in, nullptr, false));
  };
  std::error_code ec;
  const auto age = fs::file_time_type::clock::now() - fs::last_write_time(cached, ec);
  if (!ec && age < std::chrono::hours(24)) {
    if (auto releases = read_cached(); !releases.empty()) return releases;
  }
  if (auto npm = find_in_path("npm")) {
    fs::create_directories(cached.parent_path(), ec);
    const fs::path staging = cached.string() + fmt::format(".{}", ::getpid());
    auto status = run_logged({*npm, "view", "onnxruntime-node", "versions", "--json"}, {}, staging);
    std::ifstream in(staging);
    const nlohmann::json versions =
        status && *status == 0 && in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
    if (auto releases = usable_releases(versions); !releases.empty()) {
      fs::rename(staging, cached, ec);
      return releases;
    }
    fs::remove(staging, ec);
    spdlog::warn("[ort] `npm view onnxruntime-node versions` failed; using the cached or "
                 "built-in release list");
  }
  if (auto releases = read_cached(); !releases.empty()) return releases;
  return {std::begin(kKnownReleases), std::end(kKnownReleases)};
}

std::optional<std::expected<OrtRelease, std::string>> parse_ort_execution_name(
    std::string_view name) {
  if (name == "ort") return OrtRelease{"", "all"};
  if (name == "ort-noopt") return OrtRelease{"", "disabled"};
  if (!name.starts_with("ort@")) return std::nullopt;
  const std::string_view rest = name.substr(4);
  const size_t dash = rest.find('-');
  const std::string_view version = rest.substr(0, dash);
  const std::string_view suffix = dash == std::string_view::npos ? "" : rest.substr(dash);
  const LevelSuffix* level = nullptr;
  for (const LevelSuffix& row : kLevels) {
    if (row.suffix == suffix) level = &row;
  }
  if (!level) {
    return std::unexpected(fmt::format(
        "execution '{}': unknown level '{}'; ort@VERSION takes -noopt, -basic, -extended or "
        "-all",
        name, suffix.substr(1)));
  }
  const auto parts = parse_version(version);
  if (!parts) {
    return std::unexpected(fmt::format(
        "execution '{}': '{}' is not a release version; write ort@MAJOR.MINOR.PATCH, e.g. "
        "ort@1.16.3",
        name, version));
  }
  if (*parts < kOldestRelease) {
    return std::unexpected(fmt::format(
        "execution '{}': onnxruntime-node releases before 1.10.0 download their native "
        "binaries when installed, which onnxfuzz cannot do; use 1.10.0 or later",
        name));
  }
  return OrtRelease{std::string(version), std::string(level->opt_level)};
}

std::string ort_cache_dir() {
  if (const char* dir = std::getenv("ONNXFUZZ_ORT_CACHE"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return (fs::path(xdg) / "onnxfuzz" / "ort").string();
  }
  const char* home = std::getenv("HOME");
  return (fs::path(home != nullptr && *home != '\0' ? home : "/tmp") / ".cache" / "onnxfuzz" /
          "ort")
      .string();
}

std::expected<std::string, std::string> ensure_ort_release(const std::string& version) {
  const fs::path cache = ort_cache_dir();
  const fs::path release_dir = cache / version;
  if (installed(release_dir)) return package_dir(release_dir).string();

  const std::string spec = "onnxruntime-node@" + version;
  auto npm = find_in_path("npm");
  if (!npm) {
    return std::unexpected(fmt::format(
        "cannot install {} into {}: `npm` is not on PATH (install Node and npm, or copy an "
        "installed release there)",
        spec, release_dir.string()));
  }
  std::error_code ec;
  fs::create_directories(cache, ec);
  if (ec) {
    return std::unexpected(
        fmt::format("cannot install {}: cannot create {}: {}", spec, cache.string(), ec.message()));
  }
  // Installed beside the final directory and renamed into place, so that a killed install or
  // a concurrent one never leaves a half release where a later run would take it as cached.
  const fs::path staging = cache / fmt::format(".{}.install-{}", version, ::getpid());
  const fs::path log = cache / fmt::format(".{}.install-{}.log", version, ::getpid());
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  const std::vector<std::string> argv = {
      *npm,      "install",    "--prefix",          staging.string(), "--no-save",
      "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error", spec};
  spdlog::info("[ort] installing {} into {} (first use; npm, about 10-30 s)", spec,
               release_dir.string());
  // The native binaries ship inside the package from 1.10.0 on; without this its install
  // script would try to download GPU binaries as well. Releases 1.18 to 1.21 read
  // ONNXRUNTIME_NODE_INSTALL_CUDA instead (and download from GitHub without it).
  auto status =
      run_logged(argv, {"ONNXRUNTIME_NODE_INSTALL=skip", "ONNXRUNTIME_NODE_INSTALL_CUDA=skip"}, log);
  std::string failure;
  if (!status) {
    failure = status.error();
  } else if (*status != 0) {
    failure = fmt::format("`ONNXRUNTIME_NODE_INSTALL=skip {}` exited with {}:\n{}",
                          fmt::join(argv, " "), *status, file_tail(log, 1500));
  } else if (!installed(staging)) {
    failure = fmt::format("npm finished but left no {}:\n{}",
                          (package_dir(staging) / "package.json").string(), file_tail(log, 1500));
  }
  if (!failure.empty()) {
    fs::remove_all(staging, ec);
    fs::remove(log, ec);
    return std::unexpected(fmt::format("installing {} into {} failed: {}", spec,
                                       release_dir.string(), failure));
  }
  fs::remove(log, ec);
  fs::rename(staging, release_dir, ec);
  if (ec) {
    // Another process installed it first: use theirs.
    fs::remove_all(staging, ec);
    if (!installed(release_dir)) {
      return std::unexpected(
          fmt::format("installing {}: cannot move it into {}", spec, release_dir.string()));
    }
  }
  return package_dir(release_dir).string();
}

}  // namespace onnxfuzz
