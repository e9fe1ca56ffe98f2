#pragma once
// Popularity: two order-free sums per item, and a pool of the best items for each.
//
//   popular(i)      = sum over events e of i of w(type_e)
//   trending(i, t)  = sum over events e of i of w(type_e) * 2^-((t - t_e) / half_life)
//
// Trending is stored scaled: s(i) = sum w * exp(lambda (t_e - t0)), lambda = ln 2 /
// half_life, so an event adds one term and trending(i, t) = s(i) * exp(-lambda (t - t0)).
// The factor is common to all items, so the order by s is the order by trending at any
// time, and s only increases: TopPool keeps both pools exact. When exp(lambda (t - t0))
// would pass e^64, every s is multiplied by exp(-lambda (t - t0)), t0 moves to t and the
// trending pool is rebuilt (O(items), once per 92 half-lives of event time).
//
// Both sums are order-free, so late events apply too, and partitions merge by adding.

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "common/byte_io.h"
#include "common/id_vector.h"
#include "common/ids.h"
#include "common/time.h"
#include "models/model_config.h"
#include "models/top_pool.h"

namespace streamrec {

class Popularity {
 public:
  explicit Popularity(const ModelConfig& config);

  // Adds `weight` (>= 0) at `time`, in any time order.
  void Add(ItemIdx item, float weight, EventTime time);
  void Prefetch(ItemIdx item) const { scores_.Prefetch(item); }

  double popular(ItemIdx item) const { return scores_.Get(item).popular; }
  // The trending score in the internal scale (only ratios between items mean anything).
  double trending_scaled(ItemIdx item) const { return scores_.Get(item).trending; }
  // Multiplies a scaled trending score into trending at `now`.
  double DecayFactor(EventTime now) const;
  // The latest event time added (the models' notion of "now").
  EventTime latest() const { return latest_; }

  // Appends to `out` up to `k` items with a positive score, best first (ties by lower
  // id), skipping those `excluded` says. Scores: popular, or trending scaled. Uses the
  // pool; scans every item when filtering leaves the pool short.
  void Top(bool trending, size_t k, absl::FunctionRef<bool(ItemIdx)> excluded,
           std::vector<std::pair<double, ItemIdx>>* out) const;
  // The best score (popular, or trending scaled); 0 without events.
  double Best(bool trending) const {
    return trending ? trending_pool_.BestScore() : popular_pool_.BestScore();
  }

  size_t items() const { return scores_.size(); }
  int64_t renormalisations() const { return renormalisations_; }
  size_t MemoryBytes() const {
    return scores_.MemoryBytes() + popular_pool_.MemoryBytes() + trending_pool_.MemoryBytes();
  }

  void Save(ByteWriter* w) const;
  // Replaces the state. Refuses negative or non-finite scores and bad counts.
  absl::Status Load(ByteReader* r);

 private:
  struct Scores {
    double popular = 0;
    double trending = 0;  // scaled by exp(lambda (t - t0))
  };

  double Scale(EventTime time);
  void Renormalise(EventTime time);
  void RebuildPool(bool trending);

  double lambda_per_micro_;
  IdVector<ItemIdx, Scores> scores_;
  TopPool popular_pool_;
  TopPool trending_pool_;
  bool has_origin_ = false;
  EventTime origin_;  // t0
  EventTime latest_ = kMinTime;
  EventTime cached_time_;  // Scale(cached_time_) == cached_scale_, when has_cache_
  double cached_scale_ = 1;
  bool has_cache_ = false;
  int64_t renormalisations_ = 0;
};

}  // namespace streamrec
