// Registrations: indexing and tensor construction (Gather*, Scatter*, Pad, Expand, Tile, Range,
// Shape, Size, ConstantOfShape, Flatten, Split, Identity, DepthToSpace, SpaceToDepth, Trilu,
// Resize).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "generators/graph_builder.h"
#include "generators/op_rules.h"

namespace onnxfuzz {
namespace {

using namespace rules;

constexpr double kInf = std::numeric_limits<double>::infinity();

// Index inputs take either integer type the schema allows.
const std::vector<DType> kIndexDtypes = {DType::kInt32, DType::kInt64};

// String attributes are drawn as an index into a table; the AttrDomain holds the indices.
constexpr std::array<const char*, 3> kReductions = {"none", "add", "mul"};
constexpr std::array<const char*, 3> kPadModes = {"constant", "reflect", "edge"};
constexpr std::array<const char*, 3> kResizeModes = {"nearest", "linear", "cubic"};
constexpr std::array<const char*, 5> kCoordinateModes = {
    "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"};
constexpr std::array<const char*, 4> kNearestModes = {"round_prefer_floor", "round_prefer_ceil",
                                                      "floor", "ceil"};

template <size_t N>
const char* pick_name(GraphBuilder& g, const Plan& plan, const char* attr,
                      const std::array<const char*, N>& names) {
  const auto index = static_cast<size_t>(g.pick_choice(*plan.spec, attr));
  return names.at(index);
}

int64_t pick_int(GraphBuilder& g, const Plan& plan, const char* attr) {
  return static_cast<int64_t>(g.pick_choice(*plan.spec, attr));
}

// Shrinks the largest dims (never below 1) until the shape fits the element budget.
void fit_elements(Shape& s, int64_t max_elements, const std::vector<size_t>& frozen = {}) {
  while (shape_numel(s) > max_elements) {
    size_t largest = s.size();
    for (size_t d = 0; d < s.size(); ++d) {
      if (std::find(frozen.begin(), frozen.end(), d) != frozen.end() || s[d] <= 1) continue;
      if (largest == s.size() || s[d] > s[largest]) largest = d;
    }
    if (largest == s.size()) return;
    s[largest] = (s[largest] + 1) / 2;
  }
}

// An index operand of `shape` whose values lie in [lo, hi]. Edge instances with a 1-D int64
// index write the extremes lo and hi on purpose; otherwise a fresh one (graph input or
// initializer) drawn in the interval.
Operand index_operand(GraphBuilder& g, DType dtype, const Shape& shape, int64_t lo, int64_t hi) {
  const int64_t n = shape_numel(shape);
  if (n == 0 || lo > hi) {
    ONNXFUZZ_CHECK(n == 0, "index_operand: no valid index for a non-empty index tensor");
    if (shape.size() == 1 && dtype == DType::kInt64) return g.const_ints({});
    Operand o = g.data(g.fresh(dtype, shape, ValueDomain{{0, 0}, 0}, g.operand_origin()));
    o.value = -1;
    return o;
  }
  if (g.edge() && shape.size() == 1 && dtype == DType::kInt64) {
    std::vector<int64_t> values(static_cast<size_t>(n));
    for (auto& v : values) v = g.rng().uniform_int(lo, hi);
    values.front() = lo;
    values.back() = hi;
    g.rng().shuffle(values);
    Operand o = g.const_ints(values);
    o.sig.range = {static_cast<double>(lo), static_cast<double>(hi)};
    return o;
  }
  // Always fresh: an existing value's range is only as tight as the rules upstream, and an
  // index out of range is an invalid model, not a finding.
  // The operand is detached from its value (value -1) so that magnitude bounding, which redraws
  // data operands in the op's static domain, never replaces it with out-of-range indices.
  const Interval allowed{static_cast<double>(lo), static_cast<double>(hi)};
  Operand o = g.data(g.fresh(dtype, shape, ValueDomain{allowed, 0}, g.operand_origin()));
  o.value = -1;
  return o;
}

DType pick_index_dtype(GraphBuilder& g) { return g.rng().pick(kIndexDtypes); }

// A random shape of `rank` whose dims lie in [1, max_dim] (fitted to `max_elements`).
Shape small_shape(GraphBuilder& g, size_t rank, int64_t max_elements) {
  Shape s(rank);
  for (auto& d : s) d = g.rng().uniform_int(1, g.policy().max_dim);
  fit_elements(s, std::max<int64_t>(1, max_elements));
  return s;
}

// ================================ Gather ================================

ShapeResult gather_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const Shape& idx = sig.inputs[1].shape;
  const int64_t axis = normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(x.size()));
  if (axis < 0) return fail("Gather axis out of range");
  Shape out(x.begin(), x.begin() + axis);
  out.insert(out.end(), idx.begin(), idx.end());
  out.insert(out.end(), x.begin() + axis + 1, x.end());
  return out;
}

void plan_gather(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape x = g.value(primary).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  const int64_t axis = rng.uniform_int(0, rank - 1);
  plan.attrs.push_back(Attr::of_int("axis", g.written_axis(axis, rank)));
  // Output rank is rank - 1 + q, output size numel(x) / x[axis] * numel(indices).
  const int64_t q = rng.uniform_int(0, policy.max_rank - rank + 1);
  const int64_t rest = x[axis] == 0 ? 1 : std::max<int64_t>(1, shape_numel(x) / x[axis]);
  Shape idx = small_shape(g, static_cast<size_t>(q), policy.max_elements / rest);
  if (x[axis] == 0 && q == 0) idx = {0};
  if (x[axis] == 0) idx[0] = 0;
  const int64_t dim = x[axis];
  plan.operands = {g.data(primary), index_operand(g, pick_index_dtype(g), idx, -dim, dim - 1)};
}

// ============================ GatherElements ============================

ShapeResult gather_elements_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const Shape& idx = sig.inputs[1].shape;
  if (idx.size() != x.size()) return fail("GatherElements indices differ in rank");
  if (normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(x.size())) < 0)
    return fail("GatherElements axis out of range");
  return idx;
}

void plan_gather_elements(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape x = g.value(primary).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  const int64_t axis = rng.uniform_int(0, rank - 1);
  plan.attrs.push_back(Attr::of_int("axis", g.written_axis(axis, rank)));
  Shape idx(x.size());
  for (int64_t d = 0; d < rank; ++d) {
    idx[d] = d == axis ? rng.uniform_int(1, policy.max_dim)
                       : (x[d] == 0 ? 0 : rng.uniform_int(1, x[d]));
  }
  if (x[axis] == 0) idx[axis] = 0;
  fit_elements(idx, policy.max_elements);
  const int64_t dim = x[axis];
  plan.operands = {g.data(primary), index_operand(g, pick_index_dtype(g), idx, -dim, dim - 1)};
}

// =============================== GatherND ===============================

