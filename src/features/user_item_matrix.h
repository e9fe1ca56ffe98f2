#pragma once
// The user-item interaction matrix: one cell per (user, item) pair with a purchase or
// an event. Cells live in a dense array in first-seen order (so iteration is a
// sequential scan in a deterministic order); an open-addressing hash set of 4-byte
// cell positions, hashed by the cell's key (user << 32 | item), finds a pair's cell.
// Per pair: a 32-byte cell plus a 4-byte slot and a control byte at the set's load
// factor (7/8 at most, 7/16 just after growing): 38 to 44 bytes. Keyed by user first,
// so the matrix partitions by user with the rest of user state.

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
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
  explicit UserItemMatrix(InteractionWeights weights = {})
      : weights_(weights), index_(0, IndexHash{&cells_}, IndexEq{&cells_}) {}
  // The index refers to cells_ by address.
  UserItemMatrix(const UserItemMatrix&) = delete;
  UserItemMatrix& operator=(const UserItemMatrix&) = delete;

  void AddPurchase(UserIdx user, ItemIdx item, double amount) {
    Interaction& cell = CellFor(user, item);
    ++cell.purchase_count;
    cell.total_spent += amount;
  }
  void AddEvent(UserIdx user, ItemIdx item, EventType type) {
    if (type == EventType::kPurchase) return;  // counted through AddPurchase
    CellFor(user, item).engagement.Add(type);
  }

  // The cell of a pair, or nullptr when the pair has no interaction.
  const Interaction* Find(UserIdx user, ItemIdx item) const {
    auto it = index_.find(KeyProbe{Key(user, item)});
    return it == index_.end() ? nullptr : &cells_[*it].interaction;
  }

  double Score(const Interaction& c) const {
    return weights_.purchase * c.purchase_count + weights_.click * c.engagement.clicks +
           weights_.view * c.engagement.views + weights_.add_to_cart * c.engagement.add_to_cart;
  }

  // Calls fn(UserIdx, ItemIdx, const Interaction&) for every cell, in first-seen order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Cell& c : cells_) {
      fn(UserIdx(static_cast<uint32_t>(c.key >> 32)), ItemIdx(static_cast<uint32_t>(c.key)),
         c.interaction);
    }
  }

  size_t pairs() const { return cells_.size(); }
  size_t MemoryBytes() const {
    return cells_.capacity() * sizeof(Cell) + index_.capacity() * (sizeof(uint32_t) + 1);
  }
  const InteractionWeights& weights() const { return weights_; }

 private:
  struct Cell {
    uint64_t key;
    Interaction interaction;
  };
  using Cells = std::vector<Cell, HugePageAllocator<Cell>>;
  static uint64_t Key(UserIdx u, ItemIdx i) { return (uint64_t{u.value} << 32) | i.value; }

  // The index holds positions in cells_; lookups probe it with a key.
  struct KeyProbe {
    uint64_t key;
  };
  struct IndexHash {
    using is_transparent = void;
    const Cells* cells;
    size_t operator()(uint32_t pos) const { return absl::Hash<uint64_t>{}((*cells)[pos].key); }
    size_t operator()(KeyProbe p) const { return absl::Hash<uint64_t>{}(p.key); }
  };
  struct IndexEq {
    using is_transparent = void;
    const Cells* cells;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(KeyProbe p, uint32_t pos) const { return (*cells)[pos].key == p.key; }
    bool operator()(uint32_t pos, KeyProbe p) const { return (*cells)[pos].key == p.key; }
  };

  Interaction& CellFor(UserIdx user, ItemIdx item) {
    const uint64_t key = Key(user, item);
    auto it = index_.find(KeyProbe{key});
    if (it != index_.end()) return cells_[*it].interaction;
    const auto pos = static_cast<uint32_t>(cells_.size());
    cells_.push_back(Cell{key, Interaction{}});
    index_.insert(pos);
    return cells_.back().interaction;
  }

  InteractionWeights weights_;
  Cells cells_;
  absl::flat_hash_set<uint32_t, IndexHash, IndexEq, HugePageAllocator<uint32_t>> index_;
};

}  // namespace streamrec
