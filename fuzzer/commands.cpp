// Subcommands: gen, run, fuzz, minimize, replay. Flags and help live in the tables below.
#include "fuzzer/commands.h"

#include <fmt/format.h>
#include <onnx/defs/printer.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <algorithm>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

#include "corpus/case_store.h"
#include "fuzzer/bisect.h"
#include "fuzzer/campaign.h"
#include "fuzzer/evaluation.h"
#include "fuzzer/exit_codes.h"
#include "fuzzer/finding.h"
#include "fuzzer/flags.h"
#include "fuzzer/jobs.h"
#include "fuzzer/probe.h"
#include "fuzzer/triage.h"
#include "fuzzer/report_command.h"
#include "oracles/backend_gaps.h"
#include "oracles/support_matrix.h"
#include "generators/generator.h"
#include "generators/op_spec.h"
#include "generators/patterns.h"
#include "generators/inputs.h"
#include "generators/model_io.h"
#include "generators/mutators/dispatcher.h"
#include "generators/mutators/provenance.h"
#include "generators/rng.h"
#include "oracles/reference.h"

namespace onnxfuzz {
namespace {
namespace fs = std::filesystem;

// ---- Flag tables -------------------------------------------------------------------------

#define ONNXFUZZ_EXECUTION_FLAGS(default_execs)                                                \
  FlagSpec{"executions", "LIST", default_execs,                                                \
           "comma-separated executions, in any order (listed under 'executions:' below)"},     \
      FlagSpec{"timeout", "SECONDS", "10", "per-model time limit of worker executions"},       \
      FlagSpec{"memory-limit-mb", "MB", "4096", "resident memory limit of a worker process"},  \
      FlagSpec{"after", "NAME", "ref",                                                         \
               "the execution converter executions (convert:...) run their converted model on; " \
               "it is compared with NAME on the original model (added if not listed)"},       \
      FlagSpec{"atol", "X", "", "float32 absolute tolerance (default: the dtype table's)"},    \
      FlagSpec{"rtol", "X", "", "float32 relative tolerance (default: the dtype table's)"},    \
      FlagSpec{"atol-f64", "X", "", "float64 absolute tolerance (default: the dtype table's)"}, \
      FlagSpec{"rtol-f64", "X", "", "float64 relative tolerance (default: the dtype table's)"}, \
      FlagSpec{"tolerance", "LIST", "",                                                        \
               "per-dtype tolerances DTYPE=ATOL:RTOL,... e.g. float16=1e-2:2e-2; unlisted "    \
               "dtypes keep the dtype table's (integers and bool: exact)"},                    \
      FlagSpec {                                                                               \
    "verbose", "", "", "debug logging"                                                         \
  }

#define ONNXFUZZ_GENERATOR_FLAGS                                                               \
  FlagSpec{                                                                                    \
      "seed", "S", "",                                                                         \
      "master seed; model i uses the i-th seed drawn from it (gen: 1; fuzz: random, logged)"}, \
      FlagSpec{"max-nodes", "K", "10", "maximum operator nodes per generated model"},          \
      FlagSpec{"ops", "LIST", "", "only generate these ops (comma-separated)"},                \
      FlagSpec{"exclude-ops", "LIST", "", "never generate these ops (comma-separated)"},       \
      FlagSpec{"target", "NAME", "",                                                           \
               "draw only (op, dtype) pairs and dtypes that NAME's committed support matrix "  \
               "says run (opencv; or a probe's .json file)"},                         \
      FlagSpec{"avoid-gaps", "LIST", "",                                                       \
               "never draw an (op, dtype) pair these executions are documented not to run "    \
               "(oracles/backend_gaps.cpp, committed support matrices): a model holding one "  \
               "is refused there and tests nothing on it (fuzz: its --executions; gen: none; " \
               "none: draw every pair)"},                                                      \
      FlagSpec{"dtypes", "LIST", "",                                                           \
               "only these element types, equally weighted (comma-separated table names: "     \
               "float32, float16, int32, ...; default: GenPolicy's weights)"},                 \
      FlagSpec{"edge-rate", "X", "",                                                           \
               "probability in [0,1] that an op draws edge shapes/values (default: GenPolicy's)"}, \
      FlagSpec{"patterns", "", "", "insert optimizer patterns (the default)"},                 \
      FlagSpec{"no-patterns", "", "", "never insert optimizer patterns"}, FlagSpec {           \
    "pattern-rate", "X", "",                                                                   \
        "probability in [0,1] that a growth step inserts a pattern (default: GenPolicy's)"     \
  }

const FlagSpec kGenFlags[] = {
    {"count", "N", "10", "number of models to write"},
    {"model-seed", "S", "", "write the one model with this per-model seed (case.json's seed)"},
    {"focus", "KEYS", "",
     "build each model around these coverage targets, comma-separated OP:DTYPE, "
     "PRODUCER>CONSUMER or OP.ATTR=VALUE (a guided case's regenerate command gives them)"},
    {"test-cases", "", "",
     "write ONNX test-case directories (model.onnx + test_data_set_0 "
     "with inputs and the reference's outputs) instead of bare .onnx files"},
    {"out", "DIR", "", "output directory (required)"},
    ONNXFUZZ_GENERATOR_FLAGS,
    {"verbose", "", "", "debug logging"},
};

const FlagSpec kRunFlags[] = {
    ONNXFUZZ_EXECUTION_FLAGS("ref,ort"),
    {"input-seed", "S", "1", "seed for random inputs when PATH is a bare .onnx file"},
    {"input-shape", "SHAPES", "",
     "concrete shapes for inputs with symbolic dims, NAME=D0xD1x...,... (e.g. x=1x3x48x320); "
     "other symbolic dims are 1"},
};

const FlagSpec kFuzzFlags[] = {
    {"time", "DURATION", "60s", "campaign length (60s, 5m, 1h)"},
    {"iterations", "N", "", "stop after N models instead of a time limit"},
    {"out", "DIR", "out", "output directory: cases/<id>/ and stats.json"},
    ONNXFUZZ_GENERATOR_FLAGS,
    ONNXFUZZ_EXECUTION_FLAGS("ref,ort"),
    {"minimize-budget", "SECONDS", "60", "time limit for minimizing one finding"},
    {"no-minimize", "", "", "store findings unminimized"},
    {"minimize-per-cause", "N", "10",
     "findings minimized per cause, the others counted as its hits: per faulty node for a "
     "numeric or shape finding that localization traces to one, else per kind, execution and "
     "message (hangs: at most 3)"},
    {"known", "DIRS", "",
     "comma-separated corpora of triaged findings: findings with the same signature are counted, "
     "not stored"},
    {"no-status", "", "", "plain log lines even on a terminal"},
    {"seeds", "PATHS", "",
     "comma-separated seed models to mutate: .onnx files, test-case directories, or directories "
     "searched for both; each seed runs once, then --mutate-ratio of the models are mutants of "
     "the pool (OUT/pool/ keeps the mutants that found something new)"},
    {"guidance", "on|off", "on",
     "coverage guidance: build each generated model around (op, dtype) pairs, op pairs and "
     "attribute values the campaign has covered least"},
    {"ngram-sample", "N", "16",
     "one passing model in N adds its op n-grams to ngrams.json (triage's sequence analysis)"},
    {"mutate-ratio", "R", "", "with --seeds: share of models that are mutants, 0..1 (0.5)"},
    {"mutate", "MODE", "",
     "with --seeds: valid (the default: mutants pass the checker and strict inference) or "
     "invalid (each breaks one rule; a backend that runs it is accepted-invalid)"},
    {"mutators", "LIST", "", "with --seeds: draw only these mutators (onnxfuzz mutate --list)"},
    {"mutate-depth", "K", "", "with --seeds, valid mode: up to K stacked mutations per mutant (3)"},
    {"input-shape", "SHAPES", "",
     "with --seeds: concrete shapes for inputs with symbolic dims, NAME=D0xD1x...,... (e.g. x=1x3x48x320); "
     "other symbolic dims are 1"},
    {"jobs", "N", "all",
     "parallel fuzzing processes sharing OUT (N, or all: one per core): each keeps its state in "
     "OUT/job-<i>/, cases are shared and deduplicated; --iterations is split among them. Job i "
     "draws its own seed stream from --seed; --jobs 1 runs the --seed stream itself"},
    {"spare-worker", "auto|on|off", "auto",
     "once a worker has died on a model, keep another started and ready to take over (auto: "
     "unless --jobs fills every core)"},
    {"shard", "I/N", "", "this machine's shard of N: a seed stream disjoint from the others'"},
    {"resume", "", "", "continue the killed or stopped campaign in --out with its own arguments"},
    {"stats-interval", "SECONDS", "10", "seconds between rows of stats.csv"},
    {"lookahead", "D", "4",
     "models generated and sent to the workers ahead of the one being judged (0: one at a time; "
     "none with --seeds)"},
    {"instance", "I", "", "internal: run as job I of --jobs"},
};

const FlagSpec kStatusFlags[] = {
    {"json", "", "", "print the merged status as JSON"},
};

const FlagSpec kMergeFlags[] = {
    {"into", "DIR", "", "the output directory that receives the merged cases/"},
};

const FlagSpec kMinimizeFlags[] = {
    ONNXFUZZ_EXECUTION_FLAGS(""),
    {"out", "DIR", "minimized", "where the minimized case is written (DIR/cases/<id>/)"},
    {"budget", "SECONDS", "300", "time limit for minimization"},
    {"input-seed", "S", "1", "seed for random inputs when the model has no test data"},
    {"input-shape", "SHAPES", "",
     "concrete shapes for inputs with symbolic dims, NAME=D0xD1x...,... (e.g. x=1x3x48x320); "
     "other symbolic dims are 1"},
};

const FlagSpec kReplayFlags[] = {
    ONNXFUZZ_EXECUTION_FLAGS(""),
};

const FlagSpec kTriageFlags[] = {
    {"json", "", "", "print the report as JSON"},
    {"localize", "", "",
     "run the cases (on --executions, e.g. ref,ort@1.23.2 for a corpus found on that release; "
     "else each case's own): key numeric and shape cases of several nodes by their first "
     "divergent node, and every finding that vanishes with graph optimizations off by the "
     "optimizers it needs (disabled by name in halves)"},
    {"top-ngrams", "N", "15", "op n-grams shown, most over-represented in failing models first"},
    ONNXFUZZ_EXECUTION_FLAGS(""),
};

const FlagSpec kProbeFlags[] = {
    {"execution", "NAME", "ort-noopt", "the execution to probe"},
    {"models-per-pair", "N", "2", "single-op models tried per (op, dtype) pair"},
    {"out", "DIR", "probe", "where probe-<execution>.json and .md are written"},
    {"timeout", "SECONDS", "10", "per-model time limit of worker executions"},
    {"memory-limit-mb", "MB", "4096", "resident memory limit of a worker process"},
};

const FlagSpec kMutateFlags[] = {
    {"n", "N", "10", "number of mutants to write (-n N)"},
    {"out", "DIR", "", "output directory (required): <name>.onnx and <name>.chain.json per mutant"},
    {"mutators", "LIST", "",
     "draw only these mutators (comma-separated; default: every mutator of the mode; --list "
     "names them)"},
    {"mutate", "MODE", "valid",
     "valid: every mutant passes the checker and strict shape inference; invalid: each mutant "
     "breaks exactly one named rule"},
    {"seed", "S", "1", "master seed; mutant i draws its mutators and their seeds from it"},
    {"depth", "K", "3", "valid mode: 1..K stacked mutations per mutant"},
    {"nan-inf", "", "", "the value mutator may write NaN and Inf"},
    {"input-seed", "S", "1", "seed for random inputs when the seed model has no stored inputs"},
    {"chain", "FILE", "",
     "re-derive the mutant a .chain.json (or a case's case.json or directory) describes (no "
     "MODEL) and write it into --out (a case's as original.onnx)"},
    {"list", "", "", "list the mutators (name, kind, rule) and exit"},
    {"verbose", "", "", "debug logging"},
    {"input-shape", "SHAPES", "",
     "concrete shapes for inputs with symbolic dims, NAME=D0xD1x...,... (e.g. x=1x3x48x320); "
     "other symbolic dims are 1"},
};

const FlagSpec kOpsFlags[] = {
    {"markdown", "", "", "print Markdown tables instead of plain lines"},
};

struct Command {
  std::string_view name;
  std::string_view usage;
  std::string_view summary;
  std::span<const FlagSpec> flags;
  int (*run)(const ParsedFlags&);
};

// ---- Shared plumbing -----------------------------------------------------------------------

struct ExecutionSet {
  std::vector<std::unique_ptr<Execution>> owned;
  std::vector<Execution*> pointers;
};

// Fills `tol` from --ATOL/--RTOL where given; false when neither is.
std::expected<bool, std::string> tolerance_flags(const ParsedFlags& flags,
                                                 std::string_view atol_name,
                                                 std::string_view rtol_name, Tolerance& tol) {
  bool given = false;
  for (auto [name, field] : {std::pair{atol_name, &tol.atol}, std::pair{rtol_name, &tol.rtol}}) {
    if (!flags.has(name)) continue;
    auto value = flags.get_double(name);
    if (!value) return std::unexpected(value.error());
    if (!(*value >= 0)) return std::unexpected(fmt::format("--{}: must be >= 0", name));
    *field = *value;
    given = true;
  }
  return given;
}

// Tolerances: the dtype table's, then --atol/--rtol (float32), --atol-f64/--rtol-f64
// (float64) and --tolerance; a dtype set by two of these flags is a usage error.
std::expected<OracleConfig, std::string> oracle_config(const ParsedFlags& flags) {
  OracleConfig config;
  std::vector<DType> set_by_legacy;
  for (auto [dtype, atol, rtol] : {std::tuple{DType::kFloat, "atol", "rtol"},
                                   std::tuple{DType::kDouble, "atol-f64", "rtol-f64"}}) {
    auto given = tolerance_flags(flags, atol, rtol, config.tolerance[dtype]);
    if (!given) return std::unexpected(given.error());
    if (*given) set_by_legacy.push_back(dtype);
  }
  OracleConfig listed;
  listed.tolerance.clear();
  if (auto parsed = parse_tolerance_list(flags.get("tolerance"), listed); !parsed) {
    return std::unexpected(fmt::format("--tolerance: {}", parsed.error()));
  }
  for (const auto& [dtype, tol] : listed.tolerance) {
    if (std::ranges::find(set_by_legacy, dtype) != set_by_legacy.end()) {
      return std::unexpected(
          fmt::format("--tolerance sets {}, which --atol/--rtol (or -f64) already set; use one",
                      dtype_name(dtype)));
    }
    config.tolerance[dtype] = tol;
  }
  return config;
}

// Builds the executions; usage errors (unknown name) and environment errors (worker cannot
// start) are told apart by the returned exit code.
std::expected<ExecutionSet, std::pair<int, std::string>> make_executions(
    const std::vector<std::string>& names, const ParsedFlags& flags) {
  if (names.empty())
    return std::unexpected(std::pair{exit_code::kUsage, std::string("--executions is empty")});
  auto limits = worker_limits(flags);
  if (!limits) return std::unexpected(std::pair{exit_code::kUsage, limits.error()});
  ExecutionOptions options = *limits;
  if (flags.has("spare-worker")) {
    // auto: a spare worker unless the campaign's jobs keep every core busy. Measured on 2
    // cores with ref,ort: +8..16% models for one job, -3..6% for --jobs 2 (its start takes a
    // core from the other job).
    const std::string spare = flags.get("spare-worker");
    auto jobs = parse_jobs(flags.has("jobs") ? flags.get("jobs") : "1");
    if (spare == "auto") {
      options.spare_worker = !jobs || *jobs < usable_cores();
    } else if (spare == "on" || spare == "off") {
      options.spare_worker = spare == "on";
    } else {
      return std::unexpected(std::pair{
          exit_code::kUsage, fmt::format("--spare-worker: expected auto, on or off, got '{}'", spare)});
    }
  }
  if (flags.has("after")) {
    options.after = flags.get("after");
    if (options.after.starts_with("convert:") || !is_execution_name(options.after)) {
      return std::unexpected(std::pair{
          exit_code::kUsage,
          fmt::format("--after: '{}' is not an execution a converted model can run on; known "
                      "executions: {}",
                      options.after, fmt::join(known_execution_names(), ", "))});
    }
  }
  // A converter execution is judged against its --after execution on the original model
  // (oracles/execution.h paired_with): that execution joins the list when it is missing.
  std::vector<std::string> wanted;
  for (const auto& name : names) {
    wanted.push_back(canonical_execution_name(name, options));
    const std::string pair = paired_execution(wanted.back());
    if (!pair.empty() && std::ranges::find(names, pair) == names.end() &&
        std::ranges::find(wanted, pair) == wanted.end()) {
      spdlog::info("{} is compared with {} on the original model: running {} too",
                   wanted.back(), pair, pair);
      wanted.push_back(pair);
    }
  }
  ExecutionSet set;
  for (const auto& name : wanted) {
    for (auto* existing : set.pointers) {
      if (existing->name() == name) {
        return std::unexpected(
            std::pair{exit_code::kUsage, fmt::format("execution '{}' listed twice", name)});
      }
    }
    auto execution = make_execution(name, options);
    if (!execution) {
      return std::unexpected(std::pair{
          is_execution_name(name) ? exit_code::kEnvironment : exit_code::kUsage,
          execution.error()});
    }
    if (auto ready = (*execution)->check_ready(); !ready) {
      return std::unexpected(std::pair{exit_code::kEnvironment, ready.error()});
    }
    set.pointers.push_back(execution->get());
    set.owned.push_back(std::move(*execution));
  }
  return set;
}

std::expected<GenPolicy, std::string> generator_policy(const ParsedFlags& flags) {
  GenPolicy policy;
  auto max_nodes = flags.get_int("max-nodes");
  if (!max_nodes) return std::unexpected(max_nodes.error());
  if (*max_nodes < 1 || *max_nodes > 1000) {
    return std::unexpected(std::string("--max-nodes: expected 1..1000"));
  }
  policy.max_nodes = static_cast<int>(*max_nodes);
  policy.only_ops = flags.get_list("ops");
  policy.exclude_ops = flags.get_list("exclude-ops");
  if (auto ok = validate_op_names(policy.only_ops); !ok) return std::unexpected(ok.error());
  if (auto ok = validate_op_names(policy.exclude_ops); !ok) return std::unexpected(ok.error());
  if (flags.has("dtypes")) {
    const auto names = flags.get_list("dtypes");
    if (names.empty()) return std::unexpected(std::string("--dtypes: empty list"));
    policy.dtype_weights.clear();
    for (const auto& name : names) {
      auto dtype = dtype_from_name(name);
      if (!dtype) {
        return std::unexpected(
            fmt::format("--dtypes: unknown dtype '{}'; known dtypes: {}", name, dtype_names()));
      }
      policy.dtype_weights[*dtype] = 1;
    }
  }
  if (flags.has("avoid-gaps") && flags.get("avoid-gaps") != "none") {
    const auto names = flags.get_list("avoid-gaps");
    for (const auto& name : names) {
      if (!is_execution_name(name)) {
        return std::unexpected(fmt::format("--avoid-gaps: unknown execution '{}'", name));
      }
    }
    policy.avoid_pairs = documented_gaps(names);
  }
  if (flags.has("target")) {
    auto matrix = load_target_matrix(flags.get("target"));
    if (!matrix) return std::unexpected(fmt::format("--target: {}", matrix.error()));
    // Pairs that ran only wrapped in Casts make values the target cannot hand back: a model
    // ending in one would not run on it at all.
    for (const auto& [op, by_dtype] : matrix->pairs) {
      for (const auto& [dtype, pair] : by_dtype) {
        if (pair.runs() && !pair.wrapped) policy.only_pairs[op].insert(dtype);
      }
    }
    if (policy.only_pairs.empty())
      return std::unexpected(fmt::format("--target: {} runs no pair", flags.get("target")));
    // Values the target cannot carry in or out would keep it from running the model at all.
    if (!matrix->carried.empty()) {
      std::erase_if(policy.dtype_weights, [&](const auto& entry) {
        return std::find(matrix->carried.begin(), matrix->carried.end(), entry.first) ==
               matrix->carried.end();
      });
      if (policy.dtype_weights.empty())
        return std::unexpected(fmt::format(
            "--target {}: none of the drawn dtypes is carried by {}", flags.get("target"),
            matrix->execution));
    }
  }
  for (auto [name, field] : {std::pair{"edge-rate", &policy.prob_edge},
                             std::pair{"pattern-rate", &policy.prob_pattern}}) {
    if (!flags.has(name)) continue;
    auto rate = flags.get_double(name);
    if (!rate) return std::unexpected(rate.error());
    if (!(*rate >= 0 && *rate <= 1)) {
      return std::unexpected(fmt::format("--{}: expected a probability in [0, 1], got {}", name,
                                         flags.get(name)));
    }
    *field = *rate;
  }
  if (flags.has("patterns") && flags.has("no-patterns")) {
    return std::unexpected(std::string("--patterns and --no-patterns contradict each other"));
  }
  if (flags.has("no-patterns")) policy.patterns = false;
  if (flags.has("patterns")) policy.patterns = true;
  // An impossible policy (e.g. every op excluded) is a usage error, found before any work.
  if (auto probe = generate_model(policy, 0); !probe) return std::unexpected(probe.error());
  return policy;
}

std::expected<uint64_t, std::string> seed_flag(const ParsedFlags& flags, std::string_view name) {
  const std::string text = flags.get(name);
  try {
    size_t used = 0;
    if (text.empty() || text[0] == '-') throw std::invalid_argument(text);
    const uint64_t value = std::stoull(text, &used, 0);
    if (used != text.size()) throw std::invalid_argument(text);
    return value;
  } catch (const std::exception&) {
    return std::unexpected(fmt::format("--{}: expected an unsigned integer, got '{}'", name, text));
  }
}

void print_result(const Observation& obs) {
  fmt::print("  {:<10} {} ({:.3f} s)\n", obs.execution, run_status_name(obs.result.status),
             obs.result.seconds);
  // Side data (ort-optimized: the rewrites that fired) tells where a difference comes from.
  for (const auto& [note, lines] : obs.result.notes) {
    if (!lines.empty()) fmt::print("             {}: {}\n", note, fmt::join(lines, "; "));
  }
  if (obs.result.status != RunStatus::kOk) {
    fmt::print("             {}\n", obs.result.message);
    return;
  }
  for (const auto& name : obs.result.output_order) {
    auto it = obs.result.outputs.find(name);
    if (it != obs.result.outputs.end()) {
      fmt::print("             {} = {}\n", name, tensor_summary(it->second));
    }
  }
}

// The verdict lines of one evaluation: the verdicts, else "pass" when some execution ran the
// model, else the not-run outcome.
void print_verdicts(const Evaluation& eval) {
  for (const auto& v : eval.verdicts) {
    fmt::print("verdict: {} on {}{}: {}\n  evidence: {}\n", verdict_kind_name(v.kind), v.execution,
               v.baseline.empty() ? "" : fmt::format(" (vs {})", v.baseline), v.message,
               v.evidence);
  }
  if (!eval.verdicts.empty()) return;
  if (no_execution_ran(eval)) {
    fmt::print("verdict: not run: no execution ran the model (not a finding)\n");
  } else {
    fmt::print("verdict: pass (outputs compared with {})\n", eval.baseline);
  }
}

// Ops the reference cannot run: a model with one is unsupported input for ref-based commands.
std::vector<std::string> unsupported_ops(const onnx::ModelProto& model) {
  std::vector<std::string> missing;
  for (const auto& node : model.graph().node()) {
    const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
    if ((!default_domain || !reference_supports(node.op_type())) &&
        std::ranges::find(missing, node.op_type()) == missing.end()) {
      missing.push_back(node.op_type());
    }
  }
  return missing;
}

// A model plus the data sets to run it on, from a .onnx file or a test-case directory.
struct LoadedInput {
  onnx::ModelProto model;
  std::vector<TensorMap> inputs;
  std::vector<TensorMap> expected;  // empty maps when there is nothing stored
  std::optional<CaseRecord> record;
};

std::expected<LoadedInput, std::string> load_input(const std::string& path, uint64_t input_seed,
                                                   const InputShapes& shapes = {}) {
  LoadedInput loaded;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    auto tc = read_test_case(path);
    if (!tc) return std::unexpected(tc.error());
    loaded.model = std::move(tc->model);
    loaded.inputs = std::move(tc->inputs);
    loaded.expected = std::move(tc->expected);
    loaded.record = std::move(tc->record);
  } else {
    auto model = load_model(path);
    if (!model) return std::unexpected(model.error());
    loaded.model = std::move(*model);
  }
  if (auto fixed = fix_input_shapes(loaded.model, shapes); !fixed) {
    return std::unexpected(fmt::format("{}: {}", path, fixed.error()));
  }
  if (loaded.inputs.empty()) {
    // Random inputs are made in memory: refuse absurd declared shapes before allocating.
    constexpr long double kMaxInputBytes = 1LL << 30;
    long double total = 0;
    for (const auto* info : runtime_inputs(loaded.model.graph())) {
      const auto& type = info->type().tensor_type();
      long double bytes =
          dtype_supported(type.elem_type()) ? dtype_size(static_cast<DType>(type.elem_type())) : 1;
      for (const auto& dim : type.shape().dim()) {
        if (dim.has_dim_value()) bytes *= std::max<int64_t>(dim.dim_value(), 0);
      }
      total += bytes;
    }
    if (total > kMaxInputBytes) {
      return std::unexpected(fmt::format(
          "{}: its inputs would take {:.3g} GB; onnxfuzz makes random inputs up to 1 GB "
          "(give a test-case directory with stored inputs instead)",
          path, static_cast<double>(total / 1e9)));
    }
    Rng rng(input_seed);
    loaded.inputs.push_back(synthesize_inputs(loaded.model, rng));
    loaded.expected.emplace_back();
  }
  return loaded;
}

// ---- gen -------------------------------------------------------------------------------------

int command_gen(const ParsedFlags& flags) {
  if (!flags.positional.empty())
    return fail(exit_code::kUsage, "gen takes no positional arguments");
  if (flags.get("out").empty()) return fail(exit_code::kUsage, "gen needs --out DIR");
  auto count = flags.get_int("count");
  if (!count || *count < 0) return fail(exit_code::kUsage, "--count: expected N >= 0");
  auto seed =
      flags.has("seed") ? seed_flag(flags, "seed") : std::expected<uint64_t, std::string>(1);
  if (!seed) return fail(exit_code::kUsage, seed.error());
  auto policy = generator_policy(flags);
  if (!policy) return fail(exit_code::kUsage, policy.error());
  const std::string out = flags.get("out");
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec || !fs::is_directory(out)) {
    return fail(exit_code::kEnvironment, fmt::format("cannot create output directory {}", out));
  }
  std::optional<uint64_t> single_seed;
  if (flags.has("model-seed")) {
    auto parsed = seed_flag(flags, "model-seed");
    if (!parsed) return fail(exit_code::kUsage, parsed.error());
    single_seed = *parsed;
  }
  auto generator = Generator::make(*policy);
  if (!generator) return fail(exit_code::kUsage, generator.error());
  auto focus = parse_focus(*generator, flags.get("focus"));
  if (!focus) return fail(exit_code::kUsage, fmt::format("--focus: {}", focus.error()));
  Rng master(*seed);
  const int64_t models = single_seed ? 1 : *count;
  for (int64_t i = 0; i < models; ++i) {
    const uint64_t model_seed = single_seed ? *single_seed : master.next();
    const std::optional<GeneratedModel> generated = generator->generate(model_seed, *focus);
    const std::string stem = fmt::format("model_{:06}_{:016x}", i, model_seed);
    if (flags.has("test-cases")) {
      const RunResult ref = run_reference(generated->model, generated->inputs);
      if (ref.status != RunStatus::kOk) {
        return fail(exit_code::kFindings,
                    fmt::format("reference failed on generated model {}: {}", stem, ref.message));
      }
      auto written = write_test_case((fs::path(out) / stem).string(), generated->model,
                                     generated->inputs, ref.outputs);
      if (!written) return fail(exit_code::kEnvironment, written.error());
      continue;
    }
    const std::string path = (fs::path(out) / (stem + ".onnx")).string();
    auto written =
        write_file_atomic(path, serialize_model(generated->model), Durability::kAtomicOnly);
    if (!written) return fail(exit_code::kEnvironment, written.error());
  }
  spdlog::info("[gen] wrote {} models to {}", models, out);
  return exit_code::kOk;
}

