// GraphBuilder: typed values, operand makers, samplers, domain repair, guards and node emission.
#include "generators/graph_builder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "generators/model_io.h"

namespace onnxfuzz {

namespace {

Shape shape_prefix_drop(const Shape& s, size_t n) { return Shape(s.begin() + n, s.end()); }

// The representable value of `dtype` nearest to `v` that does not leave [v, +inf) (up) or
// (-inf, v] (down), so a range written as data or Clip bounds still satisfies the domain it was
// computed for.
double inward(double v, bool up, DType dtype) {
  if (!std::isfinite(v)) return v;
  if (is_integer(dtype)) return up ? std::ceil(v) : std::floor(v);
  if (dtype == DType::kDouble) return v;
  const int mantissa = dtype == DType::kFloat ? 23 : dtype == DType::kFloat16 ? 10 : 7;
  const double tiny = dtype == DType::kFloat16 ? 0x1p-24 : 0x1p-149;
  double r = round_to_dtype(v, dtype);
  // One spacing of the dtype at r moves a bound that rounded outward back inside.
  if (up ? r < v : r > v) {
    const double spacing =
        r == 0 ? tiny : std::max(tiny, std::ldexp(1.0, std::ilogb(r) - mantissa));
    r = round_to_dtype(up ? r + spacing : r - spacing, dtype);
  }
  return r;
}

Interval inward_interval(const Interval& r, DType dtype) {
  return {inward(r.lo, true, dtype), inward(r.hi, false, dtype)};
}

}  // namespace

NodeSig Plan::sig() const {
  NodeSig s;
  s.inputs.reserve(operands.size());
  for (const auto& o : operands) s.inputs.push_back(o.sig);
  s.attrs = attrs;
  return s;
}

void set_value_info(onnx::ValueInfoProto* info, const std::string& name, DType dtype,
                    const Shape& shape) {
  info->set_name(name);
  auto* tensor_type = info->mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(static_cast<int32_t>(dtype));
  auto* dims = tensor_type->mutable_shape();
  for (int64_t d : shape) dims->add_dim()->set_dim_value(d);
}

GraphBuilder::GraphBuilder(const GenPolicy& policy, Rng& rng, const OpSpec* guard)
    : policy_(policy), rng_(rng), guard_(guard) {}

// ----- growth ----------------------------------------------------------------------------------

int GraphBuilder::add_op(const OpChoice& choice, int prefer) {
  const OpSpec& spec = *choice.spec;
  int slot = spec.primary_slots.front();
  if (spec.primary_slots.size() > 1 && rng_.chance(policy_.prob_swap_operands)) {
    slot = spec.primary_slots[1 + static_cast<size_t>(rng_.uniform_int(
                                      0, static_cast<int64_t>(spec.primary_slots.size()) - 2))];
  }
  edge_ = forced_edge_ ? *forced_edge_ : rng_.chance(policy_.prob_edge);
  current_ = &spec;
  DType dtype = DType::kFloat;
  const int primary = choose_primary(choice, slot, prefer, &dtype);
  Plan plan;
  plan.spec = &spec;
  plan.dtype = dtype;
  spec.plan(*this, plan, primary, slot);
  repair_domains(plan);
  bound_magnitude(plan);
  return bound_output(emit(plan).front());
}

int GraphBuilder::bound_output(int value) {
  const Value& v = values_[static_cast<size_t>(value)];
  if (budget_ > 0 && guard_ && guard_->allows_dtype(v.dtype) && policy_.allows_pair(guard_->op_type, v.dtype) &&
      !value_bounds(v.dtype).contains(v.range)) {
    return insert_guard(value, value_bounds(v.dtype));
  }
  return value;
}

bool GraphBuilder::primary_fits(const OpSpec& spec, const Shape& s) const {
  // Scalars (Gemm's C, Clip bounds) only ever broadcast; primaries have rank >= 1.
  return !s.empty() && static_cast<int>(s.size()) <= policy_.max_rank &&
         (spec.empty_ok || shape_numel(s) > 0) && spec.accepts_primary(s, policy_);
}

bool GraphBuilder::rank_feasible(const OpSpec& spec, int rank, const GenPolicy& policy) {
  if (rank > policy.max_rank) return false;
  Shape probe(static_cast<size_t>(rank), std::min<int64_t>(2, policy.max_dim));
  probe[0] = 1;
  return spec.accepts_primary(probe, policy);
}

int GraphBuilder::choose_primary(const OpChoice& choice, int slot, int prefer, DType* dtype) {
  const OpSpec& spec = *choice.spec;
  if (prefer >= 0) {
    const Value& v = values_[static_cast<size_t>(prefer)];
    if (std::find(choice.dtypes.begin(), choice.dtypes.end(), v.dtype) != choice.dtypes.end() &&
        primary_fits(spec, v.shape)) {
      *dtype = v.dtype;
      return prefer;
    }
  }
  if (rng_.chance(policy_.prob_reuse_primary)) {
    std::vector<int> leaves, any;
    for (size_t i = 0; i < values_.size(); ++i) {
      const Value& v = values_[i];
      if (std::find(choice.dtypes.begin(), choice.dtypes.end(), v.dtype) == choice.dtypes.end())
        continue;
      if (!primary_fits(spec, v.shape)) continue;
      any.push_back(static_cast<int>(i));
      if (v.uses == 0) leaves.push_back(static_cast<int>(i));
    }
    int chosen = -1;
    if (!leaves.empty() && rng_.chance(policy_.prob_pick_leaf)) chosen = rng_.pick(leaves);
    if (chosen < 0 && !any.empty()) chosen = rng_.pick(any);
    if (chosen >= 0) {
      *dtype = values_[static_cast<size_t>(chosen)].dtype;
      return chosen;
    }
  }
  *dtype = choice.dtypes[rng_.weighted_index(choice.dtype_weights)];
  return fresh(*dtype, fresh_primary_shape(spec), spec.input_domain(static_cast<size_t>(slot)),
               Origin::kGraphInput);
}

Shape GraphBuilder::fresh_primary_shape(const OpSpec& spec) {
  std::vector<int> ranks;
  for (int r = 1; r <= policy_.max_rank; ++r) {
    if (rank_feasible(spec, r, policy_)) ranks.push_back(r);
  }
  Shape s = random_shape(static_cast<size_t>(rng_.pick(ranks)));
  if (spec.fit_primary) spec.fit_primary(s, rng_);
  if (edge_ && spec.empty_ok && rng_.chance(policy_.prob_edge_empty))
    s[static_cast<size_t>(rng_.uniform_int(0, static_cast<int64_t>(s.size()) - 1))] = 0;
  ONNXFUZZ_CHECK(primary_fits(spec, s), "fresh primary shape does not fit its op");
  return s;
}

// ----- operand makers ----------------------------------------------------------------------------

Operand GraphBuilder::data(int value) const {
  const Value& v = values_[static_cast<size_t>(value)];
  Operand o;
  o.name = v.name;
  o.value = value;
  o.sig.dtype = v.dtype;
  o.sig.shape = v.shape;
  o.sig.range = v.range;
  return o;
}

Operand GraphBuilder::omitted() {
  Operand o;
  o.sig.present = false;
  return o;
}

Origin GraphBuilder::operand_origin() {
  return rng_.chance(policy_.prob_initializer) ? Origin::kInitializer : Origin::kGraphInput;
}

Shape GraphBuilder::random_shape(size_t rank) {
  Shape s(rank);
  for (auto& d : s) d = rng_.uniform_int(1, policy_.max_dim);
  while (shape_numel(s) > policy_.max_elements) {
    auto largest = std::max_element(s.begin(), s.end());
    *largest = (*largest + 1) / 2;
  }
  return s;
}

Shape GraphBuilder::partner_shape(const Shape& s) {
  if (edge_ && rng_.chance(policy_.prob_edge_scalar_partner)) {
    return rng_.uniform_int(0, 1) == 0 ? Shape{} : Shape(s.size(), 1);
  }
  Shape b = s;
  if (b.size() > 1 && rng_.chance(policy_.prob_drop_leading)) {
    b = shape_prefix_drop(
        b, static_cast<size_t>(rng_.uniform_int(1, static_cast<int64_t>(b.size()) - 1)));
  }
  for (auto& d : b) {
    if (d == 1 && policy_.max_dim > 1 && rng_.chance(policy_.prob_expand_unit)) {
      d = rng_.uniform_int(2, policy_.max_dim);
    } else if (rng_.chance(policy_.prob_unit_dim)) {
      d = 1;
    }
  }
  if (!fits_broadcast({s, b})) {
    for (size_t i = 0; i < b.size(); ++i) b[i] = std::min(b[i], s[s.size() - b.size() + i]);
  }
  return b;
}

bool GraphBuilder::fits_broadcast(const std::vector<Shape>& shapes) const {
  auto out = broadcast_shapes(shapes);
  return out && shape_numel(*out) <= policy_.max_elements;
}

std::vector<int> GraphBuilder::reusable(const std::function<bool(const Value&)>& pred) {
  std::vector<int> fits;
  if (!rng_.chance(policy_.prob_reuse_operand)) return fits;
  const bool empty_ok = current_ == nullptr || current_->empty_ok;
  for (size_t i = 0; i < values_.size(); ++i) {
    if (!empty_ok && shape_numel(values_[i].shape) == 0) continue;
    if (pred(values_[i])) fits.push_back(static_cast<int>(i));
  }
  return fits;
}

int GraphBuilder::broadcast_partner(int primary, DType dtype, const ValueDomain& domain) {
  const Shape a = values_[static_cast<size_t>(primary)].shape;
  const std::vector<int> fits =
      reusable([&](const Value& v) { return v.dtype == dtype && fits_broadcast({a, v.shape}); });
  if (!fits.empty()) return rng_.pick(fits);
  return fresh(dtype, partner_shape(a), domain, operand_origin());
}

int GraphBuilder::pick_value(DType dtype, const Shape& shape,
                             const std::function<int()>& make_fresh) {
  const std::vector<int> fits =
      reusable([&](const Value& v) { return v.dtype == dtype && v.shape == shape; });
  if (!fits.empty()) return rng_.pick(fits);
  return make_fresh();
}

Interval GraphBuilder::value_bounds(DType dtype) const {
  const DTypeInfo& info = dtype_info(dtype);
  const double cap = policy_.max_magnitude;
  return {std::max(-cap, info.lowest), std::min(cap, info.highest)};
}

Interval GraphBuilder::fresh_range(DType dtype, const ValueDomain& domain, Origin origin) {
  if (dtype == DType::kBool) return {0, 1};
  Interval base = origin == Origin::kGraphInput ? Interval{policy_.input_lo, policy_.input_hi}
                                                : Interval{-policy_.weight_abs, policy_.weight_abs};
  base = base.intersect(value_bounds(dtype));
  if (base.lo > base.hi) base = value_bounds(dtype);  // unsigned types and a negative range
  const Interval allowed = domain.allowed.intersect(value_bounds(dtype));
  Interval r = base.intersect(allowed);
  if (r.lo > r.hi) {  // the domain lies outside the base range: take a unit span at its edge
    r = std::isfinite(allowed.lo) ? Interval{allowed.lo, std::min(allowed.lo + 1, allowed.hi)}
                                  : Interval{std::max(allowed.hi - 1, allowed.lo), allowed.hi};
  }
  if (domain.min_magnitude > 0) {
    const double m = domain.min_magnitude;
    const bool can_neg = allowed.lo <= -m;
    const bool positive = !can_neg || (r.hi >= m && (r.lo > -m || rng_.uniform_int(0, 1) == 0));
    r = positive ? Interval{std::max(r.lo, m), std::max(r.hi, m)}
                 : Interval{std::min(r.lo, -m), std::min(r.hi, -m)};
  }
  r = inward_interval(r, dtype);
  ONNXFUZZ_CHECK(r.lo <= r.hi, "fresh_range: no representable value in the domain");
  return r;
}

int GraphBuilder::add_value(Value v) {
  values_.push_back(std::move(v));
  return static_cast<int>(values_.size()) - 1;
}

int GraphBuilder::exact_operand(int value, const Plan& plan) {
  const Value& v = this->value(value);
  if (!v.from_node || !is_float(v.dtype)) return value;
  const Shape shape = v.shape;
  return fresh(plan.dtype, shape, plan.spec->input_domain(0), Origin::kGraphInput);
}

int GraphBuilder::fresh(DType dtype, const Shape& shape, const ValueDomain& domain, Origin origin) {
  ONNXFUZZ_CHECK(shape_numel(shape) <= policy_.max_elements &&
                     static_cast<int>(shape.size()) <= policy_.max_rank,
                 "fresh tensor breaks the rank/size limits");
  Interval range = fresh_range(dtype, domain, origin);
  Tensor t = Tensor::zeros(dtype, shape);
  const int64_t n = t.numel();
  if (is_float(dtype)) {
    for (int64_t i = 0; i < n; ++i) t.set_double(i, rng_.uniform_real(range.lo, range.hi));
  } else {
    const auto lo = static_cast<int64_t>(range.lo), hi = static_cast<int64_t>(range.hi);
    for (int64_t i = 0; i < n; ++i) t.set_double(i, static_cast<double>(rng_.uniform_int(lo, hi)));
    if (edge_ && is_integer(dtype) && domain.unconstrained() && n > 0 &&
        rng_.chance(policy_.prob_edge_int_extremes)) {
      // The dtype's extremes, where wrapping and saturation bugs live.
      const DTypeInfo& info = dtype_info(dtype);
      t.set_double(rng_.uniform_int(0, n - 1), info.lowest);
      t.set_double(rng_.uniform_int(0, n - 1), info.highest);
      range = {info.lowest, info.highest};
    }
  }
  Value value;
  value.dtype = dtype;
  value.shape = shape;
  value.range = range;
  value.name = add_tensor(std::move(t), origin);
  return add_value(std::move(value));
}

Operand GraphBuilder::fresh_condition(const Shape& shape, Origin origin) {
  Tensor t = Tensor::zeros(DType::kBool, shape);
  for (auto& b : t.bytes) b = static_cast<std::byte>(rng_.uniform_int(0, 1));
  Operand o;
  o.sig.dtype = DType::kBool;
  o.sig.shape = shape;
  o.sig.range = {0, 1};
  o.name = add_tensor(std::move(t), origin);
  return o;
}

Operand GraphBuilder::const_ints(const std::vector<int64_t>& ints) {
  Operand o;
  o.sig.dtype = DType::kInt64;
  o.sig.shape = {static_cast<int64_t>(ints.size())};
  o.sig.ints = ints;
  o.name = add_tensor(Tensor::of_int64s(o.sig.shape, ints), Origin::kInitializer);
  return o;
}

Operand GraphBuilder::const_tensor(Tensor t) {
  Operand o;
  o.sig.dtype = t.dtype;
  o.sig.shape = t.shape;
  o.sig.range = Interval::point(0);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const Interval v = Interval::point(t.as_double(i));
    o.sig.range = i == 0 ? v : o.sig.range.hull(v);
  }
  if (t.dtype == DType::kInt64) o.sig.ints.assign(t.values<int64_t>().begin(), t.values<int64_t>().end());
  o.name = add_tensor(std::move(t), Origin::kInitializer);
  return o;
}

