// Campaign: the fuzz loop (generate -> evaluate -> judge -> minimize -> store), with status.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fuzzer/finding.h"
#include "generators/coverage.h"
#include "generators/inputs.h"
#include "generators/mutators/mutator.h"
#include "generators/policy.h"

namespace onnxfuzz {

struct CampaignOptions {
  double time_seconds = 60;           // wall-clock limit (ignored when iterations is set)
  std::optional<int64_t> iterations;  // number of models, instead of a time limit
  uint64_t seed = 1;                  // master seed; model i gets a seed derived from it
  GenPolicy policy;
  FindingContext findings;         // out dir, executions, oracle and minimizer config
  // Crash, shape and numeric findings minimized per (kind, execution, message); a numeric or
  // shape finding whose faulty node localization names has a budget per faulty node instead.
  int max_minimized_per_key = 10;
  int max_minimized_hangs_per_key = 3;  // the same for hangs: each check costs a full timeout
  // Every n-th generated model gets full validation (checker + strict shape inference); the
  // others the checker only. A safety net for the generator at a fraction of the cost.
  int full_validation_every = 16;
  bool status_line = false;             // refresh one status line (TTY) instead of log lines
  std::vector<std::string> known_dirs;  // corpora of triaged findings: matching ones not stored

  // --seeds: mutation of seed models (fuzzer/seed_pool.h) mixed with generation. Each seed is
  // run once as it is; then a share `mutate_ratio` of the models are mutants of a pool entry.
  // A mutant that finds something new (a stored finding, or coverage never seen) joins the
  // pool, which is kept in OUT/pool/.
  std::vector<std::string> seed_paths;
  double mutate_ratio = 0.5;
  // valid: mutants pass the checker and strict inference, judged like generated models.
  // invalid: one rule-breaking step on a pool entry; judged with evaluate_invalid (a backend
  // that runs it gets accepted-invalid), stored unminimized, never added to the pool.
  MutateMode mutate_mode = MutateMode::kValid;
  std::vector<std::string> mutators;  // names; empty: every mutator of the mode
  int mutate_depth = 3;               // valid mode: 1..depth stacked steps per mutant
  InputShapes seed_shapes;            // --input-shape: symbolic input dims of the seeds
  // One passing model in this many adds its op n-grams to OUT/.../ngrams.json (triage's
  // operator-sequence analysis): a sample bounds the time and memory of the counts.
  int ngram_sample_every = 16;
  // Coverage guidance (generators/guidance.h): each generated model is built around 1-2 targets
  // (op, dtype), producer->consumer op pair, attribute value) the campaign has covered least.
  bool guidance = true;

  // Where this instance keeps its own files: stats.json, stats.csv, findings.jsonl, state.json
  // and pid (OUT/job-<i>/ in a parallel campaign, fuzzer/jobs.h); empty: the output directory.
  // Cases (OUT/cases/) and the seed pool (OUT/pool/) are shared by all instances.
  std::string instance_dir;
  double stats_interval = 10;  // seconds between rows of stats.csv
  // Models prepared (generated, run on the in-process executions and sent to the workers) ahead
  // of the one being judged, so that a worker finds requests waiting and the fuzzer's own work
  // overlaps its runs. 0: one model at a time. A seed pool runs without lookahead (a mutant's
  // parent may be the model just judged).
  int lookahead = 4;
  // Continue from instance_dir/state.json: skip the models already consumed from the seed
  // stream and carry the counters, coverage and minimization budget over.
  bool resume = false;
};

struct CampaignSummary {
  int64_t models = 0;
  int64_t invalid_models = 0;  // generated models that failed validation: a generator bug
  int64_t mutants = 0;          // models that were mutants (or seeds run as they are)
  int64_t pool_added = 0;       // mutants that joined the pool
  int64_t pool_size = 0;        // entries at the end (seeds included)
  int64_t mutation_failed = 0;  // draws where no mutator applied (a generated model instead)
  int64_t executions = 0;       // runs of a model on one execution
  std::map<std::string, int64_t> findings_by_kind;  // every finding, duplicates included
  int64_t unique = 0;  // new case directories written: one per root cause (fuzzer/triage.h)
  // New minimized signatures (finding_signature), those of a root cause that already had a case
  // included: what `unique` counted before cases were grouped by root cause.
  int64_t signatures = 0;
  int64_t known = 0;                                // findings matching a case of a --known corpus
  int64_t flaky = 0;  // findings that did not fail again when re-run (not stored)
  // Numeric and shape verdicts no node makes (LocalizationStatus::kPropagated): differences
  // within the tolerance grown by later nodes. Not findings: not in findings_by_kind, not stored.
  int64_t propagated = 0;
  // Runs that gave no verdict because the execution cannot take the model, not a finding:
  // "unsupported_dtype" (not run), "backend_gap" (a documented not-implemented rejection),
  // "resource_limit" (worker memory limit, the reference's output cap), "unsupported_op" (an
  // op the reference has no kernel for); and "no_execution_ran": models no execution ran.
  std::map<std::string, int64_t> unsupported;
  double seconds = 0;
  double backend_seconds = 0;  // time spent inside executions
  Coverage coverage;           // ops, (op, dtype), op pairs, patterns x perturbations
  std::vector<std::string> new_cases;
  std::vector<std::string> new_case_lines;  // one-line description per new case, same order
};

// Runs until the time/iteration limit or SIGINT/SIGTERM. Error value only for environment
// failures (e.g. the output directory cannot be written).
std::expected<CampaignSummary, std::string> run_campaign(const CampaignOptions& options);

}  // namespace onnxfuzz