// ---- run -------------------------------------------------------------------------------------

int command_run(const ParsedFlags& flags) {
  if (flags.positional.size() != 1) return fail(exit_code::kUsage, "run needs exactly one PATH");
  auto config = oracle_config(flags);
  if (!config) return fail(exit_code::kUsage, config.error());
  auto input_seed = seed_flag(flags, "input-seed");
  if (!input_seed) return fail(exit_code::kUsage, input_seed.error());
  const auto names = flags.get_list("executions");
  auto shapes = parse_input_shapes(flags.get("input-shape"));
  if (!shapes) return fail(exit_code::kUsage, fmt::format("--input-shape: {}", shapes.error()));
  auto loaded = load_input(flags.positional[0], *input_seed, *shapes);
  if (!loaded) return fail(exit_code::kBadInput, loaded.error());
  // An op the reference lacks is no bad input here: ref reports the run unsupported
  // (oracles/refusals.h), and the other executions still run the model.
  auto executions = make_executions(names, flags);
  if (!executions) return fail(executions.error().first, executions.error().second);
  bool failed = false;
  bool not_run = false;
  for (size_t set = 0; set < loaded->inputs.size(); ++set) {
    fmt::print("data set {}:\n", set);
    Evaluation eval =
        evaluate_model(loaded->model, loaded->inputs[set], executions->pointers, *config);
    if (!eval.valid) fmt::print("model is invalid: {}\n", eval.invalid_reason);
    for (const auto& obs : eval.observations) {
      print_result(obs);
      if (!loaded->expected[set].empty()) {
        auto stored =
            compare_outputs(obs.execution, obs.result, "expected", loaded->expected[set], *config);
        eval.verdicts.insert(eval.verdicts.end(), stored.begin(), stored.end());
      }
    }
    print_verdicts(eval);
    failed = failed || !eval.verdicts.empty();
    not_run = not_run || no_execution_ran(eval);
  }
  if (failed) return exit_code::kFindings;
  return not_run ? exit_code::kNotRun : exit_code::kOk;
}

