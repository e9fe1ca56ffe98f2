// Metrics against hand-computed cases: a hit at rank 1 and at rank k, a hit just past k,
// no hit, more and fewer relevant items than k, short lists, coverage across queries,
// averaging, and Merge against sequential accumulation.

#include "eval/metrics.h"

#include <cmath>
#include <random>

#include "eval/test_data.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using eval_testing::Items;

// Value of `metric` at `k` in the results.
double Get(const MetricAccumulator& acc, std::string_view metric, int k) {
  for (const MetricValue& v : acc.Results("m")) {
    if (v.metric == metric && v.k == k) return v.value;
  }
  ADD_FAILURE() << "no " << metric << "@" << k;
  return -1;
}

struct Expected {
  double hr, recall, precision, ndcg, mrr, map;
};

void ExpectAll(const MetricAccumulator& acc, int k, Expected e) {
  EXPECT_DOUBLE_EQ(Get(acc, "hr", k), e.hr);
  EXPECT_DOUBLE_EQ(Get(acc, "recall", k), e.recall);
  EXPECT_DOUBLE_EQ(Get(acc, "precision", k), e.precision);
  EXPECT_DOUBLE_EQ(Get(acc, "ndcg", k), e.ndcg);
  EXPECT_DOUBLE_EQ(Get(acc, "mrr", k), e.mrr);
  EXPECT_DOUBLE_EQ(Get(acc, "map", k), e.map);
}

MetricAccumulator One(int k, std::initializer_list<uint32_t> ranked,
                      std::initializer_list<uint32_t> relevant) {
  MetricAccumulator acc({k}, 100);
  acc.AddQuery(Items(ranked), Items(relevant));
  return acc;
}

TEST(MetricsTest, HitAtRankOne) { ExpectAll(One(3, {1, 2, 3}, {1}), 3, {1, 1, 1.0 / 3, 1, 1, 1}); }

TEST(MetricsTest, HitAtRankK) {
  // ndcg = (1/log2(4)) / 1; map = precision@3 / min(3, 1).
  ExpectAll(One(3, {5, 6, 7}, {7}), 3, {1, 1, 1.0 / 3, 0.5, 1.0 / 3, 1.0 / 3});
}

TEST(MetricsTest, HitJustPastKIsNoHit) {
  ExpectAll(One(3, {5, 6, 7, 8}, {8}), 3, {0, 0, 0, 0, 0, 0});
}

TEST(MetricsTest, NoHit) { ExpectAll(One(2, {1, 2}, {3, 4}), 2, {0, 0, 0, 0, 0, 0}); }

TEST(MetricsTest, MoreRelevantThanK) {
  // R = {1..5}, list 1, 9, 2 at k = 3: hits at ranks 1 and 3.
  const double dcg = 1 + 1 / std::log2(4.0);
  const double idcg = 1 + 1 / std::log2(3.0) + 1 / std::log2(4.0);  // min(k, |R|) = 3 terms
  ExpectAll(One(3, {1, 9, 2}, {1, 2, 3, 4, 5}), 3,
            {1, 2.0 / 5, 2.0 / 3, dcg / idcg, 1, (1 + 2.0 / 3) / 3});
}

TEST(MetricsTest, FewerRelevantThanK) {
  // R = {2, 7}, list 1, 2, 3, 4, 7 at k = 5: hits at ranks 2 and 5.
  const double dcg = 1 / std::log2(3.0) + 1 / std::log2(6.0);
  const double idcg = 1 + 1 / std::log2(3.0);  // min(k, |R|) = 2 terms
  ExpectAll(One(5, {1, 2, 3, 4, 7}, {2, 7}), 5,
            {1, 1, 2.0 / 5, dcg / idcg, 0.5, (1.0 / 2 + 2.0 / 5) / 2});
}

TEST(MetricsTest, ShortListStillDividesPrecisionByK) {
  ExpectAll(One(10, {3}, {3}), 10, {1, 1, 0.1, 1, 1, 1});
}

TEST(MetricsTest, EmptyListIsAMiss) { ExpectAll(One(5, {}, {3}), 5, {0, 0, 0, 0, 0, 0}); }

