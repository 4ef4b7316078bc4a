// Tests for the worker protocol, WorkerProcess limits and outcomes, and the worker executions.
#include "oracles/worker_process.h"

#include <dirent.h>
#include <errno.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "generators/model_io.h"
#include "oracles/execution.h"
#include "oracles/worker_execution.h"
#include "oracles/worker_paths.h"
#include "oracles/worker_protocol.h"

namespace onnxfuzz {
namespace {

// ---------------------------------------------------------------------------------------
// Protocol

template <class T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

// A raw tensor record, so garbage cases can get every field wrong independently.
std::string record(std::string_view name, int32_t elem_type, std::vector<int64_t> dims,
                   uint64_t byte_length, size_t data_bytes) {
  std::string out;
  put<uint32_t>(out, static_cast<uint32_t>(name.size()));
  out.append(name);
  put<int32_t>(out, elem_type);
  put<uint32_t>(out, static_cast<uint32_t>(dims.size()));
  for (int64_t d : dims) put<int64_t>(out, d);
  put<uint64_t>(out, byte_length);
  out.append(data_bytes, '\x01');
  return out;
}

Tensor tensor_of(DType dtype, Shape shape) {
  Tensor t = Tensor::zeros(dtype, std::move(shape));
  for (size_t i = 0; i < t.bytes.size(); ++i) t.bytes[i] = static_cast<std::byte>(i * 7 + 1);
  return t;
}

WorkerRequest sample_request() {
  WorkerRequest request;
  request.kind = kRequestRun;
  request.model_bytes = std::string("model\0bytes", 11);
  request.inputs = {
      NamedTensor{"f", Tensor::of_floats({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6})},
      NamedTensor{"i64", Tensor::of_int64s({}, std::vector<int64_t>{-5})},
      NamedTensor{"b", Tensor::of_bools({0}, std::span<const bool>{})},
      NamedTensor{"d", tensor_of(DType::kDouble, {3})},
      NamedTensor{"u8", tensor_of(DType::kUint8, {2, 2})},
      NamedTensor{"i8", tensor_of(DType::kInt8, {1})},
      NamedTensor{"i32", tensor_of(DType::kInt32, {2, 1, 2})},
  };
  return request;
}

void expect_same(const std::vector<NamedTensor>& a, const std::vector<NamedTensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_TRUE(a[i].value == b[i].value) << a[i].name;
  }
}

TEST(WorkerProtocol, RequestRoundTrip) {
  const WorkerRequest request = sample_request();
  auto decoded = decode_request(encode_request(request));
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(decoded->kind, kRequestRun);
  EXPECT_EQ(decoded->model_bytes, request.model_bytes);
  expect_same(decoded->inputs, request.inputs);

  WorkerRequest version;
  version.kind = kRequestVersion;
  auto decoded_version = decode_request(encode_request(version));
  ASSERT_TRUE(decoded_version) << decoded_version.error();
  EXPECT_EQ(decoded_version->kind, kRequestVersion);
}

// The run request WorkerExecution sends is written straight from the model and the input map:
// byte for byte encode_request's, inputs in the map's order.
TEST(WorkerProtocol, RunRequestEncodesAsEncodeRequest) {
  WorkerRequest request = sample_request();
  TensorMap inputs;
  for (const NamedTensor& input : request.inputs) inputs.emplace(input.name, input.value);
  request.inputs.clear();
  for (const auto& [name, value] : inputs) request.inputs.push_back({name, value});
  EXPECT_EQ(encode_run_request(request.model_bytes, inputs), encode_request(request));
  request.inputs.clear();
  EXPECT_EQ(encode_run_request(request.model_bytes, {}), encode_request(request));
}

// A run variant is its JSON, then exactly the run request's payload after the kind.
TEST(WorkerProtocol, RunVariantRoundTrip) {
  WorkerRequest request = sample_request();
  TensorMap inputs;
  for (const NamedTensor& input : request.inputs) inputs.emplace(input.name, input.value);
  const RunVariant variant{"disabled", {"GemmTransposeFusion", "ConstantFolding"}};
  const std::string payload = encode_run_variant_request(variant, request.model_bytes, inputs);
  uint32_t kind = 0;
  std::memcpy(&kind, payload.data(), sizeof(kind));
  EXPECT_EQ(kind, kRequestRunVariant);
  auto decoded = decode_run_variant(std::string_view(payload).substr(sizeof(kind)));
  ASSERT_TRUE(decoded.has_value()) << decoded.error();
  EXPECT_EQ(decoded->first.level, "disabled");
  EXPECT_EQ(decoded->first.disable, variant.disable);
  EXPECT_EQ(decoded->second, encode_run_request(request.model_bytes, inputs).substr(sizeof(kind)));
  EXPECT_FALSE(decode_run_variant("\x05").has_value());
  EXPECT_FALSE(decode_run_variant(std::string("\x02\0\0\0[]", 6)).has_value());
}

TEST(WorkerProtocol, ResponseRoundTrip) {
  WorkerResponse ok;
  ok.outputs = sample_request().inputs;
  auto decoded = decode_response(encode_response(ok));
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(decoded->status, kResponseOk);
  expect_same(decoded->outputs, ok.outputs);

  WorkerResponse version;
  version.text = "planted-faults 1";
  auto decoded_version = decode_response(encode_response(version));
  ASSERT_TRUE(decoded_version) << decoded_version.error();
  EXPECT_EQ(decoded_version->text, "planted-faults 1");
  EXPECT_TRUE(decoded_version->outputs.empty());

  WorkerResponse error;
  error.status = kResponseError;
  error.text = "Add: shapes do not broadcast";
  auto decoded_error = decode_response(encode_response(error));
  ASSERT_TRUE(decoded_error) << decoded_error.error();
  EXPECT_EQ(decoded_error->status, kResponseError);
  EXPECT_EQ(decoded_error->text, error.text);

  auto decoded_empty = decode_response(encode_response(WorkerResponse{}));
  ASSERT_TRUE(decoded_empty) << decoded_empty.error();
  EXPECT_TRUE(decoded_empty->outputs.empty());
}

TEST(WorkerProtocol, GarbageIsAnErrorValue) {
  auto u32 = [](uint32_t v) {
    std::string s;
    put(s, v);
    return s;
  };
  const std::string run = u32(kRequestRun) + u32(0);  // kind, empty model
  const std::string ok = u32(kResponseOk);
  struct Row {
    std::string what;
    bool is_request;
    std::string payload;
  };
  const std::vector<Row> rows = {
      {"empty request", true, ""},
      {"short kind", true, "\x01\x00"},
      {"unknown kind", true, u32(7)},
      {"model length past end", true, u32(kRequestRun) + u32(100) + "abc"},
      {"missing input count", true, run},
      {"huge input count", true, run + u32(0xffffffff)},
      {"unsupported elem_type", true, run + u32(1) + record("x", 8, {1}, 4, 4)},
      {"negative elem_type", true, run + u32(1) + record("x", -1, {1}, 4, 4)},
      {"negative dim", true, run + u32(1) + record("x", 1, {-2}, 0, 0)},
      {"rank too large", true, run + u32(1) + record("x", 1, std::vector<int64_t>(65, 1), 4, 4)},
      {"numel overflow", true,
       run + u32(1) + record("x", 1, {int64_t{1} << 40, int64_t{1} << 40}, 0, 0)},
      {"byte_length mismatch", true, run + u32(1) + record("x", 1, {2}, 4, 4)},
      {"data past end", true, run + u32(1) + record("x", 1, {2}, 8, 3)},
      {"name past end", true, run + u32(1) + u32(50) + "ab"},
      {"trailing bytes", true, run + u32(0) + "zz"},
      {"version with trailing bytes", true, u32(kRequestVersion) + "x"},
      {"empty response", false, ""},
      {"unknown status", false, u32(9) + u32(0)},
      {"error text past end", false, u32(kResponseError) + u32(10) + "abc"},
      {"ok with nothing", false, ok},
      {"ok text past end", false, ok + u32(5) + "ab"},
      {"ok record truncated", false, ok + u32(1) + record("y", 1, {3}, 12, 11)},
      {"ok trailing bytes", false, ok + u32(1) + record("y", 1, {1}, 4, 4) + "!"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    if (row.is_request) {
      EXPECT_FALSE(decode_request(row.payload));
    } else {
      EXPECT_FALSE(decode_response(row.payload));
    }
  }
}

TEST(WorkerProtocol, EveryTruncationAndByteFlipDecodesWithoutCrashing) {
  const std::string request = encode_request(sample_request());
  WorkerResponse response;
  response.outputs = sample_request().inputs;
  const std::string encoded_response = encode_response(response);
  for (size_t n = 0; n < request.size(); ++n) {
    EXPECT_FALSE(decode_request(request.substr(0, n))) << "request cut at " << n;
  }
  // The ok payload does not say whether it answers a run or a version query, so a cut run
  // answer can read as a version string; it must never yield outputs that were not all there.
  for (size_t n = 0; n < encoded_response.size(); ++n) {
    auto decoded = decode_response(encoded_response.substr(0, n));
    EXPECT_TRUE(!decoded || decoded->outputs.empty()) << "response cut at " << n;
  }
  // Flipped bytes may or may not decode; they must only never crash or over-read.
  for (size_t i = 0; i < request.size(); ++i) {
    std::string flipped = request;
    flipped[i] = static_cast<char>(flipped[i] ^ 0xff);
    (void)decode_request(flipped);
    (void)decode_response(flipped);
  }
}

TEST(WorkerProtocol, FramesOverAPipe) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_TRUE(write_frame(fds[1], "hello"));
  ASSERT_TRUE(write_frame(fds[1], ""));
  uint32_t too_big = kMaxFrameBytes + 1;
  ASSERT_EQ(write(fds[1], &too_big, sizeof(too_big)), 4);
  auto first = read_frame(fds[0]);
  ASSERT_TRUE(first) << first.error();
  EXPECT_EQ(*first, "hello");
  auto second = read_frame(fds[0]);
  ASSERT_TRUE(second) << second.error();
  EXPECT_EQ(*second, "");
  auto third = read_frame(fds[0]);
  ASSERT_FALSE(third);
  EXPECT_NE(third.error().find("exceeds"), std::string::npos) << third.error();

  uint32_t length = 10;
  ASSERT_EQ(write(fds[1], &length, sizeof(length)), 4);
  ASSERT_EQ(write(fds[1], "abc", 3), 3);
  close(fds[1]);
  auto truncated = read_frame(fds[0]);
  ASSERT_FALSE(truncated);
  EXPECT_NE(truncated.error().find("end of stream"), std::string::npos) << truncated.error();
  auto eof = read_frame(fds[0]);
  EXPECT_FALSE(eof);
  close(fds[0]);
}

// ---------------------------------------------------------------------------------------
// WorkerProcess against small shell commands

WorkerCommand sh(std::string script, std::vector<std::string> env = {}) {
  return WorkerCommand{{"/bin/sh", "-c", std::move(script)}, std::move(env)};
}

int open_fd_count() {
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.';
  closedir(dir);
  return count;
}

bool has_unreaped_children() {
  int status = 0;
  return !(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD);
}

// Gone or a zombie: killed, whether or not whoever inherited it has reaped it yet.
bool is_dead(pid_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren == std::string::npos || line.substr(paren + 2, 1) == "Z";
}

TEST(WorkerProcess, EchoesFramesIncludingLargeOnes) {
  // `cat` echoes the request frame, which is a valid response frame; a payload larger than
  // the pipe buffers checks that writing and reading proceed together.
  WorkerProcess worker(WorkerCommand{{"cat"}, {}}, 1024);
  const std::string small = "ping";
  std::string large(8 << 20, '\0');
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 31);
  for (const std::string* payload : std::vector<const std::string*>{&small, &large, &small}) {
    CallResult result = worker.call(*payload, 30);
    ASSERT_EQ(result.outcome, CallOutcome::kResponse) << result.message;
    EXPECT_TRUE(result.payload == *payload);
  }
  EXPECT_EQ(worker.restarts(), 0);
}

