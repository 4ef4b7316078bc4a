// The convert:onnx-version@N execution: libonnx's version converter under test. Round trips of
// generated models, missing adapters as unsupported, planted converter faults found (crash,
// rejection, changed meaning), and the pairing of a converter with its --after execution.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>

#include "fuzzer/evaluation.h"
#include "generators/generator.h"
#include "generators/inputs.h"
#include "generators/model_io.h"
#include "oracles/execution.h"
#include "oracles/reference.h"
#include "oracles/version_converter.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

using testing::run_onnxfuzz;
using testing::TempDir;

onnx::ModelProto text_model(const char* text) {
  auto model = parse_model_text(text);
  EXPECT_TRUE(model) << model.error();
  return model ? *model : onnx::ModelProto{};
}

std::unique_ptr<Execution> make(const std::string& name, const std::string& after = "ref") {
  ExecutionOptions options;
  options.after = after;
  auto execution = make_execution(name, options);
  EXPECT_TRUE(execution) << execution.error();
  return execution ? std::move(*execution) : nullptr;
}

TensorMap inputs_for(const onnx::ModelProto& model, uint64_t seed = 1) {
  Rng rng(seed);
  return synthesize_inputs(model, rng);
}

// ONNXFUZZ_PLANTED_CONVERT for the scope of one test (the forked converter reads it).
class PlantedConverter {
 public:
  explicit PlantedConverter(const char* spec) { ::setenv("ONNXFUZZ_PLANTED_CONVERT", spec, 1); }
  ~PlantedConverter() { ::unsetenv("ONNXFUZZ_PLANTED_CONVERT"); }
};

// At opset 13, converted up to 15 (libonnx 1.12 has no Sub 14 -> 13 adapter to go down).
constexpr const char* kSubRelu = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] x, float[2,3] y) => (float[2,3] z) {
  s = Sub(x, y)
  z = Relu(s)
}
)";

TEST(ConvertOnnxVersion, NamesAndAfterSpelling) {
  EXPECT_TRUE(is_execution_name("convert:onnx-version@11"));
  EXPECT_TRUE(is_execution_name("convert:onnx-version@13+ort"));
  for (const char* bad : {"convert:onnx-version@", "convert:onnx-version@0",
                          "convert:onnx-version@99", "convert:onnx-version@1x",
                          "convert:onnx-version@13+bogus",
                          "convert:onnx-version@13+convert:onnx-version@12"}) {
    SCOPED_TRACE(bad);
    auto made = make_execution(bad, {});
    ASSERT_FALSE(made);
    EXPECT_FALSE(is_execution_name(bad));
  }
  auto plain = make("convert:onnx-version@13");
  auto planted = make("convert:onnx-version@13", "planted");
  ASSERT_TRUE(plain && planted);
  EXPECT_EQ(plain->name(), "convert:onnx-version@13");
  EXPECT_EQ(planted->name(), "convert:onnx-version@13+planted");
  EXPECT_EQ(paired_execution(plain->name()), "ref");
  EXPECT_EQ(paired_execution(planted->name()), "planted");
  EXPECT_EQ(paired_execution("ort"), "");
}

