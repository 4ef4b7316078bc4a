// WorkerProcess: fork/exec, framed calls under a deadline, memory sampling, kill and reap.
#include "oracles/worker_process.h"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "oracles/worker_paths.h"
#include "oracles/worker_protocol.h"

extern char** environ;

namespace onnxfuzz {
namespace {

using Clock = std::chrono::steady_clock;

// Often enough to catch a runaway allocation before it takes the machine down, rarely
// enough that sampling costs nothing next to a model run.
constexpr auto kMemorySamplePeriod = std::chrono::milliseconds(50);
// Reading /proc/<pid>/statm costs an open/read/close per sample: a short call is sampled only
// if it lasts, and every kSampleEveryCalls-th call at once (a leak that grows across calls).
constexpr auto kFirstSampleDelay = std::chrono::milliseconds(10);
constexpr uint64_t kSampleEveryCalls = 16;
// A worker that closed its stdout is normally exiting; give it this long before SIGKILL so
// its real exit status (the finding) is what gets reported.
constexpr auto kExitGrace = std::chrono::seconds(2);
constexpr size_t kIoChunk = 1 << 16;

// Writing to a worker that died must give EPIPE, not kill the fuzzer. Pipes have no
// MSG_NOSIGNAL, so the signal is ignored process-wide, once.
void ignore_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_handler = SIG_IGN;
    sigemptyset(&action.sa_mask);
    sigaction(SIGPIPE, &action, nullptr);
  });
}

void close_fd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

bool set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// PATH lookup happens in the parent: execvp may allocate, which is not safe between fork
// and exec. An unresolved name is passed through so execve's ENOENT names it.
std::string resolve_program(const std::string& program) {
  return find_in_path(program).value_or(program);
}

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    const bool overridden = std::any_of(extra.begin(), extra.end(), [&](const std::string& x) {
      return name_of(x) == name_of(entry);
    });
    if (!overridden) env.emplace_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// In the child, between fork and exec: only async-signal-safe calls from here on.
[[noreturn]] void exec_child(const char* path, char* const* argv, char* const* envp, int stdin_fd,
                             int stdout_fd, int stderr_fd, int report_fd) {
  setpgid(0, 0);
  // Ignored signals stay ignored across exec; the worker should get ordinary defaults.
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // A crashing runtime must not write a multi-GB core file per finding.
  struct rlimit no_core {};
  setrlimit(RLIMIT_CORE, &no_core);

  const int targets[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
  const int sources[3] = {stdin_fd, stdout_fd, stderr_fd};
  for (int i = 0; i < 3; ++i) {
    if (sources[i] == targets[i]) {
      // dup2 onto itself keeps O_CLOEXEC, which would close it at exec.
      fcntl(targets[i], F_SETFD, 0);
    } else if (dup2(sources[i], targets[i]) < 0) {
      break;
    }
  }
  execve(path, argv, envp);
  const int error = errno;
  ssize_t ignored = write(report_fd, &error, sizeof(error));
  (void)ignored;
  _exit(127);
}

}  // namespace

std::string_view call_outcome_name(CallOutcome outcome) {
  switch (outcome) {
    case CallOutcome::kResponse:
      return "response";
    case CallOutcome::kTimeout:
      return "timeout";
    case CallOutcome::kDied:
      return "died";
    case CallOutcome::kMemoryLimit:
      return "memory-limit";
    case CallOutcome::kProtocolError:
      return "protocol-error";
    case CallOutcome::kSpawnFailed:
      return "spawn-failed";
  }
  return "unknown";
}

std::string signal_name(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  if (abbrev == nullptr) return fmt::format("signal {}", signal);
  return fmt::format("SIG{}", abbrev);
}

WorkerProcess::WorkerProcess(WorkerCommand command, int64_t memory_limit_mb,
                             uint64_t recycle_after_calls)
    : command_(std::move(command)),
      memory_limit_mb_(memory_limit_mb),
      recycle_after_calls_(recycle_after_calls) {
  ignore_sigpipe();
}

WorkerProcess::~WorkerProcess() {
  kill_and_reap();
  close_fd(stderr_file_);
}

void WorkerProcess::close_fds() {
  close_fd(to_worker_);
  close_fd(from_worker_);
}

