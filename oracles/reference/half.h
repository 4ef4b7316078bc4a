// Reference interpreter internals: float16/bfloat16 values widened to float32 around a kernel.
#pragma once

#include <onnx/defs/schema.h>

#include <optional>
#include <span>

#include "generators/tensor.h"

namespace onnxfuzz::ref {

// A float32 copy of a float16 or bfloat16 tensor (exact: float32 holds every half value).
Tensor widen_half(const Tensor& t);
// A float32 tensor rounded to `half` (float16 or bfloat16), to nearest even.
Tensor round_to_half(const Tensor& t, DType half);

// The half dtype output `output` must be rounded back to, given the dtypes the node's inputs had
// before widening (nullopt for omitted inputs): that of the first input bound to the same type
// parameter in the schema (Pow's Z follows its base X, not its exponent). nullopt when no such
// input was half.
std::optional<DType> half_output_dtype(const onnx::OpSchema& schema,
                                       std::span<const std::optional<DType>> original_inputs,
                                       size_t output);

}  // namespace onnxfuzz::ref