// ---- fuzz ------------------------------------------------------------------------------------

// The arguments that repeat this campaign (`fuzz --resume`, the jobs of `--jobs`): every flag
// as parsed, with the master seed pinned.
std::vector<std::string> fuzz_arguments(const ParsedFlags& flags, uint64_t seed) {
  std::vector<std::string> args;
  for (const auto& [name, value] : flags.values) {
    if (name == "resume" || name == "instance" || name == "seed") continue;
    const auto spec = std::ranges::find_if(kFuzzFlags, [&](const FlagSpec& s) { return s.name == name; });
    args.push_back("--" + name);
    if (spec != std::end(kFuzzFlags) && !spec->value_name.empty()) args.push_back(value);
  }
  args.push_back("--seed");
  args.push_back(std::to_string(seed));
  return args;
}

int fuzz_campaign(const ParsedFlags& flags, bool resume);

int command_fuzz(const ParsedFlags& flags) {
  if (!flags.has("resume") || flags.has("instance")) return fuzz_campaign(flags, flags.has("resume"));
  // --resume: the campaign's own arguments, as its first run wrote them.
  if (!flags.positional.empty())
    return fail(exit_code::kUsage, "fuzz takes no positional arguments");
  auto manifest = read_manifest(flags.get("out"));
  if (!manifest) return fail(exit_code::kBadInput, fmt::format("--resume: {}", manifest.error()));
  auto stored = parse_flags(kFuzzFlags, manifest->args);
  if (!stored)
    return fail(exit_code::kBadInput, fmt::format("--resume: campaign.json: {}", stored.error()));
  stored->values.insert_or_assign("out", flags.get("out"));
  return fuzz_campaign(*stored, true);
}

