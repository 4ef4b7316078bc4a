// Model edits several mutators share: picking runtime inputs, remaking their data for a new
// type, finding each value's consumers.
#pragma once

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>
#include <vector>

#include "generators/model_io.h"
#include "generators/mutators/mutator.h"
#include "generators/op_spec.h"

namespace onnxfuzz {

// A runtime input's declared type (nullopt when it is not static or not of a table dtype).
std::optional<ValueType> declared_type(const onnx::ValueInfoProto& info);
// Rewrites a ValueInfoProto's tensor type.
void set_declared_type(onnx::ValueInfoProto* info, DType dtype, const Shape& shape);
onnx::ValueInfoProto* find_graph_input(onnx::GraphProto& graph, const std::string& name);

// Data of `dtype` and `shape` drawn in the range of `like` (its min..max; bool: 0..1), for an
// input whose type a mutator changed.
Tensor remake_tensor(const Tensor* like, DType dtype, const Shape& shape, Rng& rng);

// One (node, input slot) that reads a value.
struct Use {
  int node = -1;
  int slot = -1;
};
std::vector<Use> uses_of(const onnx::GraphProto& graph, const std::string& name);

// The registration of a default-domain node, or nullptr.
const OpSpec* registered_spec(const onnx::NodeProto& node);
// The dtypes the ONNX schema (at the model's opset) allows at a node's input slot; empty when
// the op is unknown.
std::vector<DType> schema_input_dtypes(const onnx::NodeProto& node, int slot, int opset);
// Whether input slots a and b of the node share one type parameter in its schema.
bool same_type_param(const onnx::NodeProto& node, int a, int b, int opset);
int model_opset(const onnx::ModelProto& model);

// Invalid mutants: graph outputs keep only their element types and value_info is dropped, so
// the one broken rule is the only inconsistency inference can find.
void forget_inferred_shapes(onnx::ModelProto& model);

}  // namespace onnxfuzz
