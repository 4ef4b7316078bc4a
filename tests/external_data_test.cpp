// Models with external data: initializers read from files next to the model, and every way a
// location can escape the model's directory refused with a clear error.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "generators/model_io.h"
#include "oracles/reference.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

using testing::run_onnxfuzz;
using testing::TempDir;
namespace fs = std::filesystem;

constexpr const char* kModel = R"(
<ir_version: 8, opset_import: ["" : 17]>
ext (float[2,3] X) => (float[2,3] Y) <float[2,3] W = {1, -2, 3.5, 4, 0.25, -6}, float[3] B = {10, 20, 30}> {
  T = Mul(X, W)
  Y = Add(T, B)
}
)";

// The model with W (and B, at an offset in the same file) moved out to `location`.
onnx::ModelProto externalize(const std::string& location, int64_t b_length = 12) {
  onnx::ModelProto model = *parse_model_text(kModel);
  int64_t offset = 0;
  for (auto& t : *model.mutable_graph()->mutable_initializer()) {
    const int64_t length = t.name() == "B" ? b_length : 24;
    t.clear_float_data();
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto* loc = t.add_external_data();
    loc->set_key("location");
    loc->set_value(location);
    auto* off = t.add_external_data();
    off->set_key("offset");
    off->set_value(std::to_string(offset));
    auto* len = t.add_external_data();
    len->set_key("length");
    len->set_value(std::to_string(length));
    offset += 24;
  }
  return model;
}

// W's 6 floats, then B's 3: the bytes the initializers hold.
std::string weight_bytes() {
  const float values[] = {1, -2, 3.5, 4, 0.25, -6, 10, 20, 30};
  std::string bytes(reinterpret_cast<const char*>(values), sizeof(values));
  bytes.resize(24 + 12);
  return bytes;
}

TEST(ExternalData, InitializersAreReadFromFilesNextToTheModel) {
  TempDir dir;
  fs::create_directories(dir.str("m/data"));
  testing::write_file(dir.str("m/data/weights.bin"), weight_bytes());
  testing::write_file(dir.str("m/model.onnx"), serialize_model(externalize("data/weights.bin")));

  auto loaded = load_model(dir.str("m/model.onnx"));
  ASSERT_TRUE(loaded) << loaded.error();
  for (const auto& t : loaded->graph().initializer()) {
    EXPECT_NE(t.data_location(), onnx::TensorProto::EXTERNAL) << t.name();
  }
  const float xs[] = {1, 2, 3, 4, 5, 6};
  const Tensor x = Tensor::of_floats({2, 3}, xs);
  const TensorMap inputs{{"X", x}};
  const RunResult external = run_reference(*loaded, inputs);
  const RunResult inline_data = run_reference(*parse_model_text(kModel), inputs);
  ASSERT_EQ(external.status, RunStatus::kOk) << external.message;
  ASSERT_EQ(inline_data.status, RunStatus::kOk) << inline_data.message;
  const Tensor& y = external.outputs.at("Y");
  const Tensor& want = inline_data.outputs.at("Y");
  ASSERT_EQ(y.shape, want.shape);
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_EQ(y.as_double(i), want.as_double(i)) << i;
  EXPECT_EQ(y.as_double(0), 1 * 1 + 10);   // X[0]*W[0] + B[0]
  EXPECT_EQ(y.as_double(5), 6 * -6 + 30);  // X[5]*W[5] + B[2]

  // Through the CLI too (run, mutate).
  auto run = run_onnxfuzz(fmt::format("run {} --executions ref", dir.str("m/model.onnx")));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  auto mutate = run_onnxfuzz(
      fmt::format("mutate {} -n 3 --seed 2 --out {}", dir.str("m/model.onnx"), dir.str("mut")));
  EXPECT_EQ(mutate.exit_code, 0) << mutate.output;
}

TEST(ExternalData, LocationsOutsideTheModelDirectoryAreRefused) {
  TempDir dir;
  fs::create_directories(dir.str("m"));
  fs::create_directories(dir.str("outside"));
  testing::write_file(dir.str("outside/weights.bin"), weight_bytes());
  testing::write_file(dir.str("m/short.bin"), weight_bytes().substr(0, 30));
  fs::create_symlink(dir.str("outside/weights.bin"), dir.str("m/link.bin"));
  fs::create_symlink(dir.str("outside"), dir.str("m/linkdir"));
  struct Row {
    std::string location;
    std::string error;  // the clear message expected
  };
  const Row rows[] = {
      {dir.str("outside/weights.bin"), "is an absolute path"},
      {"../outside/weights.bin", "contains '..'"},
      {"sub/../../outside/weights.bin", "contains '..'"},
      {"link.bin", "outside the model's directory"},
      {"linkdir/weights.bin", "outside the model's directory"},
      {"missing.bin", "location 'missing.bin'"},
      {"short.bin", "fewer than offset 24 + length 12"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.location);
    const std::string path = dir.str("m/model.onnx");
    testing::write_file(path, serialize_model(externalize(row.location)));
    auto loaded = load_model(path);
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().find(row.error), std::string::npos) << loaded.error();
    auto run = run_onnxfuzz(fmt::format("run {} --executions ref", path));
    EXPECT_EQ(run.exit_code, 3) << run.output;  // bad input
    EXPECT_NE(run.output.find(row.error), std::string::npos) << run.output;
  }
  // Nothing was read from outside: the file there is untouched and still the only copy.
  EXPECT_EQ(testing::read_file(dir.str("outside/weights.bin")), weight_bytes());
}

}  // namespace
}  // namespace onnxfuzz
