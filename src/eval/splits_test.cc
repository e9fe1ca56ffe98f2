// Splits: the temporal cut (quantile, ties at the cut, the exclusion rule), leave-last-out
// (tie-break by seq, one-event users), and kfold (a partition of interactions, seeded).

#include "eval/splits.h"

#include <map>
#include <set>

#include "eval/test_data.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using eval_testing::DatasetBuilder;
using eval_testing::Items;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<uint32_t> Seqs(const std::vector<EvalEvent>& events) {
  std::vector<uint32_t> seqs;
  for (const EvalEvent& e : events) seqs.push_back(e.seq);
  return seqs;
}

TEST(TemporalSplitTest, CutsAtTheTimeQuantile) {
  DatasetBuilder b;
  for (uint32_t i = 0; i < 10; ++i) b.Add(i % 2, i, i);
  const EvalDataset d = b.Build();
  // 20% of 10 events: the cut is the time of event 8.
  EXPECT_EQ(TemporalCutTime(d.events, 0.2), d.events[8].time);
  EXPECT_EQ(TemporalSplit(d, 0.2).train.size(), 8u);
  EXPECT_EQ(TemporalSplit(d, 0.3).train.size(), 7u);  // 0.7 * 10 is not floored to 6
}

TEST(TemporalSplitTest, EventsAtTheCutTimeAllGoToTheTest) {
  DatasetBuilder b;
  for (uint32_t i = 0; i < 7; ++i) b.Add(0, i, i);
  b.Add(1, 7, 7).Add(1, 8, 7).Add(1, 9, 9);  // events 7 and 8 share a time
  const Split split = TemporalSplit(b.Build(), 0.2);
  EXPECT_EQ(split.train.size(), 7u);
}

TEST(TemporalSplitTest, AtLeastOneEventIsTest) {
  DatasetBuilder b;
  for (uint32_t i = 0; i < 4; ++i) b.Add(0, i, i);
  EXPECT_EQ(TemporalSplit(b.Build(), 0.01).train.size(), 3u);
}

TEST(TemporalSplitTest, TestItemsAreNewToTheUserAndKnownToTheCatalogue) {
  DatasetBuilder b;
  b.Add(0, 1, 0).Add(0, 2, 1).Add(1, 3, 2).Add(1, 4, 3).Add(3, 5, 4);  // train
  b.Add(0, 2, 10)     // user 0's own train item: not relevant
      .Add(0, 3, 11)  // in the catalogue (user 1): relevant
      .Add(0, 9, 12)  // never in train: dropped
      .Add(0, 3, 13)  // repeated: once
      .Add(0, 1, 14)  // own train item
      .Add(1, 4, 15)  // user 1: only its own item, so no test
      .Add(2, 1, 16)  // user 2: no train event, so no test
      .Add(3, 2, 17)
      .Add(3, 1, 18);
  const EvalDataset d = b.Build();
  const Split split = TemporalSplit(d, 9.0 / 14);  // 14 events, 9 after the cut
  EXPECT_EQ(split.train.size(), 5u);
  EXPECT_TRUE(split.exclude_train_items);
  ASSERT_EQ(split.tests.size(), 2u);
  EXPECT_EQ(split.tests[0].user, UserIdx(0));
  EXPECT_EQ(split.tests[0].relevant, Items({3}));
  EXPECT_EQ(split.tests[1].user, UserIdx(3));
  EXPECT_EQ(split.tests[1].relevant, Items({1, 2}));  // distinct, ascending
}

TEST(LeaveLastOutSplitTest, TheLastEventBySeqIsTheTestOnTimeTies) {
  DatasetBuilder b;
  b.Add(0, 4, 0).Add(0, 5, 10).Add(0, 6, 10);  // 5 and 6 at the same time: 6 has the later seq
  const Split split = LeaveLastOutSplit(b.Build());
  ASSERT_EQ(split.tests.size(), 1u);
  EXPECT_EQ(split.tests[0].relevant, Items({6}));
  EXPECT_THAT(Seqs(split.train), ElementsAre(0, 1));
}

TEST(LeaveLastOutSplitTest, UsersWithOneEventOnlyTrain) {
  DatasetBuilder b;
  b.Add(0, 1, 0).Add(1, 2, 1).Add(0, 3, 2).Add(2, 1, 3).Add(2, 1, 4);
  const Split split = LeaveLastOutSplit(b.Build());
  EXPECT_FALSE(split.exclude_train_items);  // a repeat (user 2: item 1 again) is reachable
  ASSERT_EQ(split.tests.size(), 2u);
  EXPECT_EQ(split.tests[0].user, UserIdx(0));
  EXPECT_EQ(split.tests[0].relevant, Items({3}));
  EXPECT_EQ(split.tests[1].user, UserIdx(2));
  EXPECT_EQ(split.tests[1].relevant, Items({1}));
  EXPECT_THAT(Seqs(split.train), ElementsAre(0, 1, 3));
}

