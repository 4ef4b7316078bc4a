// Reference semantics of the tensor family (Gather*, Scatter*, Pad, Expand, Tile, Range, Shape,
// Size, ConstantOfShape, Flatten, Split, Identity, DepthToSpace, SpaceToDepth, Trilu, Resize)
// on inline text-format models, and their registrations' rules.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "generators/generator.h"
#include "generators/model_io.h"
#include "generators/op_spec.h"
#include "oracles/reference.h"
#include "tests/reference_fixtures.h"

namespace onnxfuzz {
namespace {

using namespace fixtures;

// The ONNX text name of a dtype ("float", "float16", "int8", ...).
std::string text_type(DType dtype) {
  const std::string_view t = dtype_info(dtype).onnx_type;
  return std::string(t.substr(7, t.size() - 8));
}

// Runs an opset-17 model given as its graph text and returns its outputs; `{T}` in the text
// stands for the dtype's text name.
RunResult run(const std::string& graph, const TensorMap& inputs, DType dtype = DType::kFloat) {
  std::string text = "<ir_version: 8, opset_import: [\"\" : 17]>\n" + graph;
  for (size_t at; (at = text.find("{T}")) != std::string::npos;) text.replace(at, 3, text_type(dtype));
  auto model = parse_model_text(text);
  EXPECT_TRUE(model.has_value()) << (model ? "" : model.error());
  if (!model) return {};
  return run_reference(*model, inputs);
}

// The single output "y" of a model that must run.
Tensor run_y(const std::string& graph, const TensorMap& inputs, DType dtype = DType::kFloat) {
  RunResult r = run(graph, inputs, dtype);
  EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
  if (r.status != RunStatus::kOk) return {};
  return r.outputs.at("y");
}

const std::vector<DType> kSomeDtypes = {DType::kFloat,  DType::kDouble, DType::kFloat16,
                                        DType::kBfloat16, DType::kInt8, DType::kUint16,
                                        DType::kInt64, DType::kBool};

TEST(OpsTensor, GatherTakesNegativeIndicesInEveryDtype) {
  for (DType d : kSomeDtypes) {
    SCOPED_TRACE(dtype_name(d));
    const double hi = d == DType::kBool ? 1 : 5;
    const Tensor x = tensor_of(d, {2, 3}, {0, 1, hi, 1, 0, hi});
    const Tensor y = run_y(R"(g ({T}[2,3] x, int32[2,2] i) => ({T}[2,2,2] y) { y = Gather<axis = -1>(x, i) })",
                           {{"x", x}, {"i", tensor_of(DType::kInt32, {2, 2}, {-1, 0, 1, -3})}}, d);
    EXPECT_EQ(y.shape, (Shape{2, 2, 2}));
    EXPECT_EQ(doubles_of(y), (std::vector<double>{hi, 0, 1, 0, hi, 1, 0, 1}));
  }
}

TEST(OpsTensor, GatherScalarAndEmptyIndices) {
  const Tensor x = tensor_of(DType::kFloat, {3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor y = run_y(R"(g (float[3,2] x, int64 i) => (float[2] y) { y = Gather(x, i) })",
                   {{"x", x}, {"i", tensor_of(DType::kInt64, {}, {2})}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{5, 6}));
  y = run_y(R"(g (float[3,2] x, int64[0] i) => (float[0,2] y) { y = Gather(x, i) })",
            {{"x", x}, {"i", tensor_of(DType::kInt64, {0}, {})}});
  EXPECT_EQ(y.shape, (Shape{0, 2}));
  RunResult bad = run(R"(g (float[3,2] x, int64[1] i) => (float[1,2] y) { y = Gather(x, i) })",
                      {{"x", x}, {"i", tensor_of(DType::kInt64, {1}, {3})}});
  EXPECT_NE(bad.status, RunStatus::kOk) << "an index past the end must be refused";
}

TEST(OpsTensor, GatherElementsAndGatherND) {
  const Tensor x = tensor_of(DType::kInt32, {2, 2}, {1, 2, 3, 4});
  Tensor y = run_y(R"(g (int32[2,2] x, int64[2,2] i) => (int32[2,2] y) { y = GatherElements<axis = 1>(x, i) })",
                   {{"x", x}, {"i", tensor_of(DType::kInt64, {2, 2}, {0, 0, -1, 0})}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{1, 1, 4, 3}));
  // batch_dims 1: each batch row picks its own element.
  const Tensor x3 = tensor_of(DType::kFloat, {2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  y = run_y(R"(g (float[2,2,2] x, int64[2,1] i) => (float[2,2] y) { y = GatherND<batch_dims = 1>(x, i) })",
            {{"x", x3}, {"i", tensor_of(DType::kInt64, {2, 1}, {1, -2})}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{2, 3, 4, 5}));
  y = run_y(R"(g (float[2,2,2] x, int64[2,3] i) => (float[2] y) { y = GatherND(x, i) })",
            {{"x", x3}, {"i", tensor_of(DType::kInt64, {2, 3}, {1, 1, 1, 0, -1, 0})}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{7, 2}));
}

TEST(OpsTensor, ScatterElementsReductionsAccumulateDuplicatesAndWrap) {
  const Tensor i = tensor_of(DType::kInt64, {1, 3}, {1, 1, -3});
  struct Case {
    const char* reduction;
    DType dtype;
    std::vector<double> data, updates, expected;
  };
  const Case cases[] = {
      {"add", DType::kFloat, {1, 2, 3}, {10, 20, 5}, {6, 32, 3}},
      {"mul", DType::kDouble, {1, 2, 3}, {3, 4, 5}, {5, 24, 3}},
      {"add", DType::kInt8, {0, 120, 0}, {4, 4, -1}, {-1, -128, 0}},  // 120 + 8 wraps
      {"mul", DType::kUint8, {1, 16, 1}, {4, 4, 7}, {7, 0, 1}},      // 256 wraps to 0
      {"add", DType::kFloat16, {1, 2, 3}, {0.5, 0.5, 1}, {2, 3, 3}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(fmt::format("{} {}", c.reduction, dtype_name(c.dtype)));
    const Tensor y = run_y(fmt::format(R"(g ({{T}}[1,3] x, int64[1,3] i, {{T}}[1,3] u) => ({{T}}[1,3] y) {{
                                              y = ScatterElements<axis = 1, reduction = "{}">(x, i, u) }})",
                                       c.reduction),
                           {{"x", tensor_of(c.dtype, {1, 3}, c.data)}, {"i", i},
                            {"u", tensor_of(c.dtype, {1, 3}, c.updates)}},
                           c.dtype);
    EXPECT_EQ(doubles_of(y), c.expected);
  }
  const Tensor y = run_y(R"(g (bool[2,2] x, int32[1,2] i, bool[1,2] u) => (bool[2,2] y) { y = ScatterElements(x, i, u) })",
                         {{"x", tensor_of(DType::kBool, {2, 2}, {0, 0, 0, 0})},
                          {"i", tensor_of(DType::kInt32, {1, 2}, {1, -2})},
                          {"u", tensor_of(DType::kBool, {1, 2}, {1, 1})}},
                         DType::kBool);
  EXPECT_EQ(doubles_of(y), (std::vector<double>{0, 1, 1, 0}));
}

TEST(OpsTensor, ScatterNDReplacesSlicesAndReduces) {
  const Tensor x = tensor_of(DType::kFloat, {2, 2}, {1, 2, 3, 4});
  Tensor y = run_y(R"(g (float[2,2] x, int64[1,1] i, float[1,2] u) => (float[2,2] y) { y = ScatterND(x, i, u) })",
                   {{"x", x}, {"i", tensor_of(DType::kInt64, {1, 1}, {-1})},
                    {"u", tensor_of(DType::kFloat, {1, 2}, {9, 8})}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{1, 2, 9, 8}));
  y = run_y(R"(g (float[2,2] x, int64[2,2] i, float[2] u) => (float[2,2] y) { y = ScatterND<reduction = "mul">(x, i, u) })",
            {{"x", x}, {"i", tensor_of(DType::kInt64, {2, 2}, {0, 1, 0, 1})},
             {"u", tensor_of(DType::kFloat, {2}, {2, 3})}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{1, 12, 3, 4}));
}

TEST(OpsTensor, PadModesNegativePadsAndConstantValue) {
  const Tensor x = tensor_of(DType::kInt16, {1, 3}, {1, 2, 3});
  struct Case {
    const char* mode;
    std::vector<double> pads;
    Shape shape;
    std::vector<double> expected;
  };
  const Case cases[] = {
      {"constant", {0, 2, 0, -1}, {1, 4}, {7, 7, 1, 2}},
      {"reflect", {0, 2, 0, 2}, {1, 7}, {3, 2, 1, 2, 3, 2, 1}},
      {"edge", {1, 1, 0, 2}, {2, 6}, {1, 1, 2, 3, 3, 3, 1, 1, 2, 3, 3, 3}},
      {"constant", {0, -3, 0, 0}, {1, 0}, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.mode);
    const std::string dims = fmt::format("{}", fmt::join(c.shape, ","));
    const Tensor y = run_y(fmt::format(R"(g (int16[1,3] x, int64[4] p, int16 v) => (int16[{}] y) {{
                                              y = Pad<mode = "{}">(x, p, v) }})",
                                       dims, c.mode),
                           {{"x", x}, {"p", tensor_of(DType::kInt64, {4}, c.pads)},
                            {"v", tensor_of(DType::kInt16, {}, {7})}});
    EXPECT_EQ(y.shape, c.shape);
    EXPECT_EQ(doubles_of(y), c.expected);
  }
  // constant_value left out pads with zeros, in a half type too.
  const Tensor y = run_y(R"(g (float16[2] x, int64[2] p) => (float16[3] y) { y = Pad(x, p) })",
                         {{"x", tensor_of(DType::kFloat16, {2}, {1.5, -2})},
                          {"p", tensor_of(DType::kInt64, {2}, {1, 0})}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{0, 1.5, -2}));
}

TEST(OpsTensor, ExpandAndTile) {
  const Tensor x = tensor_of(DType::kUint8, {2, 1}, {1, 2});
  Tensor y = run_y(R"(g (uint8[2,1] x, int64[3] s) => (uint8[2,2,3] y) { y = Expand(x, s) })",
                   {{"x", x}, {"s", tensor_of(DType::kInt64, {3}, {2, 1, 3})}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2}));
  y = run_y(R"(g (uint8[2,1] x, int64[1] s) => (uint8[2,1] y) { y = Expand(x, s) })",
            {{"x", x}, {"s", tensor_of(DType::kInt64, {1}, {1})}});
  EXPECT_EQ(y.shape, (Shape{2, 1}));
  y = run_y(R"(g (uint8[2,1] x, int64[2] r) => (uint8[4,3] y) { y = Tile(x, r) })",
            {{"x", x}, {"r", tensor_of(DType::kInt64, {2}, {2, 3})}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2}));
  y = run_y(R"(g (uint8[2,1] x, int64[2] r) => (uint8[0,1] y) { y = Tile(x, r) })",
            {{"x", x}, {"r", tensor_of(DType::kInt64, {2}, {0, 1})}});
  EXPECT_EQ(y.shape, (Shape{0, 1}));
}

