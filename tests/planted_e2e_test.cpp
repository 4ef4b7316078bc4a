// End to end through the real CLI with planted faults: each oracle kind is found, minimized to
// the faulty op, stored as a case, and replayed (still failing / fixed / changed).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "generators/model_io.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

using testing::run_onnxfuzz;
using testing::TempDir;
namespace fs = std::filesystem;

struct StoredCase {
  fs::path dir;
  nlohmann::json record;
};

std::vector<StoredCase> read_cases(const fs::path& out) {
  std::vector<StoredCase> cases;
  if (!fs::exists(out / "cases")) return cases;
  for (const auto& entry : fs::directory_iterator(out / "cases")) {
    if (entry.path().filename().string()[0] == '.') continue;
    cases.push_back(
        {entry.path(), nlohmann::json::parse(testing::read_file(entry.path() / "case.json"))});
  }
  return cases;
}

struct FaultRow {
  const char* kind;   // verdict kind the planted fault must produce
  const char* op;     // the faulty op (planted worker defaults)
  const char* ops;    // generator allowlist: the faulty op plus harmless ones
  const char* extra;  // extra flags
};

const FaultRow kFaults[] = {
    {"crash", "Sigmoid", "Sigmoid,Relu,Add,Mul,Neg", ""},
    {"hang", "Tanh", "Tanh,Relu,Add,Neg", "--timeout 1"},
    {"numeric", "Sqrt", "Sqrt,Relu,Add,Mul,Abs", ""},
    {"shape", "Transpose", "Transpose,Relu,Add,Neg", ""},
};

TEST(PlantedFaults, EachKindIsFoundAndMinimizedToTheFaultyOp) {
  for (const auto& row : kFaults) {
    SCOPED_TRACE(row.kind);
    TempDir out;
    auto result = run_onnxfuzz(fmt::format(
        "fuzz --jobs 1 --iterations 6 --seed 11 --max-nodes 8 --executions ref,planted --ops {} {} "
        "--no-status --out {}",
        row.ops, row.extra, out.str()));
    // Exit 1 = findings stored.
    ASSERT_EQ(result.exit_code, 1) << result.output;
    bool found = false;
    for (const auto& c : read_cases(out.path())) {
      if (c.record["kind"] != row.kind) continue;
      found = true;
      EXPECT_EQ(c.record["execution"], "planted");
      EXPECT_EQ(c.record["ops"], nlohmann::json::array({row.op})) << c.record.dump(2);
      EXPECT_GE(c.record["nodes_before"].get<int>(), c.record["nodes_after"].get<int>());
      EXPECT_TRUE(c.record["seed"].is_number_unsigned());
      ASSERT_EQ(c.record["results"].size(), 2u) << c.record.dump(2);
      EXPECT_EQ(c.record["results"][0], "ref: ok");
      EXPECT_EQ(c.record["results"][1].get<std::string>().rfind("planted: ", 0), 0u);
      EXPECT_TRUE(fs::exists(c.dir / "original.onnx"));
      EXPECT_TRUE(fs::exists(c.dir / "test_data_set_0" / "input_0.pb"));
      EXPECT_TRUE(fs::exists(c.dir / "test_data_set_0" / "output_0.pb"));
      // The stored reproducer is a valid model that still fails, and ref matches its outputs.
      auto model = load_model((c.dir / "model.onnx").string());
      ASSERT_TRUE(model) << model.error();
      EXPECT_TRUE(validate_model(*model)) << c.dir;
      EXPECT_EQ(run_onnxfuzz("run " + c.dir.string() + " --executions ref").exit_code, 0);
      EXPECT_EQ(
          run_onnxfuzz(fmt::format("run {} --executions ref,planted {}", c.dir.string(), row.extra))
              .exit_code,
          1);
    }
    EXPECT_TRUE(found) << "no " << row.kind << " case stored:\n" << result.output;
  }
}

