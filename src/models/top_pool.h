#pragma once
// TopPool: the best `capacity` items by a score that only ever increases, kept exact
// with O(1) work per update in the common case.
//
// Order: higher score first, then lower item id (RanksBefore). Invariant: the pool
// holds exactly the top min(capacity, n) items of that order among the n items offered
// so far. It holds because scores only increase: an item inside only moves up, and an
// item outside can only enter by overtaking the pool's last entry, which then leaves.
// So the pool's set depends on the scores alone, not on the order of updates.
//
// Cost: an update of an item in the pool writes its score; when that item was the last
// entry, or an outside item enters, the last entry is found again by a scan of the
// pool's scores (contiguous, capacity doubles).

#include <algorithm>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "common/check.h"
#include "common/id_vector.h"
#include "common/ids.h"

namespace streamrec {

// The ranking of every list in this module: higher score first, ties by lower id.
inline bool RanksBefore(double score_a, uint32_t a, double score_b, uint32_t b) {
  return score_a > score_b || (score_a == score_b && a < b);
}

class TopPool {
 public:
  explicit TopPool(uint32_t capacity) : capacity_(capacity) {
    STREAMREC_CHECK(capacity >= 1 && capacity <= 65534) << capacity;
    ids_.reserve(capacity);
    scores_.reserve(capacity);
  }

  // REQUIRES: `score` is at least the score last offered for `item`.
  void Offer(ItemIdx item, double score) {
    uint16_t& slot = slot_.At(item);
    if (slot != 0) {
      const uint32_t at = slot - 1u;
      scores_[at] = score;
      if (at == last_ && full()) FindLast();
      return;
    }
    if (!full()) {
      ids_.push_back(item.value);
      scores_.push_back(score);
      slot = static_cast<uint16_t>(ids_.size());
      if (full()) FindLast();
      return;
    }
    if (!RanksBefore(score, item.value, scores_[last_], ids_[last_])) return;
    slot_.At(ItemIdx(ids_[last_])) = 0;  // an id already in slot_: no growth, `slot` stays valid
    ids_[last_] = item.value;
    scores_[last_] = score;
    slot = static_cast<uint16_t>(last_ + 1);
    FindLast();
  }

  void Clear() {
    for (uint32_t id : ids_) slot_.At(ItemIdx(id)) = 0;
    ids_.clear();
    scores_.clear();
    last_ = 0;
  }

  // The pool's entries as (score, id), in pool order (not sorted).
  std::vector<std::pair<double, uint32_t>> Entries() const {
    std::vector<std::pair<double, uint32_t>> out(ids_.size());
    for (size_t i = 0; i < ids_.size(); ++i) out[i] = {scores_[i], ids_[i]};
    return out;
  }

  // The best score in the pool (0 when empty).
  double BestScore() const {
    double best = 0;
    for (double s : scores_) best = std::max(best, s);
    return best;
  }

  bool full() const { return ids_.size() == capacity_; }
  size_t size() const { return ids_.size(); }
  uint32_t capacity() const { return capacity_; }
  size_t MemoryBytes() const {
    return ids_.capacity() * sizeof(uint32_t) + scores_.capacity() * sizeof(double) +
           slot_.MemoryBytes();
  }

 private:
  // The position of the entry ranked last.
  void FindLast() {
    uint32_t last = 0;
    for (uint32_t i = 1; i < ids_.size(); ++i) {
      if (RanksBefore(scores_[last], ids_[last], scores_[i], ids_[i])) last = i;
    }
    last_ = last;
  }

  uint32_t capacity_;
  std::vector<uint32_t> ids_;  // ids_[p], scores_[p]: the entry at position p
  std::vector<double> scores_;
  uint32_t last_ = 0;                 // position of the last-ranked entry, once full
  IdVector<ItemIdx, uint16_t> slot_;  // position + 1 of each item; 0: not in the pool
};

}  // namespace streamrec