std::string WorkerProcess::spawn() {
  if (command_.argv.empty()) return "empty worker command";
  close_fd(stderr_file_);

  const char* tmpdir = std::getenv("TMPDIR");
  std::string stderr_path = fmt::format("{}/onnxfuzz-worker-stderr-XXXXXX",
                                        tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp");
  // O_APPEND: the worker's writes follow the file's end, so truncating it at the start of each
  // call leaves exactly that call's stderr as evidence (and keeps a long campaign's file small).
  stderr_file_ = mkostemp(stderr_path.data(), O_CLOEXEC | O_APPEND);
  if (stderr_file_ < 0) {
    return fmt::format("cannot create a stderr file in {}: {}", stderr_path, strerror(errno));
  }
  ::unlink(stderr_path.c_str());  // only the descriptors keep it alive

  int in_pipe[2], out_pipe[2], report_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return fmt::format("pipe: {}", strerror(errno));
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    return fmt::format("pipe: {}", strerror(error));
  }
  if (pipe2(report_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1]}) ::close(fd);
    return fmt::format("pipe: {}", strerror(error));
  }

  // Everything the child needs is built before fork.
  const std::string path = resolve_program(command_.argv[0]);
  std::vector<std::string> argv_strings = command_.argv;
  std::vector<std::string> env_strings = merged_environment(command_.extra_env);
  std::vector<char*> argv = c_strings(argv_strings);
  std::vector<char*> envp = c_strings(env_strings);

  const pid_t pid = fork();
  if (pid == 0) {
    exec_child(path.c_str(), argv.data(), envp.data(), in_pipe[0], out_pipe[1], stderr_file_,
               report_pipe[1]);
  }
  const int fork_error = errno;
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(report_pipe[1]);
  if (pid < 0) {
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    ::close(report_pipe[0]);
    return fmt::format("fork: {}", strerror(fork_error));
  }
  // Also set the group from this side so a kill right after fork cannot miss the child.
  setpgid(pid, pid);
  pid_ = pid;
  to_worker_ = in_pipe[1];
  from_worker_ = out_pipe[0];

  // The report pipe closes at a successful exec (O_CLOEXEC) or carries execve's errno.
  int exec_error = 0;
  ssize_t got;
  do {
    got = ::read(report_pipe[0], &exec_error, sizeof(exec_error));
  } while (got < 0 && errno == EINTR);
  ::close(report_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof(exec_error))) {
    kill_and_reap();
    return fmt::format("cannot execute {}: {}", path, strerror(exec_error));
  }
  if (!set_nonblocking(to_worker_) || !set_nonblocking(from_worker_)) {
    kill_and_reap();
    return fmt::format("fcntl: {}", strerror(errno));
  }
  if (starts_++ > 0) ++restarts_;
  calls_since_start_ = 0;
  return {};
}

void WorkerProcess::kill_and_reap() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);  // in case it never got its own group
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  close_fds();
}