Operand GraphBuilder::const_filled(DType dtype, const Shape& shape, double v) {
  Tensor t = Tensor::zeros(dtype, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.set_double(i, v);
  Operand o;
  o.sig.dtype = dtype;
  o.sig.shape = shape;
  o.sig.range = Interval::point(round_to_dtype(v, dtype));
  o.name = add_tensor(std::move(t), Origin::kInitializer);
  return o;
}

std::string GraphBuilder::unique_name(const char* prefix, int& counter) {
  for (;;) {
    std::string name = fmt::format("{}{}", prefix, counter++);
    if (!std::binary_search(taken_names_.begin(), taken_names_.end(), name)) return name;
  }
}

std::string GraphBuilder::add_tensor(Tensor t, Origin origin) {
  auto* graph = model_.mutable_graph();
  if (origin == Origin::kGraphInput) {
    std::string name = unique_name("x", input_count_);
    set_value_info(graph->add_input(), name, t.dtype, t.shape);
    inputs_.emplace(name, std::move(t));
    return name;
  }
  std::string name = unique_name("c", initializer_count_);
  *graph->add_initializer() = tensor_to_proto(t, name);
  return name;
}

// ----- samplers ----------------------------------------------------------------------------------

std::vector<int64_t> GraphBuilder::random_axes(int64_t rank) {
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < rank; ++d) {
    if (rng_.chance(policy_.prob_pick_axis)) axes.push_back(d);
  }
  if (axes.empty()) axes.push_back(rng_.uniform_int(0, rank - 1));
  rng_.shuffle(axes);
  return axes;
}