TEST(WorkerProcess, IsRecycledAfterItsCalls) {
  WorkerProcess worker(WorkerCommand{{"cat"}, {}}, 1024, /*recycle_after_calls=*/3);
  std::vector<pid_t> pids;
  for (int i = 0; i < 7; ++i) {
    CallResult result = worker.call("ping", 30);
    ASSERT_EQ(result.outcome, CallOutcome::kResponse) << result.message;
    EXPECT_EQ(result.payload, "ping");
    pids.push_back(worker.pid());
  }
  // Calls 1-3 on the first worker, 4-6 on the second, 7 on the third.
  EXPECT_EQ(pids[0], pids[2]);
  EXPECT_NE(pids[2], pids[3]);
  EXPECT_EQ(pids[3], pids[5]);
  EXPECT_NE(pids[5], pids[6]);
  EXPECT_EQ(worker.recycles(), 2);
  EXPECT_EQ(worker.restarts(), 2);
}

// Requests sent before any answer is asked for: each ticket gets its own answer, in whatever
// order they are received, a large one included.
TEST(WorkerProcess, PipelinedRequestsKeepTheirOwnAnswers) {
  WorkerProcess worker(WorkerCommand{{"cat"}, {}}, 1024);
  std::vector<std::string> payloads = {"first", std::string(8 << 20, 'L'), "third", "fourth"};
  for (size_t i = 0; i < payloads[1].size(); ++i) payloads[1][i] = static_cast<char>(i * 7);
  std::vector<WorkerProcess::Ticket> tickets;
  for (const auto& payload : payloads) tickets.push_back(worker.send(payload, 30));
  EXPECT_EQ(worker.outstanding(), 4u);
  for (size_t i : {2, 0, 3, 1}) {
    SCOPED_TRACE(i);
    CallResult result = worker.receive(tickets[i]);
    ASSERT_EQ(result.outcome, CallOutcome::kResponse) << result.message;
    EXPECT_TRUE(result.payload == payloads[i]);
  }
  EXPECT_EQ(worker.outstanding(), 0u);
  EXPECT_EQ(worker.restarts(), 0);
  EXPECT_THROW(worker.receive(tickets[0]), std::invalid_argument);  // once per ticket
}

