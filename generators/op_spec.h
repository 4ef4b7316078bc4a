// OpSpec: the single table of operator knowledge (arity, types, attribute domains, shape and value
// rules).
#pragma once

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <expected>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

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
  kData,         // a float tensor flowing through the graph
  kConstInts,    // an int64 constant initializer (axes, shape, starts/ends/steps)
  kConstScalar,  // a float scalar initializer (Clip min/max)
  kCondition,    // a bool tensor (Where's condition), graph input or initializer
};

// Broad families; the generator has one construction recipe per kind.
enum class OpKind {
  kUnary,
  kBinary,
  kMatMul,
  kGemm,
  kConv,
  kPool,
  kReshape,
  kTranspose,
  kConcat,
  kSlice,
  kSqueeze,
  kUnsqueeze,
  kReduce,
  kSoftmax,
  kClip,
  kWhere,
};

enum class AttrType { kInt, kFloat, kInts };

// One attribute value as the generator sets it on a node.
struct Attr {
  std::string name;
  AttrType type = AttrType::kInt;
  int64_t i = 0;
  float f = 0;
  std::vector<int64_t> ints;

  static Attr of_int(std::string name, int64_t v) {
    return {std::move(name), AttrType::kInt, v, 0, {}};
  }
  static Attr of_float(std::string name, float v) {
    return {std::move(name), AttrType::kFloat, 0, v, {}};
  }
  static Attr of_ints(std::string name, std::vector<int64_t> v) {
    return {std::move(name), AttrType::kInts, 0, 0, std::move(v)};
  }
};
using AttrList = std::vector<Attr>;
onnx::AttributeProto attr_to_proto(const Attr& attr);
// The INT, FLOAT and INTS attributes of a node (others are skipped: no spec reads them).
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
  Shape shape;
  Interval range;             // value range of a float input ([v, v] for a scalar constant)
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
// Output shape from the node's input shapes, constant inputs and attributes; error if the
// combination is invalid (the mutator uses the error path to reject edits).
using ShapeRule = std::function<std::expected<Shape, std::string>(const OpSpec&, const NodeSig&)>;
// Output value range from the input ranges (interval transfer function).
using RangeRule = std::function<Interval(const OpSpec&, const NodeSig&)>;
// Whether a value of this shape can be input 0.
using PrimaryRule = std::function<bool(const Shape&)>;

struct OpSpec {
  std::string op_type;
  OpKind kind = OpKind::kUnary;
  int since_version = 0;               // schema version in effect at kTargetOpset
  int min_inputs = 0, max_inputs = 0;  // from the schema (variadic max is huge)
  int min_outputs = 0, max_outputs = 0;
  std::vector<InputSpec> inputs;  // one per formal input, schema order
  std::vector<SchemaAttr> schema_attrs;
  std::vector<AttrDomain> attr_domains;  // the attribute values we draw
  PrimaryRule accepts_primary;           // input-0 shapes this op can take
  ShapeRule shape_rule;
  RangeRule range_rule;

  std::expected<Shape, std::string> output_shape(const NodeSig& sig) const {
    return shape_rule(*this, sig);
  }
  Interval output_range(const NodeSig& sig) const { return range_rule(*this, sig); }
  // Domain of input `index` (the last formal input's domain for variadic tails).
  const ValueDomain& input_domain(size_t index) const;
  const AttrDomain* attr_domain(std::string_view name) const;
  const SchemaAttr* schema_attr(std::string_view name) const;
  // Attribute lookup on a node, falling back to the schema default.
  int64_t attr_int(const NodeSig& sig, std::string_view name) const;
  float attr_float(const NodeSig& sig, std::string_view name) const;
  std::vector<int64_t> attr_ints(const NodeSig& sig, std::string_view name) const;
  bool has_attr(const NodeSig& sig, std::string_view name) const;
};

// Every spec, in a fixed order; built once (thread-safe) from the ONNX schemas at kTargetOpset.
const std::vector<OpSpec>& all_op_specs();
// nullptr when the op is unknown.
const OpSpec* find_op_spec(std::string_view op_type);

// Numpy-style multidirectional broadcast; error when incompatible.
std::expected<Shape, std::string> broadcast_shapes(const std::vector<Shape>& shapes);
// Interval arithmetic used by the range rules (exposed for the mutator and tests).
Interval interval_mul(const Interval& a, const Interval& b);
Interval interval_scale(const Interval& a, double k);
// Normalizes a possibly negative axis; -1 when out of [-rank, rank).
int64_t normalize_axis(int64_t axis, int64_t rank);

}  // namespace onnxfuzz
