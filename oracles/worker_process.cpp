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
#include <stdexcept>
#include <thread>
#include <utility>

#include "oracles/worker_paths.h"
#include "oracles/worker_protocol.h"

extern char** environ;

namespace onnxfuzz {
namespace {

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

// Kills a worker's process group (and the worker, in case it never got its own group) and
// reaps the worker.
void kill_and_wait(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
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
  close_fd(live_.err);
  end_process(spare_);
}

void WorkerProcess::close_fds() {
  close_fd(live_.to);
  close_fd(live_.from);
  // What was handed to this worker and not answered goes to the next one.
  handed_ = 0;
  idle_since_ = {};
  outbox_.clear();
  outbox_written_ = 0;
  inbox_.clear();
  stdin_closed_ = false;
}

std::string WorkerProcess::launch(Process& out) const {
  if (command_.argv.empty()) return "empty worker command";

  const char* tmpdir = std::getenv("TMPDIR");
  std::string stderr_path = fmt::format("{}/onnxfuzz-worker-stderr-XXXXXX",
                                        tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp");
  // O_APPEND: the worker's writes follow the file's end, so truncating it at the start of each
  // call leaves exactly that call's stderr as evidence (and keeps a long campaign's file small).
  int stderr_file = mkostemp(stderr_path.data(), O_CLOEXEC | O_APPEND);
  if (stderr_file < 0) {
    return fmt::format("cannot create a stderr file in {}: {}", stderr_path, strerror(errno));
  }
  ::unlink(stderr_path.c_str());  // only the descriptors keep it alive

  int in_pipe[2], out_pipe[2], report_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    ::close(stderr_file);
    return fmt::format("pipe: {}", strerror(error));
  }
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    for (int fd : {in_pipe[0], in_pipe[1], stderr_file}) ::close(fd);
    return fmt::format("pipe: {}", strerror(error));
  }
  if (pipe2(report_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], stderr_file}) ::close(fd);
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
    exec_child(path.c_str(), argv.data(), envp.data(), in_pipe[0], out_pipe[1], stderr_file,
               report_pipe[1]);
  }
  const int fork_error = errno;
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(report_pipe[1]);
  if (pid < 0) {
    for (int fd : {in_pipe[1], out_pipe[0], report_pipe[0], stderr_file}) ::close(fd);
    return fmt::format("fork: {}", strerror(fork_error));
  }
  // Also set the group from this side so a kill right after fork cannot miss the child.
  setpgid(pid, pid);
  out = Process{pid, in_pipe[1], out_pipe[0], stderr_file};

  // The report pipe closes at a successful exec (O_CLOEXEC) or carries execve's errno.
  int exec_error = 0;
  ssize_t got;
  do {
    got = ::read(report_pipe[0], &exec_error, sizeof(exec_error));
  } while (got < 0 && errno == EINTR);
  ::close(report_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof(exec_error))) {
    end_process(out);
    return fmt::format("cannot execute {}: {}", path, strerror(exec_error));
  }
  if (!set_nonblocking(out.to) || !set_nonblocking(out.from)) {
    const int error = errno;
    end_process(out);
    return fmt::format("fcntl: {}", strerror(error));
  }
  return {};
}

void WorkerProcess::end_process(Process& process) {
  if (process.pid > 0) kill_and_wait(process.pid);
  for (int* fd : {&process.to, &process.from, &process.err}) close_fd(*fd);
  process = Process{};
}

std::string WorkerProcess::spawn() {
  Process next;
  if (spare_.pid > 0) {
    // A spare that ended while it waited (a worker that dies at start) is replaced by a fresh
    // one, whose end is then this request's evidence.
    int status = 0;
    if (waitpid(spare_.pid, &status, WNOHANG) == 0) {
      next = std::exchange(spare_, Process{});
    } else {
      spare_.pid = -1;  // reaped
      end_process(spare_);
    }
  }
  if (next.pid <= 0) {
    if (std::string error = launch(next); !error.empty()) return error;
  }
  close_fd(live_.err);  // the ended worker's evidence
  live_ = next;
  stderr_mark_ = 0;
  if (starts_++ > 0) ++restarts_;
  calls_since_start_ = 0;
  // A failed start shows at the take-over, as the fresh worker's would.
  if (keep_spare_ && spare_.pid <= 0) (void)launch(spare_);
  return {};
}

