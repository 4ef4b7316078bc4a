// Triage by root cause: keys of stored cases, fault localization, hit counts, n-gram scores.
#include "fuzzer/triage.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <tuple>

#include "fuzzer/optimizer_blame.h"
#include "generators/model_io.h"

namespace onnxfuzz {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool is_word(std::string_view text) {
  return !text.empty() && std::ranges::all_of(text, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// ORT names a fused node after the rewrite (FusedGemm = Gemm + activation): the failing
// kernel is the same one.
std::string canonical_op(std::string op) {
  if (op.starts_with("Fused") && op.size() > 5) op = op.substr(5);
  return lower(op);
}

struct MessageCore {
  std::string op;    // canonical op the message names, or empty
  std::string named;  // that op as the message spells it
  std::string core;  // the part of the message that names the failing check
};

// "Node (nN_Pow) Op (Pow) [ShapeInferenceError] Incompatible dimensions" -> pow, "[Shape...]";
// "Non-zero status code returned while running Add node. Name:'_' Status Message: <path>:N
// void onnxruntime::BroadcastIterator::Init(ptrdiff_t, ..." -> add, "void onnxruntime::
// BroadcastIterator::Init" (normalize_message cuts at 160 characters, so the argument list is
// cut wherever the prefix's length puts it); "Gemm: Invalid bias shape" -> gemm, the whole.
MessageCore message_core(std::string_view message) {
  MessageCore out;
  std::string text(message);
  if (const size_t at = text.find("Op ("); at != std::string::npos) {
    const size_t close = text.find(')', at);
    if (close != std::string::npos) {
      out.named = text.substr(at + 4, close - at - 4);
      out.op = canonical_op(out.named);
      text = text.substr(close + 1);
    }
  }
  if (const size_t at = text.find("running "); out.op.empty() && at != std::string::npos) {
    const size_t end = text.find(" node", at + 8);
    if (end != std::string::npos && is_word(std::string_view(text).substr(at + 8, end - at - 8))) {
      out.named = text.substr(at + 8, end - at - 8);
      out.op = canonical_op(out.named);
    }
  }
  if (const size_t at = text.find("Status Message: "); at != std::string::npos) {
    text = text.substr(at + 16);
  }
  // A source location ("<path>:N ", "concat.cc:N ") varies with the build, not with the bug.
  if (const size_t space = text.find(' ');
      space != std::string::npos && space >= 2 && text.compare(space - 2, 2, ":N") == 0) {
    text = text.substr(space + 1);
  }
  if (const size_t scope = text.find("::"); scope != std::string::npos) {
    if (const size_t paren = text.find('(', scope); paren != std::string::npos) {
      text.resize(paren);
    }
  }
  if (const size_t colon = text.find(": "); out.op.empty() && colon != std::string::npos &&
                                            is_word(std::string_view(text).substr(0, colon))) {
    out.named = text.substr(0, colon);
    out.op = canonical_op(out.named);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.erase(0, 1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  out.core = text;
  return out;
}

// Element types of the graph's values: inputs, initializers, inferred value_info, outputs.
std::map<std::string, ValueType> value_types(const onnx::GraphProto& graph) {
  std::map<std::string, ValueType> types;
  auto note = [&](const onnx::ValueInfoProto& info) {
    if (auto type = value_type_of(info)) types[info.name()] = *type;
  };
  for (const auto& v : graph.input()) note(v);
  for (const auto& v : graph.value_info()) note(v);
  for (const auto& v : graph.output()) note(v);
  for (const auto& init : graph.initializer()) {
    if (!dtype_supported(init.data_type())) continue;
    ValueType type;
    type.dtype = static_cast<DType>(init.data_type());
    type.shape.assign(init.dims().begin(), init.dims().end());
    types[init.name()] = type;
  }
  return types;
}

// Scalar attributes with their values; lists and tensors (perm, pads, axes, kernel_shape grow
// with the rank, which is not part of a key either) as an empty string.
std::string attribute_text(const onnx::AttributeProto& attr) {
  switch (attr.type()) {
    case onnx::AttributeProto::INT:
      return fmt::format("{}={}", attr.name(), attr.i());
    case onnx::AttributeProto::FLOAT:
      return fmt::format("{}={}", attr.name(), attr.f());
    case onnx::AttributeProto::STRING:
      return fmt::format("{}={}", attr.name(), attr.s());
    default:
      return "";
  }
}

// Whether an input of `node` has a zero-size dim.
bool has_empty_input(const onnx::NodeProto& node, const std::map<std::string, ValueType>& types) {
  return std::ranges::any_of(node.input(), [&](const std::string& input) {
    auto it = types.find(input);
    return it != types.end() && std::ranges::find(it->second.shape, 0) != it->second.shape.end();
  });
}

// "Gemm(float32,float32,float32; transA=1,transB=0)" of one node; `detail` gets the ranks and
// the list attributes, "ranks [2,2,1] perm".
std::string node_core(const onnx::NodeProto& node, const std::map<std::string, ValueType>& types,
                      std::string* detail) {
  std::vector<std::string> dtypes, rank_list, attrs;
  for (const auto& input : node.input()) {
    auto it = types.find(input);
    dtypes.push_back(input.empty() ? "-"
                     : it == types.end() ? "?"
                                         : std::string(dtype_name(it->second.dtype)));
    rank_list.push_back(it == types.end() ? "?" : std::to_string(it->second.shape.size()));
  }
  std::vector<std::string> lists;
  for (const auto& attr : node.attribute()) {
    std::string text = attribute_text(attr);
    if (text.empty()) {
      lists.push_back(attr.name());
    } else {
      attrs.push_back(std::move(text));
    }
  }
  std::ranges::sort(attrs);
  std::ranges::sort(lists);
  if (detail) {
    // An input with a zero-size dim is what many kernels get wrong (see root_cause).
    const bool empty_input = has_empty_input(node, types);
    *detail = fmt::format("ranks [{}]{}{}{}", fmt::join(rank_list, ","), lists.empty() ? "" : " ",
                          fmt::join(lists, ","), empty_input ? ", empty input" : "");
  }
  const std::string op =
      node.domain().empty() || node.domain() == "ai.onnx" ? node.op_type()
                                                           : node.domain() + "." + node.op_type();
  return fmt::format("{}({}{}{})", op, fmt::join(dtypes, ","), attrs.empty() ? "" : "; ",
                     fmt::join(attrs, ","));
}

std::string op_set(const std::vector<std::string>& ops) {
  std::set<std::string> distinct(ops.begin(), ops.end());
  return fmt::format("{{{}}}", fmt::join(distinct, ","));
}

int kind_rank(VerdictKind kind) {
  switch (kind) {
    case VerdictKind::kCrash:
      return 0;
    case VerdictKind::kHang:
      return 1;
    case VerdictKind::kRejection:
      return 2;
    case VerdictKind::kShape:
      return 3;
    case VerdictKind::kNumeric:
      return 4;
    case VerdictKind::kAcceptedInvalid:
      return 5;
  }
  return 6;
}

// The campaign directories a triage path may hold journals and n-gram counts in: the path and
// its instance subdirectories (parallel jobs write OUT/<instance>/).
std::vector<fs::path> campaign_files(const std::string& path, const std::string& name) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_regular_file(fs::path(path) / name, ec)) files.push_back(fs::path(path) / name);
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (entry.is_directory(ec) && entry.path().filename() != "cases" &&
        fs::is_regular_file(entry.path() / name, ec)) {
      files.push_back(entry.path() / name);
    }
  }
  std::ranges::sort(files);
  return files;
}

}  // namespace

Localization localize_error_upstream(const onnx::ModelProto& model, const TensorMap& inputs,
                                     const std::string& message, Execution& baseline,
                                     Execution& target, const LocalizeOptions& options) {
  Localization first;
  first.baseline = baseline.name();
  first.target = target.name();
  const MessageCore core = message_core(message);
  constexpr int kMaxAttempts = 3;
  int attempts = 0;
  for (int index = 0; index < model.graph().node_size() && attempts < kMaxAttempts; ++index) {
    if (core.op.empty() || canonical_op(model.graph().node(index).op_type()) != core.op) continue;
    Localization loc = localize_upstream(model, inputs, index, baseline, target, options);
    if (loc.status == LocalizationStatus::kLocalized) return loc;
    // A buffer ORT's allocation planner lent from another node's output: that node may be
    // anywhere in the model, not only upstream of this one. The stored message is cut before
    // the reason ("Shape mismatch attempting to re-use buffer"); the function that raises it,
    // where outputs are allocated, stays.
    if (message.find("attempting to re-use buffer") != std::string::npos ||
        message.find("OpKernelContext::OutputMLValue") != std::string::npos) {
      Localization beside = localize_beside(model, inputs, index, baseline, target, options);
      if (beside.status == LocalizationStatus::kLocalized) return beside;
    }
    if (attempts++ == 0) first = std::move(loc);
  }
  if (attempts == 0) {
    // The error names no op of the model (ORT ran a node of its own making: "running Mul node"
    // for a PRelu it rewrote): the nodes that end the graph are tried instead, last first, and
    // only a divergence upstream of one of them counts.
    for (int index = model.graph().node_size() - 1; index > 0 && attempts < kMaxAttempts; --index) {
      ++attempts;
      Localization loc = localize_upstream(model, inputs, index, baseline, target, options);
      if (loc.status == LocalizationStatus::kLocalized) return loc;
    }
    first.detail = core.op.empty() ? "the error names no op"
                                   : fmt::format("the error names {}, which the model does not have",
                                                 core.named);
    if (attempts > 0) first.detail += "; nothing diverges upstream of the last nodes either";
  }
  return first;
}

RootCause root_cause(const CaseRecord& record, const onnx::ModelProto& model,
                     const Localization* localization) {
  RootCause cause;
  cause.kind = record.kind;
  cause.execution = record.execution;
  // A rejection traced upstream is the divergent node's finding (shape or numeric).
  const bool upstream = record.kind == VerdictKind::kRejection && localization &&
                        localization->failing_node >= 0 &&
                        localization->status == LocalizationStatus::kLocalized;
  if (upstream) {
    cause.kind = localization->output.shape_differs ? VerdictKind::kShape : VerdictKind::kNumeric;
  }
  std::string key_core;
  switch (cause.kind) {
    case VerdictKind::kCrash:
    case VerdictKind::kHang:
    case VerdictKind::kRejection:
    case VerdictKind::kAcceptedInvalid: {
      const MessageCore core = message_core(record.message);
      // normalize_message keeps 160 characters, so the part after a long prefix (a kernel's
      // status after "running FusedConv node ...") is cut shorter than after a short one: the
      // key keeps a length every cut leaves whole.
      constexpr size_t kKeyCoreLength = 56;
      const std::string keyed = core.core.substr(0, kKeyCoreLength);
      cause.basis = "message";
      if (!core.op.empty()) {
        key_core = core.op + "|" + keyed;
        cause.core = lower(core.core).starts_with(core.op)
                         ? core.core
                         : fmt::format("{}: {}", core.named, core.core);
      } else {
        // Every segfault says SIGSEGV: the ops present tell one apart from another.
        const std::string ops = op_set(op_sequence(model.graph()));
        key_core = keyed + "|" + ops;
        cause.core = fmt::format("{} {}", core.core, ops);
        cause.basis = "message+op-set";
      }
      break;
    }
    case VerdictKind::kShape:
    case VerdictKind::kNumeric: {
      const auto& graph = model.graph();
      int node = -1;
      if (localization && localization->status == LocalizationStatus::kLocalized &&
          localization->node_index >= 0 && localization->node_index < graph.node_size()) {
        node = localization->node_index;
        cause.basis = upstream ? "upstream" : graph.node_size() == 1 ? "single-op" : "localized";
      } else if (graph.node_size() == 1) {
        node = 0;
        cause.basis = "single-op";
      }
      if (node >= 0) {
        auto inferred = validate_model(model);
        const auto types = value_types(inferred ? inferred->graph() : graph);
        std::string detail;
        key_core = node_core(graph.node(node), types, &detail);
        cause.core = key_core + " " + detail;
        cause.op = graph.node(node).op_type();
        // A kernel that mishandles an input with a zero-size dim does so whatever the dtype
        // and attributes (ORT's Reduce* and Arg* on an empty axis show it in every one of
        // them): the op and the empty input are the cause.
        if (has_empty_input(graph.node(node), types)) {
          key_core = fmt::format("{}(empty input)", cause.op);
        }
        // A node computed at float32 precision is so whatever its attribute values (Shrink's
        // bias and lambd): the op is the cause.
        const std::string evidence =
            localization && node == localization->node_index ? localization->evidence : "";
        if (evidence == "precision") {
          key_core = fmt::format("{}(float64) at float32 precision", cause.op);
          cause.core = key_core + " " + detail;
        } else if (evidence == "overflow") {
          // How a kernel overflows is the kernel's, whatever the integer dtype.
          key_core = fmt::format("{} integer overflow", cause.op);
          cause.core = fmt::format("{} (differs only where the exact result overflows the "
                                   "integer dtype; undefined in ONNX) {}",
                                   key_core, detail);
        }
      } else {
        key_core = fmt::format("{}", fmt::join(op_sequence(graph), ">"));
        cause.core = key_core;
        cause.basis = "op-sequence";
        if (localization) {
          cause.basis += fmt::format(" (localization: {})",
                                     localization_status_name(localization->status));
        }
      }
      break;
    }
  }
  if (localization && localization->status == LocalizationStatus::kPropagated &&
      (record.kind == VerdictKind::kNumeric || record.kind == VerdictKind::kShape)) {
    // No node computes anything else from the same inputs: one cause per execution and kind,
    // ranked like any other, for a human to dismiss (fuzz no longer stores these).
    cause.basis = "propagated";
    cause.op.clear();
    cause.core = "no faulty node: differences within the tolerance grown by later nodes (every "
                 "node agrees with the baseline on its own inputs); likely not a bug";
    cause.key = fmt::format("{}|{}|propagated", verdict_kind_name(record.kind), record.execution);
    return cause;
  }
  if (localization && localization->half_computed_in_float32) {
    // The execution's precision policy, not a kernel's bug: one cause per execution, whatever
    // the ops (every op without a float16 kernel shows it).
    cause.kind = VerdictKind::kNumeric;
    cause.basis = "precision";
    cause.op.clear();
    cause.core =
        "float16/bfloat16 ops computed in float32 without rounding between them (outputs match "
        "the reference run with half precision widened to float32)";
    cause.key = fmt::format("numeric|{}|half-precision computed in float32", record.execution);
    return cause;
  }
  if (localization && (!localization->optimizer_culprits.empty() ||
                       !localization->optimizer_interchangeable.empty())) {
    // An optimizer's bug: the optimizers it needs are the cause, whatever the ops around them
    // and however each model's ops then fail (every op's broadcast check, say). "A+B" needs
    // both; "A|B" is made by either (two rewrites that emit the same faulty node).
    const bool any_one = localization->optimizer_culprits.empty();
    const auto& names =
        any_one ? localization->optimizer_interchangeable : localization->optimizer_culprits;
    const std::string culprits = fmt::format("{}", fmt::join(names, any_one ? "|" : "+"));
    cause.basis = "optimizer";
    cause.op.clear();  // the optimizers are the cause, not a node
    const char* how = any_one ? "each makes it: vanishes only when all are disabled"
                      : names.size() > 1 ? "needs each: vanishes when any one is disabled"
                                         : "vanishes when it is disabled";
    const bool has_message = record.kind != VerdictKind::kNumeric && record.kind != VerdictKind::kShape;
    cause.core = fmt::format(
        "{} ({}{})", culprits, how,
        has_message ? "; " + message_core(record.message).core.substr(0, 60) : std::string());
    cause.key = fmt::format("{}|{}|optimizer:{}", verdict_kind_name(cause.kind), record.execution,
                            culprits);
    return cause;
  }
  std::set<std::string> rewrites;
  for (const auto& [execution, artifacts] : record.artifacts) {
    if (auto it = artifacts.notes.find("rewrites"); it != artifacts.notes.end()) {
      rewrites.insert(it->second.begin(), it->second.end());
    }
  }
  if (localization) rewrites.insert(localization->rewrites.begin(), localization->rewrites.end());
  cause.key = fmt::format("{}|{}|{}", verdict_kind_name(cause.kind), record.execution, key_core);
  if (!rewrites.empty()) {
    cause.key += fmt::format("|rewrites:{}", fmt::join(rewrites, ","));
    cause.core += fmt::format(" after {}", fmt::join(rewrites, ", "));
  }
  return cause;
}

namespace {

// A numeric finding of one node is localized too: the replay tells an integer overflow apart.
bool numeric_or_shape_to_localize(const TestCase& tc) {
  if (!tc.record) return false;
  return tc.record->kind == VerdictKind::kNumeric ||
         (tc.record->kind == VerdictKind::kShape && tc.model.graph().node_size() > 1);
}

bool rejection_of_several_nodes(const TestCase& tc) {
  return tc.record && tc.model.graph().node_size() > 1 &&
         tc.record->kind == VerdictKind::kRejection;
}

}  // namespace

Localization localize_case(const TestCase& tc, std::span<Execution* const> executions,
                           const OracleConfig& config) {
  Localization none;
  if (executions.empty() || tc.inputs.empty()) return none;
  auto named = [&](const std::string& name) -> Execution* {
    for (Execution* e : executions)
      if (e->name() == name) return e;
    return nullptr;
  };
  Execution* baseline = nullptr;
  Execution* target = nullptr;
  if (tc.record) {
    if (!tc.record->executions.empty()) baseline = named(tc.record->executions.front());
    target = named(tc.record->execution);
  }
  if (!baseline) baseline = executions.front();
  if (!target || target == baseline) {
    for (Execution* e : executions)
      if (e != baseline) target = e;
  }
  if (!target || target == baseline) return none;
  LocalizeOptions options;
  options.oracle = config;
  if (tc.record) {
    for (const auto& [execution, artifacts] : tc.record->artifacts) {
      if (auto it = artifacts.notes.find("rewrites"); it != artifacts.notes.end())
        options.rewrites.insert(options.rewrites.end(), it->second.begin(), it->second.end());
    }
  }
  Localization loc;
  if (numeric_or_shape_to_localize(tc)) {
    loc = localize(tc.model, tc.inputs.front(), *baseline, *target, options);
  } else if (rejection_of_several_nodes(tc)) {
    loc = localize_error_upstream(tc.model, tc.inputs.front(), tc.record->message, *baseline,
                                  *target, options);
    spdlog::debug("[triage] {}: upstream of the error: {}", tc.record->id, loc.detail);
  }
  if (tc.record && tc.record->kind == VerdictKind::kNumeric) {
    loc.half_computed_in_float32 =
        computes_half_in_float32(tc.model, tc.inputs.front(), *target, *baseline, config);
  }
  // A half-precision finding's root cause is the execution's precision policy (root_cause): no
  // variant runs for optimizers that would not change it.
  if (tc.record && attributable(tc.record->kind) && !loc.half_computed_in_float32) {
    const Verdict wanted{tc.record->kind, tc.record->execution, "", tc.record->message, ""};
    const OptimizerBlame blame =
        blame_optimizers(tc.model, tc.inputs.front(), *baseline, *target, wanted, config);
    loc.optimizer_culprits = blame.culprits;
    loc.optimizer_interchangeable = blame.interchangeable;
    spdlog::debug("[triage] {}: optimizers: {}", tc.record->id, blame.detail);
  }
  return loc;
}

namespace {

// Every attributable finding (numeric and shape ones included) is localized: by optimizer
// attribution, numeric and shape findings of several nodes also by exposing intermediates, and
// rejections of several nodes by tracing the error upstream.
bool wants_localization(const TestCase& tc) {
  return tc.record && attributable(tc.record->kind);
}

}  // namespace

std::expected<RootCause, std::string> case_root_cause(const std::string& case_dir,
                                                      const Localizer& localize) {
  auto tc = read_test_case(case_dir);
  if (!tc) return std::unexpected(tc.error());
  if (!tc->record) return std::unexpected(fmt::format("{}: no case.json", case_dir));
  std::optional<Localization> localization;
  if (localize && wants_localization(*tc)) localization = localize(*tc);
  return root_cause(*tc->record, tc->model, localization ? &*localization : nullptr);
}

void RootCauseIndex::refresh() {
  auto dirs = find_case_dirs({out_dir_});
  if (!dirs) return;  // no cases yet
  for (const auto& dir : *dirs) {
    const std::string id = fs::path(dir).filename().string();
    if (!seen_.insert(id).second) continue;
    auto cause = case_root_cause(dir, localize_);
    if (!cause) continue;
    own(cause->key, id);
    key_of_case_[id] = cause->key;
  }
}

const std::string& RootCauseIndex::own(const std::string& key, const std::string& case_id) {
  auto [owner, added] = case_of_key_.emplace(key, case_id);
  if (!added && !fs::exists(fs::path(out_dir_) / "cases" / owner->second)) owner->second = case_id;
  return owner->second;
}

std::string RootCauseIndex::claim(const std::string& key, const std::string& case_id) {
  seen_.insert(case_id);  // not read back from disk: `key` is its cause
  refresh();
  key_of_case_[case_id] = key;
  return own(key, case_id);
}

void RootCauseIndex::replace(const std::string& key, const std::string& case_id) {
  case_of_key_[key] = case_id;
  key_of_case_[case_id] = key;
}

std::string RootCauseIndex::key_of(const std::string& case_id) const {
  auto it = key_of_case_.find(case_id);
  return it == key_of_case_.end() ? std::string() : it->second;
}

std::set<std::string> op_ngrams(const std::vector<std::string>& ops, int max_n) {
  std::set<std::string> grams;
  for (size_t i = 0; i < ops.size(); ++i) {
    std::string gram;
    for (size_t n = 0; n < static_cast<size_t>(max_n) && i + n < ops.size(); ++n) {
      gram += (n ? ">" : "") + ops[i + n];
      grams.insert(gram);
    }
  }
  return grams;
}

void NgramCounts::add(const std::vector<std::string>& ops) {
  ++models_;
  for (const auto& gram : op_ngrams(ops)) ++counts_[gram];
  if (counts_.size() > max_entries_) thin_to_bound();
}

void NgramCounts::thin_to_bound() {
  // Deterministic for a given sample: the generator is seeded from its size.
  std::mt19937_64 rng(static_cast<uint64_t>(models_) * 0x9e3779b97f4a7c15ULL + counts_.size());
  while (counts_.size() > max_entries_ * 3 / 4 && models_ > 1) {
    for (auto it = counts_.begin(); it != counts_.end();) {
      std::binomial_distribution<int64_t> keep(it->second, 0.5);
      it->second = keep(rng);
      it = it->second == 0 ? counts_.erase(it) : std::next(it);
    }
    models_ = (models_ + 1) / 2;
    ++thinned_;
  }
}

nlohmann::json NgramCounts::to_json() const {
  return {{"models", models_}, {"max_n", 3}, {"thinned", thinned_}, {"ngrams", counts_}};
}

std::expected<void, std::string> NgramCounts::merge_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("models") || !j["models"].is_number_integer() ||
      !j.contains("ngrams") || !j["ngrams"].is_object()) {
    return std::unexpected(std::string("expected {\"models\": N, \"ngrams\": {...}}"));
  }
  models_ += j["models"].get<int64_t>();
  for (const auto& [gram, count] : j["ngrams"].items()) {
    if (!count.is_number_integer()) return std::unexpected(fmt::format("bad count of {}", gram));
    counts_[gram] += count.get<int64_t>();
  }
  if (j.contains("thinned") && j["thinned"].is_number_integer())
    thinned_ = std::max(thinned_, j["thinned"].get<int>());
  if (counts_.size() > max_entries_) thin_to_bound();
  return {};
}

