#pragma once
// Sessionizer: cuts each user's events into sessions. A new session starts when the
// gap to the user's previous event exceeds the gap limit (30 minutes by default; a gap
// of exactly the limit stays in the session).
//
// Invariant: events of one user arrive in stream order (time, then input order), so a
// session only ever grows at its end and is complete as soon as the next one starts.
// User-keyed state: one open Session per user, 64 bytes of the user's slot
// (features/user_slots.h).

#include <cstdint>

#include "common/event.h"
#include "features/user_slots.h"

namespace streamrec {

class Sessionizer {
 public:
  static constexpr int64_t kDefaultGapMicros = 30 * 60 * kMicrosPerSecond;
  // With slots of its own, or in `slots` (shared with the other user-keyed operators;
  // they must outlive this object).
  explicit Sessionizer(int64_t gap_micros = kDefaultGapMicros, UserSlots* slots = nullptr)
      : gap_micros_(gap_micros), open_(slots) {}

  // Adds an event of `user`. When it opens a new session and the user had one, the
  // finished session is copied to `*closed` and true is returned.
  // REQUIRES: events of `user` arrive in stream order.
  bool Add(UserIdx user, EventTime time, EventType type, const PurchaseTotals& history,
           Session* closed) {
    return Add(open_.At(user), time, type, history, closed);
  }
  // The same on the user's open session, found by the caller (a batch loop finds a
  // user's slot once per record). REQUIRES: `open` is that user's, in these slots.
  bool Add(Session& open, EventTime time, EventType type, const PurchaseTotals& history,
           Session* closed) const;

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
  void Save(ByteWriter* w) const { open_.Save(w); }
  bool Load(ByteReader* r) { return open_.Load(r); }
  int64_t gap_micros() const { return gap_micros_; }

 private:
  // Whether an event at `time` starts a session after `s`, which has an event.
  bool GapExceeded(const Session& s, EventTime time) const {
    return time.micros - s.end.micros > gap_micros_;
  }

  int64_t gap_micros_;
  UserColumn<Session, &UserSlot::open> open_;
};

}  // namespace streamrec
