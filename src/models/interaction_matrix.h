#pragma once
// InteractionMatrix: the user-item matrix of the batch models (ALS, item-kNN), stored
// twice in compressed sparse rows: by user (each row's items ascending) and by item
// (each column's users ascending). Cell (u, i) holds the summed weight of u's
// interactions with i (e.g. the event weights view 1, click 2, add_to_cart 4,
// purchase 8).
//
// Layout: row r of a side is entries [offsets[r], offsets[r + 1]) of its index and
// weight arrays. Both sides hold the same cells with the same weights, bit for bit.
//
// Immutable once built; any number of threads may read it.

#include <cstdint>
#include <span>
#include <vector>

#include "common/ids.h"

namespace streamrec {

struct WeightedInteraction {
  UserIdx user;
  ItemIdx item;
  float weight = 1;
};

class InteractionMatrix {
 public:
  InteractionMatrix() = default;

  // Duplicate (user, item) cells are summed, in input order.
  // REQUIRES: every user < num_users, item < num_items; weights > 0 and finite.
  // Cost: O(cells + users + items) time plus a sort of each user's row; 16 bytes per
  // stored cell (8 per direction) plus 8 bytes per user and per item (offsets).
  static InteractionMatrix FromInteractions(std::span<const WeightedInteraction> cells,
                                            uint32_t num_users, uint32_t num_items);

  uint32_t num_users() const { return num_users_; }
  uint32_t num_items() const { return num_items_; }
  size_t nnz() const { return user_items_.size(); }

  // REQUIRES (all four): the id is below num_users() or num_items().
  std::span<const ItemIdx> UserItems(UserIdx u) const {
    return Row(user_offsets_, user_items_, u.value);
  }
  std::span<const float> UserWeights(UserIdx u) const {
    return Row(user_offsets_, user_weights_, u.value);
  }
  std::span<const UserIdx> ItemUsers(ItemIdx i) const {
    return Row(item_offsets_, item_users_, i.value);
  }
  std::span<const float> ItemWeights(ItemIdx i) const {
    return Row(item_offsets_, item_weights_, i.value);
  }

  // One side's arrays as the training kernels take them: row r is cells
  // [offsets[r], offsets[r + 1]) of `indices` (the other side's ids) and `weights`.
  struct Csr {
    std::span<const uint64_t> offsets;  // rows + 1 entries
    const uint32_t* indices;
    std::span<const float> weights;
  };
  Csr ByUser() const;
  Csr ByItem() const;

 private:
  template <typename T>
  static std::span<const T> Row(const std::vector<uint64_t>& offsets, const std::vector<T>& v,
                                uint32_t r) {
    return std::span<const T>(v.data() + offsets[r], offsets[r + 1] - offsets[r]);
  }

  uint32_t num_users_ = 0;
  uint32_t num_items_ = 0;
  std::vector<uint64_t> user_offsets_{0};
  std::vector<ItemIdx> user_items_;
  std::vector<float> user_weights_;
  std::vector<uint64_t> item_offsets_{0};
  std::vector<UserIdx> item_users_;
  std::vector<float> item_weights_;
};

}  // namespace streamrec