NgramCounts NgramCounts::load(const std::string& dir) {
  NgramCounts counts;
  std::ifstream in(fs::path(dir) / "ngrams.json");
  if (!in) return counts;
  auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!counts.merge_json(j)) return NgramCounts();
  return counts;
}

std::expected<void, std::string> NgramCounts::save(const std::string& out_dir) const {
  return write_file_atomic((fs::path(out_dir) / "ngrams.json").string(), to_json().dump() + "\n",
                           Durability::kAtomicOnly);
}

std::expected<TriageReport, std::string> triage(const std::vector<std::string>& paths,
                                                const Localizer& localize, int top_ngrams) {
  auto dirs = find_case_dirs(paths);
  if (!dirs) return std::unexpected(dirs.error());
  if (dirs->empty()) {
    return std::unexpected(fmt::format("no cases found under {}", fmt::join(paths, ", ")));
  }
  TriageReport report;
  std::map<std::string, size_t> group_of_key;
  std::map<std::string, std::string> key_of_case;  // case id (directory name) -> cause key
  std::vector<std::vector<std::string>> original_ops;
  for (const auto& dir : *dirs) {
    auto tc = read_test_case(dir);
    if (!tc) return std::unexpected(tc.error());
    if (!tc->record) {
      spdlog::warn("[triage] {} has no case.json: skipped", dir);
      continue;
    }
    std::optional<Localization> localization;
    if (localize && wants_localization(*tc)) localization = localize(*tc);
    const RootCause cause =
        root_cause(*tc->record, tc->model, localization ? &*localization : nullptr);
    auto [it, inserted] = group_of_key.emplace(cause.key, report.groups.size());
    if (inserted) report.groups.push_back(CauseGroup{cause, {}, {}, 0, {}});
    CauseGroup& group = report.groups[it->second];
    group.cases.push_back(dir);
    group.case_ops.push_back(tc->record->ops);
    key_of_case[fs::path(dir).filename().string()] = cause.key;
    if (tc->original) original_ops.push_back(op_sequence(tc->original->graph()));
    ++report.cases;
  }
  if (report.cases == 0) return std::unexpected(std::string("no case has a case.json"));

  // Hits: every journal line of a verdict that was not flaky counts toward its root cause.
  std::map<std::string, std::vector<std::string>> failing_models;  // model id -> ops
  NgramCounts passing;
  for (const auto& path : paths) {
    for (const auto& file : campaign_files(path, "findings.jsonl")) {
      std::ifstream in(file);
      std::string line;
      while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        // Flaky and propagated verdicts are no findings; a torn line is skipped too.
        if (!j.is_object() || j.value("outcome", "") == "flaky" ||
            j.value("outcome", "") == "propagated") {
          continue;
        }
        ++report.hits;
        std::vector<std::string> ops;
        if (j.contains("model_ops") && j["model_ops"].is_array()) {
          for (const auto& op : j["model_ops"])
            if (op.is_string()) ops.push_back(op.get<std::string>());
        }
        const std::string model_id =
            fmt::format("{}|{}|{}", j.contains("chain") ? j["chain"].dump() : "",
                        j.contains("model_seed") ? j["model_seed"].dump() : "", fmt::join(ops, ">"));
        failing_models.emplace(model_id, ops);
        // The case a line counts toward decides (triage may key it differently from the
        // campaign, e.g. without --localize); the campaign's root cause when it has none.
        std::string key;
        if (j.contains("case") && j["case"].is_string()) {
          if (auto k = key_of_case.find(j["case"].get<std::string>()); k != key_of_case.end())
            key = k->second;
        }
        if (key.empty() && j.contains("root_cause") && j["root_cause"].is_string()) {
          key = j["root_cause"].get<std::string>();
        }
        auto g = group_of_key.find(key);
        if (g == group_of_key.end()) continue;
        CauseGroup& group = report.groups[g->second];
        ++group.hits;
        group.distinct_models.insert(model_id);
      }
    }
    for (const auto& file : campaign_files(path, "ngrams.json")) {
      std::ifstream in(file);
      auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
      if (auto merged = passing.merge_json(j); !merged) {
        return std::unexpected(fmt::format("{}: {}", file.string(), merged.error()));
      }
    }
  }
  // Without journals (a corpus of cases), each case's original model is its failing model.
  if (failing_models.empty()) {
    for (size_t i = 0; i < original_ops.size(); ++i)
      failing_models.emplace(std::to_string(i), original_ops[i]);
  }
  for (auto& group : report.groups) {
    if (group.hits == 0) group.hits = static_cast<int64_t>(group.cases.size());
    // The reproducer to file: the smallest case.
    std::vector<size_t> order(group.cases.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::ranges::stable_sort(order, [&](size_t a, size_t b) {
      return group.case_ops[a].size() < group.case_ops[b].size();
    });
    CauseGroup sorted = group;
    for (size_t i = 0; i < order.size(); ++i) {
      sorted.cases[i] = group.cases[order[i]];
      sorted.case_ops[i] = group.case_ops[order[i]];
    }
    group = std::move(sorted);
  }
  std::ranges::stable_sort(report.groups, [](const CauseGroup& a, const CauseGroup& b) {
    if (kind_rank(a.cause.kind) != kind_rank(b.cause.kind))
      return kind_rank(a.cause.kind) < kind_rank(b.cause.kind);
    return a.hits > b.hits;
  });

  // Ops with several root causes of one kind and execution.
  std::map<std::tuple<int, std::string, std::string>, size_t> family_of;
  for (size_t i = 0; i < report.groups.size(); ++i) {
    const RootCause& cause = report.groups[i].cause;
    if (cause.op.empty()) continue;
    const auto key = std::tuple{static_cast<int>(cause.kind), cause.execution, cause.op};
    auto [it, added] = family_of.emplace(key, report.op_families.size());
    if (added) report.op_families.push_back(OpFamily{cause.kind, cause.execution, cause.op, {}, 0, 0});
    OpFamily& family = report.op_families[it->second];
    family.groups.push_back(i);
    family.cases += static_cast<int>(report.groups[i].cases.size());
    family.hits += report.groups[i].hits;
  }
  std::erase_if(report.op_families, [](const OpFamily& f) { return f.groups.size() < 2; });
  std::ranges::stable_sort(report.op_families, [](const OpFamily& a, const OpFamily& b) {
    return a.groups.size() > b.groups.size();
  });

  // Op n-grams over-represented in failing models.
  report.failing_models = static_cast<int64_t>(failing_models.size());
  report.passing_models = passing.models();
  std::map<std::string, int64_t> failing_counts;
  for (const auto& [id, ops] : failing_models)
    for (const auto& gram : op_ngrams(ops)) ++failing_counts[gram];
  if (report.passing_models > 0) {
    const double f_total = static_cast<double>(report.failing_models) + 1;
    const double p_total = static_cast<double>(report.passing_models) + 1;
    // A rare n-gram's ratio is noise (5 failing, 0 passing outscores 1000 failing, 2000
    // passing): only n-grams in at least 3 failing models and 1% of them are scored.
    report.min_failing = std::max<int64_t>(3, (report.failing_models + 99) / 100);
    for (const auto& [gram, failing] : failing_counts) {
      if (failing < report.min_failing) continue;
      auto p = passing.counts().find(gram);
      const int64_t passing_count = p == passing.counts().end() ? 0 : p->second;
      const double score =
          std::log(((failing + 0.5) / f_total) / ((passing_count + 0.5) / p_total));
      report.ngrams.push_back({gram, failing, passing_count, score});
    }
    std::ranges::sort(report.ngrams, [](const NgramScore& a, const NgramScore& b) {
      if (a.score != b.score) return a.score > b.score;
      return a.ngram < b.ngram;
    });
    if (report.ngrams.size() > static_cast<size_t>(top_ngrams)) report.ngrams.resize(top_ngrams);
  }
  return report;
}

