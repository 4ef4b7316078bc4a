// Optimizer attribution: a planted fault that behaves as one named optimizer's bug is blamed on
// exactly that optimizer; a fault that does not depend on optimizers is not; and a campaign keys
// such findings by the optimizer, whatever their ops and messages. The ORT worker's run variants
// are checked for what they must do on any release (no ORT bug needs to stay unfixed).
#include "fuzzer/optimizer_blame.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "generators/model_io.h"
#include "oracles/ort_worker_command.h"
#include "oracles/worker_execution.h"
#include "test_support.h"

namespace onnxfuzz {
namespace {

using testing::run_onnxfuzz;
using testing::TempDir;

constexpr const char* kSqrtChain = R"(
<ir_version: 8, opset_import: ["" : 17]>
chain (float[2,3] x) => (float[2,3] y) {
  a = Abs(x)
  s = Sqrt(a)
  y = Relu(s)
}
)";

onnx::ModelProto sqrt_chain() {
  auto model = parse_model_text(kSqrtChain);
  EXPECT_TRUE(model.has_value()) << (model ? "" : model.error());
  return *model;
}

TensorMap sqrt_inputs() {
  const float x[] = {0.5f, -2.0f, 3.0f, 4.0f, -1.5f, 0.25f};
  return {{"x", Tensor::of_floats({2, 3}, x)}};
}

const Verdict kWanted{VerdictKind::kNumeric, "planted", "ref", "", ""};

// Which optimizer a planted fault needs: the test worker reads it when it starts.
struct PlantedOptimizer {
  explicit PlantedOptimizer(const char* name) {
    ::setenv("ONNXFUZZ_PLANTED", "value=Sqrt", 1);
    if (name) ::setenv("ONNXFUZZ_PLANTED_OPTIMIZER", name, 1);
    else ::unsetenv("ONNXFUZZ_PLANTED_OPTIMIZER");
  }
  ~PlantedOptimizer() {
    ::unsetenv("ONNXFUZZ_PLANTED");
    ::unsetenv("ONNXFUZZ_PLANTED_OPTIMIZER");
  }
};

// Blames the Sqrt chain's planted fault of `target_name` (against ref) on the optimizers.
OptimizerBlame blame_chain(const std::string& target_name) {
  auto ref = make_execution("ref", {});
  auto target = make_execution(target_name, {});
  EXPECT_TRUE(ref && target);
  if (!ref || !target) return {};
  return blame_optimizers(sqrt_chain(), sqrt_inputs(), **ref, **target, kWanted, OracleConfig{});
}

TEST(OptimizerBlame, NamesTheOneOptimizerAPlantedFaultNeeds) {
  for (const char* name : {"GemmTransposeFusion", "EliminateIdentity", "NhwcTransformer"}) {
    SCOPED_TRACE(name);
    PlantedOptimizer planted(name);
    const OptimizerBlame blame = blame_chain("planted");
    EXPECT_TRUE(blame.attempted);
    EXPECT_TRUE(blame.optimizer_dependent) << blame.detail;
    EXPECT_EQ(blame.culprits, std::vector<std::string>{name}) << blame.detail;
    // As is, disabled level, every name, then halves: logarithmic in the list, not linear.
    EXPECT_LE(blame.runs, 3 + 2 * 7) << blame.detail;
  }
}

TEST(OptimizerBlame, AFaultThatStaysWithOptimizationsOffIsNoOptimizers) {
  PlantedOptimizer planted(nullptr);
  const OptimizerBlame blame = blame_chain("planted");
  EXPECT_TRUE(blame.attempted);
  EXPECT_FALSE(blame.optimizer_dependent) << blame.detail;
  EXPECT_TRUE(blame.culprits.empty());
  EXPECT_EQ(blame.runs, 2);
  // A finding the target no longer shows (fixed in a newer release) is not attributed.
  ::setenv("ONNXFUZZ_PLANTED", "value=Exp", 1);
  const OptimizerBlame gone = blame_chain("planted");
  EXPECT_FALSE(gone.optimizer_dependent);
  EXPECT_TRUE(gone.culprits.empty());
  EXPECT_EQ(gone.runs, 1);
  EXPECT_NE(gone.detail.find("nothing to attribute"), std::string::npos) << gone.detail;
  // An in-process execution cannot run variants: nothing is attempted.
  const OptimizerBlame none = blame_chain("ref");
  EXPECT_FALSE(none.attempted);
  EXPECT_EQ(none.runs, 0);
}

// Delta debugging on the disabled set: it keeps exactly the names that must all be disabled,
// in a number of calls logarithmic in the list, and says so when its budget runs out.
TEST(OptimizerBlame, SmallestHidingSetKeepsExactlyTheNamesThatMustAllBeDisabled) {
  const std::vector<std::string>& names = ort_optimizer_names();
  ASSERT_GT(names.size(), 32u);
  for (const std::vector<std::string>& needed :
       {std::vector<std::string>{"EliminateIdentity", "Avx2WeightS8ToU8Transformer"},
        std::vector<std::string>{"ConstantFolding", "ConstantSharing"},
        std::vector<std::string>{"GeluFusionL1", "FastGeluFusion", "QuickGeluFusion"}}) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(needed, ",")));
    int calls = 0;
    const auto hides = [&](const std::vector<std::string>& set) -> std::optional<bool> {
      ++calls;
      return std::ranges::all_of(
          needed, [&](const std::string& n) { return std::ranges::count(set, n) == 1; });
    };
    auto found = smallest_hiding_set(names, hides);
    ASSERT_TRUE(found.has_value());
    std::ranges::sort(*found);
    std::vector<std::string> want = needed;
    std::ranges::sort(want);
    EXPECT_EQ(*found, want);
    EXPECT_LE(calls, 60) << "not logarithmic in " << names.size() << " names";
  }
  int budget = 5;
  const auto short_of_runs = [&](const std::vector<std::string>& set) -> std::optional<bool> {
    if (budget-- == 0) return std::nullopt;
    return std::ranges::count(set, "ConstantFolding") + std::ranges::count(set, "PadFusion") == 2;
  };
  EXPECT_FALSE(smallest_hiding_set(names, short_of_runs).has_value());
}

