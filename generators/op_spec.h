// OpSpec: one registration per operator version (schema facts, type rule, attribute samplers,
// operand plan, shape, dtype and range rules, value domains); the registry every stage reads.
#pragma once

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <expected>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "generators/policy.h"
#include "generators/rng.h"
#include "generators/tensor.h"

namespace onnxfuzz {

// A closed range of real values; infinite bounds mean "unbounded on that side".
struct Interval {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();

  static Interval all() { return {}; }
  static Interval point(double v) { return {v, v}; }
  bool contains(const Interval& inner) const { return lo <= inner.lo && inner.hi <= hi; }
  bool finite() const { return std::isfinite(lo) && std::isfinite(hi); }
  double magnitude() const { return std::max(std::abs(lo), std::abs(hi)); }
  Interval hull(const Interval& other) const {
    return {std::min(lo, other.lo), std::max(hi, other.hi)};
  }
  Interval intersect(const Interval& other) const {
    return {std::max(lo, other.lo), std::min(hi, other.hi)};
  }
  bool operator==(const Interval&) const = default;
};

// The values one input may hold for the op's output to stay finite and well conditioned
// (Log needs x >= 0.01, a Div denominator needs |x| >= 0.5, Exp needs x <= 8, ...).
struct ValueDomain {
  Interval allowed;  // every value must lie in here
  double min_magnitude =
      0;  // and, when > 0, the whole range must keep |x| >= this on one side of 0

  bool unconstrained() const { return allowed == Interval::all() && min_magnitude == 0; }
  bool admits(const Interval& range) const;
};

// What an input is made of when the generator builds it.
enum class InputRole {
  kData,         // a tensor of the node's dtype flowing through the graph
  kConstInts,    // an int64 constant initializer (axes, shape, starts/ends/steps)
  kConstScalar,  // a scalar initializer of the node's dtype (Clip min/max)
  kCondition,    // a bool tensor (Where's condition), graph input or initializer
};

enum class AttrType { kInt, kFloat, kInts, kFloats, kString, kTensor };

// One attribute value as the generator sets it on a node.
struct Attr {
  std::string name;
  AttrType type = AttrType::kInt;
  int64_t i = 0;
  float f = 0;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::string s;
  std::optional<Tensor> t;  // a TENSOR attribute (ConstantOfShape's value, Constant)