int64_t GraphBuilder::written_axis(int64_t axis, int64_t rank) {
  return edge_ || rng_.chance(policy_.prob_negative_axis) ? axis - rank : axis;
}

const double* GraphBuilder::focused_attr(const OpSpec& spec, std::string_view name) const {
  for (const auto& f : focus_attrs_) {
    if (f.op == spec.op_type && f.name == name) return &f.value;
  }
  return nullptr;
}

void GraphBuilder::focus_attr(const std::string& op, const std::string& name, double value) {
  focus_attrs_.push_back({op, name, value});
}

double GraphBuilder::pick_choice(const OpSpec& spec, const char* name) {
  const AttrDomain* domain = spec.attr_domain(name);
  ONNXFUZZ_CHECK(domain != nullptr && !domain->choices.empty(),
                 "pick_choice: the registration declares no choices for this attribute");
  if (const double* focused = focused_attr(spec, name)) return *focused;
  return rng_.pick(domain->choices);
}

int64_t GraphBuilder::draw_int_attr(Plan& plan, const char* name) {
  const OpSpec& spec = *plan.spec;
  const SchemaAttr* schema = spec.schema_attr(name);
  if (schema && schema->has_default && !focused_attr(spec, name) &&
      rng_.chance(policy_.prob_omit_attr))
    return schema->default_value.i();
  const int64_t v = static_cast<int64_t>(pick_choice(spec, name));
  plan.attrs.push_back(Attr::of_int(name, v));
  return v;
}

