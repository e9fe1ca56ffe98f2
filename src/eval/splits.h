#pragma once
// Splits for the batch protocols: each gives train events (time order) and, per test
// user, the relevant items.
//
// REQUIRES for all: `d` passes ValidateDataset (ids in range, (time, seq) order); the
// parameters are in range (Evaluate checks them and answers InvalidArgument first).

#include <cstdint>
#include <span>
#include <vector>

#include "common/time.h"
#include "eval/dataset.h"

namespace streamrec {

struct UserTest {
  UserIdx user;
  std::vector<ItemIdx> relevant;  // distinct items, ascending
};

struct Split {
  std::vector<EvalEvent> train;
  std::vector<UserTest> tests;      // users with >= 1 train event and >= 1 relevant item, by id
  bool exclude_train_items = true;  // rank without the user's train items
};

// temporal: the cut time T is the time of event number n - round(f n) in time order
// (0-based; at least one event lies after the cut). Train = events before T; test = the
// items each user touched at T or later that (a) are in the train catalogue and (b) when
// excluding (always, here), are not among the user's train items. Events sharing the
// cut's timestamp all fall on the test side.
// REQUIRES: 0 < test_fraction < 1.
Split TemporalSplit(const EvalDataset& d, double test_fraction);
// The T of TemporalSplit (also the cut of session-next's own split).
EventTime TemporalCutTime(std::span<const EvalEvent> events, double test_fraction);

// leave-last-out: each user's last event (time, then seq) is the test, for users with
// >= 2 events; everything else (users with one event included) is train. Nothing is
// excluded (exclude_train_items = false): the last item may repeat an earlier one, and
// repeats are common in e-commerce. A last item outside the train catalogue counts as a
// miss.
Split LeaveLastOutSplit(const EvalDataset& d);

// kfold: interactions (distinct user-item pairs; all of a pair's events go together) are
// shuffled with `seed` (Fisher-Yates over splitmix64, so the folds are the same on every
// platform) and dealt round-robin into `folds` parts; fold f is the test of split f and
// the other folds' events are its train. Test items are never among the user's train
// items, so exclude_train_items = true. An item whose every pair is in the test fold
// counts as a miss. Same seed, same folds.
// REQUIRES: folds >= 2.
std::vector<Split> KFoldSplits(const EvalDataset& d, int folds, uint64_t seed);

// Each user's distinct items among some events, ascending (CSR over user ids).
class UserItemIndex {
 public:
  UserItemIndex(std::span<const EvalEvent> events, uint32_t num_users);
  std::span<const ItemIdx> items(UserIdx user) const;
  bool Contains(UserIdx user, ItemIdx item) const;

 private:
  std::vector<uint32_t> offsets_;  // num_users + 1
  std::vector<ItemIdx> items_;
};

}  // namespace streamrec
