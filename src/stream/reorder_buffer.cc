#include "stream/reorder_buffer.h"

#include <algorithm>

#include "common/check.h"

namespace streamrec {

ReorderBuffer::ReorderBuffer(int64_t allowed_lateness_micros) : lateness_(allowed_lateness_micros) {
  STREAMREC_CHECK(lateness_ >= 0) << "allowed lateness must not be negative";
}

EventTime ReorderBuffer::Watermark(EventTime now) const {
  if (!seen_any_) return kMinTime;
  const int64_t idle = std::max<int64_t>(0, now.micros - last_arrival_.micros);
  // Never ahead of the wall clock less the lateness: an event dated in the future (a
  // client's clock ahead, up to the day validation allows) waits in the buffer instead
  // of making every event of the present late.
  const int64_t followed =
      std::min(max_event_time_.micros - lateness_ + idle, now.micros - lateness_);
  return std::max(watermark_at_arrival_, EventTime{followed});
}

bool ReorderBuffer::Push(const Record& r, EventTime now) {
  const EventTime watermark = Watermark(now);
  if (seen_any_ && r.time < watermark) {
    ++late_;
    return false;
  }
  watermark_at_arrival_ = watermark;
  max_event_time_ = seen_any_ ? std::max(max_event_time_, r.time) : r.time;
  last_arrival_ = now;
  seen_any_ = true;
  Insert(Entry{r, arrivals_++});
  return true;
}

int64_t ReorderBuffer::BucketOf(EventTime t) {
  // Floor division: times before 1970 (bootstrapped history) go to negative buckets.
  const int64_t q = t.micros / kBucketMicros;
  return t.micros % kBucketMicros < 0 ? q - 1 : q;
}

void ReorderBuffer::Insert(const Entry& e) {
  Bucket& bucket = buckets_[BucketOf(e.record.time)];
  if (bucket.sorted && bucket.entries.size() > bucket.released &&
      StreamOrderLess(e.record, bucket.entries.back().record)) {
    bucket.sorted = false;  // arrivals come in arrival order: only time can put it back
  }
  bucket.entries.push_back(e);
  ++size_;
  std::vector<Record>& pending = pending_by_user_[e.record.user];
  // Keep the user's list in stream order; records mostly arrive in order.
  auto at = pending.end();
  while (at != pending.begin() && StreamOrderLess(e.record, *(at - 1))) --at;
  pending.insert(at, e.record);
}

void ReorderBuffer::Save(ByteWriter* w) const {
  w->Put<uint8_t>(seen_any_);
  w->Put(max_event_time_.micros);
  w->Put(watermark_at_arrival_.micros);
  w->Put(last_arrival_.micros);
  w->Put(arrivals_);
  w->Put(late_);
  // The buffered entries in any order: Load inserts them back one by one.
  w->PutVarint(size_);
  for (const auto& [_, bucket] : buckets_) {
    for (size_t i = bucket.released; i < bucket.entries.size(); ++i) w->Put(bucket.entries[i]);
  }
}

bool ReorderBuffer::Load(ByteReader* r) {
  uint8_t seen = 0;
  uint64_t n = 0;
  if (!r->Get(&seen) || !r->Get(&max_event_time_.micros) ||
      !r->Get(&watermark_at_arrival_.micros) || !r->Get(&last_arrival_.micros) ||
      !r->Get(&arrivals_) || !r->Get(&late_) || !r->GetVarint(&n) ||
      n > r->remaining() / sizeof(Entry)) {
    return false;
  }
  seen_any_ = seen != 0;
  buckets_.clear();
  size_ = 0;
  pending_by_user_.clear();
  for (uint64_t i = 0; i < n; ++i) {
    Entry e;
    if (!r->Get(&e)) return false;
    Insert(e);
  }
  return true;
}

void ReorderBuffer::Emit(const Record& r, std::vector<Record>* out) {
  out->push_back(r);
  --size_;
  auto it = pending_by_user_.find(r.user);
  STREAMREC_CHECK(it != pending_by_user_.end() && !it->second.empty())
      << "a released record has no pending entry";
  std::vector<Record>& pending = it->second;
  // Released in stream order, so the user's first pending record is this one.
  pending.erase(pending.begin());
  if (pending.empty()) pending_by_user_.erase(it);
}

void ReorderBuffer::Sort(Bucket* bucket) {
  if (bucket->sorted) return;
  std::sort(bucket->entries.begin() + static_cast<ptrdiff_t>(bucket->released),
            bucket->entries.end(), [](const Entry& a, const Entry& b) {
              if (StreamOrderLess(a.record, b.record)) return true;
              if (StreamOrderLess(b.record, a.record)) return false;
              return a.arrival < b.arrival;
            });
  bucket->sorted = true;
}

void ReorderBuffer::Release(EventTime now, std::vector<Record>* out, size_t max_records) {
  const EventTime watermark = Watermark(now);
  // Only buckets up to the watermark's hold records before it.
  const int64_t last = BucketOf(watermark);
  size_t left = max_records;
  while (!buckets_.empty() && left > 0) {
    const auto first = buckets_.begin();
    if (first->first > last) return;
    Bucket& bucket = first->second;
    Sort(&bucket);
    while (left > 0 && bucket.released < bucket.entries.size() &&
           bucket.entries[bucket.released].record.time < watermark) {
      Emit(bucket.entries[bucket.released++].record, out);
      --left;
    }
    // The rest is at or after the watermark, or past max_records.
    if (bucket.released < bucket.entries.size()) return;
    // Emptied. A bucket the watermark has passed gets no more records (they would be
    // late); the one it is inside may, so it stays, without its released entries.
    if (first->first < last) {
      buckets_.erase(first);
    } else {
      bucket.entries.clear();
      bucket.released = 0;
      return;
    }
  }
}

bool ReorderBuffer::Releasable(EventTime now) const {
  if (size_ == 0) return false;
  const EventTime watermark = Watermark(now);
  const int64_t last = BucketOf(watermark);
  // Buckets before the watermark's are emptied and erased by Release, so the first one
  // with records decides.
  for (const auto& [key, bucket] : buckets_) {
    if (key > last) return false;
    if (bucket.released == bucket.entries.size()) continue;  // kept empty, or all released
    if (key < last) return true;                             // wholly before the watermark
    for (size_t i = bucket.released; i < bucket.entries.size(); ++i) {
      if (bucket.entries[i].record.time < watermark) return true;
    }
    return false;
  }
  return false;
}

void ReorderBuffer::ReleaseAll(std::vector<Record>* out) {
  for (auto& [_, bucket] : buckets_) {
    Sort(&bucket);
    for (size_t i = bucket.released; i < bucket.entries.size(); ++i) {
      Emit(bucket.entries[i].record, out);
    }
  }
  buckets_.clear();
}

std::span<const Record> ReorderBuffer::PendingOf(UserIdx user) const {
  auto it = pending_by_user_.find(user);
  if (it == pending_by_user_.end()) return {};
  return it->second;
}

}  // namespace streamrec
