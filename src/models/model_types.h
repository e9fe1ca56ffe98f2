#pragma once
// The vocabulary of the live recommenders: what comes in (ModelEvent, SessionItem),
// what goes out (ScoredItem with a Reason), and how a request narrows it (Filter).

#include <cstdint>
#include <span>

#include "absl/functional/function_ref.h"
#include "common/event.h"
#include "common/ids.h"

namespace streamrec {

// One clickstream event as the engine's writer hands it to the models, in event-time
// order. `session` is the user's session number from the Sessionizer (1, 2, ...; a new
// value means a new session). `late`: the event arrived behind the watermark; only
// order-free aggregates (popularity and trending sums) take it.
struct ModelEvent {
  UserIdx user;
  ItemIdx item;
  EventType type = EventType::kView;
  EventTime time;
  uint32_t session = 0;
  bool late = false;
  // Popular and trending took it already, on arrival (Recommender::ObservePopularity).
  bool popularity_counted = false;
};

// One event of an anonymous session, for RecommendForSession.
struct SessionItem {
  ItemIdx item;
  EventType type = EventType::kView;
  EventTime time;
};

// One entry of a user's recent-items list (most recent first). `type` is the strongest
// event type the item had in `session`; `time` its latest event.
struct RecentItem {
  ItemIdx item;
  EventType type = EventType::kView;
  EventTime time;
  uint32_t session = 0;
};

enum class ModelKind : uint8_t {
  kHybrid = 0,    // session scores blended with trending; cold users get trending
  kSession = 1,   // neighbours of the current and the previous session's items
  kItem = 2,      // neighbours of the user's most recent item
  kTrending = 3,  // time-decayed weighted event counts
  kPopular = 4,   // all-time weighted event counts
};
constexpr int kModelKindCount = 5;

enum class ReasonKind : uint8_t {
  kNone = 0,
  kViewedTogether = 1,    // co-occurs with `anchor` in users' recent items
  kBoughtTogether = 2,    // co-purchased with `anchor`
  kSimilarToSession = 3,  // several session items together; `anchor` contributes most
  kTrending = 4,
  kPopular = 5,
  kForYou = 6,          // a batch model's pick from the user's whole history
  kViewedRecently = 7,  // the user's own recent item, likely to be revisited
  kSameTaste = 8,       // close to `anchor` in a batch model's factors
};

// Why an item is recommended. `anchor` is the item the reason refers to (invalid for
// kTrending and kPopular); the engine renders e.g. "viewed together with sku_A".
struct Reason {
  ReasonKind kind = ReasonKind::kNone;
  ItemIdx anchor;
  friend bool operator==(const Reason&, const Reason&) = default;
};

struct ScoredItem {
  ItemIdx item;
  double score = 0;
  Reason reason;
  friend bool operator==(const ScoredItem&, const ScoredItem&) = default;
};

inline bool NeverExcluded(ItemIdx) { return false; }

// What a request leaves out. Build it in the call (the predicate is referenced, not
// copied): `RecommendForUser(u, 10, kind, {.exclude_if = purchased}, &out)`.
struct Filter {
  // Caller-given ids that are never recommended (e.g. items on the page already).
  std::span<const ItemIdx> exclude = {};
  // True for items to leave out, e.g. those the user has purchased (the engine asks its
  // user-item matrix). Called at most once per candidate; must be cheap.
  absl::FunctionRef<bool(ItemIdx)> exclude_if = &NeverExcluded;
  // Leave out the item of the user's (or session's) latest event: the page the user is
  // on. Other items of the session stay eligible: returning to an item seen minutes ago
  // is among the most likely next actions in e-commerce sessions.
  bool exclude_current_item = true;
  // Leave out items purchased in the user's (or session's) recent items.
  bool exclude_recent_purchases = true;
  // Tell kBoughtTogether from kViewedTogether, which reads the pair's co-purchases (a
  // cache miss each). False: every such reason is kViewedTogether, for a caller that
  // keeps a few of the items and tells them apart then (Recommender::TellBoughtTogether).
  bool tell_bought_together = true;
};

// Counters for /metrics.
struct ModelCounters {
  int64_t events_observed = 0;      // every Observe, late ones included
  int64_t late_events = 0;          // applied to popularity and trending only
  int64_t pair_updates = 0;         // co-occurrence weight increments
  int64_t neighbour_evictions = 0;  // entries dropped from neighbour pools by selections
  int64_t trending_renormalisations = 0;
  size_t pairs = 0;  // distinct co-occurring item pairs
  size_t users = 0;  // user ids with state
  size_t items = 0;  // item ids with state
};

}  // namespace streamrec