TEST(MetricsTest, DuplicateRelevantItemsCountOnce) {
  ExpectAll(One(2, {4, 5}, {5, 5}), 2, {1, 1, 0.5, 1 / std::log2(3.0), 0.5, 0.5});
}

TEST(MetricsTest, EachCutoffSeesOnlyItsPrefix) {
  MetricAccumulator acc({3, 1}, 100);
  acc.AddQuery(Items({1, 2, 3}), Items({2}));
  ExpectAll(acc, 1, {0, 0, 0, 0, 0, 0});
  ExpectAll(acc, 3, {1, 1, 1.0 / 3, 1 / std::log2(3.0), 0.5, 0.5});
}

TEST(MetricsTest, AveragesOverQueries) {
  MetricAccumulator acc({2}, 100);
  acc.AddQuery(Items({1, 2}), Items({1}));
  acc.AddQuery(Items({1, 2}), Items({3}));
  EXPECT_EQ(acc.queries(), 2);
  ExpectAll(acc, 2, {0.5, 0.5, 0.25, 0.5, 0.5, 0.5});
}

TEST(MetricsTest, NoQueriesGiveZeros) {
  MetricAccumulator acc({5}, 10);
  ExpectAll(acc, 5, {0, 0, 0, 0, 0, 0});
  EXPECT_EQ(Get(acc, "coverage", 5), 0);
}

TEST(MetricsTest, CoverageIsTheUnionOfTopKOverQueries) {
  MetricAccumulator acc({1, 3}, 10);
  acc.AddQuery(Items({1, 2, 3}), Items({9}));
  acc.AddQuery(Items({3, 4, 5}), Items({9}));
  EXPECT_DOUBLE_EQ(Get(acc, "coverage", 1), 2.0 / 10);  // {1, 3}
  EXPECT_DOUBLE_EQ(Get(acc, "coverage", 3), 5.0 / 10);  // {1, 2, 3, 4, 5}
}

TEST(MetricsTest, ResultsComeMetricByMetricWithKsAscending) {
  MetricAccumulator acc({20, 10, 10}, 10);
  const std::vector<MetricValue> results = acc.Results("als");
  ASSERT_EQ(results.size(), 14u);
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].model, "als");
    EXPECT_EQ(results[i].metric, kMetricNames[i / 2]);
    EXPECT_EQ(results[i].k, i % 2 == 0 ? 10 : 20);
  }
}

TEST(MetricsTest, MergeEqualsSequentialAccumulation) {
  std::mt19937 rng(7);
  std::vector<std::vector<ItemIdx>> lists, relevant;
  for (int q = 0; q < 300; ++q) {
    std::vector<ItemIdx> list;
    for (uint32_t i = 0; i < 12; ++i) list.push_back(ItemIdx((rng() % 40) * 12 + i));  // distinct
    std::vector<ItemIdx> rel;
    for (int r = 0; r < 1 + q % 4; ++r) rel.push_back(list[rng() % 12]);
    rel.push_back(ItemIdx(1000 + q));  // never recommended
    lists.push_back(list);
    relevant.push_back(rel);
  }
  MetricAccumulator sequential({1, 5, 10}, 500);
  MetricAccumulator parts[3] = {{{1, 5, 10}, 500}, {{1, 5, 10}, 500}, {{1, 5, 10}, 500}};
  for (size_t q = 0; q < lists.size(); ++q) {
    sequential.AddQuery(lists[q], relevant[q]);
    parts[q * 3 / lists.size()].AddQuery(lists[q], relevant[q]);
  }
  MetricAccumulator merged({1, 5, 10}, 500);
  for (const MetricAccumulator& p : parts) merged.Merge(p);
  EXPECT_EQ(merged.queries(), sequential.queries());
  const std::vector<MetricValue> a = sequential.Results("m"), b = merged.Results("m");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].metric, b[i].metric);
    EXPECT_EQ(a[i].k, b[i].k);
    EXPECT_NEAR(a[i].value, b[i].value, 1e-12) << a[i].metric << "@" << a[i].k;
  }
}

}  // namespace
}  // namespace streamrec
