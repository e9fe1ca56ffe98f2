// Co-occurrence: which events pair, with what weight, the similarity formulas, and the
// neighbour pools against a brute-force recomputation.

#include "models/cooccurrence.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/model_test_util.h"
#include "models/recommender.h"

namespace streamrec {
namespace {

using model_testing::Ids;
using model_testing::kBuy;
using model_testing::kCart;
using model_testing::kClick;
using model_testing::kView;
using model_testing::Stream;
using testing::ElementsAre;
using testing::IsEmpty;

void ObserveAll(const Stream& s, Recommender* m) {
  for (const ModelEvent& e : s.events()) m->Observe(e);
}

double W(const Recommender& m, uint32_t a, uint32_t b) {
  return m.PairWeight(ItemIdx(a), ItemIdx(b));
}

TEST(CoOccurrenceTest, ItemsOfOneSessionPairOnce) {
  Recommender m;
  Stream s;
  s.Add(0, 1, kView, 0).Add(0, 2, kView, 1).Add(0, 3, kView, 2).Add(0, 1, kView, 3);
  ObserveAll(s, &m);
  EXPECT_EQ(W(m, 1, 2), 1);
  EXPECT_EQ(W(m, 2, 1), 1);
  EXPECT_EQ(W(m, 1, 3), 1);  // the repeated view of 1 adds nothing
  EXPECT_EQ(W(m, 2, 3), 1);
  EXPECT_EQ(m.ItemNorm(ItemIdx(1)), 1);
  EXPECT_EQ(m.counters().pairs, 3u);
}

TEST(CoOccurrenceTest, CoOccurrenceCountsWithinSessionOnlyWhenCrossSessionWeightIsZero) {
  ModelConfig config;
  config.cross_session_weight = 0;
  Recommender m(config);
  Stream s;
  s.Add(0, 1, kView, 0).Add(0, 2, kView, 10);     // session 1
  s.Add(0, 3, kView, 100).Add(0, 4, kView, 101);  // session 2: gap of 90 minutes
  s.Add(1, 5, kView, 0).Add(2, 6, kView, 0);      // other users never pair
  ObserveAll(s, &m);
  EXPECT_EQ(W(m, 1, 2), 1);
  EXPECT_EQ(W(m, 3, 4), 1);
  EXPECT_EQ(W(m, 2, 3), 0);
  EXPECT_EQ(W(m, 1, 4), 0);
  EXPECT_EQ(W(m, 5, 6), 0);
  EXPECT_EQ(m.counters().pairs, 2u);
}

TEST(CoOccurrenceTest, PreviousSessionPairsAtCrossSessionWeight) {
  ModelConfig config;
  config.cross_session_weight = 0.5f;
  Recommender m(config);
  Stream s;
  s.Add(0, 1, kView, 0).Add(0, 2, kView, 100);
  ObserveAll(s, &m);
  EXPECT_EQ(W(m, 1, 2), 0.5);
}

TEST(CoOccurrenceTest, NewSessionDoesNotPairWithPreviousSessionBeyondHistoryWindow) {
  ModelConfig config;
  config.recent_items = 4;
  config.pair_window = 2;
  config.cross_session_weight = 1;
  Recommender m(config);
  Stream s;
  s.Add(0, 1, kView, 0).Add(0, 2, kView, 1).Add(0, 3, kView, 2);  // session 1
  s.Add(0, 4, kView, 100);                                        // session 2
  ObserveAll(s, &m);
  // 4 pairs with the two most recent items only: 3 and 2, not 1.
  EXPECT_EQ(W(m, 4, 3), 1);
  EXPECT_EQ(W(m, 4, 2), 1);
  EXPECT_EQ(W(m, 4, 1), 0);
  // Within session 1 the window also limits: 3 paired with 2 and 1.
  EXPECT_EQ(W(m, 3, 1), 1);
}

TEST(CoOccurrenceTest, ItemsLeavingTheRecentItemsNoLongerPair) {
  ModelConfig config;
  config.recent_items = 3;
  config.pair_window = 2;
  Recommender m(config);
  Stream s;
  s.Add(0, 1, kView, 0).Add(0, 2, kView, 1).Add(0, 3, kView, 2).Add(0, 4, kView, 3);
  s.Add(0, 5, kView, 4);
  ObserveAll(s, &m);
  EXPECT_EQ(W(m, 5, 1), 0);
  EXPECT_EQ(W(m, 5, 2), 0);
  EXPECT_EQ(W(m, 5, 3), 1);
  EXPECT_EQ(W(m, 5, 4), 1);
  EXPECT_EQ(m.RecentItems(UserIdx(0)).size(), 3u);
}

TEST(CoOccurrenceTest, StrongerTypeAddsTheDifference) {
  Recommender m;  // kStronger: max(w_i, w_j); weights 1, 2, 4, 8
  Stream s;
  s.Add(0, 1, kView, 0).Add(0, 2, kView, 1);  // c = max(1, 1) = 1
  s.Add(0, 2, kClick, 2);                     // c = max(1, 2) = 2
  s.Add(0, 2, kView, 3);                      // a weaker repeat adds nothing
  s.Add(0, 1, kCart, 4);                      // c = max(4, 2) = 4
  ObserveAll(s, &m);
  EXPECT_EQ(W(m, 1, 2), 4);
  EXPECT_EQ(m.ItemNorm(ItemIdx(1)), 4);
  EXPECT_EQ(m.ItemNorm(ItemIdx(2)), 2);
  const std::vector<RecentItem> recent = m.RecentItems(UserIdx(0));
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].item, ItemIdx(1));
  EXPECT_EQ(recent[0].type, kCart);
  EXPECT_EQ(recent[1].type, kClick);
}

