// Generator tests: validity, shape agreement with ONNX inference, determinism, coverage, policy.
#include "generators/generator.h"

#include <gtest/gtest.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <map>
#include <set>

#include "generators/inputs.h"
#include "generators/model_io.h"
#include "generators/op_spec.h"

// The reference interpreter links once oracles/reference.cpp exists in the tree (the core
// library globs it in); until then the finiteness test is compiled out.
#if __has_include("oracles/reference.cpp")
#define ONNXFUZZ_HAVE_REFERENCE 1
#include "oracles/reference.h"
#endif

namespace onnxfuzz {
namespace {

constexpr uint64_t kSeeds = 1000;

GeneratedModel generate_or_die(const GenPolicy& policy, uint64_t seed) {
  auto generated = generate_model(policy, seed);
  EXPECT_TRUE(generated.has_value()) << generated.error();
  return std::move(*generated);
}

Shape declared_shape(const onnx::ValueInfoProto& info) {
  auto type = value_type_of(info);
  EXPECT_TRUE(type.has_value()) << type.error();
  return type ? type->shape : Shape{};
}

// The (op, dtype of its primary operand) pair of every node of a validated model.
std::vector<std::pair<std::string, DType>> primary_pairs(const onnx::ModelProto& validated) {
  std::map<std::string, DType> types;
  for (const auto& list : {&validated.graph().input(), &validated.graph().value_info()}) {
    for (const auto& info : *list) {
      types[info.name()] = static_cast<DType>(info.type().tensor_type().elem_type());
    }
  }
  for (const auto& init : validated.graph().initializer())
    types[init.name()] = static_cast<DType>(init.data_type());
  std::vector<std::pair<std::string, DType>> pairs;
  for (const auto& node : validated.graph().node()) {
    const OpSpec* spec = find_op_spec(node.op_type());
    const int slot = spec->primary_slots.front();
    if (slot < node.input_size() && types.contains(node.input(slot)))
      pairs.emplace_back(node.op_type(), types.at(node.input(slot)));
  }
  return pairs;
}

// Validates the model, then re-infers its outputs with their shapes erased and compares. The
// second pass calls shape inference directly: the checker insists that outputs carry shapes.
void expect_valid_with_inferred_outputs(const onnx::ModelProto& model) {
  auto validated = validate_model(model);
  ASSERT_TRUE(validated.has_value()) << validated.error();
  onnx::ModelProto erased = model;
  for (auto& out : *erased.mutable_graph()->mutable_output()) {
    out.mutable_type()->mutable_tensor_type()->clear_shape();
  }
  try {
    onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1,
                                        /*data_prop=*/false);
    onnx::shape_inference::InferShapes(erased, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    FAIL() << "shape inference: " << e.what();
  }
  ASSERT_EQ(erased.graph().output_size(), model.graph().output_size());
  for (int i = 0; i < model.graph().output_size(); ++i) {
    EXPECT_EQ(declared_shape(erased.graph().output(i)), declared_shape(model.graph().output(i)))
        << "output " << model.graph().output(i).name();
  }
}

TEST(Generator, DefaultPolicyModelsValidateAndDeclareInferredShapes) {
  const GenPolicy policy;
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    GeneratedModel g = generate_or_die(policy, seed);
    expect_valid_with_inferred_outputs(g.model);
    EXPECT_EQ(g.model.ir_version(), 8);
    ASSERT_EQ(g.model.opset_import_size(), 1);
    EXPECT_EQ(g.model.opset_import(0).domain(), "");
    EXPECT_EQ(g.model.opset_import(0).version(), kTargetOpset);
    EXPECT_EQ(g.model.producer_name(), "onnxfuzz");
    EXPECT_GE(g.model.graph().node_size(), policy.min_nodes);
    EXPECT_LE(g.model.graph().node_size(), policy.max_nodes);
    EXPECT_GE(g.model.graph().output_size(), 1);
    // Every runtime input has data of the declared type and shape.
    const auto runtime = runtime_inputs(g.model.graph());
    ASSERT_EQ(runtime.size(), g.inputs.size());
    for (const auto* info : runtime) {
      auto type = value_type_of(*info);
      ASSERT_TRUE(type.has_value()) << type.error();
      auto it = g.inputs.find(info->name());
      ASSERT_NE(it, g.inputs.end()) << info->name();
      EXPECT_EQ(it->second.dtype, type->dtype);
      EXPECT_EQ(it->second.shape, type->shape);
      EXPECT_LE(it->second.numel(), policy.max_elements);
    }
    if (::testing::Test::HasFailure()) return;
  }
}

#ifdef ONNXFUZZ_HAVE_REFERENCE
// 10,000 seeds of the default policy (every op, every dtype, patterns, edge instances): all pass
// the checker and strict inference, all run on the reference, and at least 99% have only finite
// outputs (value domains and guards keep them so; an edge instance may reach an infinity).
TEST(Generator, TenThousandSeedsValidateRunAndStayFinite) {
  const GenPolicy policy;
  constexpr uint64_t kMany = 10000;
  uint64_t finite = 0;
  for (uint64_t seed = 0; seed < kMany; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    GeneratedModel g = generate_or_die(policy, seed);
    auto validated = validate_model(g.model);
    ASSERT_TRUE(validated.has_value()) << validated.error();
    RunResult result = run_reference(g.model, g.inputs);
    ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
    ASSERT_EQ(result.outputs.size(), static_cast<size_t>(g.model.graph().output_size()));
    bool all_finite = true;
    for (const auto& [name, tensor] : result.outputs) {
      for (int64_t i = 0; i < tensor.numel(); ++i) {
        const double v = tensor.as_double(i);
        all_finite = all_finite && std::isfinite(v) && (!is_float(tensor.dtype) || std::abs(v) <= 1e9);
      }
    }
    finite += all_finite ? 1 : 0;
  }
  EXPECT_GE(finite, kMany * 99 / 100) << "models with only finite reference outputs";
}

// Replays every node through its OpSpec on the values the reference computed: the shape rule
// must give the actual shape and the range rule must contain every actual value.
TEST(OpSpec, ShapeAndRangeRulesHoldOnReferenceValues) {
  GenPolicy policy;
  policy.max_nodes = 20;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    GeneratedModel g = generate_or_die(policy, seed);
    TensorMap values;
    RunResult result = run_reference(g.model, g.inputs, &values);
    ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
    std::map<std::string, Interval> ranges;
    auto range_of = [&](const std::string& name) {
      if (auto it = ranges.find(name); it != ranges.end()) return it->second;
      const Tensor& t = values.at(name);
      Interval r{INFINITY, -INFINITY};
      for (int64_t i = 0; i < t.numel(); ++i) r = r.hull(Interval::point(t.as_double(i)));
      return r;
    };
    for (const auto& node : g.model.graph().node()) {
      const OpSpec* spec = find_op_spec(node.op_type());
      ASSERT_NE(spec, nullptr) << node.op_type();
      NodeSig sig;
      sig.attrs = attrs_of_node(node);
      for (int i = 0; i < node.input_size(); ++i) {
        NodeInput in;
        if (node.input(i).empty()) {
          in.present = false;
        } else {
          const Tensor& t = values.at(node.input(i));
          in.dtype = t.dtype;
          in.shape = t.shape;
          in.range = range_of(node.input(i));
          if (t.dtype == DType::kInt64)
            in.ints.assign(t.values<int64_t>().begin(), t.values<int64_t>().end());
        }
        sig.inputs.push_back(std::move(in));
      }
      const Tensor& out = values.at(node.output(0));
      auto shape = spec->output_shape(sig);
      ASSERT_TRUE(shape.has_value()) << node.name() << ": " << shape.error();
      EXPECT_EQ(*shape, out.shape) << node.name();
      Interval range = spec->output_range(sig);
      const DTypeInfo& info = dtype_info(out.dtype);
      // Integer results beyond the dtype wrap; half types round by up to their tolerance.
      if (!is_float(out.dtype) && !dtype_holds(out.dtype, range.lo, range.hi))
        range = {info.lowest, info.highest};
      const double slack = std::max(1e-4, info.rtol) * std::max(1.0, range.magnitude());
      for (int64_t i = 0; i < out.numel(); ++i) {
        ASSERT_GE(out.as_double(i), range.lo - slack) << node.name();
        ASSERT_LE(out.as_double(i), range.hi + slack) << node.name();
      }
      ranges[node.output(0)] = range;
    }
  }
}
#endif