TEST(OpsTensor, RangeCountsByCeilInEveryDtype) {
  struct Case {
    DType dtype;
    double start, limit, delta;
    std::vector<double> expected;
  };
  const Case cases[] = {
      {DType::kFloat, 1, 2.25, 0.5, {1, 1.5, 2}},
      {DType::kDouble, 0, -1, -0.25, {0, -0.25, -0.5, -0.75}},
      {DType::kInt32, 10, 4, -3, {10, 7}},
      {DType::kInt16, 0, 5, 2, {0, 2, 4}},
      {DType::kInt64, 3, 1, 1, {}},  // limit behind start: empty
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(dtype_name(c.dtype));
    const Tensor y = run_y(R"(g ({T} s, {T} l, {T} d) => ({T}[N] y) { y = Range(s, l, d) })",
                           {{"s", tensor_of(c.dtype, {}, {c.start})},
                            {"l", tensor_of(c.dtype, {}, {c.limit})},
                            {"d", tensor_of(c.dtype, {}, {c.delta})}},
                           c.dtype);
    EXPECT_EQ(doubles_of(y), c.expected);
  }
}

TEST(OpsTensor, ShapeSlicesAndSizeCounts) {
  const Tensor x = tensor_of(DType::kBool, {2, 0, 3}, {});
  struct Case {
    const char* attrs;
    std::vector<double> expected;
  };
  const Case cases[] = {{"", {2, 0, 3}},           {"<start = 1>", {0, 3}},
                        {"<end = -1>", {2, 0}},    {"<start = -10, end = 10>", {2, 0, 3}},
                        {"<start = 2, end = 1>", {}}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.attrs);
    const Tensor y = run_y(fmt::format("g (bool[2,0,3] x) => (int64[N] y) {{ y = Shape{}(x) }}", c.attrs),
                           {{"x", x}});
    EXPECT_EQ(doubles_of(y), c.expected);
  }
  const Tensor y = run_y("g (bool[2,0,3] x) => (int64 y) { y = Size(x) }", {{"x", x}});
  EXPECT_EQ(y.shape, Shape{});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{0}));
}

