// ReorderBuffer: out-of-order arrivals within the allowed lateness come out sorted;
// the watermark follows event time, then wall-clock time while idle; late records are
// refused; each user's pending records are visible.

#include "stream/reorder_buffer.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace streamrec {
namespace {

constexpr int64_t kMinute = 60 * kMicrosPerSecond;
constexpr int64_t kLateness = 5 * kMinute;

Record At(int64_t minutes, uint32_t user = 0, uint32_t seq = 0,
          RecordKind kind = RecordKind::kEvent) {
  Record r;
  r.time = EventTime{minutes * kMinute};
  r.user = UserIdx(user);
  r.item = ItemIdx(0);
  r.seq = seq;
  r.kind = kind;
  return r;
}
// Wall-clock minutes, on a clock 1000 minutes ahead of the records' times: events come
// from the past, as they do (a record from the future is a case of its own, below).
EventTime Wall(int64_t minutes) { return EventTime{(minutes + 1000) * kMinute}; }

std::vector<int64_t> Minutes(const std::vector<Record>& rs) {
  std::vector<int64_t> out;
  for (const Record& r : rs) out.push_back(r.time.micros / kMinute);
  return out;
}

TEST(ReorderBufferTest, NothingIsReleasedBeforeTheLatenessHasPassed) {
  ReorderBuffer buffer(kLateness);
  ASSERT_TRUE(buffer.Push(At(100), Wall(0)));
  std::vector<Record> out;
  buffer.Release(Wall(0), &out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(buffer.size(), 1u);
}

TEST(ReorderBufferTest, OutOfOrderWithinLatenessComesOutSorted) {
  ReorderBuffer buffer(kLateness);
  for (int64_t m : {100, 103, 101, 104, 102, 110}) ASSERT_TRUE(buffer.Push(At(m), Wall(0)));
  std::vector<Record> out;
  buffer.Release(Wall(0), &out);  // watermark 110 - 5 = 105
  EXPECT_EQ(Minutes(out), (std::vector<int64_t>{100, 101, 102, 103, 104}));
}

TEST(ReorderBufferTest, RecordBehindTheWatermarkIsLateAndNotBuffered) {
  ReorderBuffer buffer(kLateness);
  ASSERT_TRUE(buffer.Push(At(100), Wall(0)));
  EXPECT_FALSE(buffer.Push(At(94), Wall(0)));  // watermark 95
  EXPECT_TRUE(buffer.Push(At(95), Wall(0)));   // exactly at the watermark: in time
  EXPECT_EQ(buffer.late_records(), 1);
  EXPECT_EQ(buffer.size(), 2u);
}

TEST(ReorderBufferTest, WatermarkMovesOnWithWallClockWhileIdle) {
  ReorderBuffer buffer(kLateness);
  ASSERT_TRUE(buffer.Push(At(100), Wall(1000)));
  EXPECT_EQ(buffer.Watermark(Wall(1000)), EventTime{95 * kMinute});
  EXPECT_EQ(buffer.Watermark(Wall(1003)), EventTime{98 * kMinute});
  std::vector<Record> out;
  buffer.Release(Wall(1005), &out);  // watermark exactly 100: not yet past the record
  EXPECT_TRUE(out.empty());
  buffer.Release(Wall(1006), &out);
  EXPECT_EQ(Minutes(out), std::vector<int64_t>{100});
}

// A record dated ahead of the wall clock (a client's clock ahead) does not drag the
// watermark past the present: records of now are still in time, and it waits until the
// wall clock passes its time by the lateness.
TEST(ReorderBufferTest, RecordFromTheFutureWaitsInsteadOfMakingThePresentLate) {
  ReorderBuffer buffer(kLateness);
  const EventTime now = Wall(0);                      // minute 1000 of record time
  ASSERT_TRUE(buffer.Push(At(1000 + 23 * 60), now));  // 23 hours ahead
  EXPECT_EQ(buffer.Watermark(now), EventTime{995 * kMinute});
  EXPECT_TRUE(buffer.Push(At(999), now));  // the present: in time
  EXPECT_EQ(buffer.late_records(), 0);
  std::vector<Record> out;
  buffer.Release(Wall(5), &out);  // watermark 1000: past the present's record only
  EXPECT_EQ(Minutes(out), std::vector<int64_t>{999});
  buffer.Release(Wall(23 * 60 + 6), &out);
  EXPECT_EQ(Minutes(out), (std::vector<int64_t>{999, 1000 + 23 * 60}));
}

TEST(ReorderBufferTest, WatermarkNeverGoesBack) {
  ReorderBuffer buffer(kLateness);
  ASSERT_TRUE(buffer.Push(At(100), Wall(0)));
  const EventTime idle = buffer.Watermark(Wall(60));  // 155
  ASSERT_TRUE(buffer.Push(At(156), Wall(60)));        // max event time 156: 151 < 155
  EXPECT_EQ(buffer.Watermark(Wall(60)), idle);
  EXPECT_FALSE(buffer.Push(At(154), Wall(60)));
}

TEST(ReorderBufferTest, PurchaseBeforeEventAtTheSameInstantThenArrivalOrder) {
  ReorderBuffer buffer(kLateness);
  ASSERT_TRUE(buffer.Push(At(100, 0, 1, RecordKind::kEvent), Wall(0)));
  ASSERT_TRUE(buffer.Push(At(100, 0, 2, RecordKind::kPurchase), Wall(0)));
  ASSERT_TRUE(buffer.Push(At(100, 0, 0, RecordKind::kEvent), Wall(0)));
  std::vector<Record> out;
  buffer.ReleaseAll(&out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].kind, RecordKind::kPurchase);
  EXPECT_EQ(out[1].seq, 0u);
  EXPECT_EQ(out[2].seq, 1u);
}

TEST(ReorderBufferTest, PendingOfAUserIsInStreamOrderAndShrinksOnRelease) {
  ReorderBuffer buffer(kLateness);
  ASSERT_TRUE(buffer.Push(At(102, 7), Wall(0)));
  ASSERT_TRUE(buffer.Push(At(100, 7), Wall(0)));
  ASSERT_TRUE(buffer.Push(At(101, 8), Wall(0)));
  ASSERT_TRUE(buffer.Push(At(106, 9), Wall(0)));
  auto pending = buffer.PendingOf(UserIdx(7));
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].time, EventTime{100 * kMinute});
  EXPECT_EQ(pending[1].time, EventTime{102 * kMinute});
  std::vector<Record> out;
  buffer.Release(Wall(0), &out);  // watermark 101: releases 100 only
  EXPECT_EQ(buffer.PendingOf(UserIdx(7)).size(), 1u);
  EXPECT_EQ(buffer.PendingOf(UserIdx(8)).size(), 1u);
  EXPECT_TRUE(buffer.PendingOf(UserIdx(3)).empty());
}

