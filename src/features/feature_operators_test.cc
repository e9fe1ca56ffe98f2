// FeatureOperators: point-in-time enrichment, purchases in the clickstream, the state
// tables (profiles, user-item matrix, user and item features) and batch independence.
// Records are built directly and applied in stream order, in batches.

#include "features/feature_operators.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "common/byte_io.h"
#include "common/event.h"
#include "features/counters.h"
#include "features/test_records.h"
#include "features/user_item_matrix.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using testing_records::kBase;
using testing_records::kMinute;
using testing_records::Records;

// Applies `records` in stream order, `batch_size` records per Apply call.
void ApplyInBatches(const std::vector<Record>& sorted, size_t batch_size, FeatureOperators* ops,
                    FeatureOutput* out) {
  const std::span<const Record> all(sorted);
  for (size_t at = 0; at < all.size(); at += batch_size) {
    ops->Apply(all.subspan(at, std::min(batch_size, all.size() - at)), out);
  }
}

std::optional<Interaction> CellOf(const UserItemMatrix& m, uint32_t user, uint32_t item) {
  return m.Find(UserIdx(user), ItemIdx(item));
}

// The enriched events of `user`, in emitted order.
std::vector<EnrichedEvent> EnrichedOf(const FeatureOutput& out, uint32_t user) {
  std::vector<EnrichedEvent> events;
  for (const EnrichedEvent& e : out.enriched) {
    if (e.user == UserIdx(user)) events.push_back(e);
  }
  return events;
}

class FeatureOperatorsTest : public ::testing::TestWithParam<size_t> {
 protected:
  void Run(const Records& records, FeatureConfig config = {}) {
    ops_.emplace(config);
    ApplyInBatches(records.Sorted(), GetParam(), &*ops_, &out_);
  }
  const FeatureOperators& ops() const { return *ops_; }

  std::optional<FeatureOperators> ops_;
  FeatureOutput out_;
};

TEST_P(FeatureOperatorsTest, PurchaseAtSameInstantCountsForEarlierInputEvent) {
  // The event comes first in the input, the purchase later, both at the same time:
  // stream order puts the purchase first, so the event's history includes it.
  Records r;
  r.Event(0, 1, EventType::kView, 100).Purchase(0, 2, 40.0, 100);
  const std::vector<Record> sorted = r.Sorted();
  ASSERT_EQ(sorted.size(), 2u);
  EXPECT_EQ(sorted[0].kind, RecordKind::kPurchase);
  EXPECT_TRUE(StreamOrderLess(r.raw()[1], r.raw()[0]));

  Run(r);
  ASSERT_EQ(out_.enriched.size(), 1u);
  EXPECT_EQ(out_.enriched[0].history.count, 1u);
  EXPECT_EQ(out_.enriched[0].history.Average(), 40.0);
}

TEST_P(FeatureOperatorsTest, PurchaseEventEnrichesItself) {
  // "At or before" includes the purchase event's own amount.
  Records r;
  r.Purchase(0, 5, 10.0, -1000).PurchaseEvent(0, 1, 30.0, 0).Event(0, 1, EventType::kView, 0);
  Run(r);
  const std::vector<EnrichedEvent> events = EnrichedOf(out_, 0);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, EventType::kPurchase);
  EXPECT_EQ(events[0].history.count, 2u);
  EXPECT_EQ(events[0].history.Average(), 20.0);
  EXPECT_EQ(events[1].type, EventType::kView);  // later in the input, same instant
  EXPECT_EQ(events[1].history.count, 2u);
}

