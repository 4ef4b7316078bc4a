// WorkerExecution: an Execution whose model runs in a WorkerProcess (ORT via Node, planted).
#pragma once

#include <expected>
#include <optional>
#include <string>

#include "oracles/execution.h"
#include "oracles/worker_process.h"
#include "oracles/worker_protocol.h"

namespace onnxfuzz {

class WorkerExecution final : public Execution {
 public:
  WorkerExecution(std::string name, WorkerCommand command, ExecutionOptions options);

  const std::string& name() const override { return name_; }
  // Asked of the worker once; a failed query is not cached, so a later call can retry.
  std::string version() override;
  // Version and dtypes query round trips: prove the worker starts and speaks the protocol.
  std::expected<void, std::string> check_ready() override;
  // Asked of the worker once (kRequestDtypes). If it cannot answer, every dtype counts as
  // carried, so that models still run and the worker's failure shows up as a result.
  CarriedDtypes carried_dtypes() override;
  // Never throws. A dead, hung or oversized worker becomes kCrash/kTimeout; the next run
  // starts a fresh worker.
  RunResult run(const ModelUnderTest& model, const TensorMap& inputs) override;
  bool runs_out_of_process() const override { return true; }
  // The request is encoded and sent at once (WorkerProcess::send: the worker finds it waiting
  // when it is done with the ones before); collect() waits for and decodes the answer.
  Ticket submit(const ModelUnderTest& model, const TensorMap& inputs) override;
  RunResult collect(Ticket ticket) override;
  // A run in a variant of the worker's session options (kRequestRunVariant): another graph
  // optimization level, or optimizers disabled by name. Only the ORT and planted workers answer.
  RunResult run_variant(const ModelUnderTest& model, const TensorMap& inputs,
                        const RunVariant& variant);
  // The model as the worker's graph optimizer rewrites it (kRequestOptimize): kOk with the
  // serialized ModelProto in `optimized`; a refusal, crash or timeout as for run().
  RunResult optimize(const ModelUnderTest& model, std::string& optimized);

  const WorkerProcess& process() const { return process_; }

 private:
  std::string name_;
  ExecutionOptions options_;
  WorkerProcess process_;
  std::expected<std::string, std::string> query_version();
  std::expected<CarriedDtypes, std::string> query_dtypes();
  // One text-answer request (version, dtypes); error value for anything but an ok text.
  std::expected<std::string, std::string> query_text(uint32_t kind);

  // The decoded outputs of a run or run-variant request's answer.
  RunResult run_result(const CallResult& call);

  std::optional<std::string> version_;
  std::optional<CarriedDtypes> dtypes_;
};

}  // namespace onnxfuzz
