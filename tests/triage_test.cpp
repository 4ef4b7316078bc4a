// Triage by root cause: message cores, planted faults with different neighbours grouped into
// one cause through real campaigns, hit counts in findings.jsonl, n-gram scores, bad input.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/defs/printer.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "fuzzer/triage.h"
#include "oracles/execution.h"
#include "fuzzer/localize.h"
#include "generators/model_io.h"
#include "generators/rng.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

using testing::run_onnxfuzz;
using testing::TempDir;
namespace fs = std::filesystem;

CaseRecord record_of(VerdictKind kind, const std::string& message) {
  CaseRecord record;
  record.kind = kind;
  record.execution = "ort";
  record.executions = {"ref", "ort"};
  record.message = message;
  return record;
}

onnx::ModelProto model_of(const std::string& text) {
  auto model = parse_model_text(text);
  EXPECT_TRUE(model) << model.error();
  return model ? *model : onnx::ModelProto();
}

const char* const kGemmTranspose = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,2] a, float[2,2] b) => (float[2,2] y) {
  t = Transpose(a)
  y = Gemm(t, b)
}
)";
const char* const kTransposeGemmTranspose = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,2] a, float[2,2] b) => (float[2,2] y) {
  t = Transpose(a)
  g1 = Gemm(t, b)
  y = Transpose(g1)
}
)";
const char* const kReluSigmoid = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,2] a) => (float[2,2] y) {
  r = Relu(a)
  y = Sigmoid(r)
}
)";

// Messages as ORT words them (normalized): one failing check reached through different paths
// and named ops, cut at different lengths.
TEST(RootCause, MessagesOfOneCheckShareAKeyAndNamedOpsSplitThem) {
  const auto model = model_of(kGemmTranspose);
  auto key = [&](VerdictKind kind, const std::string& message) {
    return root_cause(record_of(kind, message), model).key;
  };
  const std::string fused_bias =
      "Non-zero status code returned while running FusedGemm node. Name:'_' Status Message: "
      "Gemm: Invalid bias shape for broadcast";
  const std::string bias =
      "Non-zero status code returned while running Gemm node. Name:'_' Status Message: Gemm: "
      "Invalid bias shape for broadcast";
  const std::string init_bias = "Gemm: Invalid bias shape for broadcast";
  EXPECT_EQ(key(VerdictKind::kRejection, fused_bias), key(VerdictKind::kRejection, bias));
  EXPECT_EQ(key(VerdictKind::kRejection, init_bias), key(VerdictKind::kRejection, bias));
  EXPECT_EQ(key(VerdictKind::kRejection, "GEMM: Dimension mismatch, W: {N,N} K: N N:N"),
            key(VerdictKind::kRejection,
                "Non-zero status code returned while running Gemm node. Name:'_' Status "
                "Message: GEMM: Dimension mismatch, W: {N,N} K: N N:N"));
  EXPECT_NE(key(VerdictKind::kRejection, init_bias),
            key(VerdictKind::kRejection, "GEMM: Dimension mismatch, W: {N,N} K: N N:N"));
  const std::string add_init =
      "Non-zero status code returned while running Add node. Name:'_' Status Message: "
      "<path>:N void onnxruntime::BroadcastIterator::Init(ptrdiff_";
  const std::string add_init_longer =
      "Non-zero status code returned while running Add node. Name:'_' Status Message: "
      "<path>:N void onnxruntime::BroadcastIterator::Init(ptrdiff_t, ptrdiff_t) axis";
  const std::string mul_init =
      "Non-zero status code returned while running Mul node. Name:'_' Status Message: "
      "<path>:N void onnxruntime::BroadcastIterator::Init(ptrdiff_t,";
  EXPECT_EQ(key(VerdictKind::kRejection, add_init), key(VerdictKind::kRejection, add_init_longer));
  // Cut at 160 characters after prefixes of different lengths.
  EXPECT_EQ(key(VerdictKind::kRejection,
                "Non-zero status code returned while running Conv node. Name:'_' Status Message: "
                "Dilation not supported for AutoPadType::SAME_UPPER or AutoPadType::SAME_LOWER."),
            key(VerdictKind::kRejection,
                "Non-zero status code returned while running FusedConv node. Name:'_' Status "
                "Message: Dilation not supported for AutoPadType::SAME_UPPER or AutoPadType::SAME_LOW"));
  EXPECT_NE(key(VerdictKind::kRejection, add_init), key(VerdictKind::kRejection, mul_init));
  EXPECT_EQ(key(VerdictKind::kRejection,
                "Node (nN_Pow) Op (Pow) [ShapeInferenceError] Incompatible dimensions"),
            key(VerdictKind::kRejection,
                "Node (nN_Pow_N) Op (Pow) [ShapeInferenceError] Incompatible dimensions"));
  EXPECT_NE(key(VerdictKind::kRejection,
                "Node (nN_Pow) Op (Pow) [ShapeInferenceError] Incompatible dimensions"),
            key(VerdictKind::kRejection,
                "Node (nN_Mul) Op (Mul) [ShapeInferenceError] Incompatible dimensions"));
  // Every segfault says SIGSEGV: the set of ops tells them apart, not their order or count.
  const auto crash = record_of(VerdictKind::kCrash, "worker died: SIGSEGV");
  EXPECT_EQ(root_cause(crash, model_of(kGemmTranspose)).key,
            root_cause(crash, model_of(kTransposeGemmTranspose)).key);
  EXPECT_NE(root_cause(crash, model_of(kGemmTranspose)).key,
            root_cause(crash, model_of(kReluSigmoid)).key);
  // Another kind or execution is another cause.
  auto on_web = record_of(VerdictKind::kRejection, init_bias);
  on_web.execution = "ort-web";
  EXPECT_NE(root_cause(on_web, model).key, key(VerdictKind::kRejection, init_bias));
}

