#pragma once
// The event model: what one accepted input row becomes inside the engine.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/huge_page_allocator.h"
#include "common/ids.h"
#include "common/time.h"

namespace streamrec {

// Clickstream event types. The numbering indexes per-type counter arrays.
enum class EventType : uint8_t { kView = 0, kClick = 1, kAddToCart = 2, kPurchase = 3 };
constexpr int kEventTypeCount = 4;

// "view", "click", "add_to_cart", "purchase".
std::string_view EventTypeName(EventType type);
// The inverse of EventTypeName; nullopt for any other text.
std::optional<EventType> ParseEventType(std::string_view name);

// What a record changes. At one instant every purchase applies before any event, so that
// an event's point-in-time purchase history includes purchases at its own timestamp
// ("at or before"). The enumerator order is that rule; stream ordering sorts by it.
enum class RecordKind : uint8_t {
  kPurchase = 0,  // a purchase (history file, purchase file, or a purchase event's amount)
  kEvent = 1,     // a clickstream event of any type, purchase events included
};

// One record of the merged, event-time ordered stream. 32 bytes, trivially copyable.
// A clickstream purchase event becomes two records with the same time and seq: a
// kPurchase carrying the amount and a kEvent of type kPurchase.
struct Record {
  EventTime time;
  double amount = 0;  // kPurchase: the amount (finite, >= 0); kEvent: unused
  UserIdx user;
  ItemIdx item;
  uint32_t seq = 0;  // input order; ties in time keep it
  RecordKind kind = RecordKind::kEvent;
  EventType type = EventType::kView;  // kEvent only
};
static_assert(sizeof(Record) == 32);

// Records in bulk (a file's worth), in huge pages.
using RecordVector = HugePageVector<Record>;

// The total order of the stream: time, then purchases before events, then input order.
// A function object, not a function: algorithms given it (sort, is_sorted, merges)
// inline the compare instead of calling through a pointer.
struct StreamOrder {
  bool operator()(const Record& a, const Record& b) const {
    if (a.time != b.time) return a.time < b.time;
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.seq < b.seq;
  }
};
inline constexpr StreamOrder StreamOrderLess{};

}  // namespace streamrec
