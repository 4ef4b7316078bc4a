// A one-node test model: y = OP(x), both of element type `elem` and shape [2,3].
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string_view>

#include "generators/model_io.h"

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

}  // namespace onnxfuzz::testing