TEST(RootCause, NumericCoreIsTheLocalizedOrSingleNodeAndItsRewrites) {
  auto numeric = record_of(VerdictKind::kNumeric, "values differ from ref");
  const auto single = root_cause(numeric, model_of(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] a) => (float[3,2] y) {
  y = Transpose<perm = [1, 0]>(a)
}
)"));
  EXPECT_EQ(single.basis, "single-op");
  EXPECT_EQ(single.key, "numeric|ort|Transpose(float32)");
  // List attributes grow with the rank: they are not in the key.
  EXPECT_EQ(single.key, root_cause(numeric, model_of(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3,4] a) => (float[4,3,2] y) {
  y = Transpose<perm = [2, 1, 0]>(a)
}
)")).key);
  const auto gemm = model_of(kTransposeGemmTranspose);
  EXPECT_EQ(root_cause(numeric, gemm).basis, "op-sequence");
  Localization localized;
  localized.status = LocalizationStatus::kLocalized;
  localized.node_index = 1;
  const auto at_gemm = root_cause(numeric, gemm, &localized);
  EXPECT_EQ(at_gemm.basis, "localized");
  EXPECT_EQ(at_gemm.key, "numeric|ort|Gemm(float32,float32)");
  EXPECT_EQ(at_gemm.key, root_cause(numeric, model_of(kGemmTranspose), &localized).key);
  auto optimized = numeric;
  optimized.artifacts["ort-optimized"].notes["rewrites"] = {"GemmTransposeFusion"};
  EXPECT_EQ(root_cause(optimized, gemm, &localized).key,
            "numeric|ort|Gemm(float32,float32)|rewrites:GemmTransposeFusion");
}

// A node localized as computed at float32 precision is one cause whatever its attributes.
TEST(RootCause, ANodeComputedAtFloat32PrecisionIsOneCauseWhateverItsAttributes) {
  auto numeric = record_of(VerdictKind::kNumeric, "values differ from ref");
  Localization precision;
  precision.status = LocalizationStatus::kLocalized;
  precision.node_index = 0;
  precision.evidence = "precision";
  const char* kShrinkMatMul = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (double[2,2] x, double[2,1] w) => (double[2,1] z) {
  s = Shrink<bias = %s>(x)
  z = MatMul(s, w)
}
)";
  auto model = [&](const char* bias) {
    std::string text(kShrinkMatMul);
    text.replace(text.find("%s"), 2, bias);
    return model_of(text);
  };
  const auto one = root_cause(numeric, model("1.0"), &precision);
  EXPECT_EQ(one.key, "numeric|ort|Shrink(float64) at float32 precision");
  EXPECT_EQ(one.key, root_cause(numeric, model("3.0"), &precision).key);
  // Named by a replay instead, the attribute values stay in the key.
  Localization replay = precision;
  replay.evidence = "replay";
  EXPECT_NE(root_cause(numeric, model("1.0"), &replay).key,
            root_cause(numeric, model("3.0"), &replay).key);
}

