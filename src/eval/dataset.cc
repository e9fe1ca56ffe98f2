#include "eval/dataset.h"

#include <algorithm>

#include "common/strings.h"
#include "features/sessionizer.h"

namespace streamrec {

DatasetStats StatsOf(const EvalDataset& d) {
  std::vector<bool> user_seen(d.num_users), item_seen(d.num_items);
  DatasetStats stats;
  for (const EvalEvent& e : d.events) {
    if (e.user.value < d.num_users && !user_seen[e.user.value]) {
      user_seen[e.user.value] = true;
      ++stats.users;
    }
    if (e.item.value < d.num_items && !item_seen[e.item.value]) {
      item_seen[e.item.value] = true;
      ++stats.items;
    }
  }
  stats.interactions = static_cast<int64_t>(d.events.size());
  return stats;
}

absl::Status ValidateDataset(const EvalDataset& d, std::string_view what) {
  if (d.events.empty())
    return absl::InvalidArgumentError(StrCat(what, ": the dataset has no events"));
  for (size_t i = 0; i < d.events.size(); ++i) {
    const EvalEvent& e = d.events[i];
    if (!(e.user.value < d.num_users) || !(e.item.value < d.num_items)) {
      return absl::InvalidArgumentError(StrCat(what, ": event ", i, " has user ", e.user.value,
                                               " and item ", e.item.value, ", but ids must be < ",
                                               d.num_users, " users and ", d.num_items, " items"));
    }
    if (i > 0 && EvalEventLess(e, d.events[i - 1])) {
      return absl::InvalidArgumentError(
          StrCat(what, ": events must be sorted by (time, seq), but event ", i, " (time ",
                 e.time.micros, ", seq ", e.seq, ") comes before event ", i - 1, " (time ",
                 d.events[i - 1].time.micros, ", seq ", d.events[i - 1].seq, ")"));
    }
  }
  return absl::OkStatus();
}

uint32_t DistinctItems(std::span<const EvalEvent> events) {
  std::vector<uint32_t> items;
  items.reserve(events.size());
  for (const EvalEvent& e : events) items.push_back(e.item.value);
  std::sort(items.begin(), items.end());
  return static_cast<uint32_t>(std::unique(items.begin(), items.end()) - items.begin());
}

Sessions SplitIntoSessions(std::span<const EvalEvent> events) {
  // Pass 1: the engine's Sessionizer numbers each user's sessions; a change of number
  // opens the next global session id.
  constexpr uint32_t kNone = ~0u;
  Sessionizer sessionizer;
  Session closed;
  std::vector<uint32_t> open_id;  // per user: the global id of the open session
  std::vector<uint32_t> open_number;
  std::vector<uint32_t> session_of(events.size());
  uint32_t next_id = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const EvalEvent& e = events[i];
    sessionizer.Add(e.user, e.time, e.type, PurchaseTotals{}, &closed);
    const uint32_t number = sessionizer.Current(e.user)->index;
    if (e.user.value >= open_id.size()) {
      open_id.resize(e.user.value + 1, kNone);
      open_number.resize(e.user.value + 1, 0);
    }
    if (open_number[e.user.value] != number) {
      open_number[e.user.value] = number;
      open_id[e.user.value] = next_id++;
    }
    session_of[i] = open_id[e.user.value];
  }
  // Pass 2: counting sort by session; within a session events stay in time order.
  Sessions out;
  out.offsets.assign(next_id + 1, 0);
  for (uint32_t s : session_of) ++out.offsets[s + 1];
  for (uint32_t s = 0; s < next_id; ++s) out.offsets[s + 1] += out.offsets[s];
  out.event_index.resize(events.size());
  std::vector<uint32_t> fill(out.offsets.begin(), out.offsets.end() - 1);
  for (size_t i = 0; i < events.size(); ++i) out.event_index[fill[session_of[i]]++] = i;
  return out;
}

}  // namespace streamrec
