// `fuzz --seeds`: mutation of seed models inside a campaign, end to end through the real CLI
// with planted faults. A fault that only a dtype change reaches is found by mutation, minimized
// and stored with the chain that re-derives it; the pool persists in OUT/pool/; rule-breaking
// mutants that a backend runs are accepted-invalid.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "generators/model_io.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

using testing::run_onnxfuzz;
using testing::TempDir;
namespace fs = std::filesystem;

// float32 only: the planted fault (Relu on float64) is not in the seed.
constexpr const char* kSeed = R"(
<ir_version: 8, opset_import: ["" : 17]>
seed (float[2,3] X) => (float[2,3] Y) {
  A = Relu(X)
  B = Mul(A, X)
  Y = Add(B, X)
}
)";

std::vector<nlohmann::json> read_records(const fs::path& out) {
  std::vector<nlohmann::json> records;
  if (!fs::exists(out / "cases")) return records;
  for (const auto& entry : fs::directory_iterator(out / "cases")) {
    if (entry.path().filename().string()[0] == '.') continue;
    auto j = nlohmann::json::parse(testing::read_file(entry.path() / "case.json"));
    j["dir"] = entry.path().string();
    records.push_back(std::move(j));
  }
  return records;
}

fs::path write_seed(const TempDir& dir) {
  fs::create_directories(dir.str("seeds"));
  const fs::path path = dir.str("seeds/seed.onnx");
  testing::write_file(path, serialize_model(*parse_model_text(kSeed)));
  return path;
}

TEST(SeedsCampaign, MutationReachesADtypeOnlyFaultAndTheCaseRederivesFromItsChain) {
  TempDir dir;
  const fs::path seed = write_seed(dir);
  const std::string env = "ONNXFUZZ_PLANTED=value=Relu:float64";
  // The seed as it is passes on the planted execution.
  auto plain = run_onnxfuzz(fmt::format("run {} --executions ref,planted", seed.string()), env);
  ASSERT_EQ(plain.exit_code, 0) << plain.output;

  const std::string out = dir.str("out");
  auto result = run_onnxfuzz(
      fmt::format("fuzz --jobs 1 --seeds {} --mutate-ratio 1 --iterations 120 --seed 5 "
                  "--executions ref,planted --no-status --out {}",
                  dir.str("seeds"), out),
      env);
  ASSERT_EQ(result.exit_code, 1) << result.output;  // findings stored
  auto records = read_records(out);
  ASSERT_FALSE(records.empty()) << result.output;
  const nlohmann::json* numeric = nullptr;
  for (const auto& r : records) {
    if (r["kind"] == "numeric" && r["execution"] == "planted") numeric = &r;
  }
  ASSERT_NE(numeric, nullptr) << result.output;
  const nlohmann::json& record = *numeric;
  // Minimized to the faulty Relu, with at most the Casts that give it its float64 input.
  const auto ops = record["ops"].get<std::vector<std::string>>();
  EXPECT_NE(std::ranges::find(ops, "Relu"), ops.end()) << record.dump(2);
  EXPECT_LE(ops.size(), 3u) << record.dump(2);
  for (const auto& op : ops) EXPECT_TRUE(op == "Relu" || op == "Cast") << record.dump(2);

  // The chain names the seed (path and hash) and at least one mutator with its seed.
  ASSERT_TRUE(record.contains("chain")) << record.dump(2);
  EXPECT_EQ(record["chain"]["seed"]["path"], fs::absolute(seed).lexically_normal().string());
  EXPECT_TRUE(record["chain"]["seed"]["hash"].get<std::string>().starts_with("fnv1a64:"));
  ASSERT_FALSE(record["chain"]["steps"].empty());
  EXPECT_TRUE(record["seed"].is_null());
  EXPECT_NE(record["regenerate"].get<std::string>().find("mutate --chain"), std::string::npos);

  // Re-derivation from the case gives original.onnx byte for byte.
  const std::string again = dir.str("again");
  auto rederived = run_onnxfuzz(
      fmt::format("mutate --chain {} --out {}", record["dir"].get<std::string>(), again));
  ASSERT_EQ(rederived.exit_code, 0) << rederived.output;
  EXPECT_EQ(testing::read_file(fs::path(again) / "original.onnx"),
            testing::read_file(fs::path(record["dir"].get<std::string>()) / "original.onnx"));

  // The mutants that found something joined the pool, kept in OUT/pool/ as chains.
  const auto stats = nlohmann::json::parse(testing::read_file(fs::path(out) / "stats.json"));
  ASSERT_TRUE(stats.contains("mutation")) << stats.dump(2);
  EXPECT_EQ(stats["mutation"]["mutants"], 120);
  const int64_t added = stats["mutation"]["pool_added"];
  EXPECT_GE(added, 1);
  int kept = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(out) / "pool")) {
    kept += entry.path().string().ends_with(".chain.json");
  }
  EXPECT_EQ(kept, added);

  // A second run on the same OUT starts from the kept pool.
  auto resumed = run_onnxfuzz(
      fmt::format("fuzz --jobs 1 --seeds {} --mutate-ratio 1 --iterations 2 --seed 6 "
                  "--executions ref,planted --no-status --out {}",
                  dir.str("seeds"), out),
      env);
  EXPECT_NE(resumed.output.find(fmt::format("{} pool entries kept from earlier runs", added)),
            std::string::npos)
      << resumed.output;
}