std::string WorkerProcess::reap_after_eof() {
  // Wait without reaping, so the group id stays valid for the kill below.
  const auto give_up = Clock::now() + kExitGrace;
  bool exited = false;
  while (Clock::now() < give_up) {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid_) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Take down anything it left behind in its group (and itself, if it lingers).
  ::kill(-pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  close_fds();
  if (!exited) return "closed its output without exiting (killed)";
  if (WIFSIGNALED(status)) return signal_name(WTERMSIG(status));
  if (WIFEXITED(status)) return fmt::format("exit code {}", WEXITSTATUS(status));
  return fmt::format("wait status {}", status);
}

std::string WorkerProcess::stderr_tail() const {
  if (stderr_file_ < 0) return {};
  struct stat info {};
  if (fstat(stderr_file_, &info) != 0 || info.st_size <= 0) return {};
  const off_t size = info.st_size;
  const off_t start =
      size > static_cast<off_t>(kStderrTailBytes) ? size - static_cast<off_t>(kStderrTailBytes) : 0;
  std::string tail(static_cast<size_t>(size - start), '\0');
  size_t done = 0;
  while (done < tail.size()) {
    const ssize_t got = pread(stderr_file_, tail.data() + done, tail.size() - done,
                              start + static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    done += static_cast<size_t>(got);
  }
  tail.resize(done);
  // Terminal colour codes (ORT colours its error lines) are noise in case files.
  std::string plain;
  plain.reserve(tail.size());
  for (size_t i = 0; i < tail.size(); ++i) {
    if (tail[i] == '\x1b' && i + 1 < tail.size() && tail[i + 1] == '[') {
      i += 2;
      while (i < tail.size() && !std::isalpha(static_cast<unsigned char>(tail[i]))) ++i;
      continue;
    }
    plain += tail[i];
  }
  return plain;
}

int64_t WorkerProcess::resident_bytes() const {
  if (pid_ <= 0) return 0;
  const std::string path = fmt::format("/proc/{}/statm", pid_);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buffer[128];
  ssize_t got;
  do {
    got = ::read(fd, buffer, sizeof(buffer) - 1);
  } while (got < 0 && errno == EINTR);
  ::close(fd);
  if (got <= 0) return 0;
  buffer[got] = '\0';
  long long total_pages = 0, resident_pages = 0;
  if (std::sscanf(buffer, "%lld %lld", &total_pages, &resident_pages) != 2) return 0;
  return resident_pages * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

CallResult WorkerProcess::call(const std::string& request_payload, double timeout_seconds) {
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(std::max(0.0, timeout_seconds)));
  CallResult result;
  auto finish = [&](CallOutcome outcome, std::string message) {
    result.outcome = outcome;
    result.message = std::move(message);
    if (outcome != CallOutcome::kResponse && outcome != CallOutcome::kSpawnFailed) {
      result.stderr_tail = stderr_tail();
    }
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
  };

  if (request_payload.size() > kMaxFrameBytes) {
    return finish(
        CallOutcome::kProtocolError,
        fmt::format("request of {} bytes exceeds the frame limit", request_payload.size()));
  }
  // Before a spawn too: what a fresh worker writes while starting belongs to this call.
  if (stderr_file_ >= 0) (void)!::ftruncate(stderr_file_, 0);
  if (pid_ > 0 && recycle_after_calls_ > 0 && calls_since_start_ >= recycle_after_calls_) {
    kill_and_reap();
    ++recycles_;
  }
  if (pid_ <= 0) {
    if (std::string error = spawn(); !error.empty()) {
      result.stderr_tail = stderr_tail();
      return finish(CallOutcome::kSpawnFailed, std::move(error));
    }
  }

  std::string frame;
  frame.reserve(4 + request_payload.size());
  const auto length = static_cast<uint32_t>(request_payload.size());
  frame.append(reinterpret_cast<const char*>(&length), sizeof(length));
  frame.append(request_payload);
  size_t written = 0;

  // The response is read while the request is still being written: a worker may answer
  // (or echo) early, and a full stdout pipe must not deadlock against a full stdin pipe.
  std::string response;
  uint32_t response_length = 0;
  bool have_length = false;
  const int64_t limit_bytes = memory_limit_mb_ * 1024 * 1024;
  ++calls_since_start_;
  auto next_sample = calls_++ % kSampleEveryCalls == 0 ? start : start + kFirstSampleDelay;
  // One read buffer for the worker's life, not a fresh zeroed 64 KB one per call.
  std::vector<char>& chunk = io_chunk_;
  if (chunk.size() != kIoChunk) chunk.resize(kIoChunk);

  while (true) {
    auto now = Clock::now();
    if (now >= next_sample) {
      if (memory_limit_mb_ > 0 && resident_bytes() > limit_bytes) {
        kill_and_reap();
        return finish(CallOutcome::kMemoryLimit,
                      fmt::format("memory limit {} MB exceeded", memory_limit_mb_));
      }
      next_sample = now + kMemorySamplePeriod;
    }
    if (now >= deadline) {
      kill_and_reap();
      return finish(CallOutcome::kTimeout, fmt::format("timed out after {:g} s", timeout_seconds));
    }

    const auto wake = std::min(deadline, next_sample);
    const auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();
    pollfd fds[2];
    nfds_t count = 0;
    const bool writing = written < frame.size();
    if (writing) fds[count++] = {to_worker_, POLLOUT, 0};
    const nfds_t read_index = count;
    fds[count++] = {from_worker_, POLLIN, 0};
    const int ready = poll(fds, count, static_cast<int>(std::max<int64_t>(wait_ms, 1)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      kill_and_reap();
      return finish(CallOutcome::kProtocolError, fmt::format("poll: {}", strerror(error)));
    }
    if (ready == 0) continue;

    if (writing && fds[0].revents != 0) {
      const size_t n = std::min(kIoChunk, frame.size() - written);
      const ssize_t wrote = ::write(to_worker_, frame.data() + written, n);
      if (wrote > 0) {
        written += static_cast<size_t>(wrote);
      } else if (wrote < 0 && errno != EINTR && errno != EAGAIN) {
        // EPIPE (or worse): the worker is gone or stopped reading; find out how it ended.
        return finish(CallOutcome::kDied, reap_after_eof());
      }
    }

    if (fds[read_index].revents != 0) {
      const ssize_t got = ::read(from_worker_, chunk.data(), chunk.size());
      if (got == 0) return finish(CallOutcome::kDied, reap_after_eof());
      if (got < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        const int error = errno;
        kill_and_reap();
        return finish(CallOutcome::kProtocolError, fmt::format("read: {}", strerror(error)));
      }
      response.append(chunk.data(), static_cast<size_t>(got));
      if (!have_length && response.size() >= sizeof(uint32_t)) {
        std::memcpy(&response_length, response.data(), sizeof(response_length));
        have_length = true;
        if (response_length > kMaxFrameBytes) {
          kill_and_reap();
          return finish(CallOutcome::kProtocolError,
                        fmt::format("response frame length {} exceeds the limit", response_length));
        }
      }
      if (have_length) {
        const size_t total = sizeof(uint32_t) + response_length;
        if (response.size() > total) {
          kill_and_reap();
          return finish(
              CallOutcome::kProtocolError,
              fmt::format("{} unexpected bytes after the response frame", response.size() - total));
        }
      }
    }

    if (have_length && response.size() == sizeof(uint32_t) + response_length &&
        written == frame.size()) {
      result.payload = response.substr(sizeof(uint32_t));
      return finish(CallOutcome::kResponse, {});
    }
  }
}

}  // namespace onnxfuzz
