// Rebuild: re-emits a model node by node through the shared GraphBuilder. Each node's output is
// re-derived from its registration's rules; a node whose (changed) operands its shape rule
// rejects is re-planned by its registration's operand plan. The shape, dtype, attribute and
// structure mutators make their edits on the way through.
#pragma once

#include <onnx/onnx_pb.h>

#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "generators/graph_builder.h"
#include "generators/model_io.h"
#include "generators/mutators/mutator.h"

namespace onnxfuzz {

class Rebuild {
 public:
  // Edits the graph's inputs and initializers (declared types, data) before they are typed.
  using InputEdit = std::function<std::expected<void, std::string>(onnx::ModelProto&, TensorMap&)>;

  // Error when the model cannot be rebuilt: it fails strict inference, has a non-static shape,
  // a node outside the default domain, or an op without a registration at the version the
  // model's opset selects. Constant nodes become initializers.
  static std::expected<std::unique_ptr<Rebuild>, std::string> start(const Mutant& mutant, Rng& rng,
                                                                    const MutateOptions& options,
                                                                    const InputEdit& edit = {});

  size_t node_count() const { return nodes_.size(); }
  const onnx::NodeProto& node(size_t k) const { return nodes_[k]; }
  const OpSpec& spec(size_t k) const { return *specs_[k]; }
  GraphBuilder& builder() { return *builder_; }
  Rng& rng() { return builder_->rng(); }
  // Element type of a value of the original model (inferred), nullopt when unknown.
  std::optional<ValueType> original_type(const std::string& name) const;

  // The builder value an original value name stands for now.
  std::optional<int> value_of(const std::string& name) const;
  void bind(const std::string& name, int value) { bound_[name] = value; }

  // The dtype input `input` of node `k` must have; the default keeps the original dtype. An
  // operand whose dtype differs gets a Cast in front of it.
  std::function<DType(size_t k, size_t input, DType original)> expected_dtype;

  // Node k as a plan over the current values (Casts inserted as expected_dtype requires).
  std::expected<Plan, std::string> plan_of(size_t k);
  // Emits `plan` when its rules accept it within the size limits; else, with `repair`, re-plans
  // the node around its primary operand. Returns the output values.
  std::expected<std::vector<int>, std::string> emit(const Plan& plan, bool repair);
  // plan_of + emit(repair) + binding of node k's outputs.
  std::expected<void, std::string> replay(size_t k);
  // Binds node k's named outputs to `outputs`, by position.
  void bind_outputs(size_t k, const std::vector<int>& outputs);

  // A Cast of `value` to `to`; error when the registration refuses it.
  std::expected<int, std::string> cast(int value, DType to);
  // One node of a registered op over explicit operands (rewrites: Gemm, MatMul, Transpose ...).
  std::expected<std::vector<int>, std::string> emit_op(std::string_view op_type,
                                                       std::vector<Operand> operands,
                                                       AttrList attrs);
  // A random registered op planned with `value` as its primary operand; returns output 0.
  std::expected<int, std::string> insert_on(int value);
  // Whether the registration's rules accept `plan` within the size limits (error says why not).
  std::expected<void, std::string> fits(const Plan& plan) const;

  // The rebuilt mutant: leaves (and some intermediates) become graph outputs; initializers and
  // graph inputs no node reads any more are dropped.
  Mutant finish();

 private:
  Rebuild() = default;
  bool primary_fits(const OpSpec& spec, const Value& v) const;
  // Node of `spec` planned afresh around `primary` (its other operands and attributes drawn by
  // the registration's operand plan).
  std::expected<std::vector<int>, std::string> replan(const OpSpec& spec, int primary,
                                                      const std::string& why);

  GenPolicy policy_;
  std::optional<GraphBuilder> builder_;
  std::vector<onnx::NodeProto> nodes_;
  std::vector<const OpSpec*> specs_;
  std::map<std::string, ValueType> original_types_;
  std::map<std::string, Tensor> constants_;  // initializer data, by name
  std::map<std::string, int> bound_;
};

}  // namespace onnxfuzz
