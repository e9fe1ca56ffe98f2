// Snapshots: a round trip continues exactly as if never saved; truncated, corrupt or
// foreign bytes are errors that leave the model as it was.

#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/model_test_util.h"
#include "models/pair_table.h"
#include "models/recommender.h"

namespace streamrec {
namespace {

using model_testing::kBase;
using model_testing::Stream;

Stream RandomStream(uint32_t seed, int events) {
  std::mt19937 rng(seed);
  Stream s;
  std::vector<int64_t> minute(30, 0);
  for (int i = 0; i < events; ++i) {
    const uint32_t u = rng() % 30;
    minute[u] += (rng() % 8 == 0) ? 50 : 1 + rng() % 4;
    const uint32_t item = std::min<uint32_t>(rng() % 90, rng() % 90);
    s.Add(u, item, static_cast<EventType>(std::min<uint32_t>(rng() % 6, 3u)), minute[u],
          rng() % 50 == 0);
  }
  return s;
}

ModelConfig SmallPools() {
  ModelConfig c;
  c.neighbours = 5;  // evictions happen, pools fill
  c.top_candidates = 6;
  return c;
}

std::string Snapshot(const Recommender& m) {
  std::string bytes;
  ByteWriter w(&bytes);
  m.Save(&w);
  return bytes;
}

// A snapshot is a header (magic 8, version 4, payload size 8), the payload, and the
// payload's 8-byte checksum.
constexpr size_t kPayloadAt = 20;
std::string PayloadOf(const std::string& bytes) {
  return bytes.substr(kPayloadAt, bytes.size() - kPayloadAt - 8);
}
// Snapshot `bytes` with its payload replaced by `payload` (of the same size), and the
// checksum of the new payload: bytes that pass the checksum.
std::string WithPayload(const std::string& bytes, const std::string& payload) {
  std::string framed = bytes.substr(0, kPayloadAt) + payload;
  const uint64_t sum = ModelSnapshotChecksum(payload);
  framed.append(reinterpret_cast<const char*>(&sum), sizeof(sum));
  return framed;
}

absl::Status LoadFrom(std::string_view bytes, Recommender* m) {
  ByteReader r(bytes);
  return m->Load(&r);
}

// Every answer the model gives, for every user and item of the random streams.
std::vector<ScoredItem> Everything(const Recommender& m) {
  std::vector<ScoredItem> all, out;
  for (uint32_t u = 0; u < 31; ++u) {
    for (ModelKind kind : {ModelKind::kHybrid, ModelKind::kSession, ModelKind::kItem,
                           ModelKind::kTrending, ModelKind::kPopular}) {
      m.RecommendForUser(UserIdx(u), 8, kind, {}, &out);
      all.insert(all.end(), out.begin(), out.end());
    }
  }
  for (uint32_t i = 0; i < 91; ++i) {
    m.SimilarItems(ItemIdx(i), 10, &out);
    all.insert(all.end(), out.begin(), out.end());
    for (uint32_t j = 0; j < 91; ++j) {
      all.push_back({ItemIdx(j), m.PairWeight(ItemIdx(i), ItemIdx(j)), {}});
    }
  }
  m.Popular(20, true, kBase, {}, &out);
  all.insert(all.end(), out.begin(), out.end());
  return all;
}

TEST(SnapshotTest, SnapshotRoundTripContinuesIdentically) {
  const Stream first = RandomStream(1, 6000), second = RandomStream(2, 6000);
  Recommender straight(SmallPools()), saved(SmallPools());
  for (const ModelEvent& e : first.events()) {
    straight.Observe(e);
    saved.Observe(e);
  }
  const std::string bytes = Snapshot(saved);
  Recommender restored(SmallPools());
  ASSERT_TRUE(LoadFrom(bytes, &restored).ok());
  EXPECT_EQ(Everything(restored), Everything(straight));
  EXPECT_EQ(Snapshot(restored), bytes);

  // Continue both; the second stream's users continue their sessions (times go on).
  for (ModelEvent e : second.events()) {
    e.time.micros += 200'000 * model_testing::kMinute;
    e.session += 10'000;
    straight.Observe(e);
    restored.Observe(e);
  }
  EXPECT_EQ(Everything(restored), Everything(straight));
  EXPECT_EQ(restored.counters().events_observed, straight.counters().events_observed);
  EXPECT_EQ(restored.counters().neighbour_evictions, straight.counters().neighbour_evictions);
  EXPECT_EQ(restored.counters().pairs, straight.counters().pairs);
}

// A snapshot loads into a model with two update threads (pair updates on a worker), which
// then continues as the one-thread model it came from.
TEST(SnapshotTest, SnapshotLoadsIntoAModelWithTwoUpdateThreads) {
  const Stream first = RandomStream(3, 6000), second = RandomStream(4, 6000);
  Recommender straight(SmallPools()), two(SmallPools(), /*update_threads=*/2);
  straight.ObserveBatch(first.events());
  two.ObserveBatch(second.events());  // replaced by the load
  ASSERT_TRUE(LoadFrom(Snapshot(straight), &two).ok());
  std::vector<ModelEvent> later = second.events();
  for (ModelEvent& e : later) {
    e.time.micros += 200'000 * model_testing::kMinute;
    e.session += 10'000;
  }
  straight.ObserveBatch(later);
  two.ObserveBatch(later);
  two.Flush();
  EXPECT_EQ(Snapshot(two), Snapshot(straight));
  EXPECT_EQ(Everything(two), Everything(straight));
}

TEST(SnapshotTest, EmptyModelRoundTrips) {
  Recommender empty, restored;
  ASSERT_TRUE(LoadFrom(Snapshot(empty), &restored).ok());
  EXPECT_EQ(restored.counters().events_observed, 0);
}

TEST(SnapshotTest, CorruptSnapshotIsAnError) {
  const Stream stream = RandomStream(3, 400);
  Recommender m(SmallPools());
  for (const ModelEvent& e : stream.events()) m.Observe(e);
  const std::string bytes = Snapshot(m);
  const std::vector<ScoredItem> before = Everything(m);
  // Every truncation.
  for (size_t n = 0; n < bytes.size(); ++n) {
    Recommender target(SmallPools());
    for (const ModelEvent& e : stream.events()) target.Observe(e);
    const absl::Status s = LoadFrom(std::string_view(bytes).substr(0, n), &target);
    ASSERT_FALSE(s.ok()) << "truncated to " << n;
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    if (n % 512 == 0) {
      EXPECT_EQ(Everything(target), before) << "state changed by a failed load";
    }
  }
  // Flipped bytes (the checksum catches them).
  std::mt19937 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    std::string bad = bytes;
    bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    Recommender target(SmallPools());
    EXPECT_FALSE(LoadFrom(bad, &target).ok()) << "trial " << trial;
  }
  // Trailing bytes after a snapshot are the caller's; one snapshot read leaves them.
  Recommender target(SmallPools());
  const std::string two = bytes + bytes;
  ByteReader r(two);
  ASSERT_TRUE(target.Load(&r).ok());
  EXPECT_EQ(r.remaining(), bytes.size());
}

TEST(SnapshotTest, SnapshotOfADifferentlyConfiguredModelIsRefused) {
  const Stream stream = RandomStream(4, 300);
  Recommender m(SmallPools());
  for (const ModelEvent& e : stream.events()) m.Observe(e);
  ModelConfig other = SmallPools();
  other.neighbours = 6;
  Recommender target(other);
  EXPECT_EQ(LoadFrom(Snapshot(m), &target).code(), absl::StatusCode::kFailedPrecondition);
  // Query-only knobs may differ.
  ModelConfig query_only = SmallPools();
  query_only.shrinkage = 3;
  query_only.trending_blend = 0.5f;
  Recommender fine(query_only);
  EXPECT_TRUE(LoadFrom(Snapshot(m), &fine).ok());
}

// Structurally bad payloads with a valid checksum: the loader validates, not only sums.
TEST(SnapshotTest, InconsistentPayloadWithValidChecksumIsAnError) {
  const Stream stream = RandomStream(6, 300), more = RandomStream(7, 200);
  Recommender m(SmallPools());
  for (const ModelEvent& e : stream.events()) m.Observe(e);
  const std::string bytes = Snapshot(m);
  std::mt19937 rng(9);
  int refused = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string payload = PayloadOf(bytes);
    payload[rng() % payload.size()] ^= static_cast<char>(1 + rng() % 255);
    Recommender target(SmallPools());
    const absl::Status s = LoadFrom(WithPayload(bytes, payload), &target);
    if (!s.ok()) ++refused;
    // Either refused, or loaded into a state that answers and learns without crashing.
    (void)Everything(target);
    for (const ModelEvent& e : more.events()) target.Observe(e);
  }
  EXPECT_GT(refused, 0);
}