// A worker serves its calls and no more, even when more are waiting: the rest go to the next.
TEST(WorkerProcess, PipelinedRequestsPastTheRecyclingLimitGoToTheNextWorker) {
  WorkerProcess worker(WorkerCommand{{"cat"}, {}}, 1024, /*recycle_after_calls=*/3);
  std::vector<WorkerProcess::Ticket> tickets;
  for (int i = 0; i < 7; ++i) tickets.push_back(worker.send(fmt::format("request {}", i), 30));
  for (int i = 0; i < 7; ++i) {
    CallResult result = worker.receive(tickets[i]);
    ASSERT_EQ(result.outcome, CallOutcome::kResponse) << result.message;
    EXPECT_EQ(result.payload, fmt::format("request {}", i));
  }
  EXPECT_EQ(worker.recycles(), 2);
  EXPECT_EQ(worker.restarts(), 2);
}

// The worker idles between an answer and the next request: the caller's own work.
TEST(WorkerProcess, CountsTheTimeItsWorkerHadNothingToDo) {
  WorkerProcess worker(WorkerCommand{{"cat"}, {}}, 1024);
  ASSERT_EQ(worker.call("warm up", 30).outcome, CallOutcome::kResponse);
  EXPECT_EQ(worker.idle_seconds(), 0.0);  // nothing sent after an answer yet
  usleep(100000);
  ASSERT_EQ(worker.call("after a pause", 30).outcome, CallOutcome::kResponse);
  EXPECT_GE(worker.idle_seconds(), 0.1);
  EXPECT_LT(worker.idle_seconds(), 5.0);
}

