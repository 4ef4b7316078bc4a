// Model generator: picks ops by policy weight, makes their operands fit, repairs value domains.
#include "generators/generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "generators/model_io.h"
#include "generators/op_spec.h"
#include "generators/rng.h"

namespace onnxfuzz {

namespace {

// A float tensor available as an operand.
struct Value {
  std::string name;
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
  int value = -1;    // index into Draft::values_ for float data operands, else -1
  NodeInput sig;
};

// A node before it is emitted: op, operands and attributes.
struct Plan {
  const OpSpec* spec = nullptr;
  std::vector<Operand> operands;
  AttrList attrs;

  NodeSig sig() const {
    NodeSig s;
    s.inputs.reserve(operands.size());
    for (const auto& o : operands) s.inputs.push_back(o.sig);
    s.attrs = attrs;
    return s;
  }
};

Shape shape_prefix_drop(const Shape& s, size_t n) { return Shape(s.begin() + n, s.end()); }

// The float nearest to `v` that does not leave [v, +inf) (up) or (-inf, v] (down), so a range
// written as float data or Clip bounds still satisfies the domain it was computed for.
double float_inward(double v, bool up) {
  if (!std::isfinite(v)) return v;
  float f = static_cast<float>(v);
  if (up && static_cast<double>(f) < v)
    f = std::nextafter(f, std::numeric_limits<float>::infinity());
  if (!up && static_cast<double>(f) > v)
    f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}

Interval float_interval(const Interval& r) {
  return {float_inward(r.lo, true), float_inward(r.hi, false)};
}

// The model under construction, with everything needed to grow it by one op.
class Draft {
 public:
  Draft(const GenPolicy& policy, Rng& rng, std::vector<const OpSpec*> ops,
        std::vector<double> weights, const OpSpec* guard)
      : policy_(policy),
        rng_(rng),
        ops_(std::move(ops)),
        weights_(std::move(weights)),
        guard_(guard) {}

  void grow(int target_nodes) {
    budget_ = target_nodes;
    while (budget_ > 0) {
      const OpSpec* spec = ops_[rng_.weighted_index(weights_)];
      add_op(*spec);
    }
  }

  GeneratedModel finish(uint64_t seed) {
    auto* graph = model_.mutable_graph();
    for (size_t i = 0; i < values_.size(); ++i) {
      const Value& v = values_[i];
      if (!v.from_node) continue;
      // An unguarded intermediate beyond max_magnitude is never exposed; its Clip guard is.
      const bool extra =
          v.range.magnitude() <= policy_.max_magnitude && rng_.chance(policy_.prob_extra_output);
      if (v.uses == 0 || extra) add_value_info(graph->add_output(), v.name, DType::kFloat, v.shape);
    }
    model_.set_ir_version(8);
    model_.set_producer_name("onnxfuzz");
    model_.set_producer_version(ONNXFUZZ_VERSION);
    auto* opset = model_.add_opset_import();
    opset->set_domain("");
    opset->set_version(kTargetOpset);
    graph->set_name(fmt::format("onnxfuzz_{}", seed));
    auto* prop = model_.add_metadata_props();
    prop->set_key("onnxfuzz.seed");
    prop->set_value(std::to_string(seed));
    GeneratedModel out;
    out.model = std::move(model_);
    out.inputs = std::move(inputs_);
    out.seed = seed;
    return out;
  }

 private:
  // ----- one op --------------------------------------------------------------------------------

  void add_op(const OpSpec& spec) {
    const int primary_pos = primary_position(spec);
    const int primary = choose_primary(spec, primary_pos);
    Plan plan = make_plan(spec, primary, primary_pos);
    repair_domains(plan);
    bound_magnitude(plan);
    const int out = emit(plan);
    if (values_[out].range.magnitude() > policy_.max_magnitude && budget_ > 0 && guard_) {
      insert_guard(out, {-policy_.max_magnitude, policy_.max_magnitude});
    }
  }

  // Input slot the chosen (or fresh) primary value goes to.
  int primary_position(const OpSpec& spec) {
    if (spec.kind == OpKind::kBinary) return rng_.chance(policy_.prob_swap_operands) ? 1 : 0;
    if (spec.kind == OpKind::kWhere) return rng_.chance(policy_.prob_swap_operands) ? 2 : 1;
    return 0;
  }

  bool primary_fits(const OpSpec& spec, const Shape& s) const {
    if (s.empty() || !spec.accepts_primary(s)) return false;  // scalars (Gemm's C) only broadcast
    if (spec.kind == OpKind::kUnsqueeze && static_cast<int>(s.size()) >= policy_.max_rank)
      return false;
    return true;
  }

  int choose_primary(const OpSpec& spec, int pos) {
    if (rng_.chance(policy_.prob_reuse_primary)) {
      std::vector<int> leaves, any;
      for (size_t i = 0; i < values_.size(); ++i) {
        if (!primary_fits(spec, values_[i].shape)) continue;
        any.push_back(static_cast<int>(i));
        if (values_[i].uses == 0) leaves.push_back(static_cast<int>(i));
      }
      if (!leaves.empty() && rng_.chance(policy_.prob_pick_leaf)) return rng_.pick(leaves);
      if (!any.empty()) return rng_.pick(any);
    }
    return fresh_float(fresh_primary_shape(spec), spec.input_domain(pos), Origin::kGraphInput);
  }

