// The mutation pool of a `fuzz --seeds` campaign: the seed models, plus every mutant that found
// something new (a finding or new coverage). Kept in OUT/pool/ as provenance chains, so a campaign
// resumed on the same OUT mutates the same pool.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "generators/mutators/provenance.h"
#include "generators/rng.h"

namespace onnxfuzz {

struct PoolEntry {
  Mutant mutant;
  Chain chain;       // re-derives `mutant` byte for byte (no steps for a seed)
  std::string hash;  // content_hash of the model bytes: the entry's identity
};

class SeedPool {
 public:
  // Seeds from `paths`: each a .onnx file, an ONNX test-case directory (model.onnx), or a
  // directory searched recursively for both. An unreadable or corrupt model found by the search
  // is skipped with a warning (see skipped()); a path given by name that does not load is an
  // error, and so is finding no seed at all. Then the entries kept in `pool_dir` by an earlier
  // run on the same output directory; one whose chain no longer re-derives (its seed changed)
  // is skipped with a warning.
  static std::expected<SeedPool, std::string> open(const std::vector<std::string>& paths,
                                                   const std::string& pool_dir,
                                                   uint64_t input_seed,
                                                   const InputShapes& shapes = {});

  size_t size() const { return entries_.size(); }
  size_t seeds() const { return seeds_; }
  const std::vector<std::string>& skipped() const { return skipped_; }
  // Newer entries (mutants that found something) are drawn a little more often than seeds.
  const PoolEntry& pick(Rng& rng) const;
  const PoolEntry& entry(size_t i) const { return entries_[i]; }
  // Adds a mutant unless the pool holds the same model; writes pool_dir/<hash>.chain.json and
  // <hash>.onnx atomically. Returns whether it was added.
  std::expected<bool, std::string> add(const Mutant& mutant, const Chain& chain);

 private:
  std::vector<PoolEntry> entries_;
  size_t seeds_ = 0;
  std::vector<std::string> skipped_;
  std::string pool_dir_;
  bool insert(PoolEntry entry);
};

}  // namespace onnxfuzz
