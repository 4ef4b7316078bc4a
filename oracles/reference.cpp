// Reference interpreter: walks the graph in node order and evaluates each node with its kernel.
#include "oracles/reference.h"

#include "generators/fold.h"

#include <fmt/format.h>
#include <onnx/defs/schema.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <exception>
#include <new>
#include <optional>
#include <unordered_map>

#include "oracles/reference/half.h"
#include "oracles/reference/kernel.h"

namespace onnxfuzz {
namespace {

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

// Whether libonnx knows (domain, op) at all. ONNX Runtime's own ops (com.microsoft, and the
// few it adds to the ONNX domain, such as SimplifiedLayerNormalization) have no schema here.
bool onnx_knows(std::string_view domain, std::string_view op_type) {
  return onnx::OpSchemaRegistry::Schema(std::string(op_type), INT_MAX,
                                        std::string(domain)) != nullptr;
}

// What evaluates one op at one opset of its domain: the ONNX schema the opset selects and the
// newest kernel registered at or before that schema's version (either may be null). An op
// libonnx has no schema for (ONNX Runtime's) is versioned by its domain's opset directly.
struct Resolved {
  const onnx::OpSchema* schema = nullptr;
  const ref::Kernel* kernel = nullptr;
};

Resolved resolve(std::string_view domain, std::string_view op_type, int64_t opset) {
  Resolved r;
  if (!ref::has_kernels(domain, op_type)) return r;
  const std::string d = is_default_domain(std::string(domain)) ? "" : std::string(domain);
  r.schema = onnx::OpSchemaRegistry::Schema(std::string(op_type), static_cast<int>(opset), d);
  if (r.schema != nullptr) {
    r.kernel = ref::find_kernel(d, op_type, r.schema->since_version());
  } else if (!onnx_knows(d, op_type)) {
    r.kernel = ref::find_kernel(d, op_type, static_cast<int>(opset));
  }
  return r;
}

// "op" for the ONNX domain, "domain::op" for any other.
std::string qualified(const std::string& domain, const std::string& op_type) {
  return is_default_domain(domain) ? op_type : fmt::format("{}::{}", domain, op_type);
}

// The "unsupported op" message for a node no kernel serves; `opset` is its domain's (-1 when
// the model does not import that domain).
std::string unsupported(const onnx::NodeProto& node, int n, int64_t opset, const Resolved& r) {
  const std::string name = qualified(node.domain(), node.op_type());
  std::string why;
  if (opset < 0) {
    why = fmt::format(": the model does not import domain '{}'", node.domain());
  } else if (r.schema != nullptr) {
    why = fmt::format(": opset {} selects {}-{}, which has no kernel", opset, name,
                      r.schema->since_version());
  } else if (ref::has_kernels(node.domain(), node.op_type())) {
    why = fmt::format(": {} has no {} at opset {}",
                      onnx_knows(node.domain(), node.op_type()) ? "ONNX" : "the reference", name,
                      opset);
  }
  return fmt::format("unsupported op '{}' (node {} '{}'){}", name, n, node.name(), why);
}

// The half type output `k` is rounded back to: the schema's rule for an ONNX op; for an op
// without a schema, the first half input's type unless the kernel marks the output float32.
std::optional<DType> half_output(const Resolved& r, std::span<const std::optional<DType>> original,
                                 size_t k) {
  if (r.schema != nullptr) return ref::half_output_dtype(*r.schema, original, k);
  if (k < 32 && (r.kernel->options.float_outputs >> k & 1u) != 0) return std::nullopt;
  for (const auto& dtype : original) {
    if (dtype && is_half(*dtype)) return dtype;
  }
  return std::nullopt;
}

// Runs a kernel. Unless it handles half types itself, float16/bfloat16 inputs are widened to
// float32 first, and each float32 output whose schema type follows a half input is rounded
// back to that type: arithmetic in float32 (or double), one rounding per op.
std::vector<Tensor> run_kernel(const Resolved& r, const onnx::NodeProto& node,
                               std::span<const Tensor* const> inputs) {
  bool any_half = false;
  for (const Tensor* t : inputs) any_half = any_half || (t != nullptr && is_half(t->dtype));
  if (!any_half || r.kernel->options.handles_half) {
    return r.kernel->run(ref::NodeContext(node, inputs));
  }
  std::vector<Tensor> widened;
  widened.reserve(inputs.size());  // no reallocation: `args` points into it
  std::vector<const Tensor*> args(inputs.begin(), inputs.end());
  std::vector<std::optional<DType>> original(inputs.size());
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == nullptr) continue;
    original[i] = args[i]->dtype;
    if (is_half(args[i]->dtype)) {
      widened.push_back(ref::widen_half(*args[i]));
      args[i] = &widened.back();
    }
  }
  std::vector<Tensor> outputs = r.kernel->run(ref::NodeContext(node, args));
  for (size_t k = 0; k < outputs.size(); ++k) {
    if (outputs[k].dtype != DType::kFloat) continue;
    if (auto half = half_output(r, original, k)) {
      outputs[k] = ref::round_to_half(outputs[k], *half);
    }
  }
  return outputs;
}

