// Conformance of the reference interpreter against the ONNX backend node tests (libonnx-testdata),
// with a report of every node test of a known op: pass, fail or unsupported, and why.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/defs/schema.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

// Node tests that fail for a known, accepted reason, with that reason. Keep tiny: every other
// failure fails this test.
const std::map<std::string, std::string> kExpectedFailures = {
    // ONNX 1.12's data for these declares input 'like' as [3,4] but stores a [1] tensor.
    {"test_castlike_BFLOAT16_to_FLOAT", "test data: 'like' shape differs from its declaration"},
    {"test_castlike_BFLOAT16_to_FLOAT_expanded",
     "test data: 'like' shape differs from its declaration"},
    {"test_castlike_FLOAT_to_BFLOAT16", "test data: 'like' shape differs from its declaration"},
    {"test_castlike_FLOAT_to_BFLOAT16_expanded",
     "test data: 'like' shape differs from its declaration"},
};

int default_opset(const onnx::ModelProto& model) {
  for (const auto& import : model.opset_import()) {
    if (import.domain().empty() || import.domain() == "ai.onnx") {
      return static_cast<int>(import.version());
    }
  }
  return -1;
}

// Whether every node is a default-domain op the reference has some kernel for.
bool ops_known(const onnx::ModelProto& model) {
  for (const auto& node : model.graph().node()) {
    if (!node.domain().empty() && node.domain() != "ai.onnx") return false;
    if (!std::ranges::binary_search(reference_ops(), node.op_type())) return false;
  }
  return true;
}

// Why the reference cannot run this model (an op version without a kernel, an element type
// onnxfuzz cannot hold), or "" when it can.
std::string unsupported_reason(const onnx::ModelProto& model) {
  const int opset = default_opset(model);
  for (const auto& node : model.graph().node()) {
    if (!reference_supports(node.op_type(), opset)) {
      const auto* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset, "");
      return schema == nullptr ? fmt::format("no {} at opset {}", node.op_type(), opset)
                               : fmt::format("no kernel for {}-{} (opset {})", node.op_type(),
                                             schema->since_version(), opset);
    }
  }
  auto elem_type = [](const onnx::ValueInfoProto& v) {
    return v.type().has_tensor_type() ? v.type().tensor_type().elem_type() : -1;
  };
  auto type_name = [](int32_t t) {
    return t < 0 ? std::string("non-tensor (sequence or optional)")
                 : onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(t));
  };
  for (const auto& v : model.graph().input()) {
    if (!dtype_supported(elem_type(v))) {
      return fmt::format("dtype {} of input '{}'", type_name(elem_type(v)), v.name());
    }
  }
  for (const auto& v : model.graph().output()) {
    if (!dtype_supported(elem_type(v))) {
      return fmt::format("dtype {} of output '{}'", type_name(elem_type(v)), v.name());
    }
  }
  for (const auto& t : model.graph().initializer()) {
    if (!dtype_supported(t.data_type())) {
      return fmt::format("dtype {} of initializer '{}'", type_name(t.data_type()), t.name());
    }
  }
  return {};
}

// Mismatch description, or "" when `got` matches `want`: same dtype and shape; float32/64
// within 1e-4 + 1e-3*|want|, float16 and bfloat16 within about two of their steps (numpy may
// round at other points than our one rounding per op), NaN in the same places; the rest exact.
std::string compare(const Tensor& got, const Tensor& want) {
  if (got.dtype != want.dtype) {
    return fmt::format("dtype {} != expected {}", dtype_name(got.dtype), dtype_name(want.dtype));
  }
  if (got.shape != want.shape) {
    return fmt::format("shape {} != expected {}", shape_string(got.shape),
                       shape_string(want.shape));
  }
  const bool floating = is_float(got.dtype);
  double atol = 1e-4, rtol = 1e-3;
  if (got.dtype == DType::kFloat16) atol = 1e-3, rtol = 2e-3;
  if (got.dtype == DType::kBfloat16) atol = 1e-2, rtol = 1.6e-2;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double a = got.as_double(i), b = want.as_double(i);
    bool ok;
    if (!floating) {
      ok = a == b;
    } else if (std::isnan(a) || std::isnan(b)) {
      ok = std::isnan(a) && std::isnan(b);
    } else {
      ok = a == b || std::fabs(a - b) <= atol + rtol * std::fabs(b);
    }
    if (!ok) {
      return fmt::format("element {} is {} but expected {}\n  got:      {}\n  expected: {}", i, a,
                         b, tensor_summary(got, 16), tensor_summary(want, 16));
    }
  }
  return {};
}

// ONNX 1.12's test data stores bfloat16 tensors as uint16 arrays of the same bits (numpy has no
// bfloat16; the cast and castlike bfloat16 tests): read them as the dtype the model declares.
Tensor as_declared(Tensor t, const onnx::ValueInfoProto& info) {
  if (t.dtype == DType::kUint16 &&
      info.type().tensor_type().elem_type() == onnx::TensorProto::BFLOAT16) {
    t.dtype = DType::kBfloat16;
  }
  return t;
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
      feeds.emplace(inputs[k]->name(), as_declared(std::move(tensor->second), *inputs[k]));
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
      const Tensor expected = as_declared(std::move(want->second), model.graph().output(k));
      if (auto mismatch = compare(got->second, expected); !mismatch.empty()) {
        failures.push_back(fmt::format("{}: output '{}': {}", where, name, mismatch));
      }
    }
  }
  return failures;
}