// A rejection traced to a misshapen value upstream is that node's shape finding, whatever the
// consumer whose check then failed; untraced, each consumer's message is its own cause.
TEST(RootCause, RejectionTracedUpstreamIsTheDivergentNodesFinding) {
  const auto single = root_cause(record_of(VerdictKind::kShape, "shapes differ from ref"),
                                 model_of(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] a) => (float[2,3] y) {
  y = Relu(a)
}
)"));
  EXPECT_EQ(single.key, "shape|ort|Relu(float32)");
  Localization traced;
  traced.status = LocalizationStatus::kLocalized;
  traced.node_index = 0;
  traced.failing_node = 1;
  traced.output.agrees = false;
  traced.output.shape_differs = true;
  for (const auto& [op, message] : {std::pair{"Add", "Add: planted input check: shapes do not match"},
                                    std::pair{"Mul", "Mul: Broadcaster: incompatible dims"}}) {
    SCOPED_TRACE(op);
    const auto model = model_of(fmt::format(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] a) => (float[2,3] y) {{
  r = Relu(a)
  y = {}(r, a)
}}
)", op));
    const auto rejection = record_of(VerdictKind::kRejection, message);
    const auto cause = root_cause(rejection, model, &traced);
    EXPECT_EQ(cause.key, single.key);
    EXPECT_EQ(cause.kind, VerdictKind::kShape);
    EXPECT_EQ(cause.basis, "upstream");
    // Not traced (the consumer's inputs agree): the message is the cause.
    Localization own;
    own.status = LocalizationStatus::kNoDivergence;
    own.failing_node = 1;
    EXPECT_EQ(root_cause(rejection, model, &own).basis, "message");
    EXPECT_EQ(root_cause(rejection, model, &own).kind, VerdictKind::kRejection);
  }
  // A numeric divergence upstream makes it a numeric cause.
  traced.output.shape_differs = false;
  EXPECT_EQ(root_cause(record_of(VerdictKind::kRejection, "Add: index out of range"),
                       model_of(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] a) => (float[2,3] y) {
  r = Relu(a)
  y = Add(r, a)
}
)"), &traced).key,
            "numeric|ort|Relu(float32)");
}

TEST(RootCause, NgramsAreDistinctPerModel) {
  EXPECT_EQ(op_ngrams({"A", "B", "A", "B"}),
            (std::set<std::string>{"A", "B", "A>B", "B>A", "A>B>A", "B>A>B"}));
  NgramCounts counts;
  counts.add({"A", "A"});
  counts.add({"B"});
  EXPECT_EQ(counts.models(), 2);
  EXPECT_EQ(counts.counts().at("A"), 1);
  EXPECT_EQ(counts.counts().at("A>A"), 1);
  NgramCounts merged;
  ASSERT_TRUE(merged.merge_json(counts.to_json()));
  ASSERT_TRUE(merged.merge_json(counts.to_json()));
  EXPECT_EQ(merged.models(), 4);
  EXPECT_EQ(merged.counts().at("B"), 2);
  EXPECT_FALSE(merged.merge_json(nlohmann::json::array()));
}

// Past its bound the sample is thinned: memory stays bounded, and an n-gram's share of the
// models (what the analysis compares) stays close to its share before thinning.
TEST(RootCause, NgramSampleIsBoundedAndKeepsShares) {
  NgramCounts counts(/*max_entries=*/2000);
  Rng rng(11);
  const std::vector<std::string> ops = {"A", "B", "C", "D", "E", "F", "G", "H", "I", "J",
                                        "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T"};
  for (int m = 0; m < 20000; ++m) {
    std::vector<std::string> seq = {"Common"};  // in every model
    if (m % 4 == 0) seq.push_back("Quarter");    // in one model of four
    for (int k = 0; k < 4; ++k) seq.push_back(rng.pick(ops));
    counts.add(seq);
    ASSERT_LE(counts.counts().size(), 2000u);
  }
  EXPECT_GT(counts.thinned(), 0);
  const double models = static_cast<double>(counts.models());
  EXPECT_NEAR(counts.counts().at("Common") / models, 1.0, 0.05);
  EXPECT_NEAR(counts.counts().at("Quarter") / models, 0.25, 0.05);
  // The thinning is recorded, and survives a save/load round trip.
  NgramCounts reloaded(2000);
  ASSERT_TRUE(reloaded.merge_json(counts.to_json()));
  EXPECT_EQ(reloaded.thinned(), counts.thinned());
  EXPECT_EQ(reloaded.models(), counts.models());
}

