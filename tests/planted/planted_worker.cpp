// TEST-ONLY worker with planted faults: the reference interpreter behind the worker protocol.
//
// This binary exists only so that tests (and `onnxfuzz --executions planted`) can check that
// the fuzzer finds, classifies and minimizes bugs it is known to contain. It is never used by
// a campaign unless asked for by name.
//
// Faults, keyed by op type (default domain). Defaults: crash=Sigmoid,hang=Tanh,value=Sqrt,
// shape=Transpose. When ONNXFUZZ_PLANTED is set it replaces the defaults entirely: it lists
// exactly the faults planted, e.g. ONNXFUZZ_PLANTED=crash=Relu,value=Exp; an empty value
// plants none.
//   crash  the model has a node of this op (subgraphs included): SIGSEGV before evaluating
//   hang   the model has a node of this op: sleep until killed
//   value  each graph output that depends on a node of this op: +0.5 on every element of a
//          float dtype (float16 and bfloat16 included, rounded to the dtype)
//   shape  each graph output that depends on a node of this op: extra trailing dim of 1
//   flaky  like crash, but only while the file named by ONNXFUZZ_PLANTED_STATE does not
//          exist; the crash creates it, so a re-run of the same model passes
//   reject the model has a node of this op: a clean error, "planted rejection: <op> is not
//          implemented" (not planted by default)
//   misshape  like shape, and a node that reads a value computed from a node of this op (and is
//          not one itself) fails the run as a kernel's input check would: "<its op>: planted
//          input check: shapes do not match" (the first such node in graph order; not planted by
//          default). One upstream bug, a different error for every consumer.
//   hog    the model has a node of this op: touch memory until the parent's memory limit kills
//          the worker (a model too big for the limit; not planted by default)
//   nudge  each node of this op with a float32 output: that output times (1 + 1e-3), inside
//          the model, so later nodes compute from it. Within float32's tolerance, like a real
//          kernel's rounding: any divergence it causes is one later nodes grow (a comparison
//          that flips, a cancellation), which no node makes (not planted by default)
// An op may be narrowed to one dtype of its first input, OP:DTYPE (e.g. value=Relu:float64): a
// fault only a dtype change reaches, for the mutation tests. Alternatives separated by '/'
// plant the fault in each (value=Sqrt/Exp: two bugs with one message).
//
// A fake optimizer, for testing optimizer attribution: when ONNXFUZZ_PLANTED_OPTIMIZER names one
// (e.g. GemmTransposeFusion), the faults behave as that optimizer's bugs: a run variant
// (kRequestRunVariant) at level "disabled", or with that name among its disabled optimizers,
// runs the plain reference. Without it, run variants fail like runs. "A+B" is a bug that needs
// both optimizers (either one disabled hides it); "A|B" one that either of them makes (hidden
// only with both disabled).
//
// A fake precision policy, for testing the half-precision root cause: with
// ONNXFUZZ_PLANTED_HALF=float32 the worker computes float16 values in float32, rounding only
// the graph outputs.
//
// Fake releases, for testing `onnxfuzz bisect`: the execution `planted@K` starts this worker
// with ONNXFUZZ_PLANTED_VERSION=K. When ONNXFUZZ_PLANTED_VERSIONS lists release ranges
// ("3..5" or "2,4..6"), the faults are planted only in a worker whose release is listed; the
// others are the plain reference.
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "generators/model_io.h"
#include "oracles/reference.h"
#include "oracles/worker_protocol.h"

