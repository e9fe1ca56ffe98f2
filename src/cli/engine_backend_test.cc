// The backend's batch models: model=als before and after a training, fold-in of a
// user's newest events at request time, ALS in the hybrid, and retraining on request.
#include "cli/engine_backend.h"

#include <filesystem>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "common/strings.h"
#include "common/test_temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/blend.h"

namespace streamrec {
namespace {

namespace fs = std::filesystem;
const EventTime kStart = EventTime::FromSeconds(1'700'000'000);

class EngineBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LiveEngineOptions o;
    o.state_dir = dir_.string();
    o.clock = [] { return kStart; };
    o.snapshot_every_events = 0;
    auto engine = LiveEngine::Open(std::move(o));
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
    RetrainOptions retrain;
    retrain.training.als.factors = 8;
    retrain.training.als.iterations = 10;
    retrain.training.als.threads = 1;
    retrain.every = std::chrono::seconds(0);
    retrain.train_at_start = false;
    als_ = std::make_unique<ModelSlot>(engine_.get(), retrain);
    backend_ =
        std::make_unique<EngineBackend>(engine_.get(), EngineBackendOptions{.als = als_.get()});
  }
  void TearDown() override {
    backend_.reset();
    als_.reset();
    engine_.reset();
  }

  void Ingest(std::vector<IngestEvent> events) {
    std::promise<absl::StatusOr<IngestResult>> done;
    backend_->Ingest(std::move(events),
                     [&](absl::StatusOr<IngestResult> r) { done.set_value(std::move(r)); });
    ASSERT_TRUE(done.get_future().get().ok());
  }
  static IngestEvent View(std::string user, std::string item) {
    return IngestEvent{std::move(user), std::move(item), EventType::kView, kStart, {}, ""};
  }
  // Users of group g view the four items g0..g3 (items of the other group never).
  void TwoGroups() {
    std::vector<IngestEvent> events;
    for (int u = 0; u < 30; ++u) {
      const std::string g = u % 2 == 0 ? "a" : "b";
      for (int i = 0; i < 4; ++i) {
        if ((u + i) % 4 != 3) events.push_back(View(StrCat("u", u), StrCat(g, i)));
      }
    }
    Ingest(std::move(events));
  }
  absl::StatusOr<RetrainResult> Retrain(std::string_view model = "") {
    std::promise<absl::StatusOr<RetrainResult>> done;
    backend_->Retrain(model,
                      [&](absl::StatusOr<RetrainResult> r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  }
  std::vector<std::string> Items(std::string_view user, std::string_view model, size_t k = 3) {
    absl::StatusOr<Recommendations> r = backend_->RecommendForUser(user, {k, model, {}});
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> ids;
    if (r.ok()) {
      for (const RecommendedItem& i : r->items) ids.push_back(i.item_id);
    }
    return ids;
  }

  TempDir temp_{"engine_backend"};
  const fs::path dir_ = temp_.path();
  std::unique_ptr<LiveEngine> engine_;
  std::unique_ptr<ModelSlot> als_;
  std::unique_ptr<EngineBackend> backend_;
};

TEST_F(EngineBackendTest, AlsIsUnavailableUntilTheFirstTraining) {
  TwoGroups();
  const absl::Status before = backend_->RecommendForUser("u0", {3, "als", {}}).status();
  EXPECT_EQ(before.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(backend_->ExtraModels(), ::testing::Contains("als"));

  absl::StatusOr<RetrainResult> trained = Retrain();
  ASSERT_TRUE(trained.ok()) << trained.status();
  EXPECT_EQ(trained->model, "als");
  EXPECT_EQ(trained->interactions, 90u);
  // u0 (group a) viewed a0, a1, a2: the four items of its group come first, the unseen
  // a3 among them (seen items stay eligible: people come back to them).
  const std::vector<std::string> items = Items("u0", "als", 4);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_THAT(items, ::testing::UnorderedElementsAre("a0", "a1", "a2", "a3"));
}

TEST_F(EngineBackendTest, AlsFoldsInAUsersNewestEventsAtRequestTime) {
  TwoGroups();
  ASSERT_TRUE(Retrain().ok());
  // A user new since the training: personal results from one event, at once.
  Ingest({View("newcomer", "b0"), View("newcomer", "b1")});
  const std::vector<std::string> items = Items("newcomer", "als", 2);
  ASSERT_EQ(items.size(), 2u);
  for (const std::string& id : items) EXPECT_EQ(id[0], 'b') << id;
}

TEST_F(EngineBackendTest, HybridBlendsAlsInOnceItExists) {
  TwoGroups();
  absl::StatusOr<Recommendations> before = backend_->RecommendForUser("u0", {10, "hybrid", {}});
  ASSERT_TRUE(before.ok());
  for (const RecommendedItem& i : before->items)
    EXPECT_NE(i.reason, "picked for you from your history");
  ASSERT_TRUE(Retrain().ok());
  absl::StatusOr<Recommendations> after = backend_->RecommendForUser("u0", {10, "hybrid", {}});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->model, "hybrid");
  bool from_als = false;
  for (const RecommendedItem& i : after->items) {
    from_als = from_als || i.reason == "picked for you from your history";
  }
  EXPECT_TRUE(from_als);
}

// The blend takes a deeper live list than it shows, made without the co-purchase reads;
// the items it keeps are told bought-together afterwards.
TEST_F(EngineBackendTest, HybridWithAlsStillSaysBoughtTogether) {
  // Ten minutes before the clock: past the allowed lateness, so the watermark releases
  // the purchases to the recommenders at once, and their pair is in.
  const EventTime earlier{kStart.micros - 10 * 60 * kMicrosPerSecond};
  std::vector<IngestEvent> events;
  for (int u = 0; u < 3; ++u) {
    for (const char* item : {"p0", "p1"}) {
      events.push_back(
          IngestEvent{StrCat("buyer", u), item, EventType::kPurchase, earlier, 10.0, ""});
    }
  }
  Ingest(std::move(events));
  TwoGroups();
  ASSERT_TRUE(Retrain().ok());
  Ingest({View("shopper", "p0")});
  absl::StatusOr<Recommendations> r = backend_->RecommendForUser("shopper", {3, "hybrid", {}});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_FALSE(r->items.empty());
  EXPECT_EQ(r->items[0].item_id, "p1");
  EXPECT_EQ(r->items[0].reason, "bought together with p0");
}

// Bought items are left out: one bought long ago (in the matrix, out of the user's recent
// items since) and one whose purchase still waits in the reorder buffer, with ALS and
// without.
TEST_F(EngineBackendTest, ItemsTheUserBoughtLongAgoOrJustNowAreLeftOut) {
  const EventTime long_ago{kStart.micros - 20 * 60 * kMicrosPerSecond};
  std::vector<IngestEvent> before{
      IngestEvent{"buyer", "a1", EventType::kPurchase, long_ago, 10.0, ""}};
  for (int i = 0; i < 8; ++i) {  // as many views as recent items: a1 leaves them
    before.push_back(IngestEvent{"buyer",
                                 StrCat("x", i),
                                 EventType::kView,
                                 EventTime{long_ago.micros + (i + 1) * kMicrosPerSecond},
                                 {},
                                 ""});
  }
  Ingest(std::move(before));
  TwoGroups();
  Ingest({View("buyer", "a0"), View("buyer", "a2"),
          IngestEvent{"buyer", "a3", EventType::kPurchase, kStart, 10.0, ""}});
  const auto expect_left_out = [&](std::string_view model) {
    const std::vector<std::string> items = Items("buyer", model, 10);
    EXPECT_FALSE(items.empty()) << model;
    EXPECT_THAT(items, ::testing::Not(::testing::Contains("a1"))) << model;
    EXPECT_THAT(items, ::testing::Not(::testing::Contains("a3"))) << model;
  };
  expect_left_out("hybrid");
  expect_left_out("session");
  ASSERT_TRUE(Retrain().ok());
  expect_left_out("hybrid");
  expect_left_out("als");
}

TEST_F(EngineBackendTest, HybridBlendsTheLiveListWithTheAlsScoresItVouchesFor) {
  TwoGroups();
  ASSERT_TRUE(Retrain().ok());
  // The parts asked for apart: ALS's scores of all eight items, and the live list alone.
  // The hybrid asks ALS for its top 3 and scores the live list's items itself.
  absl::StatusOr<Recommendations> als = backend_->RecommendForUser("u0", {8, "als", {}});
  ASSERT_TRUE(als.ok());
  ASSERT_EQ(als->items.size(), 8u);
  EngineBackend live_only(engine_.get(), {.als = als_.get(), .hybrid_als_weight = 0});
  absl::StatusOr<Recommendations> live =
      live_only.RecommendForUser("u0", {BlendDepth(3), "hybrid", {}});
  ASSERT_TRUE(live.ok());
  ASSERT_FALSE(live->items.empty());
  // models/blend.h: 0.7 of the live score over its best, 0.3 of ALS's over its best for
  // the items ALS scores at least kBatchVouchRatio of its third best.
  std::map<std::string, double> blend;
  for (const RecommendedItem& i : live->items) {
    blend[i.item_id] += 0.7 * i.score / live->items.front().score;
  }
  const double vouched = kBatchVouchRatio * als->items[2].score;
  for (const RecommendedItem& i : als->items) {
    if (i.score >= vouched)
      blend[i.item_id] += 0.3 * std::max(0.0, i.score) / als->items.front().score;
  }
  std::vector<std::pair<double, std::string>> want;
  for (const auto& [item, score] : blend) want.emplace_back(-score, item);
  std::sort(want.begin(), want.end());
  absl::StatusOr<Recommendations> hybrid = backend_->RecommendForUser("u0", {3, "hybrid", {}});
  ASSERT_TRUE(hybrid.ok());
  ASSERT_EQ(hybrid->items.size(), 3u);
  for (size_t j = 0; j < 3; ++j) {
    EXPECT_NEAR(hybrid->items[j].score, -want[j].first, 1e-9) << j;
    EXPECT_EQ(hybrid->items[j].item_id, want[j].second) << j;
  }
}

TEST_F(EngineBackendTest, HybridGivesAtMostKWhenAlsKnowsNoneOfTheUsersItems) {
  TwoGroups();
  ASSERT_TRUE(Retrain().ok());
  Ingest({View("late", "z1"), View("late", "z2"), View("late", "z3")});  // new items
  absl::StatusOr<Recommendations> r = backend_->RecommendForUser("late", {2, "hybrid", {}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->items.size(), 2u);
}

// As for a user ALS has never seen: a known user whose items ALS does not know gets
// popular items, not an empty list.
TEST_F(EngineBackendTest, AlsAnswersPopularForAUserWhoseItemsAreAllNewerThanTheModel) {
  TwoGroups();
  ASSERT_TRUE(Retrain().ok());
  Ingest({View("late", "z1"), View("late", "z2")});  // items new since the training
  absl::StatusOr<Recommendations> late = backend_->RecommendForUser("late", {2, "als", {}});
  absl::StatusOr<Recommendations> unknown = backend_->RecommendForUser("nobody", {2, "als", {}});
  ASSERT_TRUE(late.ok()) << late.status();
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  ASSERT_EQ(late->items.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(late->items[i].item_id, unknown->items[i].item_id) << i;
    EXPECT_EQ(late->items[i].reason, unknown->items[i].reason) << i;
  }
}

TEST_F(EngineBackendTest, SimilarItemsByAlsFactorsStayInTheGroup) {
  TwoGroups();
  EXPECT_EQ(backend_->SimilarItems("a0", 3, "als").status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(Retrain().ok());
  absl::StatusOr<std::vector<RecommendedItem>> similar = backend_->SimilarItems("a0", 3, "als");
  ASSERT_TRUE(similar.ok()) << similar.status();
  ASSERT_EQ(similar->size(), 3u);
  for (const RecommendedItem& i : *similar) {
    EXPECT_EQ(i.item_id[0], 'a') << i.item_id;
    EXPECT_NE(i.item_id, "a0");
    EXPECT_EQ(i.reason, "liked by the people who like a0");
  }
  EXPECT_EQ(backend_->SimilarItems("a0", 3, "popular").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(backend_->SimilarItems("nope", 3, "als").status().code(), absl::StatusCode::kNotFound);
}

// The 404's detail names the id as docs/API.md shows it.
TEST_F(EngineBackendTest, UnknownIdsAreNamedInQuotes) {
  EXPECT_EQ(backend_->UserView("nobody").status().message(), "unknown user 'nobody'");
  EXPECT_EQ(backend_->ItemView("nothing").status().message(), "unknown item 'nothing'");
  EXPECT_EQ(backend_->SimilarItems("nothing", 3, "").status().message(), "unknown item 'nothing'");
}

TEST_F(EngineBackendTest, RetrainOfAModelNotTrainedHereIsInvalidArgument) {
  const absl::Status s = Retrain("itemknn").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("als"));
}

TEST_F(EngineBackendTest, RetrainOnAnEmptyStateIsUnavailableAndServesNoModel) {
  const absl::Status s = Retrain().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(als_->Current(), nullptr);
  std::string metrics;
  backend_->AppendMetrics(&metrics);
  EXPECT_THAT(metrics, ::testing::HasSubstr(
                           "streamrec_batch_model_training_failures_total{model=\"als\"} 1"));
}

}  // namespace
}  // namespace streamrec