std::vector<nlohmann::json> journal_lines(const fs::path& out) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(out / "findings.jsonl");
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

int case_count(const fs::path& out) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(out / "cases"))
    n += entry.path().filename().string()[0] != '.';
  return n;
}

// Unminimized campaigns against the planted worker: every failing model keeps its innocent
// neighbours, and the campaign stores one case per root cause.
struct Campaign {
  const char* ops;
  int seed;
};

TEST(Triage, PlantedFaultsWithDifferentNeighboursAreOneRootCauseEachAndHitsCount) {
  TempDir tmp;
  const Campaign campaigns[] = {
      {"Sqrt,Relu,Add,Mul,Abs", 3},
      {"Sqrt,Relu,Add,Mul,Abs", 4},
      {"Transpose,Relu,Add,Neg", 5},
  };
  std::vector<std::string> outs;
  std::set<std::string> numeric_sequences;
  int64_t numeric_lines = 0;
  for (const auto& c : campaigns) {
    SCOPED_TRACE(fmt::format("{} seed {}", c.ops, c.seed));
    const std::string out = tmp.str(fmt::format("out-{}", c.seed));
    outs.push_back(out);
    auto result = run_onnxfuzz(fmt::format(
        "fuzz --jobs 1 --iterations 25 --seed {} --max-nodes 5 --ngram-sample 1 --executions ref,planted --ops {} "
        "--dtypes float32 --no-minimize --no-status --out {}",
        c.seed, c.ops, out));
    ASSERT_EQ(result.exit_code, 1) << result.output;
    // One root cause, one case, whatever the neighbours of the hits.
    EXPECT_EQ(case_count(out), 1) << result.output;
    const auto lines = journal_lines(out);
    std::set<std::string> causes, sequences;
    for (const auto& line : lines) {
      ASSERT_TRUE(line.contains("root_cause")) << line.dump();
      causes.insert(line["root_cause"].get<std::string>());
      sequences.insert(fmt::format("{}", fmt::join(line["model_ops"], ">")));
    }
    EXPECT_EQ(causes.size(), 1u) << fmt::format("{}", fmt::join(causes, "\n"));
    EXPECT_GE(sequences.size(), 3u) << "too few distinct failing models to show grouping";
    const std::string fault = c.seed == 5 ? "Transpose(float32)" : "Sqrt(float32)";
    EXPECT_NE(causes.begin()->find(fault), std::string::npos) << *causes.begin();
    if (c.seed != 5) {
      numeric_lines += static_cast<int64_t>(lines.size());
      for (const auto& entry : fs::directory_iterator(fs::path(out) / "cases")) {
        auto record = read_case_record(entry.path().string());
        ASSERT_TRUE(record) << record.error();
        numeric_sequences.insert(fmt::format("{}", fmt::join(record->ops, ">")));
      }
    }
    auto ngrams = nlohmann::json::parse(testing::read_file(fs::path(out) / "ngrams.json"));
    EXPECT_GT(ngrams["models"].get<int>(), 0);
    // Distinct signatures (the neighbours) outnumber the one root cause the campaign stored.
    auto stats = nlohmann::json::parse(testing::read_file(fs::path(out) / "stats.json"));
    EXPECT_EQ(stats["unique"].get<int64_t>(), 1);
    EXPECT_GT(stats["signatures"].get<int64_t>(), stats["unique"].get<int64_t>());
  }
  ASSERT_EQ(numeric_sequences.size(), 2u) << "the two Sqrt campaigns kept the same model";

  // Across the campaigns: the two Sqrt cases (different neighbours) are one cause, Transpose
  // another; hits are every journal line.
  auto result = run_onnxfuzz(fmt::format("triage {} --localize --json", fmt::join(outs, " ")));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto report = nlohmann::json::parse(result.output.substr(result.output.find('{')));
  EXPECT_EQ(report["cases"], 3);
  ASSERT_EQ(report["root_causes"], 2) << report.dump(2);
  // Ranked: shape before numeric.
  EXPECT_EQ(report["groups"][0]["kind"], "shape");
  EXPECT_EQ(report["groups"][1]["kind"], "numeric");
  EXPECT_EQ(report["groups"][1]["key"], "numeric|planted|Sqrt(float32)");
  EXPECT_EQ(report["groups"][1]["basis"], "localized");
  EXPECT_EQ(report["groups"][1]["cases"].size(), 2u);
  EXPECT_EQ(report["groups"][1]["hits"], numeric_lines);
  EXPECT_GE(report["groups"][1]["distinct_models"].get<int>(), 3);

  // The faulty ops' n-grams rank first: every top n-gram holds Sqrt or Transpose, and the
  // unigram Sqrt outscores every n-gram of innocent ops only.
  ASSERT_FALSE(report["ngrams"].empty());
  double sqrt_score = 0, best_innocent = -1e9;
  for (const auto& gram : report["ngrams"]) {
    const std::string text = gram["ngram"];
    if (text == "Sqrt") sqrt_score = gram["score"];
    if (text.find("Sqrt") == std::string::npos && text.find("Transpose") == std::string::npos)
      best_innocent = std::max(best_innocent, gram["score"].get<double>());
  }
  const std::string top = report["ngrams"][0]["ngram"];
  EXPECT_TRUE(top.find("Sqrt") != std::string::npos || top.find("Transpose") != std::string::npos)
      << report["ngrams"].dump(2);
  EXPECT_GT(sqrt_score, best_innocent) << report["ngrams"].dump(2);

  // The table says the same.
  auto table = run_onnxfuzz(fmt::format("triage {} --localize", fmt::join(outs, " ")));
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("2 root causes in 3 cases"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("Sqrt(float32)"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("over-represented"), std::string::npos) << table.output;

  // Without --localize, unminimized multi-node cases fall back to their op sequences.
  auto unlocalized = run_onnxfuzz(fmt::format("triage {} --json", fmt::join(outs, " ")));
  ASSERT_EQ(unlocalized.exit_code, 0) << unlocalized.output;
  EXPECT_EQ(nlohmann::json::parse(unlocalized.output)["root_causes"], 3);
}

// One planted bug upstream (Relu's output misshapen), an error in whichever op consumes it: the
// campaign stores one case, the smallest (Relu's shape finding), and counts every consumer's
// rejection toward it.
TEST(Triage, ConsumersErrorsFromOneMisshapenOpAreOneRootCause) {
  TempDir tmp;
  const std::string out = tmp.str("out");
  auto result = run_onnxfuzz(
      "fuzz --jobs 1 --iterations 40 --seed 7 --max-nodes 4 --executions ref,planted "
      "--ops Relu,Add,Mul,Sub --dtypes float32 --no-status --out " + out,
      "ONNXFUZZ_PLANTED=misshape=Relu");
  ASSERT_EQ(result.exit_code, 1) << result.output;
  std::set<std::string> causes, rejecting_ops;
  for (const auto& line : journal_lines(out)) {
    ASSERT_TRUE(line.contains("root_cause")) << line.dump();
    causes.insert(line["root_cause"].get<std::string>());
    const std::string message = line.value("message", "");
    if (line["kind"] == "rejection") rejecting_ops.insert(message.substr(0, message.find(':')));
  }
  // Several consumers failed, each with its own message...
  EXPECT_GE(rejecting_ops.size(), 2u) << fmt::format("{}", fmt::join(rejecting_ops, ", "));
  // ... and all of it is Relu's shape bug, stored once.
  EXPECT_EQ(causes, std::set<std::string>{"shape|planted|Relu(float32)"})
      << fmt::format("{}", fmt::join(causes, "\n"));
  ASSERT_EQ(case_count(out), 1) << result.output;
  // The case kept is the smallest reproducer, Relu's own shape finding, though a consumer's
  // rejection was stored first (this seed's first finding) and then replaced.
  EXPECT_NE(result.output.find("a smaller reproducer of the same root cause"), std::string::npos)
      << result.output;
  for (const auto& entry : fs::directory_iterator(fs::path(out) / "cases")) {
    if (entry.path().filename().string()[0] == '.') continue;
    auto record = read_case_record(entry.path().string());
    ASSERT_TRUE(record) << record.error();
    EXPECT_EQ(record->kind, VerdictKind::kShape);
    EXPECT_EQ(record->ops, std::vector<std::string>{"Relu"});
  }

  auto triage = run_onnxfuzz("triage " + out + " --localize --json", "ONNXFUZZ_PLANTED=misshape=Relu");
  ASSERT_EQ(triage.exit_code, 0) << triage.output;
  const auto report = nlohmann::json::parse(triage.output.substr(triage.output.find('{')));
  ASSERT_EQ(report["root_causes"], 1) << report.dump(2);
  EXPECT_EQ(report["groups"][0]["key"], "shape|planted|Relu(float32)");
}

// A case another instance replaced with a smaller reproducer no longer counts in this
// instance's statistics: the first campaign stores a consumer's rejection, a second instance on
// the same output replaces it with Relu's own shape finding, and the first, resumed, counts one
// case (the shape finding it absorbs), not two.
TEST(Triage, CaseReplacedByAnotherInstanceIsNoLongerCounted) {
  TempDir tmp;
  const std::string out = tmp.str("out");
  const std::string env = "ONNXFUZZ_PLANTED=misshape=Relu";
  const std::string common =
      " --seed 7 --max-nodes 4 --executions ref,planted --ops Relu,Add,Mul,Sub --dtypes float32 "
      "--no-status --out " + out;
  auto first = run_onnxfuzz("fuzz --jobs 1 --iterations 6" + common, env);
  ASSERT_EQ(first.exit_code, 1) << first.output;
  std::vector<std::string> ids;
  for (const auto& entry : fs::directory_iterator(fs::path(out) / "cases")) {
    ids.push_back(entry.path().filename().string());
  }
  ASSERT_EQ(ids.size(), 1u);
  ASSERT_TRUE(ids[0].starts_with("rejection-planted-")) << ids[0];

  // No new root cause (exit 0): a better reproducer of a known one.
  auto second = run_onnxfuzz("fuzz --jobs 2 --instance 1 --iterations 40" + common, env);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  ASSERT_NE(second.output.find("replacing " + ids[0]), std::string::npos) << second.output;
  ASSERT_EQ(case_count(out), 1);

  auto resumed = run_onnxfuzz("fuzz --resume --out " + out, env);
  ASSERT_TRUE(resumed.exit_code == 0 || resumed.exit_code == 1) << resumed.output;
  std::istringstream csv(testing::read_file(fs::path(out) / "stats.csv"));
  std::string header, line, last;
  std::getline(csv, header);
  while (std::getline(csv, line)) last = line;
  const auto column = [](const std::string& text, const std::string& name, const std::string& row) {
    std::vector<std::string> names, values;
    std::istringstream a(text), b(row);
    for (std::string f; std::getline(a, f, ',');) names.push_back(f);
    for (std::string f; std::getline(b, f, ',');) values.push_back(f);
    const size_t at = std::ranges::find(names, name) - names.begin();
    return at < values.size() ? values[at] : std::string();
  };
  EXPECT_EQ(column(header, "cases", last), "1") << last;
}

// Root causes at one op in different dtypes are listed together as that op's family; an op
// with one cause is not. A node's empty input is said in its core, not keyed.
TEST(Triage, OpsWithSeveralRootCausesAreListedTogether) {
  TempDir tmp;
  // One campaign per dtype: within one, the float64 case's signature (its op sequence) is the
  // float32 one's, so only one would be stored.
  const std::string env = "ONNXFUZZ_PLANTED=shape=Relu,value=Neg:float32";
  std::string outs;
  for (const char* dtype : {"float32", "float64"}) {
    const std::string out = tmp.str(dtype);
    auto result = run_onnxfuzz(
        fmt::format("fuzz --jobs 1 --iterations 40 --seed 3 --max-nodes 3 --executions "
                    "ref,planted --ops Relu,Neg,Add --dtypes {} --no-status --out {}",
                    dtype, out),
        env);
    ASSERT_EQ(result.exit_code, 1) << result.output;
    outs += " " + out;
  }
  auto triage = run_onnxfuzz("triage" + outs + " --localize --json", env);
  ASSERT_EQ(triage.exit_code, 0) << triage.output;
  const auto report = nlohmann::json::parse(triage.output.substr(triage.output.find('{')));
  std::set<std::string> keys;
  for (const auto& g : report["groups"]) keys.insert(g["key"].get<std::string>());
  ASSERT_TRUE(keys.contains("shape|planted|Relu(float32)")) << report.dump(2);
  ASSERT_TRUE(keys.contains("shape|planted|Relu(float64)")) << report.dump(2);
  ASSERT_TRUE(keys.contains("numeric|planted|Neg(float32)")) << report.dump(2);
  ASSERT_EQ(report["op_families"].size(), 1u) << report["op_families"].dump(2);
  const auto& family = report["op_families"][0];
  EXPECT_EQ(family["op"], "Relu");
  EXPECT_EQ(family["kind"], "shape");
  EXPECT_EQ(family["root_causes"].size(), 2u);
  auto table = run_onnxfuzz("triage" + outs + " --localize", env);
  EXPECT_NE(table.output.find("ops with several root causes"), std::string::npos) << table.output;

  const auto empty = root_cause(record_of(VerdictKind::kShape, "shapes differ"), model_of(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[0,3] a) => (float[0,3] y) {
  y = Relu(a)
}
)"));
  EXPECT_NE(empty.core.find("empty input"), std::string::npos) << empty.core;
  EXPECT_NE(empty.core.find("Relu(float32)"), std::string::npos) << empty.core;
  // On an empty input the op is the cause, whatever its dtypes and attributes.
  EXPECT_EQ(empty.key, "shape|ort|Relu(empty input)");
  EXPECT_EQ(empty.op, "Relu");
  const auto empty_reduce = [&](const char* type, int keepdims) {
    return root_cause(record_of(VerdictKind::kShape, "shapes differ"),
                      model_of(fmt::format(R"(
<ir_version: 8, opset_import: ["" : 17]>
g ({0}[2,0,3] a, int64[1] ax) => ({0}[2,1,3] y) {{
  y = ReduceL1<keepdims = {1}>(a, ax)
}}
)",
                                           type, keepdims)))
        .key;
  };
  EXPECT_EQ(empty_reduce("float", 1), "shape|ort|ReduceL1(empty input)");
  EXPECT_EQ(empty_reduce("int64", 0), empty_reduce("float", 1));
  EXPECT_EQ(empty_reduce("float16", 1), empty_reduce("float", 1));
  EXPECT_EQ(root_cause(record_of(VerdictKind::kShape, "shapes differ"), model_of(kReluSigmoid))
                .core.find("empty input"),
            std::string::npos);
}

