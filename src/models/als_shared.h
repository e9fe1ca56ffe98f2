#pragma once
// Helpers of the batch models (ALS and item-kNN; the file is named for ALS, which came
// first): a parallel loop over numbered tasks, and a bounded top-k in the module's
// ranking order (higher score first, ties by lower item id: RanksBefore).

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "common/ids.h"
#include "models/model_types.h"
#include "models/top_pool.h"

namespace streamrec::batch_internal {

// `threads` <= 0 means every core.
inline int ResolveThreads(int threads) {
  if (threads > 0) return threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// Runs task(t, worker) for every t in [0, tasks), on up to `threads` workers (the
// calling thread is worker 0), taking tasks in order from a shared counter. A task
// must not depend on which worker runs it or when; `worker` only picks its scratch.
inline void ParallelFor(int threads, size_t tasks, absl::FunctionRef<void(size_t, int)> task) {
  const int workers = static_cast<int>(std::min<size_t>(ResolveThreads(threads), tasks));
  std::atomic<size_t> next{0};
  const auto work = [&](int worker) {
    for (size_t t = next.fetch_add(1); t < tasks; t = next.fetch_add(1)) task(t, worker);
  };
  std::vector<std::jthread> helpers;
  for (int w = 1; w < workers; ++w) helpers.emplace_back(work, w);
  work(0);
}

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
      std::pop_heap(heap_.begin(), heap_.end(), Better);
      heap_.pop_back();
    }
    heap_.push_back(ScoredItem{item, score, Reason{}});
    std::push_heap(heap_.begin(), heap_.end(), Better);
  }

  // Replaces `*out` with the selection, best first.
  void Finish(std::vector<ScoredItem>* out) {
    std::sort_heap(heap_.begin(), heap_.end(), Better);
    out->assign(heap_.begin(), heap_.end());
    heap_.clear();
  }

 private:
  // A max-heap by "worse" keeps the worst of the selection at the front.
  static bool Better(const ScoredItem& a, const ScoredItem& b) {
    return RanksBefore(a.score, a.item.value, b.score, b.item.value);
  }

  size_t k_ = 0;
  std::vector<ScoredItem> heap_;
};

}  // namespace streamrec::batch_internal
