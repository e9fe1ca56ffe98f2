// Protocols on small hand-made datasets where the answer is known, the live adapter's
// sessions, determinism across thread counts, and the refused inputs.

#include "eval/evaluator.h"

#include <algorithm>
#include <atomic>
#include <map>

#include "eval/live_model.h"
#include "eval/splits.h"
#include "eval/test_data.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using eval_testing::DatasetBuilder;
using eval_testing::Items;
using eval_testing::kMinute;
using ::testing::HasSubstr;

// Recommends a fixed list (minus excluded items); online; counts its queries.
class FixedModel : public EvalModel {
 public:
  explicit FixedModel(std::vector<ItemIdx> list, std::atomic<int>* queries = nullptr)
      : list_(std::move(list)), queries_(queries) {}
  absl::Status Fit(std::span<const EvalEvent>, uint32_t, uint32_t) override {
    return absl::OkStatus();
  }
  void RecommendForUser(UserIdx, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                        std::vector<ItemIdx>* out) const override {
    Count();
    out->clear();
    for (ItemIdx i : list_) {
      if (out->size() < k && !exclude(i)) out->push_back(i);
    }
  }
  void RecommendForSession(std::span<const SessionStep>, size_t k,
                           std::vector<ItemIdx>* out) const override {
    RecommendForUser(
        UserIdx(0), k, [](ItemIdx) { return false; }, out);
  }
  bool online() const override { return true; }

 private:
  void Count() const {
    if (queries_ != nullptr) ++*queries_;
  }
  std::vector<ItemIdx> list_;
  std::atomic<int>* queries_;
};

// Recommends the prefix's last item: a hit exactly when the next item repeats it.
class RepeatModel : public FixedModel {
 public:
  explicit RepeatModel(std::atomic<int>* queries) : FixedModel({}, queries), queries_(queries) {}
  void RecommendForSession(std::span<const SessionStep> prefix, size_t k,
                           std::vector<ItemIdx>* out) const override {
    ++*queries_;
    out->assign({prefix.back().item});
  }
  bool online() const override { return false; }

 private:
  std::atomic<int>* queries_;
};

ModelSpec Fixed(std::string name, std::vector<ItemIdx> list, std::atomic<int>* queries = nullptr) {
  return ModelSpec{std::move(name),
                   [list, queries]() -> absl::StatusOr<std::unique_ptr<EvalModel>> {
                     return std::make_unique<FixedModel>(list, queries);
                   }};
}

ModelSpec BuiltIn(const std::string& name) {
  return ModelSpec{name, [name] { return MakeBuiltInModel(name, 1); }};
}

double Value(const EvaluationResult& r, std::string_view model, std::string_view metric, int k) {
  for (const MetricValue& v : r.results) {
    if (v.model == model && v.metric == metric && v.k == k) return v.value;
  }
  ADD_FAILURE() << "no " << model << " " << metric << "@" << k;
  return -1;
}

EvaluationOptions With(Protocol p, std::vector<int> ks = {1, 2}) {
  EvaluationOptions o;
  o.protocol = p;
  o.ks = std::move(ks);
  o.threads = 2;
  return o;
}

absl::StatusOr<EvaluationResult> EvaluateOn(const EvalDataset& d, std::vector<ModelSpec> models,
                                            const EvaluationOptions& o,
                                            const EvalDataset* test = nullptr) {
  return Evaluate(d, test, models, o);
}

// ---- replay ----

TEST(ReplayTest, AModelThatAlwaysSaysXHitsTheShareOfEventsOnX) {
  DatasetBuilder b;
  const uint32_t items[] = {7, 1, 7, 2, 7, 7, 3, 4};  // 4 of 8 on item 7
  for (uint32_t i = 0; i < 8; ++i) b.Add(i % 3, items[i], i);
  const absl::StatusOr<EvaluationResult> r =
      EvaluateOn(b.Build(), {Fixed("x", Items({7}))}, With(Protocol::kReplay));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->protocol, "replay");
  EXPECT_DOUBLE_EQ(Value(*r, "x", "hr", 1), 0.5);  // first events (cold start) count too
  EXPECT_DOUBLE_EQ(Value(*r, "x", "mrr", 2), 0.5);
  EXPECT_DOUBLE_EQ(Value(*r, "x", "coverage", 1), 1.0 / 5);  // 5 distinct items
}

