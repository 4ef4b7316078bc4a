// Fixtures for reference-interpreter tests: models in ONNX text format, tensors of any dtype
// from plain values, and runs that must succeed.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "generators/model_io.h"
#include "generators/tensor.h"
#include "oracles/reference.h"

namespace onnxfuzz::fixtures {

// Parses a model in ONNX text format; a parse error fails the test (and names the text).
inline onnx::ModelProto parse(const std::string& text) {
  auto model = parse_model_text(text);
  EXPECT_TRUE(model.has_value()) << (model ? "" : model.error()) << "\n" << text;
  return model ? *model : onnx::ModelProto{};
}

// The ONNX text-format name of a dtype ("float", "bfloat16", "uint8", ...).
inline std::string text_type(DType dtype) {
  std::string_view t = dtype_info(dtype).onnx_type;  // "tensor(float)"
  t.remove_prefix(std::string_view("tensor(").size());
  t.remove_suffix(1);
  return std::string(t);
}

// A tensor of any dtype from values that dtype holds exactly.
inline Tensor tensor_of(DType dtype, Shape shape, const std::vector<double>& values) {
  Tensor t = Tensor::zeros(dtype, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.numel()), values.size());
  for (size_t i = 0; i < values.size() && i < static_cast<size_t>(t.numel()); ++i)
    t.set_double(static_cast<int64_t>(i), values[i]);
  return t;
}

inline std::vector<double> doubles_of(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.as_double(i));
  return v;
}

// Runs a text-format model on the reference; anything but success fails the test.
inline RunResult run_ok(const std::string& text, const TensorMap& inputs) {
  RunResult r = run_reference(parse(text), inputs);
  EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
  return r;
}

}  // namespace onnxfuzz::fixtures