EvalDataset ManyPairs() {
  DatasetBuilder b;
  int64_t t = 0;
  for (uint32_t u = 0; u < 20; ++u) {
    for (uint32_t i = 0; i < 8; ++i) {
      const uint32_t item = (u * 7 + i * 3) % 15;
      b.Add(u, item, t++);
      if (i % 3 == 0) b.Add(u, item, t++);  // some pairs have two events
    }
  }
  return b.Build();
}

using Pair = std::pair<uint32_t, uint32_t>;

std::set<Pair> PairsOf(const std::vector<EvalEvent>& events) {
  std::set<Pair> pairs;
  for (const EvalEvent& e : events) pairs.emplace(e.user.value, e.item.value);
  return pairs;
}

TEST(KFoldSplitsTest, EveryInteractionIsInExactlyOneTestFold) {
  const EvalDataset d = ManyPairs();
  const std::set<Pair> all = PairsOf(d.events);
  const std::vector<Split> splits = KFoldSplits(d, 5, 42);
  ASSERT_EQ(splits.size(), 5u);
  std::map<Pair, int> test_folds;
  for (const Split& split : splits) {
    const std::set<Pair> train = PairsOf(split.train);
    for (const Pair& p : all) {
      if (!train.contains(p)) ++test_folds[p];
    }
    // A pair's events go together: the train holds every event of its pairs.
    size_t events = 0;
    for (const EvalEvent& e : d.events) events += train.contains({e.user.value, e.item.value});
    EXPECT_EQ(events, split.train.size());
    // The tests are exactly the held-out pairs of users with train events.
    std::set<Pair> tested;
    for (const UserTest& t : split.tests) {
      for (ItemIdx item : t.relevant) tested.emplace(t.user.value, item.value);
    }
    for (const Pair& p : all) {
      const bool user_trains = std::any_of(train.begin(), train.end(),
                                           [&](const Pair& q) { return q.first == p.first; });
      EXPECT_EQ(tested.contains(p), !train.contains(p) && user_trains);
    }
    EXPECT_TRUE(split.exclude_train_items);
  }
  ASSERT_EQ(test_folds.size(), all.size());
  for (const auto& [pair, folds] : test_folds) EXPECT_EQ(folds, 1);
}

TEST(KFoldSplitsTest, FoldSizesDifferByAtMostOnePair) {
  const EvalDataset d = ManyPairs();
  const size_t all = PairsOf(d.events).size();
  for (const Split& split : KFoldSplits(d, 3, 1)) {
    const size_t held_out = all - PairsOf(split.train).size();
    EXPECT_GE(held_out, all / 3);
    EXPECT_LE(held_out, all / 3 + 1);
  }
}

TEST(KFoldSplitsTest, SameSeedSameFolds) {
  const EvalDataset d = ManyPairs();
  const std::vector<Split> a = KFoldSplits(d, 4, 7), b = KFoldSplits(d, 4, 7);
  for (int f = 0; f < 4; ++f) EXPECT_EQ(Seqs(a[f].train), Seqs(b[f].train));
}

TEST(KFoldSplitsTest, DifferentSeedDifferentFolds) {
  const EvalDataset d = ManyPairs();
  const std::vector<Split> a = KFoldSplits(d, 4, 7), b = KFoldSplits(d, 4, 8);
  EXPECT_NE(Seqs(a[0].train), Seqs(b[0].train));
}

TEST(UserItemIndexTest, ListsEachUsersDistinctItems) {
  DatasetBuilder b;
  b.Add(2, 5, 0).Add(2, 1, 1).Add(2, 5, 2).Add(0, 3, 3);
  const EvalDataset d = b.Build();
  const UserItemIndex index(d.events, d.num_users);
  EXPECT_EQ(std::vector<ItemIdx>(index.items(UserIdx(2)).begin(), index.items(UserIdx(2)).end()),
            Items({1, 5}));
  EXPECT_THAT(index.items(UserIdx(1)), IsEmpty());
  EXPECT_THAT(index.items(UserIdx(9)), IsEmpty());
  EXPECT_TRUE(index.Contains(UserIdx(0), ItemIdx(3)));
  EXPECT_FALSE(index.Contains(UserIdx(0), ItemIdx(5)));
}

}  // namespace
}  // namespace streamrec
