// Triage: the root cause of a stored case, campaign hits grouped by it, op n-gram analysis.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "corpus/case_store.h"
#include "fuzzer/localize.h"
#include "oracles/execution.h"
#include "oracles/oracle.h"

namespace onnxfuzz {

// What a finding is, regardless of the innocent ops around it: two cases with one key are one
// bug. `key` is kind|execution|core[|rewrites:...]; `core` is the human-readable part.
struct RootCause {
  std::string key;
  VerdictKind kind = VerdictKind::kNumeric;
  std::string execution;
  std::string core;   // "Gemm: Invalid bias shape for broadcast", "Sqrt(float32)", ...
  std::string basis;  // how core was found: message, localized, single-op, op-set, op-sequence
  // The faulty node's op when the core is a node (localized, single-op, upstream), else empty.
  std::string op;
};

// The faulty core of a stored case (model.onnx and case.json), without running anything:
//  - crash, hang, rejection: the normalized message's core (a kernel's "Status Message", C++
//    signatures cut at the argument list) with the op it names ("Op (Pow)", "running Gemm
//    node", a leading "Gemm:"; lower-cased, "Fused" dropped: ORT names fused nodes after the
//    rewrite); a message that names no op (every segfault says SIGSEGV) adds the set of the
//    minimized model's ops, so permuted or repeated neighbours do not split it;
//  - numeric, shape: the first node whose output diverges while its inputs agree, when
//    `localization` found it (fuzzer/localize.h), else the single node of a one-node model:
//    its op, scalar attribute values and input dtypes (not the ranks, nor list attributes such
//    as perm, pads, axes, which grow with the rank: one bug shows at several ranks), or only
//    its op when one of its inputs is empty (a zero-size dim: the trigger, whatever the dtype
//    and attributes); else the op sequence;
//  - a rejection that localize_error_upstream traced to a divergent node upstream of the
//    failing one: that node, as for a shape (its output's shape or dtype differs) or numeric
//    finding, so that every consumer's error is one cause with the node's own finding;
//  - the set of graph rewrites the case's executions recorded (case.json artifacts notes
//    "rewrites", from ort-optimized, and the localization's), when there are any: an
//    optimizer bug is its rewrites.
RootCause root_cause(const CaseRecord& record, const onnx::ModelProto& model,
                     const Localization* localization = nullptr);

// For a rejection whose message names an op (fuzzer/localize.h, localize_upstream): whether
// the error follows from a value that diverges upstream of the failing node. The failing node
// is a node of the named op, tried in graph order (at most three); the first localized result
// is returned, else the first attempt's. Not run (kNotRun) when the message names no op of the
// model.
Localization localize_error_upstream(const onnx::ModelProto& model, const TensorMap& inputs,
                                     const std::string& message, Execution& baseline,
                                     Execution& target, const LocalizeOptions& options = {});

// Localizes a numeric or shape case of several nodes (fuzzer/localize.h).
using Localizer = std::function<Localization(const TestCase&)>;

// Localizes `tc` on `executions`: the baseline is the case's first execution (case.json
// "executions"), else the first given; the target the case's execution, else the last other
// one given (so `--executions ref,ort@1.23.2` replays a case found on `ort`).
Localization localize_case(const TestCase& tc, std::span<Execution* const> executions,
                           const OracleConfig& config);

// The root cause of a stored case directory, localized with `localize` when it is a numeric or
// shape case of several nodes; an error when it cannot be read.
std::expected<RootCause, std::string> case_root_cause(const std::string& case_dir,
                                                      const Localizer& localize = {});

// Root causes of the cases of one campaign output, for a campaign that stores one case per
// root cause. Cases other processes store meanwhile are read when a key is claimed.
class RootCauseIndex {
 public:
  RootCauseIndex(std::string out_dir, Localizer localize)
      : out_dir_(std::move(out_dir)), localize_(std::move(localize)) {}
  // The case stored for `key` (after reading cases not seen yet); records `case_id` for it
  // when there is none, or when the one recorded is gone (another instance replaced it with a
  // smaller reproducer).
  std::string claim(const std::string& key, const std::string& case_id);
  // `case_id` is now the case stored for `key` (a smaller reproducer replaced the one before).
  void replace(const std::string& key, const std::string& case_id);
  // The root cause key of a case this index has seen, or empty.
  std::string key_of(const std::string& case_id) const;

