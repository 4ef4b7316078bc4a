// Coverage guidance: steers generation toward (op, dtype) pairs, producer->consumer op pairs and
// attribute values a campaign has not exercised yet. A guided model is Generator::generate(seed,
// focus): the focus is a short list of targets the model is built around, so the same seed and
// focus always give the same model (`onnxfuzz gen --model-seed S --focus KEYS`).
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "generators/coverage.h"
#include "generators/rng.h"

namespace onnxfuzz {

class Generator;

// One coverage key a model is built around. Its `key` is the Coverage key it reaches when the
// generator manages to place it: "Conv:float16", "Conv>Relu", "Conv.group=2".
struct FocusTarget {
  enum class Kind { kOpDtype, kOpPair, kAttrValue };
  Kind kind = Kind::kOpDtype;
  std::string key;
  int op = -1;    // index into Generator::choices(): the op (kOpPair: the producer)
  int next = -1;  // kOpPair: the consumer's index
  DType dtype = DType::kFloat;  // kOpDtype
  std::string attr;             // kAttrValue: attribute name and value
  double value = 0;
};

// Every target the generator's op table can aim at: each (op, dtype) it draws, each ordered op
// pair whose dtypes meet, and each declared choice of a schema attribute.
std::vector<FocusTarget> focus_universe(const Generator& generator);
// The target of one key (the syntax of FocusTarget::key); error for an unknown op, dtype,
// attribute or value.
std::expected<FocusTarget, std::string> parse_focus_target(const Generator& generator,
                                                           std::string_view key);
// "k1,k2" <-> targets.
std::expected<std::vector<FocusTarget>, std::string> parse_focus(const Generator& generator,
                                                                 std::string_view keys);
std::string focus_string(const std::vector<FocusTarget>& focus);

// Picks each model's focus from the campaign's coverage so far.
class CoverageGuide {
 public:
  explicit CoverageGuide(const Generator& generator);

  // 1 or 2 targets. A category (op pairs 1/2, (op, dtype) 1/4, attribute values 1/4) is drawn,
  // then a tournament of kTournament random targets of it picks the one covered least often;
  // targets given up on are skipped.
  std::vector<FocusTarget> draw(const Coverage& coverage, Rng& rng) const;
  // After the model of `focus` was added to `coverage`: a target still uncovered counts a miss;
  // after kMaxMisses it is given up (the generator cannot place it: dtypes that do not chain,
  // an attribute value its op never keeps).
  void record(const std::vector<FocusTarget>& focus, const Coverage& coverage);

  // The misses so far (targets with at least one), and their restoration when a campaign
  // resumes: the draws after a resume are those of the uninterrupted run.
  std::map<std::string, int> misses() const;
  void restore_misses(const std::map<std::string, int>& misses);

  size_t targets() const { return universe_.size(); }
  size_t given_up() const { return given_up_; }

  static constexpr int kTournament = 8;
  static constexpr int kMaxMisses = 4;

 private:
  std::vector<FocusTarget> universe_;
  std::vector<size_t> by_kind_[3];  // indices of universe_ per FocusTarget::Kind
  std::vector<int> misses_;
  std::unordered_map<std::string, size_t> index_;  // key -> universe_ index
  size_t given_up_ = 0;
};

// The coverage counts a target's key lives in.
const std::map<std::string, int64_t>& coverage_counts(const Coverage& coverage,
                                                      FocusTarget::Kind kind);

}  // namespace onnxfuzz
