// UserItemMatrix: rows that grow, move and reuse regions must keep every cell, and
// answer exactly like a plain map of pairs.

#include "features/user_item_matrix.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
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
  EXPECT_FALSE(m.Find(UserIdx(0), ItemIdx(0)).has_value());
  m.AddEvent(UserIdx(3), ItemIdx(5), EventType::kView);
  EXPECT_FALSE(m.Find(UserIdx(3), ItemIdx(6)).has_value());
  EXPECT_FALSE(m.Find(UserIdx(2), ItemIdx(5)).has_value());
  EXPECT_FALSE(m.Find(UserIdx(4), ItemIdx(5)).has_value());
  ASSERT_TRUE(m.Find(UserIdx(3), ItemIdx(5)).has_value());
  EXPECT_EQ(m.pairs(), 1u);
}

TEST(UserItemMatrixTest, PurchaseEventsAreCountedOnlyThroughPurchases) {
  UserItemMatrix m;
  m.AddEvent(UserIdx(0), ItemIdx(1), EventType::kPurchase);
  EXPECT_EQ(m.pairs(), 0u);
  m.AddPurchase(UserIdx(0), ItemIdx(1), 2.5);
  m.AddPurchase(UserIdx(0), ItemIdx(1), 1.5);
  const std::optional<Interaction> c = m.Find(UserIdx(0), ItemIdx(1));
  ASSERT_TRUE(c.has_value());
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
    const std::optional<Interaction> c = m.Find(UserIdx(7), ItemIdx(item));
    ASSERT_TRUE(c.has_value()) << item;
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
  EXPECT_FALSE(m.Find(UserIdx(1), ItemIdx(0)).has_value());
  EXPECT_FALSE(m.Find(UserIdx(2), ItemIdx(1)).has_value());
  // Reuse: of the regions of 2, 2 and 4 cells the small rows took, only one of 2 cells
  // (the second region of that size) was appended to the arena.
  EXPECT_EQ(m.MemoryBytes() - bytes_before, 2 * 16u);
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

void ExpectInteraction(const std::optional<Interaction>& c, EngagementCounts engagement,
                       uint32_t purchases, double spent) {
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->engagement.views, engagement.views);
  EXPECT_EQ(c->engagement.clicks, engagement.clicks);
  EXPECT_EQ(c->engagement.add_to_cart, engagement.add_to_cart);
  EXPECT_EQ(c->purchase_count, purchases);
  EXPECT_DOUBLE_EQ(c->total_spent, spent);
}

// A count is kept in a byte up to 254; the first to reach 255 moves all four counts of
// the pair to the side table, and every count stays exact from then on.
TEST(UserItemMatrixTest, CountsPastAByteStayExact) {
  UserItemMatrix m;
  const UserIdx u(1);
  const ItemIdx item(2);
  for (int n = 0; n < 3; ++n) m.AddEvent(u, item, EventType::kClick);
  m.AddPurchase(u, item, 0.25);
  m.AddPurchase(u, item, 0.5);
  for (int n = 0; n < 254; ++n) m.AddEvent(u, item, EventType::kView);
  std::optional<Interaction> c = m.Find(u, item);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->engagement.views, 254u);
  const size_t narrow_bytes = m.MemoryBytes();

  m.AddEvent(u, item, EventType::kView);
  ExpectInteraction(m.Find(u, item), {.views = 255, .clicks = 3, .add_to_cart = 0}, 2, 0.75);
  EXPECT_GT(m.MemoryBytes(), narrow_bytes);

  for (int n = 0; n < 70000; ++n) m.AddEvent(u, item, EventType::kAddToCart);
  for (int n = 0; n < 300; ++n) m.AddPurchase(u, item, 1.0);
  m.AddEvent(u, item, EventType::kClick);
  ExpectInteraction(m.Find(u, item), {.views = 255, .clicks = 4, .add_to_cart = 70000}, 302,
                    300.75);
  EXPECT_EQ(m.pairs(), 1u);
}

TEST(UserItemMatrixTest, WideCountsFollowTheirCellWhenTheRowMoves) {
  UserItemMatrix m;
  const UserIdx u(0);
  for (int n = 0; n < 300; ++n) m.AddPurchase(u, ItemIdx(9), 2.0);
  // Two cells hold one pair; 40 more items move the row through four larger regions.
  for (uint32_t item = 100; item < 140; ++item) m.AddEvent(u, ItemIdx(item), EventType::kView);
  const std::optional<Interaction> c = m.Find(u, ItemIdx(9));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->purchase_count, 300u);
  EXPECT_DOUBLE_EQ(c->total_spent, 600.0);
  EXPECT_EQ(m.pairs_of(u), 41u);
  int visited = 0;
  m.ForEachInRow(u, [&](ItemIdx item, const Interaction& i) {
    ++visited;
    EXPECT_EQ(i.purchase_count, item == ItemIdx(9) ? 300u : 0u) << item.value;
  });
  EXPECT_EQ(visited, 41);
}

// The sums of a user's cells' view, click and cart counts.
EngagementCounts RowSums(const UserItemMatrix& m, UserIdx user) {
  EngagementCounts sum;
  m.ForEachInRow(user, [&](ItemIdx, const Interaction& c) { sum.Merge(c.engagement); });
  return sum;
}