namespace onnxfuzz {
namespace {

struct PlantedFaults {
  std::string crash;
  std::string hang;
  std::string value;
  std::string shape;
  std::string flaky;
  std::string reject;
  std::string hog;
  std::string misshape;
  std::string nudge;
};

std::optional<PlantedFaults> parse_faults(const char* spec) {
  if (spec == nullptr) return PlantedFaults{"Sigmoid", "Tanh", "Sqrt", "Transpose"};
  PlantedFaults faults;
  std::string_view rest(spec);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = item.substr(0, eq);
    const std::string op(item.substr(eq + 1));
    if (key == "crash") {
      faults.crash = op;
    } else if (key == "hang") {
      faults.hang = op;
    } else if (key == "value") {
      faults.value = op;
    } else if (key == "shape") {
      faults.shape = op;
    } else if (key == "flaky") {
      faults.flaky = op;
    } else if (key == "reject") {
      faults.reject = op;
    } else if (key == "hog") {
      faults.hog = op;
    } else if (key == "misshape") {
      faults.misshape = op;
    } else if (key == "nudge") {
      faults.nudge = op;
    } else {
      return std::nullopt;
    }
  }
  return faults;
}

// Element types of the graph's values (inputs, initializers, inferred value_info, outputs), for
// faults narrowed to a dtype.
std::map<std::string, int32_t> g_elem_types;

void note_elem_types(const onnx::ModelProto& model) {
  g_elem_types.clear();
  onnx::ModelProto inferred = model;
  try {
    onnx::shape_inference::InferShapes(inferred);
  } catch (const std::exception&) {
    // Best effort: an untyped value matches no narrowed fault.
  }
  const auto& graph = inferred.graph();
  auto note = [](const onnx::ValueInfoProto& v) {
    g_elem_types[v.name()] = v.type().tensor_type().elem_type();
  };
  for (const auto& v : graph.input()) note(v);
  for (const auto& v : graph.value_info()) note(v);
  for (const auto& v : graph.output()) note(v);
  for (const auto& t : graph.initializer()) g_elem_types[t.name()] = t.data_type();
}

// Whether `node` is what a fault spec names: "Op", or "Op:dtype" for a first input of that dtype.
bool matches(const onnx::NodeProto& node, const std::string& spec) {
  if (const size_t slash = spec.find('/'); slash != std::string::npos) {
    return matches(node, spec.substr(0, slash)) || matches(node, spec.substr(slash + 1));
  }
  const size_t colon = spec.find(':');
  if (node.op_type() != spec.substr(0, colon)) return false;
  if (colon == std::string::npos) return true;
  if (node.input_size() == 0) return false;
  auto it = g_elem_types.find(node.input(0));
  return it != g_elem_types.end() && dtype_supported(it->second) &&
         dtype_name(static_cast<DType>(it->second)) == spec.substr(colon + 1);
}

bool contains_op(const onnx::GraphProto& graph, const std::string& op) {
  for (const onnx::NodeProto& node : graph.node()) {
    if (matches(node, op)) return true;
    for (const onnx::AttributeProto& attribute : node.attribute()) {
      if (attribute.has_g() && contains_op(attribute.g(), op)) return true;
      for (const onnx::GraphProto& sub : attribute.graphs()) {
        if (contains_op(sub, op)) return true;
      }
    }
  }
  return false;
}

// Names of values computed, directly or transitively, from a node of type `op`. Iterates to
// a fixed point so it does not rely on the node order.
std::set<std::string> tainted_by(const onnx::GraphProto& graph, const std::string& op) {
  std::set<std::string> tainted;
  if (op.empty()) return tainted;
  bool grew = true;
  while (grew) {
    grew = false;
    for (const onnx::NodeProto& node : graph.node()) {
      bool hit = matches(node, op);
      for (const std::string& input : node.input()) hit = hit || tainted.contains(input);
      if (!hit) continue;
      for (const std::string& output : node.output()) {
        if (!output.empty() && tainted.insert(output).second) grew = true;
      }
    }
  }
  return tainted;
}

[[noreturn]] void hog() {
  // Resident memory grows by 64 MB a step until the parent's sampler sees the limit; a step
  // sleeps a little so that the sampler gets to look before the host runs short.
  std::vector<std::unique_ptr<char[]>> blocks;
  constexpr size_t kBlock = 64 << 20;
  const pid_t parent = getppid();
  while (getppid() == parent) {
    blocks.push_back(std::make_unique<char[]>(kBlock));
    std::memset(blocks.back().get(), 1, kBlock);
    usleep(20000);
  }
  std::_Exit(0);
}

[[noreturn]] void hang() {
  // Until killed; also end if the parent vanished, so a killed fuzzer leaves no orphan.
  const pid_t parent = getppid();
  while (getppid() == parent) sleep(1);
  std::_Exit(0);
}

WorkerResponse error_response(std::string message) {
  WorkerResponse response;
  response.status = kResponseError;
  response.text = std::move(message);
  return response;
}

// ONNXFUZZ_PLANTED_HALF=float32: a runtime that computes float16 in float32 and rounds only
// the graph outputs (as ONNX Runtime's CPU provider does for ops without a float16 kernel).
// Enough for the models the tests draw: float16 graph inputs, outputs, initializers and Cast
// targets become float32; no subgraphs, no constant attributes. Written apart from
// widen_half_precision (fuzzer/localize.h) on purpose: the tests check that code against this.
RunResult run_half_as_float32(onnx::ModelProto model, TensorMap inputs) {
  constexpr int32_t kHalf = onnx::TensorProto::FLOAT16;
  constexpr int32_t kSingle = onnx::TensorProto::FLOAT;
  auto to_single = [](const Tensor& t) {
    Tensor out = Tensor::zeros(DType::kFloat, t.shape);
    auto values = out.values<float>();
    for (int64_t i = 0; i < t.numel(); ++i) values[i] = static_cast<float>(t.as_double(i));
    return out;
  };
  onnx::GraphProto& graph = *model.mutable_graph();
  std::set<std::string> half_outputs;
  for (auto& output : *graph.mutable_output()) {
    auto* tensor_type = output.mutable_type()->mutable_tensor_type();
    if (tensor_type->elem_type() == kHalf) half_outputs.insert(output.name());
  }
  for (auto* list : {graph.mutable_input(), graph.mutable_output(), graph.mutable_value_info()}) {
    for (auto& value : *list) {
      auto* tensor_type = value.mutable_type()->mutable_tensor_type();
      if (tensor_type->elem_type() == kHalf) tensor_type->set_elem_type(kSingle);
    }
  }
  for (auto& initializer : *graph.mutable_initializer()) {
    if (initializer.data_type() != kHalf) continue;
    auto read = tensor_from_proto(initializer);
    if (!read) {
      RunResult failed;
      failed.status = RunStatus::kError;
      failed.message = read.error();
      return failed;
    }
    initializer = tensor_to_proto(to_single(*read), initializer.name());
  }
  for (auto& node : *graph.mutable_node()) {
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.name() == "to" && attr.i() == kHalf) attr.set_i(kSingle);
    }
  }
  for (auto& [name, tensor] : inputs) {
    if (tensor.dtype == DType::kFloat16) tensor = to_single(tensor);
  }
  RunResult result = run_reference(model, inputs);
  for (auto& [name, tensor] : result.outputs) {
    if (!half_outputs.contains(name)) continue;
    Tensor rounded = Tensor::zeros(DType::kFloat16, tensor.shape);
    for (int64_t i = 0; i < tensor.numel(); ++i) rounded.set_double(i, tensor.as_double(i));
    tensor = std::move(rounded);
  }
  return result;
}

