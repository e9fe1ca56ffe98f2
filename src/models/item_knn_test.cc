// ItemKnnModel: similarities against a brute-force cosine with shrinkage, the kept
// neighbours, scoring, determinism and Save/Load.

#include "models/item_knn.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <stop_token>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using testing::ElementsAre;
using testing::IsEmpty;

// 5 users x 5 items, weights per cell (0: no cell).
constexpr float kWeights[5][5] = {
    {1, 2, 0, 0, 4},  //
    {1, 0, 8, 0, 0},  //
    {0, 2, 1, 0, 0},  //
    {4, 1, 0, 0, 1},  //
    {0, 0, 0, 0, 2},  //
};

InteractionMatrix TinyMatrix() {
  std::vector<WeightedInteraction> cells;
  for (uint32_t u = 0; u < 5; ++u) {
    for (uint32_t i = 0; i < 5; ++i) {
      if (kWeights[u][i] > 0) cells.push_back({UserIdx(u), ItemIdx(i), kWeights[u][i]});
    }
  }
  return InteractionMatrix::FromInteractions(cells, 5, 5);
}

double BruteForceSim(uint32_t a, uint32_t b, double shrinkage) {
  double dot = 0, na = 0, nb = 0;
  for (int u = 0; u < 5; ++u) {
    dot += double{kWeights[u][a]} * kWeights[u][b];
    na += double{kWeights[u][a]} * kWeights[u][a];
    nb += double{kWeights[u][b]} * kWeights[u][b];
  }
  return dot / (std::sqrt(na) * std::sqrt(nb) + shrinkage);
}

std::vector<uint32_t> ItemsOf(const std::vector<ScoredItem>& out) {
  std::vector<uint32_t> ids;
  for (const ScoredItem& s : out) ids.push_back(s.item.value);
  return ids;
}

TEST(ItemKnnTest, SimilarityIsCosineWithShrinkageAgainstBruteForce) {
  for (float shrinkage : {0.0f, 10.0f}) {
    const ItemKnnModel model = *ItemKnnModel::Train(TinyMatrix(), {.shrinkage = shrinkage});
    for (uint32_t a = 0; a < 5; ++a) {
      std::vector<ScoredItem> expected;
      for (uint32_t b = 0; b < 5; ++b) {
        const double sim = BruteForceSim(a, b, shrinkage);
        if (b != a && sim > 0) expected.push_back({ItemIdx(b), sim, Reason{}});
      }
      std::sort(expected.begin(), expected.end(), [](const ScoredItem& x, const ScoredItem& y) {
        return x.score > y.score || (x.score == y.score && x.item < y.item);
      });
      std::vector<ScoredItem> got;
      model.SimilarItems(ItemIdx(a), 10, &got);
      ASSERT_EQ(ItemsOf(got), ItemsOf(expected)) << "item " << a << " shrinkage " << shrinkage;
      for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k].score, expected[k].score, 1e-6);
    }
  }
}

TEST(ItemKnnTest, ItemsWithoutCommonUsersAreNoNeighbours) {
  const ItemKnnModel model = *ItemKnnModel::Train(TinyMatrix(), {});
  std::vector<ScoredItem> out;
  model.SimilarItems(ItemIdx(3), 10, &out);  // no users at all
  EXPECT_THAT(out, IsEmpty());
  model.SimilarItems(ItemIdx(2), 10, &out);  // shares users with 0 and 1 only
  EXPECT_THAT(ItemsOf(out), testing::UnorderedElementsAre(0, 1));
  model.SimilarItems(ItemIdx(99), 10, &out);
  EXPECT_THAT(out, IsEmpty());
}

TEST(ItemKnnTest, KeepsOnlyTheBestNeighboursTiesByLowerId) {
  // Items 1, 2, 3 each share one user with item 0, with equal weights: equal similarity.
  const std::vector<WeightedInteraction> cells = {
      {UserIdx(0), ItemIdx(0), 1}, {UserIdx(0), ItemIdx(3), 1}, {UserIdx(1), ItemIdx(0), 1},
      {UserIdx(1), ItemIdx(2), 1}, {UserIdx(2), ItemIdx(0), 1}, {UserIdx(2), ItemIdx(1), 1}};
  const InteractionMatrix m = InteractionMatrix::FromInteractions(cells, 3, 4);
  const ItemKnnModel model = *ItemKnnModel::Train(m, {.neighbours = 2});
  std::vector<ScoredItem> out;
  model.SimilarItems(ItemIdx(0), 10, &out);
  EXPECT_THAT(ItemsOf(out), ElementsAre(1, 2));
  model.SimilarItems(ItemIdx(0), 1, &out);
  EXPECT_THAT(ItemsOf(out), ElementsAre(1));
}

