#include "features/sessionizer.h"

namespace streamrec {

bool Sessionizer::Add(Session& s, EventTime time, EventType type, const PurchaseTotals& history,
                      Session* closed) const {
  bool finished = false;
  if (s.index == 0 || GapExceeded(s, time)) {
    if (s.index > 0) {
      *closed = s;
      finished = true;
    }
    const uint32_t next_index = s.index + 1;
    s = Session{};
    s.index = next_index;
    s.start = time;
  }
  s.end = time;
  ++s.num_events;
  ++s.counts[static_cast<int>(type)];
  s.last_event = type;
  s.history_at_end = history;
  return finished;
}

}  // namespace streamrec