ShapeResult gather_nd_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const Shape& idx = sig.inputs[1].shape;
  const int64_t b = spec.attr_int(sig, "batch_dims");
  const int64_t r = static_cast<int64_t>(x.size()), q = static_cast<int64_t>(idx.size());
  if (r < 1 || q < 1 || b < 0 || b >= std::min(q, r)) return fail("GatherND batch_dims invalid");
  const int64_t k = idx.back();
  if (k < 1 || k > r - b) return fail("GatherND index tuple too long");
  for (int64_t d = 0; d < b; ++d) {
    if (x[d] != idx[d]) return fail("GatherND batch dims differ");
  }
  Shape out(idx.begin(), idx.end() - 1);
  out.insert(out.end(), x.begin() + b + k, x.end());
  return out;
}

void plan_gather_nd(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape x = g.value(primary).shape;
  const int64_t r = static_cast<int64_t>(x.size());
  // batch_dims b < min(q, r); the tuple length k in [1, r - b].
  int64_t b = std::min(pick_int(g, plan, "batch_dims"), r - 1);
  if (g.edge()) b = r - 1;
  const int64_t batch = shape_numel(Shape(x.begin(), x.begin() + b));
  const int64_t k = rng.uniform_int(1, std::clamp<int64_t>(policy.max_elements / batch, 1, r - b));
  // indices = x[:b] ++ free dims ++ [k] (rank b + free + 1); output = x[:b] ++ free ++ x[b+k:]
  // (rank r - k + free).
  const int64_t free_max = std::min({int64_t{2}, policy.max_rank - (r - k), policy.max_rank - b - 1});
  int64_t free = rng.uniform_int(0, std::max<int64_t>(0, free_max));
  // ONNX shape inference leaves a rank-0 GatherND output without a shape: keep rank >= 1.
  if (b == 0 && k == r && free == 0) free = 1;
  const int64_t tail = shape_numel(Shape(x.begin() + b + k, x.end()));
  Shape free_dims =
      small_shape(g, static_cast<size_t>(free), policy.max_elements / std::max<int64_t>(1, batch * std::max<int64_t>(k, tail)));
  Shape idx(x.begin(), x.begin() + b);
  idx.insert(idx.end(), free_dims.begin(), free_dims.end());
  idx.push_back(k);
  if (b > 0) {
    plan.attrs.push_back(Attr::of_int("batch_dims", b));
  } else if (!rng.chance(policy.prob_omit_attr)) {
    plan.attrs.push_back(Attr::of_int("batch_dims", 0));
  }
  // One interval serves every tuple position: the smallest of the indexed dims.
  int64_t dim = std::numeric_limits<int64_t>::max();
  for (int64_t j = 0; j < k; ++j) dim = std::min(dim, x[b + j]);
  if (idx.size() == 1) {
    // A single tuple: each position gets its own dim's full range.
    std::vector<int64_t> tuple;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t d = x[b + j];
      tuple.push_back(g.edge() ? (rng.uniform_int(0, 1) ? d - 1 : -d) : rng.uniform_int(-d, d - 1));
    }
    Operand o = g.const_ints(tuple);
    o.sig.range = {static_cast<double>(*std::min_element(tuple.begin(), tuple.end())),
                   static_cast<double>(*std::max_element(tuple.begin(), tuple.end()))};
    plan.operands = {g.data(primary), o};
    return;
  }
  plan.operands = {g.data(primary), index_operand(g, DType::kInt64, idx, -dim, dim - 1)};
}

// =========================== ScatterElements ============================

// Indices of `shape` whose values along `axis` are distinct within every line (a random
// selection of [0, dim), some written negative).
Tensor distinct_line_indices(GraphBuilder& g, DType dtype, const Shape& shape, int64_t axis,
                             int64_t dim) {
  Rng& rng = g.rng();
  Tensor t = Tensor::zeros(dtype, shape);
  const int64_t m = shape[axis];
  const int64_t outer = shape_numel(Shape(shape.begin(), shape.begin() + axis));
  const int64_t inner = shape_numel(Shape(shape.begin() + axis + 1, shape.end()));
  std::vector<int64_t> targets(static_cast<size_t>(dim));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      std::iota(targets.begin(), targets.end(), 0);
      rng.shuffle(targets);
      for (int64_t j = 0; j < m; ++j) {
        int64_t v = targets[static_cast<size_t>(j)];
        if (g.edge() ? rng.uniform_int(0, 1) == 1 : rng.chance(g.policy().prob_negative_axis))
          v -= dim;
        t.set_double((o * m + j) * inner + i, static_cast<double>(v));
      }
    }
  }
  return t;
}

// Each output element is data updated by up to `count` updates under the reduction.
Interval scatter_range(const Interval& data, const Interval& updates, const std::string& reduction,
                       int64_t count) {
  if (reduction == "add") {
    return {data.lo + static_cast<double>(count) * std::min(0.0, updates.lo),
            data.hi + static_cast<double>(count) * std::max(0.0, updates.hi)};
  }
  if (reduction == "mul") {
    Interval power = Interval::point(1), out = data;
    for (int64_t i = 0; i < count; ++i) {
      power = interval_mul(power, updates);
      out = out.hull(interval_mul(data, power));
    }
    return out;
  }
  return data.hull(updates);
}

Interval scatter_elements_range(const OpSpec& spec, const NodeSig& sig) {
  const Shape& idx = sig.inputs[1].shape;
  const int64_t axis =
      normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(idx.size()));
  const int64_t count = axis < 0 ? shape_numel(idx) : idx[axis];
  return scatter_range(sig.inputs[0].range, sig.inputs[2].range,
                       spec.attr_string(sig, "reduction"), count);
}

ShapeResult scatter_elements_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  if (sig.inputs[1].shape.size() != x.size() || sig.inputs[2].shape != sig.inputs[1].shape)
    return fail("ScatterElements indices/updates shapes invalid");
  if (normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(x.size())) < 0)
    return fail("ScatterElements axis out of range");
  return x;
}

void plan_scatter_elements(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape x = g.value(primary).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  const int64_t axis = rng.uniform_int(0, rank - 1);
  plan.attrs.push_back(Attr::of_int("axis", g.written_axis(axis, rank)));
  // A bool has no agreed sum or product: its scatter only replaces.
  std::string reduction =
      plan.dtype == DType::kBool ? "none" : pick_name(g, plan, "reduction", kReductions);
  if (reduction != "none" || !rng.chance(policy.prob_omit_attr))
    plan.attrs.push_back(Attr::of_string("reduction", reduction));
  Shape idx(x.size());
  for (int64_t d = 0; d < rank; ++d) idx[d] = rng.uniform_int(1, x[d]);
  const int64_t dim = x[axis];
  Operand indices;
  if (reduction == "none") {
    // Distinct targets along every line: with duplicates the result would depend on the
    // update order.
    indices = g.const_tensor(distinct_line_indices(g, pick_index_dtype(g), idx, axis, dim));
  } else {
    indices = index_operand(g, pick_index_dtype(g), idx, -dim, dim - 1);
  }
  const int updates = g.pick_value(plan.dtype, indices.sig.shape, [&] {
    return g.fresh(plan.dtype, indices.sig.shape, plan.spec->input_domain(2), g.operand_origin());
  });
  plan.operands = {g.data(primary), indices, g.data(updates)};
}

