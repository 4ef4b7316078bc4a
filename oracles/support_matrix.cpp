// Support matrices: parsing the probe's JSON, the committed targets, the rejection predicate.
#include "oracles/support_matrix.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "oracles/worker_paths.h"

namespace onnxfuzz {
namespace {

// One row per committed matrix. Re-probe (`onnxfuzz probe --execution opencv --out DIR`),
// copy DIR/probe-opencv.json and .md here, and update the file name after an upgrade.
constexpr SupportTarget kTargets[] = {
    {"opencv", "opencv", "oracles/support/opencv-4.6.json"},
};

}  // namespace

bool SupportMatrix::supports(std::string_view op, DType dtype) const {
  auto by_op = pairs.find(std::string(op));
  if (by_op == pairs.end()) return false;
  auto pair = by_op->second.find(dtype);
  return pair != by_op->second.end() && pair->second.runs();
}

bool SupportMatrix::predicts_rejection(const onnx::NodeProto& node, DType dtype) const {
  auto by_op = pairs.find(node.op_type());
  if (by_op == pairs.end()) return true;
  auto pair = by_op->second.find(dtype);
  if (pair == by_op->second.end() || !pair->second.runs()) return true;
  for (const std::string& key : attribute_keys(node)) {
    auto seen = pair->second.attributes.find(key);
    if (seen != pair->second.attributes.end() && seen->second.first == 0 &&
        seen->second.second > 0)
      return true;
  }
  return false;
}

std::expected<SupportMatrix, std::string> parse_support_matrix(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::unexpected(std::string("not a JSON object"));
  if (!j.contains("execution") || !j["execution"].is_string() || !j.contains("pairs") ||
      !j["pairs"].is_array()) {
    return std::unexpected(std::string("not a support matrix: needs \"execution\" and \"pairs\""));
  }
  SupportMatrix matrix;
  matrix.execution = j["execution"].get<std::string>();
  if (j.contains("version") && j["version"].is_string()) matrix.version = j["version"];
  if (j.contains("carried")) {
    if (!j["carried"].is_array()) return std::unexpected(std::string("\"carried\" is not a list"));
    for (const auto& name : j["carried"]) {
      auto dtype = name.is_string() ? dtype_from_name(name.get<std::string>()) : std::nullopt;
      if (!dtype) return std::unexpected(fmt::format("\"carried\": unknown dtype {}", name.dump()));
      matrix.carried.push_back(*dtype);
    }
  }
  for (const auto& row : j["pairs"]) {
    if (!row.is_object() || !row.contains("op") || !row["op"].is_string() ||
        !row.contains("dtype") || !row["dtype"].is_string() || !row.contains("outcome") ||
        !row["outcome"].is_string()) {
      return std::unexpected(fmt::format("pair needs op, dtype and outcome: {}", row.dump()));
    }
    auto dtype = dtype_from_name(row["dtype"].get<std::string>());
    if (!dtype) return std::unexpected(fmt::format("pair has an unknown dtype: {}", row.dump()));
    SupportPair pair;
    pair.outcome = row["outcome"].get<std::string>();
    pair.wrapped = row.value("wrapped", false);
    if (row.contains("attributes") && row["attributes"].is_object()) {
      for (const auto& [key, counts] : row["attributes"].items()) {
        pair.attributes[key] = {counts.value("runs", 0), counts.value("fails", 0)};
      }
    }
    matrix.pairs[row["op"].get<std::string>()][*dtype] = std::move(pair);
  }
  return matrix;
}

std::expected<SupportMatrix, std::string> load_support_matrix(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(fmt::format("cannot read support matrix {}", path));
  std::stringstream text;
  text << in.rdbuf();
  auto matrix = parse_support_matrix(text.str());
  if (!matrix) return std::unexpected(fmt::format("{}: {}", path, matrix.error()));
  return matrix;
}

std::span<const SupportTarget> support_targets() { return kTargets; }

std::expected<SupportMatrix, std::string> load_target_matrix(std::string_view target) {
  for (const SupportTarget& row : kTargets) {
    if (row.name != target) continue;
    auto root = find_project_root();
    if (!root) return std::unexpected(root.error());
    return load_support_matrix((std::filesystem::path(*root) / row.file).string());
  }
  if (target.ends_with(".json")) return load_support_matrix(std::string(target));
  std::string names;
  for (const SupportTarget& row : kTargets) names += fmt::format("{}{}", names.empty() ? "" : ", ", row.name);
  return std::unexpected(
      fmt::format("unknown target '{}' (targets: {}; or a probe's .json file)", target, names));
}

const SupportMatrix* committed_matrix(std::string_view execution) {
  // Loaded once per process, on the first rejection by an execution that has a matrix.
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<SupportMatrix>, std::less<>> loaded;
  const std::lock_guard lock(mutex);
  if (auto it = loaded.find(execution); it != loaded.end()) return it->second.get();
  std::unique_ptr<SupportMatrix> matrix;
  for (const SupportTarget& row : kTargets) {
    if (row.execution != execution) continue;
    auto read = load_target_matrix(row.name);
    if (read) {
      matrix = std::make_unique<SupportMatrix>(std::move(*read));
    } else {
      spdlog::warn("support matrix for {}: {}; its rejections are all judged", execution,
                   read.error());
    }
  }
  return loaded.emplace(std::string(execution), std::move(matrix)).first->second.get();
}

std::vector<std::string> attribute_keys(const onnx::NodeProto& node) {
  std::vector<std::string> keys;
  for (const onnx::AttributeProto& attribute : node.attribute()) {
    if (attribute.type() == onnx::AttributeProto::INT) {
      keys.push_back(fmt::format("{}={}", attribute.name(), attribute.i()));
    } else if (attribute.type() == onnx::AttributeProto::STRING) {
      keys.push_back(fmt::format("{}={}", attribute.name(), attribute.s()));
    }
  }
  return keys;
}

}  // namespace onnxfuzz
