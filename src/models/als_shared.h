#pragma once
// Helpers of the batch models (ALS and item-kNN; the file is named for ALS, which came
// first): a bounded top-k in the module's ranking order (higher score first, ties by
// lower item id: RanksBefore). Their parallel loop is common/parallel_for.h.

#include <algorithm>
#include <cstddef>
#include <vector>

#include "common/ids.h"
#include "models/model_types.h"
#include "models/top_pool.h"

namespace streamrec::batch_internal {

// The best `k` of the items offered, in the module's ranking order. Offer order does
// not matter: the result depends on the (score, id) pairs only.
class TopK {
 public:
  // Starts a new selection of `k` items.
  void Reset(size_t k) {
    k_ = k;
    heap_.clear();
  }

  // Whether an item with this score and id would enter now (so a caller can skip
  // expensive checks, such as an exclusion predicate, for items that would not).
  bool WouldEnter(double score, ItemIdx item) const {
    if (heap_.size() < k_) return k_ > 0;
    return RanksBefore(score, item.value, heap_.front().score, heap_.front().item.value);
  }

  // Whether k items are held; then no item scoring below Worst() can enter.
  bool Full() const { return k_ > 0 && heap_.size() == k_; }
  // The lowest score held. REQUIRES: !empty.
  double Worst() const { return heap_.front().score; }

  // REQUIRES: each item offered once per selection.
  void Offer(double score, ItemIdx item) {
    if (!WouldEnter(score, item)) return;
    if (heap_.size() == k_) {
      std::pop_heap(heap_.begin(), heap_.end(), Better{});
      heap_.pop_back();
    }
    heap_.push_back(ScoredItem{item, score, Reason{}});
    std::push_heap(heap_.begin(), heap_.end(), Better{});
  }

  // Replaces `*out` with the selection, best first.
  void Finish(std::vector<ScoredItem>* out) {
    std::sort_heap(heap_.begin(), heap_.end(), Better{});
    out->assign(heap_.begin(), heap_.end());
    heap_.clear();
  }

 private:
  // A max-heap by "worse" keeps the worst of the selection at the front. An object, not
  // a function: the heap algorithms inline an object's call, a function's they call
  // through a pointer.
  struct Better {
    bool operator()(const ScoredItem& a, const ScoredItem& b) const {
      return RanksBefore(a.score, a.item.value, b.score, b.item.value);
    }
  };

  size_t k_ = 0;
  std::vector<ScoredItem> heap_;
};

}  // namespace streamrec::batch_internal
