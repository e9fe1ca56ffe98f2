#pragma once
// The user-item interaction matrix: one cell per (user, item) pair with a purchase or
// an event, in one open-addressing hash table keyed by (user << 32 | item) with the
// 24-byte cell inline: a 32-byte slot plus a control byte, at a load factor between
// 7/16 (just grown) and 7/8, so 38 to 75 bytes per pair. A lookup touches one group
// of control bytes and one slot, both prefetchable from the key alone, which is what
// keeps the operators' loop fed. The hash has a fixed seed, so the table, and its
// iteration order, is the same for the same input in every run.
// Keyed by user first, so the matrix partitions by user with the rest of user state.

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/event.h"
#include "common/huge_page_allocator.h"
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

  // The cell of a pair, or nullptr when the pair has no interaction.
  const Interaction* Find(UserIdx user, ItemIdx item) const {
    auto it = cells_.find(Key(user, item));
    return it == cells_.end() ? nullptr : &it->second;
  }

  double Score(const Interaction& c) const {
    return weights_.purchase * c.purchase_count + weights_.click * c.engagement.clicks +
           weights_.view * c.engagement.views + weights_.add_to_cart * c.engagement.add_to_cart;
  }

  // Hints that the pair's cell will be looked up soon.
  void Prefetch(UserIdx user, ItemIdx item) const { cells_.prefetch(Key(user, item)); }

  // Calls fn(UserIdx, ItemIdx, const Interaction&) for every cell, in table order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [key, cell] : cells_) {
      fn(UserIdx(static_cast<uint32_t>(key >> 32)), ItemIdx(static_cast<uint32_t>(key)), cell);
    }
  }

  size_t pairs() const { return cells_.size(); }
  size_t MemoryBytes() const {
    return cells_.capacity() * (sizeof(std::pair<const uint64_t, Interaction>) + 1);
  }
  const InteractionWeights& weights() const { return weights_; }

 private:
  static uint64_t Key(UserIdx u, ItemIdx i) { return (uint64_t{u.value} << 32) | i.value; }

  // MurmurHash3's 64-bit finalizer: a fixed, well-mixed hash (absl::Hash is seeded per
  // process, which would make table order differ between runs).
  struct KeyHash {
    size_t operator()(uint64_t k) const {
      k ^= k >> 33;
      k *= 0xff51afd7ed558ccdULL;
      k ^= k >> 33;
      k *= 0xc4ceb9fe1a85ec53ULL;
      k ^= k >> 33;
      return static_cast<size_t>(k);
    }
  };

  InteractionWeights weights_;
  absl::flat_hash_map<uint64_t, Interaction, KeyHash, std::equal_to<uint64_t>,
                      HugePageAllocator<std::pair<const uint64_t, Interaction>>>
      cells_;
};

}  // namespace streamrec
