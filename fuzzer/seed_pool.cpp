// Seed pool: discovery of seed models, pool persistence and drawing.
#include "fuzzer/seed_pool.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "corpus/case_store.h"
#include "generators/model_io.h"

namespace onnxfuzz {
namespace {

namespace fs = std::filesystem;

// The seed paths under `root`: test-case directories (with model.onnx) and other .onnx files,
// sorted so that the pool's order, and hence the campaign, does not depend on the file system.
std::vector<std::string> discover(const fs::path& root) {
  std::set<std::string> found;
  std::error_code ec;
  if (fs::is_regular_file(root / "model.onnx", ec)) return {root.string()};
  for (auto it = fs::recursive_directory_iterator(
           root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    if (it->is_directory(ec) && fs::is_regular_file(p / "model.onnx", ec)) {
      found.insert(p.string());
      it.disable_recursion_pending();  // its original.onnx etc. belong to the case
    } else if (it->is_regular_file(ec) && p.extension() == ".onnx") {
      found.insert(p.string());
    }
  }
  return {found.begin(), found.end()};
}

std::expected<std::string, std::string> read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(fmt::format("{}: cannot open for reading", path.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string short_hash(const std::string& hash) {
  const size_t colon = hash.find(':');
  return colon == std::string::npos ? hash : hash.substr(colon + 1);
}

}  // namespace

bool SeedPool::insert(PoolEntry entry) {
  if (std::ranges::any_of(entries_, [&](const PoolEntry& e) { return e.hash == entry.hash; }))
    return false;
  entries_.push_back(std::move(entry));
  return true;
}

std::expected<SeedPool, std::string> SeedPool::open(const std::vector<std::string>& paths,
                                                    const std::string& pool_dir,
                                                    uint64_t input_seed,
                                                    const InputShapes& shapes) {
  SeedPool pool;
  pool.pool_dir_ = pool_dir;
  for (const std::string& given : paths) {
    std::error_code ec;
    if (!fs::exists(given, ec)) return std::unexpected(fmt::format("--seeds: {}: no such file or directory", given));
    const bool named = !fs::is_directory(given, ec) || fs::is_regular_file(fs::path(given) / "model.onnx", ec);
    const auto found = named ? std::vector<std::string>{given} : discover(given);
    for (const std::string& path : found) {
      const std::string absolute = fs::absolute(path, ec).lexically_normal().string();
      auto seed = load_seed(absolute, input_seed, shapes);
      if (!seed) {
        if (named) return std::unexpected(fmt::format("--seeds: {}", seed.error()));
        pool.skipped_.push_back(seed.error());
        spdlog::warn("[seeds] skipped {}", seed.error());
        continue;
      }
      PoolEntry entry;
      entry.hash = seed->hash;
      entry.chain.seed_path = absolute;
      entry.chain.seed_hash = seed->hash;
      entry.chain.input_seed = input_seed;
      entry.chain.input_shapes = shapes;
      entry.mutant = std::move(seed->mutant);
      if (pool.insert(std::move(entry))) ++pool.seeds_;
    }
  }
  if (pool.entries_.empty()) {
    return std::unexpected(fmt::format("--seeds: no loadable .onnx model or test-case directory in {}",
                                       fmt::join(paths, ", ")));
  }
  // Entries kept by an earlier run on this output directory.
  std::error_code ec;
  std::vector<fs::path> kept;
  for (const auto& file : fs::directory_iterator(pool_dir, ec)) {
    if (file.path().string().ends_with(".chain.json")) kept.push_back(file.path());
  }
  std::ranges::sort(kept);
  for (const fs::path& file : kept) {
    auto text = read_text(file);
    std::expected<Chain, std::string> chain = std::unexpected(std::string("unreadable"));
    if (text) {
      try {
        chain = chain_from_json(nlohmann::json::parse(*text));
      } catch (const std::exception& e) {
        chain = std::unexpected(std::string(e.what()));
      }
    }
    std::expected<Mutant, std::string> mutant =
        chain ? rederive(*chain) : std::unexpected(chain.error());
    if (!mutant) {
      pool.skipped_.push_back(fmt::format("{}: {}", file.string(), mutant.error()));
      spdlog::warn("[seeds] pool entry {} no longer re-derives: {}", file.string(), mutant.error());
      continue;
    }
    PoolEntry entry;
    entry.hash = content_hash(serialize_model(mutant->model));
    entry.chain = std::move(*chain);
    entry.mutant = std::move(*mutant);
    pool.insert(std::move(entry));
  }
  return pool;
}

const PoolEntry& SeedPool::pick(Rng& rng) const {
  // Half the draws from the mutants that found something, when there are any: they are the
  // neighbourhoods worth exploring; the other half keep every seed in play.
  if (entries_.size() > seeds_ && rng.uniform_int(0, 1) == 1) {
    return entries_[static_cast<size_t>(
        rng.uniform_int(static_cast<int64_t>(seeds_), static_cast<int64_t>(entries_.size()) - 1))];
  }
  return entries_[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(seeds_) - 1))];
}

std::expected<bool, std::string> SeedPool::add(const Mutant& mutant, const Chain& chain) {
  const std::string bytes = serialize_model(mutant.model);
  PoolEntry entry{mutant, chain, content_hash(bytes)};
  const std::string name = short_hash(entry.hash);
  if (!insert(std::move(entry))) return false;
  std::error_code ec;
  fs::create_directories(pool_dir_, ec);
  if (ec) return std::unexpected(fmt::format("cannot create {}: {}", pool_dir_, ec.message()));
  const fs::path base = fs::path(pool_dir_) / name;
  auto model = write_file_atomic(base.string() + ".onnx", bytes);
  if (!model) return std::unexpected(model.error());
  // The chain last: an entry is kept (and re-derived on resume) only once it is complete.
  auto json = write_file_atomic(base.string() + ".chain.json", chain_to_json(chain).dump(2) + "\n");
  if (!json) return std::unexpected(json.error());
  return true;
}

}  // namespace onnxfuzz
