// Constant folding for models onnxfuzz did not write: real models compute shapes at run time
// (Shape -> Gather -> Concat -> Reshape), which leaves values without a static shape, and the
// graph builder (hence every rebuilding mutator) needs static shapes. Once the graph inputs
// have static shapes (--input-shape), such subgraphs are constants: folding them into
// initializers gives the builder a graph it can type.
#pragma once

#include <onnx/onnx_pb.h>

#include <expected>
#include <string>

#include "generators/tensor.h"

namespace onnxfuzz {

// Runs a whole model on `inputs` and returns every value it computed (graph outputs and
// intermediates) by name. The reference interpreter registers itself as the evaluator
// (oracles/reference.cpp), so that generators/ does not depend on oracles/.
using AllValuesEvaluator = std::expected<TensorMap, std::string> (*)(const onnx::ModelProto&,
                                                                     const TensorMap&);
struct AllValuesEvaluatorRegistrar {
  explicit AllValuesEvaluatorRegistrar(AllValuesEvaluator evaluator);
};

// Replaces every top-level node whose value does not depend on the runtime inputs' data (all
// inputs are initializers or folded values, or it is Shape/Size of a value with a static
// shape; Constant nodes included; random ops and nodes with subgraphs excluded; nodes that
// produce graph outputs kept) by initializers holding its outputs, and drops initializers no
// node uses any more. Returns how many nodes were folded; the model is untouched on error
// (no evaluator, the evaluator failed, shape inference failed).
std::expected<int, std::string> fold_constants(onnx::ModelProto& model);

}  // namespace onnxfuzz