TEST(OpsTensor, ConstantOfShapeTakesTheValueDtype) {
  Tensor y = run_y(R"(g (int64[2] s) => (int8[2,3] y) { y = ConstantOfShape<value = int8[1] {-128}>(s) })",
                   {{"s", tensor_of(DType::kInt64, {2}, {2, 3})}});
  EXPECT_EQ(y.dtype, DType::kInt8);
  EXPECT_EQ(doubles_of(y), std::vector<double>(6, -128));
  y = run_y(R"(g (int64[0] s) => (float y) { y = ConstantOfShape(s) })",
            {{"s", tensor_of(DType::kInt64, {0}, {})}});
  EXPECT_EQ(y.shape, Shape{});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{0}));
}

TEST(OpsTensor, FlattenAxisRange) {
  const Tensor x = tensor_of(DType::kFloat, {2, 3, 4}, std::vector<double>(24, 1));
  struct Case {
    int axis;
    Shape shape;
  };
  for (const auto& c : {Case{0, {1, 24}}, Case{3, {24, 1}}, Case{-1, {6, 4}}, Case{-3, {1, 24}}}) {
    const Tensor y = run_y(fmt::format("g (float[2,3,4] x) => (float[N,M] y) {{ y = Flatten<axis = {}>(x) }}", c.axis),
                           {{"x", x}});
    EXPECT_EQ(y.shape, c.shape) << c.axis;
  }
}

