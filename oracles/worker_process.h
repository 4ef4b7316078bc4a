// WorkerProcess: a child process that runs untrusted models, with time and memory limits.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
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

// Owns one worker at a time. The worker is started lazily and restarted transparently after a
// death or kill. Not thread-safe: one caller at a time.
//
// Calls are pipelined: send() hands a request to the worker and returns without waiting for the
// answer, so that the caller can prepare the next model while the worker runs this one and the
// worker finds its next request waiting when it is done. The worker answers requests one at a
// time, in the order sent. Hence:
//   - a request's time limit runs from the moment the worker is done with the one before;
//   - a worker that dies, hangs, outgrows its memory limit or writes garbage is charged to the
//     oldest unanswered request, and the requests behind it go to a fresh worker;
//   - answers for other tickets that arrive while receive() waits are kept until asked for.
class WorkerProcess {
 public:
  using Ticket = uint64_t;

  // A worker serves `recycle_after_calls` calls (0: no limit) and is then recycled: the next
  // call starts a fresh one, so what a backend leaks across models cannot grow for the length
  // of a campaign.
  WorkerProcess(WorkerCommand command, int64_t memory_limit_mb,
                uint64_t recycle_after_calls = kDefaultRecycleAfterCalls);
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Queues one request frame, starts the worker if none runs, and writes what the pipe takes
  // without blocking (the rest is written while receive() waits). Its time limit is
  // `timeout_seconds` from the moment the worker can start on it.
  Ticket send(std::string request_payload, double timeout_seconds);
  // Waits for the answer to `ticket`, once per ticket (an unknown or received one is a caller
  // bug: std::invalid_argument).
  CallResult receive(Ticket ticket);
  // One request and its answer.
  CallResult call(std::string request_payload, double timeout_seconds) {
    return receive(send(std::move(request_payload), timeout_seconds));
  }
  // Whether to keep a spare worker started ahead once a worker has died on a request (default:
  // yes). Taking over then costs no start; starting it costs a core meanwhile, which a machine
  // whose cores are all busy fuzzing does not have.
  void allow_spare(bool allowed) { spare_allowed_ = allowed; }
  // Tickets sent and not received yet.
  size_t outstanding() const { return queue_.size() + answered_.size(); }

  // Times the worker was started again after the first start (recycles included).
  int restarts() const { return restarts_; }
  // Times a healthy worker was retired after its calls and replaced by a fresh one.
  int recycles() const { return recycles_; }
  // Time a live worker had no request to work on: from reading its last answer (or its start)
  // to the next send. What a caller's own work between two requests costs in throughput.
  double idle_seconds() const { return idle_seconds_; }
  // Process id of the live worker, or -1.
  pid_t pid() const { return live_.pid; }
  const WorkerCommand& command() const { return command_; }

  // How much of stderr is kept as evidence.
  static constexpr size_t kStderrTailBytes = 4096;
  // Calls one worker serves before it is recycled, by default.
  static constexpr uint64_t kDefaultRecycleAfterCalls = 20000;

 private:
  using Clock = std::chrono::steady_clock;
  struct Request {
    Ticket ticket = 0;
    std::string frame;  // length prefix and payload: written again to a fresh worker if need be
    double timeout_seconds = 0;
  };

  // One started worker process: its pid, the write end of its stdin, the read end of its
  // stdout, and the unlinked file its stderr goes to.
  struct Process {
    pid_t pid = -1;
    int to = -1;
    int from = -1;
    int err = -1;
  };
  // Starts the command as a process of its own group; empty on success, else why it failed.
  std::string launch(Process& out) const;
  static void end_process(Process& process);  // kills, reaps, closes
  // Makes a worker the live one: the spare if it is still up, else a fresh one; then starts
  // the next spare if spares are kept. Empty on success, else why it failed.
  std::string spawn();
  void kill_and_reap();
  // Waits for an exited (or about to exit) worker and describes how it ended.
  std::string reap_after_eof();
  // The worker's stderr since the oldest unanswered request started: its last
  // kStderrTailBytes, terminal colour codes removed.
  std::string stderr_tail() const;
  int64_t stderr_size() const;
  int64_t resident_bytes() const;
  void close_fds();

  // Starts a worker when requests wait and none runs (recycling a worker that served its
  // calls), and hands it the waiting requests. A spawn failure is charged to the oldest.
  void ensure_worker();
  // Appends waiting requests to the outbox of the live worker, up to its recycling limit.
  void hand_over(bool fresh_worker = false);
  // The oldest request is now the worker's: its clock, memory sampling and stderr start.
  void start_oldest(bool fresh_worker);
  // Writes what the pipe takes of the outbox; false if the worker no longer reads (EPIPE).
  bool flush_outbox();
  // Cuts whole answer frames out of the inbox and files them under their tickets; false (and
  // the oldest request charged) on a frame nothing asked for or one over the size limit.
  bool take_answers();
  // Files `outcome` as the oldest request's result. Any outcome but a response ended the
  // worker: what was handed to it goes to the next one.
  void charge_oldest(CallOutcome outcome, std::string message, std::string payload = {});
  // One wait of receive(): a poll round under the oldest request's deadline.
  void wait_once();

  WorkerCommand command_;
  int64_t memory_limit_mb_;
  uint64_t recycle_after_calls_;
  // The live worker. Its stderr file stays open after it ended: the evidence of its end.
  Process live_;
  int starts_ = 0;
  int restarts_ = 0;
  int recycles_ = 0;
  uint64_t calls_ = 0;
  uint64_t calls_since_start_ = 0;

  // After a worker ended on a request (crash, hang, memory): a started worker held ready, which
  // takes over at once instead of paying the start (for ORT: Node and the library, ~0.2 s).
  bool keep_spare_ = false;
  bool spare_allowed_ = true;
  Process spare_;

  std::deque<Request> queue_;  // sent and unanswered, oldest first
  size_t handed_ = 0;          // queue_[0, handed_) are the live worker's
  std::string outbox_;         // bytes handed to the live worker and not written yet
  size_t outbox_written_ = 0;
  bool stdin_closed_ = false;  // the worker stopped reading (EPIPE): its stdout tells the rest
  std::string inbox_;          // bytes read from the worker, not a whole frame yet
  std::unordered_map<Ticket, CallResult> answered_;
  Ticket next_ticket_ = 1;
  Clock::time_point oldest_start_{};  // when the worker could start on queue_.front()
  Clock::time_point next_sample_{};
  Clock::time_point idle_since_{};  // while a live worker has nothing handed to it
  double idle_seconds_ = 0;
  int64_t stderr_mark_ = 0;      // stderr size when queue_.front() started
  std::vector<char> io_chunk_;   // read buffer, kept for the worker's life
};

// "SIGSEGV", "SIGKILL", ... or "signal N" for the uncommon ones.
std::string signal_name(int signal);

}  // namespace onnxfuzz
