#include "eval/splits.h"

#include <algorithm>
#include <cmath>

#include "common/check.h"

namespace streamrec {
namespace {

uint64_t PairKey(UserIdx user, ItemIdx item) {
  return (static_cast<uint64_t>(user.value) << 32) | item.value;
}
UserIdx UserOf(uint64_t key) { return UserIdx(static_cast<uint32_t>(key >> 32)); }
ItemIdx ItemOf(uint64_t key) { return ItemIdx(static_cast<uint32_t>(key)); }

// Sorted distinct (user, item) keys of the events.
std::vector<uint64_t> DistinctPairs(std::span<const EvalEvent> events) {
  std::vector<uint64_t> keys;
  keys.reserve(events.size());
  for (const EvalEvent& e : events) keys.push_back(PairKey(e.user, e.item));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

// Sorted (user, item) keys become tests: one per user, items ascending, kept when
// `keep(user, item)`; users without train events are left out.
template <typename Keep>
std::vector<UserTest> GroupTests(std::span<const uint64_t> keys,
                                 const std::vector<uint32_t>& train_events_of_user, Keep keep) {
  std::vector<UserTest> tests;
  for (uint64_t key : keys) {
    const UserIdx user = UserOf(key);
    const ItemIdx item = ItemOf(key);
    if (train_events_of_user[user.value] == 0 || !keep(user, item)) continue;
    if (tests.empty() || tests.back().user != user) tests.push_back(UserTest{user, {}});
    tests.back().relevant.push_back(item);
  }
  return tests;
}

std::vector<uint32_t> EventsPerUser(std::span<const EvalEvent> events, uint32_t num_users) {
  std::vector<uint32_t> count(num_users, 0);
  for (const EvalEvent& e : events) ++count[e.user.value];
  return count;
}

// splitmix64 (Steele, Lea, Flood 2014): a fixed generator, so folds do not depend on
// the standard library's distributions.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) by multiply-high (bias below n / 2^64).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

 private:
  uint64_t state_;
};

}  // namespace

UserItemIndex::UserItemIndex(std::span<const EvalEvent> events, uint32_t num_users)
    : offsets_(num_users + 1, 0) {
  const std::vector<uint64_t> keys = DistinctPairs(events);
  items_.reserve(keys.size());
  for (uint64_t key : keys) {
    ++offsets_[UserOf(key).value + 1];
    items_.push_back(ItemOf(key));
  }
  for (uint32_t u = 0; u < num_users; ++u) offsets_[u + 1] += offsets_[u];
}

std::span<const ItemIdx> UserItemIndex::items(UserIdx user) const {
  if (user.value + 1 >= offsets_.size()) return {};
  return std::span<const ItemIdx>(items_).subspan(offsets_[user.value],
                                                  offsets_[user.value + 1] - offsets_[user.value]);
}

bool UserItemIndex::Contains(UserIdx user, ItemIdx item) const {
  const std::span<const ItemIdx> row = items(user);
  return std::binary_search(row.begin(), row.end(), item);
}

EventTime TemporalCutTime(std::span<const EvalEvent> events, double test_fraction) {
  STREAMREC_CHECK(!events.empty() && test_fraction > 0 && test_fraction < 1);
  const int64_t n = static_cast<int64_t>(events.size());
  const int64_t test = std::clamp<int64_t>(std::llround(test_fraction * n), 1, n);
  return events[n - test].time;
}

Split TemporalSplit(const EvalDataset& d, double test_fraction) {
  const EventTime cut = TemporalCutTime(d.events, test_fraction);
  const auto first_test =
      std::lower_bound(d.events.begin(), d.events.end(), cut,
                       [](const EvalEvent& e, EventTime t) { return e.time < t; });
  Split split;
  split.train.assign(d.events.begin(), first_test);
  std::vector<bool> in_catalogue(d.num_items, false);
  for (const EvalEvent& e : split.train) in_catalogue[e.item.value] = true;
  const UserItemIndex train_items(split.train, d.num_users);
  const std::vector<uint64_t> test_pairs =
      DistinctPairs(std::span<const EvalEvent>(d.events).subspan(first_test - d.events.begin()));
  split.tests = GroupTests(test_pairs, EventsPerUser(split.train, d.num_users),
                           [&](UserIdx user, ItemIdx item) {
                             return in_catalogue[item.value] && !train_items.Contains(user, item);
                           });
  return split;
}

Split LeaveLastOutSplit(const EvalDataset& d) {
  std::vector<uint32_t> count(d.num_users, 0);
  std::vector<size_t> last(d.num_users, 0);
  for (size_t i = 0; i < d.events.size(); ++i) {
    ++count[d.events[i].user.value];
    last[d.events[i].user.value] = i;  // events are in (time, seq) order
  }
  Split split;
  split.exclude_train_items = false;
  split.train.reserve(d.events.size());
  for (size_t i = 0; i < d.events.size(); ++i) {
    const UserIdx user = d.events[i].user;
    if (count[user.value] >= 2 && last[user.value] == i) continue;
    split.train.push_back(d.events[i]);
  }
  for (uint32_t u = 0; u < d.num_users; ++u) {
    if (count[u] >= 2) split.tests.push_back(UserTest{UserIdx(u), {d.events[last[u]].item}});
  }
  return split;
}

std::vector<Split> KFoldSplits(const EvalDataset& d, int folds, uint64_t seed) {
  STREAMREC_CHECK(folds >= 2) << "kfold needs at least 2 folds";
  const std::vector<uint64_t> pairs = DistinctPairs(d.events);
  // Shuffle the pair indices; position p of the shuffle goes to fold p % folds.
  std::vector<uint32_t> order(pairs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
  SplitMix64 rng(seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.Below(i)]);
  std::vector<int> fold_of_pair(pairs.size());
  for (size_t p = 0; p < order.size(); ++p) fold_of_pair[order[p]] = static_cast<int>(p % folds);

  std::vector<int> fold_of_event(d.events.size());
  for (size_t i = 0; i < d.events.size(); ++i) {
    const uint64_t key = PairKey(d.events[i].user, d.events[i].item);
    fold_of_event[i] =
        fold_of_pair[std::lower_bound(pairs.begin(), pairs.end(), key) - pairs.begin()];
  }
  std::vector<Split> splits(folds);
  for (int f = 0; f < folds; ++f) {
    Split& split = splits[f];
    for (size_t i = 0; i < d.events.size(); ++i) {
      if (fold_of_event[i] != f) split.train.push_back(d.events[i]);
    }
    std::vector<uint64_t> test_pairs;
    for (size_t p = 0; p < pairs.size(); ++p) {
      if (fold_of_pair[p] == f) test_pairs.push_back(pairs[p]);
    }
    split.tests = GroupTests(test_pairs, EventsPerUser(split.train, d.num_users),
                             [](UserIdx, ItemIdx) { return true; });
  }
  return splits;
}

}  // namespace streamrec