TEST(PlantedFaults, CampaignIsReproducibleFromItsSeed) {
  TempDir a, b;
  const std::string args =
      "fuzz --jobs 1 --iterations 5 --seed 5 --max-nodes 6 --executions ref,planted "
      "--ops Sigmoid,Sqrt,Relu,Add --no-status --out ";
  ASSERT_EQ(run_onnxfuzz(args + a.str()).exit_code, 1);
  ASSERT_EQ(run_onnxfuzz(args + b.str()).exit_code, 1);
  // The journal has one line per verdict: new ones name their case, duplicates theirs.
  const auto stats = nlohmann::json::parse(testing::read_file(a.path() / "stats.json"));
  int verdicts = 0;
  for (const auto& [kind, count] : stats["findings_by_kind"].items()) verdicts += count.get<int>();
  std::istringstream journal(testing::read_file(a.path() / "findings.jsonl"));
  int lines = 0, fresh = 0;
  for (std::string line; std::getline(journal, line);) {
    const auto entry = nlohmann::json::parse(line);
    ++lines;
    fresh += entry["outcome"] == "new";
    EXPECT_TRUE(entry["case"].is_string()) << line;
    EXPECT_FALSE(entry["model_ops"].empty()) << line;
  }
  EXPECT_EQ(lines, verdicts);
  EXPECT_EQ(fresh, stats["unique"].get<int>());
  std::set<std::string> names_a, names_b;
  for (const auto& c : read_cases(a.path())) names_a.insert(c.dir.filename().string());
  for (const auto& c : read_cases(b.path())) names_b.insert(c.dir.filename().string());
  EXPECT_FALSE(names_a.empty());
  EXPECT_EQ(names_a, names_b);
  for (const auto& name : names_a) {
    EXPECT_EQ(testing::read_file(a.path() / "cases" / name / "model.onnx"),
              testing::read_file(b.path() / "cases" / name / "model.onnx"))
        << name;
  }
}

TEST(PlantedFaults, CaseSeedRegeneratesTheOriginalModel) {
  TempDir out, regenerated;
  ASSERT_EQ(run_onnxfuzz("fuzz --jobs 1 --iterations 3 --seed 2 --max-nodes 6 --executions ref,planted "
                         "--ops Sigmoid,Relu,Add --avoid-gaps ort --no-status --out " +
                         out.str())
                .exit_code,
            1);
  const auto cases = read_cases(out.path());
  ASSERT_FALSE(cases.empty());
  std::string command = cases[0].record["regenerate"];
  ASSERT_EQ(command.rfind("onnxfuzz gen --model-seed ", 0), 0u) << command;
  // The pairs the campaign avoided (ORT's bfloat16 Add, Relu, Sigmoid) are avoided again.
  EXPECT_NE(command.find(" --avoid-gaps ort"), std::string::npos) << command;
  // Coverage guidance is on by default: the model was built around its focus targets.
  EXPECT_NE(command.find(" --focus "), std::string::npos) << command;
  command.replace(command.find("DIR"), 3, regenerated.str());
  ASSERT_EQ(run_onnxfuzz(command.substr(std::string("onnxfuzz ").size())).exit_code, 0) << command;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(regenerated.path()))
    files.push_back(entry.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(testing::read_file(files[0]), testing::read_file(cases[0].dir / "original.onnx"));
}

// A one-job campaign's findings.jsonl stored two cases of `kind`, whose root causes (in order)
// hold `first` and `second`, and counted other findings as their hits.
void expect_two_causes(const fs::path& out, const std::string& kind, const std::string& first,
                       const std::string& second, const std::string& output) {
  std::set<std::string> stored;
  int hits = 0;
  std::ifstream journal(out / "findings.jsonl");
  for (std::string line; std::getline(journal, line);) {
    const auto entry = nlohmann::json::parse(line);
    if (entry["kind"] != kind) continue;
    if (entry["outcome"] == "new") stored.insert(entry.value("root_cause", ""));
    hits += entry["outcome"] == "duplicate";
  }
  ASSERT_EQ(stored.size(), 2u) << output;
  EXPECT_NE(stored.begin()->find(first), std::string::npos) << *stored.begin();
  EXPECT_NE(stored.rbegin()->find(second), std::string::npos) << *stored.rbegin();
  EXPECT_GT(hits, 0);
}

