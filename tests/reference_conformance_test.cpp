// Conformance of the reference interpreter against the ONNX backend node tests (libonnx-testdata).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "generators/model_io.h"
#include "generators/tensor.h"
#include "oracles/reference.h"

namespace onnxfuzz {
namespace {

namespace fs = std::filesystem;

constexpr const char* kNodeTestRoot = "/usr/share/libonnx-testdata/data/node";

// Node tests that use only supported ops and dtypes but cannot pass, with the reason. Keep tiny.
const std::map<std::string, std::string> kSkipped = {};

// Why a node test is out of scope (an op or dtype the reference does not cover), or "".
std::string out_of_scope(const onnx::ModelProto& model) {
  for (const auto& node : model.graph().node()) {
    if ((!node.domain().empty() && node.domain() != "ai.onnx") ||
        !reference_supports(node.op_type())) {
      return "op " + node.op_type();
    }
  }
  auto tensor_ok = [](const onnx::ValueInfoProto& v) {
    return v.type().has_tensor_type() && dtype_supported(v.type().tensor_type().elem_type());
  };
  for (const auto& v : model.graph().input()) {
    if (!tensor_ok(v)) return "input type of " + v.name();
  }
  for (const auto& v : model.graph().output()) {
    if (!tensor_ok(v)) return "output type of " + v.name();
  }
  for (const auto& t : model.graph().initializer()) {
    if (!dtype_supported(t.data_type())) return "initializer type of " + t.name();
  }
  return {};
}

// Mismatch description, or "" when `got` matches `want`: same dtype and shape; floats within
// 1e-4 + 1e-3*|want| with NaN in the same places; everything else exact.
std::string compare(const Tensor& got, const Tensor& want) {
  if (got.dtype != want.dtype) {
    return fmt::format("dtype {} != expected {}", dtype_name(got.dtype), dtype_name(want.dtype));
  }
  if (got.shape != want.shape) {
    return fmt::format("shape {} != expected {}", shape_string(got.shape),
                       shape_string(want.shape));
  }
  const bool floating = got.dtype == DType::kFloat || got.dtype == DType::kDouble;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double a = got.as_double(i), b = want.as_double(i);
    bool ok;
    if (!floating) {
      ok = a == b;
    } else if (std::isnan(a) || std::isnan(b)) {
      ok = std::isnan(a) && std::isnan(b);
    } else {
      ok = a == b || std::fabs(a - b) <= 1e-4 + 1e-3 * std::fabs(b);
    }
    if (!ok) {
      return fmt::format("element {} is {} but expected {}\n  got:      {}\n  expected: {}", i, a,
                         b, tensor_summary(got, 16), tensor_summary(want, 16));
    }
  }
  return {};
}

// Runs every test_data_set_* of one node test; returns the failures (empty when it passes).
std::vector<std::string> run_node_test(const fs::path& dir, const onnx::ModelProto& model) {
  std::vector<std::string> failures;
  std::vector<fs::path> sets;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && entry.path().filename().string().starts_with("test_data_set_")) {
      sets.push_back(entry.path());
    }
  }
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) failures.push_back("no test_data_set_* directories");
  const auto inputs = runtime_inputs(model.graph());
  for (const auto& set : sets) {
    const std::string where = set.filename().string();
    TensorMap feeds;
    bool readable = true;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const fs::path file = set / fmt::format("input_{}.pb", k);
      if (!fs::exists(file)) continue;  // an omitted optional input
      auto tensor = read_tensor_file(file.string());
      if (!tensor) {
        failures.push_back(fmt::format("{}: {}", where, tensor.error()));
        readable = false;
        break;
      }
      feeds.emplace(inputs[k]->name(), std::move(tensor->second));
    }
    if (!readable) continue;
    const RunResult result = run_reference(model, feeds);
    if (result.status != RunStatus::kOk) {
      failures.push_back(
          fmt::format("{}: {}: {}", where, run_status_name(result.status), result.message));
      continue;
    }
    for (int k = 0; k < model.graph().output_size(); ++k) {
      const std::string& name = model.graph().output(k).name();
      auto want = read_tensor_file((set / fmt::format("output_{}.pb", k)).string());
      if (!want) {
        failures.push_back(fmt::format("{}: {}", where, want.error()));
        continue;
      }
      auto got = result.outputs.find(name);
      if (got == result.outputs.end()) {
        failures.push_back(fmt::format("{}: output '{}' missing", where, name));
        continue;
      }
      if (auto mismatch = compare(got->second, want->second); !mismatch.empty()) {
        failures.push_back(fmt::format("{}: output '{}': {}", where, name, mismatch));
      }
    }
  }
  return failures;
}

TEST(ReferenceConformance, BackendNodeTests) {
  if (!fs::is_directory(kNodeTestRoot)) {
    FAIL() << "ONNX backend node tests not found at " << kNodeTestRoot
           << "; install them with `apt-get install libonnx-testdata` (CI installs it)";
  }
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(kNodeTestRoot)) {
    if (entry.is_directory()) dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());

  struct Tally {
    int passed = 0, run = 0;
  };
  std::map<std::string, Tally> per_op;
  int cases_run = 0, cases_passed = 0, skipped = 0;
  for (const auto& dir : dirs) {
    const std::string name = dir.filename().string();
    auto model = load_model((dir / "model.onnx").string());
    if (!model) continue;  // e.g. a model with types the bundled protobuf cannot read
    if (!out_of_scope(*model).empty()) continue;
    if (auto skip = kSkipped.find(name); skip != kSkipped.end()) {
      std::printf("skipped %s: %s\n", name.c_str(), skip->second.c_str());
      ++skipped;
      continue;
    }
    const std::vector<std::string> failures = run_node_test(dir, *model);
    const bool passed = failures.empty();
    ++cases_run;
    cases_passed += passed ? 1 : 0;
    std::set<std::string> ops;
    for (const auto& node : model->graph().node()) ops.insert(node.op_type());
    for (const auto& op : ops) {
      ++per_op[op].run;
      per_op[op].passed += passed ? 1 : 0;
    }
    for (const auto& failure : failures) ADD_FAILURE() << name << ": " << failure;
  }

  std::printf("reference conformance: %d/%d node tests passed, %d skipped\n", cases_passed,
              cases_run, skipped);
  for (const auto& [op, tally] : per_op) {
    std::printf("  %-12s %d/%d\n", op.c_str(), tally.passed, tally.run);
  }
  // Every supported op must have been exercised and passed at least once, so this test
  // cannot pass vacuously (e.g. if the filter above wrongly rejected everything).
  for (const auto& op : reference_ops()) {
    EXPECT_GT(per_op[op].passed, 0) << "no passing node test exercises " << op;
  }
}

}  // namespace
}  // namespace onnxfuzz
