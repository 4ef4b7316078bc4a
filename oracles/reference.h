// Reference interpreter: our trusted, in-process, double-accumulating model evaluator.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <string_view>
#include <vector>

#include "oracles/execution.h"

namespace onnxfuzz {

// Op types (default domain) the reference can evaluate.
const std::vector<std::string>& reference_ops();
bool reference_supports(std::string_view op_type);

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