TEST(WorkerProcess, CrashIsReportedWithSignalNameAndStderrThenRestarted) {
  WorkerProcess worker(sh("echo 'boom from worker' >&2; kill -SEGV $$"), 1024);
  CallResult first = worker.call("x", 10);
  EXPECT_EQ(first.outcome, CallOutcome::kDied);
  EXPECT_EQ(first.message, "SIGSEGV");
  EXPECT_NE(first.stderr_tail.find("boom from worker"), std::string::npos) << first.stderr_tail;
  EXPECT_EQ(worker.pid(), -1);

  CallResult second = worker.call("x", 10);
  EXPECT_EQ(second.outcome, CallOutcome::kDied);
  EXPECT_EQ(worker.restarts(), 1);
}

// After a worker ended on a request, a spare is started at once: the next request is served by
// a worker that has been starting meanwhile, not by one that starts only then.
TEST(WorkerProcess, ASpareStartedAfterAKillTakesOver) {
  // Half a second to start, then an echo.
  WorkerProcess worker(sh("sleep 0.5; exec cat"), 1024);
  CallResult first = worker.call("x", 0.1);
  ASSERT_EQ(first.outcome, CallOutcome::kTimeout);
  usleep(800000);
  // A fresh worker would still sleep through this limit.
  CallResult second = worker.call("ping", 0.3);
  ASSERT_EQ(second.outcome, CallOutcome::kResponse) << second.message;
  EXPECT_EQ(second.payload, "ping");
  EXPECT_EQ(worker.restarts(), 1);

  // Without spares the next worker starts only when a request needs it.
  WorkerProcess without(sh("sleep 0.5; exec cat"), 1024);
  without.allow_spare(false);
  ASSERT_EQ(without.call("x", 0.1).outcome, CallOutcome::kTimeout);
  usleep(800000);
  EXPECT_EQ(without.call("ping", 0.3).outcome, CallOutcome::kTimeout);
}

TEST(WorkerProcess, ExitCodeAndExtraEnvironment) {
  WorkerProcess worker(
      sh("echo \"flag=$ONNXFUZZ_TEST_FLAG\" >&2; exit 3", {"ONNXFUZZ_TEST_FLAG=on"}), 1024);
  CallResult result = worker.call("x", 10);
  EXPECT_EQ(result.outcome, CallOutcome::kDied);
  EXPECT_EQ(result.message, "exit code 3");
  EXPECT_NE(result.stderr_tail.find("flag=on"), std::string::npos) << result.stderr_tail;
}

TEST(WorkerProcess, StderrTailKeepsOnlyTheEnd) {
  WorkerProcess worker(sh("i=0; while [ $i -lt 2000 ]; do echo \"line $i\" >&2; i=$((i+1)); "
                          "done; echo LAST >&2; exit 1"),
                       1024);
  CallResult result = worker.call("x", 30);
  EXPECT_EQ(result.outcome, CallOutcome::kDied);
  EXPECT_LE(result.stderr_tail.size(), WorkerProcess::kStderrTailBytes);
  EXPECT_NE(result.stderr_tail.find("LAST"), std::string::npos);
  EXPECT_EQ(result.stderr_tail.find("line 0\n"), std::string::npos);
}

TEST(WorkerProcess, HangTimesOutWithinTheLimitAndTheNextCallRestarts) {
  WorkerProcess worker(sh("exec sleep 60"), 1024);
  CallResult first = worker.call("x", 0.5);
  EXPECT_EQ(first.outcome, CallOutcome::kTimeout);
  EXPECT_EQ(first.message, "timed out after 0.5 s");
  EXPECT_GE(first.seconds, 0.5);
  EXPECT_LT(first.seconds, 5.0);  // generous: the kill must not wait for the sleep
  EXPECT_EQ(worker.pid(), -1);

  CallResult second = worker.call("x", 0.2);
  EXPECT_EQ(second.outcome, CallOutcome::kTimeout);
  EXPECT_EQ(worker.restarts(), 1);
}

