// Smoke campaign against the real ONNX Runtime: the loop runs, models are valid, ORT executes.
// It asserts nothing about ORT's bugs: findings are allowed, failures of our own are not.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

using testing::run_onnxfuzz;
using testing::TempDir;

TEST(OrtSmoke, ShortCampaignAgainstOrtWithAndWithoutOptimizations) {
  TempDir out;
  auto result = run_onnxfuzz(
      "fuzz --iterations 30 --seed 1 --executions ref,ort,ort-noopt "
      "--minimize-budget 20 --no-status --out " +
      out.str());
  ASSERT_TRUE(result.exit_code == 0 || result.exit_code == 1) << result.output;
  const auto stats = nlohmann::json::parse(testing::read_file(out.path() / "stats.json"));
  EXPECT_EQ(stats["models"], 30);
  EXPECT_EQ(stats["invalid_models"], 0);
  EXPECT_GT(stats["backend_seconds"].get<double>(), 0.0);
  // Every stored case is complete (atomic writes: no partial directories).
  if (std::filesystem::exists(out.path() / "cases")) {
    for (const auto& entry : std::filesystem::directory_iterator(out.path() / "cases")) {
      EXPECT_NE(entry.path().filename().string()[0], '.') << entry.path();
      EXPECT_TRUE(std::filesystem::exists(entry.path() / "case.json")) << entry.path();
      EXPECT_TRUE(std::filesystem::exists(entry.path() / "model.onnx")) << entry.path();
    }
  }
}

TEST(OrtSmoke, RunShowsOrtOutputs) {
  TempDir dir;
  ASSERT_EQ(run_onnxfuzz("gen --count 1 --seed 3 --out " + dir.str()).exit_code, 0);
  std::string model;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) model = entry.path();
  auto result = run_onnxfuzz("run " + model + " --executions ref,ort,ort-noopt");
  ASSERT_TRUE(result.exit_code == 0 || result.exit_code == 1) << result.output;
  // Whatever ORT's status on this model (a real rejection would be a finding, not a test
  // failure), both ORT executions ran and reported.
  EXPECT_NE(result.output.find("\n  ort        "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("\n  ort-noopt  "), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("worker died"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("verdict:"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace onnxfuzz
