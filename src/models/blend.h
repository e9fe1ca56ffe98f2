#pragma once
// The hybrid with a batch model (ALS): the live recommenders' ranked list blended with a
// model that can score any item. An item's blend is
//   (1 - w) * max(0, live(i)) / best_live  +  w * max(0, batch(i)) / best_batch,
// best_* being each list's first score; a list whose best is not above 0 adds nothing
// (no part, and no items of its own). A score below 0 counts as 0, not as a penalty.
// (best_batch is the highest batch score among the items blended: batch_top's first,
// unless an approximate batch_top missed a live item that scores higher.)
// The live part is that of the live list's top n only (0 below it). The batch part counts
// only for an item the batch model scores at least kBatchVouchRatio of its own k-th best:
// the batch model vouches for what it nearly recommends itself, and adds nothing to items
// it ranks far down. So the batch model scores each live item, and brings its top k.
//
// Exact with the batch model's top k alone: with `batch_top` its exact top k under the
// live list's filter, the answer is the blend's top k over every item that filter allows.
// An item outside both lists gets at most its batch part, at most that of each of the k
// batch items, which are all ahead of it in (score, lower id) order. The one exception
// is a blend of 0, where such an item would tie: items of blend 0 come from the lists.

#include <algorithm>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/check.h"
#include "models/model_types.h"

namespace streamrec {

// Measured with `streamrec evaluate` (docs/EVALUATION.md): the batch part counted for
// every item loses up to 7% of NDCG@10 under the temporal and k-fold protocols; 0.85
// stays within 1.2% of a batch list cut at its top 50 on every set (ahead on three),
// which needed a scan of three times the cost.
inline constexpr double kBatchVouchRatio = 0.85;

// How deep the live list goes for a blend of k results: an item below its n-th gets no
// live part, so the depth is part of the answer (docs/PERFORMANCE.md measures it).
inline size_t BlendDepth(size_t k) { return std::max<size_t>(3 * k, 50); }

// Replaces `*out` with the best k of the blend above, best first, ties by lower item id;
// the reason of an item is that of the part that gave it the most (`kForYou` for the
// batch part). `batch_of_live[j]` is the batch model's score of live[j].item (0 for an
// item the model does not know). The k-th best is batch_top's last (fewer than k: the
// catalogue, less what was filtered, held fewer).
// REQUIRES: batch_of_live.size() == live.size(); 0 <= batch_weight <= 1.
inline void BlendLiveAndBatch(std::span<const ScoredItem> live,
                              std::span<const float> batch_of_live,
                              std::span<const ScoredItem> batch_top, double batch_weight, size_t k,
                              std::vector<ScoredItem>* out) {
  STREAMREC_CHECK(batch_of_live.size() == live.size())
      << live.size() << " live items, " << batch_of_live.size() << " batch scores";
  struct Entry {
    double score = 0;
    double best_part = -1;
    Reason reason;
  };
  absl::flat_hash_map<ItemIdx, Entry> blended;
  const auto add = [&](ItemIdx item, double part, const Reason& reason) {
    Entry& e = blended[item];
    e.score += part;
    if (part > e.best_part) e.best_part = part, e.reason = reason;
  };
  // Each weight over its list's best, or 0 when the list has nothing above 0.
  const auto scale = [](std::span<const ScoredItem> list, double weight) {
    return !list.empty() && list.front().score > 0 ? weight / list.front().score : 0.0;
  };
  const double live_scale = scale(live, 1 - batch_weight);
  // batch_top's first is the best batch score of all when batch_top is exact. An
  // approximate top k (the HNSW search of a large catalogue) may miss an item of the
  // live list that scores higher: the best is then that item's, so that no part exceeds
  // its weight.
  double batch_best = batch_top.empty() ? 0 : batch_top.front().score;
  if (!batch_top.empty()) {
    for (const float s : batch_of_live) batch_best = std::max<double>(batch_best, s);
  }
  const double batch_scale = batch_best > 0 ? batch_weight / batch_best : 0.0;
  const double vouched = batch_top.empty() ? 0 : kBatchVouchRatio * batch_top.back().score;
  const auto batch_part = [&](double score) {
    return score >= vouched ? batch_scale * std::max(0.0, score) : 0.0;
  };
  const Reason for_you{ReasonKind::kForYou, ItemIdx()};
  if (live_scale > 0 || batch_scale > 0) {
    for (size_t j = 0; j < live.size(); ++j) {
      add(live[j].item, live_scale * std::max(0.0, live[j].score), live[j].reason);
      add(live[j].item, batch_part(batch_of_live[j]), for_you);
    }
  }
  if (batch_scale > 0) {
    for (const ScoredItem& s : batch_top) {
      // A live item's batch part is in already: an item is scored once.
      if (!blended.contains(s.item)) add(s.item, batch_part(s.score), for_you);
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
