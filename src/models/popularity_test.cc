// Popular and trending: weights by type, decay by half-life, renormalisation, the exact
// top pools, and filtering deeper than the pool.

#include "models/popularity.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/model_test_util.h"
#include "models/recommender.h"

namespace streamrec {
namespace {

using model_testing::kBase;
using model_testing::kMinute;

constexpr int64_t kHour = 60 * kMinute;

std::vector<uint32_t> TopIds(const Popularity& p, bool trending, size_t k,
                             absl::FunctionRef<bool(ItemIdx)> excluded = &NeverExcluded) {
  std::vector<std::pair<double, ItemIdx>> top;
  p.Top(trending, k, excluded, &top);
  std::vector<uint32_t> ids;
  for (const auto& [score, item] : top) ids.push_back(item.value);
  return ids;
}

TEST(PopularityTest, PopularCountsAreWeightedByType) {
  Recommender models;
  const auto at = [](int64_t m) { return EventTime{kBase.micros + m * kMinute}; };
  models.Observe({UserIdx(0), ItemIdx(1), EventType::kView, at(0), 1, false});
  models.Observe({UserIdx(0), ItemIdx(1), EventType::kClick, at(1), 1, false});
  models.Observe({UserIdx(0), ItemIdx(1), EventType::kAddToCart, at(2), 1, false});
  models.Observe({UserIdx(0), ItemIdx(1), EventType::kPurchase, at(3), 1, false});
  models.Observe({UserIdx(1), ItemIdx(2), EventType::kView, at(3), 1, false});
  EXPECT_DOUBLE_EQ(models.PopularScore(ItemIdx(1)), 1 + 2 + 4 + 8);
  EXPECT_DOUBLE_EQ(models.PopularScore(ItemIdx(2)), 1);
  EXPECT_DOUBLE_EQ(models.PopularScore(ItemIdx(7)), 0);
}

TEST(PopularityTest, TrendingDecaysByHalfLife) {
  ModelConfig config;
  config.trending_half_life_micros = 2 * kHour;
  Popularity p(config);
  p.Add(ItemIdx(0), 8, kBase);
  p.Add(ItemIdx(1), 1, EventTime{kBase.micros + 6 * kHour});
  const EventTime now{kBase.micros + 6 * kHour};
  // Three half-lives later, 8 counts as 1.
  EXPECT_NEAR(p.trending_scaled(ItemIdx(0)) * p.DecayFactor(now), 1.0, 1e-12);
  EXPECT_NEAR(p.trending_scaled(ItemIdx(1)) * p.DecayFactor(now), 1.0, 1e-12);
  EXPECT_NEAR(p.trending_scaled(ItemIdx(0)) * p.DecayFactor(kBase), 8.0, 1e-12);
}

TEST(PopularityTest, LateEventsAddAtTheirOwnTime) {
  ModelConfig config;
  config.trending_half_life_micros = kHour;
  Popularity in_order(config), late(config);
  in_order.Add(ItemIdx(0), 1, kBase);
  in_order.Add(ItemIdx(0), 1, EventTime{kBase.micros + kHour});
  late.Add(ItemIdx(0), 1, EventTime{kBase.micros + kHour});
  late.Add(ItemIdx(0), 1, kBase);
  const EventTime now{kBase.micros + 2 * kHour};
  EXPECT_NEAR(in_order.trending_scaled(ItemIdx(0)) * in_order.DecayFactor(now),
              late.trending_scaled(ItemIdx(0)) * late.DecayFactor(now), 1e-12);
  EXPECT_NEAR(late.trending_scaled(ItemIdx(0)) * late.DecayFactor(now), 0.25 + 0.5, 1e-12);
}

TEST(PopularityTest, RenormalisationKeepsScoresAndOrder) {
  ModelConfig config;
  config.trending_half_life_micros = kHour;
  config.top_candidates = 4;
  Popularity p(config);
  // 200 hours is far past e^64 (92 half-lives): the scale is renormalised.
  for (int h = 0; h <= 200; h += 10) {
    for (uint32_t i = 0; i < 10; ++i) {
      p.Add(ItemIdx(i), static_cast<float>(1 + (i * 7 + h) % 5),
            EventTime{kBase.micros + h * kHour});
    }
  }
  EXPECT_GE(p.renormalisations(), 1);
  const EventTime now{kBase.micros + 200 * kHour};
  std::vector<std::pair<double, uint32_t>> expected;
  for (uint32_t i = 0; i < 10; ++i) {
    double sum = 0;
    for (int h = 0; h <= 200; h += 10) sum += (1 + (i * 7 + h) % 5) * std::exp2(-(200.0 - h));
    EXPECT_NEAR(p.trending_scaled(ItemIdx(i)) * p.DecayFactor(now), sum, 1e-9 * sum);
    expected.emplace_back(sum, i);
  }
  std::sort(expected.begin(), expected.end(),
            [](auto& a, auto& b) { return RanksBefore(a.first, a.second, b.first, b.second); });
  std::vector<uint32_t> want;
  for (int i = 0; i < 4; ++i) want.push_back(expected[i].second);
  EXPECT_EQ(TopIds(p, true, 4), want);
}

// The pools against a full sort, after every step of a random stream with ties.
TEST(PopularityTest, TopPoolsMatchBruteForceOnRandomStream) {
  ModelConfig config;
  config.top_candidates = 8;
  config.trending_half_life_micros = 3 * kHour;
  Popularity p(config);
  std::mt19937 rng(7);
  std::vector<double> popular(60, 0);
  for (int step = 0; step < 3000; ++step) {
    const uint32_t item = rng() % 60;
    const float w = static_cast<float>(1u << (rng() % 4));
    p.Add(ItemIdx(item), w, EventTime{kBase.micros + step * kMinute});
    popular[item] += w;
    if (step % 97 != 0) continue;
    for (bool trending : {false, true}) {
      std::vector<std::pair<double, uint32_t>> all;
      for (uint32_t i = 0; i < 60; ++i) {
        const double s = trending ? p.trending_scaled(ItemIdx(i)) : popular[i];
        if (s > 0) all.emplace_back(s, i);
      }
      std::sort(all.begin(), all.end(),
                [](auto& a, auto& b) { return RanksBefore(a.first, a.second, b.first, b.second); });
      std::vector<uint32_t> want;
      for (size_t i = 0; i < std::min<size_t>(5, all.size()); ++i) want.push_back(all[i].second);
      ASSERT_EQ(TopIds(p, trending, 5), want) << "step " << step << " trending " << trending;
    }
  }
}

TEST(PopularityTest, FilteringDeeperThanThePoolScansAllItems) {
  ModelConfig config;
  config.top_candidates = 3;
  Popularity p(config);
  for (uint32_t i = 0; i < 10; ++i) p.Add(ItemIdx(i), static_cast<float>(10 - i), kBase);
  // Exclude the pool's three and one more: the answer comes from the scan.
  const auto excluded = [](ItemIdx i) { return i.value < 3 || i.value == 4; };
  EXPECT_THAT(TopIds(p, false, 3, excluded), testing::ElementsAre(3, 5, 6));
  EXPECT_THAT(TopIds(p, false, 20, excluded), testing::ElementsAre(3, 5, 6, 7, 8, 9));
}

TEST(PopularityTest, ZeroWeightEventsMakeTheItemKnownButNotPopular) {
  ModelConfig config;
  config.event_weights = {0, 2, 4, 8};
  Popularity p(config);
  p.Add(ItemIdx(5), 0, kBase);
  EXPECT_EQ(p.items(), 6u);
  EXPECT_TRUE(TopIds(p, false, 3).empty());
}

}  // namespace
}  // namespace streamrec
