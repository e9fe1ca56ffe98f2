#pragma once
// ReorderBuffer: the live half of event-time ordering. Records arrive in any order;
// the buffer holds each one until the watermark passes its time, then releases it in
// stream order (StreamOrderLess, ties by arrival), so that events that are out of order
// by less than the allowed lateness reach the operators as if they had come sorted.
//
// Watermark. W = max(event time seen) - allowed lateness, and while nothing arrives it
// moves on by the wall-clock time that passes; it never runs ahead of the wall clock less
// the lateness (a record dated in the future waits instead of making the present late):
// at wall time `now`,
//   W(now) = max(W at the last arrival,
//                min(max_event_time - lateness + (now - last arrival), now - lateness)).
// W never goes back. Records with time < W are released; a record with time < W on
// arrival is late: it is not buffered (Push returns false) and the caller applies it to
// the order-free aggregates only. So every record released after another is at or after
// it in stream order.
//
// Read-your-writes: a buffered record is not yet in the ordered state, so the buffer
// also keeps each user's pending records, for queries that must see them at once.
//
// Concurrency: none inside; the engine's writer owns it and serializes readers.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "common/byte_io.h"
#include "common/event.h"

namespace streamrec {

class ReorderBuffer {
 public:
  // `allowed_lateness_micros` >= 0.
  explicit ReorderBuffer(int64_t allowed_lateness_micros);

  // Buffers `r`, which arrived at wall time `now`. Returns false, and buffers nothing,
  // when r.time is behind the watermark (a late record).
  bool Push(const Record& r, EventTime now);

  // Appends to `out`, in stream order, every buffered record with time < the watermark
  // at wall time `now`; at most `max_records` of them, the first (the others stay for
  // the next call, which releases them first: releasing in parts gives the same
  // sequence as at once).
  void Release(EventTime now, std::vector<Record>* out, size_t max_records = SIZE_MAX);
  // Whether Release(now) would release a record. Cheap when it would not for a while;
  // at worst it looks at the records of the watermark's bucket (a second of them).
  bool Releasable(EventTime now) const;
  // Appends every buffered record, in stream order (shutdown, or a snapshot that must
  // not lose the buffer's content).
  void ReleaseAll(std::vector<Record>* out);

  // The user's buffered records, in stream order.
  std::span<const Record> PendingOf(UserIdx user) const;

  EventTime Watermark(EventTime now) const;

  // Snapshots: the watermark's inputs and every buffered record, with its arrival rank.
  void Save(ByteWriter* w) const;
  // Replaces the contents; false when the input is short or malformed.
  bool Load(ByteReader* r);

  size_t size() const { return size_; }
  int64_t late_records() const { return late_; }
  int64_t allowed_lateness_micros() const { return lateness_; }

 private:
  struct Entry {
    Record record;
    uint64_t arrival;  // ties in stream order keep arrival order
  };
  // Records by event time, kBucketMicros to a bucket. Release sorts a bucket (stream
  // order, then arrival) when it first takes from it, so a record costs an append and
  // its share of a small sort, whatever the number buffered. Arrivals into a bucket that
  // was sorted are appended after it and sorted in at the next release from it.
  static constexpr int64_t kBucketMicros = 1'000'000;
  struct Bucket {
    std::vector<Entry> entries;
    size_t released = 0;  // entries[0, released) are released (a prefix, once sorted)
    bool sorted = true;   // entries[released, end) are in order
  };
  static int64_t BucketOf(EventTime t);
  // Sorts the bucket's entries not yet released, if an arrival left them out of order.
  static void Sort(Bucket* bucket);
  void Insert(const Entry& e);
  void Emit(const Record& r, std::vector<Record>* out);

  int64_t lateness_;
  bool seen_any_ = false;
  EventTime max_event_time_{};
  EventTime watermark_at_arrival_{kMinTime};
  EventTime last_arrival_{};
  uint64_t arrivals_ = 0;
  int64_t late_ = 0;
  size_t size_ = 0;  // buffered: not yet released
  absl::btree_map<int64_t, Bucket> buckets_;
  absl::flat_hash_map<UserIdx, std::vector<Record>> pending_by_user_;
};

}  // namespace streamrec
