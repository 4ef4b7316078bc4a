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
      "fuzz --jobs 1 --iterations 30 --seed 1 --executions ref,ort,ort-noopt "
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

// onnxruntime-node 1.29.0 and later write telemetry for every session to an SQLite file in the
// user's cache directory ($XDG_CACHE_HOME when set, else ~/.cache); the worker turns it off unless
// the user set ORT_DISABLE_TELEMETRY. The second run, with the user's ORT_DISABLE_TELEMETRY=0,
// shows that the pinned release does write the file, so the first run's check is not vacuous.
// Both runs pin HOME and XDG_CACHE_HOME, so the machine's own settings cannot move the file, and
// unset the variables by which ORT recognizes a CI service and turns telemetry off by itself
// (the names are in the library's strings; CI=true alone stops it, checked), so that neither
// result comes from the machine the test runs on.
TEST(OrtSmoke, WorkerRecordsNoTelemetryUnlessAskedTo) {
  std::string not_ci = "env";
  for (const char* name :
       {"CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "TRAVIS", "JENKINS_URL",
        "CODEBUILD_BUILD_ID", "BUILDKITE", "TEAMCITY_VERSION", "APPVEYOR",
        "BITBUCKET_BUILD_NUMBER"}) {
    not_ci += std::string(" -u ") + name;
  }
  TempDir dir;
  ASSERT_EQ(run_onnxfuzz("gen --count 1 --seed 3 --out " + dir.str("models")).exit_code, 0);
  std::string model;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() / "models")) {
    model = entry.path();
  }
  const auto run_in = [&](const std::string& name, const std::string& telemetry_env) {
    const auto home = dir.path() / name;
    std::filesystem::create_directories(home / "cache");
    auto result = run_onnxfuzz("run " + model + " --executions ref,ort",
                               not_ci + " " + telemetry_env + " HOME=" + home.string() +
                                   " XDG_CACHE_HOME=" + (home / "cache").string());
    EXPECT_TRUE(result.exit_code == 0 || result.exit_code == 1) << result.output;
    EXPECT_NE(result.output.find("\n  ort        "), std::string::npos) << result.output;
    // Nothing may land in ~/.cache either, whichever directory ORT picks.
    EXPECT_FALSE(std::filesystem::exists(home / ".cache/Microsoft"));
    return std::filesystem::exists(home / "cache/Microsoft/DeveloperTools/.onnxruntime" /
                                   "onnxruntime.db");
  };
  EXPECT_FALSE(run_in("default", "-u ORT_DISABLE_TELEMETRY"));
  EXPECT_TRUE(run_in("opted-in", "ORT_DISABLE_TELEMETRY=0"));
}

}  // namespace
}  // namespace onnxfuzz