// ============================== ScatterND ===============================

Interval scatter_nd_range(const OpSpec& spec, const NodeSig& sig) {
  const Shape& idx = sig.inputs[1].shape;
  const int64_t count = idx.empty() ? 1 : shape_numel(Shape(idx.begin(), idx.end() - 1));
  return scatter_range(sig.inputs[0].range, sig.inputs[2].range,
                       spec.attr_string(sig, "reduction"), count);
}

ShapeResult scatter_nd_shape(const OpSpec&, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const Shape& idx = sig.inputs[1].shape;
  if (idx.empty()) return fail("ScatterND indices must have rank >= 1");
  const int64_t k = idx.back();
  if (k < 1 || k > static_cast<int64_t>(x.size())) return fail("ScatterND tuple length invalid");
  Shape upd(idx.begin(), idx.end() - 1);
  upd.insert(upd.end(), x.begin() + k, x.end());
  if (sig.inputs[2].shape != upd) return fail("ScatterND updates shape invalid");
  return x;
}

void plan_scatter_nd(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape x = g.value(primary).shape;
  const int64_t r = static_cast<int64_t>(x.size());
  std::string reduction =
      plan.dtype == DType::kBool ? "none" : pick_name(g, plan, "reduction", kReductions);
  if (reduction != "none" || !rng.chance(policy.prob_omit_attr))
    plan.attrs.push_back(Attr::of_string("reduction", reduction));
  const int64_t k = rng.uniform_int(1, r);
  const Shape tail(x.begin() + k, x.end());
  Operand indices;
  Shape upd_shape;
  if (reduction == "none") {
    // Distinct index tuples: without reduction, repeated tuples would race.
    const int64_t tail_n = std::max<int64_t>({1, shape_numel(tail), k});
    const Shape head(x.begin(), x.begin() + k);
    const int64_t total = shape_numel(head);
    const int64_t n = rng.uniform_int(1, std::max<int64_t>(1, std::min(total, policy.max_elements / tail_n)));
    std::vector<int64_t> ids(static_cast<size_t>(total));
    std::iota(ids.begin(), ids.end(), 0);
    rng.shuffle(ids);
    Shape lead = n > 1 && n % 2 == 0 && rng.chance(policy.prob_pick_axis) ? Shape{2, n / 2} : Shape{n};
    if (static_cast<int64_t>(lead.size() + std::max<size_t>(tail.size(), 1)) > policy.max_rank)
      lead = {n};
    Shape idx_shape = lead;
    idx_shape.push_back(k);
    Tensor t = Tensor::zeros(DType::kInt64, idx_shape);
    for (int64_t i = 0; i < n; ++i) {
      int64_t id = ids[static_cast<size_t>(i)];
      for (int64_t j = k - 1; j >= 0; --j) {
        int64_t v = id % head[j];
        id /= head[j];
        if (g.edge() ? rng.uniform_int(0, 1) == 1 : rng.chance(policy.prob_negative_axis)) v -= head[j];
        t.set_double(i * k + j, static_cast<double>(v));
      }
    }
    indices = g.const_tensor(std::move(t));
    upd_shape = lead;
    upd_shape.insert(upd_shape.end(), tail.begin(), tail.end());
  } else {
    const int64_t lead_max = std::max<int64_t>(
        0, std::min<int64_t>({2, policy.max_rank - static_cast<int64_t>(tail.size()),
                              policy.max_rank - 1}));
    const int64_t lead_rank = rng.uniform_int(0, lead_max);
    const int64_t tail_n = std::max<int64_t>({1, shape_numel(tail), k});
    Shape lead = small_shape(g, static_cast<size_t>(lead_rank), policy.max_elements / tail_n);
    Shape idx = lead;
    idx.push_back(k);
    int64_t dim = std::numeric_limits<int64_t>::max();
    for (int64_t j = 0; j < k; ++j) dim = std::min(dim, x[j]);
    indices = index_operand(g, DType::kInt64, idx, -dim, dim - 1);
    upd_shape = lead;
    upd_shape.insert(upd_shape.end(), tail.begin(), tail.end());
  }
  const int updates = g.pick_value(plan.dtype, upd_shape, [&] {
    return g.fresh(plan.dtype, upd_shape, plan.spec->input_domain(2), g.operand_origin());
  });
  plan.operands = {g.data(primary), indices, g.data(updates)};
}

// ================================= Pad ==================================

ShapeResult pad_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const auto& pads = sig.inputs[1].ints;
  if (pads.size() != 2 * x.size()) return fail("Pad pads have the wrong length");
  const std::string mode = spec.attr_string(sig, "mode");
  Shape out = x;
  for (size_t d = 0; d < x.size(); ++d) {
    out[d] = x[d] + pads[d] + pads[d + x.size()];
    if (out[d] < 0) return fail("Pad crops below zero");
    if (mode == "reflect" && (pads[d] >= x[d] || pads[d + x.size()] >= x[d]) &&
        (pads[d] > 0 || pads[d + x.size()] > 0))
      return fail("Pad reflect needs pads below the dim");
  }
  return out;
}

Interval pad_range(const OpSpec& spec, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  if (spec.attr_string(sig, "mode") != "constant") return x;
  const auto& pads = sig.inputs[1].ints;
  // Without the pads at hand (a model read back), assume padding happens.
  const bool grows = pads.empty() || std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p > 0; });
  if (!grows) return x;
  const bool has_value = sig.inputs.size() > 2 && sig.inputs[2].present;
  return x.hull(has_value ? sig.inputs[2].range : Interval::point(0));
}

void plan_pad(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape x = g.value(primary).shape;
  const size_t rank = x.size();
  std::string mode = pick_name(g, plan, "mode", kPadModes);
  if (shape_numel(x) == 0) mode = "constant";  // reflect and edge need an element to copy
  if (mode != "constant" || !rng.chance(policy.prob_omit_attr))
    plan.attrs.push_back(Attr::of_string("mode", mode));
  std::vector<int64_t> pads(2 * rank, 0);
  for (size_t d = 0; d < rank; ++d) {
    for (size_t side : {d, d + rank}) {
      int64_t p = pick_int(g, plan, "pads");
      if (mode == "reflect") p = std::clamp<int64_t>(p, 0, x[d] - 1);
      if (mode == "edge") p = std::max<int64_t>(p, 0);
      if (g.edge() && mode == "constant" && rng.chance(policy.prob_negative_axis))
        p = -x[d];  // crops the whole axis
      pads[side] = p;
    }
    // Crops never take more than the axis holds.
    const int64_t total = x[d] + pads[d] + pads[d + rank];
    if (total < 0) pads[d + rank] -= total;
  }
  Shape out = x;
  for (size_t d = 0; d < rank; ++d) out[d] += pads[d] + pads[d + rank];
  if (shape_numel(out) > policy.max_elements) {
    for (auto& p : pads) p = std::min<int64_t>(p, 0);
    // Without the growth a crop may now take more than the axis holds: it stops at empty.
    for (size_t d = 0; d < rank; ++d) {
      const int64_t total = x[d] + pads[d] + pads[d + rank];
      if (total < 0) pads[d + rank] -= total;
    }
  }
  plan.operands = {g.data(primary), g.const_ints(pads)};
  const bool with_value = mode == "constant" ? !rng.chance(policy.prob_omit_optional_input)
                                             : g.edge();  // ignored outside constant mode
  if (with_value) {
    double v = static_cast<double>(rng.pick(plan.spec->attr_domain("constant_value")->choices));
    if (!is_float(plan.dtype)) v = std::round(v);
    if (dtype_info(plan.dtype).lowest >= 0) v = std::abs(v);
    if (plan.dtype == DType::kBool) v = v != 0 ? 1 : 0;
    plan.operands.push_back(g.const_scalar(plan.dtype, v));
  }
}

