// `onnxfuzz report`: fresh results, fault localization and reproducers for one stored case.
#include "fuzzer/report_command.h"

#include <fmt/format.h>
#include <sys/utsname.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "corpus/case_store.h"
#include "corpus/report.h"
#include "fuzzer/exit_codes.h"
#include "fuzzer/localize.h"
#include "fuzzer/optimizer_blame.h"
#include "fuzzer/triage.h"

namespace onnxfuzz {
namespace {
namespace fs = std::filesystem;

const FlagSpec kFlags[] = {
    {"execution", "NAME", "",
     "run NAME in place of the case's failing execution, e.g. ort@1.23.2 for a case found on "
     "that release (default: the case's own)"},
    {"no-localize", "", "", "skip fault localization (the executions still run once)"},
    {"timeout", "SECONDS", "10", "per-model time limit of worker executions"},
    {"memory-limit-mb", "MB", "4096", "resident memory limit of a worker process"},
    {"verbose", "", "", "debug logging"},
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string os_name() {
  const std::string text = read_text("/etc/os-release");
  const std::string key = "PRETTY_NAME=";
  const size_t at = text.find(key);
  if (at == std::string::npos) return "Linux";
  std::string value = text.substr(at + key.size(), text.find('\n', at) - at - key.size());
  if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
  return value;
}

std::string machine_name() {
  utsname name{};
  return uname(&name) == 0 ? std::string(name.machine) : "unknown";
}

std::string error_cell(const ValueComparison& c) {
  if (c.shape_differs) return fmt::format("shape/type differs: {}", c.target_type);
  return fmt::format("{:.6g} | {:.6g} | {}", c.max_abs_error, c.max_rel_error, c.mismatches);
}

struct ExecutionRun {
  std::string name;
  RunResult result;
  std::vector<ValueComparison> outputs;  // against the stored expected outputs
  bool agrees = false;
};

// Expected (the stored reference outputs, and who agrees with them) against every execution
// that does not agree.
std::string comparison_section(const std::vector<ExecutionRun>& runs, const TensorMap& expected) {
  std::vector<std::string> agreeing;
  for (const auto& run : runs) {
    if (run.agrees) agreeing.push_back(fmt::format("`{}`", run.name));
  }
  std::string out = "#### Expected vs actual (re-run by `onnxfuzz report`)\n\n";
  out += fmt::format("Expected: the stored outputs (`test_data_set_0/output_*.pb`, the reference "
                     "interpreter's); executions that agree with them: {}.\n\n",
                     agreeing.empty() ? "none" : fmt::format("{}", fmt::join(agreeing, ", ")));
  for (const auto& run : runs) {
    if (run.agrees) continue;
    if (run.result.status != RunStatus::kOk) {
      out += fmt::format("`{}`: {}: {}\n\n", run.name, run_status_name(run.result.status),
                         run.result.message.substr(0, 400));
      continue;
    }
    out += fmt::format("`{}` (actual):\n\n| output | expected | actual | max abs error | max rel "
                       "error | elements outside tolerance |\n|---|---|---|---|---|---|\n",
                       run.name);
    for (const auto& c : run.outputs) {
      out += fmt::format("| `{}` | {} | {} | {} |\n", c.name, c.baseline_type, c.target_type,
                         c.shape_differs ? "- | - | shape/type differs" : error_cell(c));
    }
    out += "\n";
    for (const auto& c : run.outputs) {
      if (c.agrees) continue;
      auto e = expected.find(c.name);
      auto a = run.result.outputs.find(c.name);
      if (e == expected.end() || a == run.result.outputs.end()) continue;
      out += fmt::format("- `{}` expected: {}\n- `{}` actual: {}\n", c.name,
                         tensor_summary(e->second, 8), c.name, tensor_summary(a->second, 8));
      if (c.worst_index >= 0) {
        out += fmt::format("- worst element (flat index {}): expected {}, actual {}\n",
                           c.worst_index, c.baseline_value, c.target_value);
      }
    }
    out += "\n";
  }
  return out;
}


// Markdown: which graph optimizers the finding needs (fuzzer/optimizer_blame.h).
std::string optimizer_section(const OptimizerBlame& blame) {
  std::string out = "### Optimizer attribution\n\n";
  if (!blame.optimizer_dependent) {
    return out + "The finding stays with graph optimizations disabled (`ORT_DISABLE_ALL`): "
                 "it is not an optimizer's.\n\n";
  }
  out += "The finding disappears with graph optimizations disabled (`ORT_DISABLE_ALL`). ";
  if (!blame.interchangeable.empty()) {
    return out + fmt::format(
                     "It disappears, at the case's own optimization level, only when the session "
                     "config entry `optimization.disable_specified_optimizers` is `{}`: each of "
                     "these optimizers makes it alone, so disabling any one of them is not "
                     "enough ({} sessions tried).\n\n",
                     fmt::join(blame.interchangeable, ";"), blame.runs);
  }
  if (blame.culprits.empty()) return out + blame.detail + ".\n\n";
  return out + fmt::format(
                   "It also disappears, at the case's own optimization level, when the session "
                   "config entry `optimization.disable_specified_optimizers` is `{}`{} ({} "
                   "sessions tried).\n\n",
                   blame.culprits.front(),
                   blame.culprits.size() > 1
                       ? fmt::format(" or any one of `{}`: it needs each of them",
                                     fmt::join(blame.culprits, "`, `"))
                       : std::string(),
                   blame.runs);
}

std::string bisect_section(const nlohmann::json& bisect) {
  if (!bisect.is_object()) return "";
  const auto text = [&](const char* key) {
    return bisect.contains(key) && bisect[key].is_string() ? bisect[key].get<std::string>() : "";
  };
  std::vector<std::string> failing;
  if (bisect.contains("failing") && bisect["failing"].is_array()) {
    for (const auto& v : bisect["failing"]) {
      if (v.is_string()) failing.push_back(v.get<std::string>());
    }
  }
  std::string out = fmt::format("#### Bisected releases ({}, {} over {})\n\n", text("execution"),
                                text("mode"), text("versions"));
  if (failing.empty()) return out + "No release in the range fails the same way.\n\n";
  return out + fmt::format("Fails the same way from {} to {} ({} releases: {}).\n\n",
                           text("first"), text("last"), failing.size(), fmt::join(failing, ", "));
}

// The rewrites a case recorded (case.json artifacts, e.g. ort-optimized's "rewrites" notes).
std::vector<std::string> recorded_rewrites(const CaseRecord& record) {
  for (const auto& [execution, artifacts] : record.artifacts) {
    if (auto changes = optimizer_changes(artifacts.notes); !changes.empty()) return changes;
  }
  return {};
}

bool optimizes(const std::string& execution) {
  return execution.rfind("ort", 0) == 0 && ort_node_level(execution) != "disabled";
}

}  // namespace

std::string localization_section(const Localization& loc) {
  std::string out = fmt::format("#### Fault localization ({} vs {})\n\n", loc.baseline, loc.target);
  if (loc.failing_node >= 0) {
    out += fmt::format(
        "The error is raised in node #{}. Both executions ran the model cut down to the nodes "
        "it depends on, with the values it reads as graph outputs and every other intermediate "
        "value exposed too ({} values added); values compared with the oracle's tolerance, node "
        "by node in topological order.\n\n",
        loc.failing_node, loc.exposed_values);
  } else {
    out += fmt::format(
        "Both executions ran the model with every intermediate value exposed as a graph output "
        "({} values added); values compared with the oracle's tolerance, node by node in "
        "topological order.\n\n",
        loc.exposed_values);
  }
  switch (loc.status) {
    case LocalizationStatus::kLocalized: {
      if (loc.evidence == "precision") {
        out += fmt::format(
            "- faulty node: #{} `{}` (`{}`): its float64 output is what {} computes for the node "
            "in float32 (its float64 inputs rounded to float32), not its float64 result (max rel "
            "error {:.3g}; float64's own rounding is near 1e-16): {} computes it in float32{}\n",
            loc.node_index, loc.node_name, loc.op_type, loc.baseline, loc.replay.max_rel_error,
            loc.target,
            loc.replay.agrees ? ". Each value is within the tolerance; later nodes grow the "
                                "error into the divergence of the outputs"
                              : "");
      } else if (loc.evidence == "overflow") {
        out += fmt::format(
            "- faulty node: #{} `{}` (`{}`). Replayed alone on {}'s own values of its inputs, it "
            "differs from {} only at elements whose exact result (the node on its inputs "
            "widened to float64) does not fit the integer dtype: an **integer overflow**, whose "
            "result ONNX does not define ({} wraps, as numpy does). A difference in overflow "
            "behaviour, not a wrong value: file it only if that behaviour matters (e.g. it "
            "changed between releases)\n",
            loc.node_index, loc.node_name, loc.op_type, loc.target, loc.baseline, loc.baseline);
      } else if (loc.evidence == "replay") {
        out += fmt::format(
            "- first divergent node: #{} `{}` (`{}`). Replayed alone on {}'s own values of its "
            "inputs, {} computes something else (max abs error {:.6g}, {} elements outside the "
            "tolerance): the node is wrong, not its inputs\n",
            loc.node_index, loc.node_name, loc.op_type, loc.target, loc.baseline,
            loc.replay.max_abs_error, loc.replay.mismatches);
      } else {
        out += fmt::format("- first divergent node: #{} `{}` (`{}`), whose inputs all agree\n",
                           loc.node_index, loc.node_name, loc.op_type);
      }
      out += fmt::format("- attributes: {}\n", loc.attributes.empty()
                                                   ? std::string("none")
                                                   : fmt::format("`{}`", fmt::join(loc.attributes, "`, `")));
      out += fmt::format("- input types: {}\n", fmt::join(loc.input_types, "; "));
      const auto& c = loc.output;
      out += c.shape_differs
                 ? fmt::format("- output `{}`: {} has {}, {} has {}\n", c.name, loc.baseline,
                               c.baseline_type, loc.target, c.target_type)
                 : fmt::format("- output `{}` ({}): max abs error {:.6g}, max rel error {:.6g}, "
                               "{} elements outside the tolerance\n",
                               c.name, c.baseline_type, c.max_abs_error, c.max_rel_error,
                               c.mismatches);
      if (c.worst_index >= 0) {
        out += fmt::format("- worst element (flat index {}): {} {}, {} {}\n", c.worst_index,
                           loc.baseline, c.baseline_value, loc.target, c.target_value);
      }
      if (loc.vanished) {
        out += "- note: with the intermediates exposed, the graph outputs agree: exposing "
               "them changed what the optimizer does\n";
      }
      if (loc.failing_node >= 0) {
        out += fmt::format("- so the error in node #{} follows from this divergence: report "
                           "node #{}, not the node that raised the error\n",
                           loc.failing_node, loc.node_index);
      }
      break;
    }
    case LocalizationStatus::kVanished:
      out += "The divergence **disappears** when the intermediates are exposed: exposing them "
             "changes what the optimizer does (a fusion no longer applies once its inner values "
             "are outputs).\n";
      break;
    case LocalizationStatus::kPropagated:
      out += fmt::format(
          "**No node is faulty**: {}. Each node, replayed alone on {}'s own values of its "
          "inputs, gives what {} gives. This is likely not a bug to report.\n",
          loc.detail, loc.target, loc.baseline);
      break;
    case LocalizationStatus::kNoDivergence:
    case LocalizationStatus::kNotRun:
      out += fmt::format("Not localized: {}.\n", loc.detail);
      break;
  }
  if ((loc.status != LocalizationStatus::kLocalized || loc.vanished)) {
    if (loc.rewrites.empty()) {
      out += "\nNo optimizer rewrites are recorded for this model.\n";
    } else {
      out += "\nRewrites ORT's optimizer applied to the model as given (`ort-optimized`):\n\n";
      for (const auto& r : loc.rewrites) out += fmt::format("- {}\n", r);
    }
  }
  return out + "\n";
}

const std::span<const FlagSpec> kReportFlags = kFlags;

int command_report(const ParsedFlags& flags) {
  if (flags.positional.size() != 1) return fail(exit_code::kUsage, "report needs exactly one CASE_DIR");
  auto limits = worker_limits(flags);
  if (!limits) return fail(exit_code::kUsage, limits.error());
  const ExecutionOptions execution_options = *limits;

  const std::string dir = flags.positional[0];
  if (!fs::is_directory(dir)) return fail(exit_code::kBadInput, fmt::format("{}: no such case directory", dir));
  auto test_case = read_test_case(dir);
  if (!test_case) return fail(exit_code::kBadInput, test_case.error());
  if (!test_case->record) {
    return fail(exit_code::kBadInput,
                fmt::format("{}: no case.json: report needs a stored case (onnxfuzz fuzz or "
                            "minimize writes one)",
                            dir));
  }
  if (test_case->inputs.empty() || test_case->expected.empty()) {
    return fail(exit_code::kBadInput, fmt::format("{}: no test data (test_data_set_0)", dir));
  }
  CaseRecord& record = *test_case->record;
  if (const std::string as = flags.get("execution"); !as.empty()) {
    if (!is_execution_name(as)) {
      return fail(exit_code::kUsage, fmt::format("--execution: unknown execution '{}'; known "
                                                 "executions: {}",
                                                 as, fmt::join(known_execution_names(), ", ")));
    }
    std::ranges::replace(record.executions, record.execution, as);
    record.execution = as;
  }
  const TensorMap& inputs = test_case->inputs[0];
  const TensorMap& expected = test_case->expected[0];
  LocalizeOptions options;
  for (const auto& [dtype, tol] : record.tolerances) options.oracle.tolerance[dtype] = tol;
  options.rewrites = recorded_rewrites(record);

  // Every execution of the case, on the minimized model, against the stored outputs.
  std::vector<std::string> names = record.executions;
  if (std::ranges::find(names, record.execution) == names.end()) names.push_back(record.execution);
  std::map<std::string, std::unique_ptr<Execution>> executions;
  std::vector<ExecutionRun> runs;
  for (const auto& name : names) {
    if (!is_execution_name(name)) {
      return fail(exit_code::kBadInput,
                  fmt::format("{}: case.json names an unknown execution '{}'", dir, name));
    }
    auto execution = make_execution(name, execution_options);
    if (!execution) return fail(exit_code::kEnvironment, execution.error());
    if (auto ready = (*execution)->check_ready(); !ready) {
      return fail(exit_code::kEnvironment, fmt::format("{}: {}", name, ready.error()));
    }
    ExecutionRun run;
    run.name = name;
    run.result = (*execution)->run(ModelUnderTest::view(test_case->model), inputs);
    if (run.result.status == RunStatus::kOk) {
      run.agrees = true;
      for (const auto& [out_name, want] : expected) {
        auto got = run.result.outputs.find(out_name);
        if (got == run.result.outputs.end()) {
          run.agrees = false;
          continue;
        }
        run.outputs.push_back(compare_values(out_name, want, got->second, options.oracle));
        run.agrees &= run.outputs.back().agrees;
      }
    }
    runs.push_back(std::move(run));
    record.versions[name] = (*execution)->version();  // what ran now
    executions[name] = std::move(*execution);
  }

  ReportExtras extras;
  extras.os = os_name();
  extras.architecture = machine_name();
  extras.comparison = comparison_section(runs, expected);
  extras.repro_files = true;
  nlohmann::json case_json = nlohmann::json::parse(read_text(fs::path(dir) / "case.json"), nullptr, false);
  if (!case_json.is_discarded() && case_json.is_object() && case_json.contains("bisect")) {
    extras.bisect = bisect_section(case_json["bisect"]);
  }

  std::string summary = "not localized (not a numeric or shape finding, nor a rejection of "
                        "several nodes)";
  const bool numeric = record.kind == VerdictKind::kNumeric || record.kind == VerdictKind::kShape;
  const bool upstream =
      record.kind == VerdictKind::kRejection && test_case->model.graph().node_size() > 1;
  // The baseline: ref when the case has it, else the first execution that is not the target.
  std::string baseline;
  for (const auto& name : names) {
    if (name == record.execution) continue;
    if (name == "ref" || baseline.empty()) baseline = name;
  }
  if (baseline.empty()) baseline = "ref";
  const bool localizing = !flags.has("no-localize");
  const bool attribute = localizing && attributable(record.kind);
  if ((numeric || upstream || attribute) && localizing && !executions.count(baseline)) {
    auto made = make_execution(baseline, execution_options);
    if (!made) return fail(exit_code::kEnvironment, made.error());
    executions[baseline] = std::move(*made);
  }
  if (numeric && localizing) {
    Localization loc = localize(test_case->model, inputs, *executions[baseline],
                                *executions[record.execution], options);
    if ((loc.status != LocalizationStatus::kLocalized || loc.vanished) && loc.rewrites.empty() &&
        optimizes(record.execution)) {
      // The fallback needs the rewrites: ask ORT for its optimized model of this one.
      if (auto optimized = make_execution("ort-optimized", execution_options)) {
        RunResult r = (*optimized)->run(ModelUnderTest::view(test_case->model), inputs);
        loc.rewrites = optimizer_changes(r.notes);
      }
    }
    if (loc.status == LocalizationStatus::kVanished) {
      loc.detail = fmt::format(
          "the divergence disappears when the {} intermediates are graph outputs; optimizer "
          "changes on the model as given: {}",
          loc.exposed_values,
          loc.rewrites.empty() ? std::string("none recorded") : fmt::format("{}", fmt::join(loc.rewrites, "; ")));
    }
    extras.localization = localization_section(loc);
    summary = localization_summary(loc);
    if (computes_half_in_float32(test_case->model, inputs, *executions[record.execution],
                                 *executions[baseline], options.oracle)) {
      extras.localization += fmt::format(
          "### Half precision\n\n`{}`'s outputs match `{}` run on the model with every float16 "
          "and bfloat16 value, initializer and cast target made float32. So `{}` computes these "
          "half-precision ops in float32 and does not round between them, where the model says "
          "each op's output is half precision. ONNX Runtime's CPU provider does that for ops it "
          "has no float16 kernel for (it inserts casts around them and removes the ones in "
          "between): a documented precision policy rather than a wrong kernel; file it only if "
          "the rounding the model asks for matters.\n\n",
          record.execution, baseline, record.execution);
      summary += "; half precision computed in float32";
    }
  } else if (upstream && localizing) {
    const Localization loc =
        localize_error_upstream(test_case->model, inputs, record.message, *executions[baseline],
                                *executions[record.execution], options);
    // Only a traced error gets the section: an error of its own needs no more than the message.
    if (loc.status == LocalizationStatus::kLocalized) extras.localization = localization_section(loc);
    summary = localization_summary(loc);
  }
  if (attribute) {
    const Verdict wanted{record.kind, record.execution, "", record.message, ""};
    const OptimizerBlame blame =
        blame_optimizers(test_case->model, inputs, *executions[baseline],
                         *executions[record.execution], wanted, options.oracle);
    if (blame.attempted) {
      extras.localization += optimizer_section(blame);
      summary += fmt::format("; optimizers: {}", blame.detail);
    }
  }

  const fs::path case_dir(dir);
  for (const auto& [file, text] :
       {std::pair{"repro.mjs", render_repro_mjs(record)}, std::pair{"repro.py", render_repro_py(record)},
        std::pair{"report.md", render_report(record, test_case->model, inputs, expected, extras)}}) {
    if (auto ok = write_file_atomic((case_dir / file).string(), text, Durability::kAtomicOnly); !ok) {
      return fail(exit_code::kEnvironment, ok.error());
    }
  }
  fmt::print("{}: report.md, repro.mjs, repro.py written\nlocalization: {}\n", dir, summary);
  return exit_code::kOk;
}

}  // namespace onnxfuzz