TEST(ItemKnnTest, RecommendSumsWeightedSimilaritiesAndSkipsExcluded) {
  const ItemKnnModel model = *ItemKnnModel::Train(TinyMatrix(), {.shrinkage = 1});
  const std::vector<ItemIdx> items = {ItemIdx(0), ItemIdx(2), ItemIdx(0), ItemIdx(77)};
  const std::vector<float> weights = {1, 2, 0.5f, 3};
  std::vector<ScoredItem> out;
  model.Recommend(
      items, weights, 10, [](ItemIdx i) { return i.value == 0; }, &out);
  // score(j) = 1.5 sim(0, j) + 2 sim(2, j); item 0 excluded, item 2 is not.
  std::vector<ScoredItem> expected;
  for (uint32_t j = 1; j < 5; ++j) {
    const double s =
        (j != 0 ? 1.5 * BruteForceSim(0, j, 1) : 0) + (j != 2 ? 2 * BruteForceSim(2, j, 1) : 0);
    if (s > 0) expected.push_back({ItemIdx(j), s, Reason{}});
  }
  std::sort(expected.begin(), expected.end(),
            [](const ScoredItem& x, const ScoredItem& y) { return x.score > y.score; });
  ASSERT_EQ(ItemsOf(out), ItemsOf(expected));
  for (size_t k = 0; k < out.size(); ++k) EXPECT_NEAR(out[k].score, expected[k].score, 1e-6);
}

TEST(ItemKnnTest, RecommendCountsAGivenItemOnlyWhereTheCandidatesOwnListHoldsIt) {
  std::mt19937 rng(5);
  std::vector<WeightedInteraction> cells;
  for (int n = 0; n < 3000; ++n) {
    cells.push_back({UserIdx(rng() % 200), ItemIdx(rng() % 60), static_cast<float>(1 + rng() % 4)});
  }
  const InteractionMatrix m = InteractionMatrix::FromInteractions(cells, 200, 60);
  const ItemKnnModel model = *ItemKnnModel::Train(m, {.neighbours = 3, .threads = 1});
  const std::vector<ItemIdx> items = {ItemIdx(4), ItemIdx(9), ItemIdx(17)};
  const std::vector<float> weights = {1, 2, 3};
  std::map<uint32_t, double> expected;
  for (uint32_t j = 0; j < 60; ++j) {
    std::vector<ScoredItem> list;
    model.SimilarItems(ItemIdx(j), 3, &list);
    for (const ScoredItem& n : list) {
      for (size_t g = 0; g < items.size(); ++g) {
        if (n.item == items[g]) expected[j] += weights[g] * n.score;
      }
    }
  }
  std::vector<ScoredItem> out;
  model.Recommend(items, weights, 60, NeverExcluded, &out);
  ASSERT_EQ(out.size(), expected.size());
  for (const ScoredItem& r : out) {
    ASSERT_TRUE(expected.contains(r.item.value)) << r.item.value;
    EXPECT_NEAR(r.score, expected[r.item.value], 1e-5) << r.item.value;
  }
}

TEST(ItemKnnTest, ThreadCountDoesNotChangeTheLists) {
  std::mt19937 rng(3);
  std::vector<WeightedInteraction> cells;
  for (int n = 0; n < 5000; ++n) {
    cells.push_back(
        {UserIdx(rng() % 300), ItemIdx(rng() % 700), static_cast<float>(1 + rng() % 8)});
  }
  const InteractionMatrix m = InteractionMatrix::FromInteractions(cells, 300, 700);
  std::string one, three;
  ByteWriter w1(&one), w3(&three);
  ItemKnnModel::Train(m, {.neighbours = 20, .threads = 1})->Save(&w1);
  ItemKnnModel::Train(m, {.neighbours = 20, .threads = 3})->Save(&w3);
  EXPECT_EQ(one.substr(12), three.substr(12));  // all but the options
}

TEST(ItemKnnTest, SaveLoadRoundTripAndCorruption) {
  const ItemKnnModel model = *ItemKnnModel::Train(TinyMatrix(), {.neighbours = 3});
  std::string bytes;
  ByteWriter w(&bytes);
  model.Save(&w);
  ByteReader r(bytes);
  const absl::StatusOr<ItemKnnModel> loaded = ItemKnnModel::Load(&r);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::vector<ScoredItem> a, b;
  for (uint32_t i = 0; i < 5; ++i) {
    model.SimilarItems(ItemIdx(i), 10, &a);
    loaded->SimilarItems(ItemIdx(i), 10, &b);
    EXPECT_EQ(a, b);
  }
  for (size_t cut = 0; cut < bytes.size(); cut += 5) {
    ByteReader truncated(std::string_view(bytes).substr(0, cut));
    EXPECT_EQ(ItemKnnModel::Load(&truncated).status().code(), absl::StatusCode::kDataLoss) << cut;
  }
  std::string bad_id = bytes;
  bad_id[16 + 4] = 9;  // item 0's first neighbour (after the 16-byte header and its count)
  ByteReader corrupt(bad_id);
  EXPECT_EQ(ItemKnnModel::Load(&corrupt).status().code(), absl::StatusCode::kDataLoss);
}

TEST(ItemKnnTest, StopRequestedIsCancelled) {
  std::stop_source stop;
  stop.request_stop();
  EXPECT_EQ(ItemKnnModel::Train(TinyMatrix(), {}, stop.get_token()).status().code(),
            absl::StatusCode::kCancelled);
}

TEST(ItemKnnTest, InvalidOptionsAreRejected) {
  EXPECT_EQ(ItemKnnModel::Train(TinyMatrix(), {.neighbours = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ValidateItemKnnOptions({.shrinkage = -1}).message(), testing::HasSubstr("shrinkage"));
}

}  // namespace
}  // namespace streamrec
