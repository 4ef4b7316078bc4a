// Rewrites from node names and op types: ORT records its passes in the names of the nodes it makes.
#include "oracles/graph_rewrites.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

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

// What changed on a node kept by name and op: "attributes pads, inputs" or "".
std::string kept_node_changes(const onnx::NodeProto& before, const onnx::NodeProto& after) {
  std::map<std::string, std::string> attributes;  // name -> serialized, before
  for (const auto& a : before.attribute()) attributes[a.name()] = a.SerializeAsString();
  std::vector<std::string> changed;
  for (const auto& a : after.attribute()) {
    auto found = attributes.find(a.name());
    if (found == attributes.end() || found->second != a.SerializeAsString()) {
      changed.push_back(a.name());
    }
    if (found != attributes.end()) attributes.erase(found);
  }
  for (const auto& [name, bytes] : attributes) changed.push_back(name);  // dropped
  std::string out;
  if (!changed.empty()) out = fmt::format("attributes {}", fmt::join(changed, ", "));
  if (!std::ranges::equal(before.input(), after.input())) out += out.empty() ? "inputs" : ", inputs";
  return out;
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
      } else if (auto what = kept_node_changes(*kept->second, node); !what.empty()) {
        // A pass that rewrites a node in place (PadFusion into a pool's pads, ConvAddFusion
        // into a bias) leaves only this trace.
        changed.push_back(fmt::format("{}: {} {} changed", node.name(), qualified_op(node), what));
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
  // A removed node whose output is now an initializer was computed at load time by ORT's
  // own kernel (its ConstantFolding pass names no node, so this is its only trace).
  std::set<std::string> after_initializers;
  for (const auto& init : after.initializer()) after_initializers.insert(init.name());
  std::vector<std::string> removed;
  bool folded_any = false;
  for (const auto& node : before.node()) {
    if (node.name().empty() || after_names.contains(node.name())) continue;
    auto folded = std::ranges::find_if(node.output(), [&](const std::string& output) {
      return after_initializers.contains(output);
    });
    if (folded != node.output().end()) {
      folded_any = true;
      removed.push_back(fmt::format("folded {} '{}' into initializer '{}'", qualified_op(node),
                                    node.name(), *folded));
    } else {
      removed.push_back(fmt::format("removed {} '{}'", qualified_op(node), node.name()));
    }
  }
  if (folded_any && std::ranges::find(out.rewrites, "ConstantFolding") == out.rewrites.end()) {
    out.rewrites.insert(out.rewrites.begin(), "ConstantFolding");
  }
  for (const auto& [op, left] : unnamed_before) {
    for (int i = 0; i < left; ++i) removed.push_back(fmt::format("removed {} ''", op));
  }
  out.node_changes.insert(out.node_changes.begin(), removed.begin(), removed.end());
  return out;
}

}  // namespace onnxfuzz
