// The optimizer-pattern table and its insertion: dry-run every node through its registration's
// rules, then emit the whole subgraph with the shared GraphBuilder.
#include "generators/patterns.h"

#include <fmt/format.h>
#include <onnx/defs/parser.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <numeric>
#include <optional>

namespace onnxfuzz {

namespace {

constexpr double kSqrt2 = 1.4142135623730951;
constexpr double kSqrt2OverPi = 0.7978845608028654;

// Each row names the optimizer rewrite it targets (ONNX Runtime's transformer names).
const std::vector<Pattern>& pattern_table() {
  static const std::vector<Pattern> table = {
      {"LayerNorm", 2, 4,
       "{ m = ReduceMean <axes = [-1]> (X)\n d = Sub (X, m)\n p = Pow (d, two)\n"
       " v = ReduceMean <axes = [-1]> (p)\n e = Add (v, eps)\n s = Sqrt (e)\n n = Div (d, s)\n"
       " g = Mul (n, gamma)\n y = Add (g, beta) }",
       {{"two", "", 2, 2}, {"eps", "", 1e-5, 1e-5}, {"gamma", "L", 0.5, 1.5},
        {"beta", "L", -0.5, 0.5}},
       "LayerNormFusion"},
      {"RMSNorm", 2, 4,
       "{ p = Pow (X, two)\n v = ReduceMean <axes = [-1]> (p)\n e = Add (v, eps)\n"
       " s = Sqrt (e)\n n = Div (X, s)\n y = Mul (n, gamma) }",
       {{"two", "", 2, 2}, {"eps", "", 1e-6, 1e-6}, {"gamma", "L", 0.5, 1.5}},
       "SimplifiedLayerNormFusion"},
      {"SkipLayerNorm", 2, 4,
       "{ a = Add (X, skip)\n y = LayerNormalization <axis = -1, epsilon = 0.00001> (a, gamma, "
       "beta) }",
       {{"skip", "X", -1, 1}, {"gamma", "L", 0.5, 1.5}, {"beta", "L", -0.5, 0.5}},
       "SkipLayerNormFusion"},
      {"GeluErf", 1, 4,
       "{ d = Div (X, sqrt2)\n e = Erf (d)\n a = Add (e, one)\n m = Mul (X, a)\n"
       " y = Mul (m, half) }",
       {{"sqrt2", "", kSqrt2, kSqrt2}, {"one", "", 1, 1}, {"half", "", 0.5, 0.5}},
       "GeluFusion"},
      {"GeluTanh", 1, 4,
       "{ c = Pow (X, three)\n k = Mul (c, coef)\n s = Add (X, k)\n t = Mul (s, root)\n"
       " h = Tanh (t)\n a = Add (h, one)\n m = Mul (X, a)\n y = Mul (m, half) }",
       {{"three", "", 3, 3}, {"coef", "", 0.044715, 0.044715},
        {"root", "", kSqrt2OverPi, kSqrt2OverPi}, {"one", "", 1, 1}, {"half", "", 0.5, 0.5}},
       "FastGeluFusion"},
      {"QuickGelu", 1, 4, "{ m = Mul (X, k)\n s = Sigmoid (m)\n y = Mul (X, s) }",
       {{"k", "", 1.702, 1.702}}, "QuickGeluFusion"},
      {"BiasGelu", 1, 4,
       "{ b = Add (X, bias)\n d = Div (b, sqrt2)\n e = Erf (d)\n a = Add (e, one)\n"
       " m = Mul (b, a)\n y = Mul (m, half) }",
       {{"bias", "L", -0.5, 0.5}, {"sqrt2", "", kSqrt2, kSqrt2}, {"one", "", 1, 1},
        {"half", "", 0.5, 0.5}},
       "BiasGeluFusion"},
      {"Swish", 1, 4, "{ s = Sigmoid (X)\n y = Mul (X, s) }", {}, "QuickGeluFusion (alpha=1)"},
      {"MatMulAdd", 2, 3, "{ m = MatMul (X, w)\n y = Add (m, b) }",
       {{"w", "L,N", -1, 1}, {"b", "N", -1, 1}}, "MatMulAddFusion (Gemm)"},
      {"MatMulScale", 2, 3, "{ m = MatMul (X, w)\n y = Mul (m, scale) }",
       {{"w", "L,N", -1, 1}, {"scale", "", 0.125, 0.125}}, "MatMulScaleFusion"},
      {"MatMulDiv", 2, 3, "{ m = MatMul (X, w)\n y = Div (m, scale) }",
       {{"w", "L,N", -1, 1}, {"scale", "", 8, 8}}, "MatMulScaleFusion"},
      {"TransposeMatMul", 2, 2, "{ t = Transpose <perm = [1, 0]> (X)\n y = MatMul (t, w) }",
       {{"w", "D0,N", -1, 1}}, "MatmulTransposeFusion (FusedMatMul)"},
      {"TransposeGemm", 2, 2,
       "{ t = Transpose <perm = [1, 0]> (X)\n y = Gemm <transA = 1> (t, w, c) }",
       {{"w", "D1,N", -1, 1}, {"c", "N", -1, 1}}, "GemmTransposeFusion"},
      {"Attention", 3, 3,
       "{ q = MatMul (X, wq)\n k = MatMul (X, wk)\n v = MatMul (X, wv)\n"
       " kt = Transpose <perm = [0, 2, 1]> (k)\n s = MatMul (q, kt)\n c = Div (s, scale)\n"
       " p = Softmax <axis = -1> (c)\n y = MatMul (p, v) }",
       {{"wq", "L,N", -1, 1}, {"wk", "L,N", -1, 1}, {"wv", "L,N", -1, 1}, {"scale", "", 2, 2}},
       "AttentionFusion, MatMulScaleFusion"},
      {"ConvAdd", 4, 4, "{ c = Conv (X, w)\n y = Add (c, b) }",
       {{"w", "M,C,K,K", -1, 1}, {"b", "M,S", -1, 1}}, "ConvAddFusion"},
      {"ConvMul", 4, 4, "{ c = Conv (X, w)\n y = Mul (c, s) }",
       {{"w", "M,C,K,K", -1, 1}, {"s", "M,S", 0.5, 1.5}}, "ConvMulFusion"},
      {"ConvBatchNorm", 4, 4,
       "{ c = Conv (X, w, b)\n y = BatchNormalization (c, scale, bias, mean, var) }",
       {{"w", "M,C,K,K", -1, 1},
        {"b", "M", -1, 1},
        {"scale", "M", 0.5, 1.5},
        {"bias", "M", -0.5, 0.5},
        {"mean", "M", -0.5, 0.5},
        {"var", "M", 0.5, 2}},
       "ConvBNFusion"},
      {"ConvRelu", 4, 4, "{ c = Conv (X, w)\n y = Relu (c) }", {{"w", "M,C,K,K", -1, 1}},
       "ConvActivationFusion (FusedConv)"},
      {"ConvClip", 4, 4, "{ c = Conv (X, w)\n y = Clip (c, lo, hi) }",
       {{"w", "M,C,K,K", -1, 1}, {"lo", "", -1, -1}, {"hi", "", 1, 1}},
       "ConvActivationFusion (FusedConv)"},
      {"PadConv", 4, 4, "{ p = Pad (X, pads)\n y = Conv (p, w) }",
       {{"pads", "", 0, 0, "[0, 0, 1, 1, 0, 0, 1, 1]"}, {"w", "M,C,K,K", -1, 1}},
       "PadFusion"},
      {"PadMaxPool", 4, 4, "{ p = Pad (X, pads)\n y = MaxPool <kernel_shape = [2, 2]> (p) }",
       {{"pads", "", 0, 0, "[0, 0, 1, 0, 0, 0, 0, 1]"}}, "PadFusion"},
      {"PadAveragePool", 4, 4,
       "{ p = Pad (X, pads)\n y = AveragePool <kernel_shape = [2, 2]> (p) }",
       {{"pads", "", 0, 0, "[0, 0, 1, 1, 0, 0, 1, 1]"}}, "PadFusion"},
      {"ReshapeChain", 1, 4, "{ r = Reshape (X, flat)\n y = Reshape (r, back) }",
       {{"flat", "", 0, 0, "[-1]"}, {"back", "", 0, 0, "$shape"}}, "ReshapeFusion"},
      {"UnsqueezeSqueeze", 1, 3, "{ u = Unsqueeze (X, zero)\n y = Squeeze (u, zero) }",
       {{"zero", "", 0, 0, "[0]"}}, "UnsqueezeElimination, SqueezeElimination"},
      {"ReluClip", 1, 4, "{ r = Relu (X)\n y = Clip (r, lo, hi) }",
       {{"lo", "", 0, 0}, {"hi", "", 6, 6}}, "ReluClipFusion"},
      {"CastChainHalf", 1, 4, "{ a = Cast <to = 10> (X)\n y = Cast <to = 1> (a) }", {},
       "CastElimination, InsertCastTransformer"},
      {"CastChainDouble", 1, 4, "{ a = Cast <to = 11> (X)\n y = Cast <to = 1> (a) }", {},
       "CastElimination"},
      {"DivMul", 1, 4, "{ d = Div (X, k)\n y = Mul (d, k2) }",
       {{"k", "", 2, 2}, {"k2", "", 3, 3}}, "DivMulFusion"},
  };
  return table;
}

// Parsed node lists, one per table row.
const std::vector<std::vector<onnx::NodeProto>>& parsed_patterns() {
  static const std::vector<std::vector<onnx::NodeProto>> parsed = [] {
    std::vector<std::vector<onnx::NodeProto>> out;
    for (const auto& p : pattern_table()) {
      const std::string text(p.nodes);  // the parser keeps a pointer into it
      onnx::OnnxParser parser(text.c_str());
      onnx::NodeList list;
      const auto status = parser.Parse(list);
      ONNXFUZZ_CHECK(status.IsOK(), "optimizer pattern table: a pattern does not parse");
      out.emplace_back(list.begin(), list.end());
    }
    return out;
  }();
  return parsed;
}

struct Symbols {
  Shape x;
  int64_t n = 1, m = 1, k = 1;
};

std::optional<Shape> resolve_shape(std::string_view spec, const Symbols& sym) {
  Shape out;
  if (spec.empty()) return out;
  if (spec == "X") return sym.x;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view tok = spec.substr(pos, end - pos);
    while (!tok.empty() && tok.front() == ' ') tok.remove_prefix(1);
    if (tok == "L") {
      out.push_back(sym.x.back());
    } else if (tok == "C") {
      if (sym.x.size() < 2) return std::nullopt;
      out.push_back(sym.x[1]);
    } else if (tok.size() == 2 && tok[0] == 'D') {
      const size_t i = static_cast<size_t>(tok[1] - '0');
      if (i >= sym.x.size()) return std::nullopt;
      out.push_back(sym.x[i]);
    } else if (tok == "N") {
      out.push_back(sym.n);
    } else if (tok == "M") {
      out.push_back(sym.m);
    } else if (tok == "K") {
      out.push_back(sym.k);
    } else if (tok == "S") {
      if (sym.x.size() < 2) return std::nullopt;
      for (size_t i = 2; i < sym.x.size(); ++i) out.push_back(1);
    } else {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
      ONNXFUZZ_CHECK(ec == std::errc() && p == tok.data() + tok.size(),
                     "optimizer pattern table: bad dim in a constant's shape");
      out.push_back(v);
    }
    pos = end + 1;
  }
  return out;
}

std::vector<int64_t> resolve_ints(std::string_view spec, const Symbols& sym) {
  if (spec == "$shape") return sym.x;
  std::vector<int64_t> out;
  for (size_t i = 0; i < spec.size();) {
    if (spec[i] == '-' || (spec[i] >= '0' && spec[i] <= '9')) {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(spec.data() + i, spec.data() + spec.size(), v);
      ONNXFUZZ_CHECK(ec == std::errc(), "optimizer pattern table: bad int list");
      out.push_back(v);
      i = static_cast<size_t>(p - spec.data());
    } else {
      ++i;
    }
  }
  return out;
}

bool commutative(const std::string& op) {
  static const char* kOps[] = {"Add", "Mul", "Sum", "Max", "Min", "And", "Or", "Equal"};
  return std::any_of(std::begin(kOps), std::end(kOps), [&](const char* o) { return op == o; });
}

// A constant as the dry run and the emission see it.
struct ConstPlan {
  DType dtype = DType::kFloat;
  Shape shape;
  double lo = 0, hi = 0;
  std::vector<int64_t> ints;
  bool is_ints = false;
};

// One instance: the nodes (perturbed), the constants, and X.
struct Instance {
  std::vector<onnx::NodeProto> nodes;
  std::map<std::string, ConstPlan> consts;
  Perturbation perturbation = Perturbation::kNone;
};

// Shapes every node through its registration's rules; false when a node does not fit.
bool dry_run(const GraphBuilder& g, const Instance& inst, const NodeInput& x,
             std::vector<const OpSpec*>& specs) {
  const GenPolicy& policy = g.policy();
  std::map<std::string, NodeInput> env;
  env["X"] = x;
  for (const auto& [name, c] : inst.consts) {
    if (static_cast<int>(c.shape.size()) > policy.max_rank ||
        shape_numel(c.shape) > policy.max_elements)
      return false;
    NodeInput in{true, c.dtype, c.shape, {c.lo, c.hi}, c.ints};
    if (c.is_ints) in.range = Interval::all();
    env[name] = std::move(in);
  }
  specs.clear();
  for (const auto& node : inst.nodes) {
    const OpSpec* spec = find_op_spec(node.op_type());
    if (spec == nullptr) return false;
    specs.push_back(spec);
    NodeSig sig;
    for (const auto& name : node.input()) {
      auto it = env.find(name);
      ONNXFUZZ_CHECK(it != env.end(), "optimizer pattern table: a node reads an unknown name");
      sig.inputs.push_back(it->second);
    }
    sig.attrs = attrs_of_node(node);
    const size_t slot = static_cast<size_t>(spec->primary_slots.front());
    if (slot >= sig.inputs.size() || !spec->allows_dtype(sig.inputs[slot].dtype)) return false;
    // Inputs sharing the primary's type parameter must match its dtype; the builder does not
    // repair a pattern.
    for (size_t i = 0; i < sig.inputs.size() && i < spec->inputs.size(); ++i) {
      const auto& formal = spec->inputs[i];
      if (formal.role == InputRole::kData && i != slot &&
          formal.allowed_dtypes == spec->inputs[slot].allowed_dtypes &&
          sig.inputs[i].dtype != sig.inputs[slot].dtype &&
          spec->op_type != "Pow") {  // Pow's exponent has its own type parameter
        return false;
      }
      if (std::find(formal.allowed_dtypes.begin(), formal.allowed_dtypes.end(),
                    sig.inputs[i].dtype) == formal.allowed_dtypes.end())
        return false;
    }
    auto shape = spec->output_shape(sig);
    if (!shape || shape_numel(*shape) < 1 || shape_numel(*shape) > policy.max_elements ||
        static_cast<int>(shape->size()) > policy.max_rank || shape->empty()) {
      return false;
    }
    NodeInput out{true, spec->dtype_rule(*spec, sig), *shape, spec->output_range(sig), {}};
    env[node.output(0)] = std::move(out);
  }
  return true;
}

// Perturbs one attribute a fusion is likely to rely on.
bool perturb_attribute(Instance& inst, Rng& rng, int64_t rank) {
  std::vector<std::pair<size_t, int>> candidates;
  for (size_t n = 0; n < inst.nodes.size(); ++n) {
    for (int a = 0; a < inst.nodes[n].attribute_size(); ++a) candidates.push_back({n, a});
  }
  if (candidates.empty()) return false;
  const auto [n, a] = rng.pick(candidates);
  if (inst.nodes[n].op_type() == "Cast") return false;  // `to` is the pattern itself
  onnx::AttributeProto* attr = inst.nodes[n].mutable_attribute(a);
  const std::string& name = attr->name();
  if (name == "axis") {
    attr->set_i(rng.uniform_int(-rank, rank - 1));
  } else if (name == "axes") {
    attr->clear_ints();
    attr->add_ints(rng.uniform_int(-rank, rank - 1));
  } else if (name == "perm") {
    std::vector<int64_t> perm(static_cast<size_t>(attr->ints_size()));
    std::iota(perm.begin(), perm.end(), 0);
    rng.shuffle(perm);
    attr->clear_ints();
    for (int64_t p : perm) attr->add_ints(p);
  } else if (name == "epsilon") {
    attr->set_f(static_cast<float>(rng.pick(std::vector<double>{1e-12, 1e-3, 0.1, 1.0})));
  } else if (attr->type() == onnx::AttributeProto::INT && (attr->i() == 0 || attr->i() == 1)) {
    attr->set_i(1 - attr->i());  // transA/transB, keepdims and the like: flip
  } else {
    return false;
  }
  return true;
}

// Changes a float constant's rank or broadcast shape: [C] -> [1, C] or [1]; scalar -> [1].
bool perturb_const_shape(Instance& inst, Rng& rng) {
  std::vector<std::string> names;
  for (const auto& [name, c] : inst.consts) {
    if (!c.is_ints) names.push_back(name);
  }
  if (names.empty()) return false;
  ConstPlan& c = inst.consts[rng.pick(names)];
  if (c.shape.empty()) {
    c.shape = {1};
  } else if (rng.chance(0.5)) {
    c.shape.insert(c.shape.begin(), 1);
  } else {
    c.shape = Shape(rng.uniform_int(1, static_cast<int64_t>(c.shape.size())), 1);
  }
  return true;
}

// Pow's exponent has its own type parameter: give it another dtype.
bool perturb_const_dtype(Instance& inst, Rng& rng, const std::map<DType, double>& weights) {
  for (const auto& node : inst.nodes) {
    if (node.op_type() != "Pow" || node.input_size() < 2) continue;
    auto it = inst.consts.find(node.input(1));
    if (it == inst.consts.end()) continue;
    std::vector<DType> others;
    for (const auto& [d, w] : weights) {
      if (w > 0 && d != it->second.dtype && d != DType::kBool) others.push_back(d);
    }
    if (others.empty()) return false;
    it->second.dtype = rng.pick(others);
    return true;
  }
  return false;
}

bool perturb_operand_order(Instance& inst, Rng& rng) {
  std::vector<size_t> nodes;
  for (size_t n = 0; n < inst.nodes.size(); ++n) {
    if (commutative(inst.nodes[n].op_type()) && inst.nodes[n].input_size() == 2)
      nodes.push_back(n);
  }
  if (nodes.empty()) return false;
  auto* inputs = inst.nodes[rng.pick(nodes)].mutable_input();
  std::swap(*inputs->Mutable(0), *inputs->Mutable(1));
  return true;
}

}  // namespace