TEST(ReorderBufferTest, SavedAndLoadedBufferReleasesTheSameRecords) {
  ReorderBuffer original(kLateness);
  for (int64_t m : {100, 103, 101, 104, 102}) ASSERT_TRUE(original.Push(At(m, m % 3), Wall(7)));
  std::string bytes;
  ByteWriter writer(&bytes);
  original.Save(&writer);
  ReorderBuffer loaded(kLateness);
  ByteReader reader(bytes);
  ASSERT_TRUE(loaded.Load(&reader));
  EXPECT_EQ(loaded.Watermark(Wall(9)), original.Watermark(Wall(9)));
  EXPECT_EQ(loaded.PendingOf(UserIdx(1)).size(), original.PendingOf(UserIdx(1)).size());
  EXPECT_FALSE(loaded.Push(At(90), Wall(7)));
  std::vector<Record> a, b;
  original.ReleaseAll(&a);
  loaded.ReleaseAll(&b);
  EXPECT_EQ(Minutes(a), Minutes(b));
  ByteReader truncated(std::string_view(bytes).substr(0, bytes.size() - 1));
  EXPECT_FALSE(ReorderBuffer(kLateness).Load(&truncated));
}

TEST(ReorderBufferTest, ShuffledWithinLatenessEqualsSorted) {
  std::mt19937 rng(3);
  std::vector<Record> sorted;
  for (uint32_t i = 0; i < 5000; ++i) sorted.push_back(At(i / 3, i % 17, i));
  // Displace every record by less than the lateness: shuffle within windows of 4 minutes.
  std::vector<Record> arrivals = sorted;
  for (size_t at = 0; at < arrivals.size(); at += 12) {
    std::shuffle(arrivals.begin() + at, arrivals.begin() + std::min(at + 12, arrivals.size()), rng);
  }
  ReorderBuffer buffer(kLateness);
  std::vector<Record> out;
  for (const Record& r : arrivals) {
    ASSERT_TRUE(buffer.Push(r, Wall(0)));
    buffer.Release(Wall(0), &out);
  }
  buffer.ReleaseAll(&out);
  ASSERT_EQ(out.size(), sorted.size());
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].seq, sorted[i].seq) << i;
}

