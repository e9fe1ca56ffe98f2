#include "features/feature_operators.h"

namespace streamrec {

FeatureOperators::FeatureOperators(FeatureConfig config)
    : sessions_(config.session_gap_micros), matrix_(config.weights) {}

// The two halves of a record, shared by Apply (both, fused in one prefetched loop) and
// the live engine's ApplyOrderFree / ApplyOrdered. Inlined: they run for every record.
[[gnu::always_inline]] inline void FeatureOperators::ApplyOrderFreeOne(const Record& r) {
  if (r.kind == RecordKind::kPurchase) {
    matrix_.AddPurchase(r.user, r.item, r.amount);
    items_.AddPurchase(r.item, r.amount);
  } else {
    engagement_.Add(r.user, r.type);
    matrix_.AddEvent(r.user, r.item, r.type);
    items_.AddEvent(r.item, r.type);
  }
}

[[gnu::always_inline]] inline void FeatureOperators::ApplyOrderedOne(const Record& r,
                                                                     Session* closed,
                                                                     FeatureOutput* out) {
  if (r.kind == RecordKind::kPurchase) {
    purchases_.Add(r.user, r.amount);
    return;
  }
  const PurchaseTotals history = purchases_.Totals(r.user);
  if (sessions_.Add(r.user, r.time, r.type, history, closed)) {
    profiles_.AddClosedSession(r.user, *closed);
    out->sessions.push_back(CompletedSession{r.user, *closed});
  }
  out->enriched.push_back(
      EnrichedEvent{r.time, history, r.user, r.item, r.type, sessions_.Current(r.user)->index});
}

void FeatureOperators::Apply(std::span<const Record> batch, FeatureOutput* out) {
  // State is spread over arrays of hundreds of MB; each record touches several of them
  // at random. Prefetching the slots of a record some records ahead overlaps those
  // cache misses.
  // The matrix needs two steps: its row header (prefetched with the other user state)
  // says where the pair's cell is, so the cell is prefetched later, from the header.
  constexpr size_t kAhead = 32;
  constexpr size_t kCellAhead = 16;
  const size_t n = batch.size();
  Session closed;
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      const Record& ahead = batch[i + kAhead];
      purchases_.Prefetch(ahead.user);
      sessions_.Prefetch(ahead.user);
      engagement_.Prefetch(ahead.user);
      items_.Prefetch(ahead.item);
      matrix_.PrefetchRow(ahead.user);
    }
    if (i + kCellAhead < n) {
      const Record& ahead = batch[i + kCellAhead];
      matrix_.PrefetchCell(ahead.user, ahead.item);
    }
    ApplyOrderedOne(batch[i], &closed, out);
    ApplyOrderFreeOne(batch[i]);
  }
  records_applied_ += static_cast<int64_t>(batch.size());
}

void FeatureOperators::ApplyOrderFree(std::span<const Record> records) {
  for (const Record& r : records) ApplyOrderFreeOne(r);
}

void FeatureOperators::ApplyOrdered(std::span<const Record> records, FeatureOutput* out) {
  Session closed;
  for (const Record& r : records) ApplyOrderedOne(r, &closed, out);
  records_applied_ += static_cast<int64_t>(records.size());
}

void FeatureOperators::ApplyLate(std::span<const Record> records) {
  ApplyOrderFree(records);
  for (const Record& r : records) {
    if (r.kind == RecordKind::kPurchase) purchases_.Add(r.user, r.amount);
  }
  records_applied_ += static_cast<int64_t>(records.size());
}

void FeatureOperators::Reserve(size_t users, size_t items, size_t records) {
  purchases_.Reserve(users);
  matrix_.Reserve(users, records);
  sessions_.Reserve(users);
  profiles_.Reserve(users);
  engagement_.Reserve(users);
  items_.Reserve(items);
}

void FeatureOperators::EmitOpenSessions(size_t users, FeatureOutput* out) const {
  for (uint32_t u = 0; u < users; ++u) {
    if (const Session* s = sessions_.Current(UserIdx(u)); s != nullptr) {
      out->sessions.push_back(CompletedSession{UserIdx(u), *s});
    }
  }
}

FeatureOperators::StateBytes FeatureOperators::MemoryBytes() const {
  return StateBytes{.user_keyed = purchases_.MemoryBytes() + sessions_.MemoryBytes() +
                                  profiles_.MemoryBytes() + engagement_.MemoryBytes(),
                    .item_keyed = items_.MemoryBytes(),
                    .pair_keyed = matrix_.MemoryBytes()};
}

void FeatureOperators::Save(ByteWriter* w) const {
  w->Put<int64_t>(records_applied_);
  purchases_.Save(w);
  sessions_.Save(w);
  profiles_.Save(w);
  matrix_.Save(w);
  engagement_.Save(w);
  items_.Save(w);
}

absl::Status FeatureOperators::Load(ByteReader* r) {
  const bool ok = r->Get(&records_applied_) && purchases_.Load(r) && sessions_.Load(r) &&
                  profiles_.Load(r) && matrix_.Load(r) && engagement_.Load(r) && items_.Load(r);
  if (!ok) return absl::DataLossError("feature state in the snapshot is truncated or malformed");
  return absl::OkStatus();
}

}  // namespace streamrec
