#pragma once
// User profiles: per user, aggregates over the user's sessions. Completed sessions are
// folded in as they close; the profile view adds the open session, which is always
// the user's last. User-keyed state; 40 bytes per user.

#include <cstdint>
#include <optional>

#include "common/id_vector.h"
#include "features/sessionizer.h"

namespace streamrec {

struct UserProfile {
  uint32_t total_sessions = 0;
  double avg_clicks_per_session = 0;
  double avg_views_per_session = 0;
  double avg_session_length = 0;
  double avg_time_gap = 0;                    // mean of the sessions' average gaps
  std::optional<double> avg_purchase_amount;  // as of the last session's last event
  uint32_t max_past_purchases = 0;
  uint32_t last_session_clicks = 0;
  uint32_t last_session_views = 0;
  double last_session_length = 0;
  EventType last_session_event = EventType::kView;
};

class UserProfiles {
 public:
  void AddClosedSession(UserIdx user, const Session& session) {
    Aggregate& a = closed_.At(user);
    ++a.sessions;
    a.clicks += session.count(EventType::kClick);
    a.views += session.count(EventType::kView);
    a.length_seconds += session.LengthSeconds();
    a.gap_seconds += session.AverageGapSeconds();
    a.max_past_purchases = std::max(a.max_past_purchases, session.history_at_end.count);
  }

  // The profile of a user whose latest session is `open`.
  UserProfile Profile(UserIdx user, const Session& open) const {
    Aggregate a = closed_.Get(user);
    const uint32_t n = a.sessions + 1;
    UserProfile p;
    p.total_sessions = n;
    p.avg_clicks_per_session = static_cast<double>(a.clicks + open.count(EventType::kClick)) / n;
    p.avg_views_per_session = static_cast<double>(a.views + open.count(EventType::kView)) / n;
    p.avg_session_length = (a.length_seconds + open.LengthSeconds()) / n;
    p.avg_time_gap = (a.gap_seconds + open.AverageGapSeconds()) / n;
    p.avg_purchase_amount = open.history_at_end.Average();
    p.max_past_purchases = std::max(a.max_past_purchases, open.history_at_end.count);
    p.last_session_clicks = open.count(EventType::kClick);
    p.last_session_views = open.count(EventType::kView);
    p.last_session_length = open.LengthSeconds();
    p.last_session_event = open.last_event;
    return p;
  }
  void Prefetch(UserIdx user) const { closed_.Prefetch(user); }
  void Reserve(size_t n) { closed_.Reserve(n); }
  size_t MemoryBytes() const { return closed_.MemoryBytes(); }
  void Save(ByteWriter* w) const { closed_.Save(w); }
  bool Load(ByteReader* r) { return closed_.Load(r); }

 private:
  struct Aggregate {
    uint32_t sessions = 0;
    uint32_t max_past_purchases = 0;
    uint64_t clicks = 0;
    uint64_t views = 0;
    double length_seconds = 0;
    double gap_seconds = 0;
  };
  IdVector<UserIdx, Aggregate> closed_;
};

}  // namespace streamrec
