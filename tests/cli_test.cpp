// The real CLI: help and exit codes, the bad-input table, gen determinism, run on test cases.
#include <gtest/gtest.h>

#include <filesystem>

#include "generators/model_io.h"
#include "generators/op_spec.h"
#include "generators/patterns.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

using testing::run_onnxfuzz;
using testing::TempDir;

const char* kHuge = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[100000,100000] x) => (float[100000,100000] y) {
  y = Relu(x)
}
)";

// An op of a custom domain: outside what the reference will ever run, however it grows.
const char* kUnsupported = R"(
<ir_version: 8, opset_import: ["" : 17, "com.example" : 1]>
g (float[2,3] x) => (float[2,3] z) {
  z = com.example.Frobnicate(x)
}
)";

std::string write_text_model(const TempDir& dir, const std::string& name, const char* text) {
  auto model = parse_model_text(text);
  EXPECT_TRUE(model) << model.error();
  const std::string path = dir.str(name);
  testing::write_file(path, serialize_model(*model));
  return path;
}

TEST(Cli, EverySubcommandHasHelp) {
  for (const char* command :
       {"gen", "run", "fuzz", "minimize", "replay", "mutate", "ops", "probe"}) {
    SCOPED_TRACE(command);
    auto result = run_onnxfuzz(std::string(command) + " --help");
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("usage: onnxfuzz"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("exit codes"), std::string::npos) << result.output;
  }
}

// ONNX 1.12's shape inference divides by a zero stride (SIGFPE): such a model is refused as
// invalid before inference sees it, and the process lives to say so.
TEST(Cli, ZeroStrideIsRefusedNotACrash) {
  TempDir dir;
  const std::string model = write_text_model(dir, "zero_stride.onnx", R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1,1,4,4] x, float[1,1,2,2] w) => (float[1,1,2,2] y) {
      y = Conv <strides = [0, 0]> (x, w)
    }
  )");
  for (const char* command : {"run", "minimize"}) {
    SCOPED_TRACE(command);
    auto result = run_onnxfuzz(std::string(command) + " " + model + " --executions ref");
    EXPECT_GE(result.exit_code, 1) << result.output;
    EXPECT_LE(result.exit_code, 7) << result.output;  // an exit code, not a signal
    if (std::string(command) == "run") {
      EXPECT_NE(result.output.find("attribute strides holds 0, must be >= 1"), std::string::npos)
          << result.output;
    }
  }
}

// `ops` lists exactly the registry: every registered (op, version) and every pattern.
TEST(Cli, OpsListsTheRegistry) {
  auto result = run_onnxfuzz("ops");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const auto& spec : all_op_specs()) {
    EXPECT_NE(result.output.find(spec.op_type + " "), std::string::npos) << spec.op_type;
  }
  for (const auto& p : all_patterns()) {
    EXPECT_NE(result.output.find("pattern " + std::string(p.name)), std::string::npos) << p.name;
  }
  EXPECT_NE(result.output.find(std::to_string(all_op_specs().size()) + " ops"), std::string::npos);
}

