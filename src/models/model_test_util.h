#pragma once
// Test helpers: event streams with session numbers, and ids out of answers.

#include <cstdint>
#include <map>
#include <vector>

#include "common/time.h"
#include "models/model_types.h"

namespace streamrec::model_testing {

constexpr int64_t kMinute = 60 * kMicrosPerSecond;
constexpr EventTime kBase = EventTime::FromSeconds(1'706'745'600);  // 2024-02-01 00:00 UTC

constexpr EventType kView = EventType::kView;
constexpr EventType kClick = EventType::kClick;
constexpr EventType kCart = EventType::kAddToCart;
constexpr EventType kBuy = EventType::kPurchase;

// Builds events in stream order and numbers sessions as the Sessionizer does: a gap of
// more than 30 minutes starts a new one.
class Stream {
 public:
  Stream& Add(uint32_t user, uint32_t item, EventType type, int64_t minute, bool late = false) {
    const EventTime time{kBase.micros + minute * kMinute};
    State& s = users_[user];
    if (!late && (s.session == 0 || time.micros - s.last.micros > 30 * kMinute)) ++s.session;
    if (!late) s.last = time;
    events_.push_back(ModelEvent{UserIdx(user), ItemIdx(item), type, time, s.session, late});
    return *this;
  }
  const std::vector<ModelEvent>& events() const { return events_; }

 private:
  struct State {
    uint32_t session = 0;
    EventTime last;
  };
  std::map<uint32_t, State> users_;
  std::vector<ModelEvent> events_;
};

inline std::vector<uint32_t> Ids(const std::vector<ScoredItem>& items) {
  std::vector<uint32_t> ids;
  for (const ScoredItem& s : items) ids.push_back(s.item.value);
  return ids;
}

}  // namespace streamrec::model_testing
