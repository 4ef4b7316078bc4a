// Oracles: crash, hang, rejection, shape and numeric verdicts from execution results.
#include "oracles/oracle.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstring>

#include "generators/model_io.h"
#include "oracles/backend_gaps.h"

namespace onnxfuzz {

std::string_view verdict_kind_name(VerdictKind kind) {
  switch (kind) {
    case VerdictKind::kCrash:
      return "crash";
    case VerdictKind::kHang:
      return "hang";
    case VerdictKind::kRejection:
      return "rejection";
    case VerdictKind::kShape:
      return "shape";
    case VerdictKind::kNumeric:
      return "numeric";
    case VerdictKind::kAcceptedInvalid:
      return "accepted-invalid";
  }
  return "unknown";
}

std::optional<VerdictKind> parse_verdict_kind(std::string_view name) {
  for (auto kind : {VerdictKind::kCrash, VerdictKind::kHang, VerdictKind::kRejection,
                    VerdictKind::kShape, VerdictKind::kNumeric, VerdictKind::kAcceptedInvalid}) {
    if (verdict_kind_name(kind) == name) return kind;
  }
  return std::nullopt;
}

bool fails_same_way(const Verdict& observed, const Verdict& wanted) {
  if (observed.kind != wanted.kind || observed.execution != wanted.execution) return false;
  const bool error_kind = observed.kind == VerdictKind::kCrash ||
                          observed.kind == VerdictKind::kHang ||
                          observed.kind == VerdictKind::kRejection;
  return !error_kind || observed.message == wanted.message;
}

std::map<DType, Tolerance> default_tolerances() {
  std::map<DType, Tolerance> table;
  for (const DTypeInfo& row : all_dtypes()) table[row.dtype] = {row.atol, row.rtol};
  return table;
}

Tolerance OracleConfig::tolerance_for(DType dtype) const {
  auto it = tolerance.find(dtype);
  return it == tolerance.end() ? Tolerance{} : it->second;
}

std::expected<void, std::string> parse_tolerance_list(std::string_view text,
                                                      OracleConfig& config) {
  auto number = [](std::string_view part) -> std::optional<double> {
    const std::string s(part);
    try {
      size_t used = 0;
      const double value = std::stod(s, &used);
      if (used != s.size() || !(value >= 0)) return std::nullopt;
      return value;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  };
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const size_t colon = item.find(':', eq == std::string_view::npos ? 0 : eq);
    if (eq == std::string_view::npos || colon == std::string_view::npos) {
      return std::unexpected(
          fmt::format("'{}': expected DTYPE=ATOL:RTOL, e.g. float16=1e-2:2e-2", item));
    }
    auto dtype = dtype_from_name(item.substr(0, eq));
    if (!dtype) {
      return std::unexpected(fmt::format("'{}': unknown dtype '{}'; known dtypes: {}", item,
                                         item.substr(0, eq), dtype_names()));
    }
    auto atol = number(item.substr(eq + 1, colon - eq - 1));
    auto rtol = number(item.substr(colon + 1));
    if (!atol || !rtol) {
      return std::unexpected(fmt::format("'{}': atol and rtol must be numbers >= 0", item));
    }
    config.tolerance[*dtype] = {*atol, *rtol};
  }
  return {};
}

std::string Verdict::key() const {
  return fmt::format("{}|{}|{}", verdict_kind_name(kind), execution, message);
}

std::string normalize_message(std::string_view message) {
  std::string first_line(message.substr(0, message.find('\n')));
  std::string out;
  out.reserve(first_line.size());
  for (size_t i = 0; i < first_line.size();) {
    const char c = first_line[i];
    if (c == '\'' || c == '"') {
      // Quoted text is almost always a node/value name or a path: varies with the model.
      const size_t close = first_line.find(c, i + 1);
      if (close != std::string::npos && close - i <= 80) {
        out += c;
        out += '_';
        out += c;
        i = close + 1;
        continue;
      }
    }
    if (c == '0' && i + 1 < first_line.size() && first_line[i + 1] == 'x') {
      out += "0x_";
      i += 2;
      while (i < first_line.size() && std::isxdigit(static_cast<unsigned char>(first_line[i]))) ++i;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      out += 'N';
      while (i < first_line.size() && std::isdigit(static_cast<unsigned char>(first_line[i]))) ++i;
      continue;
    }
    if (c == '/' && (out.empty() || out.back() == ' ')) {
      // An absolute path: drop it up to the next space or colon.
      while (i < first_line.size() && first_line[i] != ' ' && first_line[i] != ':') ++i;
      out += "<path>";
      continue;
    }
    out += c;
    ++i;
  }
  if (out.size() > 160) out.resize(160);
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out;
}

namespace {

// Row-major flat index -> "[i,j,k]".
std::string index_string(const Shape& shape, int64_t flat) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return shape_string(index);
}


// Shape/dtype comparison of one output; returns the mismatch description or "".
std::string shape_mismatch(const Tensor& actual, DType expected_dtype,
                           const Shape& expected_shape) {
  if (actual.dtype != expected_dtype || actual.shape != expected_shape) {
    return fmt::format("{}{} vs {}{}", dtype_name(actual.dtype), shape_string(actual.shape),
                       dtype_name(expected_dtype), shape_string(expected_shape));
  }
  return "";
}

struct NumericDiff {
  int64_t mismatches = 0;
  int64_t worst = -1;
  double max_abs = 0;
  double max_rel = 0;
  bool nonfinite_mismatch = false;
};

// Whether a non-finite difference at one position is only where an overflow happened: the
// reference accumulates in double and rounds once, a backend in its own order and precision, so
// near the dtype's range the one can overflow (inf, and inf - inf = NaN) where the other does
// not. Such a position is one side NaN with the other non-finite, or one side non-finite with
// the other beyond the square root of the dtype's largest value (a product or sum of such
// values can overflow). Not a finding: inputs this large make the result order-dependent.
bool overflow_dependent(double a, double e, DType dtype) {
  if (!is_float(dtype)) return false;
  if (!std::isfinite(a) && !std::isfinite(e)) return std::isnan(a) || std::isnan(e);
  const double big = std::sqrt(dtype_info(dtype).highest);
  return std::fabs(std::isfinite(a) ? a : e) > big;
}

NumericDiff numeric_diff(const Tensor& actual, const Tensor& expected, const Tolerance& tol) {
  NumericDiff diff;
  // Same dtype and shape (checked before) and the same bytes: nothing differs. Most outputs
  // take this path; NaNs of other bits, and -0.0 against 0.0, go through the loop.
  if (actual.bytes == expected.bytes) return diff;
  double worst_excess = -1;
  const int64_t n = expected.numel();
  const size_t size = dtype_size(expected.dtype);
  const bool exact = !is_float(expected.dtype);
  for (int64_t i = 0; i < n; ++i) {
    const double a = actual.as_double(i);
    const double e = expected.as_double(i);
    if (!std::isfinite(a) || !std::isfinite(e)) {
      const bool same = (std::isnan(a) && std::isnan(e)) || a == e;
      if (!same && !overflow_dependent(a, e, expected.dtype)) {
        ++diff.mismatches;
        if (!diff.nonfinite_mismatch) diff.worst = i;
        diff.nonfinite_mismatch = true;
      }
      continue;
    }
    // Integers beyond 2^53 collapse in double: exact dtypes compare their bytes.
    const bool bytes_differ =
        exact &&
        std::memcmp(actual.bytes.data() + i * size, expected.bytes.data() + i * size, size) != 0;
    const double abs_err = std::max(std::fabs(a - e), bytes_differ ? 1.0 : 0.0);
    const double rel_err = abs_err / std::max(std::fabs(e), 1e-30);
    diff.max_abs = std::max(diff.max_abs, abs_err);
    if (abs_err > 0) diff.max_rel = std::max(diff.max_rel, rel_err);
    const double allowed = tol.atol + tol.rtol * std::fabs(e);
    if (abs_err > allowed) {
      ++diff.mismatches;
      const double excess = abs_err - allowed;
      if (!diff.nonfinite_mismatch && excess > worst_excess) {
        worst_excess = excess;
        diff.worst = i;
      }
    }
  }
  return diff;
}

// Shape and numeric verdicts of `actual` against `expected` outputs.
void compare_into(const std::string& execution, const RunResult& actual,
                  const std::string& baseline_name, const TensorMap& expected,
                  const OracleConfig& config, std::vector<Verdict>& verdicts) {
  std::string shape_evidence;
  std::string numeric_evidence;
  std::string numeric_message;
  for (const auto& [name, want] : expected) {
    auto it = actual.outputs.find(name);
    if (it == actual.outputs.end()) {
      shape_evidence += fmt::format("output '{}' missing; ", name);
      continue;
    }
    const Tensor& got = it->second;
    if (auto mismatch = shape_mismatch(got, want.dtype, want.shape); !mismatch.empty()) {
      shape_evidence += fmt::format("output '{}': {} has {}; ", name, execution, mismatch);
      continue;
    }
    const Tolerance tol = config.tolerance_for(want.dtype);
    const NumericDiff diff = numeric_diff(got, want, tol);
    if (diff.mismatches == 0) continue;
    if (numeric_message.empty()) {
      numeric_message = diff.nonfinite_mismatch ? "NaN/Inf positions differ" : "values differ";
    }
    numeric_evidence += fmt::format(
        "output '{}': {} of {} elements differ{}; max abs err {:.6g}, max rel err {:.6g}; "
        "worst at {}: {} = {:.9g}, {} = {:.9g}{}; ",
        name, diff.mismatches, want.numel(),
        tol == Tolerance{} ? std::string(" (exact)")
                           : fmt::format(" beyond {} atol={:g} rtol={:g}", dtype_name(want.dtype),
                                         tol.atol, tol.rtol),
        diff.max_abs, diff.max_rel, index_string(want.shape, diff.worst), execution,
        got.as_double(diff.worst), baseline_name, want.as_double(diff.worst),
        is_float(want.dtype) ? "" : " (integer)");
  }
  if (!shape_evidence.empty()) {
    verdicts.push_back({VerdictKind::kShape, execution, baseline_name,
                        fmt::format("output shape/dtype differs from {}", baseline_name),
                        shape_evidence});
  } else if (!numeric_evidence.empty()) {
    verdicts.push_back({VerdictKind::kNumeric, execution, baseline_name,
                        fmt::format("{} from {}", numeric_message, baseline_name),
                        numeric_evidence});
  }
}

void process_failure(const Observation& obs, std::vector<Verdict>& verdicts) {
  if (obs.result.status == RunStatus::kCrash) {
    verdicts.push_back({VerdictKind::kCrash, obs.execution, "",
                        normalize_message(obs.result.message), obs.result.message});
  } else if (obs.result.status == RunStatus::kTimeout) {
    verdicts.push_back({VerdictKind::kHang, obs.execution, "", "timed out", obs.result.message});
  }
}

}  // namespace