  // A shape for a fresh input 0 that the op accepts (feasibility was checked up front).
  Shape fresh_primary_shape(const OpSpec& spec) {
    std::vector<int> ranks;
    for (int r = 1; r <= policy_.max_rank; ++r) {
      if (rank_feasible(spec, r, policy_)) ranks.push_back(r);
    }
    Shape s = random_shape(static_cast<size_t>(rng_.pick(ranks)));
    if (spec.kind == OpKind::kSqueeze) {
      // Needs a unit dim to squeeze and a non-unit dim so the result keeps rank >= 1.
      const size_t unit =
          static_cast<size_t>(rng_.uniform_int(0, static_cast<int64_t>(s.size()) - 1));
      s[unit] = 1;
      if (std::count(s.begin(), s.end(), 1) == static_cast<long>(s.size()))
        s[(unit + 1) % s.size()] = 2;
    }
    ONNXFUZZ_CHECK(primary_fits(spec, s), "fresh primary shape does not fit its op");
    return s;
  }

  Shape random_shape(size_t rank) {
    Shape s(rank);
    for (auto& d : s) d = rng_.uniform_int(1, policy_.max_dim);
    while (shape_numel(s) > policy_.max_elements) {
      auto largest = std::max_element(s.begin(), s.end());
      *largest = (*largest + 1) / 2;
    }
    return s;
  }

 public:
  static bool rank_feasible(const OpSpec& spec, int rank, const GenPolicy& policy) {
    Shape probe(static_cast<size_t>(rank), 2);
    probe[0] = 1;
    if (!spec.accepts_primary(probe)) return false;
    if (spec.kind == OpKind::kUnsqueeze && rank >= policy.max_rank) return false;
    if (spec.kind == OpKind::kSqueeze && policy.max_dim < 2) return false;
    if (spec.kind == OpKind::kMatMul && policy.max_rank < 2) return false;  // B is [K, N]
    return true;
  }

 private:
  // ----- planning, one recipe per kind ---------------------------------------------------------

  Plan make_plan(const OpSpec& spec, int primary, int pos) {
    Plan plan;
    plan.spec = &spec;
    switch (spec.kind) {
      case OpKind::kUnary:
        plan.operands = {data(primary)};
        break;
      case OpKind::kBinary:
        plan_binary(plan, primary, pos);
        break;
      case OpKind::kMatMul:
        plan_matmul(plan, primary);
        break;
      case OpKind::kGemm:
        plan_gemm(plan, primary);
        break;
      case OpKind::kConv:
        plan_conv(plan, primary);
        break;
      case OpKind::kPool:
        plan_pool(plan, primary);
        break;
      case OpKind::kReshape:
        plan_reshape(plan, primary);
        break;
      case OpKind::kTranspose:
        plan_transpose(plan, primary);
        break;
      case OpKind::kConcat:
        plan_concat(plan, primary);
        break;
      case OpKind::kSlice:
        plan_slice(plan, primary);
        break;
      case OpKind::kSqueeze:
        plan_squeeze(plan, primary);
        break;
      case OpKind::kUnsqueeze:
        plan_unsqueeze(plan, primary);
        break;
      case OpKind::kReduce:
        plan_reduce(plan, primary);
        break;
      case OpKind::kSoftmax:
        plan_softmax(plan, primary);
        break;
      case OpKind::kClip:
        plan_clip(plan, primary);
        break;
      case OpKind::kWhere:
        plan_where(plan, primary, pos);
        break;
    }
    return plan;
  }

  void plan_binary(Plan& plan, int primary, int pos) {
    const OpSpec& spec = *plan.spec;
    const int other = broadcast_partner(primary, spec.input_domain(1 - pos));
    plan.operands = pos == 0 ? std::vector{data(primary), data(other)}
                             : std::vector{data(other), data(primary)};
  }

  void plan_where(Plan& plan, int primary, int pos) {
    const OpSpec& spec = *plan.spec;
    const int other = broadcast_partner(primary, spec.input_domain(pos == 1 ? 2 : 1));
    Shape cond_shape = partner_shape(values_[primary].shape);
    if (!fits_broadcast({values_[primary].shape, values_[other].shape, cond_shape})) {
      cond_shape = values_[primary].shape;
    }
    const Origin origin = rng_.chance(policy_.prob_condition_initializer) ? Origin::kInitializer
                                                                          : Origin::kGraphInput;
    plan.operands = {fresh_condition(cond_shape, origin), data(primary), data(other)};
    if (pos == 2) std::swap(plan.operands[1], plan.operands[2]);
  }