TEST_P(FeatureOperatorsTest, LaterPurchaseDoesNotLeakIntoEarlierEvent) {
  // The purchases come first in the input but happen after the event.
  Records r;
  r.Purchase(0, 1, 99.0, 1).PurchaseEvent(0, 1, 50.0, 3600).Event(0, 1, EventType::kView, 0);
  Run(r);
  const std::vector<EnrichedEvent> events = EnrichedOf(out_, 0);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, EventType::kView);
  EXPECT_EQ(events[0].history.count, 0u);
  EXPECT_EQ(events[0].history.Average(), std::nullopt);
  EXPECT_EQ(events[1].type, EventType::kPurchase);
  EXPECT_EQ(events[1].history.count, 2u);
  EXPECT_DOUBLE_EQ(*events[1].history.Average(), 74.5);
  // The final state has every purchase.
  EXPECT_EQ(ops().purchase_history().Totals(UserIdx(0)).count, 2u);
}

TEST_P(FeatureOperatorsTest, PurchasesOfOtherUsersDoNotEnrich) {
  Records r;
  r.Purchase(1, 1, 10.0, 0).Event(0, 1, EventType::kView, 10);
  Run(r);
  ASSERT_EQ(out_.enriched.size(), 1u);
  EXPECT_EQ(out_.enriched[0].history.count, 0u);
}

TEST_P(FeatureOperatorsTest, UserWithOnlyPurchasesHasNoProfileButHasFeatures) {
  Records r;
  r.Event(0, 0, EventType::kView, 0).Purchase(1, 0, 12.0, 5).Purchase(1, 3, 8.0, 7);
  Run(r);
  FeatureOutput open;
  ops().EmitOpenSessions(2, &open);
  ASSERT_EQ(open.sessions.size(), 1u);
  EXPECT_EQ(open.sessions[0].user, UserIdx(0));
  EXPECT_EQ(ops().sessionizer().Current(UserIdx(1)), nullptr);  // no session, no profile
  EXPECT_TRUE(EnrichedOf(out_, 1).empty());

  // user_features
  const PurchaseTotals totals = ops().purchase_history().Totals(UserIdx(1));
  EXPECT_EQ(totals.count, 2u);
  EXPECT_DOUBLE_EQ(totals.amount, 20.0);
  EXPECT_DOUBLE_EQ(*totals.Average(), 10.0);
  const EngagementCounts e = ops().user_engagement(UserIdx(1));
  EXPECT_EQ(e.views + e.clicks + e.add_to_cart, 0u);
  // user_item_matrix
  const std::optional<Interaction> cell = CellOf(ops().user_item_matrix(), 1, 3);
  ASSERT_TRUE(cell.has_value());
  EXPECT_EQ(cell->purchase_count, 1u);
  EXPECT_DOUBLE_EQ(cell->total_spent, 8.0);
  EXPECT_DOUBLE_EQ(ops().user_item_matrix().Score(*cell), 1.0);
  EXPECT_EQ(ops().user_item_matrix().pairs(), 3u);
  // item_features
  EXPECT_EQ(ops().item_features().Get(ItemIdx(0)).sales, 1u);
  EXPECT_EQ(ops().item_features().Get(ItemIdx(0)).engagement.views, 1u);
  EXPECT_EQ(ops().item_features().Get(ItemIdx(3)).sales, 1u);
}