std::string triage_table(const TriageReport& report) {
  std::string out = fmt::format("{} root causes in {} cases", report.groups.size(), report.cases);
  if (report.hits > 0) out += fmt::format(", {} hits in findings.jsonl", report.hits);
  out += "\n\n";
  out += fmt::format("{:>3}  {:<10} {:<14} {:>6} {:>6} {:>5}  {}\n", "#", "kind", "execution",
                     "hits", "models", "cases", "root cause (reproducer; case op sequences)");
  int rank = 0;
  for (const auto& group : report.groups) {
    out += fmt::format("{:>3}  {:<10} {:<14} {:>6} {:>6} {:>5}  {}\n", ++rank,
                       verdict_kind_name(group.cause.kind), group.cause.execution, group.hits,
                       group.distinct_models.empty() ? "-"
                                                     : std::to_string(group.distinct_models.size()),
                       group.cases.size(), group.cause.core);
    std::vector<std::string> sequences;
    for (const auto& ops : group.case_ops) sequences.push_back(fmt::format("{}", fmt::join(ops, ">")));
    out += fmt::format("{:>47}  [{}] {}; {}\n", "", group.cause.basis,
                       fs::path(group.cases.front()).filename().string(),
                       fmt::join(sequences, " | "));
  }
  out += "\n";
  if (!report.op_families.empty()) {
    out += "ops with several root causes (one kernel's bug often shows in several dtypes or "
           "attribute values)\n";
    for (const auto& family : report.op_families) {
      std::vector<std::string> ranks;
      for (size_t i : family.groups) ranks.push_back(fmt::format("#{}", i + 1));
      out += fmt::format("  {:<10} {:<14} {:<20} {} root causes ({}), {} cases, {} hits\n",
                         verdict_kind_name(family.kind), family.execution, family.op,
                         family.groups.size(), fmt::join(ranks, " "), family.cases, family.hits);
    }
    out += "\n";
  }
  if (report.ngrams.empty()) {
    out += fmt::format(
        "op n-grams: no passing sample (ngrams.json) next to the {} failing models; a campaign "
        "writes one\n",
        report.failing_models);
    return out;
  }
  out += fmt::format(
      "op n-grams over-represented in {} failing models vs {} passing ones, in at least {} "
      "failing models\n(score = log(((failing+0.5)/(F+1)) / ((passing+0.5)/(P+1))))\n",
      report.failing_models, report.passing_models, report.min_failing);
  out += fmt::format("{:>8} {:>8} {:>10} {:>8}  {}\n", "score", "failing", "passing", "", "n-gram");
  for (const auto& gram : report.ngrams) {
    out += fmt::format("{:>8.2f} {:>8} {:>10} {:>8}  {}\n", gram.score, gram.failing, gram.passing,
                       "", gram.ngram);
  }
  return out;
}