  void plan_matmul(Plan& plan, int primary) {
    const Shape a = values_[primary].shape;
    const int64_t k = a.back();
    const int64_t rows = shape_numel(a) / k;  // elements of A per unit of N in the output
    int rhs = -1;
    if (rng_.chance(policy_.prob_reuse_operand)) {
      std::vector<int> fits;
      for (size_t i = 0; i < values_.size(); ++i) {
        const Shape& b = values_[i].shape;
        if (b.size() == 2 && b[0] == k && rows * b[1] <= policy_.max_elements)
          fits.push_back(static_cast<int>(i));
      }
      if (!fits.empty()) rhs = rng_.pick(fits);
    }
    if (rhs < 0) {
      Shape b;
      if (a.size() >= 2 && rng_.chance(policy_.prob_vector_rhs)) {
        b = {k};
      } else {
        const bool batched = a.size() >= 3 && rng_.chance(policy_.prob_batched_rhs);
        if (batched) b = Shape(a.begin(), a.end() - 2);
        // N is capped by both the output (rows * N) and B itself (batch * K * N).
        const int64_t b_rows = shape_numel(b) * k;
        const int64_t n =
            std::min(rng_.uniform_int(1, policy_.max_dim),
                     std::max<int64_t>(1, policy_.max_elements / std::max(rows, b_rows)));
        b.push_back(k);
        b.push_back(n);
      }
      rhs = fresh_float(b, plan.spec->input_domain(1), operand_origin());
    }
    plan.operands = {data(primary), data(rhs)};
  }

  void plan_gemm(Plan& plan, int primary) {
    const OpSpec& spec = *plan.spec;
    const Shape a = values_[primary].shape;
    const int64_t trans_a = draw_int_attr(plan, "transA");
    const int64_t trans_b = draw_int_attr(plan, "transB");
    draw_float_attr(plan, "alpha");
    draw_float_attr(plan, "beta");
    const int64_t m = trans_a ? a[1] : a[0], k = trans_a ? a[0] : a[1];
    const int64_t n = std::min(rng_.uniform_int(1, policy_.max_dim),
                               std::max<int64_t>(1, policy_.max_elements / std::max(m, k)));
    const Shape b = trans_b ? Shape{n, k} : Shape{k, n};
    const int rhs = pick_value_of_shape(
        b, [&] { return fresh_float(b, spec.input_domain(1), operand_origin()); });
    plan.operands = {data(primary), data(rhs)};
    if (!rng_.chance(policy_.prob_omit_optional_input)) {
      const std::vector<Shape> c_shapes = {{n}, {1, n}, {m, 1}, {m, n}, {1}, {}};
      const Shape c = rng_.pick(c_shapes);
      plan.operands.push_back(data(fresh_float(c, spec.input_domain(2), operand_origin())));
    }
  }

  // Per spatial dim: kernel, dilation, stride, pads, repaired so the window fits the input.
  struct Window {
    std::vector<int64_t> kernel, strides, dilations, pads;
  };
  Window draw_window(const OpSpec& spec, const Shape& x) {
    const size_t spatial = x.size() - 2;
    Window w;
    w.pads.assign(2 * spatial, 0);
    const bool dilated = spec.attr_domain("dilations") != nullptr;
    for (size_t i = 0; i < spatial; ++i) {
      const int64_t dim = x[i + 2];
      int64_t k = static_cast<int64_t>(rng_.pick(spec.attr_domain("kernel_shape")->choices));
      int64_t d =
          dilated ? static_cast<int64_t>(rng_.pick(spec.attr_domain("dilations")->choices)) : 1;
      const int64_t s = static_cast<int64_t>(rng_.pick(spec.attr_domain("strides")->choices));
      if ((k - 1) * d + 1 > dim) d = 1;  // repair: undilate, then shrink the kernel to the input
      k = std::min(k, dim);
      const auto& pad_choices = spec.attr_domain("pads")->choices;
      // Pads stay below the kernel (ONNX Runtime rejects pad >= kernel for pooling).
      w.pads[i] = std::min(static_cast<int64_t>(rng_.pick(pad_choices)), k - 1);
      w.pads[i + spatial] = std::min(static_cast<int64_t>(rng_.pick(pad_choices)), k - 1);
      w.kernel.push_back(k);
      w.strides.push_back(s);
      w.dilations.push_back(d);
    }
    return w;
  }

  // Elements of a window op's output with `channels` output channels.
  static int64_t window_numel(const Shape& x, int64_t channels, const Window& w) {
    const size_t spatial = x.size() - 2;
    int64_t n = x[0] * channels;
    for (size_t i = 0; i < spatial; ++i) {
      const int64_t span =
          x[i + 2] + w.pads[i] + w.pads[i + spatial] - ((w.kernel[i] - 1) * w.dilations[i] + 1);
      n *= span / w.strides[i] + 1;
    }
    return n;
  }

  // Adds an ints attribute unless it equals the schema default and the policy omits it.
  void set_ints_attr(Plan& plan, const char* name, const std::vector<int64_t>& values,
                     int64_t default_each) {
    const bool is_default =
        std::all_of(values.begin(), values.end(), [&](int64_t v) { return v == default_each; });
    if (is_default && rng_.chance(policy_.prob_omit_attr)) return;
    plan.attrs.push_back(Attr::of_ints(name, values));
  }

