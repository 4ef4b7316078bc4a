// onnxfuzz bisect, driven through the real CLI on the test-only planted@K releases: a fault
// planted in releases ONNXFUZZ_PLANTED_VERSIONS must come back as exactly that set, by testing
// every release or by bisection, and be written into case.json and report.md.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "fuzzer/bisect.h"
#include "generators/model_io.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

using testing::run_onnxfuzz;
using testing::TempDir;
namespace fs = std::filesystem;

constexpr const char* kSqrtModel = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[2,3] y) {
  a = Abs(x)
  y = Sqrt(a)
}
)";

// A stored numeric case against planted@4, whose Sqrt is wrong in releases 3..5.
class BisectCase : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = parse_model_text(kSqrtModel);
    ASSERT_TRUE(model) << model.error();
    testing::write_file(dir_.path() / "m.onnx", serialize_model(*model));
    auto stored = run_onnxfuzz(
        fmt::format("minimize {} --executions ref,planted@4 --out {}", dir_.str("m.onnx"),
                    dir_.str("out")),
        env("3..5"));
    ASSERT_EQ(stored.exit_code, 0) << stored.output;
    for (const auto& entry : fs::directory_iterator(dir_.path() / "out" / "cases")) {
      case_dir_ = entry.path().string();
    }
    ASSERT_FALSE(case_dir_.empty());
  }

  static std::string env(const std::string& versions) {
    return "ONNXFUZZ_PLANTED=value=Sqrt ONNXFUZZ_PLANTED_VERSIONS=" + versions;
  }
  nlohmann::json bisect_record() const {
    return nlohmann::json::parse(testing::read_file(fs::path(case_dir_) / "case.json"))["bisect"];
  }

  TempDir dir_;
  std::string case_dir_;
};

TEST_F(BisectCase, EveryReleaseOfAShortRangeGivesTheExactFailingSet) {
  auto result = run_onnxfuzz("bisect " + case_dir_ + " --versions 1..8", env("3..5"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("fails the same way in 3..5 (every release; 8 of 8"),
            std::string::npos)
      << result.output;
  const nlohmann::json record = bisect_record();
  EXPECT_EQ(record["execution"], "planted@4");
  EXPECT_EQ(record["first"], "3");
  EXPECT_EQ(record["last"], "5");
  EXPECT_EQ(record["failing"], nlohmann::json::array({"3", "4", "5"}));
  ASSERT_EQ(record["tested"].size(), 8u);
  EXPECT_EQ(record["tested"][0]["execution"], "planted@1");
  EXPECT_EQ(record["tested"][0]["outcome"], "pass");
  EXPECT_EQ(record["tested"][3]["outcome"], "same");
  // The rest of case.json is kept, and the case still reads and replays.
  auto replayed = run_onnxfuzz("replay " + case_dir_, env("3..5"));
  EXPECT_EQ(replayed.exit_code, 0) << replayed.output;

  const std::string report = testing::read_file(fs::path(case_dir_) / "report.md");
  EXPECT_NE(report.find("## Releases that fail the same way"), std::string::npos);
  EXPECT_NE(report.find("**3..5**"), std::string::npos) << report;
  EXPECT_LT(report.find("## Releases that fail"), report.find("## Environment"));

  // A second run replaces the section instead of adding one.
  auto again = run_onnxfuzz("bisect " + case_dir_ + " --versions 2..4", env("3..5"));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  const std::string second = testing::read_file(fs::path(case_dir_) / "report.md");
  EXPECT_EQ(second.find("## Releases that fail"), second.rfind("## Releases that fail"));
  EXPECT_NE(second.find("**3..4**"), std::string::npos) << second;
}

TEST_F(BisectCase, NonContiguousReleasesAreReportedExactly) {
  auto result = run_onnxfuzz("bisect " + case_dir_ + " --versions 1..8", env("2,5..6"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json record = bisect_record();
  EXPECT_EQ(record["failing"], nlohmann::json::array({"2", "5", "6"}));
  EXPECT_EQ(record["first"], "2");
  EXPECT_EQ(record["last"], "6");
  EXPECT_NE(result.output.find("failing: 2,5,6"), std::string::npos) << result.output;
}

TEST_F(BisectCase, ALongRangeIsBisected) {
  auto result = run_onnxfuzz(
      "bisect " + case_dir_ + " --versions 1..16 --exhaustive-limit 4", env("3..5"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json record = bisect_record();
  EXPECT_EQ(record["mode"], "bisection");
  EXPECT_EQ(record["first"], "3");
  EXPECT_EQ(record["last"], "5");
  EXPECT_LT(record["tested"].size(), 16u);
  // Its neighbours were tested and pass: the boundaries are exact.
  std::map<std::string, std::string> outcome;
  for (const auto& t : record["tested"]) outcome[t["version"]] = t["outcome"];
  EXPECT_EQ(outcome["2"], "pass");
  EXPECT_EQ(outcome["6"], "pass");
}

TEST_F(BisectCase, NoFailingReleaseExitsOne) {
  auto result = run_onnxfuzz("bisect " + case_dir_ + " --versions 1..4 --no-write", env("7"));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("fails the same way in none"), std::string::npos);
  EXPECT_TRUE(bisect_record().is_null());  // --no-write
}

TEST_F(BisectCase, BadInputIsAClearError) {
  struct Row {
    std::string args;
    int exit_code;
    const char* says;
  };
  const Row rows[] = {
      {"bisect", 2, "exactly one CASE_DIR"},
      {"bisect " + dir_.str("missing"), 3, "no such case directory"},
      {"bisect " + dir_.str(), 3, ""},  // a directory that is no case
      {"bisect " + case_dir_ + " --versions abc", 2, "expected FIRST..LAST"},
      {"bisect " + case_dir_ + " --versions 1..x", 2, "expected FIRST..LAST"},
      {"bisect " + case_dir_ + " --versions 6..2", 2, "comes after"},
      {"bisect " + case_dir_ + " --versions 40..50", 2, "no release in 40..50"},
      {"bisect " + case_dir_ + " --execution ref", 2, "has no releases"},
      {"bisect " + case_dir_ + " --execution ort", 2, "not an execution of this case"},
      {"bisect " + case_dir_ + " --execution bogus", 2, "unknown execution"},
      {"bisect " + case_dir_ + " --nope", 2, ""},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.args);
    auto result = run_onnxfuzz(row.args, env("3..5"));
    EXPECT_EQ(result.exit_code, row.exit_code) << result.output;
    EXPECT_NE(result.output.find(row.says), std::string::npos) << result.output;
  }
}

TEST(Bisect, ReleaseOrderIsNumeric) {
  EXPECT_TRUE(release_before("1.9.0", "1.10.0"));
  EXPECT_TRUE(release_before("3", "12"));
  EXPECT_FALSE(release_before("1.10.0", "1.10.0"));
  EXPECT_TRUE(release_before("1.16.3", "1.17.0"));
}

TEST(Bisect, HelpNamesTheCommand) {
  auto help = run_onnxfuzz("--help");
  EXPECT_NE(help.output.find("bisect"), std::string::npos);
  auto bisect = run_onnxfuzz("bisect --help");
  EXPECT_EQ(bisect.exit_code, 0);
  EXPECT_NE(bisect.output.find("--versions"), std::string::npos);
  EXPECT_NE(bisect.output.find("planted@K"), std::string::npos);
}

}  // namespace
}  // namespace onnxfuzz