int fuzz_campaign(const ParsedFlags& flags, bool resume) {
  if (!flags.positional.empty())
    return fail(exit_code::kUsage, "fuzz takes no positional arguments");
  CampaignOptions options;
  auto time = parse_duration(flags.get("time"));
  if (!time) return fail(exit_code::kUsage, fmt::format("--time: {}", time.error()));
  options.time_seconds = *time;
  if (flags.has("iterations")) {
    auto iterations = flags.get_int("iterations");
    if (!iterations || *iterations < 0)
      return fail(exit_code::kUsage, "--iterations: expected N >= 0");
    options.iterations = *iterations;
  }
  // Without --seed every campaign explores new models; the seed is logged and kept in
  // stats.json, and every case records its own model seed.
  auto seed = flags.has("seed")
                  ? seed_flag(flags, "seed")
                  : std::expected<uint64_t, std::string>(std::random_device{}() * 0x100000000ULL ^
                                                         std::random_device{}());
  if (!seed) return fail(exit_code::kUsage, seed.error());
  options.seed = *seed;
  auto policy = generator_policy(flags);
  if (!policy) return fail(exit_code::kUsage, policy.error());
  const auto names = flags.get_list("executions");
  // By default a campaign draws no pair one of its executions is documented not to run.
  std::string avoid_gaps = flags.get("avoid-gaps");
  if (!flags.has("avoid-gaps")) {
    policy->avoid_pairs = documented_gaps(names);
    avoid_gaps = policy->avoid_pairs.empty() ? "none" : fmt::format("{}", fmt::join(names, ","));
  }
  options.policy = *policy;
  auto config = oracle_config(flags);
  if (!config) return fail(exit_code::kUsage, config.error());
  auto budget = flags.get_double("minimize-budget");
  if (!budget || *budget < 0) return fail(exit_code::kUsage, "--minimize-budget: expected seconds");
  auto executions = make_executions(names, flags);
  if (!executions) return fail(executions.error().first, executions.error().second);
  options.findings.out_dir = flags.get("out");
  options.findings.executions = executions->pointers;
  options.findings.oracle = *config;
  options.findings.minimize.time_budget_seconds = *budget;
  auto per_cause = flags.get_int("minimize-per-cause");
  if (!per_cause || *per_cause < 0 || *per_cause > 1000000)
    return fail(exit_code::kUsage, "--minimize-per-cause: expected N >= 0");
  options.max_minimized_per_key = static_cast<int>(*per_cause);
  options.max_minimized_hangs_per_key =
      std::min(options.max_minimized_hangs_per_key, options.max_minimized_per_key);
  options.findings.minimize_enabled = !flags.has("no-minimize");
  options.findings.generator_flags = fmt::format(" --max-nodes {}", policy->max_nodes);
  // The policy flags as given, so that a case's `onnxfuzz gen --model-seed` command draws
  // from the same policy.
  for (const char* name : {"ops", "exclude-ops", "dtypes", "target", "edge-rate", "pattern-rate"}) {
    if (flags.has(name)) {
      options.findings.generator_flags += fmt::format(" --{} {}", name, flags.get(name));
    }
  }
  if (avoid_gaps != "none") options.findings.generator_flags += " --avoid-gaps " + avoid_gaps;
  if (flags.has("no-patterns")) options.findings.generator_flags += " --no-patterns";
  options.status_line = !flags.has("no-status") && ::isatty(STDERR_FILENO);
  options.known_dirs = flags.get_list("known");
  auto ngram_sample = flags.get_int("ngram-sample");
  if (!ngram_sample || *ngram_sample < 1) return fail(exit_code::kUsage, "--ngram-sample: expected N >= 1");
  options.ngram_sample_every = static_cast<int>(*ngram_sample);
  const std::string guidance = flags.get("guidance");
  if (guidance != "on" && guidance != "off")
    return fail(exit_code::kUsage, "--guidance: expected on or off");
  options.guidance = guidance == "on";
  options.seed_paths = flags.get_list("seeds");
  if (!options.seed_paths.empty()) {
    auto shapes = parse_input_shapes(flags.get("input-shape"));
    if (!shapes) return fail(exit_code::kUsage, fmt::format("--input-shape: {}", shapes.error()));
    options.seed_shapes = *shapes;
    for (const auto& path : options.seed_paths) {
      std::error_code ec;
      if (!fs::exists(path, ec))
        return fail(exit_code::kBadInput, fmt::format("--seeds: {}: no such file or directory", path));
      if (!fs::is_directory(path, ec)) {
        if (auto seed = load_seed(path, 1, options.seed_shapes); !seed)
          return fail(exit_code::kBadInput, fmt::format("--seeds: {}", seed.error()));
      }
    }
    auto ratio = flags.has("mutate-ratio") ? flags.get_double("mutate-ratio")
                                           : std::expected<double, std::string>(0.5);
    if (!ratio || *ratio < 0 || *ratio > 1)
      return fail(exit_code::kUsage, "--mutate-ratio: expected a number in [0, 1]");
    options.mutate_ratio = *ratio;
    const std::string mode = flags.has("mutate") ? flags.get("mutate") : "valid";
    if (mode != "valid" && mode != "invalid")
      return fail(exit_code::kUsage, "--mutate: expected valid or invalid");
    options.mutate_mode = mode == "valid" ? MutateMode::kValid : MutateMode::kInvalid;
    options.mutators = flags.get_list("mutators");
    if (auto selected = select_mutators(options.mutate_mode, options.mutators); !selected)
      return fail(exit_code::kUsage, fmt::format("--mutators: {}", selected.error()));
    auto depth = flags.has("mutate-depth") ? flags.get_int("mutate-depth")
                                           : std::expected<int64_t, std::string>(3);
    if (!depth || *depth < 1) return fail(exit_code::kUsage, "--mutate-depth: expected K >= 1");
    options.mutate_depth = static_cast<int>(*depth);
  } else {
    for (const char* name : {"mutate-ratio", "mutate", "mutators", "mutate-depth", "input-shape"}) {
      if (flags.has(name))
        return fail(exit_code::kUsage, fmt::format("--{} needs --seeds", name));
    }
  }
  for (const auto& dir : options.known_dirs) {
    if (!fs::is_directory(dir))
      return fail(exit_code::kBadInput, fmt::format("--known: {}: no such directory", dir));
  }
  // --jobs, --shard, --instance: which seed stream and which instance directory.
  auto jobs = parse_jobs(flags.get("jobs"));
  if (!jobs) return fail(exit_code::kUsage, fmt::format("--jobs: {}", jobs.error()));
  Shard shard;
  if (flags.has("shard")) {
    auto parsed = parse_shard(flags.get("shard"));
    if (!parsed) return fail(exit_code::kUsage, fmt::format("--shard: {}", parsed.error()));
    shard = *parsed;
  }
  auto interval = flags.get_double("stats-interval");
  if (!interval || *interval <= 0)
    return fail(exit_code::kUsage, "--stats-interval: expected seconds > 0");
  options.stats_interval = *interval;
  auto lookahead = flags.get_int("lookahead");
  if (!lookahead || *lookahead < 0 || *lookahead > 64)
    return fail(exit_code::kUsage, "--lookahead: expected 0 <= D <= 64");
  options.lookahead = static_cast<int>(*lookahead);
  options.resume = resume;
  const std::string out = options.findings.out_dir;
  if (flags.has("instance")) {
    auto job = flags.get_int("instance");
    if (!job || *job < 0 || *job >= *jobs)
      return fail(exit_code::kUsage, "--instance: expected 0 <= I < --jobs");
    options.instance_dir = (fs::path(out) / instance_name(static_cast<int>(*job))).string();
    options.seed = instance_seed(*seed, shard, static_cast<int>(*job), false);
    options.status_line = false;
    if (options.iterations) {
      *options.iterations = *options.iterations / *jobs + (*job < *options.iterations % *jobs);
    }
  } else {
    std::error_code ec;
    fs::create_directories(fs::path(out) / "cases", ec);
    if (ec)
      return fail(exit_code::kEnvironment,
                  fmt::format("cannot create output directory {}: {}", out, ec.message()));
    if (::access(out.c_str(), W_OK) != 0)
      return fail(exit_code::kEnvironment, fmt::format("output directory {} is not writable", out));
    if (!resume) {
      if (auto written = write_manifest(out, {fuzz_arguments(flags, *seed), *jobs}); !written)
        return fail(exit_code::kEnvironment, written.error());
    }
    if (*jobs > 1) {
      std::vector<std::string> args = fuzz_arguments(flags, *seed);
      if (resume) args.push_back("--resume");
      return run_jobs(out, args, *jobs, options.status_line ? 2 : 10);
    }
    options.seed = instance_seed(*seed, shard, 0, true);
  }
  auto summary = run_campaign(options);
  if (!summary) return fail(exit_code::kEnvironment, summary.error());
  fmt::print(
      "models {} | invalid {} | findings {} | unique {} | known {} | flaky {} | propagated {} | "
      "{:.1f} s ({:.1f}% in backends)\n",
      summary->models, summary->invalid_models,
      [&] {
        int64_t n = 0;
        for (const auto& [kind, count] : summary->findings_by_kind) n += count;
        return n;
      }(),
      summary->unique, summary->known, summary->flaky, summary->propagated, summary->seconds,
      summary->seconds > 0 ? 100.0 * summary->backend_seconds / summary->seconds : 0.0);
  fmt::print("{}", skipped_runs_text(summary->unsupported, summary->models));
  for (size_t i = 0; i < summary->new_cases.size(); ++i) {
    fmt::print("new case: {}  {}\n", summary->new_cases[i], summary->new_case_lines[i]);
  }
  if (!summary->new_cases.empty()) {
    fmt::print(
        "each case holds report.md (an issue-ready reproducer); re-check them with: "
        "onnxfuzz replay {}\n",
        options.findings.out_dir);
  }
  return summary->unique > 0 ? exit_code::kFindings : exit_code::kOk;
}