void GraphBuilder::draw_float_attr(Plan& plan, const char* name) {
  const OpSpec& spec = *plan.spec;
  const SchemaAttr* schema = spec.schema_attr(name);
  if (schema && schema->has_default && !focused_attr(spec, name) &&
      rng_.chance(policy_.prob_omit_attr))
    return;
  plan.attrs.push_back(Attr::of_float(name, static_cast<float>(pick_choice(spec, name))));
}

void GraphBuilder::set_ints_attr(Plan& plan, const char* name, const std::vector<int64_t>& values,
                                 int64_t default_each) {
  const bool is_default =
      std::all_of(values.begin(), values.end(), [&](int64_t v) { return v == default_each; });
  if (is_default && rng_.chance(policy_.prob_omit_attr)) return;
  plan.attrs.push_back(Attr::of_ints(name, values));
}

// ----- repair and emission -----------------------------------------------------------------------

void GraphBuilder::repair_domains(Plan& plan) {
  for (size_t i = 0; i < plan.operands.size(); ++i) {
    Operand& o = plan.operands[i];
    if (o.value < 0) continue;
    const ValueDomain& domain = plan.spec->input_domain(i);
    const Value& v = values_[static_cast<size_t>(o.value)];
    if (domain.admits(v.range)) continue;
    const DType dtype = v.dtype;
    int repaired;
    if (guard_ && guard_->allows_dtype(dtype) && policy_.allows_pair(guard_->op_type, dtype) &&
        budget_ >= 2 &&
        rng_.chance(policy_.prob_guard_repair)) {
      repaired = insert_guard(o.value, guard_bounds(dtype, domain, v.range));
    } else {
      repaired = fresh(dtype, v.shape, domain, operand_origin());
    }
    ONNXFUZZ_CHECK(domain.admits(values_[static_cast<size_t>(repaired)].range),
                   "domain repair left the value outside its domain");
    o = data(repaired);
  }
}