// The nudge fault: after each node `spec` names whose output is float32, a Mul by 1 + 1e-3
// that takes over the output's name, so every consumer (and the graph output) reads the nudged
// value. Inserted right after the node, which keeps the graph's topological order.
void plant_nudges(onnx::ModelProto& model, const std::string& spec) {
  if (spec.empty()) return;
  onnx::GraphProto* graph = model.mutable_graph();
  const auto nodes = graph->node();
  graph->clear_node();
  int planted = 0;
  for (const onnx::NodeProto& node : nodes) {
    onnx::NodeProto* copy = graph->add_node();
    *copy = node;
    if (!matches(node, spec) || node.output_size() == 0) continue;
    const std::string out = node.output(0);
    auto type = g_elem_types.find(out);
    if (out.empty() || type == g_elem_types.end() || type->second != onnx::TensorProto::FLOAT)
      continue;
    const std::string raw = out + "__planted_raw";
    const std::string factor = "planted_nudge_" + std::to_string(planted++);
    copy->set_output(0, raw);
    onnx::NodeProto* nudge = graph->add_node();
    nudge->set_op_type("Mul");
    nudge->set_name(factor + "_Mul");
    nudge->add_input(raw);
    nudge->add_input(factor);
    nudge->add_output(out);
    const float value = 1.001f;
    *graph->add_initializer() = tensor_to_proto(Tensor::of_floats({}, {&value, 1}), factor);
  }
}

