#include "models/blend.h"

#include <algorithm>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

ScoredItem S(uint32_t item, double score, ReasonKind kind = ReasonKind::kNone) {
  return ScoredItem{ItemIdx(item), score, Reason{kind, ItemIdx()}};
}

std::vector<uint32_t> ItemsOf(const std::vector<ScoredItem>& list) {
  std::vector<uint32_t> items;
  for (const ScoredItem& s : list) items.push_back(s.item.value);
  return items;
}

TEST(BlendTest, EachPartCountsOverItsListsBestWithItsWeight) {
  const std::vector<ScoredItem> live = {S(1, 4, ReasonKind::kTrending), S(2, 2)};
  const std::vector<float> batch_of_live = {0, 10};
  const std::vector<ScoredItem> batch = {S(2, 10, ReasonKind::kForYou), S(3, 5)};
  std::vector<ScoredItem> out;
  BlendLiveAndBatch(live, batch_of_live, batch, 0.3, 10, &out);
  ASSERT_EQ(out.size(), 3u);
  // 1: 0.7; 2: 0.35 + 0.3 = 0.65; 3: 0.15.
  EXPECT_EQ(out[0].item, ItemIdx(1));
  EXPECT_NEAR(out[0].score, 0.7, 1e-12);
  EXPECT_EQ(out[0].reason.kind, ReasonKind::kTrending);
  EXPECT_EQ(out[1].item, ItemIdx(2));
  EXPECT_NEAR(out[1].score, 0.65, 1e-12);
  EXPECT_EQ(out[1].reason.kind, ReasonKind::kNone);  // live gave 0.35, the batch 0.3
  EXPECT_EQ(out[2].item, ItemIdx(3));
  EXPECT_NEAR(out[2].score, 0.15, 1e-12);
  EXPECT_EQ(out[2].reason.kind, ReasonKind::kForYou);
}

