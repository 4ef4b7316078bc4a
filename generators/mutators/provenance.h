// Provenance: the chain that produced a mutant (the seed model's path and content hash, then
// each mutator's name with its seed), its JSON form, and re-derivation byte for byte.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "generators/inputs.h"
#include "generators/mutators/dispatcher.h"

namespace onnxfuzz {

struct Chain {
  std::string seed_path;  // a .onnx file or a test-case directory, as given
  std::string seed_hash;  // content_hash of the seed's model bytes
  uint64_t input_seed = 1;  // random inputs for a seed without stored inputs
  MutateMode mode = MutateMode::kValid;
  bool nan_inf = false;
  std::vector<MutationStep> steps;
  InputShapes input_shapes;  // --input-shape given for the seed (its symbolic dims made static)
};

// "fnv1a64:<16 hex digits>" of the bytes.
std::string content_hash(std::string_view bytes);

nlohmann::json chain_to_json(const Chain& chain);
std::expected<Chain, std::string> chain_from_json(const nlohmann::json& j);

// A seed model with data for its inputs: a .onnx file (inputs drawn from `input_seed`), or a
// test-case directory (model.onnx and test_data_set_0/input_*.pb, else drawn inputs).
struct Seed {
  Mutant mutant;
  std::string hash;  // content_hash of the model file
};
// `shapes` fixes symbolic input dims first (fix_input_shapes).
std::expected<Seed, std::string> load_seed(const std::string& path, uint64_t input_seed,
                                           const InputShapes& shapes = {});

// Loads the chain's seed, checks its hash, and applies every step again: the same model bytes
// and inputs as when the chain was recorded. Error names the step that no longer applies.
std::expected<Mutant, std::string> rederive(const Chain& chain);

}  // namespace onnxfuzz
