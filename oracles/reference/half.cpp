// Half-precision widening and rounding that the interpreter applies around arithmetic kernels,
// so every kernel computes float16/bfloat16 in float32 (or double) and rounds once per op.
#include "oracles/reference/half.h"

#include <string>

#include "generators/check.h"

namespace onnxfuzz::ref {

Tensor widen_half(const Tensor& t) {
  ONNXFUZZ_CHECK(is_half(t.dtype), "widen_half: not a half tensor");
  Tensor wide = Tensor::zeros(DType::kFloat, t.shape);
  auto in = t.values<uint16_t>();
  auto out = wide.values<float>();
  const bool f16 = t.dtype == DType::kFloat16;
  for (size_t i = 0; i < in.size(); ++i)
    out[i] = f16 ? half_to_float(in[i]) : bfloat16_to_float(in[i]);
  return wide;
}

Tensor round_to_half(const Tensor& t, DType half) {
  ONNXFUZZ_CHECK(t.dtype == DType::kFloat && is_half(half), "round_to_half: bad dtypes");
  Tensor narrow = Tensor::zeros(half, t.shape);
  auto in = t.values<float>();
  auto out = narrow.values<uint16_t>();
  const bool f16 = half == DType::kFloat16;
  for (size_t i = 0; i < in.size(); ++i)
    out[i] = f16 ? float_to_half(in[i]) : float_to_bfloat16(in[i]);
  return narrow;
}

namespace {

// The formal parameter an actual input/output position binds to; a trailing variadic formal
// takes every remaining position.
const onnx::OpSchema::FormalParameter* formal_at(
    const std::vector<onnx::OpSchema::FormalParameter>& formals, size_t position) {
  if (position < formals.size()) return &formals[position];
  if (!formals.empty() && formals.back().GetOption() == onnx::OpSchema::Variadic) {
    return &formals.back();
  }
  return nullptr;
}

}  // namespace

std::optional<DType> half_output_dtype(const onnx::OpSchema& schema,
                                       std::span<const std::optional<DType>> original_inputs,
                                       size_t output) {
  const auto* out = formal_at(schema.outputs(), output);
  if (out == nullptr) return std::nullopt;
  const std::string& type = out->GetTypeStr();
  for (size_t i = 0; i < original_inputs.size(); ++i) {
    const auto* in = formal_at(schema.inputs(), i);
    if (original_inputs[i] && in != nullptr && in->GetTypeStr() == type) {
      if (is_half(*original_inputs[i])) return original_inputs[i];
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace onnxfuzz::ref