// Runs a one-job planted campaign over Sqrt, Exp, Relu and Add, one minimization per cause,
// with the `fault` (value or shape) planted in both Sqrt and Exp: two bugs with one message
// ("values differ from ref"; "output shape/dtype differs from ONNX shape inference", judged
// against inference, not an execution). Each keeps its own budget, so the one the campaign
// meets second is stored too, however often the first was met before; with one budget per
// message only the first would be.
void expect_budget_per_faulty_node(const std::string& kind, const std::string& fault) {
  TempDir out;
  const auto result = run_onnxfuzz(
      "fuzz --jobs 1 --iterations 40 --seed 4 --max-nodes 5 --executions ref,planted "
      "--ops Sqrt,Exp,Relu,Add --dtypes float32 --minimize-per-cause 1 --no-status --out " +
          out.str(),
      "ONNXFUZZ_PLANTED=" + fault + "=Sqrt/Exp");
  ASSERT_EQ(result.exit_code, 1) << result.output;
  expect_two_causes(out.path(), kind, "Exp(", "Sqrt(", result.output);
  int cases = 0;
  for (const auto& c : read_cases(out.path())) cases += c.record["kind"] == kind;
  EXPECT_EQ(cases, 2);
}

TEST(PlantedFaults, EachLocalizedNumericBugHasItsOwnMinimizationBudget) {
  expect_budget_per_faulty_node("numeric", "value");
}

TEST(PlantedFaults, EachLocalizedShapeBugHasItsOwnMinimizationBudget) {
  expect_budget_per_faulty_node("shape", "shape");
}

// The planted nudge makes every float32 Sqrt 0.1% large, inside the model: within the
// tolerance, so only a later comparison or rounding that flips turns it into a divergence of
// the outputs. No node computes anything else from its own inputs, so the campaign stores no
// case and counts those verdicts as propagated, not as findings (with the tolerance rule alone,
// each flip was a numeric case blaming the comparison or Floor).
TEST(PlantedFaults, ADivergenceNoNodeMakesIsNotAFinding) {
  TempDir out;
  const auto result = run_onnxfuzz(
      "fuzz --jobs 1 --iterations 1000 --seed 4 --max-nodes 4 --executions ref,planted "
      "--ops Sqrt,Greater,Less,Equal,Floor,Ceil --dtypes float32 --no-status --out " + out.str(),
      "ONNXFUZZ_PLANTED=nudge=Sqrt");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(read_cases(out.path()).empty());
  const auto stats = nlohmann::json::parse(std::ifstream(out.path() / "stats.json"));
  EXPECT_GT(stats.value("propagated", 0), 0) << stats.dump();
  EXPECT_EQ(stats["findings_by_kind"].value("numeric", 0), 0) << stats.dump();
  int propagated_lines = 0;
  std::ifstream journal(out.path() / "findings.jsonl");
  for (std::string line; std::getline(journal, line);) {
    propagated_lines += nlohmann::json::parse(line).value("outcome", "") == "propagated";
  }
  EXPECT_EQ(propagated_lines, stats.value("propagated", 0));
}

// Two planted crashes with one message ("worker died: SIGSEGV"), in Sigmoid and in Exp: a crash
// of a model holding the ops of a stored crash case is a hit of that case, and a crash of a
// model without them still gets minimized and stored, however many crashes came before. With
// one budget per message only the first would be stored. A second campaign with the first one
// --known counts every crash as known and stores none.
TEST(PlantedFaults, EachCrashCauseHasItsOwnMinimizationBudget) {
  TempDir out, again;
  const std::string args =
      "fuzz --jobs 1 --iterations 30 --seed 5 --max-nodes 4 --executions ref,planted "
      "--ops Sigmoid,Exp,Relu,Add --dtypes float32 --minimize-per-cause 1 --no-status --out ";
  const std::string env = "ONNXFUZZ_PLANTED=crash=Sigmoid/Exp";
  const auto result = run_onnxfuzz(args + out.str(), env);
  ASSERT_EQ(result.exit_code, 1) << result.output;
  expect_two_causes(out.path(), "crash", "{Exp}", "{Sigmoid}", result.output);

  const auto known = run_onnxfuzz(args + again.str() + " --known " + out.str(), env);
  EXPECT_EQ(known.exit_code, 0) << known.output;
  EXPECT_TRUE(read_cases(again.path()).empty());
  const auto stats = nlohmann::json::parse(testing::read_file(again.path() / "stats.json"));
  EXPECT_EQ(stats["known"], stats["findings_by_kind"]["crash"]) << stats.dump(2);
}

