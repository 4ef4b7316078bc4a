// GraphBuilder: the typed graph under construction, shared by the generator, the mutator and the
// minimizer. Values carry dtype, shape and value range; operands are made, repaired and emitted
// here, and a builder can start from an existing model.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "generators/op_spec.h"
#include "generators/policy.h"
#include "generators/rng.h"
#include "generators/tensor.h"

namespace onnxfuzz {

// A tensor available as an operand.
struct Value {
  std::string name;
  DType dtype = DType::kFloat;
  Shape shape;
  Interval range;
  int uses = 0;
  bool from_node = false;  // produced by a node (only those may become graph outputs)
};

// Where a fresh tensor lives.
enum class Origin { kGraphInput, kInitializer };

// One input slot of a planned node.
struct Operand {
  std::string name;  // "" for an omitted optional input
  int value = -1;    // index into the builder's values for data operands, else -1
  NodeInput sig;
};

// A node before it is emitted: op, dtype, operands and attributes.
struct Plan {
  const OpSpec* spec = nullptr;
  DType dtype = DType::kFloat;  // the dtype of the primary and its type-parameter siblings
  std::vector<Operand> operands;
  AttrList attrs;

  NodeSig sig() const;
};

// An op the generator may draw, with the dtypes the policy lets it take and their weights.
struct OpChoice {
  const OpSpec* spec = nullptr;
  std::vector<DType> dtypes;
  std::vector<double> dtype_weights;
};

// A generated or rebuilt model with data for every graph input.
struct GeneratedModel {
  onnx::ModelProto model;
  TensorMap inputs;  // data for every graph input (initializers live in the model)
  uint64_t seed = 0;
  std::vector<std::string> patterns;  // optimizer patterns inserted, as "name/perturbation"
  std::vector<DType> node_dtypes;     // per node: the dtype of its primary operand
};

class GraphBuilder {
 public:
  // `guard` is Clip, or nullptr when the policy forbids it (repairs then draw fresh values).
  GraphBuilder(const GenPolicy& policy, Rng& rng, const OpSpec* guard);

  // A builder holding an existing model: every value gets its dtype and shape from strict shape
  // inference and a range from its data (initializers, supplied inputs) or from the range rules
  // of registered ops (unregistered ops: the dtype's full range). Error for a model that fails
  // inference or has a value without a static, supported tensor type.
  static std::expected<GraphBuilder, std::string> from_model(const onnx::ModelProto& model,
                                                             const TensorMap& inputs,
                                                             const GenPolicy& policy, Rng& rng,
                                                             const OpSpec* guard);

  const GenPolicy& policy() const { return policy_; }
  Rng& rng() { return rng_; }
  const std::vector<Value>& values() const { return values_; }
  const Value& value(int index) const { return values_[static_cast<size_t>(index)]; }
  int budget() const { return budget_; }
  // Whether the op instance being planned draws edge shapes and attribute values on purpose
  // (empty tensors, negative axes, INT64 bounds, rank-0 partners, rare attribute values).
  bool edge() const { return edge_; }
  // Forces the next op instances to be edge instances or not (tests, patterns).
  void force_edge(std::optional<bool> edge) { forced_edge_ = edge; }
  void set_budget(int nodes) { budget_ = nodes; }

  // ----- growth -----
  // Adds one op instance: primary, dtype, operand plan, domain repair, emission and, when its
  // output range is too wide, a guard. Returns the index of output 0. `prefer` (a value index)
  // becomes the primary when the op can take it (coverage guidance: a producer->consumer pair).
  int add_op(const OpChoice& choice, int prefer = -1);
  // Whether the op can take a primary of some rank under the policy.
  static bool rank_feasible(const OpSpec& spec, int rank, const GenPolicy& policy);