TEST(Cli, BadInputTable) {
  TempDir dir;
  const std::string good = write_text_model(dir, "good.onnx", testing::kAddRelu);
  const std::string unsupported = write_text_model(dir, "custom.onnx", kUnsupported);
  const std::string huge = write_text_model(dir, "huge.onnx", kHuge);
  const std::string bytes = testing::read_file(good);
  testing::write_file(dir.str("truncated.onnx"), bytes.substr(0, bytes.size() / 2));
  testing::write_file(dir.str("garbage.onnx"), "this is not a protobuf \xff\xff\xff");
  testing::write_file(dir.str("empty.onnx"), "");
  const std::string readonly = dir.str("readonly");
  std::filesystem::create_directories(readonly);
  std::filesystem::permissions(
      readonly, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  struct Row {
    std::string args;
    int exit_code;
    std::string message;  // must appear in the output
  };
  const std::vector<Row> rows = {
      {"run " + dir.str("missing.onnx") + " --executions ref", 3, "no such file"},
      {"run " + dir.str("truncated.onnx") + " --executions ref", 3, "corrupt or truncated"},
      {"run " + dir.str("garbage.onnx") + " --executions ref", 3, "not a valid ONNX model"},
      {"run " + dir.str("empty.onnx") + " --executions ref", 3, "empty model"},
      {"minimize " + unsupported + " --executions ref", 3,
       "unsupported op(s) for the reference, which the minimizer needs: Frobnicate"},
      {"run " + huge + " --executions ref", 3, "onnxfuzz makes random inputs up to 1 GB"},
      {"minimize " + huge + " --executions ref", 3, "onnxfuzz makes random inputs up to 1 GB"},
      {"run " + good + " --executions ref,nosuch", 2, "nosuch"},
      {"run " + good + " --bogus-flag", 2, "unknown option '--bogus-flag'"},
      {"run " + good + " --timeout abc --executions ref", 2, "--timeout"},
      {"frobnicate", 2, "unknown command 'frobnicate'"},
      {"gen --count 2", 2, "--out"},
      {"gen --count 2 --out " + dir.str("g") + " --ops Relu,NoSuchOp", 2, "NoSuchOp"},
      {"fuzz --jobs 1 --time forever --out " + dir.str("f"), 2, "--time"},
      {"fuzz --jobs 1 --iterations 1 --ops Relu --exclude-ops Relu --out " + dir.str("f"), 2, "Relu"},
      {"gen --count 1 --seed -3 --out " + dir.str("g"), 2, "--seed"},
      {"gen --count 1 --dtypes float32,float17 --out " + dir.str("g"), 2,
       "unknown dtype 'float17'; known dtypes: float32"},
      {"fuzz --jobs 1 --iterations 1 --dtypes int33 --out " + dir.str("f"), 2, "unknown dtype 'int33'"},
      {"gen --count 1 --avoid-gaps ort,nosuch --out " + dir.str("g"), 2,
       "--avoid-gaps: unknown execution 'nosuch'"},
      {"fuzz --jobs 1 --iterations 1 --minimize-per-cause -1 --out " + dir.str("f"), 2,
       "--minimize-per-cause"},
      {"gen --count 1 --edge-rate 1.5 --out " + dir.str("g"), 2, "--edge-rate"},
      {"fuzz --jobs 1 --iterations 1 --pattern-rate -0.1 --out " + dir.str("f"), 2, "--pattern-rate"},
      {"gen --count 1 --patterns --no-patterns --out " + dir.str("g"), 2, "--no-patterns"},
      {"run " + good + " --executions ref --tolerance float16=1", 2, "--tolerance"},
      {"run " + good + " --executions ref --tolerance half=1:1", 2, "unknown dtype 'half'"},
      {"run " + good + " --executions ref --atol 0.1 --tolerance float32=1:1", 2, "float32"},
      {"replay " + dir.str("nothing-here"), 3, "no such directory"},
      {"minimize " + dir.str("garbage.onnx") + " --executions ref", 3, "not a valid ONNX model"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.args);
    auto result = run_onnxfuzz(row.args);
    EXPECT_EQ(result.exit_code, row.exit_code) << result.output;
    EXPECT_NE(result.output.find(row.message), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("onnxfuzz: error:"), std::string::npos) << result.output;
  }
  if (::geteuid() != 0) {  // root ignores directory permissions
    auto result = run_onnxfuzz("fuzz --jobs 1 --iterations 1 --executions ref --out " + readonly + "/sub");
    EXPECT_EQ(result.exit_code, 4) << result.output;
    EXPECT_FALSE(std::filesystem::exists(readonly + "/sub"));
  }
  // The model files are never modified by a failing command.
  EXPECT_EQ(testing::read_file(good), bytes);
}

TEST(Cli, UnwritableOutputIsAnEnvironmentError) {
  TempDir dir;
  // A regular file where the output directory should be: unwritable even for root.
  testing::write_file(dir.str("file"), "x");
  auto result =
      run_onnxfuzz("fuzz --jobs 1 --iterations 1 --executions ref --out " + dir.str("file") + "/out");
  EXPECT_EQ(result.exit_code, 4) << result.output;
  EXPECT_NE(result.output.find("cannot create output directory"), std::string::npos)
      << result.output;
  auto gen = run_onnxfuzz("gen --count 1 --out " + dir.str("file") + "/out");
  EXPECT_EQ(gen.exit_code, 4) << gen.output;
}

TEST(Cli, MissingNodeIsAnEnvironmentErrorBeforeAnyModelRuns) {
  TempDir dir;
  auto result = run_onnxfuzz("fuzz --jobs 1 --iterations 3 --executions ref,ort --out " + dir.str("out"),
                             "PATH=/nonexistent");
  EXPECT_EQ(result.exit_code, 4) << result.output;
  EXPECT_NE(result.output.find("`node` is not on PATH"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "out"));
}

TEST(Cli, GenIsDeterministicPerSeed) {
  TempDir dir;
  ASSERT_EQ(run_onnxfuzz("gen --count 5 --seed 7 --out " + dir.str("a")).exit_code, 0);
  ASSERT_EQ(run_onnxfuzz("gen --count 5 --seed 7 --out " + dir.str("b")).exit_code, 0);
  ASSERT_EQ(run_onnxfuzz("gen --count 5 --seed 8 --out " + dir.str("c")).exit_code, 0);
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.str("a"))) {
    names.push_back(entry.path().filename().string());
  }
  ASSERT_EQ(names.size(), 5u);
  int differing = 0;
  for (const auto& name : names) {
    const auto a = testing::read_file(dir.path() / "a" / name);
    EXPECT_EQ(a, testing::read_file(dir.path() / "b" / name)) << name;
    EXPECT_TRUE(load_model((dir.path() / "a" / name).string()));
    (void)a;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir.str("c"))) {
    bool same_as_any = false;
    for (const auto& name : names) {
      same_as_any |=
          testing::read_file(entry.path()) == testing::read_file(dir.path() / "a" / name);
    }
    differing += !same_as_any;
  }
  EXPECT_EQ(differing, 5);
}