TEST(ReplayTest, TheModelSeesEachEventAfterItsQuery) {
  // item: the user's latest item is left out (on screen), so with views of 1, 2, 1, 2 ...
  // by one user, the pair (1, 2) makes the model answer the other item: a hit from the
  // third event on.
  DatasetBuilder b;
  for (int i = 0; i < 6; ++i) b.Add(0, 1 + i % 2, i);
  const absl::StatusOr<EvaluationResult> r =
      EvaluateOn(b.Build(), {BuiltIn("item")}, With(Protocol::kReplay));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(Value(*r, "item", "hr", 1), 4.0 / 6);
}

TEST(ReplayTest, RefusesModelsThatAreNotOnlineByName) {
  const EvalDataset d = DatasetBuilder().Session(0, {1, 2, 3}, 0).Build();
  const absl::StatusOr<EvaluationResult> r =
      EvaluateOn(d, {BuiltIn("hybrid"), BuiltIn("sr")}, With(Protocol::kReplay));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("model sr is not online"));
}

// ---- session-next ----

TEST(SessionNextTest, EveryPrefixIsAQuery) {
  const EvalDataset train = DatasetBuilder().Session(0, {1, 2, 3}, 0).Build();
  // Test sessions (user = session) of lengths 3, 1 and 4: 2 + 0 + 3 queries. Item 9 is
  // not in training: still a query (a miss for any model ranking training items).
  const EvalDataset test = DatasetBuilder()
                               .Session(0, {1, 1, 2}, 0)
                               .Session(1, {3}, 0)
                               .Session(2, {2, 2, 9, 9}, 0)
                               .Build(3, 10);
  std::atomic<int> queries{0};
  const ModelSpec repeat{"repeat", [&]() -> absl::StatusOr<std::unique_ptr<EvalModel>> {
                           return std::make_unique<RepeatModel>(&queries);
                         }};
  const absl::StatusOr<EvaluationResult> r =
      EvaluateOn(train, {repeat}, With(Protocol::kSessionNext), &test);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(queries.load(), 5);
  EXPECT_DOUBLE_EQ(Value(*r, "repeat", "hr", 1), 3.0 / 5);  // 1->1, 2->2, 9->9
  EXPECT_EQ(r->dataset.users, 1 + 3);
  EXPECT_EQ(r->dataset.items, 4);  // 1, 2, 3, 9
  EXPECT_EQ(r->dataset.interactions, 3 + 8);
}

