// Rewrites from node names and op types: ORT records its passes in the names of the nodes it makes.
#include "oracles/graph_rewrites.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string_view>

namespace onnxfuzz {
namespace {

std::string qualified_op(const onnx::NodeProto& node) {
  if (node.domain().empty() || node.domain() == "ai.onnx") return node.op_type();
  return fmt::format("{}.{}", node.domain(), node.op_type());
}

// A name ORT made unique by appending "_token_N" or "_N" (Graph::GenerateNodeName), without it.
std::string_view without_unique_suffix(std::string_view segment) {
  if (auto token = segment.find("_token_"); token != std::string_view::npos) {
    return segment.substr(0, token);
  }
  const size_t underscore = segment.rfind('_');
  if (underscore != std::string_view::npos && underscore + 1 < segment.size() &&
      std::all_of(segment.begin() + underscore + 1, segment.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return segment.substr(0, underscore);
  }
  return segment;
}

// Pass names are CamelCase words such as "MatMulAddFusion" or "ConstantFolding".
bool looks_like_pass(std::string_view s) {
  if (s.size() < 4 || !std::isupper(static_cast<unsigned char>(s[0]))) return false;
  int uppers = 0;
  bool lower = false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
    uppers += std::isupper(static_cast<unsigned char>(c)) ? 1 : 0;
    lower = lower || std::islower(static_cast<unsigned char>(c));
  }
  return uppers >= 2 && lower;
}

}  // namespace

GraphRewrites graph_rewrites(const onnx::GraphProto& before, const onnx::GraphProto& after) {
  GraphRewrites out;
  // Names and op types of the original graph: a name segment equal to one of them is where a
  // node came from, not a pass.
  std::map<std::string, const onnx::NodeProto*> before_by_name;
  std::set<std::string, std::less<>> before_words;
  for (const auto& node : before.node()) {
    if (!node.name().empty()) before_by_name.emplace(node.name(), &node);
    before_words.insert(node.name());
    before_words.insert(node.op_type());
  }
  // Unnamed nodes cannot be followed by name: they pair up by op type.
  std::map<std::string, int> unnamed_before;
  for (const auto& node : before.node()) {
    if (node.name().empty()) ++unnamed_before[qualified_op(node)];
  }
  std::set<std::string> after_names;
  std::vector<std::string> changed;
  for (const auto& node : after.node()) {
    if (node.name().empty()) {
      int& left = unnamed_before[qualified_op(node)];
      if (left > 0) {
        --left;
      } else {
        out.node_changes.push_back(fmt::format("added {} ''", qualified_op(node)));
      }
      continue;
    }
    after_names.insert(node.name());
    auto kept = before_by_name.find(node.name());
    if (kept != before_by_name.end()) {
      if (qualified_op(*kept->second) != qualified_op(node)) {
        changed.push_back(fmt::format("{}: {} -> {}", node.name(), qualified_op(*kept->second),
                                      qualified_op(node)));
      }
      continue;
    }
    out.node_changes.push_back(fmt::format("added {} '{}'", qualified_op(node), node.name()));
    std::string_view name = node.name();
    while (!name.empty()) {
      const size_t slash = name.find('/');
      const std::string_view segment = without_unique_suffix(name.substr(0, slash));
      name = slash == std::string_view::npos ? std::string_view() : name.substr(slash + 1);
      if (!looks_like_pass(segment) || before_words.contains(segment) ||
          segment == node.op_type()) {
        continue;
      }
      if (std::ranges::find(out.rewrites, segment) == out.rewrites.end()) {
        out.rewrites.emplace_back(segment);
      }
    }
  }
  out.rewrites.insert(out.rewrites.end(), changed.begin(), changed.end());
  std::vector<std::string> removed;
  for (const auto& node : before.node()) {
    if (!node.name().empty() && !after_names.contains(node.name())) {
      removed.push_back(fmt::format("removed {} '{}'", qualified_op(node), node.name()));
    }
  }
  for (const auto& [op, left] : unnamed_before) {
    for (int i = 0; i < left; ++i) removed.push_back(fmt::format("removed {} ''", op));
  }
  out.node_changes.insert(out.node_changes.begin(), removed.begin(), removed.end());
  return out;
}

}  // namespace onnxfuzz
