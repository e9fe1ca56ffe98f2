// InteractionMatrix: duplicates summed, rows sorted, both directions the same cells.

#include "models/interaction_matrix.h"

#include <map>
#include <random>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using testing::ElementsAre;
using testing::IsEmpty;

WeightedInteraction Cell(uint32_t user, uint32_t item, float weight) {
  return WeightedInteraction{UserIdx(user), ItemIdx(item), weight};
}

std::vector<uint32_t> Values(auto ids) {
  std::vector<uint32_t> out;
  for (auto id : ids) out.push_back(id.value);
  return out;
}

TEST(InteractionMatrixTest, DuplicateCellsAreSummed) {
  const std::vector<WeightedInteraction> cells = {Cell(0, 2, 1), Cell(0, 1, 2), Cell(0, 2, 4),
                                                  Cell(1, 2, 8), Cell(0, 2, 0.5)};
  const InteractionMatrix m = InteractionMatrix::FromInteractions(cells, 2, 3);
  EXPECT_EQ(m.nnz(), 3u);
  EXPECT_THAT(Values(m.UserItems(UserIdx(0))), ElementsAre(1, 2));
  EXPECT_THAT(m.UserWeights(UserIdx(0)), ElementsAre(2, 5.5));
  EXPECT_THAT(Values(m.ItemUsers(ItemIdx(2))), ElementsAre(0, 1));
  EXPECT_THAT(m.ItemWeights(ItemIdx(2)), ElementsAre(5.5, 8));
}

TEST(InteractionMatrixTest, RowsAndColumnsWithoutCellsAreEmpty) {
  const std::vector<WeightedInteraction> cells = {Cell(2, 0, 1)};
  const InteractionMatrix m = InteractionMatrix::FromInteractions(cells, 4, 3);
  EXPECT_EQ(m.num_users(), 4u);
  EXPECT_EQ(m.num_items(), 3u);
  EXPECT_THAT(m.UserItems(UserIdx(0)), IsEmpty());
  EXPECT_THAT(m.UserItems(UserIdx(3)), IsEmpty());
  EXPECT_THAT(m.ItemUsers(ItemIdx(2)), IsEmpty());
  EXPECT_THAT(Values(m.ItemUsers(ItemIdx(0))), ElementsAre(2));
}

TEST(InteractionMatrixTest, NoCellsGiveAnEmptyMatrix) {
  const InteractionMatrix m = InteractionMatrix::FromInteractions({}, 0, 0);
  EXPECT_EQ(m.nnz(), 0u);
  EXPECT_EQ(m.num_users(), 0u);
}

TEST(InteractionMatrixTest, BothDirectionsHoldTheSameCellsSorted) {
  std::mt19937 rng(7);
  std::vector<WeightedInteraction> cells;
  std::map<std::pair<uint32_t, uint32_t>, float> expected;
  for (int n = 0; n < 2000; ++n) {
    const WeightedInteraction c =
        Cell(rng() % 50, rng() % 40, static_cast<float>(1 << (rng() % 4)));
    cells.push_back(c);
    expected[{c.user.value, c.item.value}] += c.weight;  // exact: small powers of two
  }
  const InteractionMatrix m = InteractionMatrix::FromInteractions(cells, 50, 40);
  ASSERT_EQ(m.nnz(), expected.size());

  std::map<std::pair<uint32_t, uint32_t>, float> by_user, by_item;
  for (uint32_t u = 0; u < 50; ++u) {
    const auto items = m.UserItems(UserIdx(u));
    EXPECT_TRUE(std::is_sorted(items.begin(), items.end())) << "user " << u;
    for (size_t k = 0; k < items.size(); ++k) {
      by_user[{u, items[k].value}] = m.UserWeights(UserIdx(u))[k];
    }
  }
  for (uint32_t i = 0; i < 40; ++i) {
    const auto users = m.ItemUsers(ItemIdx(i));
    EXPECT_TRUE(std::is_sorted(users.begin(), users.end())) << "item " << i;
    for (size_t k = 0; k < users.size(); ++k) {
      by_item[{users[k].value, i}] = m.ItemWeights(ItemIdx(i))[k];
    }
  }
  EXPECT_EQ(by_user, expected);
  EXPECT_EQ(by_item, expected);
}

TEST(InteractionMatrixDeathTest, IdOutOfRangeIsABug) {
  const std::vector<WeightedInteraction> cells = {Cell(0, 3, 1)};
  EXPECT_DEATH(InteractionMatrix::FromInteractions(cells, 1, 3), "outside");
}

}  // namespace
}  // namespace streamrec