  void plan_conv(Plan& plan, int primary) {
    const OpSpec& spec = *plan.spec;
    const Shape x = values_[primary].shape;
    const int64_t channels = x[1];
    int64_t group = static_cast<int64_t>(rng_.pick(spec.attr_domain("group")->choices));
    if (channels % group != 0) group = 1;  // repair
    int64_t m = rng_.uniform_int(1, policy_.max_dim);
    m = group * ((m + group - 1) / group);
    Window w = draw_window(spec, x);
    // Repairs, in order, until output and W fit max_elements: m = group (<= channels), no
    // padding (then every output spatial dim is <= its input dim, so the output is no larger
    // than X), and a 1x1 kernel (then W holds `channels` elements, no more than X).
    auto weight_numel = [&] { return m * (channels / group) * shape_numel(w.kernel); };
    auto too_big = [&] {
      return window_numel(x, m, w) > policy_.max_elements || weight_numel() > policy_.max_elements;
    };
    if (too_big()) m = group;
    if (too_big()) w.pads.assign(w.pads.size(), 0);
    if (too_big()) w.kernel.assign(w.kernel.size(), 1);
    Shape wshape = {m, channels / group};
    wshape.insert(wshape.end(), w.kernel.begin(), w.kernel.end());
    if (!rng_.chance(policy_.prob_omit_attr))
      plan.attrs.push_back(Attr::of_ints("kernel_shape", w.kernel));
    set_ints_attr(plan, "strides", w.strides, 1);
    set_ints_attr(plan, "dilations", w.dilations, 1);
    set_ints_attr(plan, "pads", w.pads, 0);
    if (group != 1 || !rng_.chance(policy_.prob_omit_attr))
      plan.attrs.push_back(Attr::of_int("group", group));
    plan.operands = {data(primary),
                     data(fresh_float(wshape, spec.input_domain(1), operand_origin()))};
    if (!rng_.chance(policy_.prob_omit_optional_input)) {
      plan.operands.push_back(data(fresh_float({m}, spec.input_domain(2), operand_origin())));
    }
  }

  void plan_pool(Plan& plan, int primary) {
    const OpSpec& spec = *plan.spec;
    const Shape x = values_[primary].shape;
    Window w = draw_window(spec, x);
    // Without padding no output dim exceeds its input dim.
    if (window_numel(x, x[1], w) > policy_.max_elements) w.pads.assign(w.pads.size(), 0);
    plan.attrs.push_back(Attr::of_ints("kernel_shape", w.kernel));
    set_ints_attr(plan, "strides", w.strides, 1);
    if (spec.attr_domain("dilations")) set_ints_attr(plan, "dilations", w.dilations, 1);
    set_ints_attr(plan, "pads", w.pads, 0);
    if (spec.attr_domain("count_include_pad")) draw_int_attr(plan, "count_include_pad");
    draw_int_attr(plan, "ceil_mode");
    plan.operands = {data(primary)};
  }

  void plan_reshape(Plan& plan, int primary) {
    const Shape x = values_[primary].shape;
    int64_t rest = shape_numel(x);
    const size_t rank = static_cast<size_t>(rng_.uniform_int(1, policy_.max_rank));
    std::vector<int64_t> target;
    for (size_t i = 0; i + 1 < rank; ++i) {
      std::vector<int64_t> divisors;
      for (int64_t d = 1; d <= rest; ++d) {
        if (rest % d == 0) divisors.push_back(d);
      }
      const int64_t d = rng_.pick(divisors);
      target.push_back(d);
      rest /= d;
    }
    target.push_back(rest);
    std::vector<int64_t> written = target;
    int infer_at = -1;
    if (rng_.chance(policy_.prob_reshape_infer)) {
      infer_at = static_cast<int>(rng_.uniform_int(0, static_cast<int64_t>(rank) - 1));
      written[infer_at] = -1;
    }
    for (size_t i = 0; i < rank && i < x.size(); ++i) {
      if (static_cast<int>(i) != infer_at && target[i] == x[i] &&
          rng_.chance(policy_.prob_reshape_copy))
        written[i] = 0;
    }
    plan.operands = {data(primary), const_ints(written)};
  }

  void plan_transpose(Plan& plan, int primary) {
    const size_t rank = values_[primary].shape.size();
    if (!rng_.chance(policy_.prob_omit_attr)) {
      std::vector<int64_t> perm(rank);
      std::iota(perm.begin(), perm.end(), 0);
      rng_.shuffle(perm);
      plan.attrs.push_back(Attr::of_ints("perm", perm));
    }
    plan.operands = {data(primary)};
  }

  void plan_concat(Plan& plan, int primary) {
    const Shape a = values_[primary].shape;
    const int64_t rank = static_cast<int64_t>(a.size());
    const int64_t axis = rng_.uniform_int(0, rank - 1);
    plan.attrs.push_back(Attr::of_int("axis", written_axis(axis, rank)));
    const int64_t slice = shape_numel(a) / a[axis];
    int64_t room = policy_.max_elements / slice - a[axis];
    plan.operands = {data(primary)};
    const int64_t extra =
        policy_.max_concat_inputs > 1 ? rng_.uniform_int(1, policy_.max_concat_inputs - 1) : 0;
    for (int64_t e = 0; e < extra && room >= 1; ++e) {
      int chosen = -1;
      if (rng_.chance(policy_.prob_reuse_operand)) {
        std::vector<int> fits;
        for (size_t i = 0; i < values_.size(); ++i) {
          const Shape& b = values_[i].shape;
          if (b.size() != a.size() || b[axis] > room) continue;
          bool same = true;
          for (int64_t d = 0; d < rank; ++d) same = same && (d == axis || b[d] == a[d]);
          if (same) fits.push_back(static_cast<int>(i));
        }
        if (!fits.empty()) chosen = rng_.pick(fits);
      }
      if (chosen < 0) {
        Shape b = a;
        b[axis] = rng_.uniform_int(1, std::min(policy_.max_dim, room));
        chosen = fresh_float(b, plan.spec->input_domain(1), operand_origin());
      }
      room -= values_[chosen].shape[axis];
      plan.operands.push_back(data(chosen));
    }
    rng_.shuffle(plan.operands);
  }

