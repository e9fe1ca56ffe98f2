#include "features/feature_operators.h"

#include <algorithm>

namespace streamrec {

FeatureOperators::FeatureOperators(FeatureConfig config)
    : purchases_(slots_.get()),
      sessions_(config.session_gap_micros, slots_.get()),
      matrix_(config.weights, slots_.get()) {}

// The two halves of a record, shared by Apply (both, one group at a time) and
// the live engine's ApplyOrderFree / ApplyOrdered. Inlined: they run for every record.
// `slot` is the record's user's, found once per record: a lookup in each operator was 8%
// slower (docs/PERFORMANCE.md, *A user's slot*).
[[gnu::always_inline]] inline void FeatureOperators::ApplyOrderFreeOne(const Record& r,
                                                                       UserSlot& slot) {
  if (r.kind == RecordKind::kPurchase) {
    matrix_.AddPurchase(slot.row, r.user, r.item, r.amount);
    items_.AddPurchase(r.item, r.amount);
  } else {
    matrix_.AddEvent(slot.row, r.user, r.item, r.type);
    items_.AddEvent(r.item, r.type);
  }
}

[[gnu::always_inline]] inline void FeatureOperators::ApplyOrderedOne(const Record& r,
                                                                     UserSlot& slot,
                                                                     Session* closed,
                                                                     FeatureOutput* out) {
  if (r.kind == RecordKind::kPurchase) {
    slot.purchases.Add(r.amount);  // what PurchaseHistory::Add does
    return;
  }
  const PurchaseTotals history = slot.purchases;
  if (sessions_.Add(slot.open, r.time, r.type, history, closed)) {
    profiles_.AddClosedSession(r.user, *closed);
    out->sessions.push_back(CompletedSession{r.user, *closed});
  }
  out->enriched.push_back(EnrichedEvent{r.time, history, r.user, r.item, r.type, slot.open.index});
}

namespace {

// State is spread over arrays of hundreds of MB, and each record touches several of
// them at random. So records are applied in groups: first the state that the group's
// records will touch is brought into cache, in tight loops whose misses the CPU
// overlaps (the Load*State functions), then the group is applied, mostly from cache.
constexpr size_t kGroup = 64;  // 64 records' state stays in cache until it is used

// Calls fn(group) for consecutive groups of at most kGroup records of `records`.
template <typename Fn>
void ForEachGroup(std::span<const Record> records, Fn&& fn) {
  for (size_t begin = 0; begin < records.size(); begin += kGroup) {
    fn(records.subspan(begin, std::min(kGroup, records.size() - begin)));
  }
}

}  // namespace

void FeatureOperators::LoadState(std::span<const Record> group, Halves halves) const {
  const bool order_free = halves != Halves::kOrdered;
  const bool ordered = halves != Halves::kOrderFree;
  // Prefetches first: the per-user and per-item arrays are tens of MB, where a prefetch
  // arrives in time if something else runs meanwhile.
  for (const Record& r : group) {
    if (ordered) {
      purchases_.Prefetch(r.user);
      sessions_.Prefetch(r.user);
    }
    if (order_free) {
      items_.Prefetch(r.item);
    }
  }
  // The matrix's cells lie in hundreds of MB, beyond the TLB's reach, where prefetches
  // are dropped: plain loads in a tight loop, whose misses the CPU overlaps.
  if (order_free) matrix_.LoadCells(group);
  // About one event in five closes a session, which then updates the user's profile.
  // The test reads the session slots prefetched above.
  if (ordered) {
    for (const Record& r : group) {
      if (r.kind == RecordKind::kEvent && sessions_.WouldClose(r.user, r.time)) {
        profiles_.Prefetch(r.user);
      }
    }
  }
}

void FeatureOperators::Apply(std::span<const Record> batch, FeatureOutput* out) {
  Session closed;
  ForEachGroup(batch, [&](std::span<const Record> group) {
    LoadState(group, Halves::kBoth);
    for (const Record& r : group) {
      UserSlot& slot = slots_->At(r.user);
      ApplyOrderedOne(r, slot, &closed, out);
      ApplyOrderFreeOne(r, slot);
    }
  });
  records_applied_ += static_cast<int64_t>(batch.size());
}

void FeatureOperators::ApplyOrderFree(std::span<const Record> records) {
  ForEachGroup(records, [&](std::span<const Record> group) {
    LoadState(group, Halves::kOrderFree);
    for (const Record& r : group) ApplyOrderFreeOne(r, slots_->At(r.user));
  });
}

void FeatureOperators::ApplyOrdered(std::span<const Record> records, FeatureOutput* out) {
  Session closed;
  ForEachGroup(records, [&](std::span<const Record> group) {
    LoadState(group, Halves::kOrdered);
    for (const Record& r : group) ApplyOrderedOne(r, slots_->At(r.user), &closed, out);
  });
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
  slots_->Reserve(users);
  matrix_.Reserve(users, records);
  profiles_.Reserve(users);
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
  return StateBytes{.user_keyed = slots_->MemoryBytes() + profiles_.MemoryBytes(),
                    .item_keyed = items_.MemoryBytes(),
                    .pair_keyed = matrix_.MemoryBytes()};
}

void FeatureOperators::Save(ByteWriter* w) const {
  w->Put<int64_t>(records_applied_);
  purchases_.Save(w);
  sessions_.Save(w);
  profiles_.Save(w);
  matrix_.Save(w);
  items_.Save(w);
}

absl::Status FeatureOperators::Load(ByteReader* r) {
  const bool ok = r->Get(&records_applied_) && purchases_.Load(r) && sessions_.Load(r) &&
                  profiles_.Load(r) && matrix_.Load(r) && items_.Load(r);
  if (!ok) return absl::DataLossError("feature state in the snapshot is truncated or malformed");
  return absl::OkStatus();
}

}  // namespace streamrec
