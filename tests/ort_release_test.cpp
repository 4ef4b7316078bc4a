// ort@VERSION executions: name parsing and refusals, install failures, and one old release
// installed once from npm into a temporary cache, then run offline from it.
#include "oracles/ort_release.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "generators/model_io.h"
#include "oracles/execution.h"
#include "oracles/worker_paths.h"
#include "test_support.h"

namespace onnxfuzz {
namespace {

using testing::run_onnxfuzz;
using testing::TempDir;

TEST(OrtRelease, ExecutionNamesTable) {
  struct Row {
    const char* name;
    bool ort;             // an ORT execution name at all
    bool valid;           // one onnxfuzz can serve
    const char* version;  // when valid
    const char* level;    // when valid
  };
  const Row rows[] = {
      {"ort", true, true, "", "all"},
      {"ort-noopt", true, true, "", "disabled"},
      {"ort@1.16.3", true, true, "1.16.3", "all"},
      {"ort@1.16.3-all", true, true, "1.16.3", "all"},
      {"ort@1.16.3-noopt", true, true, "1.16.3", "disabled"},
      {"ort@1.16.3-basic", true, true, "1.16.3", "basic"},
      {"ort@1.16.3-extended", true, true, "1.16.3", "extended"},
      {"ort@1.10.0", true, true, "1.10.0", "all"},
      {"ort@1.9.4", true, false, "", ""},
      {"ort@0.30.0", true, false, "", ""},
      {"ort@1.16", true, false, "", ""},
      {"ort@1.16.3.1", true, false, "", ""},
      {"ort@01.16.3", true, false, "", ""},
      {"ort@latest", true, false, "", ""},
      {"ort@1.16.3-fast", true, false, "", ""},
      {"ort@", true, false, "", ""},
      {"ref", false, false, "", ""},
      {"ort-web", false, false, "", ""},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    auto parsed = parse_ort_execution_name(row.name);
    ASSERT_EQ(parsed.has_value(), row.ort);
    if (!row.ort) continue;
    ASSERT_EQ(parsed->has_value(), row.valid) << (*parsed ? "" : parsed->error());
    EXPECT_EQ(is_execution_name(row.name), row.valid);
    if (!row.valid) continue;
    EXPECT_EQ((*parsed)->version, row.version);
    EXPECT_EQ((*parsed)->opt_level, row.level);
  }
}

// Bad version strings are usage errors, refused before npm is asked; an install that fails is
// an environment error that says what failed.
TEST(OrtRelease, RefusalsAndInstallFailuresThroughTheCli) {
  TempDir dir;
  const std::string model = dir.str("m.onnx");
  testing::write_file(model, serialize_model(*parse_model_text(testing::kAddRelu)));
  const std::string env = "ONNXFUZZ_ORT_CACHE=" + dir.str("cache");
  struct Row {
    const char* execution;
    int exit_code;
    const char* message;
  };
  const Row rows[] = {
      {"ort@1.9.0", 2, "releases before 1.10.0 download their native binaries"},
      {"ort@abc", 2, "'abc' is not a release version"},
      {"ort@1.16.3-fast", 2, "unknown level 'fast'"},
      {"ort@99.0.0", 4, "installing onnxruntime-node@99.0.0 into"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.execution);
    auto result = run_onnxfuzz(fmt::format("run {} --executions ref,{}", model, row.execution), env);
    EXPECT_EQ(result.exit_code, row.exit_code) << result.output;
    EXPECT_NE(result.output.find(row.message), std::string::npos) << result.output;
  }
  // A failed install leaves nothing a later run would take for a cached release.
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "cache" / "99.0.0"));
}

TEST(OrtRelease, OldReleaseInstallsOnceThenRunsOfflineFromTheCache) {
  TempDir dir;
  const std::string model = dir.str("m.onnx");
  testing::write_file(model, serialize_model(*parse_model_text(testing::kAddRelu)));
  const std::string cache = dir.str("cache");
  const std::string run = fmt::format("run {} --executions ref,ort@1.14.0,ort@1.14.0-noopt", model);

  auto first = run_onnxfuzz(run, "ONNXFUZZ_ORT_CACHE=" + cache);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("installing onnxruntime-node@1.14.0"), std::string::npos)
      << first.output;
  EXPECT_NE(first.output.find("verdict: pass"), std::string::npos) << first.output;
  ASSERT_TRUE(std::filesystem::is_regular_file(std::filesystem::path(cache) / "1.14.0" /
                                               "node_modules" / "onnxruntime-node" /
                                               "package.json"));

  // Offline: a PATH holding node and nothing else, so any npm call would fail the run.
  const auto node = find_in_path("node");
  ASSERT_TRUE(node);
  std::filesystem::create_directories(dir.path() / "bin");
  std::filesystem::create_symlink(*node, dir.path() / "bin" / "node");
  const std::string offline = fmt::format("ONNXFUZZ_ORT_CACHE={} PATH={}", cache, dir.str("bin"));
  auto second = run_onnxfuzz(run, offline);
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(second.output.find("installing"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("ort@1.14.0-noopt ok"), std::string::npos) << second.output;

  // The exact release is what case.json records, and its Tensor's missing float16 is a dtype
  // it does not carry (so float16 models are not run on it rather than rejected).
  ::setenv("ONNXFUZZ_ORT_CACHE", cache.c_str(), 1);
  auto execution = make_execution("ort@1.14.0-basic", ExecutionOptions{});
  ASSERT_TRUE(execution) << execution.error();
  EXPECT_EQ((*execution)->version(), "onnxruntime-node 1.14.0");
  EXPECT_FALSE((*execution)->carried_dtypes().carries(DType::kFloat16));
  EXPECT_TRUE((*execution)->carried_dtypes().carries(DType::kFloat));
}

}  // namespace
}  // namespace onnxfuzz