TEST(CoOccurrenceTest, PairWeightingsCombineAsDocumented) {
  for (const auto& [weighting, want] :
       std::vector<std::pair<PairWeighting, double>>{{PairWeighting::kStronger, 8},
                                                     {PairWeighting::kWeaker, 1},
                                                     {PairWeighting::kProduct, 8}}) {
    ModelConfig config;
    config.pair_weighting = weighting;
    Recommender m(config);
    Stream s;
    s.Add(0, 1, kView, 0).Add(0, 2, kBuy, 1);
    ObserveAll(s, &m);
    EXPECT_EQ(W(m, 1, 2), want) << static_cast<int>(weighting);
  }
}

TEST(CoOccurrenceTest, BothPurchasedCountsACoPurchase) {
  Recommender m;
  Stream s;
  s.Add(0, 1, kView, 0).Add(0, 1, kBuy, 1).Add(0, 2, kView, 2).Add(0, 2, kBuy, 3);
  s.Add(0, 3, kBuy, 4);
  s.Add(1, 1, kView, 0).Add(1, 2, kView, 1);
  ObserveAll(s, &m);
  EXPECT_EQ(m.CoPurchases(ItemIdx(1), ItemIdx(2)), 1u);
  EXPECT_EQ(m.CoPurchases(ItemIdx(1), ItemIdx(3)), 1u);
  std::vector<ScoredItem> similar;
  m.SimilarItems(ItemIdx(1), 5, &similar);
  ASSERT_FALSE(similar.empty());
  EXPECT_EQ(similar[0].reason.kind, ReasonKind::kBoughtTogether);
  EXPECT_EQ(similar[0].reason.anchor, ItemIdx(1));
}

TEST(CoOccurrenceTest, CosineWithShrinkageMatchesHandComputed) {
  ModelConfig config;
  config.shrinkage = 2;
  Recommender m(config);
  Stream s;
  // Item 1 in three sessions (norm 3), item 2 in two (norm 2), together in two.
  s.Add(0, 1, kView, 0).Add(0, 2, kView, 1);
  s.Add(1, 1, kView, 0).Add(1, 2, kView, 1);
  s.Add(2, 1, kView, 0).Add(2, 3, kView, 1);
  ObserveAll(s, &m);
  EXPECT_DOUBLE_EQ(m.Similarity(ItemIdx(1), ItemIdx(2)), 2 / (std::sqrt(3.0 * 2.0) + 2));
  EXPECT_DOUBLE_EQ(m.Similarity(ItemIdx(1), ItemIdx(3)), 1 / (std::sqrt(3.0 * 1.0) + 2));
  std::vector<ScoredItem> similar;
  m.SimilarItems(ItemIdx(1), 5, &similar);
  EXPECT_THAT(Ids(similar), ElementsAre(2, 3));
  EXPECT_DOUBLE_EQ(similar[0].score, 2 / (std::sqrt(6.0) + 2));
}