// ---- status, merge, plot ---------------------------------------------------------------------

int command_status(const ParsedFlags& flags) {
  if (flags.positional.size() != 1) return fail(exit_code::kUsage, "status needs exactly one OUT");
  auto instances = read_instances(flags.positional[0]);
  if (!instances) return fail(exit_code::kBadInput, instances.error());
  const auto merged = merged_status(flags.positional[0], *instances);
  if (flags.has("json")) {
    nlohmann::json j = merged;
    for (const auto& instance : *instances) {
      const nlohmann::json state =
          instance.state.is_object() ? instance.state : nlohmann::json::object();
      j["per_instance"].push_back({{"name", instance.name},
                                   {"pid", instance.pid},
                                   {"alive", instance.alive},
                                   {"models", state.value("models", int64_t{0})},
                                   {"seconds", state.value("seconds", 0.0)},
                                   {"unique", state.value("unique", int64_t{0})}});
    }
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}", render_status(merged, *instances));
  }
  return exit_code::kOk;
}

int command_merge(const ParsedFlags& flags) {
  if (flags.positional.empty()) return fail(exit_code::kUsage, "merge needs OUT1 [OUT2 ...]");
  if (!flags.has("into")) return fail(exit_code::kUsage, "merge needs --into DIR");
  for (const auto& input : flags.positional) {
    if (!fs::is_directory(input))
      return fail(exit_code::kBadInput, fmt::format("{}: no such directory", input));
  }
  auto merged = merge_campaigns(flags.positional, flags.get("into"));
  if (!merged) return fail(exit_code::kEnvironment, merged.error());
  fmt::print("signatures {} | copied {} | replaced by a smaller reproducer {} | kept {}\n",
             merged->signatures, merged->copied, merged->replaced, merged->kept);
  return exit_code::kOk;
}

int command_plot(const ParsedFlags& flags) {
  if (flags.positional.size() != 1) return fail(exit_code::kUsage, "plot needs exactly one OUT");
  auto instances = read_instances(flags.positional[0]);
  if (!instances) return fail(exit_code::kBadInput, instances.error());
  auto plots = plot_campaign(flags.positional[0]);
  if (!plots) return fail(exit_code::kEnvironment, plots.error());
  for (const auto& file : *plots) fmt::print("{}\n", file);
  return exit_code::kOk;
}

