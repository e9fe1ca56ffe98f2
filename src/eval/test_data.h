#pragma once
// Test helper: builds EvalDatasets event by event, with increasing seq (input order) and
// times in seconds after a fixed base.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "eval/dataset.h"

namespace streamrec::eval_testing {

constexpr int64_t kMinute = 60;
constexpr int64_t kBase = 1'706'781'600;  // 2024-02-01 10:00:00 UTC, in seconds

class DatasetBuilder {
 public:
  DatasetBuilder& Add(uint32_t user, uint32_t item, int64_t seconds,
                      EventType type = EventType::kView) {
    events_.push_back(EvalEvent{UserIdx(user), ItemIdx(item), type,
                                EventTime::FromSeconds(kBase + seconds), next_seq_++});
    return *this;
  }
  // A session of `items` for `user`, one minute apart from `start`.
  DatasetBuilder& Session(uint32_t user, std::vector<uint32_t> items, int64_t start) {
    for (size_t i = 0; i < items.size(); ++i) Add(user, items[i], start + i * kMinute);
    return *this;
  }
  // Sorted by (time, seq); the id bounds are max id + 1 unless given larger.
  EvalDataset Build(uint32_t num_users = 0, uint32_t num_items = 0) const {
    EvalDataset d;
    d.events = events_;
    std::stable_sort(d.events.begin(), d.events.end(), EvalEventLess);
    d.num_users = num_users;
    d.num_items = num_items;
    for (const EvalEvent& e : d.events) {
      d.num_users = std::max(d.num_users, e.user.value + 1);
      d.num_items = std::max(d.num_items, e.item.value + 1);
    }
    return d;
  }

 private:
  std::vector<EvalEvent> events_;
  uint32_t next_seq_ = 0;
};

inline std::vector<ItemIdx> Items(std::initializer_list<uint32_t> ids) {
  std::vector<ItemIdx> out;
  for (uint32_t id : ids) out.push_back(ItemIdx(id));
  return out;
}

}  // namespace streamrec::eval_testing