// Pools rank entries by the bits of their weights, which order as the weights only when
// no weight is negative, -0 included: a pair weight of -0 is refused like any negative one.
TEST(SnapshotTest, PairWeightOfNegativeZeroIsRefused) {
  const Stream stream = RandomStream(6, 300);
  Recommender m(SmallPools());
  for (const ModelEvent& e : stream.events()) m.Observe(e);
  const float weight = static_cast<float>(m.PairWeight(ItemIdx(0), ItemIdx(1)));
  ASSERT_GT(weight, 0);
  // The pair's bytes: its key, then its weight.
  const uint64_t key = PairTable::Key(ItemIdx(0), ItemIdx(1));
  std::string pattern(reinterpret_cast<const char*>(&key), sizeof(key));
  pattern.append(reinterpret_cast<const char*>(&weight), sizeof(weight));
  const std::string bytes = Snapshot(m);
  std::string payload = PayloadOf(bytes);
  const size_t at = payload.find(pattern);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(payload.find(pattern, at + 1), std::string::npos);
  const float negative_zero = -0.0f;
  payload.replace(at + sizeof(key), sizeof(float), reinterpret_cast<const char*>(&negative_zero),
                  sizeof(float));
  Recommender target(SmallPools());
  const absl::Status s = LoadFrom(WithPayload(bytes, payload), &target);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), testing::HasSubstr("bad pair weight"));
}

}  // namespace
}  // namespace streamrec