std::vector<Verdict> judge_invalid(const std::vector<Observation>& observations,
                                   std::string_view rule) {
  std::vector<Verdict> verdicts;
  for (const auto& obs : observations) {
    process_failure(obs, verdicts);
    if (obs.result.status == RunStatus::kOk) {
      verdicts.push_back({VerdictKind::kAcceptedInvalid, obs.execution, "",
                          fmt::format("ran a model that breaks {}", rule),
                          fmt::format("{} returned {} output(s) instead of an error", obs.execution,
                                      obs.result.outputs.size())});
    }
  }
  return verdicts;
}

namespace {

void check_inferred(const Observation& obs, const onnx::ModelProto& inferred,
                    std::vector<Verdict>& verdicts) {
  std::string evidence;
  for (const auto& output : inferred.graph().output()) {
    auto type = value_type_of(output);
    if (!type) continue;  // inference left it symbolic: nothing to compare against
    auto it = obs.result.outputs.find(output.name());
    if (it == obs.result.outputs.end()) continue;  // reported by the cross-execution check
    if (auto mismatch = shape_mismatch(it->second, type->dtype, type->shape); !mismatch.empty()) {
      evidence += fmt::format("output '{}': {} has {}; ", output.name(), obs.execution, mismatch);
    }
  }
  if (!evidence.empty()) {
    verdicts.push_back({VerdictKind::kShape, obs.execution, "inferred",
                        "output shape/dtype differs from ONNX shape inference", evidence});
  }
}

}  // namespace

