#pragma once
// Blending ranked lists from several recommenders (the hybrid with a batch model in it):
// each list's scores are divided by that list's best score, weighted, and summed per
// item; an item missing from a list gets nothing from it. The reason of an item is the
// one of the list that gave it the most.
//
// With each list holding its recommender's exact top n (n >= k) under the same filter,
// an item outside every list scores below every list's n-th item; the blend's top k is
// exact when k <= n and the lists' n-th scores are small next to their best (the usual
// case, not a guarantee): ask each for a few times k.

#include <algorithm>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "models/model_types.h"

namespace streamrec {

// How deep each list of a blend goes for k results.
inline size_t BlendDepth(size_t k) { return std::max<size_t>(3 * k, 50); }

struct WeightedList {
  std::span<const ScoredItem> items;  // best first
  double weight = 1;
};

// Replaces `*out` with the best k of the blend, best first, ties by lower item id.
inline void BlendLists(std::span<const WeightedList> lists, size_t k,
                       std::vector<ScoredItem>* out) {
  struct Entry {
    double score = 0;
    double best_part = -1;
    Reason reason;
  };
  absl::flat_hash_map<ItemIdx, Entry> blended;
  for (const WeightedList& list : lists) {
    if (list.items.empty() || list.weight <= 0) continue;
    const double best = list.items.front().score;
    if (!(best > 0)) continue;
    for (const ScoredItem& s : list.items) {
      // A score below 0 (an ALS dot product) counts as 0, not as a penalty.
      const double part = list.weight * std::max(0.0, s.score) / best;
      Entry& e = blended[s.item];
      e.score += part;
      if (part > e.best_part) e.best_part = part, e.reason = s.reason;
    }
  }
  out->clear();
  out->reserve(blended.size());
  for (const auto& [item, e] : blended) out->push_back(ScoredItem{item, e.score, e.reason});
  const auto better = [](const ScoredItem& a, const ScoredItem& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
  };
  const size_t take = std::min(k, out->size());
  std::partial_sort(out->begin(), out->begin() + take, out->end(), better);
  out->resize(take);
}

}  // namespace streamrec
