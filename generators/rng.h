// Rng: the single explicit source of randomness; identical streams on every platform for a seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "generators/check.h"

namespace onnxfuzz {

// SplitMix64-seeded xoshiro256**. We avoid <random> distributions because their output is
// implementation-defined, and byte-identical models per seed are a hard requirement.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (auto& word : state_) word = split_mix(x);
  }

  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform integer in [lo, hi] (both inclusive).
  int64_t uniform_int(int64_t lo, int64_t hi) {
    ONNXFUZZ_CHECK(lo <= hi, "uniform_int: empty range");
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    if (span == 0) return static_cast<int64_t>(next());  // full 64-bit range
    const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
    uint64_t draw = next();
    while (draw >= limit) draw = next();
    return lo + static_cast<int64_t>(draw % span);
  }

  // Uniform real in [lo, hi).
  double uniform_real(double lo, double hi) {
    const double unit = static_cast<double>(next() >> 11) * 0x1.0p-53;
    return lo + (hi - lo) * unit;
  }

  bool chance(double probability) { return uniform_real(0.0, 1.0) < probability; }

  // Index drawn with probability proportional to weights[i]; weights must not all be zero.
  size_t weighted_index(std::span<const double> weights) {
    double total = 0;
    for (double w : weights) total += w;
    ONNXFUZZ_CHECK(total > 0, "weighted_index: all weights are zero");
    double point = uniform_real(0.0, total);
    for (size_t i = 0; i < weights.size(); ++i) {
      if (point < weights[i]) return i;
      point -= weights[i];
    }
    return weights.size() - 1;
  }

  template <class T>
  const T& pick(const std::vector<T>& items) {
    ONNXFUZZ_CHECK(!items.empty(), "pick: no items");
    return items[static_cast<size_t>(uniform_int(0, static_cast<int64_t>(items.size()) - 1))];
  }

  template <class T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) {
      const size_t j = static_cast<size_t>(uniform_int(0, static_cast<int64_t>(i) - 1));
      std::swap(items[i - 1], items[j]);
    }
  }

  // A derived, independent generator (e.g. one per model of a campaign).
  Rng fork() { return Rng(next()); }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t split_mix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t state_[4];
};

}  // namespace onnxfuzz
