// Reference interpreter internals: the kernel interface and the registry of kernels, keyed by
// (domain, op type, since-version) like ONNX's own operator schemas.
#pragma once

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "generators/tensor.h"

namespace onnxfuzz::ref {

// A kernel reports a bad model (shape mismatch, bad attribute, unsupported dtype) by throwing
// this. The interpreter catches it at the node boundary and turns it into RunStatus::kError
// naming the node, so nothing escapes run_reference; throwing keeps the many small shape
// helpers free of error plumbing.
class KernelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw KernelError(fmt::format(format, std::forward<Args>(args)...));
}

// What a kernel sees of its node: the resolved inputs and the attributes. The op version is
// not here on purpose: a kernel serves one version range, chosen by the registry.
class NodeContext {
 public:
  NodeContext(const onnx::NodeProto& node, std::span<const Tensor* const> inputs)
      : node_(node), inputs_(inputs) {}

  const onnx::NodeProto& node() const { return node_; }

  // Input i; fails if it is omitted ("" or beyond the node's inputs).
  const Tensor& input(size_t i) const;
  // Input i or nullptr when it is omitted.
  const Tensor* optional_input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  // Whether output i is requested (present and named).
  bool wants_output(size_t i) const {
    return static_cast<int>(i) < node_.output_size() && !node_.output(static_cast<int>(i)).empty();
  }

  const onnx::AttributeProto* attribute(std::string_view name) const;
  int64_t int_attr(std::string_view name, int64_t fallback) const;
  float float_attr(std::string_view name, float fallback) const;
  std::string string_attr(std::string_view name, std::string_view fallback) const;
  // Empty when absent.
  std::vector<int64_t> ints_attr(std::string_view name) const;

 private:
  const onnx::NodeProto& node_;
  std::span<const Tensor* const> inputs_;
};

using KernelFn = std::vector<Tensor> (*)(const NodeContext&);

struct KernelOptions {
  // By default the interpreter hands a kernel float32 in place of float16/bfloat16 inputs and
  // rounds the matching float32 outputs back, so arithmetic kernels never see a half type.
  // A kernel that handles half tensors itself (data movement, Constant, casts) sets this.
  bool handles_half = false;
  // Outputs (bit k: output k) that are float32 whatever the input type. Only read for ops
  // libonnx has no schema for (ONNX Runtime's own ops), whose other float32 outputs are rounded
  // back to the first half input's type; an ONNX op's schema says this itself.
  uint32_t float_outputs = 0;
};

// The domain ONNX Runtime's contrib ops live in.
inline constexpr std::string_view kMicrosoftDomain = "com.microsoft";

// One registry row: the kernel for `op_type` in `domain` ("" is ai.onnx) from `since_version`
// on, up to the next registered version.
struct Kernel {
  std::string domain;
  std::string op_type;
  int since_version = 0;
  KernelFn run = nullptr;
  KernelOptions options;
};

// Registers a kernel at static-initialization time. One object per (op, version), next to the
// kernel in its family file:
//   const KernelRegistrar kSoftmax13{"Softmax", 13, softmax_13};
//   const KernelRegistrar kGelu1{kMicrosoftDomain, "Gelu", 1, gelu_1};
// A second registration of the same (domain, op, version) is a bug and aborts at load time.
class KernelRegistrar {
 public:
  KernelRegistrar(std::string_view op_type, int since_version, KernelFn run,
                  KernelOptions options = {});
  KernelRegistrar(std::string_view domain, std::string_view op_type, int since_version,
                  KernelFn run, KernelOptions options = {});
};

// Every registered kernel, sorted by domain, op type, then since_version.
std::vector<const Kernel*> registered_kernels();
// The registered kernel of (`domain`, `op_type`) with the largest since_version <= `version`
// (the since_version of the ONNX schema a model's opset selects, or for an op without an ONNX
// schema the domain's opset itself), or nullptr. "ai.onnx" is the same domain as "".
const Kernel* find_kernel(std::string_view domain, std::string_view op_type, int version);
const Kernel* find_kernel(std::string_view op_type, int schema_version);
// Whether any version of (`domain`, `op_type`) has a kernel.
bool has_kernels(std::string_view domain, std::string_view op_type);
bool has_kernels(std::string_view op_type);

}  // namespace onnxfuzz::ref
