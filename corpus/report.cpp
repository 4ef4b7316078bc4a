// Report rendering: what an upstream maintainer needs to reproduce a finding in minutes.
#include "corpus/report.h"

#include <fmt/format.h>
#include <onnx/defs/printer.h>

#include <cctype>
#include <sstream>

#include "generators/model_io.h"

namespace onnxfuzz {
namespace {

// The Python API's spelling of an execution's graph optimization level.
std::string ort_level(const std::string& execution) {
  const std::string level = ort_node_level(execution);
  if (level == "disabled") return "ORT_DISABLE_ALL";
  if (level == "basic") return "ORT_ENABLE_BASIC";
  if (level == "extended") return "ORT_ENABLE_EXTENDED";
  return "ORT_ENABLE_ALL";
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
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

// The tolerance table of repro.mjs: {"float32": [atol, rtol], ...}; exact dtypes left out.
std::string js_tolerances(const CaseRecord& r) {
  std::string out;
  for (const auto& [dtype, tol] : r.tolerances) {
    if (tol == Tolerance{}) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("\"{}\": [{}, {}]", dtype_name(dtype), tol.atol, tol.rtol);
  }
  return "{" + out + "}";
}

// Findings whose reproduction is an error rather than wrong outputs.
bool expects_error(VerdictKind kind) {
  return kind == VerdictKind::kRejection || kind == VerdictKind::kCrash ||
         kind == VerdictKind::kHang;
}

// repro.mjs, with @LEVEL@, @TOLERANCE@, @EXPECT@, @EXECUTION@ and @VERSION@ filled in.
constexpr std::string_view kReproMjs = R"JS(// Reproducer for an onnxfuzz finding (@EXECUTION@, @VERSION@), for onnxruntime-node.
// Run it in the case directory:  npm install onnxruntime-node && node repro.mjs
// It reads model.onnx and test_data_set_0/{input,output}_<i>.pb (ONNX TensorProto files),
// runs the model on the CPU execution provider with graphOptimizationLevel '@LEVEL@' and one
// thread, and compares every output with the expected one (the reference's).
// Exit 1: the finding reproduces; 0: it does not; 2: it fails another way.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const here = dirname(fileURLToPath(import.meta.url));
const LEVEL = '@LEVEL@';
const TOLERANCE = @TOLERANCE@;  // dtype -> [atol, rtol]: |got - want| <= atol + rtol * |want|
const EXPECT = '@EXPECT@';  // 'outputs': wrong outputs reproduce it; 'error': an error does

// ONNX element types: [onnxruntime-node type, typed array]. bfloat16 has no JS tensor type.
const TYPES = {
  1: ['float32', Float32Array], 2: ['uint8', Uint8Array], 3: ['int8', Int8Array],
  4: ['uint16', Uint16Array], 5: ['int16', Int16Array], 6: ['int32', Int32Array],
  7: ['int64', BigInt64Array], 9: ['bool', Uint8Array], 10: ['float16', Uint16Array],
  11: ['float64', Float64Array], 12: ['uint32', Uint32Array], 13: ['uint64', BigUint64Array],
};

// A protobuf varint at pos.i, as a BigInt.
function varint(buf, pos) {
  let value = 0n;
  for (let shift = 0n; ; shift += 7n) {
    const byte = buf[pos.i++];
    value |= BigInt(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return value;
  }
}

// onnx.TensorProto: dims (1), data_type (2), float_data (4), int32_data (5), int64_data (7),
// name (8), raw_data (9), double_data (10), uint64_data (11); packed or not.
function decodeTensor(buf) {
  const t = { dims: [], type: 0, name: '', raw: null, values: [] };
  const pos = { i: 0 };
  const number = (field, v) => {
    if (field === 1) t.dims.push(Number(v));
    else if (field === 2) t.type = Number(v);
    else if (field === 5) t.values.push(Number(BigInt.asIntN(32, v)));
    else if (field === 7) t.values.push(BigInt.asIntN(64, v));
    else if (field === 11) t.values.push(v);
  };
  while (pos.i < buf.length) {
    const key = Number(varint(buf, pos));
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) {
      number(field, varint(buf, pos));
    } else if (wire === 1) {
      if (field === 10) t.values.push(buf.readDoubleLE(pos.i));
      pos.i += 8;
    } else if (wire === 5) {
      if (field === 4) t.values.push(buf.readFloatLE(pos.i));
      pos.i += 4;
    } else if (wire === 2) {
      const length = Number(varint(buf, pos));
      const bytes = buf.subarray(pos.i, pos.i + length);
      pos.i += length;
      if (field === 8) t.name = bytes.toString('utf8');
      else if (field === 9) t.raw = new Uint8Array(bytes);  // a copy, aligned
      else if (field === 4) for (let j = 0; j < length; j += 4) t.values.push(bytes.readFloatLE(j));
      else if (field === 10) for (let j = 0; j < length; j += 8) t.values.push(bytes.readDoubleLE(j));
      else if ([1, 5, 7, 11].includes(field)) {
        const inner = { i: 0 };
        while (inner.i < bytes.length) number(field, varint(bytes, inner));
      }
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
  const entry = TYPES[t.type];
  if (!entry) throw new Error(`tensor '${t.name}': ONNX element type ${t.type} has no onnxruntime-node type`);
  const [type, Array_] = entry;
  const count = t.dims.reduce((a, b) => a * b, 1);
  const data = t.raw ? new Array_(t.raw.buffer, 0, count) : Array_.from(t.values);
  return { name: t.name, tensor: new ort.Tensor(type, data, t.dims) };
}

function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function numbers(tensor) {
  const data = Array.from(tensor.data, Number);
  return tensor.type === 'float16' && tensor.data instanceof Uint16Array ? data.map(halfToFloat) : data;
}

function load(kind) {
  const tensors = [];
  for (let i = 0; existsSync(join(here, 'test_data_set_0', `${kind}_${i}.pb`)); ++i) {
    tensors.push(decodeTensor(readFileSync(join(here, 'test_data_set_0', `${kind}_${i}.pb`))));
  }
  return tensors;
}

// Compares one output; returns a line of text and whether it matches.
function compare(name, got, want) {
  if (got.type !== want.type || got.dims.join() !== want.dims.join()) {
    return [`${name}: got ${got.type}[${got.dims}], expected ${want.type}[${want.dims}]`, false];
  }
  const [atol, rtol] = TOLERANCE[want.type] ?? [0, 0];
  const g = numbers(got);
  const w = numbers(want);
  let maxAbs = 0, maxRel = 0, bad = 0, worst = -1;
  for (let i = 0; i < w.length; ++i) {
    if (!Number.isFinite(w[i]) || !Number.isFinite(g[i])) {
      if (!(Object.is(w[i], g[i]) || (Number.isNaN(w[i]) && Number.isNaN(g[i])))) { ++bad; worst = i; }
      continue;
    }
    const err = Math.abs(g[i] - w[i]);
    if (err > maxAbs) maxAbs = err;
    if (w[i] !== 0) maxRel = Math.max(maxRel, err / Math.abs(w[i]));
    if (err > atol + rtol * Math.abs(w[i])) { if (worst < 0 || err >= Math.abs(g[worst] - w[worst])) worst = i; ++bad; }
  }
  let line = `${name}: ${got.type}[${got.dims}] max abs error ${maxAbs.toPrecision(6)}, max rel error ` +
      `${maxRel.toPrecision(6)}, ${bad} of ${w.length} elements outside atol=${atol} rtol=${rtol}`;
  if (worst >= 0) line += `; at flat index ${worst}: got ${g[worst]}, expected ${w[worst]}`;
  return [line, bad === 0];
}

const inputs = load('input');
const expected = load('output');
let outputs;
try {
  const session = await ort.InferenceSession.create(join(here, 'model.onnx'), {
    executionProviders: ['cpu'], graphOptimizationLevel: LEVEL, intraOpNumThreads: 1,
    interOpNumThreads: 1, executionMode: 'sequential',
  });
  const feeds = {};
  session.inputNames.forEach((name, i) => {
    const byName = inputs.find((t) => t.name === name);
    feeds[name] = (byName ?? inputs[i]).tensor;
  });
  const results = await session.run(feeds);
  outputs = session.outputNames.map((name) => [name, results[name]]);
} catch (error) {
  console.log(`onnxruntime-node ${ort.env.versions?.common ?? ''} failed: ${error.message}`);
  console.log(EXPECT === 'error' ? 'REPRODUCED: the model fails to run' : 'fails another way');
  process.exit(EXPECT === 'error' ? 1 : 2);
}
let same = true;
outputs.forEach(([name, got], i) => {
  const [line, ok] = compare(name, got, expected[i].tensor);
  console.log(`${ok ? 'ok  ' : 'DIFF'} ${line}`);
  same &&= ok;
});
if (EXPECT === 'error') {
  console.log('not reproduced: the model runs');
  process.exit(0);
}
console.log(same ? 'not reproduced: every output matches the expected one'
                 : 'REPRODUCED: some output differs from the expected one');
process.exit(same ? 0 : 1);
)JS";

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// "onnxruntime-web 1.30.0 (wasm)" -> "1.30.0"; "latest" when no version is in it.
std::string package_version(const std::string& version) {
  std::istringstream words(version);
  for (std::string word; words >> word;) {
    if (!word.empty() && std::isdigit(static_cast<unsigned char>(word[0])) &&
        word.find('.') != std::string::npos) {
      return word;
    }
  }
  return "latest";
}

std::string platform_name(const std::string& os) {
  if (os.find("Linux") != std::string::npos || os.empty()) return "Linux";
  return os;
}

}  // namespace

std::string ort_node_level(const std::string& execution) {
  if (execution == "ort-noopt" || ends_with(execution, "-noopt")) return "disabled";
  if (ends_with(execution, "-basic")) return "basic";
  if (ends_with(execution, "-extended")) return "extended";
  return "all";
}

bool writes_repro_files(const CaseRecord& r) { return r.execution.rfind("ort", 0) == 0; }

std::string render_repro_mjs(const CaseRecord& r) {
  std::string script(kReproMjs);
  const auto version = r.versions.count(r.execution) ? r.versions.at(r.execution) : "unknown";
  replace_all(script, "@LEVEL@", ort_node_level(r.execution));
  replace_all(script, "@TOLERANCE@", js_tolerances(r));
  replace_all(script, "@EXPECT@", expects_error(r.kind) ? "error" : "outputs");
  replace_all(script, "@EXECUTION@", r.execution);
  replace_all(script, "@VERSION@", version);
  return script;
}

std::string render_repro_py(const CaseRecord& r) {
  return fmt::format(R"(# Reproducer for an onnxfuzz finding ({}), for onnxruntime's Python API.
# NOT RUN HERE: onnxfuzz runs repro.mjs (onnxruntime-node); this script is its Python twin.
# pip install onnx onnxruntime numpy && python repro.py   (in the case directory)
# Exit 1: some output differs from the expected one (the finding reproduces); 0: all match.
import sys
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
reproduced = False
for got, want in zip(sess.run(None, feeds), expected):
    print(got.dtype, got.shape, "expected", want.dtype, want.shape)
    try:
        if want.dtype.name in tolerance:
            atol, rtol = tolerance[want.dtype.name]
            # in float64: float16 cannot hold the differences themselves without rounding them
            np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64),
                                       rtol=rtol, atol=atol)
        else:
            np.testing.assert_array_equal(got, want)
    except AssertionError as error:
        print(error)
        reproduced = True
sys.exit(1 if reproduced else 0)
)",
                     r.execution, python_tolerances(r), ort_level(r.execution));
}