void WorkerProcess::kill_and_reap() {
  if (live_.pid > 0) {
    kill_and_wait(live_.pid);
    live_.pid = -1;
  }
  close_fds();
}

std::string WorkerProcess::reap_after_eof() {
  // Wait without reaping, so the group id stays valid for the kill below.
  const auto give_up = Clock::now() + kExitGrace;
  bool exited = false;
  while (Clock::now() < give_up) {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(live_.pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == live_.pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Take down anything it left behind in its group (and itself, if it lingers).
  ::kill(-live_.pid, SIGKILL);
  int status = 0;
  while (waitpid(live_.pid, &status, 0) < 0 && errno == EINTR) {
  }
  live_.pid = -1;
  close_fds();
  if (!exited) return "closed its output without exiting (killed)";
  if (WIFSIGNALED(status)) return signal_name(WTERMSIG(status));
  if (WIFEXITED(status)) return fmt::format("exit code {}", WEXITSTATUS(status));
  return fmt::format("wait status {}", status);
}

std::string WorkerProcess::stderr_tail() const {
  if (live_.err < 0) return {};
  struct stat info {};
  if (fstat(live_.err, &info) != 0 || info.st_size <= 0) return {};
  const off_t size = info.st_size;
  const off_t start = std::max(static_cast<off_t>(std::min<int64_t>(stderr_mark_, size)),
                               size > static_cast<off_t>(kStderrTailBytes)
                                   ? size - static_cast<off_t>(kStderrTailBytes)
                                   : 0);
  std::string tail(static_cast<size_t>(size - start), '\0');
  size_t done = 0;
  while (done < tail.size()) {
    const ssize_t got = pread(live_.err, tail.data() + done, tail.size() - done,
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
  if (live_.pid <= 0) return 0;
  const std::string path = fmt::format("/proc/{}/statm", live_.pid);
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

int64_t WorkerProcess::stderr_size() const {
  struct stat info {};
  if (live_.err < 0 || fstat(live_.err, &info) != 0) return 0;
  return info.st_size;
}

WorkerProcess::Ticket WorkerProcess::send(std::string request_payload, double timeout_seconds) {
  const Ticket ticket = next_ticket_++;
  if (request_payload.size() > kMaxFrameBytes) {
    CallResult refused;
    refused.outcome = CallOutcome::kProtocolError;
    refused.message =
        fmt::format("request of {} bytes exceeds the frame limit", request_payload.size());
    answered_.emplace(ticket, std::move(refused));
    return ticket;
  }
  Request request;
  request.ticket = ticket;
  request.timeout_seconds = std::max(0.0, timeout_seconds);
  const auto length = static_cast<uint32_t>(request_payload.size());
  request.frame.reserve(sizeof(length) + request_payload.size());
  request.frame.append(reinterpret_cast<const char*>(&length), sizeof(length));
  request.frame.append(request_payload);
  // An idle worker's stderr so far belongs to no request: dropped, so that the file stays
  // small over a long campaign (a worker never idle is recycled, with a fresh file).
  if (queue_.empty() && live_.pid > 0) (void)!::ftruncate(live_.err, 0);
  queue_.push_back(std::move(request));
  ensure_worker();
  if (live_.pid > 0 && !stdin_closed_ && !flush_outbox()) stdin_closed_ = true;
  return ticket;
}

void WorkerProcess::ensure_worker() {
  while (!queue_.empty()) {
    if (live_.pid > 0 && handed_ == 0 && recycle_after_calls_ > 0 &&
        calls_since_start_ >= recycle_after_calls_) {
      kill_and_reap();
      ++recycles_;
    }
    if (live_.pid > 0) {
      hand_over();
      return;
    }
    if (std::string error = spawn(); !error.empty()) {
      charge_oldest(CallOutcome::kSpawnFailed, std::move(error));
      continue;
    }
    hand_over(/*fresh_worker=*/true);
    return;
  }
}

void WorkerProcess::hand_over(bool fresh_worker) {
  const bool was_idle = handed_ == 0;
  while (handed_ < queue_.size() &&
         (recycle_after_calls_ == 0 || calls_since_start_ < recycle_after_calls_)) {
    outbox_ += queue_[handed_++].frame;
    ++calls_since_start_;
  }
  if (was_idle && handed_ > 0) {
    if (idle_since_ != Clock::time_point{}) {
      idle_seconds_ += std::chrono::duration<double>(Clock::now() - idle_since_).count();
      idle_since_ = {};
    }
    start_oldest(fresh_worker);
  }
}

void WorkerProcess::start_oldest(bool fresh_worker) {
  const auto now = Clock::now();
  oldest_start_ = now;
  // Everything a fresh worker wrote since it started is evidence for its first request.
  stderr_mark_ = fresh_worker ? 0 : stderr_size();
  // /proc/<pid>/statm costs an open/read/close per sample: a short request is sampled only
  // if it lasts, and every kSampleEveryCalls-th at once (a leak that grows across requests).
  next_sample_ = calls_++ % kSampleEveryCalls == 0 ? now : now + kFirstSampleDelay;
}

bool WorkerProcess::flush_outbox() {
  while (outbox_written_ < outbox_.size()) {
    const size_t n = std::min(kIoChunk, outbox_.size() - outbox_written_);
    const ssize_t wrote = ::write(live_.to, outbox_.data() + outbox_written_, n);
    if (wrote > 0) {
      outbox_written_ += static_cast<size_t>(wrote);
    } else if (wrote < 0 && errno == EINTR) {
      continue;
    } else if (wrote < 0 && errno == EAGAIN) {
      return true;
    } else {
      return false;  // EPIPE (or worse): it stopped reading; its stdout says how it ended
    }
  }
  outbox_.clear();
  outbox_written_ = 0;
  return true;
}

void WorkerProcess::charge_oldest(CallOutcome outcome, std::string message, std::string payload) {
  CallResult result;
  result.outcome = outcome;
  result.message = std::move(message);
  result.payload = std::move(payload);
  if (oldest_start_ != Clock::time_point{}) {
    result.seconds = std::chrono::duration<double>(Clock::now() - oldest_start_).count();
  }
  oldest_start_ = {};
  const bool answered = outcome == CallOutcome::kResponse;
  if (!answered) {
    // Killed first: a hung or oversized worker's last words are evidence too.
    if (live_.pid > 0) kill_and_reap();
    // A model that ended one worker is seldom alone (a crash found is re-run to check and
    // minimize it): from now on a spare is started ahead, so that taking over costs no start.
    keep_spare_ = spare_allowed_ && outcome != CallOutcome::kSpawnFailed;
    if (keep_spare_ && spare_.pid <= 0) (void)launch(spare_);
    // A worker that never started has written nothing (the error says why); the file is the
    // one of the worker before it.
    if (outcome != CallOutcome::kSpawnFailed) result.stderr_tail = stderr_tail();
  }
  answered_.emplace(queue_.front().ticket, std::move(result));
  queue_.pop_front();
  if (!answered) return;
  if (--handed_ > 0) {
    start_oldest(/*fresh_worker=*/false);
  } else {
    idle_since_ = Clock::now();
  }
}

bool WorkerProcess::take_answers() {
  while (inbox_.size() >= sizeof(uint32_t)) {
    uint32_t length = 0;
    std::memcpy(&length, inbox_.data(), sizeof(length));
    if (handed_ == 0) {
      // An answer to no request: this worker is broken, though no request of the queue is
      // to blame (each had its one answer). The next request gets a fresh worker.
      kill_and_reap();
      return false;
    }
    if (length > kMaxFrameBytes) {
      charge_oldest(CallOutcome::kProtocolError,
                    fmt::format("response frame length {} exceeds the limit", length));
      return false;
    }
    if (inbox_.size() < sizeof(uint32_t) + length) return true;
    std::string payload = inbox_.substr(sizeof(uint32_t), length);
    inbox_.erase(0, sizeof(uint32_t) + length);
    charge_oldest(CallOutcome::kResponse, {}, std::move(payload));
  }
  return true;
}

void WorkerProcess::wait_once() {
  const Request& oldest = queue_.front();
  const auto now = Clock::now();
  bool over_memory = false;
  if (now >= next_sample_) {
    over_memory = memory_limit_mb_ > 0 && resident_bytes() > memory_limit_mb_ * 1024 * 1024;
    next_sample_ = over_memory ? now : now + kMemorySamplePeriod;
  }
  const auto deadline = oldest_start_ + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(oldest.timeout_seconds));
  const bool overdue = now >= deadline;
  // Before the oldest request is charged with a timeout or the memory limit, what the worker
  // wrote meanwhile is read: a caller busy elsewhere (collecting another execution's result)
  // may come back late to an answer that came in time, and the worker may be past it.
  const bool charging = overdue || over_memory;
  const int64_t wait_ms =
      charging ? 0
               : std::max<int64_t>(1, std::chrono::ceil<std::chrono::milliseconds>(
                                          std::min(deadline, next_sample_) - now)
                                          .count());
  pollfd fds[2];
  nfds_t count = 0;
  const bool writing = !stdin_closed_ && outbox_written_ < outbox_.size();
  if (writing) fds[count++] = {live_.to, POLLOUT, 0};
  const nfds_t read_index = count;
  fds[count++] = {live_.from, POLLIN, 0};
  const int ready = poll(fds, count, static_cast<int>(wait_ms));
  if (ready < 0) {
    const int error = errno;
    if (error != EINTR) {
      charge_oldest(CallOutcome::kProtocolError, fmt::format("poll: {}", strerror(error)));
    }
    return;
  }
  if (ready > 0 && writing && fds[0].revents != 0 && !flush_outbox()) stdin_closed_ = true;
  if (ready == 0 || fds[read_index].revents == 0) {
    if (over_memory) {
      charge_oldest(CallOutcome::kMemoryLimit,
                    fmt::format("memory limit {} MB exceeded", memory_limit_mb_));
    } else if (overdue) {
      charge_oldest(CallOutcome::kTimeout,
                    fmt::format("timed out after {:g} s", oldest.timeout_seconds));
    }
    return;
  }

  std::vector<char>& chunk = io_chunk_;
  if (chunk.size() != kIoChunk) chunk.resize(kIoChunk);
  const ssize_t got = ::read(live_.from, chunk.data(), chunk.size());
  if (got == 0) {
    // Every answer it wrote before it ended has been read: the oldest request ended it.
    charge_oldest(CallOutcome::kDied, reap_after_eof());
    return;
  }
  if (got < 0) {
    const int error = errno;
    if (error != EINTR && error != EAGAIN) {
      charge_oldest(CallOutcome::kProtocolError, fmt::format("read: {}", strerror(error)));
    }
    return;
  }
  inbox_.append(chunk.data(), static_cast<size_t>(got));
  take_answers();
}

CallResult WorkerProcess::receive(Ticket ticket) {
  while (true) {
    if (auto it = answered_.find(ticket); it != answered_.end()) {
      CallResult result = std::move(it->second);
      answered_.erase(it);
      return result;
    }
    if (std::none_of(queue_.begin(), queue_.end(),
                     [&](const Request& r) { return r.ticket == ticket; })) {
      throw std::invalid_argument(fmt::format("worker ticket {} is not outstanding", ticket));
    }
    ensure_worker();
    if (answered_.count(ticket) == 0) wait_once();
  }
}

}  // namespace onnxfuzz