TEST(WorkerProcess, TimeoutKillsTheWholeProcessGroup) {
  // The shell starts `sleep` as a grandchild and reports its pid; killing only the shell
  // would leave it running.
  WorkerProcess worker(sh("sleep 60 & echo \"grandchild $!\" >&2; wait"), 1024);
  CallResult result = worker.call("x", 0.5);
  ASSERT_EQ(result.outcome, CallOutcome::kTimeout);
  const size_t at = result.stderr_tail.find("grandchild ");
  ASSERT_NE(at, std::string::npos) << result.stderr_tail;
  const pid_t grandchild = std::atoi(result.stderr_tail.c_str() + at + 11);
  ASSERT_GT(grandchild, 0);
  // Killed at once, but reaped by init a moment later (a zombie still answers kill 0).
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = is_dead(grandchild);
    if (!gone) usleep(10000);
  }
  EXPECT_TRUE(gone) << "grandchild " << grandchild << " survived";
}

TEST(WorkerProcess, MemoryLimitIsEnforced) {
  // awk doubles a string up to 256 MB and then spins: far above the 64 MB limit.
  WorkerProcess worker(
      sh("exec awk 'BEGIN { s = \"x\"; while (length(s) < 268435456) s = s s; while (1) {} }'"),
      64);
  CallResult result = worker.call("x", 30);
  EXPECT_EQ(result.outcome, CallOutcome::kMemoryLimit);
  EXPECT_EQ(result.message, "memory limit 64 MB exceeded");
  EXPECT_LT(result.seconds, 20.0);
  EXPECT_EQ(worker.pid(), -1);
}

TEST(WorkerProcess, GarbageOnStdoutIsAProtocolError) {
  WorkerProcess worker(sh("printf '\\377\\377\\377\\377'; exec sleep 60"), 1024);
  CallResult result = worker.call("x", 10);
  EXPECT_EQ(result.outcome, CallOutcome::kProtocolError);
  EXPECT_NE(result.message.find("exceeds"), std::string::npos) << result.message;
  EXPECT_LT(result.seconds, 5.0);
}

TEST(WorkerProcess, MissingProgramIsASpawnFailure) {
  WorkerProcess worker(WorkerCommand{{"/nonexistent/onnxfuzz-worker"}, {}}, 1024);
  CallResult result = worker.call("x", 10);
  EXPECT_EQ(result.outcome, CallOutcome::kSpawnFailed);
  EXPECT_NE(result.message.find("/nonexistent/onnxfuzz-worker"), std::string::npos)
      << result.message;
}

TEST(WorkerProcess, LeavesNoZombiesAndNoDescriptors) {
  ASSERT_FALSE(has_unreaped_children());
  const int fds_before = open_fd_count();
  {
    WorkerProcess crashing(sh("kill -SEGV $$"), 1024);
    WorkerProcess hanging(sh("exec sleep 60"), 1024);
    WorkerProcess echoing(WorkerCommand{{"cat"}, {}}, 1024);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(crashing.call("x", 10).outcome, CallOutcome::kDied);
      EXPECT_EQ(hanging.call("x", 0.05).outcome, CallOutcome::kTimeout);
      EXPECT_EQ(echoing.call("x", 10).outcome, CallOutcome::kResponse);
    }
    EXPECT_GT(echoing.pid(), 0);  // alive until the destructor
  }
  EXPECT_FALSE(has_unreaped_children());
  EXPECT_EQ(open_fd_count(), fds_before);
}

// ---------------------------------------------------------------------------------------
// Executions

ModelUnderTest model_from_text(const std::string& text) {
  auto proto = parse_model_text(text);
  EXPECT_TRUE(proto) << proto.error();
  return ModelUnderTest::from_proto(proto ? *proto : onnx::ModelProto{});
}

const char* const kAddModel = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  add (float[2,3] x, float[2,3] y) => (float[2,3] z) {
    z = Add(x, y)
  }
)";

TensorMap add_inputs() {
  return {{"x", Tensor::of_floats({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6})},
          {"y", Tensor::of_floats({2, 3}, std::vector<float>{0.5f, -1, 10, 0, 2.25f, -6})}};
}