TEST(PlantedFaults, KnownCorpusSuppressesTriagedFindings) {
  TempDir triaged, fresh;
  const std::string args =
      "fuzz --jobs 1 --iterations 6 --seed 3 --max-nodes 6 --executions ref,planted "
      "--ops Sigmoid,Sqrt,Relu,Add --no-status --out ";
  ASSERT_EQ(run_onnxfuzz(args + triaged.str()).exit_code, 1);
  ASSERT_FALSE(read_cases(triaged.path()).empty());
  // The same findings again, with the first corpus declared known: nothing new is stored.
  auto again = run_onnxfuzz(args + fresh.str() + " --known " + triaged.str());
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(read_cases(fresh.path()).empty());
  const auto stats = nlohmann::json::parse(testing::read_file(fresh.path() / "stats.json"));
  EXPECT_GT(stats["known"].get<int>(), 0) << stats.dump(2);
  EXPECT_EQ(stats["unique"], 0);
  auto missing = run_onnxfuzz(args + fresh.str() + " --known " + fresh.str("nope"));
  EXPECT_EQ(missing.exit_code, 3) << missing.output;
}

TEST(PlantedFaults, FailureThatDoesNotReproduceIsNotStored) {
  TempDir out;
  auto result = run_onnxfuzz(
      "fuzz --jobs 1 --iterations 4 --seed 2 --max-nodes 6 --executions ref,planted "
      "--ops Sigmoid,Relu,Add --no-status --out " +
          out.str(),
      "ONNXFUZZ_PLANTED=flaky=Sigmoid ONNXFUZZ_PLANTED_STATE=" + out.str("crashed-once"));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("did not reproduce"), std::string::npos) << result.output;
  EXPECT_TRUE(read_cases(out.path()).empty());
  const auto stats = nlohmann::json::parse(testing::read_file(out.path() / "stats.json"));
  EXPECT_EQ(stats["flaky"], 1) << stats.dump(2);
  EXPECT_EQ(stats["findings_by_kind"]["crash"], 1) << stats.dump(2);
}

TEST(PlantedFaults, ReplayTellsStillFailingFixedAndChanged) {
  TempDir out;
  ASSERT_EQ(run_onnxfuzz("fuzz --jobs 1 --iterations 4 --seed 2 --max-nodes 6 --executions ref,planted "
                         "--ops Sigmoid,Relu,Add --no-status --out " +
                         out.str())
                .exit_code,
            1);
  ASSERT_FALSE(read_cases(out.path()).empty());

  auto still = run_onnxfuzz("replay " + out.str());
  EXPECT_EQ(still.exit_code, 0) << still.output;
  EXPECT_NE(still.output.find("STILL-FAILING"), std::string::npos) << still.output;
  EXPECT_EQ(still.output.find("FIXED"), std::string::npos) << still.output;

  // The "backend" gets its bug fixed: no planted faults at all.
  auto fixed = run_onnxfuzz("replay " + out.str(), "ONNXFUZZ_PLANTED=");
  EXPECT_EQ(fixed.exit_code, 5) << fixed.output;
  EXPECT_NE(fixed.output.find("FIXED"), std::string::npos) << fixed.output;

  // The crash turns into a wrong value: the case changed.
  auto changed = run_onnxfuzz("replay " + out.str(), "ONNXFUZZ_PLANTED=value=Sigmoid");
  EXPECT_EQ(changed.exit_code, 6) << changed.output;
  EXPECT_NE(changed.output.find("CHANGED"), std::string::npos) << changed.output;
}