// ================================ Expand ================================

ShapeResult expand_shape(const OpSpec&, const NodeSig& sig) {
  const auto& target = sig.inputs[1].ints;
  if (sig.inputs[1].shape.size() != 1) return fail("Expand shape must be 1-D");
  return broadcast_shapes({sig.inputs[0].shape, Shape(target.begin(), target.end())});
}

void plan_expand(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape x = g.value(primary).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  // Target rank: fewer dims (they broadcast from the right), the same, or more.
  const int64_t target_rank = rng.uniform_int(g.edge() ? 0 : std::max<int64_t>(0, rank - 1),
                                              policy.max_rank);
  std::vector<int64_t> target(static_cast<size_t>(target_rank));
  for (int64_t i = 0; i < target_rank; ++i) {
    const int64_t d = i - (target_rank - rank);  // the input dim it meets, if any
    if (d < 0) {
      target[i] = rng.uniform_int(1, policy.max_dim);
    } else if (x[d] == 1) {
      target[i] = g.edge() && rng.chance(policy.prob_unit_dim) ? 0 : rng.uniform_int(1, policy.max_dim);
    } else {
      target[i] = rng.chance(policy.prob_unit_dim) ? 1 : x[d];
    }
  }
  auto out = broadcast_shapes({x, Shape(target.begin(), target.end())});
  // Over budget: the widened dims fall back to 1.
  if (!out || shape_numel(*out) > policy.max_elements || out->size() > static_cast<size_t>(policy.max_rank)) {
    for (int64_t i = 0; i < target_rank; ++i) {
      const int64_t d = i - (target_rank - rank);
      target[i] = d < 0 ? 1 : (x[d] == 1 ? 1 : target[i]);
    }
  }
  plan.operands = {g.data(primary), g.const_ints(target)};
}

// ================================= Tile =================================

ShapeResult tile_shape(const OpSpec&, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const auto& repeats = sig.inputs[1].ints;
  if (repeats.size() != x.size()) return fail("Tile repeats have the wrong length");
  Shape out = x;
  for (size_t d = 0; d < x.size(); ++d) {
    if (repeats[d] < 0) return fail("Tile repeat is negative");
    out[d] *= repeats[d];
  }
  return out;
}

void plan_tile(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  const Shape x = g.value(primary).shape;
  std::vector<int64_t> repeats;
  int64_t numel = shape_numel(x);
  for (int64_t d : x) {
    int64_t r = pick_int(g, plan, "repeats");
    if (r == 0 && !g.edge()) r = 1;  // an empty result only in edge instances
    if (numel * r > policy.max_elements) r = 1;
    numel *= r;
    repeats.push_back(r);
    (void)d;
  }
  plan.operands = {g.data(primary), g.const_ints(repeats)};
}

// ================================ Range =================================