// One node test's outcome, for the report.
struct Outcome {
  std::string test;
  std::vector<std::string> kernels;  // "Softmax-13" per distinct op, or the op when none serves
  std::string status;                // pass, fail, expected-fail, unsupported
  std::string detail;
};

std::string report_path() {
  if (const char* path = std::getenv("ONNXFUZZ_CONFORMANCE_REPORT")) return path;
  return (fs::current_path() / "reference_conformance.md").string();
}

void write_report(const std::string& path, const std::vector<Outcome>& outcomes,
                  const std::map<std::string, std::map<std::string, int>>& per_op) {
  std::ofstream out(path);
  out << "# Reference conformance on the ONNX backend node tests\n\n"
      << "Every node test in " << kNodeTestRoot << " whose ops all have a reference kernel for "
      << "some version. Written by tests/reference_conformance_test.cpp.\n\n"
      << "| op | pass | fail | unsupported |\n|---|---|---|---|\n";
  for (const auto& [op, counts] : per_op) {
    auto count = [&](const char* s) { return counts.contains(s) ? counts.at(s) : 0; };
    out << "| " << op << " | " << count("pass") << " | " << count("fail") + count("expected-fail")
        << " | " << count("unsupported") << " |\n";
  }
  out << "\n| node test | kernels | status | detail |\n|---|---|---|---|\n";
  for (const Outcome& o : outcomes) {
    std::string kernels, detail = o.detail;
    for (const auto& k : o.kernels) kernels += (kernels.empty() ? "" : ", ") + k;
    std::replace(detail.begin(), detail.end(), '\n', ' ');
    std::replace(detail.begin(), detail.end(), '|', '/');
    out << "| " << o.test << " | " << kernels << " | " << o.status << " | " << detail << " |\n";
  }
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

  std::vector<Outcome> outcomes;
  std::map<std::string, std::map<std::string, int>> per_op;  // op -> status -> count
  std::map<std::string, int> totals;
  int unreadable = 0;
  for (const auto& dir : dirs) {
    const std::string name = dir.filename().string();
    auto model = load_model((dir / "model.onnx").string());
    if (!model) {
      ++unreadable;  // e.g. a model with types the bundled protobuf cannot read
      continue;
    }
    if (!ops_known(*model)) continue;
    Outcome outcome{name, {}, "pass", ""};
    const int opset = default_opset(*model);
    std::set<std::string> ops;
    for (const auto& node : model->graph().node()) ops.insert(node.op_type());
    for (const auto& op : ops) {
      const auto kernel = reference_kernel_for(op, opset);
      outcome.kernels.push_back(kernel ? fmt::format("{}-{}", op, kernel->since_version) : op);
    }
    if (std::string why = unsupported_reason(*model); !why.empty()) {
      outcome.status = "unsupported";
      outcome.detail = std::move(why);
    } else if (auto failures = run_node_test(dir, *model); !failures.empty()) {
      outcome.detail = failures.front();
      if (failures.size() > 1) outcome.detail += fmt::format(" (+{} more)", failures.size() - 1);
      if (auto expected = kExpectedFailures.find(name); expected != kExpectedFailures.end()) {
        outcome.status = "expected-fail";
        outcome.detail = expected->second + "; " + outcome.detail;
      } else {
        outcome.status = "fail";
        for (const auto& failure : failures) ADD_FAILURE() << name << ": " << failure;
      }
    } else if (kExpectedFailures.contains(name)) {
      ADD_FAILURE() << name << " passes: remove it from kExpectedFailures";
    }
    ++totals[outcome.status];
    for (const auto& op : ops) ++per_op[op][outcome.status];
    outcomes.push_back(std::move(outcome));
  }

  const std::string path = report_path();
  write_report(path, outcomes, per_op);
  std::printf(
      "reference conformance: %d pass, %d fail, %d expected-fail, %d unsupported "
      "(%d models unreadable)\nreport: %s\n",
      totals["pass"], totals["fail"], totals["expected-fail"], totals["unsupported"], unreadable,
      path.c_str());
  std::printf("  %-12s %5s %5s %12s\n", "op", "pass", "fail", "unsupported");
  for (const auto& [op, counts] : per_op) {
    auto count = [&](const char* s) { return counts.contains(s) ? counts.at(s) : 0; };
    std::printf("  %-12s %5d %5d %12d\n", op.c_str(), count("pass"),
                count("fail") + count("expected-fail"), count("unsupported"));
  }
  // Every supported op must have been exercised and passed at least once, so this test
  // cannot pass vacuously (e.g. if the filter above wrongly rejected everything).
  for (const auto& op : reference_ops()) {
    EXPECT_GT(per_op[op]["pass"], 0) << "no passing node test exercises " << op;
  }
}

}  // namespace
}  // namespace onnxfuzz