std::vector<std::string> exempt_backend_gaps(std::vector<Observation>& observations,
                                             const onnx::ModelProto& model) {
  std::vector<std::string> exempted;
  for (Observation& obs : observations) {
    if (obs.result.status != RunStatus::kError) continue;
    const BackendGap* gap = find_backend_gap(obs.execution, model, obs.result.message);
    if (!gap) continue;
    obs.result.status = RunStatus::kUnsupported;
    obs.result.message = fmt::format("backend gap: {}({}) has no kernel on {}: {}", gap->op,
                                     dtype_name(gap->dtype), obs.execution, obs.result.message);
    exempted.push_back(obs.execution);
  }
  return exempted;
}

std::vector<Verdict> compare_outputs(const std::string& execution, const RunResult& actual,
                                     const std::string& baseline_name, const TensorMap& expected,
                                     const OracleConfig& config) {
  std::vector<Verdict> verdicts;
  if (actual.status == RunStatus::kOk) {
    compare_into(execution, actual, baseline_name, expected, config, verdicts);
  }
  return verdicts;
}

namespace {

bool ran(const Observation& obs) { return obs.result.status == RunStatus::kOk; }

// Whether two executions' outputs agree both ways (the tolerance is relative to the expected
// side, so one direction alone would make agreement depend on which is called expected).
bool agree(const Observation& a, const Observation& b, const OracleConfig& config) {
  std::vector<Verdict> differences;
  compare_into(a.execution, a.result, b.execution, b.result.outputs, config, differences);
  compare_into(b.execution, b.result, a.execution, a.result.outputs, config, differences);
  return differences.empty();
}

// The baseline rule: `ref` when it ran (our reference is the oracle of record); otherwise
// the execution that agrees with the most others, so that a disagreement is blamed on the
// minority. Only a tie (e.g. two executions that disagree, without ref) falls back to the
// order given: the first listed of the tied is the baseline.
// A paired observation (see paired_observation) is neither a candidate nor a voter.
const Observation* choose_baseline(const std::vector<Observation>& observations,
                                   const std::vector<const Observation*>& pairs,
                                   const OracleConfig& config) {
  auto candidate_at = [&](size_t i) { return ran(observations[i]) && pairs[i] == nullptr; };
  for (size_t i = 0; i < observations.size(); ++i) {
    if (observations[i].execution == "ref" && candidate_at(i)) return &observations[i];
  }
  const Observation* best = nullptr;
  int best_agreements = -1;
  for (size_t i = 0; i < observations.size(); ++i) {
    if (!candidate_at(i)) continue;
    const Observation& candidate = observations[i];
    int agreements = 0;
    for (size_t j = 0; j < observations.size(); ++j) {
      if (j != i && candidate_at(j) && agree(candidate, observations[j], config)) ++agreements;
    }
    if (agreements > best_agreements) {
      best = &candidate;
      best_agreements = agreements;
    }
  }
  return best;
}

// The observation `obs` is judged against instead of the common baseline: its family's pair
// (a converter's runtime on the original model, oracles/execution.h paired_with) when that
// execution is among the observations; else null.
const Observation* paired_observation(const Observation& obs,
                                      const std::vector<Observation>& observations) {
  const std::string pair = paired_execution(obs.execution);
  if (pair.empty() || pair == obs.execution) return nullptr;
  for (const auto& other : observations) {
    if (other.execution == pair) return &other;
  }
  return nullptr;
}

}  // namespace