// The widened model computes float16 as float32: tanh(3.2734375) is 0.99707 once rounded to
// float16 but 0.997135 in float32 (hand-checked), and 0.0268555 == tanh(0.0268555) holds in
// float16 only. Values, initializers, cast targets and inputs are widened; bool stays.
TEST(HalfPrecision, WideningComputesHalfValuesInFloat32) {
  auto model = model_of(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float16[2] x) => (double[2] y, bool[2] same, float16[2] z) {
  t = Tanh(x)
  y = Cast<to = 11>(t)
  same = Equal(x, t)
  h = Cast<to = 10>(y)
  z = Add(h, c)
}
)");
  Tensor c = Tensor::zeros(DType::kFloat16, {2});
  c.set_double(0, 1);
  c.set_double(1, 2);
  *model.mutable_graph()->add_initializer() = tensor_to_proto(c, "c");
  Tensor x = Tensor::zeros(DType::kFloat16, {2});
  x.set_double(0, 3.27344);
  x.set_double(1, 0.0268555);
  const TensorMap inputs{{"x", x}};
  auto ref = make_execution("ref", {});
  ASSERT_TRUE(ref.has_value()) << ref.error();
  const RunResult plain = (*ref)->run(ModelUnderTest::view(model), inputs);
  ASSERT_EQ(plain.status, RunStatus::kOk) << plain.message;
  EXPECT_NEAR(plain.outputs.at("y").as_double(0), 0.997070312, 1e-9);
  EXPECT_EQ(plain.outputs.at("same").as_double(1), 1.0);

  const auto widened = widen_half_precision(model, inputs);
  ASSERT_TRUE(widened.has_value());
  EXPECT_EQ(widened->inputs.at("x").dtype, DType::kFloat);
  std::ostringstream printed;
  printed << widened->model.graph();
  const std::string text = printed.str();
  EXPECT_EQ(text.find("float16"), std::string::npos) << text;
  EXPECT_EQ(text.find("to = 10"), std::string::npos) << text;
  const RunResult wide = (*ref)->run(ModelUnderTest::view(widened->model), widened->inputs);
  ASSERT_EQ(wide.status, RunStatus::kOk) << wide.message;
  EXPECT_NEAR(wide.outputs.at("y").as_double(0), 0.997135, 1e-6);  // float16 rounds to 0.99707
  EXPECT_EQ(wide.outputs.at("same").as_double(1), 0.0);
  EXPECT_EQ(wide.outputs.at("z").dtype, DType::kFloat);

  // A target that ran it that way matches; the plain reference's own outputs do not; a model
  // without half precision has nothing to widen.
  EXPECT_EQ(matches_half_widened(model, inputs, plain, **ref, OracleConfig{}), false);
  RunResult as_target = wide;
  Tensor z16 = Tensor::zeros(DType::kFloat16, {2});
  for (int64_t i = 0; i < 2; ++i) z16.set_double(i, wide.outputs.at("z").as_double(i));
  as_target.outputs["z"] = z16;
  EXPECT_EQ(matches_half_widened(model, inputs, as_target, **ref, OracleConfig{}), true);
  EXPECT_FALSE(widen_half_precision(model_of(kReluSigmoid), {}).has_value());
}

