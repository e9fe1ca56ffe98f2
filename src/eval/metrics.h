#pragma once
// Full-catalogue ranking metrics, averaged over queries.
//
// A query is a ranked list r (best first, no duplicates) and a non-empty relevant set R.
// At cutoff k, with hits = |r[0..k) ∩ R| (a list shorter than k just has fewer hits):
//   hr        = [hits > 0]
//   recall    = hits / |R|
//   precision = hits / k
//   ndcg      = Σ_{i<k, r_i∈R} 1/log2(i+2) / Σ_{i<min(k,|R|)} 1/log2(i+2)
//   mrr       = 1/(rank of the first hit), ranks from 1, if within k; else 0
//   map       = (1/min(k,|R|)) Σ_{i<k, r_i∈R} precision@(i+1)
//   coverage  = |∪ of all queries' top-k| / catalogue_size (one value per k, not averaged)
// Every metric but coverage is the mean over queries (0 without queries).
//
// The accumulator is a mergeable aggregate: per-thread (or per-chunk) accumulators
// combine with Merge. Sums are doubles, so for bit-identical results merge in a fixed
// order (the evaluator merges chunks in chunk order). Not thread-safe; one per thread.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/ids.h"

namespace streamrec {

struct MetricValue {
  std::string model;
  std::string metric;
  int k;
  double value;
  friend bool operator==(const MetricValue&, const MetricValue&) = default;
};

// The metric names in result order.
inline constexpr std::array<std::string_view, 7> kMetricNames = {
    "hr", "recall", "precision", "ndcg", "mrr", "map", "coverage"};

class MetricAccumulator {
 public:
  // REQUIRES: ks non-empty, every k > 0 (Evaluate checks options first). The cutoffs are
  // kept sorted and without duplicates. Items recommended outside the catalogue still
  // count in coverage's numerator.
  MetricAccumulator(std::vector<int> ks, uint32_t catalogue_size);

  // REQUIRES: relevant non-empty (duplicates are ignored); ranked has no duplicates.
  // Only ranked[0 .. max k) is read.
  void AddQuery(std::span<const ItemIdx> ranked, std::span<const ItemIdx> relevant);
  // Adds `other`'s queries. REQUIRES: the same ks and catalogue size.
  void Merge(const MetricAccumulator& other);

  int64_t queries() const { return queries_; }
  const std::vector<int>& ks() const { return ks_; }
  int max_k() const { return ks_.back(); }
  uint32_t catalogue_size() const { return catalogue_size_; }

  // Metric by metric (kMetricNames order), each for every k ascending.
  std::vector<MetricValue> Results(std::string_view model) const;

 private:
  static constexpr int kAveraged = 6;  // all but coverage
  double& Sum(int metric, size_t k_index) { return sums_[metric * ks_.size() + k_index]; }

  std::vector<int> ks_;
  uint32_t catalogue_size_;
  std::vector<double> discount_;  // 1/log2(i+2) for i < max k
  std::vector<double> ideal_;     // ideal_[m] = Σ_{i<m} discount_[i], m <= max k
  int64_t queries_ = 0;
  std::vector<double> sums_;  // [metric * ks_.size() + k index]
  // Each item in any query's top max-k: its best (lowest) 0-based position.
  absl::flat_hash_map<uint32_t, uint32_t> best_position_;
};

}  // namespace streamrec
