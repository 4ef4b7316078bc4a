// Provenance chains: JSON form, seed loading and byte-for-byte re-derivation.
#include "generators/mutators/provenance.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "generators/inputs.h"
#include "generators/model_io.h"

namespace onnxfuzz {

namespace fs = std::filesystem;

std::string content_hash(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return fmt::format("fnv1a64:{:016x}", h);
}

nlohmann::json chain_to_json(const Chain& chain) {
  nlohmann::json j;
  j["seed"] = {{"path", chain.seed_path}, {"hash", chain.seed_hash}, {"input_seed", chain.input_seed}};
  if (!chain.input_shapes.empty()) j["seed"]["input_shapes"] = format_input_shapes(chain.input_shapes);
  j["mode"] = std::string(mutate_mode_name(chain.mode));
  j["nan_inf"] = chain.nan_inf;
  j["steps"] = nlohmann::json::array();
  for (const auto& s : chain.steps) {
    nlohmann::json step = {{"mutator", s.mutator}, {"seed", s.seed}, {"detail", s.detail}};
    // A rule breaker's step names the rule its mutant breaks.
    if (const Mutator* m = find_mutator(s.mutator); m && !m->rule.empty()) step["rule"] = m->rule;
    j["steps"].push_back(std::move(step));
  }
  return j;
}

std::expected<Chain, std::string> chain_from_json(const nlohmann::json& j) {
  try {
    Chain c;
    c.seed_path = j.at("seed").at("path").get<std::string>();
    c.seed_hash = j.at("seed").at("hash").get<std::string>();
    c.input_seed = j.at("seed").at("input_seed").get<uint64_t>();
    if (j.at("seed").contains("input_shapes")) {
      auto shapes = parse_input_shapes(j["seed"]["input_shapes"].get<std::string>());
      if (!shapes) return std::unexpected(shapes.error());
      c.input_shapes = std::move(*shapes);
    }
    const std::string mode = j.at("mode").get<std::string>();
    if (mode != "valid" && mode != "invalid") return std::unexpected("unknown mode '" + mode + "'");
    c.mode = mode == "valid" ? MutateMode::kValid : MutateMode::kInvalid;
    c.nan_inf = j.value("nan_inf", false);
    for (const auto& s : j.at("steps")) {
      c.steps.push_back({s.at("mutator").get<std::string>(), s.at("seed").get<uint64_t>(),
                         s.value("detail", std::string())});
    }
    return c;
  } catch (const std::exception& e) {
    return std::unexpected(fmt::format("not a mutation chain: {}", e.what()));
  }
}

namespace {

std::expected<std::string, std::string> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(fmt::format("{}: cannot open for reading", path.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

std::expected<Seed, std::string> load_seed(const std::string& path, uint64_t input_seed,
                                           const InputShapes& shapes) {
  std::error_code ec;
  const bool dir = fs::is_directory(path, ec);
  const fs::path model_path = dir ? fs::path(path) / "model.onnx" : fs::path(path);
  if (!fs::exists(model_path, ec)) return std::unexpected(fmt::format("{}: no such file", model_path.string()));
  auto bytes = read_bytes(model_path);
  if (!bytes) return std::unexpected(bytes.error());
  auto model = parse_model(*bytes);
  if (!model) return std::unexpected(fmt::format("{}: {}", model_path.string(), model.error()));
  if (auto external = load_external_data(*model, fs::absolute(model_path, ec).parent_path().string());
      !external) {
    return std::unexpected(fmt::format("{}: {}", model_path.string(), external.error()));
  }
  if (auto fixed = fix_input_shapes(*model, shapes); !fixed) {
    return std::unexpected(fmt::format("{}: {}", model_path.string(), fixed.error()));
  }
  Seed seed;
  seed.hash = content_hash(*bytes);
  seed.mutant.model = std::move(*model);
  const auto runtime = runtime_inputs(seed.mutant.model.graph());
  if (dir) {
    // Stored inputs, by name, else in graph order.
    for (size_t i = 0; i < runtime.size(); ++i) {
      const fs::path file = fs::path(path) / "test_data_set_0" / fmt::format("input_{}.pb", i);
      if (!fs::exists(file, ec)) break;
      auto read = read_tensor_file(file.string());
      if (!read) return std::unexpected(read.error());
      bool named = false;
      for (const auto* info : runtime) named = named || info->name() == read->first;
      seed.mutant.inputs[named ? read->first : runtime[i]->name()] = std::move(read->second);
    }
  }
  if (seed.mutant.inputs.size() != runtime.size()) {
    Rng rng(input_seed);
    seed.mutant.inputs = synthesize_inputs(seed.mutant.model, rng);
  }
  return seed;
}

std::expected<Mutant, std::string> rederive(const Chain& chain) {
  auto seed = load_seed(chain.seed_path, chain.input_seed, chain.input_shapes);
  if (!seed) return std::unexpected(seed.error());
  if (seed->hash != chain.seed_hash) {
    return std::unexpected(fmt::format("{}: content hash {} differs from the chain's {}",
                                       chain.seed_path, seed->hash, chain.seed_hash));
  }
  MutateOptions options;
  options.mode = chain.mode;
  options.nan_inf = chain.nan_inf;
  Mutant m = std::move(seed->mutant);
  for (size_t i = 0; i < chain.steps.size(); ++i) {
    const auto& step = chain.steps[i];
    const Mutator* mutator = find_mutator(step.mutator);
    if (!mutator) return std::unexpected(fmt::format("step {}: unknown mutator '{}'", i, step.mutator));
    auto done = apply_step(m, *mutator, step.seed, options);
    if (!done) return std::unexpected(fmt::format("step {}: {}", i, done.error()));
  }
  return m;
}

}  // namespace onnxfuzz
