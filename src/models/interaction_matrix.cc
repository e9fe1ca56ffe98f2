#include "models/interaction_matrix.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "common/check.h"

namespace streamrec {
namespace {

// Counting sort's first half: offsets[r] = number of entries of rows before r.
std::vector<uint64_t> PrefixSums(const std::vector<uint64_t>& counts) {
  std::vector<uint64_t> offsets(counts.size() + 1, 0);
  for (size_t r = 0; r < counts.size(); ++r) offsets[r + 1] = offsets[r] + counts[r];
  return offsets;
}

// Dense ids are one uint32_t each, so an array of them is an array of uint32_t.
template <typename Id>
const uint32_t* RawIds(const std::vector<Id>& ids) {
  static_assert(sizeof(Id) == sizeof(uint32_t) && std::is_standard_layout_v<Id>);
  return reinterpret_cast<const uint32_t*>(ids.data());
}

}  // namespace

InteractionMatrix::Csr InteractionMatrix::ByUser() const {
  return {user_offsets_, RawIds(user_items_), user_weights_};
}

InteractionMatrix::Csr InteractionMatrix::ByItem() const {
  return {item_offsets_, RawIds(item_users_), item_weights_};
}

InteractionMatrix InteractionMatrix::FromInteractions(std::span<const WeightedInteraction> cells,
                                                      uint32_t num_users, uint32_t num_items) {
  InteractionMatrix m;
  m.num_users_ = num_users;
  m.num_items_ = num_items;

  // By user, in input order within each row.
  std::vector<uint64_t> counts(num_users, 0);
  for (const WeightedInteraction& c : cells) {
    STREAMREC_CHECK(c.user.value < num_users && c.item.value < num_items)
        << "cell (" << c.user.value << ", " << c.item.value << ") outside " << num_users << " x "
        << num_items;
    STREAMREC_CHECK(c.weight > 0 && std::isfinite(c.weight)) << "weight " << c.weight;
    ++counts[c.user.value];
  }
  std::vector<uint64_t> raw_offsets = PrefixSums(counts);
  std::vector<ItemIdx> items(cells.size());
  std::vector<float> weights(cells.size());
  {
    std::vector<uint64_t> next(raw_offsets.begin(), raw_offsets.end() - 1);
    for (const WeightedInteraction& c : cells) {
      const uint64_t at = next[c.user.value]++;
      items[at] = c.item;
      weights[at] = c.weight;
    }
  }

  // Each row sorted by (item, input position), duplicates summed in input order, then
  // compacted in place (a row never lands after where it was read).
  m.user_offsets_.assign(num_users + 1, 0);
  std::vector<uint64_t> keys;
  std::vector<float> row_weights;
  size_t out = 0;
  for (uint32_t u = 0; u < num_users; ++u) {
    const uint64_t begin = raw_offsets[u], end = raw_offsets[u + 1];
    keys.clear();
    for (uint64_t k = begin; k < end; ++k) {
      keys.push_back(uint64_t{items[k].value} << 32 | (k - begin));
    }
    std::sort(keys.begin(), keys.end());
    row_weights.assign(weights.begin() + begin, weights.begin() + end);
    for (size_t k = 0; k < keys.size(); ++k) {
      const auto item = static_cast<uint32_t>(keys[k] >> 32);
      const float w = row_weights[keys[k] & 0xffffffffu];
      if (k > 0 && static_cast<uint32_t>(keys[k - 1] >> 32) == item) {
        weights[out - 1] += w;
      } else {
        items[out] = ItemIdx(item);
        weights[out] = w;
        ++out;
      }
    }
    m.user_offsets_[u + 1] = out;
  }
  items.resize(out);
  weights.resize(out);
  m.user_items_ = std::move(items);
  m.user_weights_ = std::move(weights);

  // By item: scattering users in ascending order keeps each column ascending.
  counts.assign(num_items, 0);
  for (ItemIdx i : m.user_items_) ++counts[i.value];
  m.item_offsets_ = PrefixSums(counts);
  m.item_users_.resize(out);
  m.item_weights_.resize(out);
  std::vector<uint64_t> next(m.item_offsets_.begin(), m.item_offsets_.end() - 1);
  for (uint32_t u = 0; u < num_users; ++u) {
    for (uint64_t k = m.user_offsets_[u]; k < m.user_offsets_[u + 1]; ++k) {
      const uint64_t at = next[m.user_items_[k].value]++;
      m.item_users_[at] = UserIdx(u);
      m.item_weights_[at] = m.user_weights_[k];
    }
  }
  return m;
}

}  // namespace streamrec
