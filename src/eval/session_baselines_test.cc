// SequentialRules and V-SKNN on tiny sessions, checked by hand against the definitions
// in session_baselines.h.

#include "eval/session_baselines.h"

#include "eval/test_data.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using eval_testing::DatasetBuilder;
using eval_testing::Items;
using eval_testing::kMinute;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<SessionStep> Prefix(std::initializer_list<uint32_t> items) {
  std::vector<SessionStep> steps;
  int64_t t = 0;
  for (uint32_t i : items)
    steps.push_back(SessionStep{ItemIdx(i), EventType::kView, EventTime{t++}});
  return steps;
}

template <typename Model>
std::vector<ItemIdx> ForSession(const Model& m, std::initializer_list<uint32_t> items,
                                size_t k = 10) {
  std::vector<ItemIdx> out;
  m.RecommendForSession(Prefix(items), k, &out);
  return out;
}

void FitOn(EvalModel* m, const EvalDataset& d) {
  ASSERT_TRUE(m->Fit(d.events, d.num_users, d.num_items).ok());
}

TEST(SequentialRulesTest, PairsWithinStepsWeighOneOverDistance) {
  const EvalDataset d = DatasetBuilder().Session(0, {1, 2, 3}, 0).Session(1, {1, 3}, 0).Build();
  SequentialRules sr;
  FitOn(&sr, d);
  EXPECT_DOUBLE_EQ(sr.RuleWeight(ItemIdx(1), ItemIdx(2)), 1.0);
  EXPECT_DOUBLE_EQ(sr.RuleWeight(ItemIdx(1), ItemIdx(3)), 0.5 + 1.0);
  EXPECT_DOUBLE_EQ(sr.RuleWeight(ItemIdx(2), ItemIdx(3)), 1.0);
  EXPECT_DOUBLE_EQ(sr.RuleWeight(ItemIdx(3), ItemIdx(1)), 0.0);  // rules point forward
  EXPECT_EQ(ForSession(sr, {9, 1}), Items({3, 2}));              // the last item's rules
  EXPECT_THAT(ForSession(sr, {3}), IsEmpty());
  EXPECT_EQ(ForSession(sr, {1}, 1), Items({3}));
}

TEST(SequentialRulesTest, StepsBoundTheDistance) {
  const EvalDataset d = DatasetBuilder().Session(0, {1, 2, 3, 4}, 0).Build();
  SequentialRules sr({.steps = 2});
  FitOn(&sr, d);
  EXPECT_DOUBLE_EQ(sr.RuleWeight(ItemIdx(1), ItemIdx(3)), 0.5);
  EXPECT_DOUBLE_EQ(sr.RuleWeight(ItemIdx(1), ItemIdx(4)), 0.0);
}

TEST(SequentialRulesTest, PruningKeepsTheHeaviestRules) {
  const EvalDataset d = DatasetBuilder().Session(0, {1, 2, 3, 4}, 0).Build();
  SequentialRules sr({.pruning = 2});
  FitOn(&sr, d);
  EXPECT_EQ(ForSession(sr, {1}), Items({2, 3}));  // 1, 1/2; 1/3 to item 4 is pruned
  EXPECT_DOUBLE_EQ(sr.RuleWeight(ItemIdx(1), ItemIdx(4)), 0.0);
}

TEST(SequentialRulesTest, RepeatsMakeSelfRules) {
  const EvalDataset d = DatasetBuilder().Session(0, {1, 2, 1}, 0).Build();
  SequentialRules sr;
  FitOn(&sr, d);
  EXPECT_DOUBLE_EQ(sr.RuleWeight(ItemIdx(1), ItemIdx(1)), 0.5);
  EXPECT_DOUBLE_EQ(sr.RuleWeight(ItemIdx(2), ItemIdx(1)), 1.0);
}

TEST(SequentialRulesTest, AGapOverThirtyMinutesEndsTheSession) {
  DatasetBuilder b;
  b.Add(0, 1, 0).Add(0, 2, 30 * kMinute);      // exactly 30 minutes: same session
  b.Add(1, 1, 0).Add(1, 3, 30 * kMinute + 1);  // one second more: a new session
  SequentialRules sr;
  FitOn(&sr, b.Build());
  EXPECT_DOUBLE_EQ(sr.RuleWeight(ItemIdx(1), ItemIdx(2)), 1.0);
  EXPECT_DOUBLE_EQ(sr.RuleWeight(ItemIdx(1), ItemIdx(3)), 0.0);
}

TEST(SequentialRulesTest, ForAUserUsesTheLastTrainItemAndSkipsExcluded) {
  const EvalDataset d = DatasetBuilder().Session(0, {1, 2, 3}, 0).Session(1, {5, 1}, 0).Build();
  SequentialRules sr;
  FitOn(&sr, d);
  std::vector<ItemIdx> out;
  sr.RecommendForUser(
      UserIdx(1), 10, [](ItemIdx i) { return i == ItemIdx(2); }, &out);
  EXPECT_EQ(out, Items({3}));
}