// Generated opset-17 models converted down to N and run on ref agree with ref on the
// original; the converter's refusals are unsupported, never findings.
TEST(ConvertOnnxVersion, RoundTripOfGeneratedModelsOnRef) {
  auto generator = Generator::make(GenPolicy{});
  ASSERT_TRUE(generator) << generator.error();
  auto ref = make("ref");
  constexpr int kModels = 120;
  for (int opset : {17, 15, 13}) {
    SCOPED_TRACE(opset);
    auto convert = make(fmt::format("convert:onnx-version@{}", opset));
    std::vector<Execution*> executions{ref.get(), convert.get()};
    std::map<std::string, int> outcomes;
    for (uint64_t seed = 1; seed <= kModels; ++seed) {
      const GeneratedModel generated = generator->generate(seed);
      const Evaluation eval =
          evaluate_model(generated.model, generated.inputs, executions, OracleConfig{});
      const RunResult& converted = eval.observations[1].result;
      std::string outcome(run_status_name(converted.status));
      for (const auto& v : eval.verdicts) {
        outcome = fmt::format("{} on {}", verdict_kind_name(v.kind), v.execution);
        // Every verdict is the converter's, judged against ref.
        EXPECT_EQ(v.execution, convert->name()) << v.message;
        if (v.baseline != "inferred") EXPECT_EQ(v.baseline, "ref");
      }
      ++outcomes[outcome];
      if (converted.status == RunStatus::kOk) {
        // The converted model is recorded, at the asked opset.
        ASSERT_FALSE(converted.artifacts.empty());
        EXPECT_EQ(converted.artifacts[0].file_name, "converted.onnx");
        auto model = parse_model(converted.artifacts[0].bytes);
        ASSERT_TRUE(model) << model.error();
        for (const auto& import : model->opset_import()) {
          if (import.domain().empty()) EXPECT_EQ(import.version(), opset);
        }
      }
    }
    std::string summary;
    for (const auto& [outcome, count] : outcomes) summary += fmt::format("{} {}; ", outcome, count);
    SCOPED_TRACE(summary);
    // Converting to the model's own opset changes nothing.
    if (opset == 17) EXPECT_EQ(outcomes["ok"], kModels);
    // Many generated models convert (libonnx 1.12 lacks many down adapters, e.g. Sub/Div
    // 14 -> 13: those are unsupported), and what converts agrees with ref: at most a few
    // findings, which would be libonnx's.
    EXPECT_GE(outcomes["ok"], kModels / 4);
    EXPECT_LE(kModels - outcomes["ok"] - outcomes["unsupported"], kModels / 20);
    // The converter is deterministic: the same model gives the same converted bytes.
    const GeneratedModel again = generator->generate(7);
    const auto first = convert_opset(serialize_model(again.model), opset, {});
    const auto second = convert_opset(serialize_model(again.model), opset, {});
    EXPECT_EQ(first.status, second.status);
    EXPECT_EQ(first.converted, second.converted);
  }
}

// Down to 15 and back up to 17: where both conversions exist, ref gives the original's
// outputs on the round-tripped model.
TEST(ConvertOnnxVersion, DownAndUpAgainAgreesWithTheOriginal) {
  auto generator = Generator::make(GenPolicy{});
  ASSERT_TRUE(generator) << generator.error();
  int round_trips = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    SCOPED_TRACE(seed);
    const GeneratedModel generated = generator->generate(seed);
    const auto down = convert_opset(serialize_model(generated.model), 15, {});
    if (down.status != ConversionStatus::kOk) continue;
    const auto up = convert_opset(down.converted, 17, {});
    if (up.status != ConversionStatus::kOk) continue;
    auto model = parse_model(up.converted);
    ASSERT_TRUE(model) << model.error();
    ASSERT_TRUE(check_model(*model)) << check_model(*model).error();
    const RunResult original = run_reference(generated.model, generated.inputs);
    const RunResult again = run_reference(*model, generated.inputs);
    if (original.status != RunStatus::kOk) continue;
    ASSERT_EQ(again.status, RunStatus::kOk) << again.message;
    EXPECT_TRUE(compare_outputs("round trip", again, "original", original.outputs, OracleConfig{})
                    .empty());
    ++round_trips;
  }
  EXPECT_GE(round_trips, 20);
}

TEST(ConvertOnnxVersion, MissingAdapterIsUnsupported) {
  struct Row {
    const char* model;
    int target;
  };
  const Row rows[] = {
      // LayerNormalization exists from opset 17 on: no previous version.
      {R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x, float[3] s, float[3] b) => (float[2,3] y) {
  y = LayerNormalization(x, s, b)
}
)",
       16},
      // Cast changed in opset 6 and libonnx has no 6 -> 5 adapter for it.
      {R"(
<ir_version: 8, opset_import: ["" : 6]>
g (float[2,3] x) => (double[2,3] y) {
  y = Cast<to = 11>(x)
}
)",
       5},
  };
  auto ref = make("ref");
  for (const Row& row : rows) {
    SCOPED_TRACE(row.model);
    auto convert = make(fmt::format("convert:onnx-version@{}", row.target));
    const onnx::ModelProto model = text_model(row.model);
    const RunResult result = convert->run(ModelUnderTest::from_proto(model), inputs_for(model));
    EXPECT_EQ(result.status, RunStatus::kUnsupported) << result.message;
    std::vector<Execution*> executions{ref.get(), convert.get()};
    const Evaluation eval = evaluate_model(model, inputs_for(model), executions, OracleConfig{});
    EXPECT_TRUE(eval.verdicts.empty()) << eval.verdicts.front().message;
  }
  EXPECT_TRUE(is_unsupported_conversion("No Adapter To Version $5 for Cast"));
  EXPECT_FALSE(is_unsupported_conversion("vector::_M_range_check"));
}

