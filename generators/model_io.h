// Model I/O and validation: loading, deterministic serialization, checker + strict inference.
#pragma once

#include <onnx/onnx_pb.h>

#include <expected>
#include <string>
#include <vector>

#include "generators/tensor.h"

namespace onnxfuzz {

// The opset every generated model imports (ONNX 1.12 knows opsets up to 17).
inline constexpr int kTargetOpset = 17;

// Reads and parses a .onnx file, and loads its external data (see load_external_data). Errors
// name the path and say what is wrong (missing, empty, truncated/corrupt protobuf, external
// data missing or outside the model's directory).
std::expected<onnx::ModelProto, std::string> load_model(const std::string& path);

// Moves every tensor stored as external data (initializers and tensor attributes, subgraphs
// included) into the model: `location` is read relative to `model_dir`, from `offset` for
// `length` bytes (default: to the end). A location that escapes `model_dir` (absolute, with a
// `..` component, or a symlink whose target lies outside) is refused, as is a file too short
// for its offset and length. The model is untouched on error.
std::expected<void, std::string> load_external_data(onnx::ModelProto& model,
                                                    const std::string& model_dir);
std::expected<onnx::ModelProto, std::string> parse_model(const std::string& bytes);

// Deterministic serialization: the same model always gives the same bytes.
std::string serialize_model(const onnx::ModelProto& model);

// Parses the ONNX text format (onnx/defs/parser.h), for fixtures written inline in tests.
std::expected<onnx::ModelProto, std::string> parse_model_text(const std::string& text);

// onnx::checker::check_model only.
std::expected<void, std::string> check_model(const onnx::ModelProto& model);

// onnx::checker::check_model, then strict shape inference (type checks on, errors thrown).
// On success returns a copy of the model with value_info filled in by inference.
std::expected<onnx::ModelProto, std::string> validate_model(const onnx::ModelProto& model);

// Element type and static shape of a value_info; error if it is not a tensor with a fully
// static, supported shape.
struct ValueType {
  DType dtype = DType::kFloat;
  Shape shape;
};
std::expected<ValueType, std::string> value_type_of(const onnx::ValueInfoProto& info);

// Graph inputs that are not initializers, in graph order.
std::vector<const onnx::ValueInfoProto*> runtime_inputs(const onnx::GraphProto& graph);

// Op types of the graph's nodes, in node order (the graph is kept topologically sorted).
std::vector<std::string> op_sequence(const onnx::GraphProto& graph);

}  // namespace onnxfuzz