 private:
  void refresh();
  // Records `case_id` for `key` unless a case still in OUT/cases/ has it; returns the owner.
  const std::string& own(const std::string& key, const std::string& case_id);
  std::string out_dir_;
  Localizer localize_;
  std::set<std::string> seen_;                      // case ids read
  std::map<std::string, std::string> case_of_key_;  // root cause key -> its case id
  std::map<std::string, std::string> key_of_case_;
};

// Passing models' op n-grams (n = 1..3), each counted once per model: the sample the n-gram
// analysis compares failing models with. Saved as OUT/ngrams.json.
//
// Bounded: distinct trigrams alone can run into the millions over a long campaign. When more
// than max_entries n-grams are held, the sample is thinned: each model's contribution to every
// count is kept with probability 1/2 (a binomial draw) and the model count is halved, so the
// shares count/models stay unbiased, the rarest n-grams drop out, and memory stays flat.
class NgramCounts {
 public:
  static constexpr size_t kDefaultMaxEntries = 50000;
  explicit NgramCounts(size_t max_entries = kDefaultMaxEntries) : max_entries_(max_entries) {}

  void add(const std::vector<std::string>& ops);
  int64_t models() const { return models_; }
  const std::map<std::string, int64_t>& counts() const { return counts_; }
  // Times the sample was thinned (each halved it).
  int thinned() const { return thinned_; }
  nlohmann::json to_json() const;
  // Adds the counts of a saved ngrams.json.
  std::expected<void, std::string> merge_json(const nlohmann::json& j);
  // The counts of DIR/ngrams.json (none when it is missing or unreadable: a resumed campaign
  // starts its sample again rather than failing).
  static NgramCounts load(const std::string& dir);
  // Atomic write of DIR/ngrams.json.
  std::expected<void, std::string> save(const std::string& out_dir) const;

 private:
  void thin_to_bound();

  size_t max_entries_;
  int64_t models_ = 0;
  int thinned_ = 0;
  std::map<std::string, int64_t> counts_;  // "Gemm>Transpose" -> models containing it
};

// The distinct n-grams (n = 1..max_n) of an op sequence, joined by '>'.
std::set<std::string> op_ngrams(const std::vector<std::string>& ops, int max_n = 3);

struct TriageCase {
  std::string dir;
  CaseRecord record;
  RootCause cause;
};

struct CauseGroup {
  RootCause cause;
  std::vector<std::string> cases;          // case directories, the first one is the reproducer
  std::vector<std::vector<std::string>> case_ops;  // their minimized op sequences
  int64_t hits = 0;                        // findings.jsonl lines that count toward it
  std::set<std::string> distinct_models;   // of those lines (seed or chain, and ops)
};

// An op n-gram over-represented in failing models: `failing` of the failing models and
// `passing` of the passing ones contain it; score = log of the smoothed ratio of the shares,
// log(((failing + 0.5) / (F + 1)) / ((passing + 0.5) / (P + 1))); only n-grams of at least 3
// failing models and 1% of them are scored.
struct NgramScore {
  std::string ngram;
  int64_t failing = 0;
  int64_t passing = 0;
  double score = 0;
};

// Root causes at one op of one execution and kind, in different dtypes or attribute values
// (Resize in two coordinate_transformation_modes, ...): often one bug of a
// kernel the op shares across its types. Only ops with at least two causes are listed.
struct OpFamily {
  VerdictKind kind = VerdictKind::kNumeric;
  std::string execution;
  std::string op;
  std::vector<size_t> groups;  // indices into TriageReport::groups, in rank order
  int cases = 0;
  int64_t hits = 0;
};

struct TriageReport {
  std::vector<CauseGroup> groups;  // ranked: crash > hang > rejection > shape > numeric, hits
  std::vector<OpFamily> op_families;  // most root causes first
  int cases = 0;
  int64_t hits = 0;             // findings.jsonl lines read
  int64_t failing_models = 0;   // distinct failing models (findings.jsonl, else the cases)
  int64_t passing_models = 0;   // from ngrams.json
  int64_t min_failing = 0;      // n-grams in fewer failing models are not scored
  std::vector<NgramScore> ngrams;  // best first
};

// Groups the cases under `paths` (case directories, directories of cases or campaign outputs)
// by root cause, counts the hits of each campaign's findings.jsonl (a line's root_cause, else
// its case's) and scores op n-grams of failing models against ngrams.json. Errors: no case
// found, an unreadable case.
std::expected<TriageReport, std::string> triage(const std::vector<std::string>& paths,
                                                const Localizer& localize = {},
                                                int top_ngrams = 15);

std::string triage_table(const TriageReport& report);
nlohmann::json triage_json(const TriageReport& report);

}  // namespace onnxfuzz
