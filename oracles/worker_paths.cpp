// Locating the project root, node and the worker binaries without depending on the cwd.
#include "oracles/worker_paths.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

namespace onnxfuzz {
namespace {

namespace fs = std::filesystem;

bool is_project_root(const fs::path& dir) {
  std::error_code ignored;
  return fs::is_regular_file(dir / "package.json", ignored) &&
         fs::is_regular_file(dir / "oracles" / "ort_worker.js", ignored);
}

bool is_executable_file(const fs::path& path) {
  std::error_code ignored;
  return fs::is_regular_file(path, ignored) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string executable_dir() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) return {};
  return self.parent_path().string();
}

std::expected<std::string, std::string> find_project_root() {
  std::vector<std::pair<std::string, fs::path>> candidates;
  if (const char* home = std::getenv("ONNXFUZZ_HOME"); home != nullptr && *home != '\0') {
    candidates.emplace_back("$ONNXFUZZ_HOME", home);
  }
#ifdef ONNXFUZZ_SOURCE_DIR
  candidates.emplace_back("source directory", ONNXFUZZ_SOURCE_DIR);
#endif
  if (const std::string exe_dir = executable_dir(); !exe_dir.empty()) {
    candidates.emplace_back("parent of the executable's directory",
                            fs::path(exe_dir).parent_path());
  }
  std::string tried;
  for (const auto& [origin, dir] : candidates) {
    if (is_project_root(dir)) {
      std::error_code error;
      const fs::path absolute = fs::absolute(dir, error);
      return (error ? dir : absolute).lexically_normal().string();
    }
    tried += fmt::format("\n  {} ({})", dir.string(), origin);
  }
  return std::unexpected(
      fmt::format("cannot find the onnxfuzz project root (a directory with package.json and "
                  "oracles/ort_worker.js); set ONNXFUZZ_HOME. Tried:{}",
                  tried.empty() ? std::string("\n  (nothing)") : tried));
}

std::optional<std::string> find_in_path(std::string_view program) {
  if (program.find('/') != std::string_view::npos) {
    if (is_executable_file(program)) return std::string(program);
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const size_t colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    const fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / program;
    if (is_executable_file(candidate)) return candidate.string();
    if (colon == std::string_view::npos) return std::nullopt;
    dirs.remove_prefix(colon + 1);
  }
}

namespace {

// A worker binary built by this project: next to the running executable, one directory up (for
// bench/ binaries), or in the source tree's build directories. `hint` says in the error how to
// get it.
std::expected<std::string, std::string> find_worker_binary(const char* name, std::string_view what,
                                                           std::string_view hint) {
  std::vector<fs::path> candidates;
  if (const std::string exe_dir = executable_dir(); !exe_dir.empty()) {
    candidates.push_back(fs::path(exe_dir) / name);
    candidates.push_back(fs::path(exe_dir).parent_path() / name);
  }
#ifdef ONNXFUZZ_SOURCE_DIR
  // Any build directory of the source tree (build, build-release, ...), in name order so the
  // choice is stable.
  std::error_code error;
  std::vector<fs::path> build_dirs;
  for (const auto& entry : fs::directory_iterator(ONNXFUZZ_SOURCE_DIR, error)) {
    if (entry.path().filename().string().starts_with("build")) build_dirs.push_back(entry.path());
  }
  std::sort(build_dirs.begin(), build_dirs.end());
  for (const fs::path& dir : build_dirs) candidates.push_back(dir / name);
#endif
  std::string tried;
  for (const fs::path& candidate : candidates) {
    if (is_executable_file(candidate)) return candidate.lexically_normal().string();
    tried += fmt::format("\n  {}", candidate.string());
  }
  return std::unexpected(fmt::format("cannot find the {} '{}' ({}). Tried:{}", what, name, hint,
                                     tried.empty() ? std::string("\n  (nothing)") : tried));
}

}  // namespace

std::expected<std::string, std::string> find_planted_worker() {
  return find_worker_binary("onnxfuzz_planted_worker", "test-only planted worker",
                            "build the onnxfuzz_planted_worker target");
}

std::expected<std::string, std::string> find_opencv_worker() {
  return find_worker_binary("onnxfuzz_opencv_worker", "OpenCV worker",
                            "build the onnxfuzz_opencv_worker target; CMake builds it when "
                            "libopencv-dnn-dev is installed");
}

}  // namespace onnxfuzz
