// Coverage guidance: the target universe, focus keys, and the guide's choice of targets.
#include "generators/guidance.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "generators/generator.h"
#include "generators/text.h"

namespace onnxfuzz {

namespace {

std::string pair_key(const OpChoice& a, const OpChoice& b) {
  return a.spec->op_type + ">" + b.spec->op_type;
}

std::string op_dtype_key(const OpChoice& op, DType dtype) {
  return op.spec->op_type + ":" + std::string(dtype_name(dtype));
}

// Attributes a focus can pin: schema attributes whose values the registration draws from a
// declared list (per spatial dim too), each distinct value once.
template <typename Visit>
void for_each_attr_choice(const OpChoice& op, Visit visit) {
  for (const auto& domain : op.spec->attr_domains) {
    if (domain.draw != AttrDraw::kChoice && domain.draw != AttrDraw::kPerSpatial) continue;
    const SchemaAttr* schema = op.spec->schema_attr(domain.name);
    if (schema == nullptr) continue;  // drawn for an input (Slice steps), not an attribute
    std::set<double> seen;
    for (double v : domain.choices) {
      if (!seen.insert(v).second) continue;
      if (schema->type == onnx::AttributeProto::FLOAT) {
        visit(domain.name, v, Coverage::attr_key(op.spec->op_type, domain.name, static_cast<float>(v)));
      } else if (schema->type == onnx::AttributeProto::INT ||
                 schema->type == onnx::AttributeProto::INTS) {
        visit(domain.name, v,
              Coverage::attr_key(op.spec->op_type, domain.name, static_cast<int64_t>(v)));
      }
    }
  }
}

int find_op(const Generator& generator, std::string_view op_type) {
  const auto& choices = generator.choices();
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i].spec->op_type == op_type) return static_cast<int>(i);
  }
  return -1;
}

bool dtypes_meet(const OpChoice& a, const OpChoice& b) {
  for (DType d : a.dtypes) {
    if (std::find(b.dtypes.begin(), b.dtypes.end(), d) != b.dtypes.end()) return true;
  }
  return false;
}

}  // namespace

std::vector<FocusTarget> focus_universe(const Generator& generator) {
  std::vector<FocusTarget> universe;
  const auto& ops = generator.choices();
  for (size_t i = 0; i < ops.size(); ++i) {
    for (DType d : ops[i].dtypes) {
      FocusTarget t;
      t.kind = FocusTarget::Kind::kOpDtype;
      t.op = static_cast<int>(i);
      t.dtype = d;
      t.key = op_dtype_key(ops[i], d);
      universe.push_back(std::move(t));
    }
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    for (size_t j = 0; j < ops.size(); ++j) {
      if (!dtypes_meet(ops[i], ops[j])) continue;
      FocusTarget t;
      t.kind = FocusTarget::Kind::kOpPair;
      t.op = static_cast<int>(i);
      t.next = static_cast<int>(j);
      t.key = pair_key(ops[i], ops[j]);
      universe.push_back(std::move(t));
    }
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    for_each_attr_choice(ops[i], [&](const std::string& name, double v, std::string key) {
      FocusTarget t;
      t.kind = FocusTarget::Kind::kAttrValue;
      t.op = static_cast<int>(i);
      t.attr = name;
      t.value = v;
      t.key = std::move(key);
      universe.push_back(std::move(t));
    });
  }
  return universe;
}

std::expected<FocusTarget, std::string> parse_focus_target(const Generator& generator,
                                                           std::string_view key) {
  const auto& ops = generator.choices();
  auto op_index = [&](std::string_view op) -> std::expected<int, std::string> {
    const int i = find_op(generator, op);
    if (i < 0)
      return std::unexpected(fmt::format("focus '{}': the generator does not draw op '{}'", key, op));
    return i;
  };
  FocusTarget t;
  t.key = std::string(key);
  if (auto gt = key.find('>'); gt != std::string_view::npos) {
    auto a = op_index(key.substr(0, gt));
    if (!a) return std::unexpected(a.error());
    auto b = op_index(key.substr(gt + 1));
    if (!b) return std::unexpected(b.error());
    t.kind = FocusTarget::Kind::kOpPair;
    t.op = *a;
    t.next = *b;
    return t;
  }
  if (auto dot = key.find('.'), eq = key.find('=');
      dot != std::string_view::npos && eq != std::string_view::npos && dot < eq) {
    auto op = op_index(key.substr(0, dot));
    if (!op) return std::unexpected(op.error());
    std::optional<FocusTarget> found;
    for_each_attr_choice(ops[static_cast<size_t>(*op)],
                         [&](const std::string& name, double v, const std::string& choice_key) {
                           if (choice_key != key || found) return;
                           found = FocusTarget{FocusTarget::Kind::kAttrValue, choice_key, *op, -1,
                                               DType::kFloat, name, v};
                         });
    if (!found) {
      return std::unexpected(fmt::format(
          "focus '{}': not one of the attribute values the generator draws for {}", key,
          key.substr(0, dot)));
    }
    return *found;
  }
  if (auto colon = key.find(':'); colon != std::string_view::npos) {
    auto op = op_index(key.substr(0, colon));
    if (!op) return std::unexpected(op.error());
    const auto dtype = dtype_from_name(key.substr(colon + 1));
    const auto& allowed = ops[static_cast<size_t>(*op)].dtypes;
    if (!dtype || std::find(allowed.begin(), allowed.end(), *dtype) == allowed.end()) {
      return std::unexpected(fmt::format("focus '{}': the generator does not draw {} in dtype '{}'",
                                         key, key.substr(0, colon), key.substr(colon + 1)));
    }
    t.kind = FocusTarget::Kind::kOpDtype;
    t.op = *op;
    t.dtype = *dtype;
    return t;
  }
  return std::unexpected(
      fmt::format("focus '{}': expected OP:DTYPE, PRODUCER>CONSUMER or OP.ATTR=VALUE", key));
}