nlohmann::json triage_json(const TriageReport& report) {
  nlohmann::json j;
  j["cases"] = report.cases;
  j["root_causes"] = report.groups.size();
  j["hits"] = report.hits;
  j["failing_models"] = report.failing_models;
  j["passing_models"] = report.passing_models;
  j["ngram_min_failing"] = report.min_failing;
  j["groups"] = nlohmann::json::array();
  for (const auto& group : report.groups) {
    nlohmann::json g;
    g["key"] = group.cause.key;
    g["kind"] = std::string(verdict_kind_name(group.cause.kind));
    g["execution"] = group.cause.execution;
    g["core"] = group.cause.core;
    g["basis"] = group.cause.basis;
    g["hits"] = group.hits;
    g["distinct_models"] = group.distinct_models.size();
    g["cases"] = group.cases;
    g["case_ops"] = group.case_ops;
    j["groups"].push_back(std::move(g));
  }
  j["op_families"] = nlohmann::json::array();
  for (const auto& family : report.op_families) {
    nlohmann::json keys = nlohmann::json::array();
    for (size_t i : family.groups) keys.push_back(report.groups[i].cause.key);
    j["op_families"].push_back({{"kind", std::string(verdict_kind_name(family.kind))},
                                {"execution", family.execution},
                                {"op", family.op},
                                {"root_causes", keys},
                                {"cases", family.cases},
                                {"hits", family.hits}});
  }
  j["ngrams"] = nlohmann::json::array();
  for (const auto& gram : report.ngrams) {
    j["ngrams"].push_back({{"ngram", gram.ngram},
                           {"failing", gram.failing},
                           {"passing", gram.passing},
                           {"score", gram.score}});
  }
  return j;
}

}  // namespace onnxfuzz