// A bug two optimizers each make alone (it hides only with both disabled) is blamed on both as
// interchangeable; one that needs both (either disabled hides it) on both as culprits.
TEST(OptimizerBlame, NamesOptimizersThatEachMakeAFaultAlone) {
  {
    PlantedOptimizer planted("GemmTransposeFusion|MatmulTransposeFusion");
    const OptimizerBlame blame = blame_chain("planted");
    EXPECT_TRUE(blame.optimizer_dependent) << blame.detail;
    EXPECT_TRUE(blame.culprits.empty()) << blame.detail;
    EXPECT_EQ(blame.interchangeable,
              (std::vector<std::string>{"GemmTransposeFusion", "MatmulTransposeFusion"}))
        << blame.detail;
    EXPECT_LE(blame.runs, 3 + 2 * 7 + 60) << blame.detail;
  }
  {
    PlantedOptimizer planted("ConstantFolding+NhwcTransformer");
    const OptimizerBlame blame = blame_chain("planted");
    EXPECT_EQ(blame.culprits, (std::vector<std::string>{"ConstantFolding", "NhwcTransformer"}))
        << blame.detail;
    EXPECT_TRUE(blame.interchangeable.empty());
  }
}

// Two planted faults of one fake optimizer, on different ops and of different kinds: every hit
// of each is keyed by the optimizer, so the neighbours and the failing op do not split them.
TEST(OptimizerBlame, CampaignKeysOptimizerFindingsByTheOptimizer) {
  TempDir out;
  auto result = run_onnxfuzz(
      "fuzz --jobs 1 --iterations 30 --seed 3 --max-nodes 5 --executions ref,planted "
      "--ops Sqrt,Pow,Relu,Add,Mul --dtypes float32 --no-status --out " + out.str(),
      "ONNXFUZZ_PLANTED=value=Sqrt,reject=Pow ONNXFUZZ_PLANTED_OPTIMIZER=ConvBNFusion");
  ASSERT_EQ(result.exit_code, 1) << result.output;
  std::set<std::string> causes;
  std::ifstream journal(out.path() / "findings.jsonl");
  for (std::string line; std::getline(journal, line);)
    causes.insert(nlohmann::json::parse(line).value("root_cause", ""));
  EXPECT_EQ(causes, (std::set<std::string>{"numeric|planted|optimizer:ConvBNFusion",
                                           "rejection|planted|optimizer:ConvBNFusion"}));
  // `report` says which optimizer to disable, in the session config ORT users set.
  for (const auto& entry : std::filesystem::directory_iterator(out.path() / "cases")) {
    auto report = run_onnxfuzz("report " + entry.path().string(),
                               "ONNXFUZZ_PLANTED=value=Sqrt,reject=Pow "
                               "ONNXFUZZ_PLANTED_OPTIMIZER=ConvBNFusion");
    ASSERT_EQ(report.exit_code, 0) << report.output;
    const std::string md = testing::read_file(entry.path() / "report.md");
    EXPECT_NE(md.find("### Optimizer attribution"), std::string::npos);
    EXPECT_NE(md.find("`optimization.disable_specified_optimizers` is `ConvBNFusion`"),
              std::string::npos)
        << md;
  }
}