TEST_P(FeatureOperatorsTest, PurchaseEventsCountAsPurchasesNotEngagement) {
  Records r;
  r.Event(0, 1, EventType::kView, 0)
      .Event(0, 1, EventType::kClick, 10)
      .Event(0, 1, EventType::kAddToCart, 20)
      .PurchaseEvent(0, 1, 25.0, 30)
      .Purchase(0, 1, 15.0, -86400);  // from the history
  Run(r);
  // user_features
  const PurchaseTotals totals = ops().purchase_history().Totals(UserIdx(0));
  EXPECT_EQ(totals.count, 2u);
  EXPECT_DOUBLE_EQ(totals.amount, 40.0);
  const EngagementCounts e = ops().user_engagement(UserIdx(0));
  EXPECT_EQ(e.views, 1u);
  EXPECT_EQ(e.clicks, 1u);
  EXPECT_EQ(e.add_to_cart, 1u);
  // user_item_matrix
  const std::optional<Interaction> cell = CellOf(ops().user_item_matrix(), 0, 1);
  ASSERT_TRUE(cell.has_value());
  EXPECT_EQ(cell->purchase_count, 2u);
  EXPECT_DOUBLE_EQ(cell->total_spent, 40.0);
  EXPECT_EQ(cell->engagement.views, 1u);
  EXPECT_EQ(cell->engagement.clicks, 1u);
  EXPECT_EQ(cell->engagement.add_to_cart, 1u);
  EXPECT_DOUBLE_EQ(ops().user_item_matrix().Score(*cell), 2.0 + 0.2 + 0.1);
  // item_features
  const ItemAggregate item = ops().item_features().Get(ItemIdx(1));
  EXPECT_EQ(item.sales, 2u);
  EXPECT_DOUBLE_EQ(item.revenue, 40.0);
  EXPECT_EQ(item.engagement.views, 1u);
  EXPECT_EQ(item.engagement.clicks, 1u);
  EXPECT_EQ(item.engagement.add_to_cart, 1u);
  // ...but it is an event: enriched and counted in its session.
  EXPECT_EQ(out_.enriched.size(), 4u);
  const Session* s = ops().sessionizer().Current(UserIdx(0));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->num_events, 4u);
  EXPECT_EQ(s->count(EventType::kPurchase), 1u);
  EXPECT_EQ(s->last_event, EventType::kPurchase);
}

TEST_P(FeatureOperatorsTest, InteractionScoreUsesDefaultWeights) {
  Records r;
  r.Purchase(0, 0, 5.0, -10).Purchase(0, 0, 5.0, -9);
  for (int i = 0; i < 3; ++i) r.Event(0, 0, EventType::kClick, i);
  for (int i = 0; i < 4; ++i) r.Event(0, 0, EventType::kView, 10 + i);
  for (int i = 0; i < 5; ++i) r.Event(0, 0, EventType::kAddToCart, 20 + i);
  r.Event(0, 1, EventType::kView, 30);
  Run(r);
  const UserItemMatrix& m = ops().user_item_matrix();
  EXPECT_EQ(m.weights().purchase, 1.0);
  EXPECT_EQ(m.weights().click, 0.2);
  EXPECT_EQ(m.weights().view, 0.1);
  EXPECT_EQ(m.weights().add_to_cart, 0.0);
  // 1.0 * 2 + 0.2 * 3 + 0.1 * 4 (add_to_cart weighs nothing by default)
  EXPECT_NEAR(m.Score(*CellOf(m, 0, 0)), 3.0, 1e-12);
  EXPECT_NEAR(m.Score(*CellOf(m, 0, 1)), 0.1, 1e-12);
}

TEST_P(FeatureOperatorsTest, InteractionScoreUsesCustomWeights) {
  FeatureConfig config;
  config.weights =
      InteractionWeights{.purchase = 2.0, .click = 0.5, .view = 0.25, .add_to_cart = 1.0};
  Records r;
  r.Purchase(0, 0, 5.0, -10).Purchase(0, 0, 5.0, -9);
  for (int i = 0; i < 3; ++i) r.Event(0, 0, EventType::kClick, i);
  for (int i = 0; i < 4; ++i) r.Event(0, 0, EventType::kView, 10 + i);
  for (int i = 0; i < 5; ++i) r.Event(0, 0, EventType::kAddToCart, 20 + i);
  Run(r, config);
  const UserItemMatrix& m = ops().user_item_matrix();
  EXPECT_NEAR(m.Score(*CellOf(m, 0, 0)), 2.0 * 2 + 0.5 * 3 + 0.25 * 4 + 1.0 * 5, 1e-12);
}

