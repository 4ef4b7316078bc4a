// Symmetric judging through the real CLI: every order of --executions gives the same verdicts,
// with and without ref, including "no execution ran the model" and resource-limited runs.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "generators/model_io.h"
#include "test_support.h"

namespace onnxfuzz {
namespace {

using testing::run_onnxfuzz;
using testing::TempDir;

// The planted worker's faults for every row: the defaults, plus a clean rejection of Exp and
// a memory hog on Relu.
constexpr const char* kPlanted =
    "ONNXFUZZ_PLANTED=crash=Sigmoid,hang=Tanh,value=Sqrt,shape=Transpose,reject=Exp,hog=Relu";

struct ModelRow {
  const char* name;
  const char* text;
  // Verdicts as "kind@execution", sorted; or "pass" / "not run". The same for every set of
  // executions below, since only the planted worker misbehaves.
  std::set<std::string> verdicts;
  int exit_code;
};

const ModelRow kModels[] = {
    {"all agree", R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[2,3] z) { z = Abs(x) }
)",
     {"pass"}, 0},
    {"planted crash", R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[2,3] z) { z = Sigmoid(x) }
)",
     {"crash@planted"}, 1},
    {"planted hang", R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[2,3] z) { z = Tanh(x) }
)",
     {"hang@planted"}, 1},
    {"planted wrong values", R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[2,3] z) {
  a = Abs(x)
  z = Sqrt(a)
}
)",
     {"numeric@planted"}, 1},
    {"planted wrong shape", R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[3,2] z) { z = Transpose<perm = [1, 0]>(x) }
)",
     {"shape@planted"}, 1},
    {"planted rejection", R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[2,3] z) { z = Exp(x) }
)",
     {"rejection@planted"}, 1},
    {"planted over its memory limit", R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[2,3] z) { z = Relu(x) }
)",
     {"pass"}, 0},
    {"an op nobody runs", R"(
<ir_version: 8, opset_import: ["" : 17, "com.example" : 1]>
g (float[2,3] x) => (float[2,3] z) { z = com.example.Frobnicate(x) }
)",
     {"not run"}, 7},
};

// Sets of executions whose every order is tried: with ref (the baseline whenever it runs),
// and without it (the majority of ort and ort-noopt outvotes planted).
const std::vector<std::vector<std::string>> kExecutionSets = {
    {"ref", "planted"},
    {"ref", "planted", "ort"},
    {"planted", "ort", "ort-noopt"},
};

// The verdict lines of `onnxfuzz run` as "kind@execution", "pass" or "not run".
std::set<std::string> verdicts_of(const std::string& output) {
  std::set<std::string> verdicts;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("verdict: ")) continue;
    const std::string rest = line.substr(9);
    if (rest.starts_with("pass")) {
      verdicts.insert("pass");
    } else if (rest.starts_with("not run")) {
      verdicts.insert("not run");
    } else {
      const size_t on = rest.find(" on ");
      const std::string kind = rest.substr(0, on);
      std::string execution = rest.substr(on + 4);
      execution = execution.substr(0, execution.find_first_of(" :"));
      verdicts.insert(kind + "@" + execution);
    }
  }
  return verdicts;
}

std::string write_model(const TempDir& dir, const std::string& name, const char* text) {
  auto model = parse_model_text(text);
  EXPECT_TRUE(model) << model.error();
  const std::string path = dir.str(name);
  testing::write_file(path, model ? serialize_model(*model) : std::string());
  return path;
}

TEST(SymmetricJudging, EveryOrderOfExecutionsGivesTheSameVerdicts) {
  TempDir dir;
  int index = 0;
  for (const ModelRow& row : kModels) {
    const std::string path = write_model(dir, fmt::format("m{}.onnx", index++), row.text);
    for (std::vector<std::string> set : kExecutionSets) {
      std::ranges::sort(set);
      do {
        const std::string order = fmt::format("{}", fmt::join(set, ","));
        SCOPED_TRACE(fmt::format("{} on --executions {}", row.name, order));
        auto result = run_onnxfuzz(
            fmt::format("run {} --executions {} --timeout 3 --memory-limit-mb 768", path, order),
            kPlanted);
        EXPECT_EQ(verdicts_of(result.output), row.verdicts) << result.output;
        EXPECT_EQ(result.exit_code, row.exit_code) << result.output;
      } while (std::ranges::next_permutation(set).found);
    }
  }
}

// The first listed execution failing is a finding against it, and minimize finds it too (it
// used to say "no failure ... nothing to minimize" unless ref came first).
TEST(SymmetricJudging, MinimizeFindsAFailureOfTheFirstExecution) {
  TempDir dir;
  const std::string path = write_model(dir, "exp.onnx", R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[2,3] z) {
  a = Abs(x)
  b = Exp(a)
  z = Neg(b)
}
)");
  auto result = run_onnxfuzz(
      fmt::format("minimize {} --executions planted,ref --out {}", path, dir.str("min")),
      kPlanted);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("rejection on planted: 3 -> 1 nodes (Exp)"), std::string::npos)
      << result.output;
  auto none = run_onnxfuzz(fmt::format("minimize {} --executions planted --out {}",
                                       write_model(dir, "abs.onnx", kModels[0].text),
                                       dir.str("min2")),
                           "ONNXFUZZ_PLANTED=reject=Abs");
  EXPECT_EQ(none.exit_code, 1) << none.output;
  EXPECT_NE(none.output.find("no execution ran the model"), std::string::npos) << none.output;
}

// A model far over every limit (a 60000x60000 float output: 14.4 GB) is resource-limited on
// every execution, in any order: not a crash, not a finding.
TEST(SymmetricJudging, ModelOverEveryMemoryLimitIsNotACrash) {
  TempDir dir;
  const std::string path = write_model(dir, "matmul.onnx", R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[60000,1] a, float[1,60000] b) => (float[60000,60000] z) { z = MatMul(a, b) }
)");
  for (const char* order : {"ref,ort,ort-noopt", "ort,ort-noopt,ref", "ort-noopt,ref,ort"}) {
    SCOPED_TRACE(order);
    auto result = run_onnxfuzz(
        fmt::format("run {} --executions {} --memory-limit-mb 1024", path, order));
    EXPECT_EQ(result.exit_code, 7) << result.output;
    EXPECT_EQ(verdicts_of(result.output), std::set<std::string>{"not run"}) << result.output;
    EXPECT_EQ(result.output.find("crash"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("resource-limit"), std::string::npos) << result.output;
  }
}

// A campaign counts resource-limited runs in stats.json under "unsupported", as no finding.
TEST(SymmetricJudging, CampaignCountsResourceLimitedRuns) {
  TempDir dir;
  auto result = run_onnxfuzz(
      fmt::format("fuzz --jobs 1 --iterations 4 --seed 3 --max-nodes 3 --ops Relu,Add --dtypes float32 "
                  "--executions ref,planted --memory-limit-mb 512 --no-status --out {}",
                  dir.str("out")),
      "ONNXFUZZ_PLANTED=hog=Relu");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string stats = testing::read_file(dir.path() / "out" / "stats.json");
  EXPECT_NE(stats.find("\"resource_limit\""), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"unique\": 0"), std::string::npos) << stats;
}

}  // namespace
}  // namespace onnxfuzz