TEST(OpsTensor, SplitWithSizesZeroPartsAndEqualParts) {
  const Tensor x = tensor_of(DType::kFloat, {2, 3}, {1, 2, 3, 4, 5, 6});
  RunResult r = run(R"(g (float[2,3] x, int64[3] s) => (float[2,2] a, float[2,0] b, float[2,1] c) {
                         a, b, c = Split<axis = -1>(x, s) })",
                    {{"x", x}, {"s", tensor_of(DType::kInt64, {3}, {2, 0, 1})}});
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(doubles_of(r.outputs.at("a")), (std::vector<double>{1, 2, 4, 5}));
  EXPECT_EQ(r.outputs.at("b").shape, (Shape{2, 0}));
  EXPECT_EQ(doubles_of(r.outputs.at("c")), (std::vector<double>{3, 6}));
  r = run(R"(g (float[2,3] x) => (float[1,3] a, float[1,3] b) { a, b = Split(x) })", {{"x", x}});
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(doubles_of(r.outputs.at("b")), (std::vector<double>{4, 5, 6}));
  r = run(R"(g (float[2,3] x) => (float[1,3] a, float[1,3] b) { a, b = Split<axis = 1>(x) })",
          {{"x", x}});
  EXPECT_NE(r.status, RunStatus::kOk) << "3 does not split into 2 equal parts";
}