// Three sessions of user 0:
//   1: view 0, click 60, view 120, view 180     length 180, gap 60, 1 click, 3 views
//   2: view 3780                                 length 0,   gap 0,  0 clicks, 1 view
//   3: click 10980, add_to_cart 11080            length 100, gap 100, 1 click, 0 views
// Purchases: 20.0 before session 1, 40.0 between sessions 2 and 3.
Records ThreeSessions() {
  Records r;
  r.Purchase(0, 7, 20.0, -3600)
      .Event(0, 1, EventType::kView, 0)
      .Event(0, 1, EventType::kClick, 60)
      .Event(0, 2, EventType::kView, 120)
      .Event(0, 2, EventType::kView, 180)
      .Event(0, 3, EventType::kView, 3780)
      .Purchase(0, 7, 40.0, 5000)
      .Event(0, 4, EventType::kClick, 10980)
      .Event(0, 4, EventType::kAddToCart, 11080);
  return r;
}

TEST_P(FeatureOperatorsTest, ProfileAggregatesSeveralSessions) {
  Run(ThreeSessions());
  const Session* open = ops().sessionizer().Current(UserIdx(0));
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(open->index, 3u);
  const UserProfile p = ops().user_profiles().Profile(UserIdx(0), *open);
  EXPECT_EQ(p.total_sessions, 3u);
  EXPECT_DOUBLE_EQ(p.avg_clicks_per_session, 2.0 / 3);
  EXPECT_DOUBLE_EQ(p.avg_views_per_session, 4.0 / 3);
  EXPECT_DOUBLE_EQ(p.avg_session_length, 280.0 / 3);
  ASSERT_TRUE(p.avg_purchase_amount.has_value());
  EXPECT_DOUBLE_EQ(*p.avg_purchase_amount, 30.0);  // as of the last session
  EXPECT_EQ(p.max_past_purchases, 2u);
  EXPECT_EQ(p.last_session_clicks, 1u);
  EXPECT_EQ(p.last_session_views, 0u);
  EXPECT_DOUBLE_EQ(p.last_session_length, 100.0);
  EXPECT_EQ(p.last_session_event, EventType::kAddToCart);
}

TEST_P(FeatureOperatorsTest, ProfileAverageGapIsTheMeanOfTheSessionsGaps) {
  // Mean of (60, 0, 100) = 53.33..., not the pooled 280 s / 4 gaps = 70.
  Run(ThreeSessions());
  const UserProfile p =
      ops().user_profiles().Profile(UserIdx(0), *ops().sessionizer().Current(UserIdx(0)));
  EXPECT_DOUBLE_EQ(p.avg_time_gap, 160.0 / 3);
}

TEST_P(FeatureOperatorsTest, ProfileIsAViewOfTheStateAtAnyTime) {
  // After session 1 only (session 2's event not applied yet) the profile has one session.
  const std::vector<Record> sorted = ThreeSessions().Sorted();
  FeatureOperators ops;
  FeatureOutput out;
  ApplyInBatches(std::vector<Record>(sorted.begin(), sorted.begin() + 5), GetParam(), &ops, &out);
  const UserProfile p =
      ops.user_profiles().Profile(UserIdx(0), *ops.sessionizer().Current(UserIdx(0)));
  EXPECT_EQ(p.total_sessions, 1u);
  EXPECT_DOUBLE_EQ(p.avg_time_gap, 60.0);
  EXPECT_DOUBLE_EQ(p.avg_views_per_session, 3.0);
  EXPECT_EQ(p.max_past_purchases, 1u);
}

TEST_P(FeatureOperatorsTest, UserWithoutPurchasesHasEmptyAverages) {
  Records r;
  r.Event(0, 0, EventType::kView, 0);
  Run(r);
  EXPECT_EQ(out_.enriched[0].history.Average(), std::nullopt);
  const UserProfile p =
      ops().user_profiles().Profile(UserIdx(0), *ops().sessionizer().Current(UserIdx(0)));
  EXPECT_EQ(p.avg_purchase_amount, std::nullopt);
  EXPECT_EQ(p.max_past_purchases, 0u);
  EXPECT_EQ(ops().purchase_history().Totals(UserIdx(0)).Average(), std::nullopt);
}

