#pragma once
// Recommender: the live recommenders, updated with every event. It owns
//   Popularity        popular and trending sums and their top pools (item-keyed),
//   CoOccurrence      pair weights, item norms, neighbour pools (item- and pair-keyed),
//   RecentItemsTable  each user's last distinct items (user-keyed),
// and answers: recommendations for a user or an anonymous session (hybrid, session,
// item, trending, popular), an item's similar items, popular and trending items.
//
// Operation. Observe() takes the events in event-time order per user (the engine's
// stream order). For event e = (user u, item j, type t, session s):
//   - popular(j) += w(t); trending(j) gains w(t) at time e.time (also for late events);
//   - late events stop here. Otherwise, with u's recent items (distinct, most recent
//     first; an entry is an item's occurrence in one session, with its strongest type):
//     * j new in this session: n(j) += w(t), and j pairs with each of the pair_window
//       most recent other items i: c(i,j) += f * g(w_i, w(t)), where f = 1 if i is of
//       session s, else cross_session_weight, and g = PairWeighting. j goes to the front.
//     * j already in this session with a weaker type t0 (e.g. click after view): the
//       difference is added, n(j) += w(t) - w(t0) and c(i,j) += f * (g(w_i, w(t)) -
//       g(w_i, w(t0))), so a pair counts as the strongest engagement of both items
//       while they are among the recent items together. j goes to the front.
//     * otherwise j only goes to the front.
//     A pair where both items were purchased counts one co-purchase (kBoughtTogether).
//
// Queries (scores per ModelKind; ranking: score desc, then item id asc):
//   kItem     sim(a, j) over the pool of a = the user's latest item.
//   kSession  sum over recent items i of the current and the previous session of
//             r(i) * sim(i, j), r(i) = recency_decay^position * (1, or
//             previous_session_weight for the previous session), where an item's
//             similarity to itself is revisit_weight: people come back to what they
//             viewed (reason kViewedRecently).
//   kHybrid   (1 - b) * session(j) / max session + b * trending(j) / max trending,
//             b = trending_blend; candidates are the session candidates and the best
//             trending items, so users without history get trending (cold_start).
//   kTrending, kPopular: the pools.
// Every answer passes the Filter. An unknown user or item gives an empty or a
// trending-filled answer.
//
// Concurrency: single writer (Observe, Flush, Load), many readers (the const methods),
// never both at once: the engine serializes them with a shared mutex. Nothing here
// locks. Readers share no mutable state.
//
// Two update threads: with update_threads = 2, ObserveBatch is a two-stage pipeline.
// The caller's thread does each chunk's user-keyed work (recent items, norms, popularity)
// and queues its pair updates; a background thread applies them to the pair table and
// the pools while the caller goes on with the next chunk, or returns to compute the next
// events (the feature operators). The two stages touch disjoint state. ObserveBatch may
// return with the last chunk's pair updates in flight: Flush() waits for them, and the
// writer calls it before any reader or Save may run (the readers of pair state CHECK this).
// The state is the same as with one thread, bit for bit.

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/background_worker.h"
#include "common/byte_io.h"
#include "models/cooccurrence.h"
#include "models/model_config.h"
#include "models/model_types.h"
#include "models/popularity.h"
#include "models/recent_items.h"

namespace streamrec {

class Recommender {
 public:
  // REQUIRES: ValidateModelConfig(config).ok(); update_threads is 1 or 2 (see above).
  explicit Recommender(ModelConfig config = {}, int update_threads = 1);
  ~Recommender();
  // Moves REQUIRE that no update is in flight (Flush).
  Recommender(Recommender&&) noexcept;
  Recommender& operator=(Recommender&&) noexcept;

  // REQUIRES: valid (interned) user and item ids; each user's non-late events arrive in
  // event-time order.
  void Observe(const ModelEvent& e);
  // The same as Observe on each event in turn, exactly; faster (pair updates are applied
  // a chunk of events at a time, and state is prefetched some events ahead). With two
  // update threads the last chunk's pair updates may still be in flight on return.
  void ObserveBatch(std::span<const ModelEvent> events);
  // Returns once every observed event is applied. Cheap when nothing is in flight.
  void Flush();
  // The order-free part of Observe, popular and trending, for an event the engine will
  // observe later (when its reorder buffer releases it) with popularity_counted set: so
  // the two update on arrival. Safe while pair updates are in flight.
  void ObservePopularity(ItemIdx item, EventType type, EventTime time) {
    popularity_.Add(item, config_.event_weights[static_cast<int>(type)], time);
  }

