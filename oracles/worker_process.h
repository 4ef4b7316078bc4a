// WorkerProcess: a child process that runs untrusted models, with time and memory limits.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace onnxfuzz {

// What to start. argv[0] is looked up in PATH when it has no '/'.
struct WorkerCommand {
  std::vector<std::string> argv;
  std::vector<std::string> extra_env;  // "NAME=value", added to (and overriding) ours
};

enum class CallOutcome {
  kResponse,       // a complete response frame arrived; see `payload`
  kTimeout,        // no response before the deadline; the process group was killed
  kDied,           // the worker exited or was killed by a signal; see `message`
  kMemoryLimit,    // resident memory went over the limit; the process group was killed
  kProtocolError,  // the worker wrote something that is not a frame; it was killed
  kSpawnFailed,    // the command could not be started (environment problem, not a finding)
};
std::string_view call_outcome_name(CallOutcome outcome);

struct CallResult {
  CallOutcome outcome = CallOutcome::kResponse;
  std::string payload;      // the response payload, for kResponse
  std::string message;      // "SIGSEGV", "exit code 3", "memory limit 64 MB exceeded", ...
  std::string stderr_tail;  // the last few KB the worker wrote to stderr (evidence)
  double seconds = 0;       // wall time of the call, including a (re)start
};

// Owns one worker at a time. The worker is started lazily by the first call and restarted
// transparently by the call after a death or kill. Not thread-safe: one caller at a time.
class WorkerProcess {
 public:
  // A worker serves `recycle_after_calls` calls (0: no limit) and is then recycled: the next
  // call starts a fresh one, so what a backend leaks across models cannot grow for the length
  // of a campaign.
  WorkerProcess(WorkerCommand command, int64_t memory_limit_mb,
                uint64_t recycle_after_calls = kDefaultRecycleAfterCalls);
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Sends one request frame and waits for the response frame until `timeout_seconds` pass.
  CallResult call(const std::string& request_payload, double timeout_seconds);

  // Times the worker was started again after the first start (recycles included).
  int restarts() const { return restarts_; }
  // Times a healthy worker was retired after its calls and replaced by a fresh one.
  int recycles() const { return recycles_; }
  // Process id of the live worker, or -1.
  pid_t pid() const { return pid_; }
  const WorkerCommand& command() const { return command_; }

  // How much of stderr is kept as evidence.
  static constexpr size_t kStderrTailBytes = 4096;
  // Calls one worker serves before it is recycled, by default.
  static constexpr uint64_t kDefaultRecycleAfterCalls = 20000;

 private:
  std::string spawn();  // empty on success, else why it failed
  void kill_and_reap();
  // Waits for an exited (or about to exit) worker and describes how it ended.
  std::string reap_after_eof();
  std::string stderr_tail() const;
  int64_t resident_bytes() const;
  void close_fds();

  WorkerCommand command_;
  int64_t memory_limit_mb_;
  uint64_t recycle_after_calls_;
  pid_t pid_ = -1;
  int to_worker_ = -1;    // write end of the worker's stdin
  int from_worker_ = -1;  // read end of the worker's stdout
  int stderr_file_ = -1;  // unlinked temp file the worker's stderr goes to
  int starts_ = 0;
  int restarts_ = 0;
  int recycles_ = 0;
  uint64_t calls_ = 0;
  uint64_t calls_since_start_ = 0;
  std::vector<char> io_chunk_;  // read buffer of call()
};

// "SIGSEGV", "SIGKILL", ... or "signal N" for the uncommon ones.
std::string signal_name(int signal);

}  // namespace onnxfuzz