TEST(SeedsCampaign, RuleBreakingMutantsThatABackendRunsAreAcceptedInvalid) {
  TempDir dir;
  write_seed(dir);
  const std::string out = dir.str("out");
  // The planted worker is the reference behind the protocol: it validates nothing, so it runs
  // the rule-breaking mutants it can compute.
  auto result = run_onnxfuzz(
      fmt::format("fuzz --jobs 1 --seeds {} --mutate invalid --mutate-ratio 1 --iterations 40 --seed 3 "
                  "--executions ref,planted --no-status --out {}",
                  dir.str("seeds"), out),
      "ONNXFUZZ_PLANTED=");
  ASSERT_EQ(result.exit_code, 1) << result.output;
  auto records = read_records(out);
  ASSERT_FALSE(records.empty());
  for (const auto& r : records) {
    EXPECT_EQ(r["kind"], "accepted-invalid") << r.dump(2);
    EXPECT_EQ(r["execution"], "planted") << r.dump(2);  // ref, which validates nothing, is not judged
    ASSERT_TRUE(r.contains("chain"));
    EXPECT_EQ(r["chain"]["mode"], "invalid");
    const auto& last = r["chain"]["steps"].back();
    ASSERT_TRUE(last.contains("rule")) << r.dump(2);
    EXPECT_NE(r["message"].get<std::string>().find(last["rule"].get<std::string>()),
              std::string::npos)
        << r.dump(2);
  }
  // Invalid mutants never join the pool.
  EXPECT_FALSE(fs::exists(fs::path(out) / "pool") &&
               !fs::is_empty(fs::path(out) / "pool"));
  // Replayed, each case is judged against its rule again: still failing, not fixed.
  auto replayed = run_onnxfuzz(fmt::format("replay {} --executions ref,planted", out),
                               "ONNXFUZZ_PLANTED=");
  EXPECT_EQ(replayed.exit_code, 0) << replayed.output;
  EXPECT_NE(replayed.output.find(fmt::format("replay: {} still failing, 0 fixed, 0 changed",
                                             records.size())),
            std::string::npos)
      << replayed.output;
}

TEST(SeedsCampaign, BadSeedsAreClearErrors) {
  TempDir dir;
  auto missing = run_onnxfuzz(fmt::format("fuzz --jobs 1 --seeds {} --iterations 1 --executions ref --out {}",
                                          dir.str("nope"), dir.str("out")));
  EXPECT_EQ(missing.exit_code, 3) << missing.output;
  EXPECT_NE(missing.output.find("no such file or directory"), std::string::npos) << missing.output;

  testing::write_file(dir.str("corrupt.onnx"), "not a model");
  auto corrupt = run_onnxfuzz(fmt::format(
      "fuzz --jobs 1 --seeds {} --iterations 1 --executions ref --out {}", dir.str("corrupt.onnx"),
      dir.str("out")));
  EXPECT_EQ(corrupt.exit_code, 3) << corrupt.output;
  EXPECT_NE(corrupt.output.find("corrupt.onnx"), std::string::npos) << corrupt.output;

  // A directory with nothing loadable.
  fs::create_directories(dir.str("empty"));
  testing::write_file(dir.str("empty/junk.onnx"), "junk");
  auto empty = run_onnxfuzz(fmt::format("fuzz --jobs 1 --seeds {} --iterations 1 --executions ref --out {}",
                                        dir.str("empty"), dir.str("out")));
  EXPECT_NE(empty.exit_code, 0) << empty.output;
  EXPECT_NE(empty.output.find("no loadable"), std::string::npos) << empty.output;

  auto ratio = run_onnxfuzz(fmt::format(
      "fuzz --jobs 1 --seeds {} --mutate-ratio 2 --iterations 1 --executions ref --out {}",
      dir.str("empty"), dir.str("out")));
  EXPECT_EQ(ratio.exit_code, 2) << ratio.output;
  auto without = run_onnxfuzz(fmt::format("fuzz --jobs 1 --mutators shape-unit --iterations 1 --executions ref --out {}",
                                          dir.str("out")));
  EXPECT_EQ(without.exit_code, 2) << without.output;
}

}  // namespace
}  // namespace onnxfuzz