std::expected<std::vector<FocusTarget>, std::string> parse_focus(const Generator& generator,
                                                                 std::string_view keys) {
  std::vector<FocusTarget> focus;
  for (const std::string& key : split_list(keys)) {
    auto target = parse_focus_target(generator, key);
    if (!target) return std::unexpected(target.error());
    focus.push_back(std::move(*target));
  }
  return focus;
}

std::string focus_string(const std::vector<FocusTarget>& focus) {
  std::string out;
  for (const auto& t : focus) {
    if (!out.empty()) out += ",";
    out += t.key;
  }
  return out;
}

const std::map<std::string, int64_t>& coverage_counts(const Coverage& coverage,
                                                      FocusTarget::Kind kind) {
  switch (kind) {
    case FocusTarget::Kind::kOpDtype:
      return coverage.op_dtypes;
    case FocusTarget::Kind::kOpPair:
      return coverage.op_pairs;
    case FocusTarget::Kind::kAttrValue:
      break;
  }
  return coverage.attr_values;
}

CoverageGuide::CoverageGuide(const Generator& generator) : universe_(focus_universe(generator)) {
  misses_.assign(universe_.size(), 0);
  for (size_t i = 0; i < universe_.size(); ++i) {
    by_kind_[static_cast<int>(universe_[i].kind)].push_back(i);
    index_.emplace(universe_[i].key, i);
  }
}

std::vector<FocusTarget> CoverageGuide::draw(const Coverage& coverage, Rng& rng) const {
  std::vector<FocusTarget> focus;
  const int count = rng.chance(0.5) ? 2 : 1;
  for (int n = 0; n < count; ++n) {
    const double u = rng.uniform_real(0.0, 1.0);
    const auto kind = u < 0.5    ? FocusTarget::Kind::kOpPair
                      : u < 0.75 ? FocusTarget::Kind::kOpDtype
                                 : FocusTarget::Kind::kAttrValue;
    const auto& candidates = by_kind_[static_cast<int>(kind)];
    if (candidates.empty()) continue;
    const auto& counts = coverage_counts(coverage, kind);
    size_t best = SIZE_MAX;
    int64_t best_count = 0;
    for (int round = 0; round < kTournament; ++round) {
      const size_t i = candidates[static_cast<size_t>(
          rng.uniform_int(0, static_cast<int64_t>(candidates.size()) - 1))];
      if (misses_[i] >= kMaxMisses) continue;
      auto it = counts.find(universe_[i].key);
      const int64_t hits = it == counts.end() ? 0 : it->second;
      if (best == SIZE_MAX || hits < best_count) best = i, best_count = hits;
    }
    if (best != SIZE_MAX) focus.push_back(universe_[best]);
  }
  return focus;
}

std::map<std::string, int> CoverageGuide::misses() const {
  std::map<std::string, int> out;
  for (size_t i = 0; i < universe_.size(); ++i) {
    if (misses_[i] > 0) out.emplace(universe_[i].key, misses_[i]);
  }
  return out;
}

void CoverageGuide::restore_misses(const std::map<std::string, int>& misses) {
  given_up_ = 0;
  std::fill(misses_.begin(), misses_.end(), 0);
  for (const auto& [key, n] : misses) {
    auto it = index_.find(key);
    if (it == index_.end()) continue;  // a target of another policy
    misses_[it->second] = n;
    given_up_ += n >= kMaxMisses;
  }
}

void CoverageGuide::record(const std::vector<FocusTarget>& focus, const Coverage& coverage) {
  for (const auto& target : focus) {
    auto it = index_.find(target.key);
    if (it == index_.end()) continue;
    if (coverage_counts(coverage, target.kind).count(target.key)) continue;
    if (++misses_[it->second] == kMaxMisses) ++given_up_;
  }
}

}  // namespace onnxfuzz
