// Case store: findings as ONNX test-case directories, written atomically, read back for replay.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <expected>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "generators/tensor.h"
#include "oracles/oracle.h"

namespace onnxfuzz {

// Side data one execution produced on model.onnx (RunResult::artifacts and notes): the names
// of its files, stored next to model.onnx, and its named notes (e.g. "rewrites").
struct CaseArtifacts {
  std::vector<std::string> files;
  std::map<std::string, std::vector<std::string>> notes;
  bool operator==(const CaseArtifacts&) const = default;
};

// The metadata of one finding, stored as case.json.
struct CaseRecord {
  std::string id;
  VerdictKind kind = VerdictKind::kNumeric;
  std::string execution;                // the execution that misbehaved
  std::vector<std::string> executions;  // executions to replay with, baseline first
  std::vector<std::string> ops;         // minimized model's op types, topological order
  std::string message;                  // normalized failure message
  std::string signature;                // dedup key (see finding_signature)
  std::string evidence;
  std::optional<uint64_t> seed;  // generator seed, when the model was generated
  std::string regenerate;        // command that regenerates original.onnx from the seed
  int nodes_before = 0;
  int nodes_after = 0;
  std::string tool_version;
  std::map<std::string, std::string> versions;  // execution name -> backend version
  // Tolerance of every dtype the minimized model's outputs use, as judged with. Old case.json
  // files hold only float32's.
  std::map<DType, Tolerance> tolerances;
  std::string minimize_log;                     // accepted reduction steps, one per line
  std::vector<std::string> results;  // each execution's result on model.onnx, one line each
  // By execution name, for the executions that left side data; case.json "artifacts",
  // absent from older cases.
  std::map<std::string, CaseArtifacts> artifacts;
  // For a mutant: the provenance chain that re-derives original.onnx (seed model path and
  // content hash, each mutator with its seed); see generators/mutators/provenance.h. Null for
  // generated models and models given by the user.
  nlohmann::json chain;
};

// A test-case directory in the ONNX backend-test layout.
struct TestCase {
  std::string dir;
  onnx::ModelProto model;
  std::optional<onnx::ModelProto> original;
  std::vector<TensorMap> inputs;     // per test_data_set_N, keyed by input name
  std::vector<TensorMap> expected;   // per test_data_set_N, keyed by output name
  std::optional<CaseRecord> record;  // when case.json exists
};

// Dedup key. Rejections by normalized message: the backend's own words name the failing check.
// Crashes and hangs carry no such words (every segfault says SIGSEGV), so they add the
// minimized op sequence, as shape and numeric findings do (misbehaving models share operator
// sequences).
std::string finding_signature(const Verdict& verdict, const std::vector<std::string>& ops);
// Whether a verdict's key alone identifies its finding before minimization (rejections).
bool dedupes_by_message(VerdictKind kind);
// Directory name: <kind>-<execution>-<16 hex digits of the signature hash>.
std::string case_id(const CaseRecord& record);

// Writes OUT/cases/<id>/ atomically (temporary directory + rename). Returns the final path,
// or an error value. If the case already exists, `*existed` is set and, unless `replace` is
// true, nothing is written; with `replace` the new case atomically takes the old one's place.
// `files` (named as record.artifacts lists them) are written into the case directory too.
std::expected<std::string, std::string> write_case(
    const std::string& out_dir, const CaseRecord& record, const onnx::ModelProto& model,
    const onnx::ModelProto& original, const TensorMap& inputs, const TensorMap& expected_outputs,
    bool* existed, bool replace = false, const std::vector<RunArtifact>& files = {});

// The file name a case stores `artifact` of `execution` under: its own name unless a case file
// (model.onnx, case.json ...) or an earlier artifact (`taken`) has it, then prefixed with the
// execution name; path separators are replaced. Adds the result to `taken`.
std::string artifact_file_name(const std::string& execution, const std::string& artifact,
                               std::vector<std::string>& taken);

// Writes DIR as a plain test case (model.onnx + test_data_set_0/), atomically; replaces DIR.
std::expected<void, std::string> write_test_case(const std::string& dir,
                                                 const onnx::ModelProto& model,
                                                 const TensorMap& inputs, const TensorMap& outputs);

// Reads only DIR/case.json.
std::expected<CaseRecord, std::string> read_case_record(const std::string& dir);

// Reads a test-case directory (model.onnx + test_data_set_*/), case.json optional.
std::expected<TestCase, std::string> read_test_case(const std::string& dir);
bool is_test_case_dir(const std::string& path);

// Lists case directories under each path: a case dir itself, a dir of cases, or OUT (with
// cases/). Temporary and hidden directories are skipped. Sorted.
std::expected<std::vector<std::string>, std::string> find_case_dirs(
    const std::vector<std::string>& paths);

// Removes temporary directories that a killed campaign left in OUT/cases (those of writers
// still alive are kept: parallel instances may share OUT).
void remove_stale_temporaries(const std::string& out_dir);

// Whether a write must survive a power loss (fsync) or only a killed process (rename).
enum class Durability { kSynced, kAtomicOnly };
// Atomic file write (temporary file, fsync unless kAtomicOnly, rename). `gen` writes thousands
// of reproducible models a second: a killed run leaves whole files, which is all it needs.
std::expected<void, std::string> write_file_atomic(const std::string& path,
                                                   const std::string& bytes,
                                                   Durability durability = Durability::kSynced);

}  // namespace onnxfuzz
