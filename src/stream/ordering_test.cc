#include "stream/ordering.h"

#include <algorithm>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace streamrec {
namespace {

// `n` records with times drawn from [0, spread) seconds, seq from `first_seq`; sorted
// into stream order when `sorted`.
Run MakeRun(size_t n, uint32_t first_seq, int64_t spread, bool sorted, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Run run(n);
  for (size_t i = 0; i < n; ++i) {
    run[i].time = EventTime::FromSeconds(static_cast<int64_t>(rng() % spread));
    run[i].kind = rng() % 4 == 0 ? RecordKind::kPurchase : RecordKind::kEvent;
    run[i].user = UserIdx(static_cast<uint32_t>(rng() % 100));
    run[i].seq = first_seq + static_cast<uint32_t>(i);
  }
  if (sorted) std::sort(run.begin(), run.end(), StreamOrderLess);
  return run;
}

std::vector<Record> MergeAll(std::vector<Run> runs, size_t batch_size) {
  RunMerger merger(std::move(runs));
  std::vector<Record> all, batch;
  while (merger.NextBatch(batch_size, &batch)) {
    EXPECT_LE(batch.size(), batch_size);
    all.insert(all.end(), batch.begin(), batch.end());
  }
  EXPECT_EQ(merger.done(), merger.total());
  return all;
}

std::vector<uint32_t> Seqs(const std::vector<Record>& records) {
  std::vector<uint32_t> seqs;
  for (const Record& r : records) seqs.push_back(r.seq);
  return seqs;
}

TEST(OrderingTest, SortRunsSortsOnlyTheRunsThatNeedIt) {
  std::vector<streamrec::Run> runs;
  runs.push_back(MakeRun(1000, 0, 50, /*sorted=*/true, 1));
  runs.push_back(MakeRun(1000, 1000, 50, /*sorted=*/false, 2));
  runs.push_back(MakeRun(1000, 2000, 50, /*sorted=*/false, 3));
  EXPECT_EQ(SortRuns(&runs, 2), 2);
  for (const streamrec::Run& run : runs)
    EXPECT_TRUE(std::is_sorted(run.begin(), run.end(), StreamOrderLess));
  EXPECT_EQ(SortRuns(&runs, 2), 0);
}

TEST(OrderingTest, MergedStreamEqualsOneSortAtEveryBatchSize) {
  for (size_t batch_size : {size_t{1}, size_t{3}, size_t{4096}}) {
    std::vector<streamrec::Run> runs;
    runs.push_back(MakeRun(3000, 0, 100, true, 4));  // many ties in time across runs
    runs.push_back(MakeRun(0, 3000, 100, true, 5));  // an empty run
    runs.push_back(MakeRun(2000, 3000, 100, true, 6));
    runs.push_back(MakeRun(500, 5000, 100, true, 7));
    std::vector<Record> expected;
    for (const streamrec::Run& run : runs) expected.insert(expected.end(), run.begin(), run.end());
    std::sort(expected.begin(), expected.end(), StreamOrderLess);
    EXPECT_EQ(Seqs(MergeAll(std::move(runs), batch_size)), Seqs(expected)) << batch_size;
  }
}

TEST(OrderingTest, ConsumedPagesGivenBackDoNotChangeTheStream) {
  // Runs far larger than the release step (4 huge pages of records), interleaved.
  std::vector<streamrec::Run> runs;
  runs.push_back(MakeRun(700'000, 0, 1'000'000, true, 8));
  runs.push_back(MakeRun(700'000, 700'000, 1'000'000, true, 9));
  std::vector<Record> expected;
  for (const streamrec::Run& run : runs) expected.insert(expected.end(), run.begin(), run.end());
  std::sort(expected.begin(), expected.end(), StreamOrderLess);
  EXPECT_EQ(Seqs(MergeAll(std::move(runs), 4096)), Seqs(expected));
}

TEST(OrderingTest, RunsThatFollowEachOtherMergeLikeOneSort) {
  // A sorted run cut into consecutive chunks (one empty, ties in time across the
  // cuts), a chunk that goes back in time and so starts a chain of its own, and a run
  // that overlaps them all.
  const streamrec::Run whole = MakeRun(20'000, 0, 2'000, true, 10);
  std::vector<streamrec::Run> runs;
  for (size_t from = 0; from < whole.size(); from += 3'000) {
    runs.emplace_back(whole.begin() + static_cast<long>(from),
                      whole.begin() + static_cast<long>(std::min(from + 3'000, whole.size())));
    if (from == 6'000) runs.emplace_back();
  }
  runs.push_back(MakeRun(1'000, 20'000, 2'000, true, 11));
  runs.push_back(MakeRun(5'000, 21'000, 2'000, true, 12));
  for (size_t batch_size : {size_t{1}, size_t{7}, size_t{4096}}) {
    std::vector<Record> expected;
    for (const streamrec::Run& run : runs) expected.insert(expected.end(), run.begin(), run.end());
    std::sort(expected.begin(), expected.end(), StreamOrderLess);
    EXPECT_EQ(Seqs(MergeAll(runs, batch_size)), Seqs(expected)) << batch_size;
  }
}

}  // namespace
}  // namespace streamrec