TEST_P(FeatureOperatorsTest, RecordsAppliedCountsEveryRecord) {
  Records r;
  r.Event(0, 0, EventType::kView, 0).PurchaseEvent(0, 0, 1.0, 1).Purchase(1, 0, 2.0, 2);
  Run(r);
  EXPECT_EQ(ops().records_applied(), 4);
  const FeatureOperators::StateBytes bytes = ops().MemoryBytes();
  EXPECT_GT(bytes.user_keyed, 0u);
  EXPECT_GT(bytes.item_keyed, 0u);
  EXPECT_GT(bytes.pair_keyed, 0u);
  EXPECT_EQ(bytes.total(), bytes.user_keyed + bytes.item_keyed + bytes.pair_keyed);
}

INSTANTIATE_TEST_SUITE_P(BatchSizes, FeatureOperatorsTest, ::testing::Values(1, 2, 3, 4096),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return "Batch" + std::to_string(info.param);
                         });

// A random stream of a few users and items over a few hours.
std::vector<Record> RandomStream(uint32_t seed, int n) {
  std::mt19937 rng(seed);
  Records r;
  for (int i = 0; i < n; ++i) {
    const uint32_t user = rng() % 7;
    const uint32_t item = rng() % 5;
    const int64_t seconds = rng() % (4 * 3600) / 300 * 300;  // coarse: many ties
    switch (rng() % 6) {
      case 0:
        r.Purchase(user, item, (rng() % 10000) / 100.0, seconds);
        break;
      case 1:
        r.PurchaseEvent(user, item, (rng() % 10000) / 100.0, seconds);
        break;
      default:
        r.Event(user, item, static_cast<EventType>(rng() % 3), seconds);
    }
  }
  return r.Sorted();
}

TEST(FeatureOperatorsBatchTest, BatchSizeDoesNotChangeAnyOutput) {
  const std::vector<Record> sorted = RandomStream(7, 600);
  FeatureOperators whole;
  FeatureOutput whole_out;
  whole.Apply(sorted, &whole_out);
  whole.EmitOpenSessions(7, &whole_out);
  for (size_t batch : {1, 2, 5, 50, 599}) {
    SCOPED_TRACE(batch);
    FeatureOperators ops;
    FeatureOutput out;
    ApplyInBatches(sorted, batch, &ops, &out);
    ops.EmitOpenSessions(7, &out);
    ASSERT_EQ(out.enriched.size(), whole_out.enriched.size());
    for (size_t i = 0; i < out.enriched.size(); ++i) {
      EXPECT_EQ(out.enriched[i].time, whole_out.enriched[i].time);
      EXPECT_EQ(out.enriched[i].user, whole_out.enriched[i].user);
      EXPECT_EQ(out.enriched[i].history.count, whole_out.enriched[i].history.count);
      EXPECT_EQ(out.enriched[i].history.amount, whole_out.enriched[i].history.amount);
    }
    ASSERT_EQ(out.sessions.size(), whole_out.sessions.size());
    for (size_t i = 0; i < out.sessions.size(); ++i) {
      EXPECT_EQ(out.sessions[i].user, whole_out.sessions[i].user);
      EXPECT_EQ(out.sessions[i].session.index, whole_out.sessions[i].session.index);
      EXPECT_EQ(out.sessions[i].session.num_events, whole_out.sessions[i].session.num_events);
      EXPECT_EQ(out.sessions[i].session.end, whole_out.sessions[i].session.end);
    }
    for (uint32_t u = 0; u < 7; ++u) {
      EXPECT_EQ(ops.purchase_history().Totals(UserIdx(u)).amount,
                whole.purchase_history().Totals(UserIdx(u)).amount);
      EXPECT_EQ(ops.user_engagement(UserIdx(u)).views, whole.user_engagement(UserIdx(u)).views);
    }
    EXPECT_EQ(ops.user_item_matrix().pairs(), whole.user_item_matrix().pairs());
  }
}

