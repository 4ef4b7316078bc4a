// Probe: the support matrix of an execution, and the Cast wrapping of graph I/O it cannot carry.
#include "fuzzer/probe.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "generators/model_io.h"
#include "generators/op_spec.h"
#include "oracles/reference.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

using testing::run_onnxfuzz;
using testing::TempDir;

// The reference runs every (op, dtype) pair the generator registers: the probe of `ref` finds
// every pair and every pair runs.
TEST(Probe, ReferenceRunsEveryRegisteredPair) {
  TempDir out;
  auto result = run_onnxfuzz("probe --execution ref --models-per-pair 1 --out " + out.str());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto j = nlohmann::json::parse(testing::read_file(out.path() / "probe-ref.json"));
  size_t pairs = 0;
  for (const auto& spec : all_op_specs()) pairs += spec.dtypes.size();
  ASSERT_EQ(j["pairs"].size(), pairs);
  for (const auto& p : j["pairs"]) {
    EXPECT_EQ(p["outcome"], "runs") << p.dump();
  }
  EXPECT_TRUE(std::filesystem::exists(out.path() / "probe-ref.md"));
}

TEST(Probe, BadFlagsAreUsageErrors) {
  EXPECT_EQ(run_onnxfuzz("probe --execution nosuch --out /tmp").exit_code, 2);
  EXPECT_EQ(run_onnxfuzz("probe --models-per-pair 0 --out /tmp").exit_code, 2);
}

// A bfloat16 model wrapped for an execution that cannot carry bfloat16 computes the same values.
TEST(Probe, WrappingUncarriedIoKeepsTheValues) {
  auto model = parse_model_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bfloat16[3] x) => (bfloat16[3] y) {
      y = Relu(x)
    }
  )");
  ASSERT_TRUE(model.has_value()) << model.error();
  TensorMap inputs;
  Tensor x = Tensor::zeros(DType::kBfloat16, {3});
  x.set_double(0, -1.5);
  x.set_double(1, 0.25);
  x.set_double(2, 3.0);
  inputs["x"] = x;
  const RunResult plain = run_reference(*model, inputs);
  ASSERT_EQ(plain.status, RunStatus::kOk) << plain.message;
  CarriedDtypes carried = all_dtypes_carried();
  std::erase(carried.carried, DType::kBfloat16);
  carried.not_carried.push_back({DType::kBfloat16, "test"});
  onnx::ModelProto wrapped = *model;
  wrap_uncarried_io(wrapped, inputs, carried);
  ASSERT_TRUE(validate_model(wrapped).has_value());
  for (const auto& info : wrapped.graph().input())
    EXPECT_EQ(info.type().tensor_type().elem_type(), static_cast<int32_t>(DType::kFloat));
  const RunResult r = run_reference(wrapped, inputs);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  ASSERT_EQ(r.outputs.size(), 1u);
  const Tensor& y = r.outputs.begin()->second;
  const Tensor& want = plain.outputs.begin()->second;
  EXPECT_EQ(y.dtype, DType::kFloat);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(y.as_double(i), want.as_double(i));
}

}  // namespace
}  // namespace onnxfuzz