TEST(ConvertOnnxVersion, PlantedConverterFaultsAreFound) {
  struct Row {
    const char* planted;
    VerdictKind kind;
  };
  const Row rows[] = {
      {"swap=Sub", VerdictKind::kNumeric},    // a silently changed meaning
      {"throw=Sub", VerdictKind::kRejection},  // an exception on a supported model
      {"crash=Sub", VerdictKind::kCrash},      // a segfault inside the converter
  };
  const onnx::ModelProto model = text_model(kSubRelu);
  const TensorMap inputs = inputs_for(model);
  auto ref = make("ref");
  auto convert = make("convert:onnx-version@15");
  for (const Row& row : rows) {
    SCOPED_TRACE(row.planted);
    PlantedConverter planted(row.planted);
    std::vector<Execution*> executions{convert.get(), ref.get()};
    const Evaluation eval = evaluate_model(model, inputs, executions, OracleConfig{});
    ASSERT_EQ(eval.verdicts.size(), 1u);
    EXPECT_EQ(eval.verdicts[0].kind, row.kind) << eval.verdicts[0].message;
    EXPECT_EQ(eval.verdicts[0].execution, "convert:onnx-version@15");
  }
  // Without a planted fault the same model passes.
  std::vector<Execution*> executions{ref.get(), convert.get()};
  EXPECT_TRUE(evaluate_model(model, inputs, executions, OracleConfig{}).verdicts.empty());
}

TEST(ConvertOnnxVersion, ConvertedModelFailingTheCheckerIsARejection) {
  PlantedConverter planted("invalid=Sub");
  const onnx::ModelProto model = text_model(kSubRelu);
  auto ref = make("ref");
  auto convert = make("convert:onnx-version@15");
  std::vector<Execution*> executions{ref.get(), convert.get()};
  const Evaluation eval = evaluate_model(model, inputs_for(model), executions, OracleConfig{});
  ASSERT_EQ(eval.verdicts.size(), 1u);
  EXPECT_EQ(eval.verdicts[0].kind, VerdictKind::kRejection);
  EXPECT_NE(eval.verdicts[0].evidence.find("converted model fails the ONNX checker"),
            std::string::npos)
      << eval.verdicts[0].evidence;
  EXPECT_EQ(convert_opset("not a model", 13, {}).status, ConversionStatus::kError);
}

// With --after X the converter is judged against X on the original model, whatever the common
// baseline: planted's Sqrt fault shows on planted and on the converted model run on planted,
// and only planted gets the finding.
TEST(ConvertOnnxVersion, AfterExecutionIsTheBaselineOfTheConverter) {
  const onnx::ModelProto model = text_model(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[2,3] y) {
  a = Abs(x)
  y = Sqrt(a)
}
)");
  const TensorMap inputs = inputs_for(model);
  auto ref = make("ref");
  auto planted = make("planted");
  auto convert = make("convert:onnx-version@13", "planted");
  ASSERT_EQ(convert->name(), "convert:onnx-version@13+planted");
  std::vector<std::vector<Execution*>> orders = {{ref.get(), planted.get(), convert.get()},
                                                 {convert.get(), planted.get(), ref.get()},
                                                 {planted.get(), convert.get()},
                                                 {convert.get(), planted.get()}};
  for (const auto& executions : orders) {
    SCOPED_TRACE(executions.front()->name() + " first, " + std::to_string(executions.size()));
    const Evaluation eval = evaluate_model(model, inputs, executions, OracleConfig{});
    for (const auto& v : eval.verdicts) {
      EXPECT_EQ(v.execution, "planted") << verdict_kind_name(v.kind) << " " << v.message;
    }
    EXPECT_EQ(eval.verdicts.size(), executions.size() == 3 ? 1u : 0u);
  }
  // A planted converter fault is still blamed on the converter, against planted.
  PlantedConverter fault("swap=Sub");
  const onnx::ModelProto sub = text_model(kSubRelu);
  auto convert_up = make("convert:onnx-version@15", "planted");
  std::vector<Execution*> executions{convert_up.get(), planted.get()};
  const Evaluation eval = evaluate_model(sub, inputs_for(sub), executions, OracleConfig{});
  ASSERT_EQ(eval.verdicts.size(), 1u);
  EXPECT_EQ(eval.verdicts[0].execution, "convert:onnx-version@15+planted");
  EXPECT_EQ(eval.verdicts[0].baseline, "planted");
}