Interval GraphBuilder::guard_bounds(DType dtype, const ValueDomain& domain,
                                    const Interval& range) const {
  Interval b = domain.allowed.intersect(value_bounds(dtype));
  if (domain.min_magnitude > 0) {
    const double m = domain.min_magnitude;
    b = range.hi >= m || b.lo > -m ? Interval{std::max(b.lo, m), std::max(b.hi, m)}
                                   : Interval{std::min(b.lo, -m), std::min(b.hi, -m)};
  }
  return inward_interval(b, dtype);
}

int GraphBuilder::insert_guard(int value, const Interval& bounds) {
  const DType dtype = values_[static_cast<size_t>(value)].dtype;
  Plan plan;
  plan.spec = guard_;
  plan.dtype = dtype;
  plan.operands = {data(value), const_scalar(dtype, bounds.lo), const_scalar(dtype, bounds.hi)};
  return emit(plan).front();
}

void GraphBuilder::bound_magnitude(Plan& plan) {
  const DType out_dtype = plan.spec->dtype_rule(*plan.spec, plan.sig());
  auto too_big = [&] { return !value_bounds(out_dtype).contains(plan.spec->output_range(plan.sig())); };
  if ((guard_ && guard_->allows_dtype(out_dtype) && policy_.allows_pair(guard_->op_type, out_dtype) &&
       budget_ >= 2) ||
      !too_big())
    return;
  for (size_t i = plan.operands.size(); i-- > 0;) {
    Operand& o = plan.operands[i];
    if (o.value < 0) continue;
    const Value& v = values_[static_cast<size_t>(o.value)];
    o = data(fresh(v.dtype, v.shape, plan.spec->input_domain(i), Origin::kInitializer));
    if (!too_big()) return;
  }
}