  static Attr of_int(std::string name, int64_t v) {
    Attr a;
    a.name = std::move(name);
    a.type = AttrType::kInt;
    a.i = v;
    return a;
  }
  static Attr of_float(std::string name, float v) {
    Attr a;
    a.name = std::move(name);
    a.type = AttrType::kFloat;
    a.f = v;
    return a;
  }
  static Attr of_ints(std::string name, std::vector<int64_t> v) {
    Attr a;
    a.name = std::move(name);
    a.type = AttrType::kInts;
    a.ints = std::move(v);
    return a;
  }
  static Attr of_floats(std::string name, std::vector<float> v) {
    Attr a;
    a.name = std::move(name);
    a.type = AttrType::kFloats;
    a.floats = std::move(v);
    return a;
  }
  static Attr of_string(std::string name, std::string v) {
    Attr a;
    a.name = std::move(name);
    a.type = AttrType::kString;
    a.s = std::move(v);
    return a;
  }
  static Attr of_tensor(std::string name, Tensor v) {
    Attr a;
    a.name = std::move(name);
    a.type = AttrType::kTensor;
    a.t = std::move(v);
    return a;
  }
};
using AttrList = std::vector<Attr>;
onnx::AttributeProto attr_to_proto(const Attr& attr);
// The INT, FLOAT, INTS, FLOATS, STRING and TENSOR attributes of a node (others are skipped).
AttrList attrs_of_node(const onnx::NodeProto& node);

// How the values of one attribute are drawn.
enum class AttrDraw {
  kChoice,       // one of `choices`
  kPerSpatial,   // one of `choices` per spatial dim of input 0 (kernel_shape, strides, ...)
  kAxis,         // one axis of input 0, in [-rank, rank)
  kAxes,         // a non-empty set of distinct axes of input 0
  kPermutation,  // a permutation of input 0's axes
};
struct AttrDomain {
  std::string name;
  AttrDraw draw = AttrDraw::kChoice;
  std::vector<double> choices;  // for kChoice / kPerSpatial
};

// One node as the rules see it: its inputs (shape, value range, constant data) and attributes.
struct NodeInput {
  bool present = true;  // false for an omitted optional input
  DType dtype = DType::kFloat;
  Shape shape;
  Interval range;             // value range ([v, v] for a scalar constant)
  std::vector<int64_t> ints;  // data of a kConstInts input
};
struct NodeSig {
  std::vector<NodeInput> inputs;
  AttrList attrs;
};

// Formal input as ONNX declares it, plus our role and value domain.
struct InputSpec {
  std::string name;                   // from the schema
  bool optional = false;              // from the schema
  bool variadic = false;              // from the schema
  std::vector<DType> allowed_dtypes;  // from the schema (only dtypes onnxfuzz can hold)
  InputRole role = InputRole::kData;
  ValueDomain domain;  // ours: the values that keep the output finite
};

// Attribute as ONNX declares it: name, type and default, read from the schema.
struct SchemaAttr {
  std::string name;
  onnx::AttributeProto::AttributeType type = onnx::AttributeProto::UNDEFINED;
  bool required = false;
  bool has_default = false;
  onnx::AttributeProto default_value;
};

struct OpSpec;
class GraphBuilder;
struct Plan;

// Output 0's shape from the node's input shapes, constant inputs and attributes; error if the
// combination is invalid (the mutator uses the error path to reject edits).
using ShapeRule = std::function<std::expected<Shape, std::string>(const OpSpec&, const NodeSig&)>;
// Output 0's value range from the input ranges (interval transfer function).
using RangeRule = std::function<Interval(const OpSpec&, const NodeSig&)>;
// Output 0's element type.
using DTypeRule = std::function<DType(const OpSpec&, const NodeSig&)>;
// Outputs after the first (TopK's indices, Split's parts), when the op has more.
struct OutputType {
  DType dtype = DType::kFloat;
  Shape shape;
  Interval range;
};
using ExtraOutputsRule = std::function<std::expected<std::vector<OutputType>, std::string>(
    const OpSpec&, const NodeSig&)>;
// Whether a value of this shape can be the primary operand under this policy.
using PrimaryRule = std::function<bool(const Shape&, const GenPolicy&)>;
// Adjusts a random shape so it fits as a fresh primary (Squeeze needs a unit dim).
using FitPrimary = void (*)(Shape&, Rng&);
// The operand plan: given the primary value and the slot it goes to, fills in the other
// operands and the attributes with the builder's operand makers and samplers.
using OperandPlan = void (*)(GraphBuilder&, Plan&, int primary, int slot);

struct OpSpec {
  std::string op_type;
  int since_version = 0;               // schema version in effect at kTargetOpset
  int min_inputs = 0, max_inputs = 0;  // from the schema (variadic max is huge)
  int min_outputs = 0, max_outputs = 0;
  std::vector<InputSpec> inputs;  // one per formal input, schema order
  std::vector<SchemaAttr> schema_attrs;
  std::vector<AttrDomain> attr_domains;  // the attribute values we draw

  // Type rule: the dtypes the primary operand (and every data operand sharing its type
  // parameter) may take: the schema's constraint, less what the registration excludes.
  std::vector<DType> dtypes;
  std::vector<int> primary_slots = {0};  // input slots the primary may go to
  PrimaryRule accepts_primary;           // primary shapes this op can take
  FitPrimary fit_primary = nullptr;
  bool empty_ok = false;  // the operand plan and rules handle zero-size dims
  bool commutative = false;  // f(a, b) == f(b, a): the mutator may swap the two inputs
  OperandPlan plan = nullptr;
  ShapeRule shape_rule;
  RangeRule range_rule;
  DTypeRule dtype_rule;  // output 0's dtype; default: the primary's
  ExtraOutputsRule extra_outputs;

