#include "features/feature_operators.h"

namespace streamrec {

FeatureOperators::FeatureOperators(FeatureConfig config)
    : sessions_(config.session_gap_micros), matrix_(config.weights) {}

void FeatureOperators::Apply(std::span<const Record> batch, FeatureOutput* out) {
  Session closed;
  for (const Record& r : batch) {
    if (r.kind == RecordKind::kPurchase) {
      purchases_.Add(r.user, r.amount);
      matrix_.AddPurchase(r.user, r.item, r.amount);
      items_.AddPurchase(r.item, r.amount);
      continue;
    }
    const PurchaseTotals history = purchases_.Totals(r.user);
    out->enriched.push_back(EnrichedEvent{r.time, history, r.user, r.item, r.type});
    if (sessions_.Add(r.user, r.time, r.type, history, &closed)) {
      profiles_.AddClosedSession(r.user, closed);
      out->sessions.push_back(CompletedSession{r.user, closed});
    }
    engagement_.Add(r.user, r.type);
    matrix_.AddEvent(r.user, r.item, r.type);
    items_.AddEvent(r.item, r.type);
  }
  records_applied_ += static_cast<int64_t>(batch.size());
}

void FeatureOperators::EmitOpenSessions(size_t users, FeatureOutput* out) const {
  for (uint32_t u = 0; u < users; ++u) {
    if (const Session* s = sessions_.Current(UserIdx(u)); s != nullptr) {
      out->sessions.push_back(CompletedSession{UserIdx(u), *s});
    }
  }
}

size_t FeatureOperators::MemoryBytes() const {
  return purchases_.MemoryBytes() + sessions_.MemoryBytes() + profiles_.MemoryBytes() +
         matrix_.MemoryBytes() + engagement_.MemoryBytes() + items_.MemoryBytes();
}

}  // namespace streamrec