// The number of elements Range makes: max(ceil((limit - start) / delta), 0).
int64_t range_count(double start, double limit, double delta) {
  if (delta == 0) return -1;
  return std::max<int64_t>(0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
}

ShapeResult range_shape(const OpSpec&, const NodeSig& sig) {
  for (const auto& in : sig.inputs) {
    if (!in.shape.empty()) return fail("Range inputs must be scalars");
  }
  const int64_t n = range_count(sig.inputs[0].range.lo, sig.inputs[1].range.lo,
                                sig.inputs[2].range.lo);
  if (n < 0) return fail("Range delta is 0");
  return Shape{n};
}

Interval range_range(const OpSpec&, const NodeSig& sig) {
  const double start = sig.inputs[0].range.lo, limit = sig.inputs[1].range.lo,
               delta = sig.inputs[2].range.lo;
  const int64_t n = range_count(start, limit, delta);
  if (n <= 0) return Interval::point(start);
  const double last = start + static_cast<double>(n - 1) * delta;
  return {std::min(start, last), std::max(start, last)};
}

// Start, delta and limit are exact in every allowed dtype (multiples of 1/4 for floats), and
// the limit sits half a step short of a whole count, so no rounding can change the count.
// Range's inputs are scalars known at generation time (shape inference needs them), so the
// primary only selects the dtype.
void plan_range(GraphBuilder& g, Plan& plan, int, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const bool floating = is_float(plan.dtype);
  const double unit = floating ? 0.25 : 1.0;
  const double start = static_cast<double>(rng.uniform_int(-8, 8)) * unit;
  double delta = static_cast<double>(pick_int(g, plan, "delta"));
  if (floating && rng.chance(0.5)) delta *= 0.5;
  const int64_t most = std::min(policy.max_dim * 2, policy.max_elements);
  const int64_t count = g.edge() ? rng.pick(std::vector<int64_t>{0, 1, most}) : rng.uniform_int(1, most);
  double limit;
  if (count == 0) {
    limit = start - delta * static_cast<double>(rng.uniform_int(0, 3));  // wrong side: empty
  } else if (floating) {
    limit = start + delta * (static_cast<double>(count) - 0.5);
  } else {
    const double slack = static_cast<double>(rng.uniform_int(0, static_cast<int64_t>(std::abs(delta)) - 1));
    limit = start + delta * static_cast<double>(count - 1) + (delta > 0 ? 1 + slack : -1 - slack);
  }
  plan.operands = {g.const_scalar(plan.dtype, start), g.const_scalar(plan.dtype, limit),
                   g.const_scalar(plan.dtype, delta)};
}

// ================================ Shape =================================

// Shape-15's [start, end) over the dims, clamped as the spec says.
std::pair<int64_t, int64_t> shape_slice(const OpSpec& spec, const NodeSig& sig) {
  const int64_t rank = static_cast<int64_t>(sig.inputs[0].shape.size());
  int64_t start = spec.attr_int(sig, "start");
  int64_t end = spec.has_attr(sig, "end") ? spec.attr_int(sig, "end") : rank;
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  return {start, std::max(start, end)};
}

ShapeResult shape_shape(const OpSpec& spec, const NodeSig& sig) {
  const auto [start, end] = shape_slice(spec, sig);
  return Shape{end - start};
}

Interval shape_range(const OpSpec& spec, const NodeSig& sig) {
  const auto [start, end] = shape_slice(spec, sig);
  const Shape& x = sig.inputs[0].shape;
  if (start == end) return Interval::point(0);
  Interval r = Interval::point(static_cast<double>(x[start]));
  for (int64_t d = start; d < end; ++d) r = r.hull(Interval::point(static_cast<double>(x[d])));
  return r;
}

void plan_shape(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const int64_t rank = static_cast<int64_t>(g.value(primary).shape.size());
  plan.operands = {g.data(primary)};
  // Draws in units of the rank: -r-1 and r+1 are beyond both ends and get clamped.
  auto draw = [&](const char* name) {
    const int64_t v = pick_int(g, plan, name);
    return g.edge() ? v * (rank + 1) : std::clamp<int64_t>(v, -rank, rank);
  };
  if (!rng.chance(policy.prob_omit_attr)) plan.attrs.push_back(Attr::of_int("start", draw("start")));
  if (!rng.chance(policy.prob_omit_attr)) plan.attrs.push_back(Attr::of_int("end", draw("end")));
}

// ================================= Size =================================

ShapeResult size_shape(const OpSpec&, const NodeSig&) { return Shape{}; }

Interval size_range(const OpSpec&, const NodeSig& sig) {
  return Interval::point(static_cast<double>(shape_numel(sig.inputs[0].shape)));
}

void plan_size(GraphBuilder& g, Plan& plan, int primary, int) {
  plan.operands = {g.data(primary)};
}

// =========================== ConstantOfShape ============================

// The output dtype: the value attribute's, float32 when it is left out.
DType constant_of_shape_dtype(const OpSpec&, const NodeSig& sig) {
  for (const auto& a : sig.attrs) {
    if (a.name == "value" && a.t) return a.t->dtype;
  }
  return DType::kFloat;
}

ShapeResult constant_of_shape_shape(const OpSpec&, const NodeSig& sig) {
  const auto& dims = sig.inputs[0].ints;
  if (sig.inputs[0].shape.size() != 1) return fail("ConstantOfShape input must be 1-D");
  for (int64_t d : dims) {
    if (d < 0) return fail("ConstantOfShape dim is negative");
  }
  return Shape(dims.begin(), dims.end());
}

Interval constant_of_shape_range(const OpSpec&, const NodeSig& sig) {
  for (const auto& a : sig.attrs) {
    if (a.name == "value" && a.t && a.t->numel() == 1) return Interval::point(a.t->as_double(0));
  }
  return Interval::point(0);
}

// The shape is a constant (shape inference needs it); the primary only selects int64.
void plan_constant_of_shape(GraphBuilder& g, Plan& plan, int, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const size_t rank = static_cast<size_t>(rng.uniform_int(g.edge() ? 0 : 1, policy.max_rank));
  Shape s = small_shape(g, rank, policy.max_elements);
  if (g.edge() && rank > 0 && rng.chance(policy.prob_edge_empty))
    s[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(rank) - 1))] = 0;
  plan.operands = {g.const_ints(s)};
  if (rng.chance(policy.prob_omit_attr)) return;  // float32 zeros
  // The output dtype: one the policy draws, among the schema's T2.
  std::vector<DType> dtypes;
  std::vector<double> weights;
  for (DType d : dtypes_of({"tensor(float16)", "tensor(float)", "tensor(double)", "tensor(int8)",
                            "tensor(int16)", "tensor(int32)", "tensor(int64)", "tensor(uint8)",
                            "tensor(uint16)", "tensor(uint32)", "tensor(uint64)",
                            "tensor(bool)"})) {
    auto w = policy.dtype_weights.find(d);
    if (w == policy.dtype_weights.end() || w->second <= 0) continue;
    dtypes.push_back(d);
    weights.push_back(w->second);
  }
  if (dtypes.empty()) dtypes = {DType::kFloat}, weights = {1};
  const DType dtype = dtypes[rng.weighted_index(weights)];
  double v = static_cast<double>(rng.pick(plan.spec->attr_domain("value")->choices));
  const DTypeInfo& info = dtype_info(dtype);
  if (g.edge() && is_integer(dtype)) v = rng.uniform_int(0, 1) ? info.lowest : info.highest;
  if (!is_float(dtype)) v = std::round(v);
  if (info.lowest >= 0) v = std::abs(v);
  if (dtype == DType::kBool) v = v != 0 ? 1 : 0;
  Tensor value = Tensor::zeros(dtype, {1});
  value.set_double(0, v);
  plan.attrs.push_back(Attr::of_tensor("value", std::move(value)));
}

// ================================ Flatten ===============================

ShapeResult flatten_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  int64_t axis = spec.attr_int(sig, "axis");
  if (axis < -rank || axis > rank) return fail("Flatten axis out of range");
  if (axis < 0) axis += rank;
  return Shape{shape_numel(Shape(x.begin(), x.begin() + axis)),
               shape_numel(Shape(x.begin() + axis, x.end()))};
}

void plan_flatten(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const int64_t rank = static_cast<int64_t>(g.value(primary).shape.size());
  plan.operands = {g.data(primary)};
  if (rng.chance(policy.prob_omit_attr)) return;  // axis 1
  // Axis in [-r, r]: 0 and r put every dim on one side.
  const int64_t axis = g.edge() ? rng.pick(std::vector<int64_t>{0, rank, -rank})
                                : rng.uniform_int(0, rank);
  plan.attrs.push_back(Attr::of_int(
      "axis", axis > 0 && rng.chance(policy.prob_negative_axis) ? axis - rank : axis));
}

// ================================= Split ================================

// The part sizes: the split input, or the whole axis as one part when it is left out (the node
// has one output then; NodeSig does not carry the output count).
std::expected<std::vector<int64_t>, std::string> split_parts(const OpSpec& spec,
                                                             const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const int64_t axis = normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(x.size()));
  if (axis < 0) return std::unexpected("Split axis out of range");
  if (sig.inputs.size() < 2 || !sig.inputs[1].present) return std::vector<int64_t>{x[axis]};
  const auto& parts = sig.inputs[1].ints;
  int64_t total = 0;
  for (int64_t p : parts) {
    if (p < 0) return std::unexpected("Split part is negative");
    total += p;
  }
  if (parts.empty() || total != x[axis]) return std::unexpected("Split parts do not sum to the dim");
  return parts;
}

Shape split_part_shape(const OpSpec& spec, const NodeSig& sig, int64_t part) {
  Shape s = sig.inputs[0].shape;
  s[normalize_axis(spec.attr_int(sig, "axis"), static_cast<int64_t>(s.size()))] = part;
  return s;
}

ShapeResult split_shape(const OpSpec& spec, const NodeSig& sig) {
  auto parts = split_parts(spec, sig);
  if (!parts) return fail(parts.error());
  return split_part_shape(spec, sig, parts->front());
}

