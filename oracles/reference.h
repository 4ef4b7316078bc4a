// Reference interpreter: our trusted, in-process, double-accumulating model evaluator.
#pragma once

#include <onnx/onnx_pb.h>

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oracles/execution.h"

namespace onnxfuzz {

// One kernel of the reference: `op_type` in `domain` ("" is ai.onnx) from version
// `since_version` on.
struct KernelKey {
  std::string op_type;
  int since_version = 0;
  std::string domain;
  auto operator<=>(const KernelKey&) const = default;
};

// Every kernel of an ONNX operator (one libonnx has a schema for), sorted by op type, then
// since_version. These are what the generator draws and the conformance tests cover.
std::vector<KernelKey> reference_kernels();
// Every kernel of an ONNX Runtime operator libonnx has no schema for: the com.microsoft
// contrib ops and ORT's ONNX-domain additions (SimplifiedLayerNormalization), which ORT's
// optimized models contain. Sorted like reference_kernels(), domain last.
std::vector<KernelKey> reference_runtime_kernels();
// The distinct op types of reference_kernels(), sorted.
const std::vector<std::string>& reference_ops();
// The kernel that evaluates (`domain`, `op_type`) in a model importing `opset` of that domain:
// the newest kernel whose since_version is at most that of the ONNX schema the opset selects
// (for an op without an ONNX schema, at most `opset` itself). nullopt when ONNX has no such op
// at that opset, or no kernel serves that version.
std::optional<KernelKey> reference_kernel_for(std::string_view op_type, int opset = 17,
                                              std::string_view domain = "");
bool reference_supports(std::string_view op_type, int opset = 17, std::string_view domain = "");

// Evaluates `model` on `inputs` (graph inputs that are not initializers). Returns kOk with
// every graph output, or kError with a message naming the node that failed (unsupported op,
// bad shapes, missing input). Never throws. When `all_values` is not null it receives every
// value computed, graph inputs and initializers included, keyed by value name: the minimizer
// uses these to feed a cut-off subgraph exactly the tensors it saw in the full model.
RunResult run_reference(const onnx::ModelProto& model, const TensorMap& inputs,
                        TensorMap* all_values = nullptr);

class ReferenceExecution final : public Execution {
 public:
  const std::string& name() const override { return name_; }
  std::string version() override;
  RunResult run(const ModelUnderTest& model, const TensorMap& inputs) override {
    return run_reference(model.proto(), inputs);
  }

 private:
  std::string name_ = "ref";
};

}  // namespace onnxfuzz