// s0 (user 0): 1 2 3, the oldest; s1 (user 1): 2 4; s2 (user 2): 1 5, the most recent.
EvalDataset ThreeSessions() {
  return DatasetBuilder()
      .Session(0, {1, 2, 3}, 0)
      .Session(1, {2, 4}, 10 * kMinute)
      .Session(2, {1, 5}, 20 * kMinute)
      .Build();
}

TEST(VSknnTest, NeighboursAndScoresByHand) {
  VSknn knn;
  FitOn(&knn, ThreeSessions());
  // Prefix 1 2: weights 1/2 and 1 (linear, latest 1); steps 2 and 1.
  const std::vector<VSknn::Neighbour> n = knn.Neighbours(Items({1, 2}));
  ASSERT_EQ(n.size(), 3u);
  EXPECT_EQ(n[0].session, 0u);  // has 1 and 2
  EXPECT_DOUBLE_EQ(n[0].similarity, 1.5);
  EXPECT_DOUBLE_EQ(n[0].decay, 1.0);
  EXPECT_EQ(n[1].session, 1u);  // has 2
  EXPECT_DOUBLE_EQ(n[1].similarity, 1.0);
  EXPECT_DOUBLE_EQ(n[1].decay, 1.0);
  EXPECT_EQ(n[2].session, 2u);  // has 1 only, the second latest: decay 1/2
  EXPECT_DOUBLE_EQ(n[2].similarity, 0.5);
  EXPECT_DOUBLE_EQ(n[2].decay, 0.5);
  // Scores: 1: 1.5 + 0.25; 2: 1.5 + 1; 3: 1.5; 4: 1; 5: 0.25.
  EXPECT_EQ(ForSession(knn, {1, 2}), Items({2, 1, 3, 4, 5}));
}

TEST(VSknnTest, RepeatedItemsWeighByTheirLastPosition) {
  VSknn knn;
  FitOn(&knn, ThreeSessions());
  // Prefix 1 2 1: item 1 weighs 3/3, item 2 weighs 2/3.
  const std::vector<VSknn::Neighbour> n = knn.Neighbours(Items({1, 2, 1}));
  ASSERT_EQ(n.size(), 3u);
  EXPECT_EQ(n[0].session, 0u);
  EXPECT_DOUBLE_EQ(n[0].similarity, 5.0 / 3);
  EXPECT_EQ(n[1].session, 2u);
  EXPECT_DOUBLE_EQ(n[1].similarity, 1.0);
  EXPECT_EQ(n[2].session, 1u);
  EXPECT_DOUBLE_EQ(n[2].similarity, 2.0 / 3);
  EXPECT_DOUBLE_EQ(n[2].decay, 0.5);
}

TEST(VSknnTest, SampleTakesTheMostRecentSessions) {
  VSknn knn({.sample_size = 2});
  FitOn(&knn, ThreeSessions());
  // s0 is the oldest and left out: 2: 1; 4: 1; 1: 0.25; 5: 0.25 (ties by lower id).
  EXPECT_EQ(ForSession(knn, {1, 2}), Items({2, 4, 1, 5}));
}

TEST(VSknnTest, OnlyTheKMostSimilarNeighboursScore) {
  VSknn knn({.k = 1});
  FitOn(&knn, ThreeSessions());
  EXPECT_EQ(ForSession(knn, {1, 2}), Items({1, 2, 3}));
  EXPECT_EQ(ForSession(knn, {1, 2}, 2), Items({1, 2}));
}

TEST(VSknnTest, UnknownItemsGiveNothing) {
  VSknn knn;
  FitOn(&knn, ThreeSessions());
  EXPECT_THAT(ForSession(knn, {77}), IsEmpty());
  EXPECT_THAT(ForSession(knn, {}), IsEmpty());
}

TEST(VSknnTest, ForAUserTheLatestSessionIsThePrefixButNotANeighbour) {
  DatasetBuilder b;
  b.Session(0, {3}, 0).Session(0, {1, 2}, 2 * 60 * kMinute);  // user 0: two sessions
  b.Session(1, {2, 4}, 10 * kMinute);
  VSknn knn;
  FitOn(&knn, b.Build());
  std::vector<ItemIdx> out;
  knn.RecommendForUser(
      UserIdx(0), 10, [](ItemIdx i) { return i == ItemIdx(2); }, &out);
  EXPECT_EQ(out, Items({4}));  // only s(user 1) is a neighbour; 2 is excluded
  knn.RecommendForUser(
      UserIdx(7), 10, [](ItemIdx) { return false; }, &out);
  EXPECT_THAT(out, IsEmpty());
}

}  // namespace
}  // namespace streamrec