void expect_add_result(const RunResult& result) {
  ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
  ASSERT_EQ(result.output_order, std::vector<std::string>{"z"});
  const Tensor& z = result.outputs.at("z");
  EXPECT_EQ(z.dtype, DType::kFloat);
  EXPECT_EQ(z.shape, (Shape{2, 3}));
  const std::vector<float> expected = {1.5f, 1, 13, 4, 7.25f, 0};
  ASSERT_EQ(z.values<float>().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_FLOAT_EQ(z.values<float>()[i], expected[i]);
}

TEST(Executions, UnknownNameListsTheKnownOnes) {
  auto execution = make_execution("tensorrt", ExecutionOptions{});
  ASSERT_FALSE(execution);
  for (const std::string& name : known_execution_names()) {
    EXPECT_NE(execution.error().find(name), std::string::npos) << execution.error();
  }
  EXPECT_EQ(run_status_name(RunStatus::kTimeout), "timeout");
}

TEST(Executions, WorkerMemoryLimitIsAResourceLimitNotACrash) {
  ExecutionOptions options;
  options.memory_limit_mb = 64;
  WorkerExecution execution(
      "hog",
      sh("exec awk 'BEGIN { s = \"x\"; while (length(s) < 268435456) s = s s; while (1) {} }'"),
      options);
  RunResult result = execution.run(model_from_text(kAddModel), add_inputs());
  EXPECT_EQ(result.status, RunStatus::kResourceLimit);
  EXPECT_EQ(result.message.substr(0, result.message.find('\n')), "memory limit 64 MB exceeded");
}

std::unique_ptr<Execution> planted(double timeout_seconds = 10) {
  ExecutionOptions options;
  options.timeout_seconds = timeout_seconds;
  auto execution = make_execution("planted", options);
  EXPECT_TRUE(execution) << execution.error();
  return execution ? std::move(*execution) : nullptr;
}

TEST(PlantedExecution, NormalModelMatchesTheReference) {
  auto execution = planted();
  ASSERT_TRUE(execution);
  EXPECT_EQ(execution->version(), "planted-faults 1");
  expect_add_result(execution->run(model_from_text(kAddModel), add_inputs()));
}

TEST(PlantedExecution, CrashIsAFindingNotAFuzzerCrash) {
  auto execution = planted();
  ASSERT_TRUE(execution);
  const ModelUnderTest model = model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) {
      y = Sigmoid(x)
    }
  )");
  RunResult result =
      execution->run(model, {{"x", Tensor::of_floats({2}, std::vector<float>{1, 2})}});
  EXPECT_EQ(result.status, RunStatus::kCrash);
  EXPECT_EQ(result.message.substr(0, result.message.find('\n')), "worker died: SIGSEGV");
}

TEST(PlantedExecution, HangTimesOutAndTheNextRunGetsAFreshWorker) {
  auto execution = planted(1.0);
  ASSERT_TRUE(execution);
  const ModelUnderTest model = model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) {
      y = Tanh(x)
    }
  )");
  RunResult hung = execution->run(model, {{"x", Tensor::of_floats({2}, std::vector<float>{1, 2})}});
  EXPECT_EQ(hung.status, RunStatus::kTimeout);
  EXPECT_EQ(hung.message, "timed out after 1 s");
  EXPECT_LT(hung.seconds, 5.0);

  expect_add_result(execution->run(model_from_text(kAddModel), add_inputs()));
  auto* worker = dynamic_cast<WorkerExecution*>(execution.get());
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->process().restarts(), 1);
}

// Runs submitted before any result is collected: a crash and a hang are charged to their own
// models, and the models behind them run on a fresh worker with their own results.
TEST(PlantedExecution, PipelinedRunsChargeCrashesAndHangsToTheirOwnModels) {
  auto execution = planted(1.0);
  ASSERT_TRUE(execution);
  auto unary = [](const char* op) {
    return model_from_text(fmt::format(R"(
      <ir_version: 8, opset_import: ["" : 17]>
      g (float[2] x) => (float[2] y) {{
        y = {}(x)
      }}
    )", op));
  };
  const ModelUnderTest add = model_from_text(kAddModel);
  const ModelUnderTest crash = unary("Sigmoid");
  const ModelUnderTest hang = unary("Tanh");
  const TensorMap x = {{"x", Tensor::of_floats({2}, std::vector<float>{1, 2})}};
  const TensorMap add_in = add_inputs();
  std::vector<Execution::Ticket> tickets = {
      execution->submit(add, add_in), execution->submit(crash, x),
      execution->submit(add, add_in), execution->submit(hang, x),
      execution->submit(add, add_in)};
  // Collected out of order: the last first, so every answer before it is kept meanwhile.
  expect_add_result(execution->collect(tickets[4]));
  expect_add_result(execution->collect(tickets[0]));
  const RunResult crashed = execution->collect(tickets[1]);
  EXPECT_EQ(crashed.status, RunStatus::kCrash);
  EXPECT_EQ(crashed.message.substr(0, crashed.message.find('\n')), "worker died: SIGSEGV");
  const RunResult hung = execution->collect(tickets[3]);
  EXPECT_EQ(hung.status, RunStatus::kTimeout);
  EXPECT_GE(hung.seconds, 1.0);
  EXPECT_LT(hung.seconds, 5.0);
  expect_add_result(execution->collect(tickets[2]));
  auto* worker = dynamic_cast<WorkerExecution*>(execution.get());
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->process().restarts(), 2);
  EXPECT_EQ(worker->process().outstanding(), 0u);
}

