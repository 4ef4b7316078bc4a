// Reference interpreter: walks the graph in node order and evaluates each node with its kernel.
#include "oracles/reference.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <new>
#include <unordered_map>

#include "oracles/reference_kernels.h"

namespace onnxfuzz {
namespace ref {

const Tensor& NodeContext::input(size_t i) const {
  const Tensor* t = optional_input(i);
  if (t == nullptr) fail("required input {} is missing", i);
  return *t;
}

const onnx::AttributeProto* NodeContext::attribute(std::string_view name) const {
  for (const auto& a : node_.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

int64_t NodeContext::int_attr(std::string_view name, int64_t fallback) const {
  const auto* a = attribute(name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto::INT) fail("attribute '{}' is not an int", name);
  return a->i();
}

float NodeContext::float_attr(std::string_view name, float fallback) const {
  const auto* a = attribute(name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto::FLOAT) fail("attribute '{}' is not a float", name);
  return a->f();
}

std::string NodeContext::string_attr(std::string_view name, std::string_view fallback) const {
  const auto* a = attribute(name);
  if (a == nullptr) return std::string(fallback);
  if (a->type() != onnx::AttributeProto::STRING) fail("attribute '{}' is not a string", name);
  return a->s();
}

std::vector<int64_t> NodeContext::ints_attr(std::string_view name) const {
  const auto* a = attribute(name);
  if (a == nullptr) return {};
  if (a->type() != onnx::AttributeProto::INTS) fail("attribute '{}' is not a list of ints", name);
  return {a->ints().begin(), a->ints().end()};
}

Tensor make_tensor(DType dtype, Shape shape) {
  // 1 GiB: far above anything the fuzzer generates, far below what would take the host down.
  constexpr long double kMaxBytes = 1LL << 30;
  long double bytes = static_cast<long double>(dtype_size(dtype));
  for (int64_t d : shape) {
    if (d < 0) fail("negative dimension in output shape {}", shape_string(shape));
    bytes *= static_cast<long double>(d);
  }
  if (bytes > kMaxBytes) fail("output shape {} is too large", shape_string(shape));
  return Tensor::zeros(dtype, std::move(shape));
}

int64_t normalize_axis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) fail("axis {} is out of range for rank {}", axis, rank);
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> read_ints(const Tensor& t, std::string_view what) {
  if (t.rank() > 1) fail("{} must be 1-D, got shape {}", what, shape_string(t.shape));
  if (t.dtype == DType::kInt64) {
    auto v = t.values<int64_t>();
    return {v.begin(), v.end()};
  }
  if (t.dtype == DType::kInt32) {
    auto v = t.values<int32_t>();
    return {v.begin(), v.end()};
  }
  fail("{} must be int32 or int64, got {}", what, dtype_name(t.dtype));
}

std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

Shape broadcast_shape(std::span<const Shape* const> shapes) {
  size_t rank = 0;
  for (const Shape* s : shapes) rank = std::max(rank, s->size());
  Shape out(rank, 1);
  for (const Shape* s : shapes) {
    const size_t shift = rank - s->size();
    for (size_t d = 0; d < s->size(); ++d) {
      const int64_t dim = (*s)[d];
      int64_t& o = out[shift + d];
      if (dim == o || dim == 1) continue;
      if (o == 1) {
        o = dim;
        continue;
      }
      std::string all;
      for (const Shape* t : shapes) all += (all.empty() ? "" : " and ") + shape_string(*t);
      fail("shapes {} cannot be broadcast", all);
    }
  }
  return out;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  const std::vector<int64_t> own = strides_of(in);
  const size_t shift = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) {
    strides[shift + d] = in[d] == 1 ? 0 : own[d];
  }
  return strides;
}

}  // namespace ref

namespace {

using KernelTable = std::unordered_map<std::string_view, ref::Kernel>;

const KernelTable& kernel_table() {
  static const KernelTable table = [] {
    KernelTable t;
    for (auto part : {ref::elementwise_kernels(), ref::nn_kernels(), ref::layout_kernels()}) {
      for (const auto& entry : part) t.emplace(entry.op_type, entry.run);
    }
    return t;
  }();
  return table;
}

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

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

  const KernelTable& table = kernel_table();
  std::vector<const Tensor*> node_inputs;
  for (int n = 0; n < graph.node_size(); ++n) {
    const auto& node = graph.node(n);
    auto where = [&] { return fmt::format("node {} '{}' ({})", n, node.name(), node.op_type()); };
    auto kernel = table.end();
    if (is_default_domain(node.domain())) kernel = table.find(node.op_type());
    if (kernel == table.end()) {
      const std::string op = is_default_domain(node.domain())
                                 ? node.op_type()
                                 : fmt::format("{}::{}", node.domain(), node.op_type());
      return fmt::format("unsupported op '{}' (node {} '{}')", op, n, node.name());
    }
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
      outputs = kernel->second(ref::NodeContext(node, opset, node_inputs));
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

const std::vector<std::string>& reference_ops() {
  static const std::vector<std::string> ops = [] {
    std::vector<std::string> names;
    for (auto part : {ref::elementwise_kernels(), ref::nn_kernels(), ref::layout_kernels()}) {
      for (const auto& entry : part) names.emplace_back(entry.op_type);
    }
    return names;
  }();
  return ops;
}

bool reference_supports(std::string_view op_type) { return kernel_table().contains(op_type); }

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
