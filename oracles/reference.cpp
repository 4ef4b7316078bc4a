// Reference interpreter: walks the graph in node order and evaluates each node with its kernel.
#include "oracles/reference.h"

#include <fmt/format.h>
#include <onnx/defs/schema.h>

#include <chrono>
#include <exception>
#include <new>
#include <optional>
#include <unordered_map>

#include "oracles/reference/half.h"
#include "oracles/reference/kernel.h"

namespace onnxfuzz {
namespace {

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

// What evaluates one op at one opset: the ONNX schema the opset selects and the newest kernel
// registered at or before that schema's version (either may be null).
struct Resolved {
  const onnx::OpSchema* schema = nullptr;
  const ref::Kernel* kernel = nullptr;
};

Resolved resolve(std::string_view op_type, int64_t opset) {
  Resolved r;
  if (!ref::has_kernels(op_type)) return r;
  r.schema = onnx::OpSchemaRegistry::Schema(std::string(op_type), static_cast<int>(opset), "");
  if (r.schema != nullptr) r.kernel = ref::find_kernel(op_type, r.schema->since_version());
  return r;
}

// The "unsupported op" message for a node no kernel serves.
std::string unsupported(const onnx::NodeProto& node, int n, int64_t opset, const Resolved& r) {
  if (!is_default_domain(node.domain())) {
    return fmt::format("unsupported op '{}::{}' (node {} '{}')", node.domain(), node.op_type(), n,
                       node.name());
  }
  std::string why;
  if (r.schema != nullptr) {
    why = fmt::format(": opset {} selects {}-{}, which has no kernel", opset, node.op_type(),
                      r.schema->since_version());
  } else if (ref::has_kernels(node.op_type())) {
    why = fmt::format(": ONNX has no {} at opset {}", node.op_type(), opset);
  }
  return fmt::format("unsupported op '{}' (node {} '{}'){}", node.op_type(), n, node.name(), why);
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
    if (auto half = ref::half_output_dtype(*r.schema, original, k)) {
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
  int64_t opset = -1;
  for (const auto& import : model.opset_import()) {
    if (is_default_domain(import.domain())) opset = import.version();
  }
  if (opset < 0) return "model does not import the default ONNX domain";

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
    Resolved resolved;
    if (is_default_domain(node.domain())) resolved = resolve(node.op_type(), opset);
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
  for (const ref::Kernel* k : ref::registered_kernels())
    keys.push_back({k->op_type, k->since_version});
  return keys;  // the registry lists them sorted
}

const std::vector<std::string>& reference_ops() {
  static const std::vector<std::string> ops = [] {
    std::vector<std::string> names;
    for (const ref::Kernel* k : ref::registered_kernels()) {
      if (names.empty() || names.back() != k->op_type) names.push_back(k->op_type);
    }
    return names;
  }();
  return ops;
}

std::optional<KernelKey> reference_kernel_for(std::string_view op_type, int opset) {
  const Resolved r = resolve(op_type, opset);
  if (r.kernel == nullptr) return std::nullopt;
  return KernelKey{r.kernel->op_type, r.kernel->since_version};
}

bool reference_supports(std::string_view op_type, int opset) {
  return reference_kernel_for(op_type, opset).has_value();
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

}  // namespace onnxfuzz
