// Journal: OUT/findings.jsonl, one line per verdict of a campaign (duplicates included).
#pragma once

#include <expected>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oracles/oracle.h"

namespace onnxfuzz {

// What became of one verdict in a campaign.
enum class FindingOutcome {
  kNew,        // stored as a new case
  kDuplicate,  // same signature as a stored case
  kKnown,      // matches a case of a --known corpus
  kFlaky,      // did not fail again when re-run
  kPropagated,  // no node is faulty: within-tolerance differences grown (not a finding)
};
std::string_view finding_outcome_name(FindingOutcome outcome);

struct JournalEntry {
  uint64_t model_seed = 0;
  Verdict verdict;
  FindingOutcome outcome = FindingOutcome::kNew;
  std::string case_id;                 // the stored case it belongs to, when known
  std::vector<std::string> model_ops;  // op sequence of the unminimized model
  std::string root_cause;              // the root cause key it counts toward, when known
  nlohmann::json chain;                // a mutant's provenance chain (null: generated)
};

// Append-only: each entry is one write(2) of one JSON line on an O_APPEND descriptor, so a
// killed campaign leaves at most a missing last line and parallel campaigns never interleave
// within a line. The data behind "misbehaving models share operator sequences" analyses.
class Journal {
 public:
  static std::expected<Journal, std::string> open(const std::string& out_dir);
  Journal(Journal&& other) noexcept;
  Journal& operator=(Journal&&) = delete;
  ~Journal();

  void append(const JournalEntry& entry);

 private:
  explicit Journal(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace onnxfuzz
