#pragma once
// Reproducible randomness for the generators: xoshiro256** streams keyed by (seed,
// stream, index), an alias table for fixed discrete distributions, and permutations.
// Every value is a fixed function of raw 64-bit outputs (no std distributions), so the
// standard library version never changes generated data.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <vector>

namespace streamrec::synth {

inline uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// xoshiro256** (Blackman & Vigna), seeded through SplitMix64 as its authors advise.
class Rng {
 public:
  // A generator for (seed, stream, index); distinct triples give unrelated sequences.
  Rng(uint64_t seed, uint64_t stream, uint64_t index) {
    uint64_t mix = seed;
    uint64_t key = SplitMix64(mix) ^ stream * 0xd1b54a32d192ed03ULL;
    key = SplitMix64(key) ^ index * 0x8cb92ba72f3d8dd7ULL;
    for (uint64_t& word : s_) {
      word = SplitMix64(key);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in (0, 1]: safe to take the log of.
  double UniformPositive() { return static_cast<double>((Next() >> 11) + 1) * 0x1.0p-53; }
  // Uniform integer in [0, n) by Lemire's multiply-high (bias below 2^-32 for our n).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  // Uniform integer in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  bool Chance(double p) { return Uniform() < p; }
  // Log-uniform in [lo, hi).
  double LogUniform(double lo, double hi) { return lo * std::exp(Uniform() * std::log(hi / lo)); }
  // Exponential with the given mean.
  double Exponential(double mean) { return -std::log(UniformPositive()) * mean; }
  // Standard normal (Box-Muller, one of the pair).
  double Normal() {
    const double r = std::sqrt(-2.0 * std::log(UniformPositive()));
    return r * std::cos(2.0 * std::numbers::pi * Uniform());
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// Walker/Vose alias table: O(1) draws from a fixed discrete distribution. One 64-bit
// draw per sample: the high 32 bits pick a column, the low 32 bits are compared with the
// column's integer threshold, so sampling involves no floating point at all.
class AliasTable {
 public:
  // REQUIRES: weights non-empty, each finite and >= 0, sum > 0, size < 2^32.
  explicit AliasTable(std::span<const double> weights) : columns_(weights.size()) {
    const size_t n = weights.size();
    double total = 0;
    for (double w : weights) {
      total += w;
    }
    std::vector<double> scaled(n);
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] = weights[i] * static_cast<double>(n) / total;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back(), l = large.back();
      small.pop_back();
      columns_[s] = {Threshold(scaled[s]), l};
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    // Leftovers are 1 up to rounding: they always keep their own index.
    for (uint32_t i : small) {
      columns_[i] = {kAlways, i};
    }
    for (uint32_t i : large) {
      columns_[i] = {kAlways, i};
    }
  }

  uint32_t Sample(Rng& rng) const {
    const uint64_t x = rng.Next();
    const auto column = static_cast<uint32_t>(((x >> 32) * columns_.size()) >> 32);
    const Column& c = columns_[column];
    return static_cast<uint32_t>(x) < c.threshold ? column : c.alias;
  }

  size_t size() const { return columns_.size(); }

 private:
  static constexpr uint32_t kAlways = 0xffffffffu;  // the alias of such a column is itself
  static uint32_t Threshold(double p) {
    return static_cast<uint32_t>(std::min(p * 4294967296.0, 4294967295.0));
  }
  struct Column {
    uint32_t threshold = kAlways;  // keep the column when the low 32 bits are below this
    uint32_t alias = 0;
  };
  std::vector<Column> columns_;
};

// Fisher-Yates: a permutation of 0..n-1.
inline std::vector<uint32_t> Permutation(uint64_t n, Rng& rng) {
  std::vector<uint32_t> p(n);
  for (uint64_t i = 0; i < n; ++i) {
    p[i] = static_cast<uint32_t>(i);
  }
  for (uint64_t i = n; i > 1; --i) {
    std::swap(p[i - 1], p[rng.Below(i)]);
  }
  return p;
}

}  // namespace streamrec::synth