TEST(Cli, GenWritesTestCasesThatRunCommandAccepts) {
  TempDir dir;
  ASSERT_EQ(run_onnxfuzz("gen --count 3 --seed 4 --test-cases --out " + dir.str()).exit_code, 0);
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    SCOPED_TRACE(entry.path().string());
    ++cases;
    EXPECT_TRUE(std::filesystem::exists(entry.path() / "test_data_set_0" / "output_0.pb"));
    // The stored outputs are the reference's: running the case on ref passes the check.
    auto result = run_onnxfuzz("run " + entry.path().string() + " --executions ref");
    EXPECT_EQ(result.exit_code, 0) << result.output;
  }
  EXPECT_EQ(cases, 3);
}

TEST(Cli, RunPrintsOutputsAndChecksStoredTestData) {
  // A backend node test directory: stored inputs are fed, stored outputs are checked.
  const std::string node_test = "/usr/share/libonnx-testdata/data/node/test_relu";
  ASSERT_TRUE(std::filesystem::exists(node_test)) << "install libonnx-testdata (scripts/setup.sh)";
  auto result = run_onnxfuzz("run " + node_test + " --executions ref");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("verdict: pass"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("float32[3,4,5]"), std::string::npos) << result.output;

  // The same case with a wrong expected output fails with a numeric verdict vs "expected".
  TempDir dir;
  std::filesystem::copy(node_test, dir.str("relu"), std::filesystem::copy_options::recursive);
  testing::write_file(dir.path() / "relu" / "test_data_set_0" / "output_0.pb",
                      testing::read_file(dir.path() / "relu" / "test_data_set_0" / "input_0.pb"));
  auto wrong = run_onnxfuzz("run " + dir.str("relu") + " --executions ref");
  EXPECT_EQ(wrong.exit_code, 1) << wrong.output;
  EXPECT_NE(wrong.output.find("verdict: numeric on ref (vs expected)"), std::string::npos)
      << wrong.output;
}