// Checks a caller-supplied graph input against its declared element type and static dims.
std::string check_declared_type(const onnx::ValueInfoProto& info, const Tensor& value) {
  if (!info.type().has_tensor_type()) return {};
  const auto& tt = info.type().tensor_type();
  if (tt.elem_type() != 0 && tt.elem_type() != static_cast<int32_t>(value.dtype)) {
    return fmt::format("graph input '{}' is declared with element type {} but got {}", info.name(),
                       tt.elem_type(), dtype_name(value.dtype));
  }
  if (!tt.has_shape()) return {};
  const auto& dims = tt.shape().dim();
  bool ok = dims.size() == static_cast<int>(value.rank());
  for (int d = 0; ok && d < dims.size(); ++d) {
    if (dims[d].has_dim_value() && dims[d].dim_value() != value.shape[d]) ok = false;
  }
  if (!ok) {
    return fmt::format("graph input '{}' got shape {}, which does not match its declaration",
                       info.name(), shape_string(value.shape));
  }
  return {};
}

// The graph walk proper; returns an error message, empty on success. Exceptions from kernels
// are caught per node so the message can name the node.
std::string evaluate(const onnx::ModelProto& model, const TensorMap& inputs,
                     std::unordered_map<std::string, Tensor>& env) {
  // Domain ("" for ai.onnx) -> imported opset version.
  std::unordered_map<std::string, int64_t> opsets;
  for (const auto& import : model.opset_import()) {
    opsets[is_default_domain(import.domain()) ? "" : import.domain()] = import.version();
  }
  if (!opsets.contains("")) return "model does not import the default ONNX domain";

  const auto& graph = model.graph();
  for (const auto& init : graph.initializer()) {
    auto tensor = tensor_from_proto(init);
    if (!tensor) return fmt::format("initializer '{}': {}", init.name(), tensor.error());
    env.insert_or_assign(init.name(), std::move(*tensor));
  }
  for (const auto& input : graph.input()) {
    auto supplied = inputs.find(input.name());
    if (supplied == inputs.end()) {
      if (env.contains(input.name())) continue;  // the initializer is the default value
      return fmt::format("graph input '{}' was not supplied and has no initializer", input.name());
    }
    if (auto error = check_declared_type(input, supplied->second); !error.empty()) return error;
    env.insert_or_assign(input.name(), supplied->second);
  }

  std::vector<const Tensor*> node_inputs;
  for (int n = 0; n < graph.node_size(); ++n) {
    const auto& node = graph.node(n);
    auto where = [&] { return fmt::format("node {} '{}' ({})", n, node.name(), node.op_type()); };
    auto imported = opsets.find(is_default_domain(node.domain()) ? "" : node.domain());
    const int64_t opset = imported == opsets.end() ? -1 : imported->second;
    Resolved resolved;
    if (opset >= 0) resolved = resolve(node.domain(), node.op_type(), opset);
    if (resolved.kernel == nullptr) return unsupported(node, n, opset, resolved);
    node_inputs.clear();
    for (const auto& name : node.input()) {
      if (name.empty()) {
        node_inputs.push_back(nullptr);  // omitted optional input
        continue;
      }
      auto found = env.find(name);
      if (found == env.end()) {
        return fmt::format(
            "{}: input '{}' is not available (not a graph input, initializer or "
            "output of an earlier node)",
            where(), name);
      }
      node_inputs.push_back(&found->second);
    }
    std::vector<Tensor> outputs;
    try {
      outputs = run_kernel(resolved, node, node_inputs);
    } catch (const ref::KernelError& e) {
      return fmt::format("{}: {}", where(), e.what());
    } catch (const std::bad_alloc&) {
      return fmt::format("{}: out of memory", where());
    } catch (const std::exception& e) {
      return fmt::format("{}: internal error: {}", where(), e.what());
    }
    for (int i = 0; i < node.output_size(); ++i) {
      if (node.output(i).empty()) continue;
      if (static_cast<size_t>(i) >= outputs.size()) {
        return fmt::format("{}: output {} ('{}') is not produced by the reference", where(), i,
                           node.output(i));
      }
      env.insert_or_assign(node.output(i), std::move(outputs[i]));
    }
  }
  return {};
}

}  // namespace

