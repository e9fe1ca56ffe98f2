#pragma once
// Strong, dense 32-bit ids. External string ids are interned to these at the edge
// (see interner.h); everything inside the engine indexes flat arrays with them.

#include <compare>
#include <cstdint>
#include <limits>

namespace streamrec {

template <typename Tag>
struct DenseId {
  uint32_t value = std::numeric_limits<uint32_t>::max();

  constexpr DenseId() = default;
  constexpr explicit DenseId(uint32_t v) : value(v) {}
  constexpr bool valid() const { return value != std::numeric_limits<uint32_t>::max(); }
  friend constexpr auto operator<=>(DenseId, DenseId) = default;
  template <typename H>
  friend H AbslHashValue(H h, DenseId id) {
    return H::combine(std::move(h), id.value);
  }
};

using UserIdx = DenseId<struct UserIdxTag>;
using ItemIdx = DenseId<struct ItemIdxTag>;

}  // namespace streamrec