// Against a model of the contract, on random input: every record not late is released
// exactly when the watermark passes it, in stream order with ties by arrival, and
// PendingOf shows what is not released yet, and Releasable says whether a Release
// would give a record. Times are in milliseconds around 1970, so
// that buckets of event time are crossed, entered after part of them was released, and
// lie on both sides of zero; ties in time and seq are frequent.
TEST(ReorderBufferTest, ReleasesWhatAModelOfTheContractReleases) {
  std::mt19937_64 rng(11);
  constexpr int64_t kMs = 1000;
  const int64_t lateness = 1500 * kMs;
  ReorderBuffer buffer(lateness);
  struct Held {
    Record record;
    uint64_t arrival;
  };
  std::vector<Held> model;  // buffered, in arrival order
  uint64_t arrivals = 0;
  int64_t wall = -20'000 * kMs;
  std::vector<Record> released;
  for (int step = 0; step < 20'000; ++step) {
    wall += static_cast<int64_t>(rng() % 40) * kMs;
    if (rng() % 4 != 0) {
      Record r;
      // Mostly near the wall clock, some far behind (late), a few ahead.
      const int64_t skew = static_cast<int64_t>(rng() % 2600) - 2400;
      r.time = EventTime{wall + skew * kMs + static_cast<int64_t>(rng() % 3) * 333};
      r.user = UserIdx(static_cast<uint32_t>(rng() % 7));
      r.seq = static_cast<uint32_t>(rng() % 5);
      r.kind = rng() % 5 == 0 ? RecordKind::kPurchase : RecordKind::kEvent;
      const bool late = r.time < buffer.Watermark(EventTime{wall});
      ASSERT_EQ(buffer.Push(r, EventTime{wall}), !late) << step;
      if (!late) model.push_back(Held{r, arrivals++});
    }
    if (rng() % 3 == 0) {
      const EventTime watermark = buffer.Watermark(EventTime{wall});
      const bool releasable = buffer.Releasable(EventTime{wall});
      released.clear();
      buffer.Release(EventTime{wall}, &released);
      ASSERT_EQ(releasable, !released.empty()) << step;
      std::vector<Held> due;
      std::erase_if(model, [&](const Held& h) {
        if (!(h.record.time < watermark)) return false;
        due.push_back(h);
        return true;
      });
      std::sort(due.begin(), due.end(), [](const Held& a, const Held& b) {
        if (StreamOrderLess(a.record, b.record)) return true;
        if (StreamOrderLess(b.record, a.record)) return false;
        return a.arrival < b.arrival;
      });
      ASSERT_EQ(released.size(), due.size()) << step;
      for (size_t i = 0; i < due.size(); ++i) {
        ASSERT_EQ(released[i].time, due[i].record.time) << step << " " << i;
        ASSERT_EQ(released[i].seq, due[i].record.seq) << step << " " << i;
        ASSERT_EQ(released[i].user, due[i].record.user) << step << " " << i;
        ASSERT_EQ(released[i].kind, due[i].record.kind) << step << " " << i;
      }
      ASSERT_EQ(buffer.size(), model.size());
      for (uint32_t u = 0; u < 7; ++u) {
        size_t n = 0;
        for (const Held& h : model) n += h.record.user == UserIdx(u);
        ASSERT_EQ(buffer.PendingOf(UserIdx(u)).size(), n) << step;
      }
    }
  }
  std::vector<Record> rest;
  buffer.ReleaseAll(&rest);
  EXPECT_EQ(rest.size(), model.size());
  EXPECT_TRUE(std::is_sorted(rest.begin(), rest.end(), StreamOrderLess));
  EXPECT_EQ(buffer.size(), 0u);
}

// Release with max_records (the engine releases in parts, letting readers in between):
// the parts, taken until one comes back short, make the sequence one call releases, and
// what is not released yet stays pending and counted.
TEST(ReorderBufferTest, ReleasingInPartsGivesTheSequenceOfOneRelease) {
  std::mt19937_64 rng(12);
  constexpr int64_t kMs = 1000;
  ReorderBuffer whole(1500 * kMs), parts(1500 * kMs);
  int64_t wall = 0;
  for (int step = 0; step < 5'000; ++step) {
    wall += static_cast<int64_t>(rng() % 40) * kMs;
    Record r;
    r.time = EventTime{wall + (static_cast<int64_t>(rng() % 2600) - 2400) * kMs};
    r.user = UserIdx(static_cast<uint32_t>(rng() % 7));
    r.seq = static_cast<uint32_t>(step);
    ASSERT_EQ(whole.Push(r, EventTime{wall}), parts.Push(r, EventTime{wall}));
    if (rng() % 50 != 0) continue;
    std::vector<Record> expected, got;
    whole.Release(EventTime{wall}, &expected);
    const size_t max_records = 1 + rng() % 5;
    for (;;) {
      const size_t before = got.size();
      parts.Release(EventTime{wall}, &got, max_records);
      ASSERT_LE(got.size() - before, max_records);
      if (got.size() - before < max_records) break;
      ASSERT_EQ(parts.size(), whole.size() + (expected.size() - got.size())) << step;
    }
    ASSERT_EQ(got.size(), expected.size()) << step;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].seq, expected[i].seq) << step << " " << i;
    }
    ASSERT_EQ(parts.size(), whole.size());
    for (uint32_t u = 0; u < 7; ++u) {
      ASSERT_EQ(parts.PendingOf(UserIdx(u)).size(), whole.PendingOf(UserIdx(u)).size());
    }
  }
}

}  // namespace
}  // namespace streamrec
