#pragma once
// Sessionizer: cuts each user's events into sessions. A new session starts when the
// gap to the user's previous event exceeds the gap limit (30 minutes by default; a gap
// of exactly the limit stays in the session).
//
// Invariant: events of one user arrive in stream order (time, then input order), so a
// session only ever grows at its end and is complete as soon as the next one starts.
// User-keyed state: one open Session per user (64 bytes).

#include <array>
#include <cstdint>

#include "common/event.h"
#include "common/id_vector.h"
#include "features/purchase_history.h"

namespace streamrec {

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

class Sessionizer {
 public:
  static constexpr int64_t kDefaultGapMicros = 30 * 60 * kMicrosPerSecond;
  explicit Sessionizer(int64_t gap_micros = kDefaultGapMicros) : gap_micros_(gap_micros) {}

  // Adds an event of `user`. When it opens a new session and the user had one, the
  // finished session is copied to `*closed` and true is returned.
  // REQUIRES: events of `user` arrive in stream order.
  bool Add(UserIdx user, EventTime time, EventType type, const PurchaseTotals& history,
           Session* closed);

  // The user's open (latest) session, or nullptr if the user has no event.
  const Session* Current(UserIdx user) const {
    const Session* s = open_.Find(user);
    return s != nullptr && s->index > 0 ? s : nullptr;
  }
  void Prefetch(UserIdx user) const { open_.Prefetch(user); }
  // Whether Add(user, time, ...) would close the user's open session, i.e. return true.
  // Batch loops use it to prefetch what a closing session updates.
  bool WouldClose(UserIdx user, EventTime time) const {
    const Session* s = Current(user);
    return s != nullptr && GapExceeded(*s, time);
  }
  void Reserve(size_t n) { open_.Reserve(n); }
  size_t MemoryBytes() const { return open_.MemoryBytes(); }
  void Save(ByteWriter* w) const { open_.Save(w); }
  bool Load(ByteReader* r) { return open_.Load(r); }
  int64_t gap_micros() const { return gap_micros_; }

 private:
  // Whether an event at `time` starts a session after `s`, which has an event.
  bool GapExceeded(const Session& s, EventTime time) const {
    return time.micros - s.end.micros > gap_micros_;
  }

  int64_t gap_micros_;
  IdVector<UserIdx, Session> open_;
};

}  // namespace streamrec