  // A non-empty random subset of [0, rank), in random order.
  std::vector<int64_t> random_axes(int64_t rank) {
    std::vector<int64_t> axes;
    for (int64_t d = 0; d < rank; ++d) {
      if (rng_.chance(policy_.prob_pick_axis)) axes.push_back(d);
    }
    if (axes.empty()) axes.push_back(rng_.uniform_int(0, rank - 1));
    rng_.shuffle(axes);
    return axes;
  }

  int64_t written_axis(int64_t axis, int64_t rank) {
    return rng_.chance(policy_.prob_negative_axis) ? axis - rank : axis;
  }

  void plan_slice(Plan& plan, int primary) {
    const OpSpec& spec = *plan.spec;
    const Shape x = values_[primary].shape;
    const int64_t rank = static_cast<int64_t>(x.size());
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    const std::vector<int64_t> axes = random_axes(rank);
    std::vector<int64_t> starts, ends, steps, written_axes;
    for (int64_t axis : axes) {
      const int64_t dim = x[axis];
      const int64_t step = static_cast<int64_t>(rng_.pick(spec.attr_domain("steps")->choices));
      int64_t start = rng_.uniform_int(0, dim - 1), end;
      int64_t start_w = start, end_w;
      if (step > 0) {
        end = rng_.uniform_int(start + 1, dim);
        end_w = end;
        if (end == dim && rng_.chance(policy_.prob_slice_open_end))
          end_w = kMax;
        else if (end < dim && rng_.chance(policy_.prob_negative_axis))
          end_w = end - dim;
      } else {
        end = rng_.uniform_int(-1, start - 1);  // exclusive; -1 means "through index 0"
        end_w = end;
        if (end == -1)
          end_w = rng_.chance(policy_.prob_slice_open_end) ? kMin : -dim - 1;
        else if (rng_.chance(policy_.prob_negative_axis))
          end_w = end - dim;
        if (start == dim - 1 && rng_.chance(policy_.prob_slice_open_end)) start_w = kMax;
      }
      if (start_w == start && rng_.chance(policy_.prob_negative_axis)) start_w = start - dim;
      starts.push_back(start_w);
      ends.push_back(end_w);
      steps.push_back(step);
      written_axes.push_back(written_axis(axis, rank));
    }
    plan.operands = {data(primary), const_ints(starts), const_ints(ends)};
    bool prefix = true;
    for (size_t i = 0; i < axes.size(); ++i) prefix = prefix && axes[i] == static_cast<int64_t>(i);
    const bool unit_steps =
        std::all_of(steps.begin(), steps.end(), [](int64_t s) { return s == 1; });
    const bool omit_steps = unit_steps && rng_.chance(policy_.prob_omit_optional_input);
    const bool omit_axes = prefix && rng_.chance(policy_.prob_omit_optional_input);
    if (omit_axes && omit_steps) return;
    plan.operands.push_back(omit_axes ? omitted() : const_ints(written_axes));
    if (!omit_steps) plan.operands.push_back(const_ints(steps));
  }

  void plan_squeeze(Plan& plan, int primary) {
    const Shape x = values_[primary].shape;
    const int64_t rank = static_cast<int64_t>(x.size());
    plan.operands = {data(primary)};
    if (rng_.chance(policy_.prob_omit_optional_input)) return;  // squeeze every unit dim
    std::vector<int64_t> units, axes;
    for (int64_t d = 0; d < rank; ++d) {
      if (x[d] == 1) units.push_back(d);
    }
    for (int64_t d : units) {
      if (rng_.chance(policy_.prob_pick_axis)) axes.push_back(written_axis(d, rank));
    }
    if (axes.empty()) axes.push_back(written_axis(rng_.pick(units), rank));
    plan.operands.push_back(const_ints(axes));
  }

  void plan_unsqueeze(Plan& plan, int primary) {
    const int64_t rank = static_cast<int64_t>(values_[primary].shape.size());
    const int64_t added = rng_.uniform_int(1, policy_.max_rank - rank);
    const int64_t out_rank = rank + added;
    std::vector<int64_t> positions(static_cast<size_t>(out_rank));
    std::iota(positions.begin(), positions.end(), 0);
    rng_.shuffle(positions);
    positions.resize(static_cast<size_t>(added));
    for (auto& p : positions) p = written_axis(p, out_rank);
    plan.operands = {data(primary), const_ints(positions)};
  }

  void plan_reduce(Plan& plan, int primary) {
    const OpSpec& spec = *plan.spec;
    const Shape x = values_[primary].shape;
    const int64_t rank = static_cast<int64_t>(x.size());
    const bool all = rng_.chance(policy_.prob_reduce_all);
    std::vector<int64_t> axes;
    if (!all) axes = random_axes(rank);
    int64_t keep = draw_int_attr(plan, "keepdims");
    if (keep == 0 && (all || static_cast<int64_t>(axes.size()) == rank)) {
      // Repair: reducing every axis without keepdims would give a rank-0 value.
      std::erase_if(plan.attrs, [](const Attr& a) { return a.name == "keepdims"; });
      plan.attrs.push_back(Attr::of_int("keepdims", 1));
    }
    for (auto& a : axes) a = written_axis(a, rank);
    plan.operands = {data(primary)};
    if (all) return;
    if (spec.schema_attr("axes")) {
      plan.attrs.push_back(Attr::of_ints("axes", axes));
    } else {
      plan.operands.push_back(const_ints(axes));
    }
  }