TEST(SessionNextTest, ItsOwnSplitTestsTheSessionsStartingAfterTheCut) {
  DatasetBuilder b;
  b.Session(0, {1, 2}, 0).Session(1, {2, 3}, 5 * kMinute);
  b.Session(0, {4, 5, 6}, 100 * kMinute);  // a new session of user 0, after the cut
  b.Session(2, {7}, 101 * kMinute);        // one event: no query
  std::atomic<int> queries{0};
  const ModelSpec repeat{"repeat", [&]() -> absl::StatusOr<std::unique_ptr<EvalModel>> {
                           return std::make_unique<RepeatModel>(&queries);
                         }};
  EvaluationOptions o = With(Protocol::kSessionNext);
  o.test_fraction = 0.5;  // 8 events: the cut is the 5th event's time (item 4, 100 minutes)
  const absl::StatusOr<EvaluationResult> r = EvaluateOn(b.Build(), {repeat}, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(queries.load(), 2);  // prefixes 4 and 4 5
}

TEST(SessionNextTest, SrAndVsknnRunEndToEnd) {
  const EvalDataset train = DatasetBuilder()
                                .Session(0, {1, 2, 3}, 0)
                                .Session(1, {1, 2, 4}, 0)
                                .Session(2, {2, 3}, 0)
                                .Build();
  const EvalDataset test = DatasetBuilder().Session(0, {1, 2, 3}, 0).Build(1, 5);
  const absl::StatusOr<EvaluationResult> r =
      EvaluateOn(train, {BuiltIn("sr"), BuiltIn("vsknn")}, With(Protocol::kSessionNext), &test);
  ASSERT_TRUE(r.ok()) << r.status();
  // sr: after 1, rules 1->2 (2), 1->3 (1/2), 1->4 (1/2): 2 is first; after 2: 3 (2) first.
  EXPECT_DOUBLE_EQ(Value(*r, "sr", "hr", 1), 1.0);
  // vsknn after 1: neighbours 1 2 3 and 1 2 4 (sim 1 each): 1 and 2 score 2, 1 ranks
  // first (lower id), so 2 is at rank 2. After 1 2: neighbours 1 2 3, 1 2 4 (sim 1.5) and
  // 2 3 (sim 1): 2 scores 4, 1 scores 3, 3 scores 2.5: 3 is at rank 3.
  EXPECT_DOUBLE_EQ(Value(*r, "vsknn", "hr", 1), 0.0);
  EXPECT_DOUBLE_EQ(Value(*r, "vsknn", "hr", 2), 0.5);
  EXPECT_DOUBLE_EQ(Value(*r, "vsknn", "mrr", 2), 0.25);
}

// ---- batch protocols ----

TEST(TemporalTest, RanksWithoutTheUsersTrainItems) {
  DatasetBuilder b;
  b.Add(0, 1, 0).Add(0, 2, 1).Add(1, 3, 2).Add(1, 1, 3);  // train
  b.Add(0, 3, 10).Add(1, 2, 11);                          // test: user 0 -> 3, user 1 -> 2
  EvaluationOptions o = With(Protocol::kTemporal);
  o.test_fraction = 2.0 / 6;
  // The list 1 2 3 minus train items: user 0 gets 3, user 1 gets 2: both hits at rank 1.
  const absl::StatusOr<EvaluationResult> r =
      EvaluateOn(b.Build(), {Fixed("list", Items({1, 2, 3}))}, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(Value(*r, "list", "hr", 1), 1.0);
  EXPECT_DOUBLE_EQ(Value(*r, "list", "precision", 2), 0.5);
  EXPECT_DOUBLE_EQ(Value(*r, "list", "coverage", 1), 2.0 / 3);  // {3, 2} of 3 train items
}

TEST(LeaveLastOutTest, NothingIsExcluded) {
  DatasetBuilder b;
  b.Add(0, 1, 0).Add(0, 2, 1).Add(0, 1, 2);  // user 0 returns to item 1
  b.Add(1, 2, 3).Add(1, 3, 4);
  const absl::StatusOr<EvaluationResult> r = EvaluateOn(
      b.Build(), {Fixed("list", Items({1, 2, 3}))}, With(Protocol::kLeaveLastOut, {1, 3}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(Value(*r, "list", "hr", 1), 0.5);                 // user 0 hits 1 at rank 1
  EXPECT_DOUBLE_EQ(Value(*r, "list", "mrr", 3), (1 + 1.0 / 3) / 2);  // user 1: 3 at rank 3
}

TEST(KFoldTest, MetricsAreTheMeanOfTheFoldMeans) {
  DatasetBuilder b;
  for (uint32_t u = 0; u < 12; ++u) {
    for (uint32_t i = 0; i < 5; ++i) b.Add(u, (u + i * 2) % 9, u * 10 + i);
  }
  const EvalDataset d = b.Build();
  const std::vector<ItemIdx> list = Items({0, 1, 2, 3, 4, 5, 6, 7, 8});
  EvaluationOptions o = With(Protocol::kKFold, {3});
  o.folds = 3;
  o.seed = 5;
  const absl::StatusOr<EvaluationResult> r = EvaluateOn(d, {Fixed("list", list)}, o);
  ASSERT_TRUE(r.ok()) << r.status();
  // The same by hand from the splits.
  std::map<std::string, double> sum;
  for (const Split& split : KFoldSplits(d, 3, 5)) {
    const UserItemIndex train(split.train, d.num_users);
    MetricAccumulator acc({3}, DistinctItems(split.train));
    FixedModel model(list);
    std::vector<ItemIdx> out;
    for (const UserTest& t : split.tests) {
      model.RecommendForUser(
          t.user, 3, [&](ItemIdx i) { return train.Contains(t.user, i); }, &out);
      acc.AddQuery(out, t.relevant);
    }
    for (const MetricValue& v : acc.Results("list")) sum[v.metric] += v.value;
  }
  for (const auto& [metric, total] : sum) {
    EXPECT_NEAR(Value(*r, "list", metric, 3), total / 3, 1e-12) << metric;
  }
}

// ---- the live adapter ----

TEST(LiveModelTest, SessionsFollowTheThirtyMinuteRule) {
  ModelConfig config;
  config.cross_session_weight = 0;  // pairs only within a session
  DatasetBuilder b;
  b.Add(0, 1, 0).Add(0, 2, 30 * kMinute);      // same session: 1-2 pair
  b.Add(1, 3, 0).Add(1, 4, 30 * kMinute + 1);  // new session: no 3-4 pair
  b.Add(2, 1, 100 * kMinute).Add(3, 3, 100 * kMinute);
  const EvalDataset d = b.Build();
  std::unique_ptr<EvalModel> model = MakeLiveModel(ModelKind::kItem, config);
  ASSERT_TRUE(model->Fit(d.events, d.num_users, d.num_items).ok());
  std::vector<ItemIdx> out;
  model->RecommendForUser(
      UserIdx(2), 5, [](ItemIdx) { return false; }, &out);
  EXPECT_EQ(out, Items({2}));
  model->RecommendForUser(
      UserIdx(3), 5, [](ItemIdx) { return false; }, &out);
  EXPECT_TRUE(out.empty());
}

TEST(LiveModelTest, ObservingEventByEventEqualsFit) {
  DatasetBuilder b;
  for (uint32_t i = 0; i < 60; ++i) b.Add(i % 7, (i * 5) % 11, i * 7 * kMinute / 3);
  const EvalDataset d = b.Build();
  std::unique_ptr<EvalModel> batch = MakeLiveModel(ModelKind::kHybrid);
  std::unique_ptr<EvalModel> online = MakeLiveModel(ModelKind::kHybrid);
  ASSERT_TRUE(batch->Fit(d.events, d.num_users, d.num_items).ok());
  ASSERT_TRUE(online->Fit({}, d.num_users, d.num_items).ok());
  for (const EvalEvent& e : d.events) online->Observe(e);
  std::vector<ItemIdx> a, c;
  for (uint32_t u = 0; u < d.num_users; ++u) {
    batch->RecommendForUser(
        UserIdx(u), 5, [](ItemIdx i) { return i.value == 3; }, &a);
    online->RecommendForUser(
        UserIdx(u), 5, [](ItemIdx i) { return i.value == 3; }, &c);
    EXPECT_EQ(a, c);
    EXPECT_FALSE(std::count(a.begin(), a.end(), ItemIdx(3)));
  }
}

// ---- determinism, timings, progress ----

EvalDataset Synthetic(int events, uint32_t users = 300) {
  DatasetBuilder b;
  uint64_t x = 12345;
  const auto next = [&] { return x = x * 6364136223846793005ULL + 1442695040888963407ULL; };
  for (int i = 0; i < events; ++i) {
    const uint32_t user = (next() >> 33) % users;
    const uint32_t item = static_cast<uint32_t>(((next() >> 33) % 60) * ((next() >> 33) % 4 + 1));
    b.Add(user, item, i * 2);
  }
  return b.Build();
}

TEST(EvaluateTest, ResultsDoNotDependOnTheThreadCount) {
  // Enough queries for several chunks of 256 in both protocols.
  const EvalDataset d = Synthetic(12000, 1500);
  for (Protocol p : {Protocol::kTemporal, Protocol::kSessionNext}) {
    EvaluationOptions o = With(p, {5, 20});
    o.threads = 1;
    const absl::StatusOr<EvaluationResult> one =
        EvaluateOn(d, {BuiltIn("hybrid"), BuiltIn("vsknn"), BuiltIn("sr")}, o);
    o.threads = 5;
    const absl::StatusOr<EvaluationResult> five =
        EvaluateOn(d, {BuiltIn("hybrid"), BuiltIn("vsknn"), BuiltIn("sr")}, o);
    ASSERT_TRUE(one.ok() && five.ok()) << one.status() << five.status();
    EXPECT_EQ(one->results, five->results) << ProtocolName(p);
    EXPECT_GT(Value(*one, "vsknn", "hr", 20), 0) << ProtocolName(p);
  }
}

TEST(EvaluateTest, EveryBuiltInModelRunsEveryProtocolItCan) {
  const EvalDataset d = Synthetic(1500);
  std::vector<ModelSpec> all, online;
  for (const std::string& name : BuiltInModelNames()) {
    all.push_back(BuiltIn(name));
    if (name != "sr" && name != "vsknn") online.push_back(BuiltIn(name));
  }
  for (Protocol p : {Protocol::kTemporal, Protocol::kLeaveLastOut, Protocol::kKFold,
                     Protocol::kSessionNext, Protocol::kReplay}) {
    const absl::StatusOr<EvaluationResult> r =
        EvaluateOn(d, p == Protocol::kReplay ? online : all, With(p, {10}));
    ASSERT_TRUE(r.ok()) << ProtocolName(p) << ": " << r.status();
    EXPECT_EQ(r->results.size(), (p == Protocol::kReplay ? online : all).size() * 7);
    EXPECT_EQ(r->results.front().model, "popular");
  }
}

TEST(EvaluateTest, ReportsSecondsAndProgress) {
  const EvalDataset d = Synthetic(800);
  EvaluationOptions o = With(Protocol::kTemporal);
  std::map<std::string, std::pair<int64_t, int64_t>> last;
  o.progress = [&](std::string_view stage, int64_t done, int64_t total) {
    last[std::string(stage)] = {done, total};
  };
  const absl::StatusOr<EvaluationResult> r = EvaluateOn(d, {BuiltIn("popular")}, o);
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<std::string> names;
  for (const auto& [name, seconds] : r->seconds) names.push_back(name);
  EXPECT_THAT(names, ::testing::ElementsAre("split", "popular.fit", "popular.predict", "total"));
  ASSERT_TRUE(last.contains("popular predict"));
  EXPECT_EQ(last["popular predict"].first, last["popular predict"].second);
  EXPECT_EQ(last["popular fit"], std::make_pair(int64_t{1}, int64_t{1}));
}

// ---- refused inputs ----

void ExpectInvalid(const absl::StatusOr<EvaluationResult>& r, std::string_view why) {
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr(why));
}

TEST(EvaluateTest, RefusesBadOptions) {
  const EvalDataset d = Synthetic(100);
  const std::vector<ModelSpec> m = {BuiltIn("popular")};
  EvaluationOptions o = With(Protocol::kTemporal, {10, 0});
  ExpectInvalid(EvaluateOn(d, m, o), "k = 0");
  o.ks = {-3};
  ExpectInvalid(EvaluateOn(d, m, o), "k = -3");
  o.ks = {};
  ExpectInvalid(EvaluateOn(d, m, o), "no cutoffs");
  o = With(Protocol::kKFold);
  o.folds = 1;
  ExpectInvalid(EvaluateOn(d, m, o), "at least 2 folds");
  for (double f : {0.0, 1.0, -0.5, 1.5}) {
    o = With(Protocol::kTemporal);
    o.test_fraction = f;
    ExpectInvalid(EvaluateOn(d, m, o), "strictly between 0 and 1");
    o.protocol = Protocol::kSessionNext;
    ExpectInvalid(EvaluateOn(d, m, o), "strictly between 0 and 1");
  }
  o = With(Protocol::kTemporal);
  o.threads = -1;
  ExpectInvalid(EvaluateOn(d, m, o), "threads");
}

TEST(EvaluateTest, RefusesBadData) {
  const std::vector<ModelSpec> m = {BuiltIn("popular")};
  ExpectInvalid(EvaluateOn(EvalDataset{}, m, With(Protocol::kTemporal)), "no events");
  EvalDataset d = DatasetBuilder().Add(0, 1, 0).Add(0, 2, 1).Build();
  std::swap(d.events[0], d.events[1]);
  ExpectInvalid(EvaluateOn(d, m, With(Protocol::kTemporal)), "sorted by (time, seq)");
  d = DatasetBuilder().Add(0, 1, 0).Build();
  d.num_items = 1;
  ExpectInvalid(EvaluateOn(d, m, With(Protocol::kTemporal)), "item 1");
  const EvalDataset ok = Synthetic(100);
  ExpectInvalid(EvaluateOn(ok, m, With(Protocol::kTemporal), &ok), "only for session-next");
  const EvalDataset empty;
  ExpectInvalid(EvaluateOn(ok, m, With(Protocol::kSessionNext), &empty), "test sessions");
}

TEST(EvaluateTest, RefusesBadModels) {
  const EvalDataset d = Synthetic(100);
  ExpectInvalid(EvaluateOn(d, {}, With(Protocol::kTemporal)), "no models");
  ExpectInvalid(EvaluateOn(d, {BuiltIn("sr"), BuiltIn("sr")}, With(Protocol::kTemporal)), "twice");
  const absl::StatusOr<EvaluationResult> r =
      EvaluateOn(d, {BuiltIn("als")}, With(Protocol::kTemporal));
  ExpectInvalid(r, "model als: unknown model \"als\"");
  EXPECT_THAT(r.status().message(),
              HasSubstr("popular, trending, item, session, hybrid, sr, vsknn"));
}

TEST(EvaluateTest, NoTestQueriesIsAFailedPrecondition) {
  // Every event at one time: the temporal cut leaves no train events.
  const EvalDataset d = DatasetBuilder().Add(0, 1, 0).Add(1, 2, 0).Build();
  const absl::StatusOr<EvaluationResult> r =
      EvaluateOn(d, {BuiltIn("popular")}, With(Protocol::kTemporal));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("no test queries"));
}

TEST(ProtocolTest, NamesRoundTrip) {
  for (Protocol p : {Protocol::kTemporal, Protocol::kLeaveLastOut, Protocol::kKFold,
                     Protocol::kReplay, Protocol::kSessionNext}) {
    EXPECT_EQ(*ParseProtocol(ProtocolName(p)), p);
  }
  EXPECT_EQ(ProtocolName(Protocol::kLeaveLastOut), "leave-last-out");
  EXPECT_EQ(ParseProtocol("loo").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace streamrec