TEST(PlantedExecution, ValueAndShapeFaultsFollowDependencies) {
  auto execution = planted();
  ASSERT_TRUE(execution);
  // a depends on Sqrt, b on Transpose, c on neither.
  const ModelUnderTest model = model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1,2] x) => (float[1,2] a, float[2,1] b, float[1,2] c) {
      s = Sqrt(x)
      a = Abs(s)
      b = Transpose(x)
      c = Neg(x)
    }
  )");
  RunResult result =
      execution->run(model, {{"x", Tensor::of_floats({1, 2}, std::vector<float>{4, 9})}});
  ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
  EXPECT_EQ(result.output_order, (std::vector<std::string>{"a", "b", "c"}));
  const Tensor& a = result.outputs.at("a");
  EXPECT_EQ(a.shape, (Shape{1, 2}));
  EXPECT_FLOAT_EQ(a.values<float>()[0], 2.5f);
  EXPECT_FLOAT_EQ(a.values<float>()[1], 3.5f);
  const Tensor& b = result.outputs.at("b");
  EXPECT_EQ(b.shape, (Shape{2, 1, 1}));
  EXPECT_FLOAT_EQ(b.values<float>()[1], 9.0f);
  const Tensor& c = result.outputs.at("c");
  EXPECT_EQ(c.shape, (Shape{1, 2}));
  EXPECT_FLOAT_EQ(c.values<float>()[0], -4.0f);
}

TEST(PlantedExecution, EnvironmentReplacesTheDefaultFaults) {
  auto path = find_planted_worker();
  ASSERT_TRUE(path) << path.error();
  WorkerExecution execution("planted", WorkerCommand{{*path}, {"ONNXFUZZ_PLANTED=crash=Abs"}},
                            ExecutionOptions{});
  const TensorMap x = {{"x", Tensor::of_floats({2}, std::vector<float>{-1, 4})}};
  // Sqrt (a default value fault) is now computed correctly; Abs crashes.
  RunResult sqrt = execution.run(model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) {
      y = Sqrt(x)
    }
  )"),
                                 x);
  ASSERT_EQ(sqrt.status, RunStatus::kOk) << sqrt.message;
  EXPECT_FLOAT_EQ(sqrt.outputs.at("y").values<float>()[1], 2.0f);
  RunResult abs = execution.run(model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) {
      y = Abs(x)
    }
  )"),
                                x);
  EXPECT_EQ(abs.status, RunStatus::kCrash);
  EXPECT_EQ(abs.message.substr(0, abs.message.find('\n')), "worker died: SIGSEGV");
}

TEST(OrtExecution, MissingNodeModulesIsAClearError) {
  // A root with the worker script but no node_modules, found first through ONNXFUZZ_HOME.
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / fmt::format("onnxfuzz-root-{}", getpid());
  fs::create_directories(root / "oracles");
  std::ofstream(root / "package.json") << "{}";
  std::ofstream(root / "oracles" / "ort_worker.js") << "";
  setenv("ONNXFUZZ_HOME", root.c_str(), 1);
  auto execution = make_execution("ort", ExecutionOptions{});
  unsetenv("ONNXFUZZ_HOME");
  fs::remove_all(root);
  ASSERT_FALSE(execution);
  EXPECT_NE(execution.error().find("scripts/setup.sh"), std::string::npos) << execution.error();
  EXPECT_NE(execution.error().find("onnxruntime-node"), std::string::npos) << execution.error();
}

// The ORT worker needs node and node_modules (scripts/setup.sh; CI installs them).
std::unique_ptr<Execution> ort_or_skip(std::string_view name, std::string* skip_reason) {
  auto execution = make_execution(name, ExecutionOptions{});
  if (!execution) {
    *skip_reason = execution.error();
    return nullptr;
  }
  return std::move(*execution);
}