Judgement judge_all(const std::vector<Observation>& observations,
                    const onnx::ModelProto* inferred, const OracleConfig& config) {
  Judgement judgement;
  std::vector<Verdict> verdicts;
  for (const auto& obs : observations) process_failure(obs, verdicts);
  std::vector<const Observation*> pairs;
  for (const auto& obs : observations) pairs.push_back(paired_observation(obs, observations));
  const Observation* baseline = choose_baseline(observations, pairs, config);
  if (baseline) {
    judgement.ran = true;
    judgement.baseline = baseline->execution;
  }
  for (size_t i = 0; i < observations.size(); ++i) {
    const Observation& obs = observations[i];
    // A paired execution answers to its pair alone: a rejection only when the pair ran the
    // original model, a comparison only with the pair's outputs.
    const Observation* against = pairs[i] ? pairs[i] : baseline;
    const bool against_ran = against && ran(*against);
    if (obs.result.status == RunStatus::kError && against_ran) {
      verdicts.push_back({VerdictKind::kRejection, obs.execution, against->execution,
                          normalize_message(obs.result.message), obs.result.message});
      continue;
    }
    if (!ran(obs)) continue;
    if (inferred) check_inferred(obs, *inferred, verdicts);
    if (&obs != against && against_ran) {
      compare_into(obs.execution, obs.result, against->execution, against->result.outputs,
                   config, verdicts);
    }
  }
  // One verdict per (kind, execution): a wrong shape seen against both inference and the
  // baseline is one finding, reported with the first evidence.
  for (auto& v : verdicts) {
    bool seen = false;
    for (const auto& u : judgement.verdicts) {
      seen = seen || (u.kind == v.kind && u.execution == v.execution);
    }
    if (!seen) judgement.verdicts.push_back(std::move(v));
  }
  return judgement;
}

std::vector<Verdict> judge(const Observation& baseline, const std::vector<Observation>& others,
                           const onnx::ModelProto* inferred, const OracleConfig& config) {
  std::vector<Observation> all;
  all.reserve(others.size() + 1);
  all.push_back(baseline);
  all.insert(all.end(), others.begin(), others.end());
  return judge_all(all, inferred, config).verdicts;
}

}  // namespace onnxfuzz