// ---- minimize --------------------------------------------------------------------------------

int command_minimize(const ParsedFlags& flags) {
  if (flags.positional.size() != 1) {
    return fail(exit_code::kUsage, "minimize needs exactly one CASE_DIR or MODEL");
  }
  auto config = oracle_config(flags);
  if (!config) return fail(exit_code::kUsage, config.error());
  auto input_seed = seed_flag(flags, "input-seed");
  if (!input_seed) return fail(exit_code::kUsage, input_seed.error());
  auto budget = flags.get_double("budget");
  if (!budget || *budget <= 0) return fail(exit_code::kUsage, "--budget: expected seconds > 0");
  auto shapes = parse_input_shapes(flags.get("input-shape"));
  if (!shapes) return fail(exit_code::kUsage, fmt::format("--input-shape: {}", shapes.error()));
  auto loaded = load_input(flags.positional[0], *input_seed, *shapes);
  if (!loaded) return fail(exit_code::kBadInput, loaded.error());
  if (auto missing = unsupported_ops(loaded->model); !missing.empty()) {
    return fail(
        exit_code::kBadInput,
        fmt::format("{}: unsupported op(s) for the reference, which the minimizer needs: {}",
                    flags.positional[0], fmt::join(missing, ", ")));
  }
  auto names = flags.get_list("executions");
  if (names.empty()) {
    names = loaded->record ? loaded->record->executions : std::vector<std::string>{"ref", "ort"};
  }
  auto executions = make_executions(names, flags);
  if (!executions) return fail(executions.error().first, executions.error().second);
  std::optional<Verdict> wanted;
  if (loaded->record) {
    wanted =
        Verdict{loaded->record->kind, loaded->record->execution, "", loaded->record->message, ""};
  } else {
    Evaluation eval =
        evaluate_model(loaded->model, loaded->inputs[0], executions->pointers, *config);
    if (const Verdict* primary = primary_verdict(eval.verdicts)) wanted = *primary;
    if (!wanted) {
      fmt::print("{}: {} on {}; nothing to minimize\n", flags.positional[0],
                 no_execution_ran(eval) ? "no execution ran the model" : "no failure",
                 fmt::join(names, ","));
      return exit_code::kFindings;
    }
  }
  FindingContext context;
  context.out_dir = flags.get("out");
  context.executions = executions->pointers;
  context.oracle = *config;
  context.minimize.time_budget_seconds = *budget;
  context.replace_existing = true;
  std::error_code ec;
  fs::create_directories(fs::path(context.out_dir) / "cases", ec);
  if (ec) return fail(exit_code::kEnvironment, fmt::format("cannot create {}", context.out_dir));
  auto stored = store_finding(context, loaded->model, loaded->inputs[0], *wanted,
                              loaded->record ? loaded->record->seed : std::nullopt);
  if (!stored) return fail(exit_code::kEnvironment, stored.error());
  if (stored->flaky) return fail(exit_code::kFindings, stored->record.minimize_log);
  std::ostringstream text;
  text << stored->model.graph();
  fmt::print("{} on {}: {} -> {} nodes ({})\n{}\n{}\n", verdict_kind_name(stored->record.kind),
             stored->record.execution, stored->record.nodes_before, stored->record.nodes_after,
             fmt::join(stored->record.ops, ">"), text.str(), stored->case_dir);
  return exit_code::kOk;
}

// ---- replay ----------------------------------------------------------------------------------

enum class ReplayOutcome { kStillFailing, kFixed, kChanged };

int command_replay(const ParsedFlags& flags) {
  if (flags.positional.empty()) return fail(exit_code::kUsage, "replay needs at least one DIR");
  auto config = oracle_config(flags);
  if (!config) return fail(exit_code::kUsage, config.error());
  auto dirs = find_case_dirs(flags.positional);
  if (!dirs) return fail(exit_code::kBadInput, dirs.error());
  if (dirs->empty()) return fail(exit_code::kBadInput, "no cases found");
  int still = 0, fixed = 0, changed = 0;
  std::map<std::string, ExecutionSet> execution_cache;  // by comma-joined names
  for (const auto& dir : *dirs) {
    auto tc = read_test_case(dir);
    if (!tc) return fail(exit_code::kBadInput, tc.error());
    auto names = flags.get_list("executions");
    if (names.empty())
      names = tc->record ? tc->record->executions : std::vector<std::string>{"ref", "ort"};
    const std::string key = fmt::format("{}", fmt::join(names, ","));
    if (!execution_cache.count(key)) {
      auto executions = make_executions(names, flags);
      if (!executions) return fail(executions.error().first, executions.error().second);
      execution_cache.emplace(key, std::move(*executions));
    }
    const auto& executions = execution_cache.at(key);
    if (tc->inputs.empty()) return fail(exit_code::kBadInput, fmt::format("{}: no test data", dir));
    Evaluation eval = evaluate_case(tc->model, tc->inputs[0], executions.pointers, *config,
                                    tc->record ? &*tc->record : nullptr);
    // The stored outputs are ref's: if ref now disagrees with them, the case changed.
    std::vector<Verdict> ref_drift;
    for (const auto& obs : eval.observations) {
      if (obs.execution == "ref") {
        ref_drift = compare_outputs("ref", obs.result, "stored", tc->expected[0], *config);
      }
    }
    ReplayOutcome outcome = ReplayOutcome::kFixed;
    std::string detail = "no failure";
    if (!ref_drift.empty()) {
      outcome = ReplayOutcome::kChanged;
      detail =
          fmt::format("reference outputs differ from the stored ones: {}", ref_drift[0].evidence);
    } else if (!eval.verdicts.empty()) {
      outcome = ReplayOutcome::kChanged;
      const Verdict* first = primary_verdict(eval.verdicts);
      detail = fmt::format("now {} on {}: {}", verdict_kind_name(first->kind), first->execution,
                           first->message);
      for (const auto& v : eval.verdicts) {
        if (tc->record && fails_same_way(v, Verdict{tc->record->kind, tc->record->execution, "",
                                                    tc->record->message, ""})) {
          outcome = ReplayOutcome::kStillFailing;
          detail = fmt::format("{} on {}: {}", verdict_kind_name(v.kind), v.execution, v.message);
        }
      }
    }
    const char* label = outcome == ReplayOutcome::kStillFailing ? "STILL-FAILING"
                        : outcome == ReplayOutcome::kFixed      ? "FIXED"
                                                                : "CHANGED";
    fmt::print("{:<14} {} | {}\n", label, dir, detail);
    still += outcome == ReplayOutcome::kStillFailing;
    fixed += outcome == ReplayOutcome::kFixed;
    changed += outcome == ReplayOutcome::kChanged;
  }
  fmt::print("replay: {} still failing, {} fixed, {} changed\n", still, fixed, changed);
  if (changed) return exit_code::kReplayChanged;
  if (fixed) return exit_code::kReplayFixed;
  return exit_code::kOk;
}

// ---- triage ----------------------------------------------------------------------------------

int command_triage(const ParsedFlags& flags) {
  if (flags.positional.empty()) return fail(exit_code::kUsage, "triage needs at least one OUT");
  auto top = flags.get_int("top-ngrams");
  if (!top || *top < 0) return fail(exit_code::kUsage, "--top-ngrams: expected a count >= 0");
  auto config = oracle_config(flags);
  if (!config) return fail(exit_code::kUsage, config.error());
  for (const auto& path : flags.positional) {
    if (!fs::exists(path)) return fail(exit_code::kBadInput, fmt::format("{}: no such directory", path));
  }
  std::map<std::string, ExecutionSet> execution_cache;  // by comma-joined names
  std::optional<std::pair<int, std::string>> execution_error;
  Localizer localizer;
  if (flags.has("localize")) {
    localizer = [&](const TestCase& tc) {
      auto names = flags.get_list("executions");
      if (names.empty()) names = tc.record->executions;
      const std::string key = fmt::format("{}", fmt::join(names, ","));
      if (!execution_cache.count(key)) {
        auto executions = make_executions(names, flags);
        if (!executions) {
          execution_error = executions.error();
          return Localization{};
        }
        execution_cache.emplace(key, std::move(*executions));
      }
      return localize_case(tc, execution_cache.at(key).pointers, *config);
    };
  }
  auto report = triage(flags.positional, localizer, static_cast<int>(*top));
  if (execution_error) return fail(execution_error->first, execution_error->second);
  if (!report) return fail(exit_code::kBadInput, report.error());
  if (flags.has("json")) {
    fmt::print("{}\n", triage_json(*report).dump(2));
  } else {
    fmt::print("{}", triage_table(*report));
  }
  return exit_code::kOk;
}

// ---- probe -----------------------------------------------------------------------------------