  std::expected<Shape, std::string> output_shape(const NodeSig& sig) const {
    return shape_rule(*this, sig);
  }
  Interval output_range(const NodeSig& sig) const { return range_rule(*this, sig); }
  bool allows_dtype(DType d) const {
    return std::find(dtypes.begin(), dtypes.end(), d) != dtypes.end();
  }
  // Domain of input `index` (the last formal input's domain for variadic tails).
  const ValueDomain& input_domain(size_t index) const;
  const AttrDomain* attr_domain(std::string_view name) const;
  const SchemaAttr* schema_attr(std::string_view name) const;
  // Attribute lookup on a node, falling back to the schema default.
  int64_t attr_int(const NodeSig& sig, std::string_view name) const;
  float attr_float(const NodeSig& sig, std::string_view name) const;
  std::vector<int64_t> attr_ints(const NodeSig& sig, std::string_view name) const;
  std::string attr_string(const NodeSig& sig, std::string_view name) const;
  std::vector<float> attr_floats(const NodeSig& sig, std::string_view name) const;
  bool has_attr(const NodeSig& sig, std::string_view name) const;
};

// Builds one OpSpec: the ONNX schema's facts at kTargetOpset first (never retyped), then our
// rules, samplers and domains on top. Used by the registrations in generators/ops/.
class SpecBuilder {
 public:
  explicit SpecBuilder(std::string op_type);
  SpecBuilder& plan(OperandPlan plan);
  SpecBuilder& shape(ShapeRule rule);
  SpecBuilder& range(RangeRule rule);
  SpecBuilder& output_dtype(DTypeRule rule);
  SpecBuilder& extra_outputs(ExtraOutputsRule rule);
  SpecBuilder& primary(PrimaryRule rule);
  SpecBuilder& primary_slots(std::vector<int> slots);
  SpecBuilder& fit_primary(FitPrimary fit);
  // The op takes empty tensors (zero-size dims) as its primary; edge instances then draw them.
  SpecBuilder& allows_empty();
  // The op's two inputs may trade places without changing its result (Add, Mul, And, Equal).
  SpecBuilder& commutative();
  // Restricts the type rule to these dtypes (intersected with the schema's).
  SpecBuilder& only_dtypes(const std::vector<DType>& dtypes);
  SpecBuilder& exclude_dtypes(const std::vector<DType>& dtypes);
  SpecBuilder& role(size_t input, InputRole role);
  SpecBuilder& domain(size_t input, ValueDomain domain);
  SpecBuilder& draw(std::string name, AttrDraw draw, std::vector<double> choices = {});
  OpSpec build();

 private:
  OpSpec spec_;
  size_t type_input_ = 0;  // the formal input whose type constraint is the type rule
  std::vector<DType> restrict_, excluded_;  // registration narrowing of the schema types
};

// Registers one OpSpec factory; one static instance per operator version in generators/ops/.
struct OpRegistrar {
  explicit OpRegistrar(OpSpec (*make)());
};
#define ONNXFUZZ_OP_CAT2(a, b) a##b
#define ONNXFUZZ_OP_CAT(a, b) ONNXFUZZ_OP_CAT2(a, b)
// Usage, at namespace scope in a generators/ops/ file:
//   ONNXFUZZ_OP(Relu) { return SpecBuilder("Relu").plan(...)....build(); }
#define ONNXFUZZ_OP(name)                                                       \
  static ::onnxfuzz::OpSpec ONNXFUZZ_OP_CAT(make_op_, name)();                  \
  static const ::onnxfuzz::OpRegistrar ONNXFUZZ_OP_CAT(op_registrar_, name)(    \
      ONNXFUZZ_OP_CAT(make_op_, name));                                         \
  static ::onnxfuzz::OpSpec ONNXFUZZ_OP_CAT(make_op_, name)()

// Every registered spec, sorted by (op type, since version); built once (thread-safe).
const std::vector<OpSpec>& all_op_specs();
// nullptr when the op is unknown.
const OpSpec* find_op_spec(std::string_view op_type);
// The dtypes of the table that a schema type string list names ("tensor(float)", ...).
std::vector<DType> dtypes_of(const std::vector<std::string>& type_strs);

// Numpy-style multidirectional broadcast; error when incompatible.
std::expected<Shape, std::string> broadcast_shapes(const std::vector<Shape>& shapes);
// Interval arithmetic used by the range rules (exposed for the mutator and tests).
Interval interval_mul(const Interval& a, const Interval& b);
Interval interval_scale(const Interval& a, double k);
// Normalizes a possibly negative axis; -1 when out of [-rank, rank).
int64_t normalize_axis(int64_t axis, int64_t rank);

}  // namespace onnxfuzz