WorkerResponse run(const WorkerRequest& request, const PlantedFaults& faults) {
  auto model = parse_model(request.model_bytes);
  if (!model) return error_response(model.error());
  note_elem_types(*model);
  plant_nudges(*model, faults.nudge);
  const onnx::GraphProto& graph = model->graph();

  if (!faults.flaky.empty() && contains_op(graph, faults.flaky)) {
    const char* state = std::getenv("ONNXFUZZ_PLANTED_STATE");
    if (state != nullptr && ::access(state, F_OK) != 0) {
      if (FILE* marker = std::fopen(state, "w")) std::fclose(marker);
      ::raise(SIGSEGV);
    }
  }
  if (!faults.crash.empty() && contains_op(graph, faults.crash)) {
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
  }
  if (!faults.hang.empty() && contains_op(graph, faults.hang)) hang();
  if (!faults.hog.empty() && contains_op(graph, faults.hog)) hog();
  if (!faults.reject.empty() && contains_op(graph, faults.reject)) {
    return error_response("planted rejection: " + faults.reject + " is not implemented");
  }

  TensorMap inputs;
  for (const NamedTensor& input : request.inputs) inputs[input.name] = input.value;
  const char* half = std::getenv("ONNXFUZZ_PLANTED_HALF");
  RunResult result = half != nullptr && std::string_view(half) == "float32"
                         ? run_half_as_float32(*model, inputs)
                         : run_reference(*model, inputs);
  if (result.status != RunStatus::kOk) return error_response(result.message);

  const std::set<std::string> wrong_values = tainted_by(graph, faults.value);
  std::set<std::string> wrong_shapes = tainted_by(graph, faults.shape);
  const std::set<std::string> misshapen = tainted_by(graph, faults.misshape);
  for (const onnx::NodeProto& node : graph.node()) {
    if (matches(node, faults.misshape)) continue;
    for (const std::string& input : node.input()) {
      if (misshapen.contains(input)) {
        return error_response(node.op_type() + ": planted input check: shapes do not match");
      }
    }
  }
  wrong_shapes.insert(misshapen.begin(), misshapen.end());
  WorkerResponse response;
  for (const onnx::ValueInfoProto& output : graph.output()) {
    auto found = result.outputs.find(output.name());
    if (found == result.outputs.end()) {
      return error_response("reference produced no value for output '" + output.name() + "'");
    }
    Tensor value = found->second;
    if (wrong_values.contains(output.name())) {
      if (is_float(value.dtype)) {
        for (int64_t i = 0; i < value.numel(); ++i) value.set_double(i, value.as_double(i) + 0.5);
      }
    }
    if (wrong_shapes.contains(output.name())) value.shape.push_back(1);
    response.outputs.push_back({output.name(), std::move(value)});
  }
  return response;
}

// Whether a run variant turns the planted faults off (see ONNXFUZZ_PLANTED_OPTIMIZER).
bool variant_disables_faults(const RunVariant& variant) {
  const char* optimizer = std::getenv("ONNXFUZZ_PLANTED_OPTIMIZER");
  if (optimizer == nullptr || *optimizer == '\0') return false;
  if (variant.level == "disabled") return true;
  const std::string_view spec(optimizer);
  const bool any_one = spec.find('|') != std::string_view::npos;
  const char separator = any_one ? '|' : '+';
  size_t disabled = 0, named = 0;
  for (size_t start = 0; start <= spec.size();) {
    const size_t end = std::min(spec.find(separator, start), spec.size());
    const std::string name(spec.substr(start, end - start));
    ++named;
    disabled += std::find(variant.disable.begin(), variant.disable.end(), name) !=
                variant.disable.end();
    start = end + 1;
  }
  // A+B: the bug needs both rewrites, so disabling either one hides it. A|B: either rewrite
  // makes it, so it hides only when both are disabled.
  return any_one ? disabled == named : disabled > 0;
}