// Runs single-op models of every registered (op, dtype) pair on one execution and writes the
// support matrix; not-implemented pairs are printed as rows for oracles/backend_gaps.cpp.
int command_probe(const ParsedFlags& flags) {
  const std::string name = flags.get("execution");
  auto per_pair = flags.get_int("models-per-pair");
  if (!per_pair || *per_pair < 1)
    return fail(exit_code::kUsage, "--models-per-pair: expected a count >= 1");
  auto executions = make_executions({name}, flags);
  if (!executions) return fail(executions.error().first, executions.error().second);
  Execution& execution = *executions->pointers.front();
  const std::string out = flags.get("out");
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return fail(exit_code::kEnvironment, fmt::format("cannot create {}: {}", out, ec.message()));
  spdlog::info("[probe] {} ({}): {} models per (op, dtype) pair", name, execution.version(),
               *per_pair);
  const std::vector<ProbeRow> rows = probe_execution(execution, static_cast<int>(*per_pair));
  nlohmann::json j;
  j["execution"] = name;
  j["version"] = execution.version();
  j["models_per_pair"] = *per_pair;
  j["carried"] = nlohmann::json::array();
  for (DType dtype : execution.carried_dtypes().carried) j["carried"].push_back(dtype_name(dtype));
  std::map<std::string, int> counts;
  std::string md = fmt::format("# {} ({})\n\n| op | since | dtype | outcome | detail |\n"
                               "|---|---|---|---|---|\n",
                               name, execution.version());
  std::string gap_rows;
  for (const auto& row : rows) {
    const std::string outcome(probe_outcome_name(row.outcome));
    ++counts[outcome];
    nlohmann::json attributes = nlohmann::json::object();
    for (const auto& [key, tally] : row.attributes)
      attributes[key] = {{"runs", tally.first}, {"fails", tally.second}};
    j["pairs"].push_back({{"op", row.op},
                          {"since", row.since_version},
                          {"dtype", dtype_name(row.dtype)},
                          {"outcome", outcome},
                          {"reported_op", row.reported_op},
                          {"message", row.message},
                          {"wrapped", row.wrapped},
                          {"attributes", attributes}});
    std::string detail = row.reported_op.empty() ? row.message.substr(0, 120) : row.reported_op;
    if (row.outcome == ProbeOutcome::kPartial) {
      // The attribute values that only ever failed: the likely cause.
      for (const auto& [key, tally] : row.attributes) {
        if (tally.first == 0) detail += fmt::format(" [fails with {}]", key);
      }
    }
    for (auto& c : detail) {
      if (c == '|' || c == '\n') c = ' ';
    }
    md += fmt::format("| {} | {} | {} | {} | {} |\n", row.op, row.since_version,
                      dtype_name(row.dtype), outcome, detail);
    // The static gap table is ORT's; other executions keep theirs as a committed matrix.
    if (row.outcome == ProbeOutcome::kNotImplemented && name.starts_with("ort")) {
      std::string enumerator(dtype_name(row.dtype));
      enumerator = enumerator == "float32"   ? "Float"
                   : enumerator == "float64" ? "Double"
                                             : enumerator;
      enumerator[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(enumerator[0])));
      gap_rows += fmt::format("    {{\"ort\", \"{}\", DType::k{}, \"{}\", kProbed}},\n", row.op,
                              enumerator, row.reported_op);
    }
  }
  j["counts"] = counts;
  const fs::path base = fs::path(out) / fmt::format("probe-{}", name);
  for (auto [path, text] : {std::pair{base.string() + ".json", j.dump(2) + "\n"},
                            std::pair{base.string() + ".md", md}}) {
    if (auto written = write_file_atomic(path, text); !written)
      return fail(exit_code::kEnvironment, written.error());
  }
  fmt::print("{}", gap_rows);
  spdlog::info("[probe] {} pairs: {} runs, {} partial, {} not implemented, {} rejected, {} died, "
               "{} not drawn -> {}.json/.md",
               rows.size(), counts["runs"], counts["partial"], counts["not-implemented"],
               counts["rejected"], counts["died"], counts["not-drawn"], base.string());
  return exit_code::kOk;
}

// ---- mutate ----------------------------------------------------------------------------------

// Writes a mutant and its chain as DIR/<stem>.onnx and DIR/<stem>.chain.json.
std::expected<void, std::string> write_mutant(const std::string& dir, const std::string& stem,
                                              const Mutant& m, const Chain& chain) {
  const std::string base = (fs::path(dir) / stem).string();
  if (auto ok = write_file_atomic(base + ".onnx", serialize_model(m.model), Durability::kAtomicOnly);
      !ok)
    return ok;
  return write_file_atomic(base + ".chain.json", chain_to_json(chain).dump(2) + "\n",
                           Durability::kAtomicOnly);
}

int command_mutate(const ParsedFlags& flags) {
  if (flags.has("list")) {
    for (const auto& m : all_mutators()) {
      fmt::print("{:<20} {:<10} {}\n", m.name, mutation_kind_name(m.kind),
                 m.rule.empty() ? "(valid mode)" : m.rule);
    }
    return exit_code::kOk;
  }
  const std::string out = flags.get("out");
  if (out.empty()) return fail(exit_code::kUsage, "mutate needs --out DIR");
  if (flags.has("chain")) {
    if (!flags.positional.empty())
      return fail(exit_code::kUsage, "mutate --chain takes no MODEL (the chain names its seed)");
    // A .chain.json, or a case (its directory or case.json) whose "chain" re-derives its
    // original.onnx.
    std::string chain_path = flags.get("chain");
    std::error_code ec;
    if (fs::is_directory(chain_path, ec)) chain_path = (fs::path(chain_path) / "case.json").string();
    const bool from_case = fs::path(chain_path).filename() == "case.json";
    std::ifstream in(chain_path);
    if (!in) return fail(exit_code::kBadInput, fmt::format("{}: cannot open", chain_path));
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (from_case && !j.is_discarded()) {
      if (!j.contains("chain") || j["chain"].is_null()) {
        return fail(exit_code::kBadInput,
                    fmt::format("{}: this case was not made by mutation (no \"chain\"); its "
                                "\"regenerate\" command reproduces it",
                                chain_path));
      }
      j = j["chain"];
    }
    auto chain = j.is_discarded() ? std::unexpected(std::string("not JSON")) : chain_from_json(j);
    if (!chain) return fail(exit_code::kBadInput, fmt::format("{}: {}", flags.get("chain"), chain.error()));
    auto mutant = rederive(*chain);
    if (!mutant) return fail(exit_code::kBadInput, mutant.error());
    fs::create_directories(out, ec);
    std::string stem = fs::path(chain_path).filename().string();
    stem = from_case ? "original" : stem.substr(0, stem.find(".chain.json"));
    if (auto ok = write_mutant(out, stem, *mutant, *chain); !ok)
      return fail(exit_code::kEnvironment, ok.error());
    fmt::print("{}\n", (fs::path(out) / (stem + ".onnx")).string());
    return exit_code::kOk;
  }
  if (flags.positional.size() != 1)
    return fail(exit_code::kUsage, "mutate needs exactly one MODEL or CASE_DIR");
  auto count = flags.get_int("n");
  if (!count || *count < 0) return fail(exit_code::kUsage, "-n: expected N >= 0");
  auto depth = flags.get_int("depth");
  if (!depth || *depth < 1 || *depth > 100) return fail(exit_code::kUsage, "--depth: expected 1..100");
  const std::string mode_name = flags.get("mutate");
  if (mode_name != "valid" && mode_name != "invalid")
    return fail(exit_code::kUsage, fmt::format("--mutate: expected valid or invalid, got '{}'", mode_name));
  MutateOptions options;
  options.mode = mode_name == "valid" ? MutateMode::kValid : MutateMode::kInvalid;
  options.nan_inf = flags.has("nan-inf");
  auto selected = select_mutators(options.mode, flags.get_list("mutators"));
  if (!selected) return fail(exit_code::kUsage, fmt::format("--mutators: {}", selected.error()));
  auto seed = seed_flag(flags, "seed");
  if (!seed) return fail(exit_code::kUsage, seed.error());
  auto input_seed = seed_flag(flags, "input-seed");
  if (!input_seed) return fail(exit_code::kUsage, input_seed.error());
  const std::string path = flags.positional[0];
  auto shapes = parse_input_shapes(flags.get("input-shape"));
  if (!shapes) return fail(exit_code::kUsage, fmt::format("--input-shape: {}", shapes.error()));
  auto loaded = load_seed(path, *input_seed, *shapes);
  if (!loaded) return fail(exit_code::kBadInput, loaded.error());
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec || !fs::is_directory(out) || ::access(out.c_str(), W_OK) != 0) {
    return fail(exit_code::kEnvironment, fmt::format("cannot create output directory {}", out));
  }
  DispatchOptions dispatch;
  dispatch.mutators = *selected;
  dispatch.max_depth = static_cast<int>(*depth);
  Rng master(*seed);
  int64_t written = 0, failed = 0;
  for (int64_t i = 0; i < *count; ++i) {
    Mutant m = loaded->mutant;
    Rng rng(master.next());
    auto steps = mutate(m, rng, options, dispatch);
    if (!steps) {
      ++failed;
      spdlog::debug("[mutate] mutant {}: {}", i, steps.error());
      continue;
    }
    Chain chain{path, loaded->hash, *input_seed, options.mode, options.nan_inf, *steps, *shapes};
    std::vector<std::string> names;
    for (const auto& s : *steps) names.push_back(s.mutator);
    const std::string stem = fmt::format("mutant_{:06}_{}", i, fmt::join(names, "+"));
    if (auto ok = write_mutant(out, stem, m, chain); !ok)
      return fail(exit_code::kEnvironment, ok.error());
    ++written;
    for (const auto& s : *steps) spdlog::debug("[mutate] {}: {} ({})", stem, s.mutator, s.detail);
  }
  if (*count > 0 && written == 0) {
    return fail(exit_code::kBadInput,
                fmt::format("{}: no {} mutator applies (tried {} mutants)", path, mode_name, *count));
  }
  spdlog::info("[mutate] wrote {} {} mutants of {} to {}{}", written, mode_name, path, out,
               failed ? fmt::format(" ({} draws found no applicable mutator)", failed) : "");
  return exit_code::kOk;
}

