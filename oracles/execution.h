// Execution: one way of running a model (our reference, ORT in a worker process, ...).
#pragma once

#include <onnx/onnx_pb.h>

#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "generators/tensor.h"

namespace onnxfuzz {

// How one run ended. Only kOk carries outputs.
enum class RunStatus {
  kOk,       // outputs produced
  kError,    // the execution refused or failed cleanly, with a message
  kCrash,    // the worker process died (signal, abnormal exit)
  kTimeout,  // the worker exceeded its time limit and was killed
  // Not a finding: the model uses a dtype the execution cannot carry (it was not run), or it
  // hit a gap the backend documents (see oracles/backend_gaps.h). The message says which.
  kUnsupported,
  // Not a finding: the model needs more than the execution may use (a worker's memory limit,
  // the reference's cap on one output's size). The message says which limit.
  kResourceLimit,
};
std::string_view run_status_name(RunStatus status);

// A file an execution made on the way to its outputs that helps triage (an optimizer's or
// converter's rewritten model). A stored case keeps it under `file_name`.
struct RunArtifact {
  std::string file_name;  // a plain file name, e.g. "optimized.onnx"
  std::string bytes;
};

struct RunResult {
  RunStatus status = RunStatus::kOk;
  std::string message;                    // error text, signal name, ...
  TensorMap outputs;                      // by graph output name
  std::vector<std::string> output_order;  // graph output names in graph order
  double seconds = 0;                     // wall time of this run
  // Optional side data for triage, recorded with a case (case.json "artifacts"): files, and
  // named lists of notes such as "rewrites" (the graph rewrites an optimizer applied).
  std::vector<RunArtifact> artifacts;
  std::map<std::string, std::vector<std::string>> notes;
};

// The model as both proto (for in-process executions) and bytes (for workers).
struct ModelUnderTest {
  std::string bytes;

  // Owns its own copy of the model.
  static ModelUnderTest from_proto(onnx::ModelProto proto);
  // Refers to `proto`, which must outlive the result: no copy on the fuzz loop's hot path.
  static ModelUnderTest view(const onnx::ModelProto& proto);

  const onnx::ModelProto& proto() const;

 private:
  std::shared_ptr<const onnx::ModelProto> proto_;
};

struct ExecutionOptions {
  double timeout_seconds = 10;     // per model, for worker executions
  int64_t memory_limit_mb = 4096;  // resident memory cap of a worker process
  // Once a worker has died on a model, keep another started and ready (WorkerProcess).
  bool spare_worker = true;
  // The execution a converter's output model runs on (`--after`): convert:onnx-version@N
  // without an explicit "+NAME" runs its converted model here.
  std::string after = "ref";
};

// Which element types an execution can pass in and out of a model (not which its kernels
// implement: that is oracles/backend_gaps.h). Every dtype of the table is in exactly one list.
struct CarriedDtypes {
  std::vector<DType> carried;
  std::vector<std::pair<DType, std::string>> not_carried;  // with the reason
  bool carries(DType dtype) const;
};
// Every dtype of the table, carried: what an in-process execution holding Tensors can do.
CarriedDtypes all_dtypes_carried();

class Execution {
 public:
  virtual ~Execution() = default;
  // Stable short name used on the command line and in verdicts: "ref", "ort", "ort-noopt".
  virtual const std::string& name() const = 0;
  // Version string recorded in case.json, e.g. "onnxruntime 1.23.2".
  virtual std::string version() = 0;
  // Starts the backend if needed and answers whether it can run models at all (node missing,
  // library failing to load ...): an environment problem, reported before any model runs.
  virtual std::expected<void, std::string> check_ready() { return {}; }
  // The element types this execution can feed and fetch; a model whose graph inputs or
  // outputs use any other is not run on it (RunStatus::kUnsupported).
  virtual CarriedDtypes carried_dtypes() { return all_dtypes_carried(); }
  // Never throws: every failure of the model or backend comes back as a RunResult.
  virtual RunResult run(const ModelUnderTest& model, const TensorMap& inputs) = 0;
  // Whether the model runs in another process (a worker), so that submit() returns at once
  // and the caller's own work (validation, the in-process executions, the next model) overlaps
  // the run (fuzzer/evaluation.cpp).
  virtual bool runs_out_of_process() const { return false; }

