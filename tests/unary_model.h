// A one-node test model, y = OP(x), and the run results fake executions give for it.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>

#include "generators/model_io.h"
#include "oracles/execution.h"

namespace onnxfuzz::testing {

inline onnx::ModelProto unary_model(std::string_view op, std::string_view elem) {
  auto model = parse_model_text(fmt::format(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g ({0}[2,3] x) => ({0}[2,3] y) {{
      y = {1}(x)
    }}
  )",
                                            elem, op));
  EXPECT_TRUE(model) << model.error();
  return *model;
}

// A run that produced `y`.
inline RunResult y_result(Tensor y) {
  RunResult result;
  result.outputs["y"] = std::move(y);
  result.output_order = {"y"};
  return result;
}

// A run refused with `message`.
inline RunResult error_result(std::string message) {
  RunResult result;
  result.status = RunStatus::kError;
  result.message = std::move(message);
  return result;
}

}  // namespace onnxfuzz::testing