TEST(OpsTensor, IdentityKeepsEveryDtype) {
  for (DType d : kSomeDtypes) {
    const Tensor x = tensor_of(d, {2}, {1, 0});
    EXPECT_EQ(run_y("g ({T}[2] x) => ({T}[2] y) { y = Identity(x) }", {{"x", x}}, d), x);
  }
}

TEST(OpsTensor, DepthToSpaceModesAndSpaceToDepthInverse) {
  std::vector<double> v(8);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  const Tensor x = tensor_of(DType::kFloat, {1, 8, 1, 1}, v);
  // DCR: channel = (bi * b + bj) * C' + c; CRD: channel = c * b * b + bi * b + bj.
  Tensor y = run_y(R"(g (float[1,8,1,1] x) => (float[1,2,2,2] y) { y = DepthToSpace<blocksize = 2>(x) })",
                   {{"x", x}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{0, 2, 4, 6, 1, 3, 5, 7}));
  y = run_y(R"(g (float[1,8,1,1] x) => (float[1,2,2,2] y) { y = DepthToSpace<blocksize = 2, mode = "CRD">(x) })",
            {{"x", x}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7}));
  RunResult r = run(R"(g (float[1,8,1,1] x) => (float[1,8,1,1] y) {
                         s = DepthToSpace<blocksize = 2>(x)
                         y = SpaceToDepth<blocksize = 2>(s) })",
                    {{"x", x}});
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(r.outputs.at("y"), x);
}

