#include "models/blend.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

ScoredItem S(uint32_t item, double score, ReasonKind kind = ReasonKind::kNone) {
  return ScoredItem{ItemIdx(item), score, Reason{kind, ItemIdx()}};
}

TEST(BlendTest, EachListCountsOverItsBestWithItsWeight) {
  const std::vector<ScoredItem> live = {S(1, 4, ReasonKind::kTrending), S(2, 2)};
  const std::vector<ScoredItem> als = {S(2, 10, ReasonKind::kForYou), S(3, 5)};
  const WeightedList lists[] = {{live, 0.7}, {als, 0.3}};
  std::vector<ScoredItem> out;
  BlendLists(lists, 10, &out);
  ASSERT_EQ(out.size(), 3u);
  // 1: 0.7; 2: 0.35 + 0.3 = 0.65; 3: 0.15.
  EXPECT_EQ(out[0].item, ItemIdx(1));
  EXPECT_NEAR(out[0].score, 0.7, 1e-12);
  EXPECT_EQ(out[1].item, ItemIdx(2));
  EXPECT_NEAR(out[1].score, 0.65, 1e-12);
  EXPECT_EQ(out[1].reason.kind, ReasonKind::kNone);  // live gave 0.35, ALS 0.3
  EXPECT_EQ(out[2].item, ItemIdx(3));
}

TEST(BlendTest, ANegativeScoreCountsAsZeroNotAsAPenalty) {
  const std::vector<ScoredItem> live = {S(1, 1), S(2, 1)};
  const std::vector<ScoredItem> als = {S(3, 2), S(2, -5)};
  const WeightedList lists[] = {{live, 0.5}, {als, 0.5}};
  std::vector<ScoredItem> out;
  BlendLists(lists, 10, &out);
  // All three score 0.5 (item 2 gets nothing from ALS, not minus 1.25): lower id first.
  ASSERT_EQ(out.size(), 3u);
  for (const ScoredItem& s : out) EXPECT_NEAR(s.score, 0.5, 1e-12);
  EXPECT_EQ(out[0].item, ItemIdx(1));
  EXPECT_EQ(out[1].item, ItemIdx(2));
  EXPECT_EQ(out[2].item, ItemIdx(3));
}

TEST(BlendTest, KCutsAndEmptyOrZeroListsAddNothing) {
  const std::vector<ScoredItem> live = {S(5, 3), S(6, 2), S(7, 1)};
  const std::vector<ScoredItem> zeros = {S(8, 0)};
  const WeightedList lists[] = {{live, 1}, {zeros, 1}, {{}, 1}};
  std::vector<ScoredItem> out;
  BlendLists(lists, 2, &out);
  EXPECT_THAT(out, ::testing::ElementsAre(S(5, 1), S(6, 2.0 / 3)));
}

}  // namespace
}  // namespace streamrec