// ---- ops -------------------------------------------------------------------------------------

// Lists what the generator can draw: every registered (op, version) with its dtypes and whether
// the reference has a kernel, then the optimizer patterns with the rewrite each targets.
int command_ops(const ParsedFlags& flags) {
  const bool md = flags.has("markdown");
  if (md) fmt::print("| op | since | dtypes | empty tensors |\n|---|---|---|---|\n");
  for (const auto& spec : all_op_specs()) {
    std::vector<std::string_view> names;
    for (DType d : spec.dtypes) names.push_back(dtype_name(d));
    const char* empty = spec.empty_ok ? "yes" : "no";
    if (md) {
      fmt::print("| {} | {} | {} | {} |\n", spec.op_type, spec.since_version,
                 fmt::join(names, ", "), empty);
    } else {
      fmt::print("{:<22} {:>3}  {}{}\n", spec.op_type, spec.since_version, fmt::join(names, ","),
                 spec.empty_ok ? "  (empty ok)" : "");
    }
  }
  if (md) fmt::print("\n| pattern | ranks | targets |\n|---|---|---|\n");
  for (const auto& p : all_patterns()) {
    if (md) {
      fmt::print("| {} | {}-{} | {} |\n", p.name, p.min_rank, p.max_rank, p.targets);
    } else {
      fmt::print("pattern {:<18} ranks {}-{}  {}\n", p.name, p.min_rank, p.max_rank, p.targets);
    }
  }
  if (!md) fmt::print("{} ops, {} patterns\n", all_op_specs().size(), all_patterns().size());
  return exit_code::kOk;
}

// ---- dispatch --------------------------------------------------------------------------------

const Command kCommands[] = {
    {"gen", "onnxfuzz gen --out DIR [--count N] [--seed S] [--max-nodes K] [--ops ...]",
     "write generated models as DIR/*.onnx", kGenFlags, command_gen},
    {"run", "onnxfuzz run PATH [--executions ref,ort,...]",
     "run one .onnx model or ONNX test-case directory; print outputs and verdicts", kRunFlags,
     command_run},
    {"fuzz", "onnxfuzz fuzz [--time 60s | --iterations N] [--seed S] [--out DIR] ...",
     "run a campaign: generate, execute, judge, minimize, store", kFuzzFlags, command_fuzz},
    {"status", "onnxfuzz status OUT [--json]",
     "summarize a running or finished campaign across its instances", kStatusFlags,
     command_status},
    {"merge", "onnxfuzz merge OUT1 OUT2 ... --into OUT",
     "merge campaigns' cases by signature, keeping the smallest reproducer", kMergeFlags,
     command_merge},
    {"plot", "onnxfuzz plot OUT", "draw PNG plots of a campaign's stats.csv with gnuplot",
     {}, command_plot},
    {"minimize", "onnxfuzz minimize CASE_DIR|MODEL [--executions ...]",
     "shrink a failing model while it fails the same way", kMinimizeFlags, command_minimize},
    {"replay", "onnxfuzz replay DIR...", "re-run stored cases: still failing, fixed or changed",
     kReplayFlags, command_replay},
    {"triage", "onnxfuzz triage OUT... [--json] [--localize] [--executions ...]",
     "group stored cases by root cause, count campaign hits, rank op n-grams of failing models",
     kTriageFlags, command_triage},
    {"probe", "onnxfuzz probe [--execution ort-noopt] [--models-per-pair N] [--out DIR]",
     "learn which (op, dtype) pairs an execution runs; write its support matrix", kProbeFlags,
     command_probe},
    {"mutate",
     "onnxfuzz mutate MODEL|CASE_DIR -n N --out DIR [--mutators LIST] [--mutate valid|invalid] "
     "[--seed S]",
     "write N mutants of a model (shape, dtype, attribute, structure, value; or rule-breaking) "
     "with their provenance chains",
     kMutateFlags, command_mutate},
    {"bisect", "onnxfuzz bisect CASE_DIR [--execution ort] [--versions 1.10.0..1.30.0]",
     "find the releases in which a stored case fails the same way; record them in the case",
     kBisectFlags, command_bisect},
    {"report", "onnxfuzz report CASE_DIR",
     "re-run a stored case; write an issue-ready report.md (fault localization, ORT's bug "
     "template) and the reproducers repro.mjs and repro.py",
     kReportFlags, command_report},
    {"ops", "onnxfuzz ops [--markdown]",
     "list the operators (versions, dtypes) and optimizer patterns the generator draws", kOpsFlags,
     command_ops},
};

constexpr std::string_view kExitCodeHelp =
    "exit codes:\n"
    "  0  success: nothing failed (replay: every case still fails as recorded)\n"
    "  1  run: an execution failed or a verdict was raised; fuzz: new findings were stored;\n"
    "     minimize: the input does not fail\n"
    "  2  usage error (unknown flag, bad value, unknown op, dtype or execution)\n"
    "  3  bad input (missing/corrupt model or case, op unsupported by the reference)\n"
    "  4  environment error (unwritable output, missing node or onnxruntime-node)\n"
    "  5  replay: some cases are fixed, none changed\n"
    "  6  replay: some cases changed (fail differently, or reference outputs drifted)\n"
    "  7  run: no execution ran the model (each rejected it, could not carry it or hit a\n"
    "     resource limit): not a finding, not a pass\n";

// Every registered execution family, for --help of the commands that take executions.
std::string executions_help() {
  std::string out = "executions:\n";
  for (const ExecutionFamily* family : execution_families()) {
    out += fmt::format("  {:<42} {}\n", family->usage, family->summary);
  }
  return out;
}

bool takes_executions(std::span<const FlagSpec> flags) {
  return std::ranges::any_of(flags, [](const FlagSpec& flag) {
    return flag.name == "executions" || flag.name == "execution";
  });
}

std::string top_help() {
  std::string out =
      "onnxfuzz " ONNXFUZZ_VERSION
      " - a fuzzer for ONNX runtimes and converters\n\n"
      "usage: onnxfuzz <command> [options]   (onnxfuzz <command> --help)\n\ncommands:\n";
  for (const auto& c : kCommands) out += fmt::format("  {:<10} {}\n", c.name, c.summary);
  return out + "\n" + std::string(kExitCodeHelp);
}

}  // namespace

int run_command_line(const std::vector<std::string>& args) {
  auto logger = spdlog::stderr_color_mt("onnxfuzz");
  logger->set_pattern("[%H:%M:%S] %^%l%$ %v");
  spdlog::set_default_logger(logger);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    fmt::print("{}", top_help());
    return args.empty() ? exit_code::kUsage : exit_code::kOk;
  }
  if (args[0] == "--version") {
    fmt::print("onnxfuzz {}\n", ONNXFUZZ_VERSION);
    return exit_code::kOk;
  }
  for (const auto& command : kCommands) {
    if (command.name != args[0]) continue;
    auto flags = parse_flags(command.flags, std::vector<std::string>(args.begin() + 1, args.end()));
    if (!flags) {
      return fail(exit_code::kUsage,
                  fmt::format("{} (see onnxfuzz {} --help)", flags.error(), command.name));
    }
    if (flags->help) {
      fmt::print("usage: {}\n\n{}\n\noptions:\n{}\n{}{}", command.usage, command.summary,
                 format_flag_help(command.flags),
                 takes_executions(command.flags) ? executions_help() + "\n" : "",
                 kExitCodeHelp);
      return exit_code::kOk;
    }
    spdlog::set_level(flags->has("verbose") ? spdlog::level::debug : spdlog::level::info);
    return command.run(*flags);
  }
  return fail(exit_code::kUsage,
              fmt::format("unknown command '{}' (see onnxfuzz --help)", args[0]));
}

int fail(int code, const std::string& message) {
  fmt::print(stderr, "onnxfuzz: error: {}\n", message);
  return code;
}

}  // namespace onnxfuzz