// mutate: N mutants with chains; --chain re-derives one byte for byte; invalid mutants are
// refused by `run` on ref; usage, input and environment errors keep their exit codes.
TEST(Cli, MutateWritesMutantsWithChains) {
  TempDir dir;
  ASSERT_EQ(run_onnxfuzz("gen --count 1 --seed 11 --max-nodes 6 --out " + dir.str("seed")).exit_code, 0);
  std::string seed;
  for (const auto& e : std::filesystem::directory_iterator(dir.str("seed"))) seed = e.path().string();
  auto result = run_onnxfuzz("mutate " + seed + " -n 12 --seed 3 --out " + dir.str("valid"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  int models = 0;
  std::string chain;
  for (const auto& e : std::filesystem::directory_iterator(dir.str("valid"))) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".chain.json")) chain = e.path().string();
    else if (name.ends_with(".onnx")) ++models;
  }
  EXPECT_EQ(models, 12);
  ASSERT_FALSE(chain.empty());
  EXPECT_NE(testing::read_file(chain).find("fnv1a64:"), std::string::npos);
  auto again = run_onnxfuzz("mutate --chain " + chain + " --out " + dir.str("again"));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  const std::string stem = std::filesystem::path(chain).filename().string();
  const std::string onnx = stem.substr(0, stem.find(".chain.json")) + ".onnx";
  EXPECT_EQ(testing::read_file(dir.str("again/" + onnx)), testing::read_file(dir.str("valid/" + onnx)));
  // Same seed, same bytes.
  ASSERT_EQ(run_onnxfuzz("mutate " + seed + " -n 12 --seed 3 --out " + dir.str("twice")).exit_code, 0);
  EXPECT_EQ(testing::read_file(dir.str("twice/" + onnx)), testing::read_file(dir.str("valid/" + onnx)));

  auto invalid = run_onnxfuzz("mutate " + seed + " -n 6 --mutate invalid --mutators missing-input --out " + dir.str("invalid"));
  ASSERT_EQ(invalid.exit_code, 0) << invalid.output;
  for (const auto& e : std::filesystem::directory_iterator(dir.str("invalid"))) {
    if (e.path().extension() != ".onnx") continue;
    EXPECT_NE(testing::read_file(e.path()).size(), 0u);
    std::filesystem::path json_path = e.path();
    const std::string json = testing::read_file(json_path.replace_extension(".chain.json"));
    EXPECT_NE(json.find("\"rule\""), std::string::npos) << json;
  }

  struct Row {
    std::string args;
    int exit_code;
  };
  const Row rows[] = {
      {"mutate " + seed + " -n 2", 2},                                            // no --out
      {"mutate " + seed + " -n x --out " + dir.str("o"), 2},                      // bad count
      {"mutate " + seed + " -n 2 --mutate sideways --out " + dir.str("o"), 2},    // bad mode
      {"mutate " + seed + " -n 2 --mutators nope --out " + dir.str("o"), 2},      // unknown mutator
      {"mutate " + seed + " -n 2 --mutate invalid --mutators shape-unit --out " + dir.str("o"), 2},
      {"mutate " + dir.str("missing.onnx") + " -n 2 --out " + dir.str("o"), 3},   // missing model
      {"mutate --chain " + dir.str("missing.chain.json") + " --out " + dir.str("o"), 3},
      {"mutate " + seed + " -n 2 --out " + seed + "/sub", 4},                     // out under a file
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.args);
    auto r = run_onnxfuzz(row.args);
    EXPECT_EQ(r.exit_code, row.exit_code) << r.output;
  }
}

}  // namespace
}  // namespace onnxfuzz