TEST(CoOccurrenceTest, ConditionalProbabilityMatchesHandComputed) {
  ModelConfig config;
  config.similarity = Similarity::kConditional;
  config.shrinkage = 1;
  Recommender m(config);
  Stream s;
  s.Add(0, 1, kView, 0).Add(0, 2, kView, 1);
  s.Add(1, 1, kView, 0).Add(1, 3, kView, 1);
  s.Add(2, 2, kView, 0);
  ObserveAll(s, &m);
  EXPECT_DOUBLE_EQ(m.Similarity(ItemIdx(1), ItemIdx(2)), 1.0 / (2 + 1));  // n(1) = 2
  EXPECT_DOUBLE_EQ(m.Similarity(ItemIdx(2), ItemIdx(1)), 1.0 / (2 + 1));  // n(2) = 2
  EXPECT_DOUBLE_EQ(m.Similarity(ItemIdx(3), ItemIdx(1)), 1.0 / (1 + 1));
}

TEST(CoOccurrenceTest, UnknownItemHasNoNeighbours) {
  Recommender m;
  std::vector<ScoredItem> similar{{ItemIdx(1), 1, {}}};
  m.SimilarItems(ItemIdx(5), 10, &similar);
  EXPECT_THAT(similar, IsEmpty());
  m.SimilarItems(ItemIdx(), 10, &similar);
  EXPECT_THAT(similar, IsEmpty());
  Stream s;
  s.Add(0, 1, kView, 0);
  ObserveAll(s, &m);
  m.SimilarItems(ItemIdx(1), 10, &similar);  // known, but never paired
  EXPECT_THAT(similar, IsEmpty());
  m.SimilarItems(ItemIdx(4'000'000'000u), 10, &similar);
  EXPECT_THAT(similar, IsEmpty());
}

// A slow reference of the pairing rule, kept in maps.
class ReferencePairs {
 public:
  explicit ReferencePairs(const ModelConfig& c) : c_(c) {}
  void Observe(const ModelEvent& e) {
    if (e.late) return;
    auto& row = rows_[e.user.value];
    const float w = c_.event_weights[static_cast<int>(e.type)];
    auto it =
        std::find_if(row.begin(), row.end(), [&](const Slot& s) { return s.item == e.item.value; });
    const bool same_session = it != row.end() && it->session == e.session;
    float old = 0;
    if (same_session) {
      old = c_.event_weights[static_cast<int>(it->type)];
      if (w <= old) {
        Slot s = *it;
        row.erase(it);
        row.insert(row.begin(), s);
        return;
      }
    }
    norms_[e.item.value] += w - old;
    int paired = 0;
    for (const Slot& o : row) {
      if (paired == static_cast<int>(c_.pair_window)) break;
      if (o.item == e.item.value) continue;
      ++paired;
      const float f = o.session == e.session ? 1.0f : c_.cross_session_weight;
      const float wo = c_.event_weights[static_cast<int>(o.type)];
      float d = std::max(wo, w) - (same_session ? std::max(wo, old) : 0.0f);
      d *= f;
      if (d > 0) pairs_[Key(o.item, e.item.value)] += d;
    }
    Slot s{e.item.value, e.session, same_session ? e.type : e.type};
    if (it != row.end()) row.erase(it);
    row.insert(row.begin(), s);
    if (row.size() > c_.recent_items) row.pop_back();
  }
  std::map<std::pair<uint32_t, uint32_t>, float> pairs_;
  std::map<uint32_t, float> norms_;

 private:
  struct Slot {
    uint32_t item;
    uint32_t session;
    EventType type;
  };
  static std::pair<uint32_t, uint32_t> Key(uint32_t a, uint32_t b) {
    return {std::min(a, b), std::max(a, b)};
  }
  ModelConfig c_;
  std::map<uint32_t, std::vector<Slot>> rows_;
};

// A random stream of few users and items (many sessions, repeats, upgrades, ties).
Stream RandomStream(uint32_t seed, int events, uint32_t users, uint32_t items) {
  std::mt19937 rng(seed);
  Stream s;
  std::vector<int64_t> minute(users, 0);
  for (int i = 0; i < events; ++i) {
    const uint32_t u = rng() % users;
    minute[u] += (rng() % 10 == 0) ? 45 : 1 + rng() % 5;
    // Skewed items: the low ids are popular.
    const uint32_t item = std::min<uint32_t>(rng() % items, rng() % items);
    const EventType type = static_cast<EventType>(std::min<uint32_t>(rng() % 6, 3u));
    s.Add(u, item, type, minute[u]);
  }
  // Stream order is per user here; Observe needs only that.
  return s;
}

TEST(CoOccurrenceTest, PairWeightsAndNormsMatchReferenceOnRandomStream) {
  ModelConfig config;
  config.recent_items = 5;
  config.pair_window = 3;
  Recommender m(config);
  ReferencePairs ref(config);
  const Stream s = RandomStream(3, 20000, 40, 120);
  for (const ModelEvent& e : s.events()) {
    m.Observe(e);
    ref.Observe(e);
  }
  for (const auto& [key, w] : ref.pairs_) {
    ASSERT_FLOAT_EQ(W(m, key.first, key.second), w) << key.first << "," << key.second;
  }
  EXPECT_EQ(m.counters().pairs, ref.pairs_.size());
  for (const auto& [item, n] : ref.norms_) EXPECT_FLOAT_EQ(m.ItemNorm(ItemIdx(item)), n);
}

// The ids of a's pool computed from all pair weights: the top `k` by weight, ties by
// lower id, sorted by id.
std::vector<uint32_t> BruteForcePool(const Recommender& m, uint32_t a, uint32_t items, size_t k) {
  std::vector<std::pair<double, uint32_t>> all;
  for (uint32_t b = 0; b < items; ++b) {
    if (b != a && W(m, a, b) > 0) all.push_back({W(m, a, b), b});
  }
  std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) {
    return RanksBefore(x.first, x.second, y.first, y.second);
  });
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < std::min(k, all.size()); ++i) ids.push_back(all[i].second);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The ids of a's pool as the model holds it, sorted by id.
std::vector<uint32_t> PoolIds(const Recommender& m, uint32_t a, size_t k) {
  std::vector<ScoredItem> pool;
  m.SimilarItems(ItemIdx(a), k, &pool);
  std::vector<uint32_t> ids = Ids(pool);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The pools hold exactly the top `neighbours` by weight, ties by lower id, checked after
// many updates against all pair weights; SimilarItems with k = neighbours returns a
// whole pool. With 16 neighbours a selection keeps up to 18 entries (a window of ranks),
// with 6 exactly 6.
TEST(CoOccurrenceTest, TopNeighboursStayCurrentAfterManyUpdates) {
  for (const uint32_t neighbours : {6u, 16u}) {
    SCOPED_TRACE(neighbours);
    ModelConfig config;
    config.neighbours = neighbours;
    const uint32_t items = 80;
    Recommender m(config);
    const Stream s = RandomStream(11, 30000, 50, items);
    size_t checked = 0, full = 0;
    for (size_t i = 0; i < s.events().size(); ++i) {
      m.Observe(s.events()[i]);
      if (i % 1000 != 999) continue;
      for (uint32_t a = 0; a < items; ++a) {
        std::vector<double> all;
        for (uint32_t b = 0; b < items; ++b) {
          if (b != a && W(m, a, b) > 0) all.push_back(W(m, a, b));
        }
        std::sort(all.rbegin(), all.rend());
        all.resize(std::min<size_t>(neighbours, all.size()));
        std::vector<ScoredItem> pool;
        m.SimilarItems(ItemIdx(a), neighbours, &pool);
        std::vector<double> got;
        for (const ScoredItem& n : pool) {
          got.push_back(W(m, a, n.item.value));
          // The pool's own weights are the cells': an entry's score is its current
          // similarity.
          ASSERT_EQ(n.score, m.Similarity(ItemIdx(a), n.item)) << a << "," << n.item.value;
        }
        std::sort(got.rbegin(), got.rend());
        ASSERT_EQ(got, all) << "item " << a << " event " << i;
        ASSERT_EQ(PoolIds(m, a, neighbours), BruteForcePool(m, a, items, neighbours))
            << "item " << a;
        ++checked;
        full += all.size() == neighbours;
      }
    }
    EXPECT_GT(checked, 0u);
    EXPECT_GT(full, checked / 2);
    EXPECT_GT(m.counters().neighbour_evictions, 0);
  }
}

// A selection leaves a dropped pair's mark in its cell, pointing at the position an
// entrant then takes. When that pair is updated again, the mark must not be read as
// listed: the update would write its weight into the entrant's entry, and the pair would
// never be offered.
TEST(CoOccurrenceTest, ADroppedPairsLeftoverMarkIsNotReadAsListed) {
  ModelConfig config;
  config.neighbours = 2;  // and one entry of slack
  Recommender m(config);
  Stream s;
  s.Add(0, 0, kView, 0).Add(0, 1, kView, 1);  // c(0,1) = 1
  s.Add(1, 0, kView, 0).Add(1, 2, kView, 1);  // c(0,2) = 1
  s.Add(2, 0, kView, 0).Add(2, 3, kView, 1);  // c(0,3) = 1: 0's block {1, 2, 3} is full
  s.Add(3, 0, kView, 0).Add(3, 4, kCart, 1);  // c(0,4) = 4: the selection drops 3 (the
                                              // ties' highest id), and 4 takes its place
  ObserveAll(s, &m);
  std::vector<ScoredItem> pool;
  m.SimilarItems(ItemIdx(0), 10, &pool);
  ASSERT_THAT(Ids(pool), ElementsAre(4, 1));
  Stream again;
  again.Add(4, 0, kView, 0).Add(4, 3, kView, 1);  // c(0,3) = 2; its mark: 4's place
  ObserveAll(again, &m);
  m.SimilarItems(ItemIdx(0), 10, &pool);
  EXPECT_THAT(Ids(pool), ElementsAre(4, 3));
  for (const ScoredItem& n : pool) EXPECT_EQ(n.score, m.Similarity(ItemIdx(0), n.item));
  EXPECT_EQ(W(m, 0, 4), 4);
  EXPECT_EQ(m.counters().neighbour_evictions, 2);  // 3, then 2, from 0's pool
}

// Until its first selection, a pool holds up to `neighbours` + slack items; queries see
// only its top `neighbours`, as they would if the pool held no more.
TEST(CoOccurrenceTest, APoolHoldingMoreThanItsNeighboursAnswersWithItsTopOnly) {
  ModelConfig config;
  config.neighbours = 4;  // and two entries of slack
  Recommender m(config);
  Stream s;
  for (uint32_t other = 1; other <= 6; ++other) {
    // c(0, other) = 1 for views; the carts make c(0,5) and c(0,6) the strongest.
    s.Add(other, 0, kView, 0).Add(other, other, other >= 5 ? kCart : kView, 1);
  }
  ObserveAll(s, &m);
  EXPECT_EQ(m.counters().neighbour_evictions, 0);  // six entries: no selection yet
  std::vector<ScoredItem> pool;
  m.SimilarItems(ItemIdx(0), 10, &pool);
  EXPECT_THAT(Ids(pool), ElementsAre(5, 6, 1, 2));
  EXPECT_EQ(PoolIds(m, 0, 10), BruteForcePool(m, 0, 7, 4));
}

// ObserveBatch (pair updates applied a chunk at a time) gives exactly the state of
// Observe on each event: the same pair weights (bit for bit), co-purchases, norms and
// neighbour pools, for batches of any size, with small pools full of ties.
TEST(CoOccurrenceTest, BatchedObserveEqualsPerEventObserve) {
  // With 16 neighbours a selection keeps a window of ranks (16 to 18 entries).
  for (const uint32_t neighbours : {4u, 16u}) {
    SCOPED_TRACE(neighbours);
    ModelConfig config;
    config.neighbours = neighbours;
    config.cross_session_weight = 0.3f;  // inexact in binary: sums must keep their order
    const uint32_t items = 150;
    const Stream s = RandomStream(7, 40000, 60, items);
    Recommender one(config), batched(config);
    for (const ModelEvent& e : s.events()) one.Observe(e);
    std::mt19937 rng(9);
    const std::span<const ModelEvent> all(s.events());
    for (size_t at = 0; at < all.size();) {
      const size_t n = std::min<size_t>(all.size() - at, rng() % 3000);
      batched.ObserveBatch(all.subspan(at, n));
      at += n;
    }
    EXPECT_EQ(batched.counters().pairs, one.counters().pairs);
    EXPECT_EQ(batched.counters().pair_updates, one.counters().pair_updates);
    for (uint32_t a = 0; a < items; ++a) {
      ASSERT_EQ(batched.ItemNorm(ItemIdx(a)), one.ItemNorm(ItemIdx(a))) << a;
      for (uint32_t b = 0; b < items; ++b) {
        ASSERT_EQ(W(batched, a, b), W(one, a, b)) << a << "," << b;
        ASSERT_EQ(batched.CoPurchases(ItemIdx(a), ItemIdx(b)),
                  one.CoPurchases(ItemIdx(a), ItemIdx(b)));
      }
      ASSERT_EQ(PoolIds(batched, a, neighbours), PoolIds(one, a, neighbours)) << "item " << a;
      ASSERT_EQ(PoolIds(batched, a, neighbours), BruteForcePool(batched, a, items, neighbours))
          << "item " << a;
    }
    EXPECT_GT(one.counters().neighbour_evictions, 0);
    EXPECT_GT(batched.counters().neighbour_evictions, 0);
  }
}

// The model's snapshot bytes: its whole state, bit for bit.
std::string SnapshotOf(const Recommender& m) {
  std::string bytes;
  ByteWriter w(&bytes);
  m.Save(&w);
  return bytes;
}

// Two update threads (pair updates applied on a worker while the caller goes on) give
// the state of one, bit for bit: the same snapshot bytes after the same batches.
TEST(CoOccurrenceTest, TwoUpdateThreadsGiveTheStateOfOneBitForBit) {
  for (const uint32_t neighbours : {4u, 16u}) {
    SCOPED_TRACE(neighbours);
    ModelConfig config;
    config.neighbours = neighbours;
    config.cross_session_weight = 0.3f;
    const Stream s = RandomStream(11, 60000, 80, 200);
    Recommender one(config, /*update_threads=*/1), two(config, /*update_threads=*/2);
    std::mt19937 rng(5);
    const std::span<const ModelEvent> all(s.events());
    for (size_t at = 0; at < all.size();) {
      const size_t n = std::min<size_t>(all.size() - at, rng() % 5000);
      one.ObserveBatch(all.subspan(at, n));
      two.ObserveBatch(all.subspan(at, n));
      at += n;
    }
    two.Flush();
    EXPECT_EQ(SnapshotOf(two), SnapshotOf(one));
    EXPECT_GT(two.counters().neighbour_evictions, 0);
  }
}

// Calls whose chunks queue no pair update (late events only) in between calls that queue
// many: a buffer still being applied is never filled again.
TEST(CoOccurrenceTest, ChunksWithoutPairUpdatesNeverRefillABufferInFlight) {
  const Stream s = RandomStream(13, 40000, 500, 2000);
  Recommender one({}, /*update_threads=*/1), two({}, /*update_threads=*/2);
  const std::span<const ModelEvent> all(s.events());
  for (size_t at = 0; at < all.size(); at += 1024) {
    const auto chunk = all.subspan(at, std::min<size_t>(1024, all.size() - at));
    one.ObserveBatch(chunk);
    two.ObserveBatch(chunk);
    for (int i = 0; i < 5; ++i) {
      ModelEvent late = chunk.front();
      late.late = true;
      one.Observe(late);
      two.Observe(late);
    }
  }
  two.Flush();
  EXPECT_EQ(SnapshotOf(two), SnapshotOf(one));
}

// With pools larger than any item's neighbour count, SimilarItems is the exact top-k by
// similarity.
TEST(CoOccurrenceTest, SimilarItemsEqualBruteForceWhenPoolsHoldEveryNeighbour) {
  ModelConfig config;
  config.neighbours = 254;
  const uint32_t items = 60;
  Recommender m(config);
  const Stream s = RandomStream(5, 8000, 30, items);
  for (const ModelEvent& e : s.events()) m.Observe(e);
  for (uint32_t a = 0; a < items; ++a) {
    std::vector<ScoredItem> want;
    for (uint32_t b = 0; b < items; ++b) {
      const double sim = m.Similarity(ItemIdx(a), ItemIdx(b));
      if (b != a && W(m, a, b) > 0) want.push_back({ItemIdx(b), sim, {}});
    }
    std::sort(want.begin(), want.end(), [](auto& x, auto& y) {
      return RanksBefore(x.score, x.item.value, y.score, y.item.value);
    });
    if (want.size() > 10) want.resize(10);
    std::vector<ScoredItem> got;
    m.SimilarItems(ItemIdx(a), 10, &got);
    ASSERT_EQ(Ids(got), Ids(want)) << "item " << a;
  }
}

// Item 0's pool in the bytes of CoOccurrence::Save: after the update and eviction counts
// (8 bytes each) and the item count (4), item 0's norm (4), positions used (1), bar
// weight and item (4 each), then the ids at its positions (4 each).
constexpr size_t kItem0Used = 24, kItem0BarWeight = 25, kItem0Ids = 33;

// A CoOccurrence whose item 0 paired with items 1 to `others` (weights 1, 2, ...) in one
// batch, and the bytes it saves.
std::string SavedAfterPairing(const ModelConfig& config, uint32_t others) {
  CoOccurrence co(config);
  std::vector<CoOccurrence::PairUpdate> updates;
  co.AddNorm(ItemIdx(0), 1);
  for (uint32_t j = 1; j <= others; ++j) {
    co.AddNorm(ItemIdx(j), 1);
    updates.push_back({PairTable::Key(ItemIdx(0), ItemIdx(j)), static_cast<float>(j), false});
  }
  co.AddPairs(updates);
  std::string bytes;
  ByteWriter w(&bytes);
  co.Save(&w);
  return bytes;
}

absl::Status LoadPools(const ModelConfig& config, const std::string& bytes, size_t items) {
  CoOccurrence co(config);
  ByteReader r(bytes);
  return co.Load(&r, items);
}

// Offers turn away whatever ranks after a pool's bar, so a bar above an entry the pool
// lists (here: above every weight) would keep the pool from ever taking the items that
// now rank in its top. Such a snapshot is refused, although its bytes are well formed.
TEST(CoOccurrenceTest, ASnapshotPoolWithItsBarAboveAnEntryIsRefused) {
  ModelConfig config;
  config.neighbours = 2;  // three positions: the fourth pair selects
  std::string bytes = SavedAfterPairing(config, 4);
  ASSERT_TRUE(LoadPools(config, bytes, 5).ok());
  ASSERT_EQ(bytes[kItem0Used], 3);
  float bar = 0;
  std::memcpy(&bar, &bytes[kItem0BarWeight], sizeof(bar));
  ASSERT_EQ(bar, 2);  // the selection kept 3 and 2, and 4 came in
  const float too_high = 1e30f;
  std::memcpy(&bytes[kItem0BarWeight], &too_high, sizeof(too_high));
  const absl::Status s = LoadPools(config, bytes, 5);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), testing::HasSubstr("ranks after its bar"));
}

// A pool without a bar has never turned an offer away, so it lists every pair of its
// item: a snapshot whose pool leaves one out is refused.
TEST(CoOccurrenceTest, ASnapshotPoolMissingAPairItMustListIsRefused) {
  ModelConfig config;
  config.neighbours = 4;  // room for both pairs
  std::string bytes = SavedAfterPairing(config, 2);
  ASSERT_TRUE(LoadPools(config, bytes, 3).ok());
  ASSERT_EQ(bytes[kItem0Used], 2);
  bytes[kItem0Used] = 1;  // item 0's pool now lists item 1 only
  bytes.erase(kItem0Ids + 4, 4);
  const absl::Status s = LoadPools(config, bytes, 3);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), testing::HasSubstr("a pair missing from a pool"));
}

}  // namespace
}  // namespace streamrec