TEST(OpsTensor, TriluDiagonalsIncludingFarK) {
  const Tensor x = tensor_of(DType::kInt32, {2, 3}, {1, 2, 3, 4, 5, 6});
  struct Case {
    int upper;
    int64_t k;
    std::vector<double> expected;
  };
  const Case cases[] = {
      {1, 0, {1, 2, 3, 0, 5, 6}},  {1, 1, {0, 2, 3, 0, 0, 6}},  {0, 0, {1, 0, 0, 4, 5, 0}},
      {0, -1, {0, 0, 0, 4, 0, 0}}, {1, -100, {1, 2, 3, 4, 5, 6}}, {0, -100, {0, 0, 0, 0, 0, 0}},
      {1, std::numeric_limits<int64_t>::max(), {0, 0, 0, 0, 0, 0}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(fmt::format("upper {} k {}", c.upper, c.k));
    const Tensor y = run_y(fmt::format("g (int32[2,3] x, int64 k) => (int32[2,3] y) {{ y = Trilu<upper = {}>(x, k) }}", c.upper),
                           {{"x", x}, {"k", tensor_of(DType::kInt64, {}, {static_cast<double>(c.k)})}});
    EXPECT_EQ(doubles_of(y), c.expected);
  }
}

TEST(OpsTensor, ResizeNearestLinearCubicAndCrop) {
  const Tensor x = tensor_of(DType::kFloat, {1, 1, 1, 4}, {0, 1, 2, 3});
  const Tensor sizes7 = tensor_of(DType::kInt64, {4}, {1, 1, 1, 7});
  // align_corners on a ramp: x_original = x * 3 / 6, so linear gives the ramp at half steps.
  Tensor y = run_y(R"(g (float[1,1,1,4] x, int64[4] s) => (float[1,1,1,7] y) {
                        y = Resize<mode = "linear", coordinate_transformation_mode = "align_corners">(x, , , s) })",
                   {{"x", x}, {"s", sizes7}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5, 3}));
  // The cubic kernel reproduces a ramp away from the borders.
  y = run_y(R"(g (float[1,1,1,4] x, int64[4] s) => (float[1,1,1,7] y) {
                 y = Resize<mode = "cubic", coordinate_transformation_mode = "align_corners">(x, , , s) })",
            {{"x", x}, {"s", sizes7}});
  EXPECT_NEAR(y.as_double(3), 1.5, 1e-6);
  // Nearest, asymmetric, scale 2: x_original = x / 2; ceil rounds 0.5 up.
  const Tensor scales = tensor_of(DType::kFloat, {4}, {1, 1, 1, 2});
  y = run_y(R"(g (float[1,1,1,4] x, float[4] sc) => (float[1,1,1,8] y) {
                 y = Resize<coordinate_transformation_mode = "asymmetric", nearest_mode = "ceil">(x, , sc) })",
            {{"x", x}, {"sc", scales}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{0, 1, 1, 2, 2, 3, 3, 3}));
  y = run_y(R"(g (float[1,1,1,4] x, float[4] sc) => (float[1,1,1,8] y) {
                 y = Resize<coordinate_transformation_mode = "asymmetric", nearest_mode = "floor">(x, , sc) })",
            {{"x", x}, {"sc", scales}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{0, 0, 1, 1, 2, 2, 3, 3}));
  // Crop outside [0, 1] samples the extrapolation value.
  y = run_y(R"(g (float[1,1,1,4] x, float[8] roi, int64[4] s) => (float[1,1,1,3] y) {
                 y = Resize<mode = "linear", coordinate_transformation_mode = "tf_crop_and_resize",
                            extrapolation_value = -9.0>(x, roi, , s) })",
            {{"x", x}, {"roi", tensor_of(DType::kFloat, {8}, {0, 0, 0, -0.5, 1, 1, 1, 1})},
             {"s", tensor_of(DType::kInt64, {4}, {1, 1, 1, 3})}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{-9, 0.75, 3}));
  // Integers resize by nearest, bit for bit.
  y = run_y(R"(g (uint8[1,1,1,2] x, int64[4] s) => (uint8[1,1,1,4] y) { y = Resize(x, , , s) })",
            {{"x", tensor_of(DType::kUint8, {1, 1, 1, 2}, {200, 7})},
             {"s", tensor_of(DType::kInt64, {4}, {1, 1, 1, 4})}});
  EXPECT_EQ(doubles_of(y), (std::vector<double>{200, 200, 7, 7}));
}

TEST(OpsTensor, RegistrationRulesAgreeWithSpec) {
  const OpSpec* pad = find_op_spec("Pad");
  ASSERT_NE(pad, nullptr);
  NodeSig s;
  s.inputs = {{true, DType::kFloat, {2, 3}, {-1, 1}, {}},
              {true, DType::kInt64, {4}, {}, {1, -1, 0, 2}},
              {true, DType::kFloat, {}, {5, 5}, {}}};
  EXPECT_EQ(pad->output_shape(s).value(), (Shape{3, 4}));
  EXPECT_EQ(pad->output_range(s), (Interval{-1, 5}));
  const OpSpec* range = find_op_spec("Range");
  NodeSig r;
  r.inputs = {{true, DType::kFloat, {}, {1, 1}, {}},
              {true, DType::kFloat, {}, {2.25, 2.25}, {}},
              {true, DType::kFloat, {}, {0.5, 0.5}, {}}};
  EXPECT_EQ(range->output_shape(r).value(), (Shape{3}));
  EXPECT_EQ(range->output_range(r), (Interval{1, 2}));
  const OpSpec* scatter = find_op_spec("ScatterElements");
  NodeSig sc;
  sc.inputs = {{true, DType::kFloat, {3}, {0, 1}, {}},
               {true, DType::kInt64, {3}, {}, {0, 0, 0}},
               {true, DType::kFloat, {3}, {-1, 2}, {}}};
  sc.attrs = {Attr::of_string("reduction", "add")};
  EXPECT_EQ(scatter->output_range(sc), (Interval{-3, 7}));
  const OpSpec* shape = find_op_spec("Shape");
  NodeSig sh;
  sh.inputs = {{true, DType::kFloat, {4, 2, 7}, {}, {}}};
  sh.attrs = {Attr::of_int("start", -2)};
  EXPECT_EQ(shape->output_shape(sh).value(), (Shape{2}));
  EXPECT_EQ(shape->output_range(sh), (Interval{2, 7}));
}

