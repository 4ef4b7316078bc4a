// The operator registry: schema reading (never retyped), the SpecBuilder, attribute lookup and
// the interval and broadcast helpers every rule uses. The registrations live in generators/ops/.
#include "generators/op_spec.h"

#include <fmt/format.h>
#include <onnx/defs/schema.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "generators/model_io.h"
#include "generators/op_rules.h"

namespace onnxfuzz {

namespace {

std::vector<OpSpec (*)()>& registered_factories() {
  static std::vector<OpSpec (*)()> factories;
  return factories;
}

}  // namespace

OpRegistrar::OpRegistrar(OpSpec (*make)()) { registered_factories().push_back(make); }

std::vector<DType> dtypes_of(const std::vector<std::string>& type_strs) {
  std::vector<DType> out;
  for (const auto& s : type_strs) {
    for (const auto& row : all_dtypes()) {
      if (s == row.onnx_type) out.push_back(row.dtype);
    }
  }
  return out;
}

SpecBuilder::SpecBuilder(std::string op_type) {
  spec_.op_type = std::move(op_type);
  const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(spec_.op_type, kTargetOpset, "");
  ONNXFUZZ_CHECK(schema != nullptr, "op registration names an op ONNX does not know at kTargetOpset");
  spec_.since_version = schema->since_version();
  spec_.min_inputs = schema->min_input();
  spec_.max_inputs = schema->max_input();
  spec_.min_outputs = schema->min_output();
  spec_.max_outputs = schema->max_output();
  for (const auto& formal : schema->inputs()) {
    InputSpec in;
    in.name = formal.GetName();
    in.optional = formal.GetOption() == onnx::OpSchema::Optional;
    in.variadic = formal.GetOption() == onnx::OpSchema::Variadic;
    std::vector<std::string> type_strs = {formal.GetTypeStr()};
    for (const auto& param : schema->typeConstraintParams()) {
      if (param.type_param_str == formal.GetTypeStr()) type_strs = param.allowed_type_strs;
    }
    in.allowed_dtypes = dtypes_of(type_strs);
    spec_.inputs.push_back(std::move(in));
  }
  for (const auto& [name, attr] : schema->attributes()) {
    SchemaAttr a;
    a.name = name;
    a.type = attr.type;
    a.required = attr.required;
    a.has_default = !attr.required && attr.default_value.type() != onnx::AttributeProto::UNDEFINED;
    a.default_value = attr.default_value;
    spec_.schema_attrs.push_back(std::move(a));
  }
  spec_.accepts_primary = rules::min_rank(1);
}

SpecBuilder& SpecBuilder::plan(OperandPlan plan) {
  spec_.plan = plan;
  return *this;
}
SpecBuilder& SpecBuilder::shape(ShapeRule rule) {
  spec_.shape_rule = std::move(rule);
  return *this;
}
SpecBuilder& SpecBuilder::range(RangeRule rule) {
  spec_.range_rule = std::move(rule);
  return *this;
}
SpecBuilder& SpecBuilder::output_dtype(DTypeRule rule) {
  spec_.dtype_rule = std::move(rule);
  return *this;
}
SpecBuilder& SpecBuilder::extra_outputs(ExtraOutputsRule rule) {
  spec_.extra_outputs = std::move(rule);
  return *this;
}
SpecBuilder& SpecBuilder::primary(PrimaryRule rule) {
  spec_.accepts_primary = std::move(rule);
  return *this;
}
SpecBuilder& SpecBuilder::primary_slots(std::vector<int> slots) {
  ONNXFUZZ_CHECK(!slots.empty(), "primary_slots: no slot");
  spec_.primary_slots = std::move(slots);
  type_input_ = static_cast<size_t>(spec_.primary_slots.front());
  return *this;
}
SpecBuilder& SpecBuilder::fit_primary(FitPrimary fit) {
  spec_.fit_primary = fit;
  return *this;
}
SpecBuilder& SpecBuilder::allows_empty() {
  spec_.empty_ok = true;
  return *this;
}
SpecBuilder& SpecBuilder::commutative() {
  spec_.commutative = true;
  return *this;
}
SpecBuilder& SpecBuilder::only_dtypes(const std::vector<DType>& dtypes) {
  restrict_ = dtypes;
  return *this;
}
SpecBuilder& SpecBuilder::exclude_dtypes(const std::vector<DType>& dtypes) {
  excluded_ = dtypes;
  return *this;
}
SpecBuilder& SpecBuilder::role(size_t input, InputRole role) {
  ONNXFUZZ_CHECK(input < spec_.inputs.size(), "role: no such formal input");
  spec_.inputs[input].role = role;
  return *this;
}
SpecBuilder& SpecBuilder::domain(size_t input, ValueDomain domain) {
  ONNXFUZZ_CHECK(input < spec_.inputs.size(), "domain: no such formal input");
  spec_.inputs[input].domain = domain;
  return *this;
}
SpecBuilder& SpecBuilder::draw(std::string name, AttrDraw draw, std::vector<double> choices) {
  spec_.attr_domains.push_back({std::move(name), draw, std::move(choices)});
  return *this;
}

OpSpec SpecBuilder::build() {
  ONNXFUZZ_CHECK(spec_.plan != nullptr && spec_.shape_rule && spec_.range_rule,
                 "op registration lacks an operand plan, a shape rule or a range rule");
  ONNXFUZZ_CHECK(type_input_ < spec_.inputs.size(), "op registration: type input out of range");
  auto listed = [](const std::vector<DType>& list, DType d) {
    return std::find(list.begin(), list.end(), d) != list.end();
  };
  for (DType d : spec_.inputs[type_input_].allowed_dtypes) {
    if (!restrict_.empty() && !listed(restrict_, d)) continue;
    if (listed(excluded_, d)) continue;
    spec_.dtypes.push_back(d);
  }
  ONNXFUZZ_CHECK(!spec_.dtypes.empty(), "op registration leaves no dtype");
  for (const auto& in : spec_.inputs) {
    if (in.role == InputRole::kConstInts) {
      ONNXFUZZ_CHECK(listed(in.allowed_dtypes, DType::kInt64),
                     "op registration: a kConstInts input the schema does not type int64");
    }
    if (in.role == InputRole::kCondition) {
      ONNXFUZZ_CHECK(listed(in.allowed_dtypes, DType::kBool),
                     "op registration: a kCondition input the schema does not type bool");
    }
  }
  if (!spec_.dtype_rule) spec_.dtype_rule = rules::dtype_of_input(type_input_);
  return std::move(spec_);
}

bool ValueDomain::admits(const Interval& range) const {
  if (!allowed.contains(range)) return false;
  if (min_magnitude > 0) return range.lo >= min_magnitude || range.hi <= -min_magnitude;
  return true;
}

onnx::AttributeProto attr_to_proto(const Attr& attr) {
  onnx::AttributeProto proto;
  proto.set_name(attr.name);
  switch (attr.type) {
    case AttrType::kInt:
      proto.set_type(onnx::AttributeProto::INT);
      proto.set_i(attr.i);
      break;
    case AttrType::kFloat:
      proto.set_type(onnx::AttributeProto::FLOAT);
      proto.set_f(attr.f);
      break;
    case AttrType::kInts:
      proto.set_type(onnx::AttributeProto::INTS);
      for (int64_t v : attr.ints) proto.add_ints(v);
      break;
    case AttrType::kFloats:
      proto.set_type(onnx::AttributeProto::FLOATS);
      for (float v : attr.floats) proto.add_floats(v);
      break;
    case AttrType::kString:
      proto.set_type(onnx::AttributeProto::STRING);
      proto.set_s(attr.s);
      break;
    case AttrType::kTensor:
      proto.set_type(onnx::AttributeProto::TENSOR);
      *proto.mutable_t() = tensor_to_proto(*attr.t, "");
      break;
  }
  return proto;
}

AttrList attrs_of_node(const onnx::NodeProto& node) {
  AttrList out;
  for (const auto& a : node.attribute()) {
    switch (a.type()) {
      case onnx::AttributeProto::INT:
        out.push_back(Attr::of_int(a.name(), a.i()));
        break;
      case onnx::AttributeProto::FLOAT:
        out.push_back(Attr::of_float(a.name(), a.f()));
        break;
      case onnx::AttributeProto::INTS:
        out.push_back(Attr::of_ints(a.name(), {a.ints().begin(), a.ints().end()}));
        break;
      case onnx::AttributeProto::FLOATS:
        out.push_back(Attr::of_floats(a.name(), {a.floats().begin(), a.floats().end()}));
        break;
      case onnx::AttributeProto::STRING:
        out.push_back(Attr::of_string(a.name(), a.s()));
        break;
      case onnx::AttributeProto::TENSOR:
        if (auto t = tensor_from_proto(a.t())) out.push_back(Attr::of_tensor(a.name(), *t));
        break;
      default:
        break;
    }
  }
  return out;
}

const ValueDomain& OpSpec::input_domain(size_t index) const {
  static const ValueDomain kAny;
  if (inputs.empty()) return kAny;
  return index < inputs.size() ? inputs[index].domain
                               : (inputs.back().variadic ? inputs.back().domain : kAny);
}

const AttrDomain* OpSpec::attr_domain(std::string_view name) const {
  for (const auto& d : attr_domains) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

const SchemaAttr* OpSpec::schema_attr(std::string_view name) const {
  for (const auto& a : schema_attrs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

static const Attr* find_attr(const NodeSig& sig, std::string_view name) {
  for (const auto& a : sig.attrs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

bool OpSpec::has_attr(const NodeSig& sig, std::string_view name) const {
  return find_attr(sig, name) != nullptr;
}

int64_t OpSpec::attr_int(const NodeSig& sig, std::string_view name) const {
  if (const Attr* a = find_attr(sig, name)) return a->i;
  const SchemaAttr* s = schema_attr(name);
  return s && s->has_default ? s->default_value.i() : 0;
}

float OpSpec::attr_float(const NodeSig& sig, std::string_view name) const {
  if (const Attr* a = find_attr(sig, name)) return a->f;
  const SchemaAttr* s = schema_attr(name);
  return s && s->has_default ? s->default_value.f() : 0.0f;
}

std::vector<int64_t> OpSpec::attr_ints(const NodeSig& sig, std::string_view name) const {
  if (const Attr* a = find_attr(sig, name)) return a->ints;
  const SchemaAttr* s = schema_attr(name);
  if (!s || !s->has_default) return {};
  return {s->default_value.ints().begin(), s->default_value.ints().end()};
}

std::string OpSpec::attr_string(const NodeSig& sig, std::string_view name) const {
  if (const Attr* a = find_attr(sig, name)) return a->s;
  const SchemaAttr* s = schema_attr(name);
  return s && s->has_default ? s->default_value.s() : std::string();
}

std::vector<float> OpSpec::attr_floats(const NodeSig& sig, std::string_view name) const {
  if (const Attr* a = find_attr(sig, name)) return a->floats;
  const SchemaAttr* s = schema_attr(name);
  if (!s || !s->has_default) return {};
  return {s->default_value.floats().begin(), s->default_value.floats().end()};
}

const std::vector<OpSpec>& all_op_specs() {
  static const std::vector<OpSpec> table = [] {
    std::vector<OpSpec> t;
    for (auto make : registered_factories()) t.push_back(make());
    // Registration order depends on static initialization; the table order must not, since
    // the generator's draws index into it and a seed must give the same model everywhere.
    std::sort(t.begin(), t.end(), [](const OpSpec& a, const OpSpec& b) {
      return std::tie(a.op_type, a.since_version) < std::tie(b.op_type, b.since_version);
    });
    for (size_t i = 1; i < t.size(); ++i) {
      ONNXFUZZ_CHECK(t[i].op_type != t[i - 1].op_type || t[i].since_version != t[i - 1].since_version,
                     "two registrations for one (op, since_version)");
    }
    return t;
  }();
  return table;
}

const OpSpec* find_op_spec(std::string_view op_type) {
  for (const auto& spec : all_op_specs()) {
    if (spec.op_type == op_type) return &spec;
  }
  return nullptr;
}

std::expected<Shape, std::string> broadcast_shapes(const std::vector<Shape>& shapes) {
  size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const auto& s : shapes) {
    const size_t offset = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t& o = out[offset + i];
      if (s[i] == o || s[i] == 1) continue;
      if (o != 1) {
        return std::unexpected(
            fmt::format("shapes not broadcastable at dim {}: {} vs {}", offset + i, o, s[i]));
      }
      o = s[i];
    }
  }
  return out;
}

static double mul_no_nan(double x, double y) { return (x == 0 || y == 0) ? 0.0 : x * y; }

Interval interval_mul(const Interval& a, const Interval& b) {
  const double c[] = {mul_no_nan(a.lo, b.lo), mul_no_nan(a.lo, b.hi), mul_no_nan(a.hi, b.lo),
                      mul_no_nan(a.hi, b.hi)};
  return {*std::min_element(c, c + 4), *std::max_element(c, c + 4)};
}

Interval interval_scale(const Interval& a, double k) { return interval_mul(a, Interval::point(k)); }

int64_t normalize_axis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) return -1;
  return axis < 0 ? axis + rank : axis;
}

}  // namespace onnxfuzz