// A runtime that computes float16 in float32 (planted) makes numeric findings of many op
// sequences: all are one root cause of the execution, and a real planted value fault on the
// same models stays its own.
TEST(HalfPrecision, FindingsOfComputingHalfInFloat32AreOneRootCause) {
  TempDir tmp;
  const std::string env = "ONNXFUZZ_PLANTED=value=Exp:float64 ONNXFUZZ_PLANTED_HALF=float32";
  auto result = run_onnxfuzz(
      "fuzz --jobs 1 --iterations 600 --seed 5 --max-nodes 4 --executions ref,planted --ops "
      "Tanh,Sigmoid,Exp,Sin,Cast,Equal,Less,Mul --dtypes float16,float64 --no-status --out " +
          tmp.str("out"),
      env);
  ASSERT_EQ(result.exit_code, 1) << result.output;
  std::map<std::string, int> hits;
  std::set<std::string> sequences;
  std::ifstream journal(tmp.path() / "out" / "findings.jsonl");
  for (std::string line; std::getline(journal, line);) {
    const auto entry = nlohmann::json::parse(line);
    const std::string cause = entry.value("root_cause", "");
    ++hits[cause];
    if (cause == "numeric|planted|half-precision computed in float32") {
      sequences.insert(entry["model_ops"].dump());
    }
  }
  EXPECT_GE(hits["numeric|planted|half-precision computed in float32"], 5) << result.output;
  EXPECT_GE(sequences.size(), 5u);
  EXPECT_GE(hits["numeric|planted|Exp(float64)"], 1) << result.output;
  for (const auto& [cause, n] : hits) {
    EXPECT_TRUE(cause == "numeric|planted|half-precision computed in float32" ||
                cause == "numeric|planted|Exp(float64)")
        << cause << " x" << n;
  }
  // `report` explains the half-precision case, and only that one.
  size_t explained = 0, cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(tmp.path() / "out" / "cases")) {
    auto report = run_onnxfuzz("report " + entry.path().string(), env);
    ASSERT_EQ(report.exit_code, 0) << report.output;
    const std::string md = testing::read_file(entry.path() / "report.md");
    explained += md.find("### Half precision") != std::string::npos;
    ++cases;
  }
  EXPECT_EQ(cases, 2u);
  EXPECT_EQ(explained, 1u);
}

TEST(Triage, BadInputExitCodes) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "empty" / "cases");
  struct Row {
    std::string args;
    int exit_code;
    const char* says;
  };
  const Row rows[] = {
      {"triage", 2, "at least one OUT"},
      {"triage " + tmp.str("missing"), 3, "no such directory"},
      {"triage " + tmp.str("empty"), 3, "no cases found"},
      {"triage " + tmp.str("empty") + " --top-ngrams -1", 2, "--top-ngrams"},
      {"triage " + tmp.str("empty") + " --bogus", 2, "bogus"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.args);
    auto result = run_onnxfuzz(row.args);
    EXPECT_EQ(result.exit_code, row.exit_code) << result.output;
    EXPECT_NE(result.output.find(row.says), std::string::npos) << result.output;
  }
}

}  // namespace
}  // namespace onnxfuzz