TEST(ItemAggregateTest, MergeAddsEveryField) {
  ItemAggregate a;
  a.sales = 2;
  a.revenue = 30.5;
  a.engagement = {.views = 4, .clicks = 1, .add_to_cart = 0};
  ItemAggregate b;
  b.sales = 1;
  b.revenue = 9.5;
  b.engagement = {.views = 1, .clicks = 2, .add_to_cart = 3};
  a.Merge(b);
  EXPECT_EQ(a.sales, 3u);
  EXPECT_DOUBLE_EQ(a.revenue, 40.0);
  EXPECT_EQ(a.engagement.views, 5u);
  EXPECT_EQ(a.engagement.clicks, 3u);
  EXPECT_EQ(a.engagement.add_to_cart, 3u);
  // Merging an empty aggregate changes nothing.
  a.Merge(ItemAggregate{});
  EXPECT_EQ(a.sales, 3u);
  EXPECT_EQ(a.engagement.views, 5u);
}

TEST(ItemAggregateTest, MergedUserPartitionsEqualOneRun) {
  // Partition the stream by user (even / odd), run each partition on its own operators,
  // and merge the item aggregates: the result is the single run's.
  const std::vector<Record> sorted = RandomStream(11, 800);
  FeatureOperators whole, even, odd;
  FeatureOutput out;
  whole.Apply(sorted, &out);
  std::vector<Record> even_records, odd_records;
  for (const Record& r : sorted) (r.user.value % 2 == 0 ? even_records : odd_records).push_back(r);
  even.Apply(even_records, &out);
  odd.Apply(odd_records, &out);
  for (uint32_t i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    ItemAggregate merged = even.item_features().Get(ItemIdx(i));
    merged.Merge(odd.item_features().Get(ItemIdx(i)));
    const ItemAggregate expected = whole.item_features().Get(ItemIdx(i));
    EXPECT_EQ(merged.sales, expected.sales);
    EXPECT_NEAR(merged.revenue, expected.revenue, 1e-9);
    EXPECT_EQ(merged.engagement.views, expected.engagement.views);
    EXPECT_EQ(merged.engagement.clicks, expected.engagement.clicks);
    EXPECT_EQ(merged.engagement.add_to_cart, expected.engagement.add_to_cart);
  }
}

// Everything a snapshot must carry: continuing from a loaded state gives the same
// sessions, enriched events and state as never stopping.
TEST(FeatureOperatorsSnapshotTest, SavedAndLoadedStateContinuesIdentically) {
  const std::vector<Record> sorted = RandomStream(7, 600);
  const std::span<const Record> all(sorted);
  FeatureOperators whole;
  FeatureOutput whole_out;
  whole.Apply(all, &whole_out);
  whole.EmitOpenSessions(7, &whole_out);

  FeatureOperators first;
  FeatureOutput out;
  first.Apply(all.first(250), &out);
  std::string bytes;
  ByteWriter writer(&bytes);
  first.Save(&writer);
  FeatureOperators second;
  ByteReader reader(bytes);
  ASSERT_TRUE(second.Load(&reader).ok());
  EXPECT_TRUE(reader.at_end());
  second.Apply(all.subspan(250), &out);
  second.EmitOpenSessions(7, &out);

  ASSERT_EQ(out.enriched.size(), whole_out.enriched.size());
  ASSERT_EQ(out.sessions.size(), whole_out.sessions.size());
  for (size_t i = 0; i < out.sessions.size(); ++i) {
    EXPECT_EQ(out.sessions[i].session.num_events, whole_out.sessions[i].session.num_events);
    EXPECT_EQ(out.sessions[i].session.end, whole_out.sessions[i].session.end);
  }
  EXPECT_EQ(second.records_applied(), whole.records_applied());
  EXPECT_EQ(second.user_item_matrix().pairs(), whole.user_item_matrix().pairs());
  for (uint32_t u = 0; u < 7; ++u) {
    const UserProfile a =
        second.user_profiles().Profile(UserIdx(u), *second.sessionizer().Current(UserIdx(u)));
    const UserProfile b =
        whole.user_profiles().Profile(UserIdx(u), *whole.sessionizer().Current(UserIdx(u)));
    EXPECT_EQ(a.total_sessions, b.total_sessions);
    EXPECT_EQ(a.avg_session_length, b.avg_session_length);
    for (uint32_t i = 0; i < 5; ++i) {
      const std::optional<Interaction> x = second.user_item_matrix().Find(UserIdx(u), ItemIdx(i));
      const std::optional<Interaction> y = whole.user_item_matrix().Find(UserIdx(u), ItemIdx(i));
      ASSERT_EQ(x.has_value(), y.has_value());
      if (x.has_value()) {
        EXPECT_EQ(x->engagement.views, y->engagement.views);
      }
    }
  }
}