std::vector<int> GraphBuilder::emit(const Plan& plan) {
  const OpSpec& spec = *plan.spec;
  const NodeSig sig = plan.sig();
  auto shape = spec.output_shape(sig);
  ONNXFUZZ_CHECK(shape.has_value(), "generator built a node its own shape rule rejects");
  std::vector<OutputType> outputs = {{spec.dtype_rule(spec, sig), std::move(*shape),
                                      spec.output_range(sig)}};
  if (spec.extra_outputs) {
    auto extra = spec.extra_outputs(spec, sig);
    ONNXFUZZ_CHECK(extra.has_value(), "generator built a node its own output rule rejects");
    outputs.insert(outputs.end(), extra->begin(), extra->end());
  }
  for (const auto& out : outputs) {
    ONNXFUZZ_CHECK(shape_numel(out.shape) <= policy_.max_elements &&
                       static_cast<int>(out.shape.size()) <= policy_.max_rank,
                   "generated value breaks the rank/size limits");
  }
  const int index = node_count_++;
  const size_t slot = static_cast<size_t>(spec.primary_slots.front());
  node_dtypes_.push_back(slot < plan.operands.size() ? plan.operands[slot].sig.dtype : plan.dtype);
  auto* node = model_.mutable_graph()->add_node();
  node->set_op_type(spec.op_type);
  node->set_name(fmt::format("n{}_{}", index, spec.op_type));
  for (const auto& o : plan.operands) node->add_input(o.name);
  // Trailing omitted optional inputs are dropped rather than written as "".
  while (node->input_size() > 0 && node->input(node->input_size() - 1).empty())
    node->mutable_input()->RemoveLast();
  for (const auto& a : plan.attrs) *node->add_attribute() = attr_to_proto(a);
  for (const auto& o : plan.operands) {
    if (o.value >= 0) ++values_[static_cast<size_t>(o.value)].uses;
  }
  std::vector<int> made;
  for (auto& out : outputs) {
    Value v;
    v.name = unique_name("v", value_count_);
    node->add_output(v.name);
    v.dtype = out.dtype;
    v.shape = std::move(out.shape);
    // An integer result beyond its dtype wraps: it may then hold any value of the dtype. A float
    // range keeps its excess, so a guard follows it.
    const DTypeInfo& info = dtype_info(v.dtype);
    v.range = out.range;
    if (!is_float(v.dtype) && !dtype_holds(v.dtype, out.range.lo, out.range.hi))
      v.range = {info.lowest, info.highest};
    v.from_node = true;
    made.push_back(add_value(std::move(v)));
  }
  --budget_;
  return made;
}

GeneratedModel GraphBuilder::finish(uint64_t seed) {
  auto* graph = model_.mutable_graph();
  for (const Value& v : values_) {
    if (!v.from_node) continue;
    // An unguarded intermediate beyond the cap is never exposed; its Clip guard is.
    const bool extra =
        value_bounds(v.dtype).contains(v.range) && rng_.chance(policy_.prob_extra_output);
    if (v.uses == 0 || extra) {
      bool listed = false;
      for (const auto& o : graph->output()) listed = listed || o.name() == v.name;
      if (!listed) set_value_info(graph->add_output(), v.name, v.dtype, v.shape);
    }
  }
  model_.set_ir_version(8);
  model_.set_producer_name("onnxfuzz");
  model_.set_producer_version(ONNXFUZZ_VERSION);
  if (model_.opset_import_size() == 0) {
    auto* opset = model_.add_opset_import();
    opset->set_domain("");
    opset->set_version(kTargetOpset);
  }
  if (graph->name().empty()) graph->set_name(fmt::format("onnxfuzz_{}", seed));
  auto* prop = model_.add_metadata_props();
  prop->set_key("onnxfuzz.seed");
  prop->set_value(std::to_string(seed));
  GeneratedModel out;
  out.model = std::move(model_);
  out.inputs = std::move(inputs_);
  out.node_dtypes = std::move(node_dtypes_);
  out.seed = seed;
  return out;
}

// ----- starting from an existing model -----------------------------------------------------------

