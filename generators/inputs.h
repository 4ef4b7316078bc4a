// Random runtime inputs for any model whose inputs have static shapes (user models without test
// data).
#pragma once

#include <onnx/onnx_pb.h>

#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "generators/rng.h"
#include "generators/tensor.h"

namespace onnxfuzz {

// One tensor per runtime input (graph inputs that are not initializers), of the declared
// dtype and shape. Floats are drawn in a moderate range, inside the value domain of every op
// that reads the input directly (so Log/Sqrt/Div inputs come out positive); integers are small
// and non-negative; bools are random. Symbolic or unknown dims are taken as 1. Inputs whose
// element type onnxfuzz cannot hold are left out: the execution then reports them missing.
TensorMap synthesize_inputs(const onnx::ModelProto& model, Rng& rng);

// Concrete shapes for graph inputs with symbolic or unknown dims (real models: a batch of 1, an
// image of 48x320), by input name.
using InputShapes = std::map<std::string, std::vector<int64_t>>;
// "x=1x3x48x320,mask=1x320" (the --input-shape flag). Errors say what is malformed.
std::expected<InputShapes, std::string> parse_input_shapes(std::string_view spec);
std::string format_input_shapes(const InputShapes& shapes);
// Writes the shapes into the model's input declarations, so that shape inference, the
// mutators and input synthesis see static shapes. Refused: an unknown input, a rank that differs
// from the declared one, a dim that contradicts a declared static dim, a dim < 0.
std::expected<void, std::string> fix_input_shapes(onnx::ModelProto& model,
                                                  const InputShapes& shapes);

}  // namespace onnxfuzz