TEST(UserItemMatrixTest, EngagementIsTheRowSumsThroughGrowthAndWideCounts) {
  UserItemMatrix m;
  std::mt19937 rng(7);
  constexpr EventType kTypes[] = {EventType::kView, EventType::kClick, EventType::kAddToCart,
                                  EventType::kPurchase};
  for (int n = 0; n < 20000; ++n) {
    const UserIdx user(rng() % 4);
    // Item 0 of user 0 takes a quarter of the events: its counts go past a byte.
    const ItemIdx item(user.value == 0 && n % 4 == 0 ? 0 : rng() % 300);
    if (rng() % 10 == 0) {
      m.AddPurchase(user, item, 1.5);
    } else {
      m.AddEvent(user, item, kTypes[rng() % 4]);  // purchase events count nowhere
    }
  }
  ASSERT_GT(m.Find(UserIdx(0), ItemIdx(0))->engagement.views, 255u);
  for (uint32_t u = 0; u < 5; ++u) {
    const EngagementCounts want = RowSums(m, UserIdx(u));
    const EngagementCounts got = m.Engagement(UserIdx(u));
    EXPECT_EQ(got.views, want.views) << u;
    EXPECT_EQ(got.clicks, want.clicks) << u;
    EXPECT_EQ(got.add_to_cart, want.add_to_cart) << u;
  }
  EXPECT_GT(m.Engagement(UserIdx(1)).views, 0u);
  EXPECT_EQ(m.Engagement(UserIdx(4)).views, 0u);  // no row
  EXPECT_EQ(m.Engagement(UserIdx(1000)).clicks, 0u);
}

TEST(UserItemMatrixTest, PurchasesAloneLeaveEngagementZero) {
  UserItemMatrix m;
  m.AddPurchase(UserIdx(2), ItemIdx(1), 3.0);
  m.AddEvent(UserIdx(2), ItemIdx(1), EventType::kPurchase);
  const EngagementCounts e = m.Engagement(UserIdx(2));
  EXPECT_EQ(e.views + e.clicks + e.add_to_cart, 0u);
  EXPECT_EQ(m.pairs_of(UserIdx(2)), 1u);
}

std::string Saved(const UserItemMatrix& m) {
  std::string bytes;
  ByteWriter w(&bytes);
  m.Save(&w);
  return bytes;
}

// A matrix with one wide pair (user 3, item 4) among narrow ones.
UserItemMatrix WithOneWidePair() {
  UserItemMatrix m;
  for (int n = 0; n < 600; ++n) m.AddEvent(UserIdx(3), ItemIdx(4), EventType::kView);
  m.AddPurchase(UserIdx(3), ItemIdx(4), 9.5);
  for (uint32_t u = 0; u < 5; ++u) m.AddEvent(UserIdx(u), ItemIdx(u + 10), EventType::kClick);
  return m;
}

TEST(UserItemMatrixTest, SnapshotKeepsWideCounts) {
  const UserItemMatrix m = WithOneWidePair();
  const std::string bytes = Saved(m);
  UserItemMatrix loaded;
  ByteReader r(bytes);
  ASSERT_TRUE(loaded.Load(&r));
  EXPECT_EQ(Saved(loaded), bytes);
  std::optional<Interaction> c = loaded.Find(UserIdx(3), ItemIdx(4));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->engagement.views, 600u);
  EXPECT_EQ(c->purchase_count, 1u);
  loaded.AddEvent(UserIdx(3), ItemIdx(4), EventType::kView);
  c = loaded.Find(UserIdx(3), ItemIdx(4));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->engagement.views, 601u);
  EXPECT_EQ(loaded.Engagement(UserIdx(3)).views, 601u);
  EXPECT_EQ(loaded.Engagement(UserIdx(4)).clicks, 1u);
}

// The snapshot ends with the wide counts: a varint count (1 here), then per pair a
// u64 key (user << 32 | item, little-endian) and four u32 counts.
constexpr size_t kWideEntryBytes = 8 + 16;

TEST(UserItemMatrixTest, LoadRefusesAWideCellWithoutItsCounts) {
  std::string bytes = Saved(WithOneWidePair());
  bytes.resize(bytes.size() - kWideEntryBytes - 1);
  bytes.push_back('\0');  // no wide counts
  UserItemMatrix loaded;
  ByteReader r(bytes);
  EXPECT_FALSE(loaded.Load(&r));
}

TEST(UserItemMatrixTest, LoadRefusesWideCountsOfAPairWithoutAWideCell) {
  std::string bytes = Saved(WithOneWidePair());
  bytes[bytes.size() - kWideEntryBytes] = 10;  // (3, 4) -> (3, 10): no such pair
  UserItemMatrix loaded;
  ByteReader r(bytes);
  EXPECT_FALSE(loaded.Load(&r));
  bytes[bytes.size() - kWideEntryBytes] = 13;  // (3, 13): a narrow pair
  ByteReader r2(bytes);
  EXPECT_FALSE(UserItemMatrix().Load(&r2));
}

}  // namespace
}  // namespace streamrec
