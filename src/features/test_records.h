#pragma once
// Test helper for the operators' tests: builds records with increasing input order
// (seq), as a loader would, at times given in seconds after kBase.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/event.h"

namespace streamrec::testing_records {

constexpr int64_t kMinute = 60;
constexpr int64_t kBase = 1'706'781'600;  // 2024-02-01 10:00:00 UTC, in seconds

class Records {
 public:
  Records& Event(uint32_t user, uint32_t item, EventType type, EventTime time) {
    records_.push_back(Make(user, item, RecordKind::kEvent, type, 0, time, next_seq_++));
    return *this;
  }
  Records& Event(uint32_t user, uint32_t item, EventType type, int64_t seconds) {
    return Event(user, item, type, EventTime::FromSeconds(kBase + seconds));
  }
  Records& Purchase(uint32_t user, uint32_t item, double amount, int64_t seconds) {
    records_.push_back(Make(user, item, RecordKind::kPurchase, EventType::kView, amount,
                            EventTime::FromSeconds(kBase + seconds), next_seq_++));
    return *this;
  }
  // A clickstream purchase event: a purchase record and a kPurchase event, same time and seq.
  Records& PurchaseEvent(uint32_t user, uint32_t item, double amount, int64_t seconds) {
    const uint32_t seq = next_seq_++;
    const EventTime time = EventTime::FromSeconds(kBase + seconds);
    records_.push_back(
        Make(user, item, RecordKind::kPurchase, EventType::kView, amount, time, seq));
    records_.push_back(Make(user, item, RecordKind::kEvent, EventType::kPurchase, 0, time, seq));
    return *this;
  }

  // The records in stream order (what stream/ordering.h produces).
  std::vector<Record> Sorted() const {
    std::vector<Record> sorted = records_;
    std::stable_sort(sorted.begin(), sorted.end(), StreamOrderLess);
    return sorted;
  }
  const std::vector<Record>& raw() const { return records_; }

 private:
  static Record Make(uint32_t user, uint32_t item, RecordKind kind, EventType type, double amount,
                     EventTime time, uint32_t seq) {
    Record r;
    r.time = time;
    r.amount = amount;
    r.user = UserIdx(user);
    r.item = ItemIdx(item);
    r.seq = seq;
    r.kind = kind;
    r.type = type;
    return r;
  }

  std::vector<Record> records_;
  uint32_t next_seq_ = 0;
};

}  // namespace streamrec::testing_records