TEST(Generator, SameSeedSameBytesAndInputs) {
  const GenPolicy policy;
  for (uint64_t seed : {0ull, 1ull, 42ull, 123456789ull, 0xdeadbeefcafeull}) {
    GeneratedModel a = generate_or_die(policy, seed);
    GeneratedModel b = generate_or_die(policy, seed);
    EXPECT_EQ(serialize_model(a.model), serialize_model(b.model)) << seed;
    EXPECT_EQ(a.inputs, b.inputs) << seed;
    EXPECT_EQ(a.seed, seed);
  }
}

TEST(Generator, DifferentSeedsDifferentModels) {
  const GenPolicy policy;
  std::set<std::string> distinct;
  for (uint64_t seed = 0; seed < 200; ++seed)
    distinct.insert(serialize_model(generate_or_die(policy, seed).model));
  EXPECT_GE(distinct.size(), 195u);
}

TEST(Generator, EveryOpAppearsOverManySeeds) {
  const GenPolicy policy;
  std::map<std::string, int> seen;
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    for (const auto& op : op_sequence(generate_or_die(policy, seed).model.graph())) ++seen[op];
  }
  // The registry is the list: every registered op must be reachable under the default policy.
  const std::vector<std::string> expected = generator_ops();
  EXPECT_GE(expected.size(), 30u);
  for (const auto& op : expected) EXPECT_GT(seen[op], 0) << op << " never generated";
}