  // Each replaces `*out` with up to `k` items, best first.
  void RecommendForUser(UserIdx user, size_t k, ModelKind kind, const Filter& filter,
                        std::vector<ScoredItem>* out) const;
  // An anonymous session as events (any order; sorted by time here), scored as a user
  // whose recent items they are, all in one session.
  void RecommendForSession(std::span<const SessionItem> items, size_t k, ModelKind kind,
                           const Filter& filter, std::vector<ScoredItem>* out) const;
  // The item's neighbours by similarity; reasons name `item` as the anchor.
  void SimilarItems(ItemIdx item, size_t k, std::vector<ScoredItem>* out) const;
  // Trending scores are decayed to `now`; popular ignores it.
  void Popular(size_t k, bool trending, EventTime now, const Filter& filter,
               std::vector<ScoredItem>* out) const;
  // The user's recent distinct items, most recent first; empty for unknown users.
  std::vector<RecentItem> RecentItems(UserIdx user) const;

  // Gives kBoughtTogether to the items of a list made with tell_bought_together false
  // whose kViewedTogether pair was co-purchased: what the list would have said.
  void TellBoughtTogether(std::span<ScoredItem> items) const;

  // The raw statistics behind the scores (0 for unknown items or pairs).
  double PairWeight(ItemIdx a, ItemIdx b) const;
  uint32_t CoPurchases(ItemIdx a, ItemIdx b) const;
  double ItemNorm(ItemIdx item) const { return co_.Norm(item); }
  double Similarity(ItemIdx a, ItemIdx b) const;
  double PopularScore(ItemIdx item) const { return popularity_.popular(item); }
  double TrendingScore(ItemIdx item, EventTime now) const {
    return popularity_.trending_scaled(item) * popularity_.DecayFactor(now);
  }

  ModelCounters counters() const;
  struct StateBytes {
    size_t user_keyed = 0;  // recent items
    size_t item_keyed = 0;  // popularity, norms, neighbour pools
    size_t pair_keyed = 0;  // the pair table
    size_t total() const { return user_keyed + item_keyed + pair_keyed; }
  };
  StateBytes MemoryBytesByKey() const;
  size_t MemoryBytes() const { return MemoryBytesByKey().total(); }
  const ModelConfig& config() const { return config_; }

  // Snapshot: a header (magic, version, payload size), the payload (the state-shaping
  // config fields, then every component) and a checksum of the payload.
  void Save(ByteWriter* w) const;
  // Replaces the state with a snapshot's. DataLoss for truncated or corrupt bytes,
  // FailedPrecondition for a snapshot of a differently configured model; either way
  // the state is unchanged.
  absl::Status Load(ByteReader* r);

 private:
  struct Candidate;
  class CandidateSet;
  class Excluder;

  // Updates e's user's row and norms; queues e's pair updates in `pending`.
  void ObserveSequence(const ModelEvent& e, std::vector<CoOccurrence::PairUpdate>* pending);
  // Queues the pair updates of `item` with its window in `pending`.
  void PairWithWindow(std::span<const RecentSlot> row, uint32_t skip, ItemIdx item,
                      uint32_t session, const EventType* old_type, EventType new_type,
                      std::vector<CoOccurrence::PairUpdate>* pending);
  void Recommend(std::span<const RecentSlot> row, size_t k, ModelKind kind, const Filter& filter,
                 std::vector<ScoredItem>* out) const;
  void SessionCandidates(std::span<const RecentSlot> row, bool latest_only,
                         const Excluder& excluded, CandidateSet* out) const;
  // The reason of a session candidate: its own revisit, its one strong anchor, or the
  // session as a whole (see Filter::tell_bought_together).
  Reason CandidateReason(const Candidate& c, bool single_anchor, bool tell_bought) const;
  Reason TogetherReason(ItemIdx anchor, ItemIdx item) const;
  float PairGain(float a, float b) const;
  // CHECKs the contract that no pair update is in flight while the state is read.
  void CheckFlushed() const;

  ModelConfig config_;
  Popularity popularity_;
  // With two update threads, the pair thread writes co_'s pair side (its counters
  // included) while the caller's thread reads recent_ on every event: each starts a
  // cache line of its own, or the line they shared would pass between the cores.
  alignas(64) CoOccurrence co_;
  alignas(64) RecentItemsTable recent_;
  // ObserveBatch's queued pair updates, a chunk of events each. Two update threads: the
  // n-th chunk handed to the worker is filled in pending_[n % size]; the worker has at
  // most size - 1 chunks queued or running, so the buffer the caller fills next is free
  // (a chunk without pair updates is not handed over, and its buffer is filled again).
  std::vector<std::vector<CoOccurrence::PairUpdate>> pending_;
  uint64_t chunks_queued_ = 0;  // chunks handed to the worker
  int update_threads_;
  bool in_flight_ = false;  // the worker may have chunks to apply
  int64_t events_observed_ = 0;
  int64_t late_events_ = 0;
  // Two update threads: the thread that applies pair updates. Last, so that it is
  // destroyed (waited for) first.
  std::unique_ptr<BackgroundWorker> worker_;
};

// The checksum that ends a snapshot, over its payload (64 bits, not cryptographic:
// catches torn and flipped bytes).
uint64_t ModelSnapshotChecksum(std::string_view payload);

}  // namespace streamrec