  // A run in two halves: submit() starts it and collect() waits for its result, once per
  // ticket, in any order; several may be outstanding. Never throws (a ticket that is not
  // outstanding is a caller bug: std::invalid_argument). By default submit() runs the model
  // and keeps the result; WorkerExecution pipelines its worker's requests instead.
  using Ticket = uint64_t;
  virtual Ticket submit(const ModelUnderTest& model, const TensorMap& inputs);
  virtual RunResult collect(Ticket ticket);

 private:
  std::map<Ticket, RunResult> held_;  // the default submit()'s results
  Ticket next_ticket_ = 1;
};

// One family of executions: a fixed name ("ref") or a name pattern ("ort@VERSION[-level]") and
// its factory. Each family is one registration in oracles/executions/<family>.cpp:
//   const ExecutionRegistrar kOpencv{{.usage = "opencv", .summary = "...",
//                                     .parse = ..., .make = ...}};
// Adding an execution is that file plus its tests; nothing else lists executions.
struct ExecutionFamily {
  std::string usage;    // as shown in --help and in the unknown-name error
  std::string summary;  // one line for --help
  // std::nullopt: `name` is not of this family. An error value: it is, but malformed (the
  // message says why). An empty value: a well-formed name of this family.
  std::function<std::optional<std::expected<void, std::string>>(std::string_view name)> parse;
  // Called only for well-formed names. An error value is an environment problem (a missing
  // package, a failed install), reported before any model runs.
  std::function<std::expected<std::unique_ptr<Execution>, std::string>(
      std::string_view name, const ExecutionOptions& options)>
      make;
  // Order in --help and in the error for an unknown name; ties break by usage.
  int order = 100;
  // Optional. The execution whose result on the original model this one's result must match,
  // instead of the common baseline (a converter's runtime: "convert:onnx-version@11+ort"
  // is compared with "ort"); empty: the common baseline.
  std::function<std::string(std::string_view name)> paired_with = {};
  // Optional. The canonical name of what `name` means under `options` (a converter spells
  // out its --after execution); unset: `name` itself.
  std::function<std::string(std::string_view name, const ExecutionOptions& options)> canonical = {};
  // Optional, for `onnxfuzz bisect`: the same execution at release `version` of its backend
  // ("ort-noopt", "1.16.3" -> "ort@1.16.3-noopt"); nullopt when `version` is malformed.
  std::function<std::optional<std::string>(std::string_view name, std::string_view version)>
      at_version = {};
  // Optional, for `onnxfuzz bisect`: the backend's releases, oldest first.
  std::function<std::expected<std::vector<std::string>, std::string>()> releases = {};
};
// Parse that accepts exactly `fixed`.
std::function<std::optional<std::expected<void, std::string>>(std::string_view)> exact_name(
    std::string fixed);

struct ExecutionRegistrar {
  explicit ExecutionRegistrar(ExecutionFamily family);
};
// Registered families, sorted by (order, usage).
std::vector<const ExecutionFamily*> execution_families();

// Makes the execution `name` names. Unknown names are an error value naming the known ones.
std::expected<std::unique_ptr<Execution>, std::string> make_execution(
    std::string_view name, const ExecutionOptions& options);
// The usage strings of every family, in order.
std::vector<std::string> known_execution_names();
// Whether `name` is a well-formed execution name (failing to make it is then an environment
// problem, not a usage error).
bool is_execution_name(std::string_view name);
// The family `name` belongs to (well-formed or not), or null.
const ExecutionFamily* execution_family_of(std::string_view name);
// The execution `name` is judged against instead of the common baseline (see
// ExecutionFamily::paired_with), or empty.
std::string paired_execution(std::string_view name);
// `name` as its family spells it under `options` (see ExecutionFamily::canonical).
std::string canonical_execution_name(std::string_view name, const ExecutionOptions& options);

}  // namespace onnxfuzz