// --after ort: the converted model runs on ORT and is judged against ORT on the original
// model, which joins the executions; a planted converter fault is the converter's, vs ort.
TEST(ConvertOnnxVersionCli, AfterOrtIsJudgedAgainstOrtOnTheOriginal) {
  TempDir dir;
  auto model = parse_model_text(kSubRelu);
  ASSERT_TRUE(model);
  testing::write_file(dir.path() / "m.onnx", serialize_model(*model));
  const std::string run = "run " + dir.str("m.onnx") + " --executions convert:onnx-version@15";
  auto passed = run_onnxfuzz(run + " --after ort");
  ASSERT_EQ(passed.exit_code, 0) << passed.output;
  EXPECT_NE(passed.output.find("convert:onnx-version@15+ort ok"), std::string::npos);
  EXPECT_NE(passed.output.find("  ort "), std::string::npos) << passed.output;
  EXPECT_NE(passed.output.find("(outputs compared with ort)"), std::string::npos);
  auto planted = run_onnxfuzz(run + ",ref --after ort", "ONNXFUZZ_PLANTED_CONVERT=swap=Sub");
  EXPECT_EQ(planted.exit_code, 1) << planted.output;
  EXPECT_NE(planted.output.find("verdict: numeric on convert:onnx-version@15+ort (vs ort)"),
            std::string::npos)
      << planted.output;
  EXPECT_EQ(planted.output.find("verdict: numeric on ort"), std::string::npos);
}

TEST(ConvertOnnxVersionCli, AfterFlagAddsThePairAndBadNamesAreUsageErrors) {
  TempDir dir;
  auto model = parse_model_text(kSubRelu);
  ASSERT_TRUE(model);
  testing::write_file(dir.path() / "m.onnx", serialize_model(*model));
  const std::string path = dir.str("m.onnx");
  auto passed = run_onnxfuzz("run " + path + " --executions convert:onnx-version@15");
  EXPECT_EQ(passed.exit_code, 0) << passed.output;
  EXPECT_NE(passed.output.find("convert:onnx-version@15 ok"), std::string::npos);
  EXPECT_NE(passed.output.find("  ref "), std::string::npos);  // added as the pair
  auto after = run_onnxfuzz("run " + path + " --executions convert:onnx-version@15 --after planted",
                            "ONNXFUZZ_PLANTED=");
  EXPECT_EQ(after.exit_code, 0) << after.output;
  EXPECT_NE(after.output.find("convert:onnx-version@15+planted ok"), std::string::npos);
  EXPECT_NE(after.output.find("(outputs compared with planted)"), std::string::npos);
  auto planted = run_onnxfuzz("run " + path + " --executions ref,convert:onnx-version@15",
                              "ONNXFUZZ_PLANTED_CONVERT=swap=Sub");
  EXPECT_EQ(planted.exit_code, 1) << planted.output;
  EXPECT_NE(planted.output.find("verdict: numeric on convert:onnx-version@15 (vs ref)"),
            std::string::npos)
      << planted.output;
  for (const char* args : {"--executions convert:onnx-version@99",
                           "--executions convert:onnx-version@13 --after bogus",
                           "--executions convert:onnx-version@13 --after convert:onnx-version@12",
                           "--executions convert:onnx-version@13+nothing"}) {
    SCOPED_TRACE(args);
    auto bad = run_onnxfuzz(fmt::format("run {} {}", path, args));
    EXPECT_EQ(bad.exit_code, 2) << bad.output;
  }
  auto help = run_onnxfuzz("run --help");
  EXPECT_NE(help.output.find("convert:onnx-version@N"), std::string::npos);
  EXPECT_NE(help.output.find("--after"), std::string::npos);
}

}  // namespace
}  // namespace onnxfuzz
