#pragma once
// The user-item interaction matrix: one cell per (user, item) pair with a purchase or
// an event. Stored as one open-addressing hash table keyed by (user << 32 | item) with
// the 24-byte cell inline (absl::flat_hash_map: 32-byte slot plus one control byte).
// Keyed by user first, so the matrix partitions by user with the rest of user state.

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/event.h"
#include "features/counters.h"

namespace streamrec {

struct Interaction {
  uint32_t purchase_count = 0;
  EngagementCounts engagement;
  double total_spent = 0;
};

// interaction_score = purchase * purchase_count + click * num_clicks + view * num_views
//                     + add_to_cart * num_add_to_cart. Defaults are the seed's weights.
struct InteractionWeights {
  double purchase = 1.0;
  double click = 0.2;
  double view = 0.1;
  double add_to_cart = 0.0;
};

class UserItemMatrix {
 public:
  explicit UserItemMatrix(InteractionWeights weights = {}) : weights_(weights) {}

  void AddPurchase(UserIdx user, ItemIdx item, double amount) {
    Interaction& cell = cells_[Key(user, item)];
    ++cell.purchase_count;
    cell.total_spent += amount;
  }
  void AddEvent(UserIdx user, ItemIdx item, EventType type) {
    if (type == EventType::kPurchase) return;  // counted through AddPurchase
    cells_[Key(user, item)].engagement.Add(type);
  }

  double Score(const Interaction& c) const {
    return weights_.purchase * c.purchase_count + weights_.click * c.engagement.clicks +
           weights_.view * c.engagement.views + weights_.add_to_cart * c.engagement.add_to_cart;
  }

  // Calls fn(UserIdx, ItemIdx, const Interaction&) for every cell, ordered by user
  // index, then item index (a deterministic order for tables).
  template <typename Fn>
  void ForEachSorted(Fn&& fn) const {
    std::vector<uint64_t> keys;
    keys.reserve(cells_.size());
    for (const auto& [key, cell] : cells_) keys.push_back(key);
    SortKeys(&keys);
    for (uint64_t key : keys) {
      fn(UserIdx(static_cast<uint32_t>(key >> 32)), ItemIdx(static_cast<uint32_t>(key)),
         cells_.at(key));
    }
  }

  size_t pairs() const { return cells_.size(); }
  size_t MemoryBytes() const { return cells_.capacity() * (sizeof(uint64_t) + sizeof(Interaction) + 1); }
  const InteractionWeights& weights() const { return weights_; }

 private:
  static uint64_t Key(UserIdx u, ItemIdx i) { return (uint64_t{u.value} << 32) | i.value; }
  static void SortKeys(std::vector<uint64_t>* keys);

  InteractionWeights weights_;
  absl::flat_hash_map<uint64_t, Interaction> cells_;
};

}  // namespace streamrec