  void plan_softmax(Plan& plan, int primary) {
    const int64_t rank = static_cast<int64_t>(values_[primary].shape.size());
    if (!rng_.chance(policy_.prob_omit_attr)) {
      plan.attrs.push_back(Attr::of_int("axis", written_axis(rng_.uniform_int(0, rank - 1), rank)));
    }
    plan.operands = {data(primary)};
  }

  void plan_clip(Plan& plan, int primary) {
    const OpSpec& spec = *plan.spec;
    plan.operands = {data(primary)};
    const bool use_min = !rng_.chance(policy_.prob_omit_optional_input);
    const bool use_max = !rng_.chance(policy_.prob_omit_optional_input);
    if (use_min)
      plan.operands.push_back(
          const_scalar(static_cast<float>(rng_.pick(spec.attr_domain("min")->choices))));
    if (use_max) {
      if (!use_min) plan.operands.push_back(omitted());
      plan.operands.push_back(
          const_scalar(static_cast<float>(rng_.pick(spec.attr_domain("max")->choices))));
    }
  }

  // ----- attributes ----------------------------------------------------------------------------

  // Draws an int attribute from its domain; may leave it out (schema default). Returns the value in
  // effect.
  int64_t draw_int_attr(Plan& plan, const char* name) {
    const OpSpec& spec = *plan.spec;
    const SchemaAttr* schema = spec.schema_attr(name);
    if (schema && schema->has_default && rng_.chance(policy_.prob_omit_attr))
      return schema->default_value.i();
    const int64_t v = static_cast<int64_t>(rng_.pick(spec.attr_domain(name)->choices));
    plan.attrs.push_back(Attr::of_int(name, v));
    return v;
  }

  void draw_float_attr(Plan& plan, const char* name) {
    const OpSpec& spec = *plan.spec;
    const SchemaAttr* schema = spec.schema_attr(name);
    if (schema && schema->has_default && rng_.chance(policy_.prob_omit_attr)) return;
    plan.attrs.push_back(
        Attr::of_float(name, static_cast<float>(rng_.pick(spec.attr_domain(name)->choices))));
  }

  // ----- operands ------------------------------------------------------------------------------

  Operand data(int value) {
    Operand o;
    o.name = values_[value].name;
    o.value = value;
    o.sig.shape = values_[value].shape;
    o.sig.range = values_[value].range;
    return o;
  }

  static Operand omitted() {
    Operand o;
    o.sig.present = false;
    return o;
  }

  Origin operand_origin() {
    return rng_.chance(policy_.prob_initializer) ? Origin::kInitializer : Origin::kGraphInput;
  }