// The user-keyed operators share their slots through pointers to the owner's: a move of
// the owner must carry the slots along.
TEST(FeatureOperatorsTest, MovedOperatorsKeepTheirUserSlots) {
  const std::vector<Record> sorted = RandomStream(11, 400);
  const std::span<const Record> all(sorted);
  FeatureOperators whole;
  FeatureOutput whole_out;
  whole.Apply(all, &whole_out);

  FeatureOutput out;
  FeatureOperators first;
  first.Apply(all.first(200), &out);
  FeatureOperators moved = std::move(first);
  moved.Apply(all.subspan(200, 100), &out);
  FeatureOperators assigned;
  assigned = std::move(moved);
  assigned.Apply(all.subspan(300), &out);
  ASSERT_EQ(out.enriched.size(), whole_out.enriched.size());
  for (size_t i = 0; i < out.enriched.size(); ++i) {
    EXPECT_EQ(out.enriched[i].history.amount, whole_out.enriched[i].history.amount) << i;
    EXPECT_EQ(out.enriched[i].session, whole_out.enriched[i].session) << i;
  }
  for (uint32_t u = 0; u < 7; ++u) {
    EXPECT_EQ(assigned.purchase_history().Totals(UserIdx(u)).count,
              whole.purchase_history().Totals(UserIdx(u)).count);
    EXPECT_EQ(assigned.user_engagement(UserIdx(u)).clicks,
              whole.user_engagement(UserIdx(u)).clicks);
    EXPECT_EQ(assigned.user_item_matrix().pairs_of(UserIdx(u)),
              whole.user_item_matrix().pairs_of(UserIdx(u)));
  }
}

TEST(FeatureOperatorsSnapshotTest, LoadedStateSavesTheSameBytes) {
  const std::vector<Record> sorted = RandomStream(5, 500);
  FeatureOperators ops;
  FeatureOutput out;
  ops.Apply(sorted, &out);
  std::string bytes;
  ByteWriter writer(&bytes);
  ops.Save(&writer);
  FeatureOperators loaded;
  ByteReader reader(bytes);
  ASSERT_TRUE(loaded.Load(&reader).ok());
  std::string again;
  ByteWriter again_writer(&again);
  loaded.Save(&again_writer);
  EXPECT_EQ(again, bytes);
}

TEST(FeatureOperatorsSnapshotTest, TruncatedSnapshotIsDataLoss) {
  FeatureOperators ops;
  FeatureOutput out;
  ops.Apply(RandomStream(7, 100), &out);
  std::string bytes;
  ByteWriter writer(&bytes);
  ops.Save(&writer);
  for (size_t cut : {size_t{0}, size_t{5}, bytes.size() / 2, bytes.size() - 1}) {
    FeatureOperators loaded;
    ByteReader reader(std::string_view(bytes).substr(0, cut));
    EXPECT_EQ(loaded.Load(&reader).code(), absl::StatusCode::kDataLoss) << cut;
  }
}

