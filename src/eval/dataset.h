#pragma once
// The data an evaluation runs on: events with dense ids, in time order, and the
// session structure the session baselines and the session-next protocol use.
//
// Sessions follow the engine's one rule (features/sessionizer.h): per user, a gap of
// more than 30 minutes to the user's previous event starts a new session.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/event.h"
#include "common/ids.h"

namespace streamrec {

struct EvalEvent {
  UserIdx user;
  ItemIdx item;
  EventType type = EventType::kView;
  EventTime time;
  uint32_t seq = 0;  // input order; breaks ties in time
};

// Time order: time, then seq.
inline bool EvalEventLess(const EvalEvent& a, const EvalEvent& b) {
  if (a.time != b.time) return a.time < b.time;
  return a.seq < b.seq;
}

struct EvalDataset {
  std::vector<EvalEvent> events;          // sorted by (time, seq)
  uint32_t num_users = 0, num_items = 0;  // dense ids are < these
};

// Stats for metrics.json: distinct users, items, and interactions (= events).
struct DatasetStats {
  int64_t users = 0, items = 0, interactions = 0;
};
DatasetStats StatsOf(const EvalDataset&);

// OK, or InvalidArgument naming `what` and the first broken rule: no events, an id out
// of range (with the event's index), or events out of (time, seq) order.
absl::Status ValidateDataset(const EvalDataset& d, std::string_view what);

// The number of distinct items among `events`.
uint32_t DistinctItems(std::span<const EvalEvent> events);

// Events cut into sessions (the 30-minute rule, per user). Session s holds the events
// event_index[offsets[s] .. offsets[s + 1]) of the input span, in time order; sessions
// are numbered in the order of their first event.
struct Sessions {
  std::vector<uint32_t> offsets = {0};
  std::vector<uint32_t> event_index;

  size_t size() const { return offsets.size() - 1; }
  std::span<const uint32_t> of(size_t s) const {
    return std::span<const uint32_t>(event_index).subspan(offsets[s], offsets[s + 1] - offsets[s]);
  }
};
// REQUIRES: `events` in time order.
Sessions SplitIntoSessions(std::span<const EvalEvent> events);

}  // namespace streamrec
