#pragma once
// UserSlots: per user, the state that every event of the user reads or writes, in one
// 128-byte slot: the open session (Sessionizer), the purchase totals (PurchaseHistory)
// and the header of the user's matrix row (UserItemMatrix). Kept in three arrays, they
// cost an event three cache misses in three arrays of tens of MB; a slot is two
// adjacent cache lines, which the CPU fetches as a pair.
//
// Each operator reads and writes only its own member of the slots, through a
// UserColumn, which it uses like an IdVector of that member. The owner of the operators
// (FeatureOperators) owns the slots and hands them to each; an operator built alone
// owns slots of its own. A batch loop that has found a user's slot hands each operator
// its member instead (the overloads that take a Session or a MatrixRowHeader), so that
// the slot is looked up once per record. Each operator still saves its own column, in
// the bytes an IdVector of its member would write, so the snapshot format does not
// change with the layout.

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <type_traits>

#include "common/byte_io.h"
#include "common/event.h"
#include "common/id_vector.h"
#include "common/ids.h"
#include "features/counters.h"

namespace streamrec {

struct PurchaseTotals {
  uint32_t count = 0;
  double amount = 0;

  void Add(double purchase_amount) {
    ++count;
    amount += purchase_amount;
  }

  // The mean purchase amount; nullopt without purchases.
  std::optional<double> Average() const {
    if (count == 0) return std::nullopt;
    return amount / count;
  }
};

struct Session {
  uint32_t index = 0;  // 1, 2, ... per user in time order; 0: the user has no session yet
  uint32_t num_events = 0;
  EventTime start;
  EventTime end;
  std::array<uint32_t, kEventTypeCount> counts{};  // by EventType
  PurchaseTotals history_at_end;                   // purchase history as of the last event
  EventType last_event = EventType::kView;

  uint32_t count(EventType t) const { return counts[static_cast<int>(t)]; }
  // end - start, in seconds.
  double LengthSeconds() const { return static_cast<double>(end.micros - start.micros) / 1e6; }
  // LengthSeconds() / (num_events - 1); 0 for a one-event session.
  double AverageGapSeconds() const {
    return num_events > 1 ? LengthSeconds() / (num_events - 1) : 0.0;
  }
};

// Where a user's row of the user-item matrix lives, and the row's sums (UserItemMatrix).
// 32 bytes, aligned so that it never straddles two cache lines.
struct alignas(32) MatrixRowHeader {
  uint32_t offset = 0;          // first cell of the row in the matrix's arena
  uint32_t size = 0;            // cells in use
  EngagementCounts engagement;  // the row's view, click and cart counts summed
  uint8_t log2_capacity = 0;    // 0: the user has no row yet
  uint32_t capacity() const { return log2_capacity == 0 ? 0 : uint32_t{1} << log2_capacity; }
};

struct alignas(128) UserSlot {
  Session open;              // Sessionizer: the user's open (latest) session
  MatrixRowHeader row;       // UserItemMatrix
  PurchaseTotals purchases;  // PurchaseHistory: the purchases applied so far
};
static_assert(sizeof(UserSlot) == 128);
static_assert(std::is_trivially_copyable_v<UserSlot>);

using UserSlots = IdVector<UserIdx, UserSlot>;

// The `member` of every user's slot, used like an IdVector<UserIdx, T>: At grows the
// slots, Find is null past them. Built with slots, it shares them (which must outlive
// it); built with null, it owns slots of its own, which a copy copies.
template <typename T, T UserSlot::*member>
class UserColumn {
 public:
  explicit UserColumn(UserSlots* shared = nullptr)
      : own_(shared == nullptr ? std::make_unique<UserSlots>() : nullptr),
        slots_(shared == nullptr ? own_.get() : shared) {}
  UserColumn(const UserColumn& other)
      : own_(other.own_ ? std::make_unique<UserSlots>(*other.own_) : nullptr),
        slots_(own_ ? own_.get() : other.slots_) {}
  UserColumn& operator=(const UserColumn&) = delete;
  UserColumn(UserColumn&&) noexcept = default;
  UserColumn& operator=(UserColumn&&) noexcept = default;

  T& At(UserIdx user) { return slots_->At(user).*member; }
  const T* Find(UserIdx user) const {
    const UserSlot* slot = slots_->Find(user);
    return slot == nullptr ? nullptr : &(slot->*member);
  }
  T Get(UserIdx user) const {
    const T* value = Find(user);
    return value == nullptr ? T{} : *value;
  }
  // Hints that `user`'s member will be read soon (batch loops run ahead).
  void Prefetch(UserIdx user) const {
    if (const T* value = Find(user); value != nullptr) __builtin_prefetch(value, 1);
  }
  size_t size() const { return slots_->size(); }
  void Reserve(size_t users) { slots_->Reserve(users); }
  // Bytes of slots this column owns; shared slots are their owner's to count.
  size_t MemoryBytes() const { return own_ ? own_->MemoryBytes() : 0; }

  // As IdVector<UserIdx, T>::Save: the slot count, then each slot's member as bytes.
  void Save(ByteWriter* w) const {
    static_assert(std::is_trivially_copyable_v<T>);
    w->PutVarint(slots_->size());
    for (uint32_t u = 0; u < slots_->size(); ++u) w->PutRaw(Find(UserIdx(u)), sizeof(T));
  }
  // Replaces every slot's member with what Save wrote (members of slots past the saved
  // count are reset); the slots' other members stay. False (members unspecified) when
  // the input is short or malformed.
  bool Load(ByteReader* r) {
    uint64_t n = 0;
    std::string_view bytes;
    if (!r->GetVarint(&n) || n > UINT32_MAX || n > r->remaining() / sizeof(T) ||
        !r->GetRaw(n * sizeof(T), &bytes)) {
      return false;
    }
    if (n > 0) At(UserIdx(static_cast<uint32_t>(n - 1)));
    for (uint32_t u = 0; u < slots_->size(); ++u) {
      T& value = At(UserIdx(u));
      if (u < n) {
        std::memcpy(&value, bytes.data() + size_t{u} * sizeof(T), sizeof(T));
      } else {
        value = T{};
      }
    }
    return true;
  }

 private:
  std::unique_ptr<UserSlots> own_;  // null: the slots are shared
  UserSlots* slots_;
};

}  // namespace streamrec