std::expected<std::vector<OutputType>, std::string> split_extra(const OpSpec& spec,
                                                                const NodeSig& sig) {
  auto parts = split_parts(spec, sig);
  if (!parts) return std::unexpected(parts.error());
  std::vector<OutputType> out;
  for (size_t i = 1; i < parts->size(); ++i) {
    out.push_back({sig.inputs[0].dtype, split_part_shape(spec, sig, (*parts)[i]),
                   sig.inputs[0].range});
  }
  return out;
}

void plan_split(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape x = g.value(primary).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  const int64_t axis = rng.uniform_int(0, rank - 1);
  if (axis != 0 || !rng.chance(policy.prob_omit_attr))
    plan.attrs.push_back(Attr::of_int("axis", g.written_axis(axis, rank)));
  plan.operands = {g.data(primary)};
  if (rng.chance(policy.prob_omit_optional_input)) return;  // one part: the whole axis
  // Cut the axis at random points; edge instances add empty parts.
  const int64_t n = rng.uniform_int(1, std::min<int64_t>(4, x[axis]));
  std::vector<int64_t> cuts;
  for (int64_t i = 0; i + 1 < n; ++i) cuts.push_back(rng.uniform_int(0, x[axis]));
  cuts.push_back(0);
  cuts.push_back(x[axis]);
  std::sort(cuts.begin(), cuts.end());
  std::vector<int64_t> parts;
  for (size_t i = 1; i < cuts.size(); ++i) {
    if (cuts[i] > cuts[i - 1] || g.edge()) parts.push_back(cuts[i] - cuts[i - 1]);
  }
  if (parts.empty()) parts.push_back(x[axis]);
  plan.operands.push_back(g.const_ints(parts));
}

// =============================== Identity ===============================

void plan_identity(GraphBuilder& g, Plan& plan, int primary, int) {
  plan.operands = {g.data(primary)};
}

// ========================= DepthToSpace, SpaceToDepth ===================

ShapeResult depth_to_space_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const int64_t b = spec.attr_int(sig, "blocksize");
  if (x.size() != 4 || b < 1 || x[1] % (b * b) != 0) return fail("DepthToSpace shape invalid");
  return Shape{x[0], x[1] / (b * b), x[2] * b, x[3] * b};
}

ShapeResult space_to_depth_shape(const OpSpec& spec, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  const int64_t b = spec.attr_int(sig, "blocksize");
  if (x.size() != 4 || b < 1 || x[2] % b != 0 || x[3] % b != 0)
    return fail("SpaceToDepth shape invalid");
  return Shape{x[0], x[1] * b * b, x[2] / b, x[3] / b};
}

bool rank4(const Shape& s, const GenPolicy&) { return s.size() == 4; }

// A fresh DepthToSpace input gets a channel count divisible by 4 (blocksize 2) when it has 4 or
// more channels; rounding down never leaves the element budget.
void fit_depth(Shape& s, Rng&) {
  if (s[1] >= 4) s[1] -= s[1] % 4;
}

// A fresh SpaceToDepth input gets even spatial dims (blocksize 2) where they are 2 or more.
void fit_space(Shape& s, Rng&) {
  for (size_t d : {2, 3}) {
    if (s[d] >= 2) s[d] -= s[d] % 2;
  }
}

void plan_depth_to_space(GraphBuilder& g, Plan& plan, int primary, int) {
  const Shape x = g.value(primary).shape;
  std::vector<int64_t> fits;
  for (double b : plan.spec->attr_domain("blocksize")->choices) {
    const auto bi = static_cast<int64_t>(b);
    if (x[1] % (bi * bi) == 0 && x[0] * x[1] * x[2] * x[3] <= g.policy().max_elements)
      fits.push_back(bi);
  }
  const int64_t b = fits.empty() ? 1 : g.rng().pick(fits);
  plan.attrs.push_back(Attr::of_int("blocksize", b));
  const char* mode = g.rng().uniform_int(0, 1) ? "CRD" : "DCR";
  if (std::string(mode) == "CRD" || !g.rng().chance(g.policy().prob_omit_attr))
    plan.attrs.push_back(Attr::of_string("mode", mode));
  plan.operands = {g.data(primary)};
}

void plan_space_to_depth(GraphBuilder& g, Plan& plan, int primary, int) {
  const Shape x = g.value(primary).shape;
  std::vector<int64_t> fits;
  for (double b : plan.spec->attr_domain("blocksize")->choices) {
    const auto bi = static_cast<int64_t>(b);
    if (x[2] % bi == 0 && x[3] % bi == 0) fits.push_back(bi);
  }
  plan.attrs.push_back(Attr::of_int("blocksize", fits.empty() ? 1 : g.rng().pick(fits)));
  plan.operands = {g.data(primary)};
}

// ================================= Trilu ================================

void plan_trilu(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape x = g.value(primary).shape;
  const int64_t rows = x[x.size() - 2], cols = x.back();
  if (!rng.chance(policy.prob_omit_attr))
    plan.attrs.push_back(Attr::of_int("upper", pick_int(g, plan, "upper")));
  plan.operands = {g.data(primary)};
  if (rng.chance(policy.prob_omit_optional_input)) return;  // k = 0
  // k beyond either corner keeps everything or nothing; edge instances go far past it.
  int64_t k = rng.uniform_int(-rows - 1, cols + 1);
  if (g.edge()) k = rng.pick(std::vector<int64_t>{-rows - 100, cols + 100, -rows, cols});
  plan.operands.push_back(g.const_scalar(DType::kInt64, static_cast<double>(k)));
}

Interval trilu_range(const OpSpec&, const NodeSig& sig) {
  return sig.inputs[0].range.hull(Interval::point(0));
}

// ================================ Resize ================================

// Output dims: sizes when given, else floor(dim * scale).
ShapeResult resize_shape(const OpSpec&, const NodeSig& sig) {
  const Shape& x = sig.inputs[0].shape;
  if (sig.inputs.size() > 3 && sig.inputs[3].present) {
    const auto& sizes = sig.inputs[3].ints;
    if (sizes.size() != x.size()) return fail("Resize sizes have the wrong length");
    return Shape(sizes.begin(), sizes.end());
  }
  if (sig.inputs.size() < 3 || !sig.inputs[2].present) return fail("Resize needs scales or sizes");
  // The plan scales N and C by 1 and H and W by one shared s; a rule sees the scales only as
  // their range, [min(1, s), max(1, s)], so s is the end that is not 1.
  const Interval& r = sig.inputs[2].range;
  if (x.size() != 4 || sig.inputs[2].shape != Shape{4} || (r.lo != 1 && r.hi != 1))
    return fail("Resize scales are not [1, 1, s, s]");
  const double s = r.lo != 1 ? r.lo : r.hi;
  Shape out = x;
  for (size_t d = 2; d < 4; ++d)
    out[d] = static_cast<int64_t>(std::floor(static_cast<double>(x[d]) * s));
  return out;
}

