// Random runtime inputs for any model whose inputs have static shapes (user models without test
// data).
#pragma once

#include <onnx/onnx_pb.h>

#include "generators/rng.h"
#include "generators/tensor.h"

namespace onnxfuzz {

// One tensor per runtime input (graph inputs that are not initializers), of the declared
// dtype and shape. Floats are drawn in a moderate range, inside the value domain of every op
// that reads the input directly (so Log/Sqrt/Div inputs come out positive); integers are small
// and non-negative; bools are random. Symbolic or unknown dims are taken as 1. Inputs whose
// element type onnxfuzz cannot hold are left out: the execution then reports them missing.
TensorMap synthesize_inputs(const onnx::ModelProto& model, Rng& rng);

}  // namespace onnxfuzz