// The family's ops alone (with a few elementwise neighbours), ordinary and edge-heavy: models
// validate, the reference runs them, and every node's shape and range rules hold on the values
// it computes (the whole-registry generator test stops at the first op of any family).
TEST(OpsTensor, GeneratedModelsKeepTheRulesOnReferenceValues) {
  const std::vector<std::string> ops = {
      "Gather", "GatherElements", "GatherND", "ScatterElements", "ScatterND", "Pad", "Expand",
      "Tile", "Range", "Shape", "Size", "ConstantOfShape", "Flatten", "Split", "Identity",
      "DepthToSpace", "SpaceToDepth", "Trilu", "Resize", "Add", "Mul", "Clip"};
  std::map<std::string, int> seen;
  for (double edge : {0.1, 0.6}) {
    GenPolicy policy;
    policy.only_ops = ops;
    policy.max_nodes = 12;
    policy.prob_edge = edge;
    for (uint64_t seed = 0; seed < 400; ++seed) {
      SCOPED_TRACE(::testing::Message() << "edge " << edge << " seed " << seed);
      auto g = generate_model(policy, seed);
      ASSERT_TRUE(g.has_value()) << g.error();
      auto valid = validate_model(g->model);
      ASSERT_TRUE(valid.has_value()) << valid.error();
      TensorMap values;
      RunResult result = run_reference(g->model, g->inputs, &values);
      ASSERT_EQ(result.status, RunStatus::kOk) << result.message;
      std::map<std::string, Interval> ranges;
      for (const auto& node : g->model.graph().node()) {
        ++seen[node.op_type()];
        const OpSpec* spec = find_op_spec(node.op_type());
        ASSERT_NE(spec, nullptr);
        NodeSig sig;
        sig.attrs = attrs_of_node(node);
        for (const auto& name : node.input()) {
          NodeInput in;
          if (name.empty()) {
            in.present = false;
          } else {
            const Tensor& t = values.at(name);
            in.dtype = t.dtype;
            in.shape = t.shape;
            if (auto it = ranges.find(name); it != ranges.end()) {
              in.range = it->second;
            } else {
              in.range = {INFINITY, -INFINITY};
              for (int64_t i = 0; i < t.numel(); ++i) in.range = in.range.hull(Interval::point(t.as_double(i)));
            }
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
        if (!is_float(out.dtype) && !dtype_holds(out.dtype, range.lo, range.hi))
          range = {info.lowest, info.highest};
        const double slack = std::max(1e-4, info.rtol) * std::max(1.0, range.magnitude());
        for (int64_t i = 0; i < out.numel(); ++i) {
          ASSERT_GE(out.as_double(i), range.lo - slack) << node.name();
          ASSERT_LE(out.as_double(i), range.hi + slack) << node.name();
          if (is_float(out.dtype)) ASSERT_TRUE(std::isfinite(out.as_double(i))) << node.name();
        }
        ranges[node.output(0)] = range;
      }
    }
  }
  for (const auto& op : ops) EXPECT_GT(seen[op], 0) << op;
}

}  // namespace
}  // namespace onnxfuzz
