// Finding: minimize a failing model and store it as a deduplicated case.
#pragma once

#include <onnx/onnx_pb.h>

#include <expected>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "corpus/case_store.h"
#include "fuzzer/evaluation.h"
#include "fuzzer/localize.h"
#include "fuzzer/minimizer.h"
#include "oracles/execution.h"
#include "oracles/oracle.h"

namespace onnxfuzz {

struct FindingContext {
  std::string out_dir;
  std::span<Execution* const> executions;  // in --executions order
  OracleConfig oracle;
  MinimizeOptions minimize;
  bool minimize_enabled = true;
  bool replace_existing = false;  // overwrite a stored case of the same id (minimize command)
  std::string generator_flags;    // policy flags of `onnxfuzz gen` that reproduce generated models
  std::set<std::string> known_signatures;  // findings already triaged elsewhere: not stored
};

struct StoredFinding {
  std::string case_dir;  // empty when the finding is known
  bool is_new = false;
  bool known = false;  // its signature is in FindingContext::known_signatures
  bool flaky = false;  // did not fail again when re-run; record.minimize_log says how
  CaseRecord record;
  onnx::ModelProto model;  // what was stored as model.onnx
};

// Minimizes `model` for `verdict` (target = verdict.execution, against the execution named by
// verdict.baseline, else ref, else another one; see store_finding's body),
// writes OUT/cases/<id>/ with ref's outputs as expected outputs, and reports whether the
// signature was new. A numeric or shape finding localized to a faulty node is minimized only
// through candidates localized to a node of the same op: with the verdict alone ("values
// differ from ref") a cut could trade the bug for a divergence no node makes, or another bug.
// A failure that does not reproduce when re-run is reported as flaky and
// not stored. `focus_flag` (" --focus KEYS" for a guided model) joins the case's regenerate command.
// `localized`: localize_finding's result on `model`, when the caller already has it.
std::expected<StoredFinding, std::string> store_finding(const FindingContext& context,
                                                        const onnx::ModelProto& model,
                                                        const TensorMap& inputs,
                                                        const Verdict& verdict,
                                                        std::optional<uint64_t> seed,
                                                        const nlohmann::json& chain = {},
                                                        std::string_view focus_flag = {},
                                                        const Localization* localized = nullptr);

// Localizes a numeric or shape finding on `model` as it is (fuzzer/localize.h): the verdict's
// target against its baseline, ref for a shape finding judged against ONNX shape inference.
// kNotRun for other kinds, or when those executions are not in `executions`.
Localization localize_finding(const Verdict& verdict, const onnx::ModelProto& model,
                              const TensorMap& inputs, std::span<Execution* const> executions,
                              const OracleConfig& oracle);

// The execution called `name`, or null.
Execution* find_execution(std::span<Execution* const> executions, std::string_view name);

// The rule an accepted-invalid case's model breaks: the last rule-breaking step of its
// provenance chain ("" for any other case).
std::string broken_rule(const CaseRecord& record);
// A stored case evaluated as the campaign evaluated it: a rule-breaking mutant's case
// (broken_rule) with evaluate_invalid, every execution but ref having to reject it; any other
// with evaluate_model. `record` may be null (a case without case.json).
Evaluation evaluate_case(const onnx::ModelProto& model, const TensorMap& inputs,
                         std::span<Execution* const> executions, const OracleConfig& config,
                         const CaseRecord* record);

// Every execution's version, by name (asked once per execution).
std::map<std::string, std::string> execution_versions(std::span<Execution* const> executions);

}  // namespace onnxfuzz
