// Finding storage: minimization, signature, case record and atomic write.
#include "fuzzer/finding.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "fuzzer/evaluation.h"
#include "generators/model_io.h"
#include "oracles/reference.h"

namespace onnxfuzz {

std::string broken_rule(const CaseRecord& record) {
  if (record.kind != VerdictKind::kAcceptedInvalid || !record.chain.is_object() ||
      !record.chain.contains("steps")) {
    return {};
  }
  std::string rule;
  for (const auto& step : record.chain["steps"]) {
    if (step.is_object() && step.contains("rule") && step["rule"].is_string()) {
      rule = step["rule"].get<std::string>();
    }
  }
  return rule;
}

Evaluation evaluate_case(const onnx::ModelProto& model, const TensorMap& inputs,
                         std::span<Execution* const> executions, const OracleConfig& config,
                         const CaseRecord* record) {
  const std::string rule = record ? broken_rule(*record) : std::string();
  return rule.empty() ? evaluate_model(model, inputs, executions, config)
                      : evaluate_invalid(model, inputs, executions, rule);
}

Execution* find_execution(std::span<Execution* const> executions, std::string_view name) {
  for (Execution* e : executions) {
    if (e->name() == name) return e;
  }
  return nullptr;
}

Localization localize_finding(const Verdict& verdict, const onnx::ModelProto& model,
                              const TensorMap& inputs, std::span<Execution* const> executions,
                              const OracleConfig& oracle) {
  Localization none;
  if (verdict.kind != VerdictKind::kNumeric && verdict.kind != VerdictKind::kShape) return none;
  Execution* target = find_execution(executions, verdict.execution);
  Execution* baseline = find_execution(executions, verdict.baseline);
  // A shape finding against ONNX shape inference ("inferred") is localized against ref.
  if (baseline == nullptr) baseline = find_execution(executions, "ref");
  if (target == nullptr || baseline == nullptr || target == baseline) return none;
  LocalizeOptions options;
  options.oracle = oracle;
  return localize(model, inputs, *baseline, *target, options);
}

std::map<std::string, std::string> execution_versions(std::span<Execution* const> executions) {
  std::map<std::string, std::string> versions;
  for (Execution* e : executions) versions[e->name()] = e->version();
  return versions;
}

std::expected<StoredFinding, std::string> store_finding(const FindingContext& context,
                                                        const onnx::ModelProto& model,
                                                        const TensorMap& inputs,
                                                        const Verdict& verdict,
                                                        std::optional<uint64_t> seed,
                                                        const nlohmann::json& chain,
                                                        std::string_view focus_flag,
                                                        const Localization* localized) {
  if (context.executions.empty()) return std::unexpected(std::string("no executions"));
  Execution* target = find_execution(context.executions, verdict.execution);
  if (!target) return std::unexpected(fmt::format("no execution named {}", verdict.execution));
  // The execution the target is minimized against (it must keep running the model for a
  // rejection, shape or numeric verdict to persist): the one the verdict was judged against,
  // else ref, else the first other one; the target alone when it is the only execution.
  Execution* baseline = find_execution(context.executions, verdict.baseline);
  if (!baseline || baseline == target) baseline = find_execution(context.executions, "ref");
  if (!baseline || baseline == target) {
    baseline = target;
    for (Execution* e : context.executions) {
      if (e != target) {
        baseline = e;
        break;
      }
    }
  }

  onnx::ModelProto minimized = model;
  TensorMap minimized_inputs = inputs;
  Verdict final_verdict = verdict;
  std::string log;
  if (context.minimize_enabled) {
    MinimizeOptions minimize_options = context.minimize;
    const Localization faulty =
        localized != nullptr
            ? *localized
            : localize_finding(verdict, model, inputs, context.executions, context.oracle);
    if (faulty.status == LocalizationStatus::kLocalized && !faulty.vanished) {
      minimize_options.same_cause = [&](const onnx::ModelProto& candidate,
                                        const TensorMap& candidate_inputs, const Verdict& seen) {
        const Localization loc =
            localize_finding(seen, candidate, candidate_inputs, context.executions, context.oracle);
        return loc.status == LocalizationStatus::kLocalized && loc.op_type == faulty.op_type;
      };
    }
    auto result =
        minimize(model, inputs, verdict, *baseline, *target, context.oracle, minimize_options);
    if (result) {
      minimized = std::move(result->model);
      minimized_inputs = std::move(result->inputs);
      final_verdict = result->verdict;
      log = fmt::format("{}", fmt::join(result->stats.log, "\n"));
      if (result->stats.budget_exhausted) log += "\n(minimization budget exhausted)";
    } else {
      // The failure did not come back on a fresh run (a worker that leaked into its memory
      // limit, a timing-dependent hang ...): not a reproducible finding, so nothing is stored.
      StoredFinding flaky;
      flaky.flaky = true;
      flaky.record.kind = verdict.kind;
      flaky.record.execution = verdict.execution;
      flaky.record.message = verdict.message;
      flaky.record.minimize_log = result.error();
      return flaky;
    }
  }

  CaseRecord record;
  record.kind = final_verdict.kind;
  record.execution = final_verdict.execution;
  record.executions.push_back(baseline->name());
  if (target != baseline) record.executions.push_back(target->name());
  record.ops = op_sequence(minimized.graph());
  record.message = final_verdict.message;
  record.evidence = final_verdict.evidence;
  record.signature = finding_signature(final_verdict, record.ops);
  record.id = case_id(record);
  if (context.known_signatures.count(record.signature)) {
    StoredFinding known;
    known.known = true;
    known.record = std::move(record);
    known.model = std::move(minimized);
    return known;
  }
  record.seed = seed;
  if (seed) {
    record.regenerate =
        fmt::format("onnxfuzz gen --model-seed {}{}{} --out DIR", *seed, context.generator_flags,
                    focus_flag);
  }
  if (!chain.is_null()) {
    record.chain = chain;
    record.regenerate = "onnxfuzz mutate --chain CASE_DIR/case.json --out DIR";
  }
  record.nodes_before = model.graph().node_size();
  record.nodes_after = minimized.graph().node_size();
  record.tool_version = "onnxfuzz " ONNXFUZZ_VERSION;
  std::vector<Execution*> involved{baseline};
  if (target != baseline) involved.push_back(target);
  record.versions = execution_versions(involved);
  for (const auto& output : minimized.graph().output()) {
    const int32_t elem = output.type().tensor_type().elem_type();
    if (!dtype_supported(elem)) continue;
    const auto dtype = static_cast<DType>(elem);
    record.tolerances[dtype] = context.oracle.tolerance_for(dtype);
  }
  record.minimize_log = log;

  // Every execution of the campaign on the minimized model: which levels fail tells a
  // maintainer where to look (e.g. fails with optimizations, passes without).
  const Evaluation final_eval =
      evaluate_model(minimized, minimized_inputs, context.executions, context.oracle);
  for (const auto& obs : final_eval.observations) {
    std::string line = fmt::format("{}: {}", obs.execution, run_status_name(obs.result.status));
    if (obs.result.status != RunStatus::kOk) line += fmt::format(" ({})", obs.result.message);
    for (const auto& v : final_eval.verdicts) {
      if (v.execution == obs.execution) {
        line += fmt::format("; {}{}: {}", verdict_kind_name(v.kind),
                            v.baseline.empty() ? "" : " vs " + v.baseline, v.message);
      }
    }
    if (obs.result.status == RunStatus::kOk && obs.execution != final_eval.baseline &&
        std::ranges::none_of(final_eval.verdicts,
                             [&](const Verdict& v) { return v.execution == obs.execution; })) {
      line += fmt::format("; agrees with {}", final_eval.baseline);
    }
    record.results.push_back(std::move(line));
  }
  // Side data of the executions on the minimized model (an optimizer's rewritten graph and the
  // rewrites it applied ...): the best hint at where a failure comes from.
  std::vector<RunArtifact> files;
  std::vector<std::string> taken;
  for (const auto& obs : final_eval.observations) {
    if (obs.result.artifacts.empty() && obs.result.notes.empty()) continue;
    CaseArtifacts& side = record.artifacts[obs.execution];
    side.notes = obs.result.notes;
    for (const RunArtifact& artifact : obs.result.artifacts) {
      const std::string name = artifact_file_name(obs.execution, artifact.file_name, taken);
      side.files.push_back(name);
      files.push_back({name, artifact.bytes});
    }
  }
  const RunResult expected = run_reference(minimized, minimized_inputs);
  bool existed = false;
  auto dir = write_case(context.out_dir, record, minimized, model, minimized_inputs,
                        expected.outputs, &existed, context.replace_existing, files);
  if (!dir) return std::unexpected(dir.error());
  StoredFinding stored;
  stored.case_dir = *dir;
  stored.is_new = !existed;
  stored.record = std::move(record);
  stored.model = std::move(minimized);
  return stored;
}

}  // namespace onnxfuzz