#define ORT_OR_SKIP(var, name)                                                \
  std::string skip_reason_##var;                                              \
  auto var = ort_or_skip(name, &skip_reason_##var);                           \
  if (!var) {                                                                 \
    if (skip_reason_##var.find("scripts/setup.sh") == std::string::npos)      \
      FAIL() << skip_reason_##var;                                            \
    GTEST_SKIP() << "ONNX Runtime worker unavailable: " << skip_reason_##var; \
  }

TEST(OrtExecution, AddOfTwoMatricesGivesTheRightNumbers) {
  ORT_OR_SKIP(ort, "ort");
  EXPECT_EQ(ort->version(), "onnxruntime-node 1.30.0");
  expect_add_result(ort->run(model_from_text(kAddModel), add_inputs()));
  expect_add_result(ort->run(model_from_text(kAddModel), add_inputs()));
}

TEST(OrtExecution, NoOptAndOtherElementTypesInGraphOrder) {
  ORT_OR_SKIP(ort, "ort-noopt");
  const ModelUnderTest model = model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (int64[3] i, bool[2] flag, double[1] d) => (bool[2] not_flag, int64[3] sum, double[1] dd) {
      not_flag = Not(flag)
      sum = Add(i, i)
      dd = Mul(d, d)
    }
  )");
  Tensor d = Tensor::zeros(DType::kDouble, {1});
  d.values<double>()[0] = 1.5;
  RunResult result =
      ort->run(model, {{"i", Tensor::of_int64s({3}, std::vector<int64_t>{1, -2, 3})},
                       {"flag", Tensor::of_bools({2}, std::array<bool, 2>{true, false})},
                       {"d", d}});
  ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
  EXPECT_EQ(result.output_order, (std::vector<std::string>{"not_flag", "sum", "dd"}));
  EXPECT_EQ(result.outputs.at("sum"), Tensor::of_int64s({3}, std::vector<int64_t>{2, -4, 6}));
  EXPECT_EQ(result.outputs.at("not_flag"), Tensor::of_bools({2}, std::array<bool, 2>{false, true}));
  EXPECT_DOUBLE_EQ(result.outputs.at("dd").values<double>()[0], 2.25);
}

TEST(OrtExecution, BadModelIsAnErrorAndTheWorkerSurvives) {
  ORT_OR_SKIP(ort, "ort");
  ModelUnderTest garbage;
  garbage.bytes = "this is not a protobuf";
  RunResult result = ort->run(garbage, {});
  EXPECT_EQ(result.status, RunStatus::kError);
  EXPECT_FALSE(result.message.empty());
  expect_add_result(ort->run(model_from_text(kAddModel), add_inputs()));
  auto* worker = dynamic_cast<WorkerExecution*>(ort.get());
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->process().restarts(), 0);
}

TEST(OrtExecution, WorksFromAnyWorkingDirectory) {
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path("/");
  std::string skip_reason;
  auto ort = ort_or_skip("ort", &skip_reason);
  RunResult result;
  if (ort) result = ort->run(model_from_text(kAddModel), add_inputs());
  std::filesystem::current_path(cwd);
  if (!ort) {
    if (skip_reason.find("scripts/setup.sh") == std::string::npos) FAIL() << skip_reason;
    GTEST_SKIP() << "ONNX Runtime worker unavailable: " << skip_reason;
  }
  expect_add_result(result);
}

TEST(OrtExecution, LargeTensorsCrossThePipesIntact) {
  // 4 MB and 12 MB per tensor: requests of 8 MB and of 24 MB, on both sides of the 16 MB up to
  // which the worker keeps its request buffer (oracles/ort_worker.js KEPT_FRAME_BYTES), each
  // followed by a small run on the same worker; many pipe writes for one frame and
  // backpressure on the worker's stdout.
  ORT_OR_SKIP(ort, "ort");
  for (const int64_t rows : {1024, 3072}) {
    SCOPED_TRACE(rows);
    const ModelUnderTest model = model_from_text(fmt::format(R"(
      <ir_version: 8, opset_import: ["" : 17]>
      g (float[{0},1024] x, float[{0},1024] y) => (float[{0},1024] z) {{
        z = Sub(x, y)
      }}
    )",
                                                             rows));
    std::vector<float> x(rows * 1024), y(rows * 1024);
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = static_cast<float>(i % 1000);
      y[i] = static_cast<float>(i % 7);
    }
    RunResult result = ort->run(model, {{"x", Tensor::of_floats({rows, 1024}, x)},
                                        {"y", Tensor::of_floats({rows, 1024}, y)}});
    ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
    const auto z = result.outputs.at("z").values<float>();
    ASSERT_EQ(z.size(), x.size());
    size_t wrong = 0;
    for (size_t i = 0; i < z.size(); ++i) wrong += z[i] != x[i] - y[i];
    EXPECT_EQ(wrong, 0u);
    expect_add_result(ort->run(model_from_text(kAddModel), add_inputs()));
  }
}

TEST(OrtExecution, EveryCarriedDtypeCrossesThePipesIntact) {
  ORT_OR_SKIP(ort, "ort-noopt");
  const CarriedDtypes carried = ort->carried_dtypes();
  ASSERT_FALSE(carried.carried.empty());
  for (DType dtype : carried.carried) {
    SCOPED_TRACE(dtype_name(dtype));
    const std::string type(dtype_info(dtype).onnx_type.substr(7));  // "float)" -> ...
    const std::string elem = type.substr(0, type.size() - 1);
    const ModelUnderTest model = model_from_text(fmt::format(R"(
      <ir_version: 8, opset_import: ["" : 17]>
      g ({0}[2,3] x) => ({0}[2,3] y) {{
        y = Identity(x)
      }}
    )",
                                                             elem));
    Tensor x = Tensor::zeros(dtype, {2, 3});
    for (int64_t i = 0; i < x.numel(); ++i) x.set_double(i, i % 2 ? i * 1.25 : -i);
    RunResult result = ort->run(model, {{"x", x}});
    ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
    EXPECT_EQ(result.outputs.at("y"), x);
  }
}

}  // namespace
}  // namespace onnxfuzz
