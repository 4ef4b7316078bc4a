// WorkerExecution: encodes a run request, calls the worker and maps every outcome to a RunResult.
#include "oracles/worker_execution.h"

#include <fmt/format.h>

#include "oracles/worker_protocol.h"

namespace onnxfuzz {
namespace {

// Evidence appended to crash messages; the first line stays the stable part of the message.
std::string with_stderr(std::string message, const std::string& tail) {
  if (tail.empty()) return message;
  return fmt::format("{}\nworker stderr (last {} bytes):\n{}", message, tail.size(), tail);
}

RunResult from_call(const CallResult& call, double timeout_seconds) {
  RunResult result;
  result.seconds = call.seconds;
  switch (call.outcome) {
    case CallOutcome::kResponse:
      break;  // decoded by the caller
    case CallOutcome::kTimeout:
      result.status = RunStatus::kTimeout;
      result.message = fmt::format("timed out after {:g} s", timeout_seconds);
      break;
    case CallOutcome::kDied:
      result.status = RunStatus::kCrash;
      result.message = with_stderr(fmt::format("worker died: {}", call.message), call.stderr_tail);
      break;
    case CallOutcome::kMemoryLimit:
      // The model needs more than the limit allows: not a crash of the backend.
      result.status = RunStatus::kResourceLimit;
      result.message = with_stderr(call.message, call.stderr_tail);
      break;
    case CallOutcome::kProtocolError:
      // Garbage on the worker's stdout means the worker process went wrong while running
      // this model; it is reported like a crash so that it is looked at, not ignored.
      result.status = RunStatus::kCrash;
      result.message =
          with_stderr(fmt::format("worker protocol error: {}", call.message), call.stderr_tail);
      break;
    case CallOutcome::kSpawnFailed:
      // The environment, not the model: no finding.
      result.status = RunStatus::kError;
      result.message =
          with_stderr(fmt::format("cannot start worker: {}", call.message), call.stderr_tail);
      break;
  }
  return result;
}

}  // namespace

WorkerExecution::WorkerExecution(std::string name, WorkerCommand command, ExecutionOptions options)
    : name_(std::move(name)),
      options_(options),
      process_(std::move(command), options.memory_limit_mb) {
  process_.allow_spare(options.spare_worker);
}

std::expected<std::string, std::string> WorkerExecution::query_text(uint32_t kind) {
  WorkerRequest request;
  request.kind = kind;
  const CallResult call = process_.call(encode_request(request), options_.timeout_seconds);
  if (call.outcome != CallOutcome::kResponse) {
    return std::unexpected(from_call(call, options_.timeout_seconds).message);
  }
  auto response = decode_response(call.payload);
  if (!response) return std::unexpected(response.error());
  if (response->status != kResponseOk || response->text.empty()) {
    return std::unexpected(response->text.empty() ? std::string("empty answer") : response->text);
  }
  return std::move(response->text);
}

std::expected<std::string, std::string> WorkerExecution::query_version() {
  if (version_) return *version_;
  auto text = query_text(kRequestVersion);
  if (!text) return std::unexpected(text.error());
  version_ = std::move(*text);
  return *version_;
}

std::expected<CarriedDtypes, std::string> WorkerExecution::query_dtypes() {
  if (dtypes_) return *dtypes_;
  auto text = query_text(kRequestDtypes);
  if (!text) return std::unexpected(text.error());
  auto dtypes = decode_carried_dtypes(*text);
  if (!dtypes) return std::unexpected(dtypes.error());
  dtypes_ = std::move(*dtypes);
  return *dtypes_;
}

CarriedDtypes WorkerExecution::carried_dtypes() {
  auto dtypes = query_dtypes();
  return dtypes ? *dtypes : all_dtypes_carried();
}

std::string WorkerExecution::version() {
  auto version = query_version();
  return version ? *version : fmt::format("{} (version unknown: {})", name_, version.error());
}

std::expected<void, std::string> WorkerExecution::check_ready() {
  auto version = query_version();
  if (!version) {
    return std::unexpected(
        fmt::format("execution '{}' does not start: {}", name_, version.error()));
  }
  auto dtypes = query_dtypes();
  if (!dtypes) {
    return std::unexpected(fmt::format("execution '{}' does not say which dtypes it carries: {}",
                                       name_, dtypes.error()));
  }
  return {};
}

RunResult WorkerExecution::run(const ModelUnderTest& model, const TensorMap& inputs) {
  return collect(submit(model, inputs));
}

Execution::Ticket WorkerExecution::submit(const ModelUnderTest& model, const TensorMap& inputs) {
  return process_.send(encode_run_request(model.bytes, inputs), options_.timeout_seconds);
}

RunResult WorkerExecution::collect(Ticket ticket) { return run_result(process_.receive(ticket)); }

RunResult WorkerExecution::run_variant(const ModelUnderTest& model, const TensorMap& inputs,
                                       const RunVariant& variant) {
  return run_result(process_.call(encode_run_variant_request(variant, model.bytes, inputs),
                                  options_.timeout_seconds));
}

RunResult WorkerExecution::run_result(const CallResult& call) {
  RunResult result = from_call(call, options_.timeout_seconds);
  if (call.outcome != CallOutcome::kResponse) return result;

  auto response = decode_response(call.payload);
  if (!response) {
    result.status = RunStatus::kCrash;
    result.message = fmt::format("worker protocol error: {}", response.error());
    return result;
  }
  if (response->status == kResponseError) {
    result.status = RunStatus::kError;
    result.message = std::move(response->text);
    return result;
  }
  if (!response->text.empty()) {
    // The ok form cannot say what it answers (see decode_response); text here means the
    // worker answered a run with something else.
    result.status = RunStatus::kCrash;
    result.message = "worker protocol error: run answered with text, not outputs";
    return result;
  }
  result.status = RunStatus::kOk;
  for (NamedTensor& output : response->outputs) {
    result.output_order.push_back(output.name);
    result.outputs.insert_or_assign(output.name, std::move(output.value));
  }
  return result;
}

RunResult WorkerExecution::optimize(const ModelUnderTest& model, std::string& optimized) {
  WorkerRequest request;
  request.kind = kRequestOptimize;
  request.model_bytes = model.bytes;
  const CallResult call = process_.call(encode_request(request), options_.timeout_seconds);
  RunResult result = from_call(call, options_.timeout_seconds);
  if (call.outcome != CallOutcome::kResponse) return result;
  auto response = decode_response(call.payload);
  if (!response || (response->status == kResponseOk && response->text.empty())) {
    result.status = RunStatus::kCrash;
    result.message = fmt::format("worker protocol error: {}",
                                 response ? "optimize answered without a model" : response.error());
    return result;
  }
  if (response->status == kResponseError) {
    result.status = RunStatus::kError;
    result.message = std::move(response->text);
    return result;
  }
  result.status = RunStatus::kOk;
  optimized = std::move(response->text);
  return result;
}

}  // namespace onnxfuzz