// The campaign keys a fault two optimizers each make alone by both, "A|B", and the report names
// the session config that hides it: both disabled.
TEST(OptimizerBlame, CampaignKeysAFaultOfInterchangeableOptimizersByBoth) {
  TempDir out;
  const std::string env =
      "ONNXFUZZ_PLANTED=value=Sqrt ONNXFUZZ_PLANTED_OPTIMIZER='MatMulAddFusion|ConvBNFusion'";
  auto result = run_onnxfuzz(
      "fuzz --jobs 1 --iterations 30 --seed 3 --max-nodes 5 --executions ref,planted "
      "--ops Sqrt,Relu,Add,Mul --dtypes float32 --no-status --out " + out.str(), env);
  ASSERT_EQ(result.exit_code, 1) << result.output;
  std::set<std::string> causes;
  std::ifstream journal(out.path() / "findings.jsonl");
  for (std::string line; std::getline(journal, line);)
    causes.insert(nlohmann::json::parse(line).value("root_cause", ""));
  EXPECT_EQ(causes,
            (std::set<std::string>{"numeric|planted|optimizer:ConvBNFusion|MatMulAddFusion"}));
  size_t reports = 0;
  for (const auto& entry : std::filesystem::directory_iterator(out.path() / "cases")) {
    auto report = run_onnxfuzz("report " + entry.path().string(), env);
    ASSERT_EQ(report.exit_code, 0) << report.output;
    const std::string md = testing::read_file(entry.path() / "report.md");
    EXPECT_NE(md.find("`optimization.disable_specified_optimizers` is "
                      "`ConvBNFusion;MatMulAddFusion`: each of these optimizers makes it alone"),
              std::string::npos)
        << md;
    ++reports;
  }
  EXPECT_EQ(reports, 1u);
}

// The real ORT worker answers run variants: at level "disabled" and with optimizers disabled by
// name, a simple model still gives the reference's outputs; an unknown level is a clean error.
TEST(OrtRunVariant, DisabledLevelAndNamedOptimizersRunAndBadLevelIsAnError) {
  auto ort = make_execution("ort", {});
  ASSERT_TRUE(ort.has_value()) << ort.error();
  auto* worker = dynamic_cast<WorkerExecution*>(ort->get());
  ASSERT_NE(worker, nullptr);
  const onnx::ModelProto model = sqrt_chain();
  const ModelUnderTest mut = ModelUnderTest::view(model);
  const RunResult plain = worker->run(mut, sqrt_inputs());
  ASSERT_EQ(plain.status, RunStatus::kOk) << plain.message;
  for (const RunVariant& variant :
       {RunVariant{"disabled", {}}, RunVariant{"", ort_optimizer_names()},
        RunVariant{"basic", {"ConstantFolding"}}}) {
    const RunResult got = worker->run_variant(mut, sqrt_inputs(), variant);
    ASSERT_EQ(got.status, RunStatus::kOk) << got.message;
    EXPECT_EQ(got.outputs.at("y").bytes, plain.outputs.at("y").bytes);
  }
  const RunResult bad = worker->run_variant(mut, sqrt_inputs(), RunVariant{"fastest", {}});
  EXPECT_EQ(bad.status, RunStatus::kError);
  EXPECT_NE(bad.message.find("unknown optimization level fastest"), std::string::npos)
      << bad.message;
}

// The names in ort_optimizer_names() are the ones the pinned ORT registers: disabling the Pad
// fusion by its name keeps a Pad that ORT otherwise folds into the Conv after it (a rewrite
// that changes no result on this model), while its class name, which the list once held, is
// ignored. Checked on the optimized model the worker writes.
TEST(OrtRunVariant, OptimizerNamesAreTheOnesOrtRegisters) {
  const auto names = ort_optimizer_names();
  ASSERT_EQ(std::ranges::count(names, "Pad_Fusion"), 1);
  ASSERT_EQ(std::ranges::count(names, "PadFusion"), 0);
  auto model = parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,1,4,4] x) => (float[1,1,4,4] y) {
  p = Constant<value = int64[8] {0, 0, 1, 1, 0, 0, 1, 1}>()
  xp = Pad(x, p)
  w = Constant<value = float[1,1,3,3] {1, 1, 1, 1, 1, 1, 1, 1, 1}>()
  y = Conv(xp, w)
}
)");
  ASSERT_TRUE(model.has_value()) << model.error();
  const ModelUnderTest mut = ModelUnderTest::view(*model);
  const auto pads_left = [&](const char* disabled) -> int {
    OrtWorkerSpec spec;
    auto command = ort_worker_command("ort", spec);
    EXPECT_TRUE(command.has_value());
    if (!command) return -1;
    if (disabled) command->argv.insert(command->argv.end(), {"--disable-optimizers", disabled});
    WorkerExecution ort("ort", *command, ExecutionOptions{});
    std::string bytes;
    const RunResult result = ort.optimize(mut, bytes);
    EXPECT_EQ(result.status, RunStatus::kOk) << result.message;
    onnx::ModelProto optimized;
    if (!optimized.ParseFromString(bytes)) return -1;
    return static_cast<int>(std::ranges::count_if(optimized.graph().node(), [](const auto& node) {
      return node.op_type() == "Pad";
    }));
  };
  EXPECT_EQ(pads_left(nullptr), 0);
  EXPECT_EQ(pads_left("PadFusion"), 0);
  EXPECT_EQ(pads_left("Pad_Fusion"), 1);
}

}  // namespace
}  // namespace onnxfuzz