Interval resize_range(const OpSpec& spec, const NodeSig& sig) {
  const Interval& x = sig.inputs[0].range;
  const std::string mode = spec.attr_string(sig, "mode");
  Interval out = x;
  if (mode == "cubic") {
    // Each resized axis multiplies the spread by at most sum|w| / |sum w|; the cubic kernel with
    // a in [-1, -0.5] keeps sum|w| <= 1.6 and (renormalized, exclude_outside) sum w >= 0.5.
    constexpr double kPerAxis = 4;
    const double mid = (x.lo + x.hi) / 2, half = (x.hi - x.lo) / 2 + std::abs(mid);
    const double grow = kPerAxis * kPerAxis;
    out = {mid - grow * half, mid + grow * half};
    if (!x.finite()) out = Interval::all();
  }
  if (spec.attr_string(sig, "coordinate_transformation_mode") == "tf_crop_and_resize")
    out = out.hull(Interval::point(spec.attr_float(sig, "extrapolation_value")));
  return out;
}

void plan_resize(GraphBuilder& g, Plan& plan, int primary, int) {
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const Shape x = g.value(primary).shape;
  // Integer and bool tensors only resize by nearest: interpolating them has no agreed rounding.
  std::string mode = is_float(plan.dtype) ? pick_name(g, plan, "mode", kResizeModes) : "nearest";
  std::string coord = pick_name(g, plan, "coordinate_transformation_mode", kCoordinateModes);
  // Nearest picks by rounding; with crop-and-resize the source coordinate is a product of
  // inexact ratios, so backends may round a tie differently.
  if (mode == "nearest" && coord == "tf_crop_and_resize") coord = "asymmetric";
  if (mode != "nearest" || !rng.chance(policy.prob_omit_attr))
    plan.attrs.push_back(Attr::of_string("mode", mode));
  if (coord != "half_pixel" || !rng.chance(policy.prob_omit_attr))
    plan.attrs.push_back(Attr::of_string("coordinate_transformation_mode", coord));
  if (mode == "nearest") {
    plan.attrs.push_back(
        Attr::of_string("nearest_mode", pick_name(g, plan, "nearest_mode", kNearestModes)));
  }
  if (mode == "cubic") {
    if (!rng.chance(policy.prob_omit_attr))
      plan.attrs.push_back(Attr::of_float(
          "cubic_coeff_a", static_cast<float>(g.pick_choice(*plan.spec, "cubic_coeff_a"))));
    if (!rng.chance(policy.prob_omit_attr))
      plan.attrs.push_back(Attr::of_int("exclude_outside", pick_int(g, plan, "exclude_outside")));
  } else if (g.edge()) {
    plan.attrs.push_back(Attr::of_int("exclude_outside", pick_int(g, plan, "exclude_outside")));
  }
  const bool crop = coord == "tf_crop_and_resize";
  if (crop) {
    plan.attrs.push_back(Attr::of_float(
        "extrapolation_value",
        static_cast<float>(g.pick_choice(*plan.spec, "extrapolation_value"))));
  }
  // Per spatial axis: a scale whose source coordinates are exact in float (ties in nearest
  // then round the same everywhere); N and C keep scale 1, which every backend supports.
  std::vector<double> scale_choices = plan.spec->attr_domain("scales")->choices;
  if (mode == "nearest") {
    std::erase_if(scale_choices, [](double s) { return std::exp2(std::round(std::log2(s))) != s; });
  }
  // Sizes are required with crop-and-resize: the output size then does not depend on how a
  // backend combines the roi with the scales. Scales scale H and W alike (see resize_shape).
  const bool use_sizes = crop || rng.chance(policy.prob_omit_optional_input);
  const int64_t min_len = coord == "align_corners" ? 2 : 1;
  auto fits = [&](double s, int64_t len) {
    const double out = static_cast<double>(len) * s;
    return out == std::floor(out) && out >= static_cast<double>(min_len);
  };
  std::vector<int64_t> sizes(x.begin(), x.end());
  Shape out = x;
  double shared = 1;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const double s = rng.pick(scale_choices);
    if (fits(s, x[2]) && fits(s, x[3])) {
      shared = s;
      break;
    }
  }
  for (size_t d = 2; d < 4; ++d) {
    double s = shared;
    if (use_sizes) {
      for (int attempt = 0; attempt < 8; ++attempt) {
        s = rng.pick(scale_choices);
        if (fits(s, x[d])) break;
        s = shared;
      }
    }
    out[d] = static_cast<int64_t>(static_cast<double>(x[d]) * s);
    sizes[d] = out[d];
  }
  if (shape_numel(out) > policy.max_elements) {
    out = x;
    sizes.assign(x.begin(), x.end());
    shared = 1;
  }
  plan.operands = {g.data(primary)};
  if (crop) {
    // Normalized [starts..., ends...] over all four axes; N and C keep [0, 1].
    std::vector<float> roi = {0, 0, 0, 0, 1, 1, 1, 1};
    for (size_t d = 2; d < 4; ++d) {
      roi[d] = static_cast<float>(rng.pick(std::vector<double>{0, 0.25, 0.5}));
      roi[d + 4] = static_cast<float>(rng.pick(std::vector<double>{1, 0.75}));
    }
    // Edge instances sample outside the tensor (extrapolation_value) and flip an axis; an
    // excluded-outside cubic window there may hold no weight, so that pairing is left out.
    if (g.edge()) {
      roi[2] = -0.25f, roi[6] = 1.25f;
      std::swap(roi[3], roi[7]);
      std::erase_if(plan.attrs, [](const Attr& a) { return a.name == "exclude_outside"; });
    }
    plan.operands.push_back(g.const_tensor(Tensor::of_floats({8}, roi)));
  } else {
    plan.operands.push_back(GraphBuilder::omitted());
  }
  if (use_sizes) {
    plan.operands.push_back(GraphBuilder::omitted());
    plan.operands.push_back(g.const_ints(sizes));
  } else {
    const std::vector<float> scales = {1, 1, static_cast<float>(shared), static_cast<float>(shared)};
    plan.operands.push_back(g.const_tensor(Tensor::of_floats({4}, scales)));
  }
}

}  // namespace

// ============================== registrations ==============================

ONNXFUZZ_OP(Gather) {
  return SpecBuilder("Gather")
      .plan(plan_gather)
      .allows_empty()
      .shape(gather_shape)
      .range(identity_range)
      .draw("axis", AttrDraw::kAxis)
      .build();
}

ONNXFUZZ_OP(GatherElements) {
  return SpecBuilder("GatherElements")
      .plan(plan_gather_elements)
      .allows_empty()
      .shape(gather_elements_shape)
      .range(identity_range)
      .draw("axis", AttrDraw::kAxis)
      .build();
}

