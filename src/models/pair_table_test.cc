// PairTable: growth with the next size's cells prepared on a background thread (and
// rehashed by two threads) gives the table that growth on one thread gives, slot for
// slot; keys that cross the steps and halves of the rehash in place are placed too;
// probing by lines places keys as probing slot by slot does.

#include "models/pair_table.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace streamrec {
namespace {

struct Slot {
  uint64_t key;
  float weight;
  bool operator==(const Slot&) const = default;
};

std::vector<Slot> Slots(const PairTable& t) {
  std::vector<Slot> slots;
  t.ForEach([&](const PairCell& c) { slots.push_back({c.key, c.weight}); });
  return slots;
}

// 1.6M pairs: the table passes two sizes large enough (2^20 cells and more) for the
// next size to be prepared in the background, and grows into each prepared one.
TEST(PairTableTest, GrowthPreparedInTheBackgroundEqualsGrowthOnOneThread) {
  PairTable in_place, background;
  background.GrowInBackground();
  constexpr uint32_t kPairs = 1'600'000;
  for (uint32_t p = 0; p < kPairs; ++p) {
    // Spread keys: items up to ~50k, each pair once.
    const ItemIdx a(p % 49'999), b(49'999 + p / 49'999);
    bool inserted = false;
    in_place.FindOrInsert(PairTable::Key(a, b), &inserted)->weight = static_cast<float>(p);
    ASSERT_TRUE(inserted);
    background.FindOrInsert(PairTable::Key(a, b), &inserted)->weight = static_cast<float>(p);
    ASSERT_TRUE(inserted);
  }
  EXPECT_EQ(background.size(), kPairs);
  EXPECT_EQ(background.capacity(), in_place.capacity());
  EXPECT_GE(background.capacity(), size_t{1} << 22);
  EXPECT_EQ(Slots(background), Slots(in_place));
  const PairCell* cell = background.Find(PairTable::Key(ItemIdx(7), ItemIdx(49'999)));
  ASSERT_NE(cell, nullptr);
  EXPECT_EQ(cell->weight, 7.0f);
}

// While the next size is prepared its added cells count in MemoryBytes (the table grows
// in place: the old cells are the new table's first half); once grown into, they are the
// table's. A table moved meanwhile keeps them.
TEST(PairTableTest, PreparedCellsCountInMemoryBytes) {
  PairTable t;
  t.GrowInBackground();
  t.Reserve((size_t{1} << 20) * 3 / 4);  // exactly fits 2^20 cells: no growth yet
  ASSERT_EQ(t.capacity(), size_t{1} << 20);
  EXPECT_EQ(t.MemoryBytes(), 2 * (size_t{1} << 20) * sizeof(PairCell));  // this and as much
  bool inserted = false;
  t.FindOrInsert(PairTable::Key(ItemIdx(1), ItemIdx(2)), &inserted);
  PairTable moved = std::move(t);
  moved.Reserve((size_t{1} << 20) * 3 / 4 + 1);  // grows into the prepared cells
  EXPECT_EQ(moved.capacity(), size_t{1} << 21);
  EXPECT_EQ(moved.MemoryBytes(), (size_t{1} << 21) * sizeof(PairCell));
  EXPECT_NE(moved.Find(PairTable::Key(ItemIdx(1), ItemIdx(2))), nullptr);
  EXPECT_EQ(moved.size(), 1u);
}

// The rehash places each step's keys in the step's range of the new table; keys that
// wrapped around the old table's end, spilled across a step's boundary (the old table's
// middle is one), or would probe past their half's end are placed last. Five keys of one
// bucket overflow it (four slots).
TEST(PairTableTest, GrowthPlacesKeysThatWrapOrSpillAcrossTheHalves) {
  PairTable t;
  t.Reserve(1);
  const size_t capacity = t.capacity();
  std::vector<uint64_t> last_bucket, middle_bucket;
  for (uint32_t b = 1; last_bucket.size() < 5 || middle_bucket.size() < 5; ++b) {
    const uint64_t key = PairTable::Key(ItemIdx(0), ItemIdx(b));
    const size_t home = t.Home(key);
    if (home == capacity - 4 && last_bucket.size() < 5) last_bucket.push_back(key);
    if (home == capacity / 2 - 4 && middle_bucket.size() < 5) middle_bucket.push_back(key);
  }
  std::vector<uint64_t> keys = last_bucket;
  keys.insert(keys.end(), middle_bucket.begin(), middle_bucket.end());
  bool inserted = false;
  for (const uint64_t key : keys) t.FindOrInsert(key, &inserted);
  ASSERT_EQ(t.CellAt(0)->key, last_bucket[4]);               // wrapped
  ASSERT_EQ(t.CellAt(capacity / 2)->key, middle_bucket[4]);  // spilled
  // Then grow twice with keys of other items.
  for (uint32_t a = 1; t.capacity() < 4 * capacity; ++a) {
    keys.push_back(PairTable::Key(ItemIdx(a), ItemIdx(1'000'000 + a)));
    t.FindOrInsert(keys.back(), &inserted);
    ASSERT_TRUE(inserted);
  }
  for (size_t k = 0; k < keys.size(); ++k) {
    ASSERT_NE(t.Find(keys[k]), nullptr) << "key " << k;
  }
  EXPECT_EQ(t.size(), keys.size());
  size_t held = 0;
  t.ForEach([&](const PairCell&) { ++held; });
  EXPECT_EQ(held, keys.size());
}

// Growth probes a line's four slots at once. Its layout must be the one slot-by-slot
// linear probing into the new table gives (the steps of the rehash in place from the
// top, each half of a step in slot order into its own range, then the keys that left
// their half), also for a cluster of hundreds of keys homed in a few buckets, and keys
// that wrap around the table's end.
TEST(PairTableTest, GrowthLaysOutLongClustersAsPlainProbingDoes) {
  PairTable t;
  t.Reserve(1);
  const size_t capacity = t.capacity();
  // Filled to just under 3/4: 200 keys homed in the first two buckets of the old table's
  // second half (a cluster of 50 lines and more), 30 homed in its last bucket (wrapping
  // around its end), and other keys as they come.
  std::vector<uint64_t> keys;
  size_t middle = 0, last = 0;
  for (uint32_t b = 4; keys.size() < capacity * 3 / 4 && b < 10'000'000; ++b) {
    const uint64_t key = PairTable::Key(ItemIdx(3), ItemIdx(b));
    const size_t home = t.Home(key);
    if ((home == capacity / 2 || home == capacity / 2 + 4) && middle < 200) {
      ++middle;
    } else if (home == capacity - 4 && last < 30) {
      ++last;
    } else if (b % 50 != 0 || keys.size() + (200 - middle) + (30 - last) >= capacity * 3 / 4) {
      continue;
    }
    keys.push_back(key);
  }
  ASSERT_EQ(keys.size(), capacity * 3 / 4);
  ASSERT_EQ(middle, 200u);
  ASSERT_EQ(last, 30u);
  bool inserted = false;
  for (const uint64_t key : keys) {
    t.FindOrInsert(key, &inserted)->weight = static_cast<float>(key % 1000);
  }
  ASSERT_EQ(t.capacity(), capacity);
  // Insertion probes by lines too: the layout of slot-by-slot probing.
  std::vector<uint64_t> inserted_layout(capacity);
  for (const uint64_t key : keys) {
    size_t i = t.Home(key);
    while (inserted_layout[i] != 0) i = (i + 1) % capacity;
    inserted_layout[i] = key;
  }
  std::vector<PairCell> old(capacity);
  for (size_t s = 0; s < capacity; ++s) {
    old[s] = *t.CellAt(s);
    ASSERT_EQ(old[s].key, inserted_layout[s]) << "slot " << s;
  }
  // A missing key homed at the long cluster's start is found missing past its lines.
  uint64_t missing = 0;
  for (uint32_t b = 5; missing == 0; ++b) {
    const uint64_t key = PairTable::Key(ItemIdx(4), ItemIdx(b));
    if (t.Home(key) == capacity / 2) missing = key;
  }
  EXPECT_EQ(t.Find(missing), nullptr);
  // Then what slot-by-slot probing makes of the old layout at twice the size.
  t.Reserve(capacity * 3 / 4 + 1);
  ASSERT_EQ(t.capacity(), 2 * capacity);
  std::vector<PairCell> expected(2 * capacity);
  std::vector<PairCell> deferred[2];
  for (size_t hi = capacity / 4; hi > 0; hi /= 2) {  // old lines [lo, hi), then below
    const size_t lo = hi / 2, mid = lo + (hi - lo) / 2;
    const size_t halves[2][2] = {{lo, mid}, {mid, hi}};
    for (size_t h = 0; h < 2; ++h) {
      const size_t begin = halves[h][0] * 8, end = halves[h][1] * 8;  // new slots
      for (size_t s = halves[h][0] * 4; s < halves[h][1] * 4; ++s) {
        if (old[s].key == 0) continue;
        size_t i = t.Home(old[s].key);
        if (i < begin || i >= end) {
          deferred[h].push_back(old[s]);
          continue;
        }
        while (i < end && expected[i].key != 0) ++i;
        if (i == end) {
          deferred[h].push_back(old[s]);
        } else {
          expected[i] = old[s];
        }
      }
    }
  }
  for (const std::vector<PairCell>& list : deferred) {
    for (const PairCell& c : list) {
      size_t i = t.Home(c.key);
      while (expected[i].key != 0) i = (i + 1) % (2 * capacity);
      expected[i] = c;
    }
  }
  for (size_t i = 0; i < 2 * capacity; ++i) {
    ASSERT_EQ(t.CellAt(i)->key, expected[i].key) << "slot " << i;
    ASSERT_EQ(t.CellAt(i)->weight, expected[i].weight) << "slot " << i;
  }
  for (const uint64_t key : keys) ASSERT_NE(t.Find(key), nullptr);
}

}  // namespace
}  // namespace streamrec
