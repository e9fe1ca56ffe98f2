#pragma once
// FeatureOperators: the incremental operators behind the six feature tables, applied
// to the merged record stream in micro-batches. `streamrec pipeline` replays files
// through them; the live engine applies each ingested micro-batch the same way.
//
// Operation: Apply() takes records in stream order (StreamOrderLess) and appends what
// the batch emits (one enriched event per event record, one session per session
// that the batch completed) to a FeatureOutput. The state tables (user_profiles,
// user_item_matrix, user_features, item_features) are views of the state at any time.
//
// Concurrency: single writer. Nothing here locks; the engine serializes access.
//
// User-keyed state (PurchaseHistory, Sessionizer, UserProfiles, UserItemMatrix, whose
// row headers hold each user's engagement counts) and item-keyed state (ItemFeatures)
// are kept apart, so that a user partition owns the former and item aggregates merge
// across partitions.

#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "common/byte_io.h"
#include "common/event.h"
#include "features/counters.h"
#include "features/purchase_history.h"
#include "features/sessionizer.h"
#include "features/user_item_matrix.h"
#include "features/user_profiles.h"
#include "features/user_slots.h"

namespace streamrec {

struct FeatureConfig {
  int64_t session_gap_micros = Sessionizer::kDefaultGapMicros;
  InteractionWeights weights;
};

// An event with the purchase history as of its time (the enriched_events row).
struct EnrichedEvent {
  EventTime time;
  PurchaseTotals history;
  UserIdx user;
  ItemIdx item;
  EventType type;
  uint32_t session = 0;  // the user's session number (1, 2, ...) that the event joined
};

struct CompletedSession {
  UserIdx user;
  Session session;
};

struct FeatureOutput {
  std::vector<EnrichedEvent> enriched;
  std::vector<CompletedSession> sessions;
  void Clear() {
    enriched.clear();
    sessions.clear();
  }
};

class FeatureOperators {
 public:
  explicit FeatureOperators(FeatureConfig config = {});

  // Sizes the dense per-user and per-item arrays for ids below `users` and `items`, and
  // the user-item matrix for up to `records` pairs, so they are allocated once (a batch
  // run knows all three up front).
  void Reserve(size_t users, size_t items, size_t records);

  // REQUIRES: `batch` is in stream order and follows every record applied before.
  void Apply(std::span<const Record> batch, FeatureOutput* out);

  // The live engine applies a record in two halves, so that the order-free aggregates
  // are current when the record arrives, while what depends on order waits for the
  // watermark:
  //   ApplyOrderFree: user engagement, the user-item matrix, item features (sums);
  //   ApplyOrdered:   purchase totals, sessions, profiles; emits like Apply.
  // ApplyOrderFree(r) at any time, then ApplyOrdered(r) in stream order, leaves the same
  // state and output as Apply(r). REQUIRES for ApplyOrdered: as for Apply.
  void ApplyOrderFree(std::span<const Record> records);
  void ApplyOrdered(std::span<const Record> records, FeatureOutput* out);

  // Records that arrived too late for stream order (behind the live watermark): they
  // update the order-free aggregates and the purchase totals and emit nothing; sessions
  // and enriched events never see them.
  void ApplyLate(std::span<const Record> records);

  // Appends every user's open session (end of a batch run: they are complete).
  // `users` bounds the user ids to visit.
  void EmitOpenSessions(size_t users, FeatureOutput* out) const;

  const PurchaseHistory& purchase_history() const { return purchases_; }
  const Sessionizer& sessionizer() const { return sessions_; }
  const UserProfiles& user_profiles() const { return profiles_; }
  const UserItemMatrix& user_item_matrix() const { return matrix_; }
  // A user's view, click and cart counts (the user-item matrix's row sums).
  EngagementCounts user_engagement(UserIdx user) const { return matrix_.Engagement(user); }
  const ItemFeatures& item_features() const { return items_; }

  int64_t records_applied() const { return records_applied_; }
  // Heap bytes held by the operators' state (ids and names excluded), by key.
  struct StateBytes {
    size_t user_keyed = 0;  // user slots (purchase totals, open sessions, row headers), profiles
    size_t item_keyed = 0;  // item features
    size_t pair_keyed = 0;  // the user-item matrix's cells
    size_t total() const { return user_keyed + item_keyed + pair_keyed; }
  };
  StateBytes MemoryBytes() const;

  // Snapshots of the whole state. Load replaces it; DataLoss when the bytes are short or
  // malformed (the state is then unspecified: discard the object).
  void Save(ByteWriter* w) const;
  absl::Status Load(ByteReader* r);

 private:
  void ApplyOrderFreeOne(const Record& r, UserSlot& slot);
  void ApplyOrderedOne(const Record& r, UserSlot& slot, Session* closed, FeatureOutput* out);
  // Brings into cache the state that `group`'s records will touch in ApplyOrderFreeOne
  // (kOrderFree), in ApplyOrderedOne (kOrdered), or in both.
  enum class Halves { kOrderFree, kOrdered, kBoth };
  void LoadState(std::span<const Record> group, Halves halves) const;

  // What every event of a user touches, in one slot per user (features/user_slots.h):
  // the purchase totals, the open session and the matrix's row header. On the heap, so
  // that the operators' pointers to it survive a move of this object.
  std::unique_ptr<UserSlots> slots_ = std::make_unique<UserSlots>();
  PurchaseHistory purchases_;
  Sessionizer sessions_;
  UserProfiles profiles_;
  UserItemMatrix matrix_;
  ItemFeatures items_;
  int64_t records_applied_ = 0;
};

}  // namespace streamrec