ONNXFUZZ_OP(GatherND) {
  return SpecBuilder("GatherND")
      .plan(plan_gather_nd)
      .primary([](const Shape& s, const GenPolicy& p) { return !s.empty() && p.max_rank >= 2; })
      .shape(gather_nd_shape)
      .range(identity_range)
      .draw("batch_dims", AttrDraw::kChoice, {0, 0, 1, 2})
      .build();
}

ONNXFUZZ_OP(ScatterElements) {
  return SpecBuilder("ScatterElements")
      .plan(plan_scatter_elements)
      .shape(scatter_elements_shape)
      .range(scatter_elements_range)
      .draw("axis", AttrDraw::kAxis)
      .draw("reduction", AttrDraw::kChoice, {0, 1, 2})
      .build();
}

ONNXFUZZ_OP(ScatterND) {
  return SpecBuilder("ScatterND")
      .plan(plan_scatter_nd)
      .shape(scatter_nd_shape)
      .range(scatter_nd_range)
      .draw("reduction", AttrDraw::kChoice, {0, 1, 2})
      .build();
}

ONNXFUZZ_OP(Pad) {
  return SpecBuilder("Pad")
      .plan(plan_pad)
      .allows_empty()
      .shape(pad_shape)
      .range(pad_range)
      .role(1, InputRole::kConstInts)
      .role(2, InputRole::kConstScalar)
      .draw("mode", AttrDraw::kChoice, {0, 1, 2})
      .draw("pads", AttrDraw::kChoice, {0, 0, 1, 2, 3, -1, -2})
      .draw("constant_value", AttrDraw::kChoice, {0, 1, -1, 0.5, 2.5})
      .build();
}

ONNXFUZZ_OP(Expand) {
  return SpecBuilder("Expand")
      .plan(plan_expand)
      .allows_empty()
      .shape(expand_shape)
      .range(identity_range)
      .role(1, InputRole::kConstInts)
      .build();
}

ONNXFUZZ_OP(Tile) {
  return SpecBuilder("Tile")
      .plan(plan_tile)
      .allows_empty()
      .shape(tile_shape)
      .range(identity_range)
      .role(1, InputRole::kConstInts)
      .draw("repeats", AttrDraw::kChoice, {1, 1, 2, 3, 0})
      .build();
}

ONNXFUZZ_OP(Range) {
  return SpecBuilder("Range")
      .plan(plan_range)
      // ONNX 1.12 shape inference computes Range's length for float, double, int32 and int64
      // only; an int16 Range would have no static output shape.
      .exclude_dtypes({DType::kInt16})
      .shape(range_shape)
      .range(range_range)
      .role(0, InputRole::kConstScalar)
      .role(1, InputRole::kConstScalar)
      .role(2, InputRole::kConstScalar)
      .draw("delta", AttrDraw::kChoice, {1, 2, 3, -1, -2})
      .build();
}

ONNXFUZZ_OP(Shape) {
  return SpecBuilder("Shape")
      .plan(plan_shape)
      .allows_empty()
      .shape(shape_shape)
      .range(shape_range)
      .output_dtype(fixed_dtype(DType::kInt64))
      .draw("start", AttrDraw::kChoice, {0, 0, 1, -1, -2})
      .draw("end", AttrDraw::kChoice, {-1, 1, 2, 3, 4})
      .build();
}

ONNXFUZZ_OP(Size) {
  return SpecBuilder("Size")
      .plan(plan_size)
      .allows_empty()
      .shape(size_shape)
      .range(size_range)
      .output_dtype(fixed_dtype(DType::kInt64))
      .build();
}

ONNXFUZZ_OP(ConstantOfShape) {
  return SpecBuilder("ConstantOfShape")
      .plan(plan_constant_of_shape)
      .shape(constant_of_shape_shape)
      .range(constant_of_shape_range)
      .output_dtype(constant_of_shape_dtype)
      .role(0, InputRole::kConstInts)
      .draw("value", AttrDraw::kChoice, {0, 1, -1, 0.5, 3, -2.25})
      .build();
}

ONNXFUZZ_OP(Flatten) {
  return SpecBuilder("Flatten")
      .plan(plan_flatten)
      .primary([](const Shape& s, const GenPolicy& p) { return !s.empty() && p.max_rank >= 2; })
      .allows_empty()
      .shape(flatten_shape)
      .range(identity_range)
      .draw("axis", AttrDraw::kAxis)
      .build();
}

ONNXFUZZ_OP(Split) {
  return SpecBuilder("Split")
      .plan(plan_split)
      .shape(split_shape)
      .range(identity_range)
      .extra_outputs(split_extra)
      .role(1, InputRole::kConstInts)
      .draw("axis", AttrDraw::kAxis)
      .build();
}

ONNXFUZZ_OP(Identity) {
  return SpecBuilder("Identity")
      .plan(plan_identity)
      .allows_empty()
      .shape(same_as_input0)
      .range(identity_range)
      .build();
}

ONNXFUZZ_OP(DepthToSpace) {
  return SpecBuilder("DepthToSpace")
      .plan(plan_depth_to_space)
      .allows_empty()
      .primary(rank4)
      .fit_primary(fit_depth)
      .shape(depth_to_space_shape)
      .range(identity_range)
      .draw("blocksize", AttrDraw::kChoice, {1, 2, 2, 3})
      .build();
}

ONNXFUZZ_OP(SpaceToDepth) {
  return SpecBuilder("SpaceToDepth")
      .plan(plan_space_to_depth)
      .allows_empty()
      .primary(rank4)
      .fit_primary(fit_space)
      .shape(space_to_depth_shape)
      .range(identity_range)
      .draw("blocksize", AttrDraw::kChoice, {1, 2, 2, 3})
      .build();
}

ONNXFUZZ_OP(Trilu) {
  return SpecBuilder("Trilu")
      .plan(plan_trilu)
      .allows_empty()
      .primary(min_rank(2))
      .shape(same_as_input0)
      .range(trilu_range)
      .role(1, InputRole::kConstScalar)
      .draw("upper", AttrDraw::kChoice, {0, 1})
      .build();
}

ONNXFUZZ_OP(Resize) {
  return SpecBuilder("Resize")
      .plan(plan_resize)
      .primary(rank4)
      .shape(resize_shape)
      .range(resize_range)
      .role(3, InputRole::kConstInts)
      .draw("mode", AttrDraw::kChoice, {0, 1, 2})
      .draw("coordinate_transformation_mode", AttrDraw::kChoice, {0, 1, 2, 3, 4})
      .draw("nearest_mode", AttrDraw::kChoice, {0, 1, 2, 3})
      .draw("cubic_coeff_a", AttrDraw::kChoice, {-0.75, -0.5, -1.0})
      .draw("exclude_outside", AttrDraw::kChoice, {0, 1})
      .draw("extrapolation_value", AttrDraw::kChoice, {0.0, -1.0, 2.5})
      .draw("scales", AttrDraw::kChoice, {0.5, 1, 2, 4, 0.25, 1.5, 3, 0.75, 1.25})
      .build();
}

}  // namespace onnxfuzz