std::expected<GraphBuilder, std::string> GraphBuilder::from_model(const onnx::ModelProto& model,
                                                                  const TensorMap& inputs,
                                                                  const GenPolicy& policy,
                                                                  Rng& rng, const OpSpec* guard) {
  auto inferred = validate_model(model);
  if (!inferred) return std::unexpected(inferred.error());
  GraphBuilder b(policy, rng, guard);
  const auto& graph = inferred->graph();
  std::map<std::string, ValueType> types;
  auto note = [&](const onnx::ValueInfoProto& info) -> std::expected<void, std::string> {
    auto type = value_type_of(info);
    if (!type) return std::unexpected(fmt::format("value '{}': {}", info.name(), type.error()));
    types[info.name()] = *type;
    return {};
  };
  for (const auto& list : {&graph.input(), &graph.value_info(), &graph.output()}) {
    for (const auto& info : *list) {
      if (auto ok = note(info); !ok) return std::unexpected(ok.error());
    }
  }
  std::map<std::string, int> index;
  auto data_range = [](const Tensor& t) {
    if (t.numel() == 0) return Interval::point(0);
    Interval r{t.as_double(0), t.as_double(0)};
    for (int64_t i = 1; i < t.numel(); ++i) r = r.hull(Interval::point(t.as_double(i)));
    return r;
  };
  for (const auto& init : graph.initializer()) {
    auto t = tensor_from_proto(init);
    if (!t) return std::unexpected(fmt::format("initializer '{}': {}", init.name(), t.error()));
    Value v{init.name(), t->dtype, t->shape, data_range(*t)};
    index[init.name()] = b.add_value(std::move(v));
  }
  for (const auto* info : runtime_inputs(graph)) {
    const ValueType& type = types.at(info->name());
    Value v{info->name(), type.dtype, type.shape, {}};
    auto supplied = inputs.find(info->name());
    v.range = supplied != inputs.end() ? data_range(supplied->second)
                                       : (is_float(type.dtype)
                                              ? Interval{policy.input_lo, policy.input_hi}
                                              : Interval{dtype_info(type.dtype).lowest,
                                                         dtype_info(type.dtype).highest});
    index[info->name()] = b.add_value(std::move(v));
  }
  for (const auto& node : graph.node()) {
    const OpSpec* spec = node.domain().empty() ? find_op_spec(node.op_type()) : nullptr;
    NodeSig sig;
    bool known = spec != nullptr;
    for (const auto& name : node.input()) {
      NodeInput in;
      if (name.empty()) {
        in.present = false;
      } else if (auto it = index.find(name); it != index.end()) {
        const Value& v = b.values_[static_cast<size_t>(it->second)];
        in.dtype = v.dtype;
        in.shape = v.shape;
        in.range = v.range;
        ++b.values_[static_cast<size_t>(it->second)].uses;
      } else {
        known = false;
      }
      sig.inputs.push_back(std::move(in));
    }
    sig.attrs = attrs_of_node(node);
    for (int o = 0; o < node.output_size(); ++o) {
      const std::string& name = node.output(o);
      if (name.empty()) continue;
      auto type = types.find(name);
      if (type == types.end())
        return std::unexpected(fmt::format("value '{}' has no inferred type", name));
      const DTypeInfo& info = dtype_info(type->second.dtype);
      Value v{name, type->second.dtype, type->second.shape, {info.lowest, info.highest}};
      if (known && o == 0) v.range = spec->output_range(sig).intersect(v.range);
      if (v.range.lo > v.range.hi) v.range = {info.lowest, info.highest};
      v.from_node = true;
      index[name] = b.add_value(std::move(v));
    }
  }
  b.model_ = model;
  b.model_.mutable_graph()->clear_output();  // finish() exposes the leaves again
  for (const auto& out : graph.output()) {
    if (auto it = index.find(out.name()); it != index.end()) {
      *b.model_.mutable_graph()->add_output() = out;
      ++b.values_[static_cast<size_t>(it->second)].uses;  // stays an output, need not be a leaf
    }
  }
  b.model_.clear_metadata_props();
  b.inputs_ = inputs;
  for (const auto& [name, _] : index) b.taken_names_.push_back(name);
  for (const auto& node : graph.node()) b.taken_names_.push_back(node.name());
  std::sort(b.taken_names_.begin(), b.taken_names_.end());
  b.node_count_ = graph.node_size();
  return b;
}

}  // namespace onnxfuzz