std::string render_report(const CaseRecord& r, const onnx::ModelProto& model,
                          const TensorMap& inputs, const TensorMap& expected_outputs) {
  ReportExtras extras;
  extras.repro_files = writes_repro_files(r);  // write_case puts them next to report.md
  return render_report(r, model, inputs, expected_outputs, extras);
}

std::string render_report(const CaseRecord& r, const onnx::ModelProto& model,
                          const TensorMap& inputs, const TensorMap& expected_outputs,
                          const ReportExtras& extras) {
  std::string out;
  const bool ort = r.execution.rfind("ort", 0) == 0;
  const auto version = r.versions.count(r.execution) ? r.versions.at(r.execution) : "unknown";
  out += fmt::format("# {}: {} on a {}-node model ({})\n\n", version, verdict_kind_name(r.kind),
                     r.nodes_after, fmt::join(r.ops, " -> "));
  out += fmt::format("**Summary.** `{}` {} on a {}-node model ({}).\n\n", r.execution,
                     what_happened(r), r.nodes_after, fmt::join(r.ops, " -> "));

  out += "### Describe the issue\n\n";
  out += fmt::format(
      "`{}` {} on the model below. The model passes `onnx.checker.check_model` and strict "
      "shape inference (ONNX 1.12, opset {}). Found by onnxfuzz (a differential fuzzer) and "
      "minimized from {} nodes to {}.\n\n",
      r.execution, what_happened(r), kTargetOpset, r.nodes_before, r.nodes_after);
  out += fmt::format("**Observed:** {}\n\n", r.evidence.empty() ? r.message : r.evidence);
  if (!r.results.empty()) {
    out += "Results of every execution on this model (as stored):\n\n";
    for (const auto& line : r.results) out += fmt::format("- {}\n", line);
    out += "\n";
  }
  if (ort) {
    out += fmt::format(
        "Graph optimization level: `{}` (`graphOptimizationLevel: '{}'`), 1 intra-op thread, "
        "CPU execution provider.\n\n",
        ort_level(r.execution), ort_node_level(r.execution));
  }
  out += extras.comparison;
  out += extras.localization;
  out += extras.bisect;

  out += "### To reproduce\n\n";
  out +=
      "Files: `model.onnx`, `test_data_set_0/input_*.pb`, `test_data_set_0/output_*.pb` (the "
      "ONNX backend-test layout, so `onnx_test_runner` accepts this directory as is).\n\n";
  if (extras.repro_files) {
    out += fmt::format(
        "In the case directory, `npm install onnxruntime-node@{} && node repro.mjs` runs the "
        "model on onnxruntime-node and compares each output with the expected one: exit 1 when "
        "the finding reproduces, 0 when it does not. `repro.py` does the same with the Python "
        "API (onnx, onnxruntime, numpy); it is not run here.\n\n",
        package_version(version));
    if (r.execution.rfind("ort-web", 0) == 0) {
      out += "`repro.mjs` runs onnxruntime-node, the native build of the same release; a fault "
             "of the WebAssembly build alone shows with onnxruntime-web's wasm backend.\n\n";
    }
  }
  out += "#### Model (ONNX text format)\n\n```\n" + model_text(model) + "\n```\n\n";
  if (model.graph().initializer_size() > 0) {
    out += "#### Initializers\n\n";
    for (const auto& init : model.graph().initializer()) {
      auto tensor = tensor_from_proto(init);
      out += fmt::format("- `{}`: {}\n", init.name(),
                         tensor ? tensor_summary(*tensor, 16) : tensor.error());
    }
    out += "\n";
  }
  out += "#### Inputs (test_data_set_0)\n\n";
  for (const auto& [name, tensor] : inputs) {
    out += fmt::format("- `{}`: {}\n", name, tensor_summary(tensor, 6));
  }
  out += "\n#### Expected outputs (onnxfuzz reference interpreter, float64 accumulation)\n\n";
  for (const auto& [name, tensor] : expected_outputs) {
    out += fmt::format("- `{}`: {}\n", name, tensor_summary(tensor, 6));
  }
  if (ort) {
    if (has_bfloat16_io(model)) {
      out +=
          "\nThis model has bfloat16 graph inputs or outputs, which cannot be fed or fetched "
          "through onnxruntime's Python API (numpy has no bfloat16 dtype) nor onnxruntime-node: "
          "run the directory with `onnx_test_runner` instead.\n";
    }
    out += "\n#### Python (repro.py; not run here)\n\n```python\n" + render_repro_py(r) + "```\n";
  }
  const bool web = r.execution.rfind("ort-web", 0) == 0;
  out += fmt::format(
      "\n### Urgency\n\nNone known: found by a fuzzer, not in a production model.\n\n"
      "### Platform\n\n{}\n\n### OS Version\n\n{}\n\n"
      "### ONNX Runtime Installation\n\nReleased Package (npm `{}`)\n\n"
      "### ONNX Runtime Version or Commit ID\n\n{}\n\n"
      "### ONNX Runtime API\n\nJavaScript (Node.js, {})\n\n"
      "### Architecture\n\n{}\n\n### Execution Provider\n\n{}\n\n"
      "### Execution Provider Library Version\n\nN/A\n\n",
      platform_name(extras.os), extras.os.empty() ? "Linux" : extras.os,
      web ? "onnxruntime-web" : "onnxruntime-node", version,
      web ? "`onnxruntime-web`, wasm backend" : "`onnxruntime-node`",
      extras.architecture == "x86_64" || extras.architecture.empty() ? "X64"
                                                                     : extras.architecture,
      web ? "'wasm'/'cpu' (WebAssembly CPU)" : "Default CPU");
  out += fmt::format(
      "## Environment\n\n{}- tool: {}\n- tolerance: {}\n- signature: `{}`\n",
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