TEST(FeatureOperatorsLiveTest, OrderFreeOnArrivalThenOrderedEqualsApply) {
  const std::vector<Record> sorted = RandomStream(7, 600);
  FeatureOperators whole;
  FeatureOutput whole_out;
  whole.Apply(sorted, &whole_out);
  // Order-free halves in a shuffled order, ordered halves in stream order, interleaved.
  std::vector<Record> shuffled = sorted;
  std::mt19937 rng(5);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  FeatureOperators live;
  FeatureOutput out;
  const std::span<const Record> all(sorted);
  live.ApplyOrderFree(std::span<const Record>(shuffled).first(300));
  live.ApplyOrdered(all.first(200), &out);
  live.ApplyOrderFree(std::span<const Record>(shuffled).subspan(300));
  live.ApplyOrdered(all.subspan(200), &out);
  EXPECT_EQ(live.records_applied(), whole.records_applied());
  ASSERT_EQ(out.enriched.size(), whole_out.enriched.size());
  for (size_t i = 0; i < out.enriched.size(); ++i) {
    EXPECT_EQ(out.enriched[i].history.count, whole_out.enriched[i].history.count);
    EXPECT_EQ(out.enriched[i].session, whole_out.enriched[i].session);
  }
  EXPECT_EQ(out.sessions.size(), whole_out.sessions.size());
  EXPECT_EQ(live.user_item_matrix().pairs(), whole.user_item_matrix().pairs());
  for (uint32_t u = 0; u < 7; ++u) {
    EXPECT_EQ(live.user_engagement(UserIdx(u)).views, whole.user_engagement(UserIdx(u)).views);
    EXPECT_EQ(live.purchase_history().Totals(UserIdx(u)).count,
              whole.purchase_history().Totals(UserIdx(u)).count);
  }
  for (uint32_t i = 0; i < 5; ++i) {
    EXPECT_EQ(live.item_features().Get(ItemIdx(i)).sales,
              whole.item_features().Get(ItemIdx(i)).sales);
  }
}

TEST(FeatureOperatorsLateTest, LateRecordsCountInAggregatesButNotInSessions) {
  Records r;
  r.Event(0, 1, EventType::kView, int64_t{100}).Event(0, 1, EventType::kClick, int64_t{200});
  FeatureOperators ops;
  FeatureOutput out;
  ops.Apply(r.Sorted(), &out);
  Records late;
  late.Event(0, 2, EventType::kView, int64_t{50}).Purchase(0, 2, 9.5, 60);
  ops.ApplyLate(late.Sorted());
  EXPECT_EQ(ops.user_engagement(UserIdx(0)).views, 2u);
  EXPECT_EQ(ops.purchase_history().Totals(UserIdx(0)).count, 1u);
  EXPECT_EQ(ops.item_features().Get(ItemIdx(2)).sales, 1u);
  ASSERT_TRUE(ops.user_item_matrix().Find(UserIdx(0), ItemIdx(2)).has_value());
  EXPECT_EQ(ops.sessionizer().Current(UserIdx(0))->num_events, 2u);
  EXPECT_EQ(out.enriched.size(), 2u);
  EXPECT_EQ(ops.records_applied(), 4);
}

TEST(EngagementCountsTest, PurchaseIsNotEngagement) {
  EngagementCounts c;
  c.Add(EventType::kPurchase);
  EXPECT_EQ(c.views + c.clicks + c.add_to_cart, 0u);
  c.Add(EventType::kView);
  c.Add(EventType::kClick);
  c.Add(EventType::kAddToCart);
  EXPECT_EQ(c.views, 1u);
  EXPECT_EQ(c.clicks, 1u);
  EXPECT_EQ(c.add_to_cart, 1u);
}

}  // namespace
}  // namespace streamrec
