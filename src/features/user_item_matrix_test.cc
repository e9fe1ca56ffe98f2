// UserItemMatrix: rows that grow, move and reuse regions must keep every cell, and
// answer exactly like a plain map of pairs.

#include "features/user_item_matrix.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace streamrec {
namespace {

using Pair = std::pair<uint32_t, uint32_t>;

std::map<Pair, uint32_t> ViewsByPair(const UserItemMatrix& m) {
  std::map<Pair, uint32_t> out;
  m.ForEach([&](UserIdx u, ItemIdx i, const Interaction& c) {
    EXPECT_TRUE(out.emplace(Pair{u.value, i.value}, c.engagement.views).second)
        << "pair visited twice: " << u.value << "," << i.value;
  });
  return out;
}

TEST(UserItemMatrixTest, UnknownUserAndUnknownItemHaveNoCell) {
  UserItemMatrix m;
  EXPECT_EQ(m.Find(UserIdx(0), ItemIdx(0)), nullptr);
  m.AddEvent(UserIdx(3), ItemIdx(5), EventType::kView);
  EXPECT_EQ(m.Find(UserIdx(3), ItemIdx(6)), nullptr);
  EXPECT_EQ(m.Find(UserIdx(2), ItemIdx(5)), nullptr);
  EXPECT_EQ(m.Find(UserIdx(4), ItemIdx(5)), nullptr);
  ASSERT_NE(m.Find(UserIdx(3), ItemIdx(5)), nullptr);
  EXPECT_EQ(m.pairs(), 1u);
}

TEST(UserItemMatrixTest, PurchaseEventsAreCountedOnlyThroughPurchases) {
  UserItemMatrix m;
  m.AddEvent(UserIdx(0), ItemIdx(1), EventType::kPurchase);
  EXPECT_EQ(m.pairs(), 0u);
  m.AddPurchase(UserIdx(0), ItemIdx(1), 2.5);
  m.AddPurchase(UserIdx(0), ItemIdx(1), 1.5);
  const Interaction* c = m.Find(UserIdx(0), ItemIdx(1));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->purchase_count, 2u);
  EXPECT_DOUBLE_EQ(c->total_spent, 4.0);
}

TEST(UserItemMatrixTest, RowKeepsEveryCellAsItGrowsToThousandsOfItems) {
  UserItemMatrix m;
  for (uint32_t item = 0; item < 5000; ++item) {
    for (uint32_t n = 0; n <= item % 3; ++n)
      m.AddEvent(UserIdx(7), ItemIdx(item), EventType::kView);
  }
  EXPECT_EQ(m.pairs(), 5000u);
  EXPECT_EQ(m.pairs_of(UserIdx(7)), 5000u);
  for (uint32_t item = 0; item < 5000; ++item) {
    const Interaction* c = m.Find(UserIdx(7), ItemIdx(item));
    ASSERT_NE(c, nullptr) << item;
    EXPECT_EQ(c->engagement.views, item % 3 + 1) << item;
  }
}

TEST(UserItemMatrixTest, RegionsLeftByGrowingRowsAreReusedEmpty) {
  UserItemMatrix m;
  m.Reserve(/*users=*/3, /*pairs=*/0);  // row headers do not grow below
  // User 0 grows through regions of 2, 4, 8 and 16 cells; users 1.. then take the
  // regions it left, which must not carry its cells.
  for (uint32_t item = 0; item < 12; ++item)
    m.AddEvent(UserIdx(0), ItemIdx(item), EventType::kClick);
  const size_t bytes_before = m.MemoryBytes();
  m.AddEvent(UserIdx(1), ItemIdx(100), EventType::kView);
  m.AddEvent(UserIdx(2), ItemIdx(100), EventType::kView);
  m.AddEvent(UserIdx(2), ItemIdx(101), EventType::kView);
  EXPECT_EQ(m.pairs_of(UserIdx(1)), 1u);
  EXPECT_EQ(m.pairs_of(UserIdx(2)), 2u);
  EXPECT_EQ(m.Find(UserIdx(1), ItemIdx(0)), nullptr);
  EXPECT_EQ(m.Find(UserIdx(2), ItemIdx(1)), nullptr);
  // Reuse: of the regions of 2, 2 and 4 cells the small rows took, only one of 2 cells
  // (the second region of that size) was appended to the arena.
  EXPECT_EQ(m.MemoryBytes() - bytes_before, 2 * 32u);
  const auto all = ViewsByPair(m);
  EXPECT_EQ(all.size(), 15u);
}

TEST(UserItemMatrixTest, RandomUpdatesMatchAPlainMap) {
  std::mt19937 rng(42);
  UserItemMatrix m;
  std::map<Pair, uint32_t> expected;
  // Zipf-like: a few heavy users with many items, many light ones.
  for (int n = 0; n < 200000; ++n) {
    const uint32_t user = static_cast<uint32_t>(std::pow(rng() % 10000 + 1, 1.5)) % 3000;
    const uint32_t item = rng() % 20000;
    m.AddEvent(UserIdx(user), ItemIdx(item), EventType::kView);
    ++expected[{user, item}];
  }
  EXPECT_EQ(m.pairs(), expected.size());
  EXPECT_EQ(ViewsByPair(m), expected);
}

TEST(UserItemMatrixTest, IterationIsByUserId) {
  UserItemMatrix m;
  m.AddEvent(UserIdx(5), ItemIdx(1), EventType::kView);
  m.AddEvent(UserIdx(2), ItemIdx(1), EventType::kView);
  m.AddEvent(UserIdx(9), ItemIdx(1), EventType::kView);
  std::vector<uint32_t> users;
  m.ForEach([&](UserIdx u, ItemIdx, const Interaction&) { users.push_back(u.value); });
  EXPECT_EQ(users, (std::vector<uint32_t>{2, 5, 9}));
}

TEST(UserItemMatrixTest, ReservedMatrixGivesTheSameCells) {
  UserItemMatrix plain, reserved;
  reserved.Reserve(100, 10000);
  for (uint32_t n = 0; n < 5000; ++n) {
    plain.AddEvent(UserIdx(n % 97), ItemIdx(n * 7 % 1013), EventType::kView);
    reserved.AddEvent(UserIdx(n % 97), ItemIdx(n * 7 % 1013), EventType::kView);
  }
  EXPECT_EQ(ViewsByPair(plain), ViewsByPair(reserved));
}

}  // namespace
}  // namespace streamrec