  // A shape broadcast-compatible with `s`: fewer leading dims, unit dims, widened unit dims.
  Shape partner_shape(const Shape& s) {
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

  bool fits_broadcast(const std::vector<Shape>& shapes) const {
    auto out = broadcast_shapes(shapes);
    return out && shape_numel(*out) <= policy_.max_elements;
  }

  // The other operand of a broadcasting op: a compatible existing value, or a fresh one.
  int broadcast_partner(int primary, const ValueDomain& domain) {
    const Shape& a = values_[primary].shape;
    if (rng_.chance(policy_.prob_reuse_operand)) {
      std::vector<int> fits;
      for (size_t i = 0; i < values_.size(); ++i) {
        if (fits_broadcast({a, values_[i].shape})) fits.push_back(static_cast<int>(i));
      }
      if (!fits.empty()) return rng_.pick(fits);
    }
    return fresh_float(partner_shape(a), domain, operand_origin());
  }

  template <class MakeFresh>
  int pick_value_of_shape(const Shape& shape, MakeFresh make_fresh) {
    if (rng_.chance(policy_.prob_reuse_operand)) {
      std::vector<int> fits;
      for (size_t i = 0; i < values_.size(); ++i) {
        if (values_[i].shape == shape) fits.push_back(static_cast<int>(i));
      }
      if (!fits.empty()) return rng_.pick(fits);
    }
    return make_fresh();
  }

  // Range a fresh tensor is drawn in: the policy's input or weight range, inside the domain.
  Interval fresh_range(const ValueDomain& domain, Origin origin) {
    Interval base = origin == Origin::kGraphInput
                        ? Interval{policy_.input_lo, policy_.input_hi}
                        : Interval{-policy_.weight_abs, policy_.weight_abs};
    Interval r = base.intersect(domain.allowed);
    if (r.lo > r.hi) {  // the domain lies outside the base range: take a unit span at its edge
      r = std::isfinite(domain.allowed.lo) ? Interval{domain.allowed.lo, domain.allowed.lo + 1}
                                           : Interval{domain.allowed.hi - 1, domain.allowed.hi};
    }
    if (domain.min_magnitude > 0) {
      const double m = domain.min_magnitude;
      const bool positive = r.hi >= m && (r.lo > -m || rng_.uniform_int(0, 1) == 0);
      r = positive ? Interval{std::max(r.lo, m), std::max(r.hi, m)}
                   : Interval{std::min(r.lo, -m), std::min(r.hi, -m)};
    }
    return float_interval(r);
  }

  int fresh_float(const Shape& shape, const ValueDomain& domain, Origin origin) {
    ONNXFUZZ_CHECK(shape_numel(shape) <= policy_.max_elements &&
                       static_cast<int>(shape.size()) <= policy_.max_rank,
                   "fresh tensor breaks the rank/size limits");
    const Interval range = fresh_range(domain, origin);
    Tensor t = Tensor::zeros(DType::kFloat, shape);
    for (float& v : t.values<float>())
      v = static_cast<float>(rng_.uniform_real(range.lo, range.hi));
    Value value;
    value.shape = shape;
    value.range = range;
    value.name = add_tensor(std::move(t), origin);
    values_.push_back(std::move(value));
    return static_cast<int>(values_.size()) - 1;
  }

  Operand fresh_condition(const Shape& shape, Origin origin) {
    Tensor t = Tensor::zeros(DType::kBool, shape);
    for (auto& b : t.bytes) b = static_cast<std::byte>(rng_.uniform_int(0, 1));
    Operand o;
    o.sig.shape = shape;
    o.name = add_tensor(std::move(t), origin);
    return o;
  }

  Operand const_ints(const std::vector<int64_t>& ints) {
    Operand o;
    o.sig.shape = {static_cast<int64_t>(ints.size())};
    o.sig.ints = ints;
    o.name = add_tensor(Tensor::of_int64s(o.sig.shape, ints), Origin::kInitializer);
    return o;
  }

  Operand const_scalar(float v) {
    Operand o;
    o.sig.range = Interval::point(v);
    o.name = add_tensor(Tensor::of_floats({}, std::span<const float>(&v, 1)), Origin::kInitializer);
    return o;
  }

  std::string add_tensor(Tensor t, Origin origin) {
    auto* graph = model_.mutable_graph();
    if (origin == Origin::kGraphInput) {
      std::string name = fmt::format("x{}", input_count_++);
      add_value_info(graph->add_input(), name, t.dtype, t.shape);
      inputs_.emplace(name, std::move(t));
      return name;
    }
    std::string name = fmt::format("c{}", initializer_count_++);
    *graph->add_initializer() = tensor_to_proto(t, name);
    return name;
  }

  static void add_value_info(onnx::ValueInfoProto* info, const std::string& name, DType dtype,
                             const Shape& shape) {
    info->set_name(name);
    auto* tensor_type = info->mutable_type()->mutable_tensor_type();
    tensor_type->set_elem_type(static_cast<int32_t>(dtype));
    auto* dims = tensor_type->mutable_shape();
    for (int64_t d : shape) dims->add_dim()->set_dim_value(d);
  }

  // ----- value-domain repair -------------------------------------------------------------------

  // Every data operand outside its input's domain is repaired: a Clip guard in front of it when
  // the node budget allows (keeping one node for the op), else a fresh value drawn in the domain.
  void repair_domains(Plan& plan) {
    for (size_t i = 0; i < plan.operands.size(); ++i) {
      Operand& o = plan.operands[i];
      if (o.value < 0) continue;
      const ValueDomain& domain = plan.spec->input_domain(i);
      if (domain.admits(values_[o.value].range)) continue;
      int repaired;
      if (guard_ && budget_ >= 2 && rng_.chance(policy_.prob_guard_repair)) {
        repaired = insert_guard(o.value, guard_bounds(domain, values_[o.value].range));
      } else {
        repaired = fresh_float(values_[o.value].shape, domain, operand_origin());
      }
      ONNXFUZZ_CHECK(domain.admits(values_[repaired].range),
                     "domain repair left the value outside its domain");
      o = data(repaired);
    }
  }

  Interval guard_bounds(const ValueDomain& domain, const Interval& range) const {
    const double cap = policy_.max_magnitude;
    Interval b = domain.allowed.intersect({-cap, cap});
    if (domain.min_magnitude > 0) {
      const double m = domain.min_magnitude;
      b = range.hi >= m ? Interval{std::max(b.lo, m), std::max(b.hi, m)}
                        : Interval{std::min(b.lo, -m), std::min(b.hi, -m)};
    }
    return float_interval(b);
  }

  // Emits Clip(value, lo, hi) and returns the guarded value.
  int insert_guard(int value, const Interval& bounds) {
    Plan plan;
    plan.spec = guard_;
    plan.operands = {data(value), const_scalar(static_cast<float>(bounds.lo)),
                     const_scalar(static_cast<float>(bounds.hi))};
    return emit(plan);
  }

  // When the output range would exceed max_magnitude and no node is left for a guard after
  // the op, operands are swapped (last first) for fresh small values until it fits.
  void bound_magnitude(Plan& plan) {
    auto too_big = [&] {
      const Interval r = plan.spec->output_range(plan.sig());
      return !(r.magnitude() <= policy_.max_magnitude);
    };
    if ((guard_ && budget_ >= 2) || !too_big()) return;
    for (size_t i = plan.operands.size(); i-- > 0;) {
      Operand& o = plan.operands[i];
      if (o.value < 0) continue;
      o = data(
          fresh_float(values_[o.value].shape, plan.spec->input_domain(i), Origin::kInitializer));
      if (!too_big()) return;
    }
  }

  // ----- emission ------------------------------------------------------------------------------

  int emit(const Plan& plan) {
    const NodeSig sig = plan.sig();
    auto shape = plan.spec->output_shape(sig);
    ONNXFUZZ_CHECK(shape.has_value(), "generator built a node its own shape rule rejects");
    // Rank 0 only arises from guarding a scalar operand; drawn ops always produce rank >= 1.
    ONNXFUZZ_CHECK(shape_numel(*shape) >= 1 && shape_numel(*shape) <= policy_.max_elements &&
                       static_cast<int>(shape->size()) <= policy_.max_rank,
                   "generated value breaks the rank/size limits");
    const int index = node_count_++;
    auto* node = model_.mutable_graph()->add_node();
    node->set_op_type(plan.spec->op_type);
    node->set_name(fmt::format("n{}_{}", index, plan.spec->op_type));
    for (const auto& o : plan.operands) node->add_input(o.name);
    // Trailing omitted optional inputs are dropped rather than written as "".
    while (node->input_size() > 0 && node->input(node->input_size() - 1).empty())
      node->mutable_input()->RemoveLast();
    Value out;
    out.name = fmt::format("v{}", index);
    node->add_output(out.name);
    for (const auto& a : plan.attrs) *node->add_attribute() = attr_to_proto(a);
    for (const auto& o : plan.operands) {
      if (o.value >= 0) ++values_[o.value].uses;
    }
    out.shape = std::move(*shape);
    out.range = plan.spec->output_range(sig);
    out.from_node = true;
    values_.push_back(std::move(out));
    --budget_;
    return static_cast<int>(values_.size()) - 1;
  }

  const GenPolicy& policy_;
  Rng& rng_;
  std::vector<const OpSpec*> ops_;
  std::vector<double> weights_;
  const OpSpec* guard_;  // Clip, or nullptr when the policy forbids it
  onnx::ModelProto model_;
  TensorMap inputs_;
  std::vector<Value> values_;
  int budget_ = 0;
  int node_count_ = 0;
  int input_count_ = 0;
  int initializer_count_ = 0;
};

std::string known_ops_list() {
  std::string out;
  for (const auto& spec : all_op_specs()) {
    if (!out.empty()) out += ", ";
    out += spec.op_type;
  }
  return out;
}

}  // namespace

std::vector<std::string> generator_ops() {
  std::vector<std::string> ops;
  for (const auto& spec : all_op_specs()) ops.push_back(spec.op_type);
  return ops;
}

std::expected<void, std::string> validate_op_names(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    if (!find_op_spec(name)) {
      return std::unexpected(
          fmt::format("unknown op '{}' (known ops: {})", name, known_ops_list()));
    }
  }
  return {};
}

std::expected<GeneratedModel, std::string> generate_model(const GenPolicy& policy, uint64_t seed) {
  if (auto ok = validate_op_names(policy.only_ops); !ok)
    return std::unexpected("only_ops: " + ok.error());
  if (auto ok = validate_op_names(policy.exclude_ops); !ok)
    return std::unexpected("exclude_ops: " + ok.error());
  for (const auto& [name, weight] : policy.op_weights) {
    if (!find_op_spec(name)) {
      return std::unexpected(
          fmt::format("op_weights: unknown op '{}' (known ops: {})", name, known_ops_list()));
    }
  }
  if (policy.max_nodes < 1 || policy.min_nodes < 1 || policy.min_nodes > policy.max_nodes) {
    return std::unexpected(fmt::format("node limits need 1 <= min_nodes ({}) <= max_nodes ({})",
                                       policy.min_nodes, policy.max_nodes));
  }
  if (policy.max_rank < 1 || policy.max_dim < 1 || policy.max_elements < policy.max_dim) {
    return std::unexpected(
        std::string("size limits need max_rank >= 1 and 1 <= max_dim <= max_elements"));
  }
  auto listed = [](const std::vector<std::string>& list, const std::string& op) {
    return std::find(list.begin(), list.end(), op) != list.end();
  };
  std::vector<const OpSpec*> ops;
  std::vector<double> weights;
  const OpSpec* guard = nullptr;
  for (const auto& spec : all_op_specs()) {
    if (listed(policy.exclude_ops, spec.op_type)) continue;
    if (!policy.only_ops.empty() && !listed(policy.only_ops, spec.op_type)) continue;
    if (spec.op_type == "Clip") guard = &spec;  // guards only use an op the policy allows
    bool feasible = false;
    for (int r = 1; r <= policy.max_rank; ++r)
      feasible = feasible || Draft::rank_feasible(spec, r, policy);
    auto w = policy.op_weights.find(spec.op_type);
    const double weight = w == policy.op_weights.end() ? 1.0 : w->second;
    if (!feasible || weight <= 0) continue;
    ops.push_back(&spec);
    weights.push_back(weight);
  }
  if (ops.empty()) {
    return std::unexpected(fmt::format(
        "no op left to draw after only_ops/exclude_ops/op_weights and size limits (known ops: {})",
        known_ops_list()));
  }
  Rng rng(seed);
  Draft draft(policy, rng, std::move(ops), std::move(weights), guard);
  draft.grow(static_cast<int>(rng.uniform_int(policy.min_nodes, policy.max_nodes)));
  return draft.finish(seed);
}

}  // namespace onnxfuzz
