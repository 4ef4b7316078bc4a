// Report rendering: what an upstream maintainer needs to reproduce a finding in minutes.
#include "corpus/report.h"

#include <fmt/format.h>
#include <onnx/defs/printer.h>

#include <sstream>

#include "generators/model_io.h"

namespace onnxfuzz {
namespace {

// The ORT session options an execution name stands for.
std::string ort_level(const std::string& execution) {
  return execution == "ort-noopt" ? "ORT_DISABLE_ALL" : "ORT_ENABLE_ALL";
}

std::string what_happened(const CaseRecord& r) {
  switch (r.kind) {
    case VerdictKind::kCrash:
      return "crashes (the process dies)";
    case VerdictKind::kHang:
      return "hangs (does not finish within the time limit)";
    case VerdictKind::kRejection:
      return "rejects or fails to run a valid model";
    case VerdictKind::kShape:
      return "returns an output of the wrong shape or type";
    case VerdictKind::kNumeric:
      return "returns wrong values";
    case VerdictKind::kAcceptedInvalid:
      return "runs a model that breaks an ONNX rule instead of rejecting it";
  }
  return "misbehaves";
}

std::string model_text(const onnx::ModelProto& model) {
  std::ostringstream out;
  out << model.graph();
  std::string text = out.str();
  constexpr size_t kLimit = 12000;  // large initializers: the .onnx file is attached anyway
  if (text.size() > kLimit) text = text.substr(0, kLimit) + "\n... (truncated; see model.onnx)";
  return text;
}

// "float32: atol=0.001 rtol=0.01; int64: exact".
std::string tolerance_text(const CaseRecord& r) {
  std::string out;
  for (const auto& [dtype, tol] : r.tolerances) {
    if (!out.empty()) out += "; ";
    out += tol == Tolerance{} ? fmt::format("{}: exact", dtype_name(dtype))
                              : fmt::format("{}: atol={} rtol={}", dtype_name(dtype), tol.atol,
                                            tol.rtol);
  }
  return out.empty() ? "none recorded" : out;
}

// The Python script's table: numpy dtype name -> (atol, rtol); the table's float names are
// numpy's. Exact dtypes are left out (the script compares them with assert_array_equal).
std::string python_tolerances(const CaseRecord& r) {
  std::string out;
  for (const auto& [dtype, tol] : r.tolerances) {
    if (tol == Tolerance{}) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("\"{}\": ({}, {})", dtype_name(dtype), tol.atol, tol.rtol);
  }
  return "{" + out + "}";
}

bool has_bfloat16_io(const onnx::ModelProto& model) {
  auto is_bf16 = [](const onnx::ValueInfoProto& info) {
    return info.type().tensor_type().elem_type() == static_cast<int32_t>(DType::kBfloat16);
  };
  for (const auto* input : runtime_inputs(model.graph())) {
    if (is_bf16(*input)) return true;
  }
  for (const auto& output : model.graph().output()) {
    if (is_bf16(output)) return true;
  }
  return false;
}

}  // namespace

std::string render_report(const CaseRecord& r, const onnx::ModelProto& model,
                          const TensorMap& inputs, const TensorMap& expected_outputs) {
  std::string out;
  const bool ort = r.execution.rfind("ort", 0) == 0;
  const auto version = r.versions.count(r.execution) ? r.versions.at(r.execution) : "unknown";
  out += fmt::format("# {}: {} on a {}-node model ({})\n\n", version, verdict_kind_name(r.kind),
                     r.nodes_after, fmt::join(r.ops, " -> "));
  out += fmt::format(
      "**Summary.** `{}` {} on the model below. The model passes `onnx.checker.check_model` and "
      "strict shape inference (ONNX 1.12, opset {}). Found by onnxfuzz (a differential "
      "fuzzer) and minimized from {} nodes to {}.\n\n",
      r.execution, what_happened(r), kTargetOpset, r.nodes_before, r.nodes_after);
  out += fmt::format("**Observed:** {}\n\n", r.evidence.empty() ? r.message : r.evidence);
  if (!r.results.empty()) {
    out += "Results of every execution on this model:\n\n";
    for (const auto& line : r.results) out += fmt::format("- {}\n", line);
    out += "\n";
  }
  if (ort) {
    out += fmt::format(
        "Graph optimization level: `{}`, 1 intra-op thread, CPU execution "
        "provider.\n\n",
        ort_level(r.execution));
  }
  out += "## Model (ONNX text format)\n\n```\n" + model_text(model) + "\n```\n\n";
  if (model.graph().initializer_size() > 0) {
    out += "## Initializers\n\n";
    for (const auto& init : model.graph().initializer()) {
      auto tensor = tensor_from_proto(init);
      out += fmt::format("- `{}`: {}\n", init.name(),
                         tensor ? tensor_summary(*tensor, 16) : tensor.error());
    }
    out += "\n";
  }
  out += "## Inputs (test_data_set_0)\n\n";
  for (const auto& [name, tensor] : inputs) {
    out += fmt::format("- `{}`: {}\n", name, tensor_summary(tensor, 6));
  }
  out += "\n## Expected outputs (onnxfuzz reference interpreter, float64 accumulation)\n\n";
  for (const auto& [name, tensor] : expected_outputs) {
    out += fmt::format("- `{}`: {}\n", name, tensor_summary(tensor, 6));
  }
  if (ort) {
    out += R"(
## Reproduce

Files: `model.onnx`, `test_data_set_0/input_*.pb`, `test_data_set_0/output_*.pb` (the ONNX
backend-test layout, so `onnx_test_runner` accepts this directory as is).
)";
    if (has_bfloat16_io(model)) {
      out +=
          "\nThis model has bfloat16 graph inputs or outputs, which cannot be fed or fetched "
          "through onnxruntime's Python API (numpy has no bfloat16 dtype): run the directory with "
          "`onnx_test_runner` instead; the script below is kept for the other dtypes.\n";
    }
    out += fmt::format(R"(
```python
import numpy as np, onnx, onnxruntime as ort
from onnx import numpy_helper

def load(kind, count):  # test_data_set_0/<kind>_<i>.pb, positional
    return [numpy_helper.to_array(onnx.load_tensor(f"test_data_set_0/{{kind}}_{{i}}.pb"))
            for i in range(count)]

# allclose tolerance (atol, rtol) per output dtype; other dtypes must match exactly
tolerance = {}
model = onnx.load("model.onnx")
onnx.checker.check_model(model, full_check=True)
initializers = {{t.name for t in model.graph.initializer}}
names = [i.name for i in model.graph.input if i.name not in initializers]
feeds = dict(zip(names, load("input", len(names))))
expected = load("output", len(model.graph.output))
so = ort.SessionOptions()
so.graph_optimization_level = ort.GraphOptimizationLevel.{}
so.intra_op_num_threads = 1
sess = ort.InferenceSession("model.onnx", so, providers=["CPUExecutionProvider"])
for got, want in zip(sess.run(None, feeds), expected):
    print(got.dtype, got.shape, "expected", want.dtype, want.shape)
    if want.dtype.name in tolerance:
        atol, rtol = tolerance[want.dtype.name]
        # in float64: float16 cannot hold the differences themselves without rounding them
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64),
                                   rtol=rtol, atol=atol)
    else:
        np.testing.assert_array_equal(got, want)
```
)",
                       python_tolerances(r), ort_level(r.execution));
  }
  out += fmt::format(
      "\n## Environment\n\n{}- tool: {}\n- tolerance: {}\n- signature: `{}`\n",
      [&] {
        std::string versions;
        for (const auto& [name, v] : r.versions) versions += fmt::format("- {}: {}\n", name, v);
        return versions;
      }(),
      r.tool_version, tolerance_text(r), r.signature);
  out += fmt::format("\nReplay with onnxfuzz: `onnxfuzz replay <this directory>`.\n");
  return out;
}

}  // namespace onnxfuzz