  // ----- operand makers (for operand plans) -----
  Operand data(int value) const;
  static Operand omitted();
  // A fresh tensor of `dtype` drawn inside `domain` (narrowed to the policy's input or weight
  // range and to the dtype's range); returns its value index.
  int fresh(DType dtype, const Shape& shape, const ValueDomain& domain, Origin origin);
  // `value`, or in its place a fresh graph input of its shape, of the plan's dtype and drawn
  // inside its op's first input domain, when a node computed it in floating point. For operands
  // whose op turns a last-bit difference into a whole step (Floor, an index, a float -> integer
  // cast): upstream ops legitimately differ in the last bits between backends, while fresh data
  // is read bit for bit by every one.
  int exact_operand(int value, const Plan& plan);
  Operand const_ints(const std::vector<int64_t>& ints);
  Operand const_scalar(DType dtype, double v) { return const_filled(dtype, {}, v); }
  // An initializer of `shape` holding v (rounded to the dtype) everywhere.
  Operand const_filled(DType dtype, const Shape& shape, double v);
  // An initializer holding exactly `t` (Resize's scales and roi, distinct scatter indices).
  Operand const_tensor(Tensor t);
  Operand fresh_condition(const Shape& shape, Origin origin);
  // A fresh operand is an initializer or a graph input, per the policy.
  Origin operand_origin();
  Shape random_shape(size_t rank);
  // A shape broadcast-compatible with `s`: fewer leading dims, unit dims, widened unit dims.
  Shape partner_shape(const Shape& s);
  bool fits_broadcast(const std::vector<Shape>& shapes) const;
  // The other operand of a broadcasting op, of `dtype`: a compatible existing value or a fresh one.
  int broadcast_partner(int primary, DType dtype, const ValueDomain& domain);
  // An existing value of this dtype and shape (when the policy reuses), else make_fresh().
  int pick_value(DType dtype, const Shape& shape, const std::function<int()>& make_fresh);
  // Existing values matching `pred`, when the policy reuses operands (else none).
  std::vector<int> reusable(const std::function<bool(const Value&)>& pred);

  // ----- samplers -----
  // A value of attribute `name`'s declared choices (AttrDomain of the op being planned): the
  // value a focus asks for (focus_attr), else a random one.
  double pick_choice(const OpSpec& spec, const char* name);
  // Coverage guidance: from now on, the samplers draw `value` for attribute `name` of `op`
  // (and do not leave it out at its default).
  void focus_attr(const std::string& op, const std::string& name, double value);
  // A non-empty random subset of [0, rank), in random order.
  std::vector<int64_t> random_axes(int64_t rank);
  // `axis` written in its negative form at the policy's rate.
  int64_t written_axis(int64_t axis, int64_t rank);
  // Draws an int attribute from its domain; may leave it out (schema default). Returns the value
  // in effect.
  int64_t draw_int_attr(Plan& plan, const char* name);
  void draw_float_attr(Plan& plan, const char* name);
  // Adds an ints attribute unless it equals the schema default and the policy omits it.
  void set_ints_attr(Plan& plan, const char* name, const std::vector<int64_t>& values,
                     int64_t default_each);

  // ----- repair and emission -----
  // Every data operand outside its input's domain is repaired: a Clip guard in front of it when
  // the node budget allows (keeping one node for the op), else a fresh value drawn in the domain.
  void repair_domains(Plan& plan);
  // When the output range would exceed the cap and no node is left for a guard after the op,
  // operands are swapped (last first) for fresh small values until it fits.
  void bound_magnitude(Plan& plan);
  // Emits the node; returns the value index of each output.
  std::vector<int> emit(const Plan& plan);
  // When the value's range leaves value_bounds and a node is left, guards it; returns the value
  // to use from now on.
  int bound_output(int value);
  // Emits Clip(value, lo, hi) and returns the guarded value.
  int insert_guard(int value, const Interval& bounds);
  // The range a value of `dtype` may hold without a guard: the policy cap within the dtype.
  Interval value_bounds(DType dtype) const;

  // Graph outputs (unconsumed values, plus some intermediates), opset and metadata.
  GeneratedModel finish(uint64_t seed);

 private:
  int choose_primary(const OpChoice& choice, int slot, int prefer, DType* dtype);
  const double* focused_attr(const OpSpec& spec, std::string_view name) const;
  bool primary_fits(const OpSpec& spec, const Shape& s) const;
  Shape fresh_primary_shape(const OpSpec& spec);
  Interval fresh_range(DType dtype, const ValueDomain& domain, Origin origin);
  Interval guard_bounds(DType dtype, const ValueDomain& domain, const Interval& range) const;
  std::string add_tensor(Tensor t, Origin origin);
  std::string unique_name(const char* prefix, int& counter);
  int add_value(Value v);

  const GenPolicy& policy_;
  Rng& rng_;
  const OpSpec* guard_;
  onnx::ModelProto model_;
  TensorMap inputs_;
  std::vector<Value> values_;
  std::vector<DType> node_dtypes_;
  std::vector<std::string> taken_names_;  // names of a model the builder started from (sorted)
  int budget_ = 0;
  bool edge_ = false;
  std::optional<bool> forced_edge_;
  const OpSpec* current_ = nullptr;  // the op being planned
  struct FocusAttr {
    std::string op, name;
    double value = 0;
  };
  std::vector<FocusAttr> focus_attrs_;
  int node_count_ = 0;
  int input_count_ = 0;
  int initializer_count_ = 0;
  int value_count_ = 0;
};

// Writes a tensor type with static dims into a ValueInfoProto.
void set_value_info(onnx::ValueInfoProto* info, const std::string& name, DType dtype,
                    const Shape& shape);

}  // namespace onnxfuzz