std::string_view perturbation_name(Perturbation p) {
  switch (p) {
    case Perturbation::kNone:
      return "none";
    case Perturbation::kAttribute:
      return "attribute";
    case Perturbation::kConstShape:
      return "const-shape";
    case Perturbation::kConstDtype:
      return "const-dtype";
    case Perturbation::kOperandOrder:
      return "operand-order";
    case Perturbation::kDtype:
      return "dtype";
  }
  return "?";
}

const std::vector<Pattern>& all_patterns() { return pattern_table(); }

std::vector<std::string> pattern_ops(const Pattern& pattern) {
  const size_t row = static_cast<size_t>(&pattern - pattern_table().data());
  ONNXFUZZ_CHECK(row < pattern_table().size(), "pattern_ops: not a row of the table");
  std::vector<std::string> ops;
  for (const auto& node : parsed_patterns()[row]) ops.push_back(node.op_type());
  return ops;
}

std::string insert_pattern(GraphBuilder& g, const Pattern& pattern,
                           const std::function<bool(const OpSpec&)>& op_allowed,
                           const std::map<DType, double>& dtype_weights) {
  const size_t row = static_cast<size_t>(&pattern - pattern_table().data());
  ONNXFUZZ_CHECK(row < pattern_table().size(), "insert_pattern: not a row of the table");
  const std::vector<onnx::NodeProto>& nodes = parsed_patterns()[row];
  if (static_cast<int>(nodes.size()) > g.budget()) return "";
  for (const auto& node : nodes) {
    const OpSpec* spec = find_op_spec(node.op_type());
    if (spec == nullptr || !op_allowed(*spec)) return "";
  }
  const GenPolicy& policy = g.policy();
  Rng& rng = g.rng();
  const int max_rank = std::min(pattern.max_rank, policy.max_rank);
  if (pattern.min_rank > max_rank) return "";

  // X: an existing value of a fitting rank, or a fresh graph input.
  std::vector<DType> dtypes;
  std::vector<double> weights;
  for (const auto& [d, w] : dtype_weights) {
    if (w > 0) {
      dtypes.push_back(d);
      weights.push_back(w);
    }
  }
  if (dtypes.empty()) return "";
  int x = -1;
  if (rng.chance(policy.prob_reuse_primary)) {
    std::vector<int> fits;
    for (size_t i = 0; i < g.values().size(); ++i) {
      const Value& v = g.values()[i];
      const int r = static_cast<int>(v.shape.size());
      const auto w = dtype_weights.find(v.dtype);
      // Only guarded values: the pattern's arithmetic is not repaired, so an input holding a
      // dtype's extremes (edge instances) could overflow a Cast to float16 inside it.
      if (r >= pattern.min_rank && r <= max_rank && shape_numel(v.shape) > 0 &&
          w != dtype_weights.end() && w->second > 0 && g.value_bounds(v.dtype).contains(v.range))
        fits.push_back(static_cast<int>(i));
    }
    if (!fits.empty()) x = rng.pick(fits);
  }
  Symbols sym;
  Shape fresh_shape;
  DType fresh_dtype = DType::kFloat;
  if (x < 0) {
    fresh_shape = g.random_shape(static_cast<size_t>(rng.uniform_int(pattern.min_rank, max_rank)));
    fresh_dtype = dtypes[rng.weighted_index(weights)];
    sym.x = fresh_shape;
  } else {
    sym.x = g.value(x).shape;
  }
  sym.n = rng.uniform_int(1, policy.max_dim);
  sym.m = rng.uniform_int(1, policy.max_dim);
  bool small_spatial = false;
  for (size_t i = 2; i < sym.x.size(); ++i) small_spatial = small_spatial || sym.x[i] < 3;
  sym.k = small_spatial || rng.chance(0.5) ? 1 : 3;

  const DType dtype = x >= 0 ? g.value(x).dtype : fresh_dtype;
  Instance inst;
  inst.nodes = nodes;
  for (const auto& c : pattern.consts) {
    ConstPlan plan;
    if (!c.ints.empty()) {
      plan.is_ints = true;
      plan.dtype = DType::kInt64;
      plan.ints = resolve_ints(c.ints, sym);
      plan.shape = {static_cast<int64_t>(plan.ints.size())};
    } else {
      auto shape = resolve_shape(c.shape, sym);
      if (!shape || shape_numel(*shape) > policy.max_elements) return "";
      plan.shape = *shape;
      plan.dtype = dtype;
      plan.lo = c.lo;
      plan.hi = c.hi;
    }
    inst.consts[std::string(c.name)] = std::move(plan);
  }
  if (rng.chance(policy.prob_perturb_pattern)) {
    const Perturbation kinds[] = {Perturbation::kAttribute, Perturbation::kConstShape,
                                  Perturbation::kConstDtype, Perturbation::kOperandOrder};
    const Perturbation kind = kinds[rng.uniform_int(0, 3)];
    bool done = false;
    switch (kind) {
      case Perturbation::kAttribute:
        done = perturb_attribute(inst, rng, static_cast<int64_t>(sym.x.size()));
        break;
      case Perturbation::kConstShape:
        done = perturb_const_shape(inst, rng);
        break;
      case Perturbation::kConstDtype:
        done = perturb_const_dtype(inst, rng, dtype_weights);
        break;
      default:
        done = perturb_operand_order(inst, rng);
        break;
    }
    if (done) inst.perturbation = kind;
  }
  if (inst.perturbation == Perturbation::kNone && dtype != DType::kFloat)
    inst.perturbation = Perturbation::kDtype;

  // A fresh X is made only once the pattern is known to fit; the dry run sees its type.
  std::vector<const OpSpec*> specs;
  NodeInput x_in{true, dtype, sym.x, Interval{policy.input_lo, policy.input_hi}, {}};
  if (x >= 0) x_in.range = g.value(x).range;
  if (!dry_run(g, inst, x_in, specs)) {
    // A perturbation may break the pattern's validity: fall back to the plain pattern.
    if (inst.perturbation == Perturbation::kNone || inst.perturbation == Perturbation::kDtype)
      return "";
    Instance plain;
    plain.nodes = nodes;
    plain.consts = inst.consts;
    for (const auto& c : pattern.consts) {
      auto shape = resolve_shape(c.shape, sym);
      if (c.ints.empty() && shape) {
        plain.consts[std::string(c.name)].shape = *shape;
        plain.consts[std::string(c.name)].dtype = dtype;
      }
    }
    plain.perturbation = dtype != DType::kFloat ? Perturbation::kDtype : Perturbation::kNone;
    if (!dry_run(g, plain, x_in, specs)) return "";
    inst = std::move(plain);
  }
  if (x < 0) x = g.fresh(fresh_dtype, fresh_shape, ValueDomain{}, Origin::kGraphInput);

  // Emission: constants, then the nodes in order, with the builder's own emit (no repair: the
  // pattern's arithmetic is well defined by construction and a guard would break the fusion).
  std::map<std::string, Operand> env;
  env["X"] = g.data(x);
  for (const auto& [name, c] : inst.consts) {
    if (c.is_ints) {
      env[name] = g.const_ints(c.ints);
    } else if (c.lo == c.hi) {
      env[name] = g.const_filled(c.dtype, c.shape, c.lo);
    } else {
      env[name] = g.data(g.fresh(c.dtype, c.shape, ValueDomain{{c.lo, c.hi}, 0},
                                 Origin::kInitializer));
    }
  }
  int last = x;
  for (size_t n = 0; n < inst.nodes.size(); ++n) {
    const onnx::NodeProto& node = inst.nodes[n];
    Plan plan;
    plan.spec = specs[n];
    for (const auto& name : node.input()) plan.operands.push_back(env.at(name));
    plan.dtype = plan.operands[static_cast<size_t>(plan.spec->primary_slots.front())].sig.dtype;
    plan.attrs = attrs_of_node(node);
    last = g.emit(plan).front();
    env[node.output(0)] = g.data(last);
  }
  g.bound_output(last);
  return fmt::format("{}/{}", pattern.name, perturbation_name(inst.perturbation));
}

}  // namespace onnxfuzz
