#pragma once
// RecentItemsTable: per user, the last `width` distinct items, most recent first, in one
// flat array (row u is slots [u * width, (u + 1) * width)), grown on first write.
// A slot is 16 bytes: item, session number and strongest event type packed in 32 bits,
// latest event time. Unused slots (a row's tail) have an invalid item.
// User-keyed state: partitions by user with the rest of it.

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "common/byte_io.h"
#include "common/event.h"
#include "common/huge_page_allocator.h"
#include "common/ids.h"

namespace streamrec {

// Session numbers are kept modulo 2^28 (a user would need 2^28 sessions, one per 30
// minutes for 15,000 years, to wrap).
constexpr uint32_t kSessionMask = (1u << 28) - 1;

struct RecentSlot {
  ItemIdx item;
  uint32_t session_type = 0;  // session (28 bits) << 4 | EventType
  EventTime time;

  uint32_t session() const { return session_type >> 4; }
  EventType type() const { return static_cast<EventType>(session_type & 0xF); }
  void Set(uint32_t session, EventType type) {
    session_type = ((session & kSessionMask) << 4) | static_cast<uint32_t>(type);
  }
};
static_assert(sizeof(RecentSlot) == 16);

class RecentItemsTable {
 public:
  explicit RecentItemsTable(uint32_t width) : width_(width) {}

  // The user's row, grown if new (all slots unused).
  std::span<RecentSlot> Row(UserIdx user) {
    const size_t end = (size_t{user.value} + 1) * width_;
    if (end > slots_.size()) {
      if (end > slots_.capacity()) slots_.reserve(std::max(end, slots_.capacity() * 2));
      slots_.resize(end);
    }
    return {slots_.data() + size_t{user.value} * width_, width_};
  }
  // The user's row, or an empty span for users never written.
  std::span<const RecentSlot> Find(UserIdx user) const {
    const size_t begin = size_t{user.value} * width_;
    if (!user.valid() || begin + width_ > slots_.size()) return {};
    return {slots_.data() + begin, width_};
  }
  void Prefetch(UserIdx user) const {
    const size_t begin = size_t{user.value} * width_;
    if (begin + width_ <= slots_.size()) __builtin_prefetch(slots_.data() + begin, 1);
  }

  uint32_t width() const { return width_; }
  size_t users() const { return slots_.size() / width_; }
  size_t MemoryBytes() const { return slots_.capacity() * sizeof(RecentSlot); }

  void Save(ByteWriter* w) const;
  // Replaces the state; refuses item ids >= `items`, unknown types and a width other
  // than this table's.
  absl::Status Load(ByteReader* r, size_t items);

 private:
  uint32_t width_;
  HugePageVector<RecentSlot> slots_;
};

}  // namespace streamrec