// An approximate batch top k (HNSW, for large catalogues) can miss a live item that the
// batch model scores higher than its first: that item's score is then the batch's best,
// so no part passes its weight and no blend passes 1.
TEST(BlendTest, ALiveItemAboveAnApproximateBatchTopSetsTheBatchsBest) {
  const std::vector<ScoredItem> live = {S(1, 1), S(2, 0.5)};
  const std::vector<float> batch_of_live = {0.5f, 0.05f};
  const std::vector<ScoredItem> batch = {S(3, 0.1, ReasonKind::kForYou)};
  std::vector<ScoredItem> out;
  BlendLiveAndBatch(live, batch_of_live, batch, 0.5, 10, &out);
  ASSERT_EQ(ItemsOf(out), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_DOUBLE_EQ(out[0].score, 0.5 + 0.5);         // its batch part: 0.5 of a best of 0.5
  EXPECT_DOUBLE_EQ(out[1].score, 0.25);  // 0.05 is below 0.85 of the k-th (0.1): no part
  EXPECT_DOUBLE_EQ(out[2].score, 0.5 * 0.2);
}

TEST(BlendTest, LiveItemBelowTheBatchTopGetsItsBatchPartOnlyNearTheKth) {
  // The batch top 3 ends at 2.5: item 7 (2.2, at least 0.85 of it) gets its part though
  // outside the top; item 8 (2.0) gets none.
  const std::vector<ScoredItem> live = {S(5, 1), S(7, 1), S(8, 1)};
  const std::vector<float> batch_of_live = {0, 2.2f, 2};
  const std::vector<ScoredItem> batch_top = {S(9, 8), S(4, 3), S(6, 2.5)};
  std::vector<ScoredItem> out;
  BlendLiveAndBatch(live, batch_of_live, batch_top, 0.5, 4, &out);
  EXPECT_THAT(ItemsOf(out), testing::ElementsAre(7, 5, 8, 9));
  EXPECT_NEAR(out[0].score, 0.5 + 0.5 * 2.2f / 8, 1e-12);
  EXPECT_NEAR(out[1].score, 0.5, 1e-12);
  EXPECT_NEAR(out[2].score, 0.5, 1e-12);
  EXPECT_NEAR(out[3].score, 0.5, 1e-12);
}

TEST(BlendTest, ANegativeScoreCountsAsZeroNotAsAPenalty) {
  const std::vector<ScoredItem> live = {S(1, 1), S(2, 1)};
  const std::vector<float> batch_of_live = {-1, -5};
  const std::vector<ScoredItem> batch = {S(3, 2), S(1, -1)};
  std::vector<ScoredItem> out;
  BlendLiveAndBatch(live, batch_of_live, batch, 0.5, 10, &out);
  // All three score 0.5 (item 2 gets nothing from the batch, not minus 1.25): lower id first.
  ASSERT_EQ(out.size(), 3u);
  for (const ScoredItem& s : out) EXPECT_NEAR(s.score, 0.5, 1e-12);
  EXPECT_THAT(ItemsOf(out), testing::ElementsAre(1, 2, 3));
}

TEST(BlendTest, KCutsAndAListWhoseBestIsNotAboveZeroAddsNothing) {
  const std::vector<ScoredItem> live = {S(5, 3), S(6, 2), S(7, 1)};
  const std::vector<float> batch_of_live = {0, 0, 0};
  const std::vector<ScoredItem> zeros = {S(8, 0)};
  std::vector<ScoredItem> out;
  BlendLiveAndBatch(live, batch_of_live, zeros, 0.5, 2, &out);
  EXPECT_THAT(ItemsOf(out), testing::ElementsAre(5, 6));  // nothing of item 8
  EXPECT_NEAR(out[1].score, 0.5 * 2 / 3, 1e-12);
  BlendLiveAndBatch({}, {}, zeros, 0.5, 2, &out);
  EXPECT_THAT(out, testing::IsEmpty());
  BlendLiveAndBatch({}, {}, {}, 0.5, 2, &out);
  EXPECT_THAT(out, testing::IsEmpty());
}

// The contract: the batch model's exact top k stands for its whole ranking. Against the
// blend of every item, each scored by the batch model, on random lists with ties and
// negative scores (so k-th bests below 0 too): equal down to the first blend of 0.
TEST(BlendTest, BatchTopKGivesTheBlendOverEveryItem) {
  std::mt19937 rng(11);
  constexpr uint32_t kItems = 400;
  const auto better = [](const ScoredItem& a, const ScoredItem& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
  };
  for (int round = 0; round < 200; ++round) {
    // Scores on a coarse grid, so that ties are common.
    std::uniform_int_distribution<int> grid(-8, 40);
    std::vector<float> batch(kItems);
    for (float& b : batch) b = static_cast<float>(grid(rng)) / 8;
    std::vector<uint32_t> ids(kItems);
    for (uint32_t i = 0; i < kItems; ++i) ids[i] = i;
    std::shuffle(ids.begin(), ids.end(), rng);
    const size_t live_size = std::uniform_int_distribution<size_t>(0, 60)(rng);
    std::vector<ScoredItem> live;
    for (size_t j = 0; j < live_size; ++j) live.push_back(S(ids[j], grid(rng) / 4.0 + 2));
    std::sort(live.begin(), live.end(), better);
    std::vector<float> batch_of_live;
    for (const ScoredItem& s : live) batch_of_live.push_back(batch[s.item.value]);
    const size_t k = std::uniform_int_distribution<size_t>(1, 30)(rng);
    std::vector<ScoredItem> ranking;
    for (uint32_t i = 0; i < kItems; ++i) ranking.push_back(S(i, batch[i]));
    std::sort(ranking.begin(), ranking.end(), better);
    const std::vector<ScoredItem> batch_top(ranking.begin(), ranking.begin() + k);
    const double weight = std::uniform_real_distribution<double>(0, 1)(rng);

    std::vector<ScoredItem> got;
    BlendLiveAndBatch(live, batch_of_live, batch_top, weight, k, &got);

    const double live_scale =
        !live.empty() && live.front().score > 0 ? (1 - weight) / live.front().score : 0;
    const double batch_scale = ranking.front().score > 0 ? weight / ranking.front().score : 0;
    const double vouched = kBatchVouchRatio * ranking[k - 1].score;
    std::vector<double> live_part(kItems, 0);
    for (const ScoredItem& s : live) live_part[s.item.value] = live_scale * s.score;
    std::vector<ScoredItem> want;
    for (uint32_t i = 0; i < kItems; ++i) {
      const double part = batch[i] >= vouched ? batch_scale * std::max(0.0f, batch[i]) : 0;
      const double blend = live_part[i] + part;
      if (blend > 0) want.push_back(S(i, blend));
    }
    std::sort(want.begin(), want.end(), better);
    if (want.size() > k) want.resize(k);
    std::erase_if(got, [](const ScoredItem& s) { return !(s.score > 0); });
    ASSERT_EQ(ItemsOf(got), ItemsOf(want)) << "round " << round << ", k " << k;
    for (size_t j = 0; j < got.size(); ++j) EXPECT_NEAR(got[j].score, want[j].score, 1e-12);
  }
}

}  // namespace
}  // namespace streamrec
