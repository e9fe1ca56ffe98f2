// Recommendations: filters, cold users, session scoring, hybrid blending, reasons,
// determinism, late events and ids that grow at any time.

#include "models/recommender.h"

#include <algorithm>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/model_test_util.h"

namespace streamrec {
namespace {

using model_testing::Ids;
using model_testing::kBase;
using model_testing::kBuy;
using model_testing::kCart;
using model_testing::kClick;
using model_testing::kMinute;
using model_testing::kView;
using model_testing::Stream;
using testing::Contains;
using testing::ElementsAre;
using testing::IsEmpty;
using testing::Not;

void ObserveAll(const Stream& s, Recommender* m) {
  for (const ModelEvent& e : s.events()) m->Observe(e);
}

// Users 10..19 browse 1 → 2 → 3 in one session; users 20..24 browse 1 → 4; item 9 is
// viewed alone by many (trending, no neighbours).
Stream Catalog() {
  Stream s;
  for (uint32_t u = 10; u < 20; ++u) s.Add(u, 1, kView, 0).Add(u, 2, kView, 1).Add(u, 3, kView, 2);
  for (uint32_t u = 20; u < 25; ++u) s.Add(u, 1, kView, 0).Add(u, 4, kView, 1);
  for (uint32_t u = 30; u < 60; ++u) s.Add(u, 9, kView, 3);
  return s;
}

std::vector<ScoredItem> ForUser(const Recommender& m, uint32_t user, ModelKind kind,
                                const Filter& filter = {}, size_t k = 10) {
  std::vector<ScoredItem> out;
  m.RecommendForUser(UserIdx(user), k, kind, filter, &out);
  return out;
}

TEST(RecommenderTest, ColdUserGetsPopular) {
  Recommender m;
  ObserveAll(Catalog(), &m);
  const std::vector<ScoredItem> hybrid = ForUser(m, 999, ModelKind::kHybrid, {}, 3);
  // Trending: 30 views, 15, then 10 at minute 2 before 10 at minute 1.
  ASSERT_THAT(Ids(hybrid), ElementsAre(9, 1, 3));
  for (const ScoredItem& s : hybrid) EXPECT_EQ(s.reason.kind, ReasonKind::kTrending);
  EXPECT_THAT(Ids(ForUser(m, 999, ModelKind::kPopular, {}, 2)), ElementsAre(9, 1));
  EXPECT_EQ(ForUser(m, 999, ModelKind::kPopular)[0].reason.kind, ReasonKind::kPopular);
  // Session and item models have nothing to say about a cold user.
  EXPECT_THAT(ForUser(m, 999, ModelKind::kSession), IsEmpty());
  EXPECT_THAT(ForUser(m, 999, ModelKind::kItem), IsEmpty());
  EXPECT_THAT(ForUser(m, 4'000'000'000u, ModelKind::kHybrid, {}, 1), ElementsAre(hybrid[0]));
}

TEST(RecommenderTest, EmptyModelGivesEmptyAnswers) {
  Recommender m;
  EXPECT_THAT(ForUser(m, 0, ModelKind::kHybrid), IsEmpty());
  std::vector<ScoredItem> out{{ItemIdx(3), 1, {}}};
  m.Popular(5, true, kBase, {}, &out);
  EXPECT_THAT(out, IsEmpty());
  EXPECT_THAT(m.RecentItems(UserIdx(3)), IsEmpty());
}

TEST(RecommenderTest, ItemModelUsesTheLatestItem) {
  Recommender m;
  Stream s = Catalog();
  s.Add(1, 1, kView, 100);
  ObserveAll(s, &m);
  const std::vector<ScoredItem> items = ForUser(m, 1, ModelKind::kItem);
  // Item 1's neighbours: 2 and 3 (10 co-views each), 4 (5).
  EXPECT_THAT(Ids(items), ElementsAre(2, 3, 4));
  EXPECT_EQ(items[0].reason, (Reason{ReasonKind::kViewedTogether, ItemIdx(1)}));
}

TEST(RecommenderTest, CurrentItemIsExcludedByDefaultButOtherSessionItemsAreNot) {
  Recommender m;
  Stream s = Catalog();
  s.Add(1, 2, kView, 100).Add(1, 1, kView, 101);
  ObserveAll(s, &m);
  std::vector<ScoredItem> out = ForUser(m, 1, ModelKind::kSession);
  EXPECT_THAT(Ids(out), Not(Contains(1)));
  EXPECT_THAT(Ids(out), Contains(2));  // seen earlier in the session, still eligible
  out = ForUser(m, 1, ModelKind::kSession, Filter{.exclude_current_item = false});
  EXPECT_THAT(Ids(out), Contains(1));  // a neighbour of item 2
}

TEST(RecommenderTest, PurchasedItemsAreExcluded) {
  Recommender m;
  Stream s = Catalog();
  s.Add(1, 2, kBuy, 100).Add(1, 1, kView, 101);
  ObserveAll(s, &m);
  // Purchased in the recent items: left out by default.
  EXPECT_THAT(Ids(ForUser(m, 1, ModelKind::kHybrid)), Not(Contains(2)));
  // Purchased long ago (the engine knows): left out through the predicate.
  const auto purchased = [](ItemIdx i) { return i == ItemIdx(3); };
  const std::vector<ScoredItem> out =
      ForUser(m, 1, ModelKind::kHybrid, Filter{.exclude_if = purchased});
  EXPECT_THAT(Ids(out), Not(Contains(3)));
  EXPECT_THAT(Ids(out), Not(Contains(2)));
  EXPECT_THAT(Ids(out), Contains(4));
  EXPECT_THAT(Ids(ForUser(m, 1, ModelKind::kHybrid, Filter{.exclude_recent_purchases = false})),
              Contains(2));
}

TEST(RecommenderTest, ExcludeIdsAreExcluded) {
  Recommender m;
  ObserveAll(Catalog(), &m);
  const std::vector<ItemIdx> exclude{ItemIdx(9), ItemIdx(2)};
  for (ModelKind kind : {ModelKind::kHybrid, ModelKind::kTrending, ModelKind::kPopular}) {
    const std::vector<ScoredItem> out = ForUser(m, 999, kind, Filter{.exclude = exclude});
    EXPECT_THAT(Ids(out), ElementsAre(1, 3, 4)) << static_cast<int>(kind);
  }
  std::vector<ScoredItem> out;
  m.Popular(10, true, kBase, Filter{.exclude = exclude}, &out);
  EXPECT_THAT(Ids(out), ElementsAre(1, 3, 4));
}

// The neighbour part of session scores: revisits off.
TEST(RecommenderTest, SessionScoresFavourRecentItems) {
  Recommender m(ModelConfig{.revisit_weight = 0});
  Stream s;
  // 5 co-occurs with 1 only, 6 with 2 only, equally often.
  for (uint32_t u = 10; u < 20; ++u) s.Add(u, 1, kView, 0).Add(u, 5, kView, 1);
  for (uint32_t u = 20; u < 30; ++u) s.Add(u, 2, kView, 0).Add(u, 6, kView, 1);
  s.Add(1, 1, kView, 100).Add(1, 2, kView, 101);  // 2 is the latest
  ObserveAll(s, &m);
  const std::vector<ScoredItem> out = ForUser(m, 1, ModelKind::kSession);
  ASSERT_GE(out.size(), 2u);
  EXPECT_EQ(out[0].item, ItemIdx(6));
  EXPECT_EQ(out[0].reason, (Reason{ReasonKind::kViewedTogether, ItemIdx(2)}));
  EXPECT_EQ(out[1].item, ItemIdx(5));
  EXPECT_NEAR(out[1].score / out[0].score, ModelConfig{}.recency_decay, 1e-6);
}

TEST(RecommenderTest, PreviousSessionCountsLessAndOlderSessionsNotAtAll) {
  ModelConfig config;
  config.cross_session_weight = 0;
  config.revisit_weight = 0;
  Recommender m(config);
  Stream s;
  for (uint32_t u = 10; u < 20; ++u) {
    s.Add(u, 1, kView, 0).Add(u, 5, kView, 1).Add(u, 2, kView, 100).Add(u, 6, kView, 101);
    s.Add(u, 3, kView, 200).Add(u, 7, kView, 201);
  }
  s.Add(1, 1, kView, 0).Add(1, 2, kView, 100).Add(1, 3, kView, 200);  // three sessions
  ObserveAll(s, &m);
  const std::vector<ScoredItem> out = ForUser(m, 1, ModelKind::kSession);
  EXPECT_THAT(Ids(out), ElementsAre(7, 6));  // 5 belongs to the session before the last
  const ModelConfig d;
  EXPECT_NEAR(out[1].score / out[0].score, d.recency_decay * d.previous_session_weight, 1e-6);
}

TEST(RecommenderTest, SeveralAnchorsGiveSimilarToSession) {
  Recommender m;
  Stream s;
  for (uint32_t u = 10; u < 20; ++u) s.Add(u, 1, kView, 0).Add(u, 3, kView, 1);
  for (uint32_t u = 20; u < 30; ++u) s.Add(u, 2, kView, 0).Add(u, 3, kView, 1);
  for (uint32_t u = 30; u < 40; ++u) s.Add(u, 0, kView, 0).Add(u, 3, kView, 1);
  // Contributions to 3: 1, 0.8 and 0.64 of the same similarity; none is half the sum.
  s.Add(1, 0, kView, 99).Add(1, 1, kView, 100).Add(1, 2, kView, 101);
  ObserveAll(s, &m);
  const std::vector<ScoredItem> out = ForUser(m, 1, ModelKind::kSession);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].item, ItemIdx(3));
  EXPECT_EQ(out[0].reason, (Reason{ReasonKind::kSimilarToSession, ItemIdx(2)}));
}

TEST(RecommenderTest, HybridFillsFromTrendingAfterSessionCandidates) {
  Recommender m;
  Stream s = Catalog();
  s.Add(1, 4, kView, 100);
  ObserveAll(s, &m);
  const std::vector<ScoredItem> out = ForUser(m, 1, ModelKind::kHybrid, {}, 4);
  // 4's only neighbour is 1, then trending fills: 9, 3, 2 (3's views are more recent).
  ASSERT_THAT(Ids(out), ElementsAre(1, 9, 3, 2));
  EXPECT_EQ(out[0].reason, (Reason{ReasonKind::kViewedTogether, ItemIdx(4)}));
  EXPECT_EQ(out[1].reason.kind, ReasonKind::kTrending);
  EXPECT_GT(out[0].score, out[1].score);
}

// Reasons are given after the top k is chosen (a reason may read a pair's cell): each
// returned item gets its own candidate's, not only the first.
TEST(RecommenderTest, EveryReturnedItemHasItsOwnCandidatesReason) {
  Recommender m;
  Stream s;
  for (uint32_t u = 40; u < 50; ++u) s.Add(u, 4, kBuy, 0).Add(u, 5, kBuy, 1);
  for (uint32_t u = 50; u < 53; ++u) s.Add(u, 4, kView, 0).Add(u, 6, kView, 1);
  for (uint32_t u = 60; u < 90; ++u) s.Add(u, 9, kView, 2);
  s.Add(1, 4, kView, 100);
  ObserveAll(s, &m);
  const Reason bought{ReasonKind::kBoughtTogether, ItemIdx(4)};
  const Reason viewed{ReasonKind::kViewedTogether, ItemIdx(4)};
  for (ModelKind kind : {ModelKind::kItem, ModelKind::kSession}) {
    const std::vector<ScoredItem> out = ForUser(m, 1, kind);
    ASSERT_THAT(Ids(out), ElementsAre(5, 6)) << static_cast<int>(kind);
    EXPECT_EQ(out[0].reason, bought);
    EXPECT_EQ(out[1].reason, viewed);
  }
  const std::vector<ScoredItem> hybrid = ForUser(m, 1, ModelKind::kHybrid, {}, 3);
  ASSERT_THAT(Ids(hybrid), ElementsAre(5, 6, 9));
  EXPECT_EQ(hybrid[0].reason, bought);
  EXPECT_EQ(hybrid[1].reason, viewed);
  EXPECT_EQ(hybrid[2].reason.kind, ReasonKind::kTrending);

  // Without the co-purchase reads, told apart afterwards: the same lists.
  for (ModelKind kind : {ModelKind::kItem, ModelKind::kSession, ModelKind::kHybrid}) {
    std::vector<ScoredItem> later = ForUser(m, 1, kind, Filter{.tell_bought_together = false});
    ASSERT_FALSE(later.empty());
    EXPECT_EQ(later[0].reason, viewed) << static_cast<int>(kind);
    m.TellBoughtTogether(later);
    EXPECT_EQ(later, ForUser(m, 1, kind)) << static_cast<int>(kind);
  }
}

TEST(RecommenderTest, SessionItemsThemselvesAreCandidatesForARevisit) {
  Stream s = Catalog();
  // User 1 viewed 7 (an item only user 1 touched: a weak neighbour of 4), then 4, whose
  // strong neighbour is 1.
  s.Add(1, 7, kView, 100).Add(1, 4, kView, 101);
  Recommender with_revisit(ModelConfig{.revisit_weight = 2});
  ObserveAll(s, &with_revisit);
  for (ModelKind kind : {ModelKind::kSession, ModelKind::kHybrid}) {
    const std::vector<ScoredItem> out = ForUser(with_revisit, 1, kind, {}, 3);
    // 7 goes to the top: 2 * 0.8 (position 1) beats item 1's similarity to 4 (< 1).
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out[0].item, ItemIdx(7));
    EXPECT_EQ(out[0].reason, (Reason{ReasonKind::kViewedRecently, ItemIdx(7)}));
    EXPECT_THAT(Ids(out), Not(Contains(4)));  // the current item stays out by default
    EXPECT_THAT(Ids(ForUser(with_revisit, 1, kind, Filter{.exclude_current_item = false}, 1)),
                ElementsAre(4));  // position 0 weighs most
  }
  // The item model ranks the latest item's neighbours only, never a revisit.
  for (const ScoredItem& r : ForUser(with_revisit, 1, ModelKind::kItem)) {
    EXPECT_NE(r.reason.kind, ReasonKind::kViewedRecently);
  }