TEST(PlantedFaults, MinimizerShrinksDimsAndDropsAttributesTheFaultDoesNotNeed) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,2,6,6] x, float[3,2,3,3] w) => (float[1,3,3,3] out) {
  a = Relu(x)
  c = Conv<strides = [2, 2], pads = [1, 1, 1, 1], dilations = [1, 1], group = 1>(a, w)
  out = Abs(c)
}
)";
  TempDir dir;
  auto model = parse_model_text(text);
  ASSERT_TRUE(model) << model.error();
  testing::write_file(dir.str("conv.onnx"), serialize_model(*model));
  // The planted wrong value on Conv does not depend on its attributes or sizes.
  auto result = run_onnxfuzz(
      "minimize " + dir.str("conv.onnx") + " --executions ref,planted --out " + dir.str("min"),
      "ONNXFUZZ_PLANTED=value=Conv");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("numeric on planted: 3 -> 1 nodes (Conv)"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("c = Conv(a, w)"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("float[1,1,1,1] w"), std::string::npos) << result.output;
}

TEST(PlantedFaults, CampaignKilledAtAnyMomentLeavesACompleteCorpus) {
  TempDir out;
  // SIGKILL at staggered moments while findings are being minimized and written; the same
  // OUT is reused, as a user restarting a campaign would.
  for (int round = 0; round < 6; ++round) {
    const std::string command = fmt::format(
        "timeout -s KILL {:.2f} {} fuzz --jobs 1 --iterations 400 --seed {} --max-nodes 8 "
        "--executions ref,planted --ops Sigmoid,Sqrt,Transpose,Relu,Add --no-status --out {} "
        ">/dev/null 2>&1",
        0.15 + 0.1 * round, ONNXFUZZ_BINARY, round, out.str());
    (void)std::system(command.c_str());
  }
  const auto cases = read_cases(out.path());
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.dir.string());
    for (const char* file :
         {"model.onnx", "original.onnx", "case.json", "report.md", "test_data_set_0/output_0.pb"}) {
      EXPECT_TRUE(fs::exists(c.dir / file)) << file;
    }
    EXPECT_TRUE(load_model((c.dir / "model.onnx").string()));
  }
  // Whatever temporaries the kills left are not cases, and the corpus replays.
  auto replay = run_onnxfuzz("replay " + out.str());
  EXPECT_EQ(replay.exit_code, 0) << replay.output;
  EXPECT_NE(replay.output.find(fmt::format("replay: {} still failing", cases.size())),
            std::string::npos)
      << replay.output;
}

TEST(PlantedFaults, MinimizeAHandWrittenModel) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,4] x, float[2,4] y) => (float[2,4] out) {
  a = Relu(x)
  b = Add(a, y)
  c = Neg(b)
  d = Sqrt(a)
  e = Mul(c, d)
  out = Abs(e)
}
)";
  TempDir dir;
  auto model = parse_model_text(text);
  ASSERT_TRUE(model) << model.error();
  testing::write_file(dir.str("m.onnx"), serialize_model(*model));
  auto result = run_onnxfuzz("minimize " + dir.str("m.onnx") + " --executions ref,planted --out " +
                             dir.str("min"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("numeric on planted: 6 -> 1 nodes (Sqrt)"), std::string::npos)
      << result.output;
  // The cut-off input is fed the tensor the full model computed, then shrunk to one element.
  EXPECT_NE(result.output.find("(float[1,1] a) => (float[1,1] d)"), std::string::npos)
      << result.output;

  // A model that does not fail: the minimizer says so instead of "reducing" it.
  const char* healthy = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,4] x) => (float[2,4] out) {
  out = Relu(x)
}
)";
  auto ok_model = parse_model_text(healthy);
  ASSERT_TRUE(ok_model);
  testing::write_file(dir.str("ok.onnx"), serialize_model(*ok_model));
  auto nothing = run_onnxfuzz("minimize " + dir.str("ok.onnx") +
                              " --executions ref,planted --out " + dir.str("min2"));
  EXPECT_EQ(nothing.exit_code, 1) << nothing.output;
  EXPECT_NE(nothing.output.find("nothing to minimize"), std::string::npos) << nothing.output;
}

}  // namespace
}  // namespace onnxfuzz