#ifdef ONNXFUZZ_HAVE_REFERENCE
// Every (op, version) the generator can emit has a reference kernel serving exactly that
// schema version's range, and every dtype its type rule allows runs on it.
TEST(Generator, EveryRegisteredOpVersionHasAKernel) {
  for (const auto& spec : all_op_specs()) {
    auto kernel = reference_kernel_for(spec.op_type, kTargetOpset);
    ASSERT_TRUE(kernel.has_value()) << spec.op_type << " has no reference kernel";
    EXPECT_LE(kernel->since_version, spec.since_version) << spec.op_type;
  }
}

// 1,000 seeds per dtype: every model of a one-dtype policy validates and runs on the reference,
// and every op is drawn in every dtype its type rule allows.
TEST(Generator, EveryOpIsDrawnInEveryDtypeItAllows) {
  std::set<std::pair<std::string, DType>> wanted, seen;
  for (const auto& spec : all_op_specs()) {
    for (DType d : spec.dtypes) wanted.insert({spec.op_type, d});
  }
  for (const auto& row : all_dtypes()) {
    GenPolicy policy;
    policy.dtype_weights = {{row.dtype, 1.0}};
    for (uint64_t seed = 0; seed < kSeeds; ++seed) {
      GeneratedModel g = generate_or_die(policy, seed);
      auto validated = validate_model(g.model);
      ASSERT_TRUE(validated.has_value()) << dtype_name(row.dtype) << " seed " << seed << ": "
                                         << validated.error();
      const RunResult ran = run_reference(g.model, g.inputs);
      ASSERT_EQ(ran.status, RunStatus::kOk)
          << dtype_name(row.dtype) << " seed " << seed << ": " << ran.message;
      for (const auto& pair : primary_pairs(*validated)) seen.insert(pair);
    }
  }
  std::vector<std::string> missing;
  for (const auto& [op, d] : wanted) {
    if (!seen.contains({op, d})) missing.push_back(op + ":" + std::string(dtype_name(d)));
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " (op, dtype) pairs never drawn, e.g. "
                               << (missing.empty() ? "" : missing.front());
}
#endif

// Edge instances draw empty tensors, negative axes, INT64 Slice bounds, rank-0 partners and
// integer extremes on purpose; every such model must still validate and run on ref.
TEST(Generator, EdgeInstancesStayValidAndReachEmptyTensors) {
  GenPolicy policy;
  policy.prob_edge = 1.0;
  policy.max_nodes = 12;
  int empty = 0, negative_axis = 0;
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    GeneratedModel g = generate_or_die(policy, seed);
    auto validated = validate_model(g.model);
    ASSERT_TRUE(validated.has_value()) << validated.error();
    for (const auto& info : validated->graph().value_info()) {
      auto type = value_type_of(info);
      if (type && shape_numel(type->shape) == 0) ++empty;
    }
    for (const auto& node : g.model.graph().node()) {
      for (const auto& a : node.attribute()) {
        if (a.name() == "axis" && a.i() < 0) ++negative_axis;
      }
    }
#ifdef ONNXFUZZ_HAVE_REFERENCE
    RunResult result = run_reference(g.model, g.inputs);
    ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
#endif
  }
  EXPECT_GT(empty, 0) << "no empty tensor was ever drawn";
  EXPECT_GT(negative_axis, 0) << "no negative axis was ever drawn";
}