int serve(const PlantedFaults& faults) {
  while (true) {
    auto frame = read_frame(STDIN_FILENO);
    if (!frame) return 0;  // the parent closed our stdin: done
    bool faults_off = false;
    uint32_t kind = 0;
    if (frame->size() >= sizeof(kind)) std::memcpy(&kind, frame->data(), sizeof(kind));
    if (kind == kRequestRunVariant) {
      // The same run, behind its variant: the run payload after a run request's kind.
      auto variant = decode_run_variant(std::string_view(*frame).substr(sizeof(kind)));
      if (!variant) {
        if (!write_frame(STDOUT_FILENO, encode_response(error_response(variant.error())))) return 1;
        continue;
      }
      faults_off = variant_disables_faults(variant->first);
      std::string run(sizeof(kind), '\0');
      std::memcpy(run.data(), &kRequestRun, sizeof(kind));
      *frame = run + variant->second;
    }
    auto request = decode_request(*frame);
    WorkerResponse response;
    if (!request) {
      response = error_response("bad request: " + request.error());
    } else if (request->kind == kRequestVersion) {
      const char* release = std::getenv("ONNXFUZZ_PLANTED_VERSION");
      response.text = release != nullptr ? std::string("planted-faults release ") + release
                                         : std::string("planted-faults 1");
    } else if (request->kind == kRequestDtypes) {
      // The reference behind it holds every dtype of the table.
      response.text = encode_carried_dtypes(all_dtypes_carried());
    } else {
      response = run(*request, faults_off ? PlantedFaults{} : faults);
    }
    if (!write_frame(STDOUT_FILENO, encode_response(response))) return 1;
  }
}

// Whether release `version` is in `ranges` ("3..5", "2,4..6"); nullopt when malformed.
std::optional<bool> release_listed(long version, std::string_view ranges) {
  bool listed = false;
  while (!ranges.empty()) {
    const size_t comma = ranges.find(',');
    const std::string item(ranges.substr(0, comma));
    ranges = comma == std::string_view::npos ? std::string_view() : ranges.substr(comma + 1);
    long first = 0;
    long last = 0;
    int used = 0;
    const bool range = std::sscanf(item.c_str(), "%ld..%ld%n", &first, &last, &used) == 2 &&
                       used == static_cast<int>(item.size());
    if (!range) {
      used = 0;
      const bool single = std::sscanf(item.c_str(), "%ld%n", &first, &used) == 1 &&
                          used == static_cast<int>(item.size());
      if (!single) return std::nullopt;
      last = first;
    }
    listed = listed || (first <= version && version <= last);
  }
  return listed;
}

}  // namespace
}  // namespace onnxfuzz

int main() {
  auto faults = onnxfuzz::parse_faults(std::getenv("ONNXFUZZ_PLANTED"));
  if (!faults) {
    std::fprintf(stderr,
                 "onnxfuzz_planted_worker: bad ONNXFUZZ_PLANTED (want e.g. "
                 "crash=Sigmoid,hang=Tanh,value=Sqrt,shape=Transpose)\n");
    return 2;
  }
  const char* version = std::getenv("ONNXFUZZ_PLANTED_VERSION");
  const char* versions = std::getenv("ONNXFUZZ_PLANTED_VERSIONS");
  if (version != nullptr && versions != nullptr) {
    const auto listed = onnxfuzz::release_listed(std::atol(version), versions);
    if (!listed) {
      std::fprintf(stderr,
                   "onnxfuzz_planted_worker: bad ONNXFUZZ_PLANTED_VERSIONS (want e.g. 3..5 or "
                   "2,4..6)\n");
      return 2;
    }
    if (!*listed) *faults = onnxfuzz::PlantedFaults{};
  }
  return onnxfuzz::serve(*faults);
}