std::vector<KernelKey> reference_kernels() {
  std::vector<KernelKey> keys;
  for (const ref::Kernel* k : ref::registered_kernels()) {
    if (k->domain.empty() && onnx_knows("", k->op_type))
      keys.push_back({k->op_type, k->since_version});
  }
  return keys;  // the registry lists the default domain first, sorted
}

std::vector<KernelKey> reference_runtime_kernels() {
  std::vector<KernelKey> keys;
  for (const ref::Kernel* k : ref::registered_kernels()) {
    if (!onnx_knows(k->domain, k->op_type))
      keys.push_back({k->op_type, k->since_version, k->domain});
  }
  std::ranges::sort(keys);
  return keys;
}

const std::vector<std::string>& reference_ops() {
  static const std::vector<std::string> ops = [] {
    std::vector<std::string> names;
    for (const KernelKey& k : reference_kernels()) {
      if (names.empty() || names.back() != k.op_type) names.push_back(k.op_type);
    }
    return names;
  }();
  return ops;
}

std::optional<KernelKey> reference_kernel_for(std::string_view op_type, int opset,
                                              std::string_view domain) {
  const Resolved r = resolve(domain, op_type, opset);
  if (r.kernel == nullptr) return std::nullopt;
  return KernelKey{r.kernel->op_type, r.kernel->since_version, r.kernel->domain};
}

bool reference_supports(std::string_view op_type, int opset, std::string_view domain) {
  return reference_kernel_for(op_type, opset, domain).has_value();
}

RunResult run_reference(const onnx::ModelProto& model, const TensorMap& inputs,
                        TensorMap* all_values) {
  const auto start = std::chrono::steady_clock::now();
  RunResult result;
  auto finish = [&](RunResult& r) -> RunResult {
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::move(r);
  };
  try {
    std::unordered_map<std::string, Tensor> env;
    std::string error = evaluate(model, inputs, env);
    if (error.empty()) {
      for (const auto& output : model.graph().output()) {
        auto found = env.find(output.name());
        if (found == env.end()) {
          error = fmt::format("graph output '{}' is not produced by any node", output.name());
          break;
        }
        result.outputs.insert_or_assign(output.name(), found->second);
        result.output_order.push_back(output.name());
      }
    }
    if (all_values != nullptr) {
      // Handed over even after an error: the values computed so far help explain it.
      all_values->clear();
      for (auto& [name, value] : env) all_values->insert_or_assign(name, std::move(value));
    }
    if (!error.empty()) {
      result.status = RunStatus::kError;
      result.message = std::move(error);
      result.outputs.clear();
      result.output_order.clear();
    }
  } catch (const std::exception& e) {
    result = RunResult{};
    result.status = RunStatus::kError;
    result.message = fmt::format("reference interpreter failed: {}", e.what());
  } catch (...) {
    result = RunResult{};
    result.status = RunStatus::kError;
    result.message = "reference interpreter failed with an unknown exception";
  }
  return finish(result);
}

std::string ReferenceExecution::version() { return "onnxfuzz-ref " ONNXFUZZ_VERSION; }

namespace {

// The evaluator of generators/fold.h: folding runs the reference on the whole model once.
const AllValuesEvaluatorRegistrar kFoldEvaluator{
    [](const onnx::ModelProto& model, const TensorMap& inputs) -> std::expected<TensorMap, std::string> {
      TensorMap values;
      const RunResult result = run_reference(model, inputs, &values);
      if (result.status != RunStatus::kOk) return std::unexpected(result.message);
      return values;
    }};

}  // namespace
}  // namespace onnxfuzz