TEST(Generator, NodeLimitsAreRespectedAndModelsStayValid) {
  for (int max_nodes : {1, 3, 30}) {
    GenPolicy policy;
    policy.max_nodes = max_nodes;
    for (uint64_t seed = 0; seed < 150; ++seed) {
      SCOPED_TRACE(::testing::Message() << "max_nodes " << max_nodes << " seed " << seed);
      GeneratedModel g = generate_or_die(policy, seed);
      EXPECT_GE(g.model.graph().node_size(), 1);
      EXPECT_LE(g.model.graph().node_size(), max_nodes);
      expect_valid_with_inferred_outputs(g.model);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(Generator, ExtremePoliciesStayValid) {
  struct Case {
    const char* what;
    void (*adjust)(GenPolicy&);
  };
  const Case cases[] = {
      {"rank 1 only", [](GenPolicy& p) { p.max_rank = 1; }},
      {"all dims 1", [](GenPolicy& p) { p.max_dim = 1; }},
      {"tiny tensors",
       [](GenPolicy& p) {
         p.max_elements = 16;
         p.max_dim = 4;
       }},
      {"rank 5, big dims",
       [](GenPolicy& p) {
         p.max_rank = 5;
         p.max_dim = 16;
       }},
      {"always reuse, never guard",
       [](GenPolicy& p) {
         p.prob_reuse_primary = p.prob_reuse_operand = p.prob_pick_leaf = 1;
         p.prob_guard_repair = 0;
       }},
      {"always fresh, always guard, always omit",
       [](GenPolicy& p) {
         p.prob_reuse_primary = p.prob_reuse_operand = 0;
         p.prob_guard_repair = p.prob_omit_attr = p.prob_omit_optional_input = 1;
       }},
      {"tight magnitude", [](GenPolicy& p) { p.max_magnitude = 10; }},
      {"no Clip", [](GenPolicy& p) { p.exclude_ops = {"Clip"}; }},
  };
  for (const auto& c : cases) {
    GenPolicy policy;
    policy.max_nodes = 15;
    c.adjust(policy);
    for (uint64_t seed = 0; seed < 150; ++seed) {
      SCOPED_TRACE(::testing::Message() << c.what << ", seed " << seed);
      GeneratedModel g = generate_or_die(policy, seed);
      expect_valid_with_inferred_outputs(g.model);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(Generator, ExactNodeCountWhenMinEqualsMax) {
  GenPolicy policy;
  policy.min_nodes = policy.max_nodes = 10;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    EXPECT_EQ(generate_or_die(policy, seed).model.graph().node_size(), 10) << seed;
  }
}

TEST(Generator, AllowlistRestrictsOps) {
  struct Case {
    std::vector<std::string> only;
  };
  const Case cases[] = {{{"Relu"}},       {{"Log", "Div"}}, {{"Conv", "MaxPool", "Clip"}},
                        {{"Pow", "Exp"}}, {{"Squeeze"}},    {{"Where", "Slice", "Reshape"}}};
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message() << "only " << ::testing::PrintToString(c.only));
    GenPolicy policy;
    policy.only_ops = c.only;
    for (uint64_t seed = 0; seed < 100; ++seed) {
      GeneratedModel g = generate_or_die(policy, seed);
      for (const auto& op : op_sequence(g.model.graph())) {
        EXPECT_NE(std::find(c.only.begin(), c.only.end(), op), c.only.end()) << op;
      }
      expect_valid_with_inferred_outputs(g.model);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(Generator, ExcludeListRemovesOps) {
  GenPolicy policy;
  policy.exclude_ops = {"Clip", "Conv", "Add"};
  for (uint64_t seed = 0; seed < 200; ++seed) {
    for (const auto& op : op_sequence(generate_or_die(policy, seed).model.graph())) {
      EXPECT_TRUE(op != "Clip" && op != "Conv" && op != "Add") << op;
    }
  }
}

// Avoided pairs (a campaign avoids the pairs its executions are documented not to run) are
// never drawn, while the op still is in its other dtypes; without the avoidance the same seeds
// draw the pair.
TEST(Generator, AvoidedPairsAreNeverDrawn) {
  GenPolicy policy;
  policy.only_ops = {"Relu", "Sigmoid", "Add"};
  policy.dtype_weights = {{DType::kFloat, 1.0}, {DType::kDouble, 1.0}};
  auto drawn = [&](const GenPolicy& p) {
    std::map<std::pair<std::string, DType>, int> counts;
    for (uint64_t seed = 0; seed < 200; ++seed) {
      auto validated = validate_model(generate_or_die(p, seed).model);
      EXPECT_TRUE(validated.has_value()) << validated.error();
      if (!validated) break;
      for (const auto& pair : primary_pairs(*validated)) ++counts[pair];
    }
    return counts;
  };
  const auto free = drawn(policy);
  EXPECT_GT(free.count({"Relu", DType::kFloat}), 0u);
  policy.avoid_pairs["Relu"] = {DType::kFloat};
  const auto avoiding = drawn(policy);
  EXPECT_EQ(avoiding.count({"Relu", DType::kFloat}), 0u);
  EXPECT_GT(avoiding.count({"Relu", DType::kDouble}), 0u);
  EXPECT_GT(avoiding.count({"Sigmoid", DType::kFloat}), 0u);
}

TEST(Generator, ImpossiblePoliciesAreErrorValues) {
  struct Case {
    const char* what;
    GenPolicy policy;
    const char* expected_fragment;
  };
  std::vector<Case> cases;
  cases.push_back({"unknown allowlisted op", GenPolicy{}, "Frobnicate"});
  cases.back().policy.only_ops = {"Relu", "Frobnicate"};
  cases.push_back({"unknown excluded op", GenPolicy{}, "Softmaxx"});
  cases.back().policy.exclude_ops = {"Softmaxx"};
  cases.push_back({"unknown weighted op", GenPolicy{}, "LSTM"});
  cases.back().policy.op_weights = {{"LSTM", 2.0}};
  cases.push_back({"everything excluded", GenPolicy{}, "no op left"});
  cases.back().policy.exclude_ops = generator_ops();
  cases.push_back({"Conv under rank 2", GenPolicy{}, "no op left"});
  cases.back().policy.only_ops = {"Conv"};
  cases.back().policy.max_rank = 2;
  cases.push_back({"min above max", GenPolicy{}, "min_nodes"});
  cases.back().policy.min_nodes = 5;
  cases.back().policy.max_nodes = 2;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto generated = generate_model(c.policy, 1);
    ASSERT_FALSE(generated.has_value());
    EXPECT_NE(generated.error().find(c.expected_fragment), std::string::npos) << generated.error();
  }
  auto unknown = generate_model(
      [] {
        GenPolicy p;
        p.only_ops = {"Frobnicate"};
        return p;
      }(),
      1);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().find("Relu"), std::string::npos) << "error should list known ops";
}

TEST(Generator, ValidateOpNames) {
  EXPECT_TRUE(validate_op_names({"Relu", "Conv", "Where"}).has_value());
  auto bad = validate_op_names({"Relu", "Nope"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().find("'Nope'"), std::string::npos);
}

TEST(OpSpec, TableReadsSchemasAndRules) {
  const OpSpec* gemm = find_op_spec("Gemm");
  ASSERT_NE(gemm, nullptr);
  EXPECT_EQ(gemm->min_inputs, 2);
  EXPECT_EQ(gemm->max_inputs, 3);
  EXPECT_TRUE(gemm->inputs[2].optional);
  NodeSig sig;
  EXPECT_EQ(gemm->attr_float(sig, "alpha"), 1.0f);  // schema default
  sig.inputs = {{true, DType::kFloat, {3, 4}, {-1, 1}, {}},
                {true, DType::kFloat, {5, 4}, {-1, 1}, {}}};
  sig.attrs = {Attr::of_int("transB", 1)};
  EXPECT_EQ(gemm->output_shape(sig).value(), (Shape{3, 5}));
  EXPECT_EQ(gemm->output_range(sig), (Interval{-4, 4}));
  EXPECT_EQ(find_op_spec("NoSuchOp"), nullptr);

  const OpSpec* log = find_op_spec("Log");
  EXPECT_FALSE(log->input_domain(0).admits({-1, 2}));
  EXPECT_TRUE(log->input_domain(0).admits({0.5, 2}));
  const OpSpec* div = find_op_spec("Div");
  EXPECT_FALSE(div->input_domain(1).admits({-1, 1}));
  EXPECT_TRUE(div->input_domain(1).admits({-3, -0.5}));

  const OpSpec* slice = find_op_spec("Slice");
  NodeSig s;
  const DType i64 = DType::kInt64;
  s.inputs = {{true, DType::kFloat, {6, 5}, {}, {}},
              {true, i64, {1}, {}, {-1}},
              {true, i64, {1}, {}, {INT64_MIN}},
              {true, i64, {1}, {}, {1}},
              {true, i64, {1}, {}, {-2}}};
  EXPECT_EQ(slice->output_shape(s).value(), (Shape{6, 3}));
  const OpSpec* reshape = find_op_spec("Reshape");
  NodeSig r;
  r.inputs = {{true, DType::kFloat, {2, 3, 4}, {}, {}},
              {true, DType::kInt64, {3}, {}, {0, -1, 2}}};
  EXPECT_EQ(reshape->output_shape(r).value(), (Shape{2, 6, 2}));
  r.inputs[1].ints = {5, -1};
  EXPECT_FALSE(reshape->output_shape(r).has_value());
}

TEST(Inputs, SynthesizedTensorsMatchDeclaredTypes) {
  auto model = parse_model_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    fixture (float[2,3] a, float[3] b, int64[4] idx, bool[2,1] flag, double[1] d) => (float[2,3] y, float[2,3] z) {
      l = Log(b)
      y = Add(a, l)
      z = Where(flag, a, y)
    }
  )");
  ASSERT_TRUE(model.has_value()) << model.error();
  Rng rng(7);
  TensorMap inputs = synthesize_inputs(*model, rng);
  ASSERT_EQ(inputs.size(), 5u);
  EXPECT_EQ(inputs.at("a").dtype, DType::kFloat);
  EXPECT_EQ(inputs.at("a").shape, (Shape{2, 3}));
  EXPECT_EQ(inputs.at("idx").dtype, DType::kInt64);
  EXPECT_EQ(inputs.at("idx").shape, (Shape{4}));
  EXPECT_EQ(inputs.at("flag").dtype, DType::kBool);
  EXPECT_EQ(inputs.at("flag").shape, (Shape{2, 1}));
  EXPECT_EQ(inputs.at("d").dtype, DType::kDouble);
  for (float v : inputs.at("b").values<float>())
    EXPECT_GT(v, 0.0f) << "Log's input must come out positive";
  for (int64_t v : inputs.at("idx").values<int64_t>()) {
    EXPECT_GE(v, 0);
    EXPECT_LE(v, 3);
  }
  Rng again(7);
  EXPECT_EQ(synthesize_inputs(*model, again), inputs);
}

}  // namespace
}  // namespace onnxfuzz