  Recommender without_revisit(ModelConfig{.revisit_weight = 0});
  ObserveAll(s, &without_revisit);
  EXPECT_NE(ForUser(without_revisit, 1, ModelKind::kSession, {}, 3)[0].item, ItemIdx(7));
}

TEST(RecommenderTest, RecommendForSessionEqualsAUserWithTheSameHistory) {
  Recommender m;
  Stream s = Catalog();
  s.Add(1, 4, kView, 100).Add(1, 2, kClick, 101).Add(1, 2, kView, 102);
  ObserveAll(s, &m);
  const std::vector<SessionItem> session{
      {ItemIdx(2), kView, EventTime{kBase.micros + 102 * kMinute}},
      {ItemIdx(4), kView, EventTime{kBase.micros + 100 * kMinute}},  // any order
      {ItemIdx(2), kClick, EventTime{kBase.micros + 101 * kMinute}},
      {ItemIdx(), kView, kBase}};  // invalid ids are ignored
  for (ModelKind kind : {ModelKind::kHybrid, ModelKind::kSession, ModelKind::kItem}) {
    std::vector<ScoredItem> anonymous;
    m.RecommendForSession(session, 5, kind, {}, &anonymous);
    EXPECT_EQ(anonymous, ForUser(m, 1, kind, {}, 5)) << static_cast<int>(kind);
    EXPECT_FALSE(anonymous.empty());
  }
}

TEST(RecommenderTest, DeterministicTieBreak) {
  Recommender m;
  Stream s;
  // 5, 6 and 7 each co-occur with 1 exactly once and are equally popular.
  s.Add(10, 1, kView, 0).Add(10, 7, kView, 1);
  s.Add(11, 1, kView, 0).Add(11, 5, kView, 1);
  s.Add(12, 1, kView, 0).Add(12, 6, kView, 1);
  s.Add(1, 1, kView, 100);
  ObserveAll(s, &m);
  std::vector<ScoredItem> out;
  m.SimilarItems(ItemIdx(1), 3, &out);
  EXPECT_THAT(Ids(out), ElementsAre(5, 6, 7));
  EXPECT_THAT(Ids(ForUser(m, 1, ModelKind::kItem)), ElementsAre(5, 6, 7));
  EXPECT_THAT(Ids(ForUser(m, 999, ModelKind::kPopular, {}, 3)), ElementsAre(1, 5, 6));
  // The same stream into a second model gives the same answers, scores included.
  Recommender again;
  ObserveAll(s, &again);
  for (ModelKind kind : {ModelKind::kHybrid, ModelKind::kSession, ModelKind::kTrending}) {
    EXPECT_EQ(ForUser(m, 1, kind), ForUser(again, 1, kind));
  }
}

TEST(RecommenderTest, LateEventOnlyCountsPopularity) {
  Recommender m;
  Stream s;
  s.Add(0, 1, kView, 0).Add(0, 2, kView, 1, /*late=*/true).Add(0, 3, kView, 2);
  ObserveAll(s, &m);
  EXPECT_EQ(m.PopularScore(ItemIdx(2)), 1);
  EXPECT_GT(m.TrendingScore(ItemIdx(2), kBase), 0);
  EXPECT_EQ(m.PairWeight(ItemIdx(1), ItemIdx(2)), 0);
  EXPECT_EQ(m.PairWeight(ItemIdx(1), ItemIdx(3)), 1);
  EXPECT_EQ(m.ItemNorm(ItemIdx(2)), 0);
  EXPECT_EQ(m.RecentItems(UserIdx(0)).size(), 2u);
  EXPECT_EQ(m.counters().late_events, 1);
  EXPECT_EQ(m.counters().events_observed, 3);
}

TEST(RecommenderTest, IdsGrowAtAnyTime) {
  Recommender m(ModelConfig{.revisit_weight = 0});
  Stream s;
  s.Add(0, 1, kView, 0).Add(250'000, 90'000, kView, 1).Add(0, 90'000, kCart, 2);
  s.Add(7, 3, kView, 3);
  ObserveAll(s, &m);
  EXPECT_EQ(m.PairWeight(ItemIdx(1), ItemIdx(90'000)), 4);
  EXPECT_EQ(m.counters().items, 90'001u);
  EXPECT_EQ(m.counters().users, 250'001u);
  EXPECT_THAT(Ids(ForUser(m, 0, ModelKind::kSession, Filter{.exclude_current_item = false})),
              ElementsAre(1, 90'000));
  EXPECT_GT(m.MemoryBytes(), 0u);
}

TEST(RecommenderTest, ObserveBatchEqualsObserve) {
  Recommender one, batch;
  const Stream s = Catalog();
  ObserveAll(s, &one);
  batch.ObserveBatch(s.events());
  for (uint32_t u : {1u, 10u, 22u, 999u})
    EXPECT_EQ(ForUser(one, u, ModelKind::kHybrid), ForUser(batch, u, ModelKind::kHybrid));
  EXPECT_EQ(one.counters().pair_updates, batch.counters().pair_updates);
}

// With two update threads, reading the state before Flush is a broken contract.
TEST(RecommenderTest, ReadingWhilePairUpdatesAreInFlightIsACheckFailure) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Stream s;  // a chunk large enough to be handed to the worker
  for (int i = 0; i < 2000; ++i) s.Add(i % 50, i % 97, kView, i);
  EXPECT_DEATH(
      {
        Recommender m({}, /*update_threads=*/2);
        m.ObserveBatch(s.events());
        (void)m.counters();
      },
      "in flight");
  Recommender m({}, /*update_threads=*/2);
  m.ObserveBatch(s.events());
  m.Flush();
  EXPECT_GT(m.counters().pair_updates, 0);
}

// A live request's few events are applied before ObserveBatch returns when nothing is in
// flight: no wait for the worker, and the state may be read without Flush.
TEST(RecommenderTest, SmallBatchWithNothingInFlightIsAppliedWithoutTheWorker) {
  Recommender m({}, /*update_threads=*/2);
  Stream s;
  s.Add(1, 10, kView, 0).Add(1, 11, kView, 1);
  m.ObserveBatch(s.events());
  EXPECT_EQ(m.PairWeight(ItemIdx(10), ItemIdx(11)), 1.0);  // would CHECK-fail if in flight
}

TEST(RecommenderTest, ZeroKGivesNothing) {
  Recommender m;
  ObserveAll(Catalog(), &m);
  EXPECT_THAT(ForUser(m, 10, ModelKind::kHybrid, {}, 0), IsEmpty());
}

}  // namespace
}  // namespace streamrec
