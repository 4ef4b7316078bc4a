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

// One kernel of the reference: `op_type` (default domain) from ONNX version `since_version` on.
struct KernelKey {
  std::string op_type;
  int since_version = 0;
  auto operator<=>(const KernelKey&) const = default;
};

// Every kernel, sorted by op type, then since_version.
std::vector<KernelKey> reference_kernels();
// The distinct op types with at least one kernel, sorted.
const std::vector<std::string>& reference_ops();
// The kernel that evaluates `op_type` in a model importing default-domain `opset`: the newest
// kernel whose since_version is at most that of the ONNX schema the opset selects. nullopt
// when ONNX has no such op at that opset, or no kernel serves that version.
std::optional<KernelKey> reference_kernel_for(std::string_view op_type, int opset = 17);
bool reference_supports(std::string_view op_type, int opset = 17);

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
