// Batch models in the server: their input from the user-item matrix, training on the
// live state while it takes events, model files mapped by item name, and a bad file or
// a model of the wrong kind never replacing the model that serves.
#include "engine/served_models.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/strings.h"
#include "common/test_temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

namespace fs = std::filesystem;
const EventTime kStart = EventTime::FromSeconds(1'700'000'000);

class ServedModelsTest : public ::testing::Test {
 protected:
  std::unique_ptr<LiveEngine> Open() {
    LiveEngineOptions o;
    o.state_dir = (dir_ / "state").string();
    o.clock = [] { return kStart; };
    o.snapshot_every_events = 0;
    auto engine = LiveEngine::Open(std::move(o));
    EXPECT_TRUE(engine.ok()) << engine.status();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  static absl::Status Ingest(LiveEngine& engine, std::vector<IncomingEvent> events) {
    std::promise<absl::StatusOr<IngestAck>> done;
    auto result = done.get_future();
    engine.Ingest(std::move(events), [&](absl::StatusOr<IngestAck> a) { done.set_value(a); });
    return result.get().status();
  }

  // Users 0..n-1 view two items of their group (a or b) each.
  static std::vector<IncomingEvent> Groups(int users, const std::string& prefix = "u") {
    std::vector<IncomingEvent> events;
    for (int u = 0; u < users; ++u) {
      const std::string group = u % 2 == 0 ? "a" : "b";
      for (int i = 0; i < 2; ++i) {
        events.push_back(IncomingEvent{
            StrCat(prefix, u), StrCat(group, (u / 2 + i) % 4), "", EventType::kView, kStart, {}});
      }
    }
    return events;
  }

  static RetrainOptions Als(std::chrono::seconds every = std::chrono::seconds(0)) {
    RetrainOptions o;
    o.training.kind = BatchModelKind::kAls;
    o.training.als.factors = 4;
    o.training.als.iterations = 3;
    o.training.als.threads = 1;
    o.every = every;
    o.train_at_start = false;
    return o;
  }

  TempDir temp_{"served_models"};
  const fs::path dir_ = temp_.path();
};

TEST(BatchTrainingTest, WeightIsTheInteractionScoreInViewsAndCartOnlyPairsAreLeftOut) {
  UserItemMatrix m;
  m.AddEvent(UserIdx(0), ItemIdx(0), EventType::kView);
  m.AddEvent(UserIdx(0), ItemIdx(1), EventType::kClick);
  m.AddPurchase(UserIdx(0), ItemIdx(2), 9.5);
  m.AddEvent(UserIdx(0), ItemIdx(3), EventType::kAddToCart);
  m.AddEvent(UserIdx(2), ItemIdx(0), EventType::kView);
  m.AddEvent(UserIdx(2), ItemIdx(0), EventType::kView);
  std::vector<WeightedInteraction> cells;
  AppendInteractions(m, 0, 5, &cells);  // users past the last row have none
  std::map<std::pair<uint32_t, uint32_t>, float> got;
  for (const WeightedInteraction& c : cells) got[{c.user.value, c.item.value}] = c.weight;
  const std::map<std::pair<uint32_t, uint32_t>, float> want = {
      {{0, 0}, 1.0f}, {{0, 1}, 2.0f}, {{0, 2}, 10.0f}, {{2, 0}, 2.0f}};
  EXPECT_EQ(got, want);
}

TEST(BatchTrainingTest, NoInteractionsIsFailedPrecondition) {
  const absl::StatusOr<TrainedModel> model = TrainBatchModel({}, {}, 3, 3);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ServedModelsTest, TrainingOnTheLiveStateUsesEveryPairWithTheEnginesIds) {
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(Ingest(*engine, Groups(20)).ok());
  BatchTrainingOptions options;
  options.als.factors = 4;
  options.als.threads = 1;
  absl::StatusOr<std::shared_ptr<const ServedModel>> served = TrainServedModel(*engine, options);
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ((*served)->interactions, 40u);
  engine->Read([&](const LiveState& s) {
    EXPECT_EQ((*served)->live_item.size(), s.ids.items.size());
    for (uint32_t i = 0; i < s.ids.items.size(); ++i) {
      EXPECT_EQ((*served)->ModelItem(ItemIdx(i)), i);
    }
  });
  EXPECT_EQ((*served)->ModelItem(ItemIdx(1000)), ServedModel::kUnknown);
}

TEST_F(ServedModelsTest, AnEmptyStateHasNothingToTrainOn) {
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(TrainServedModel(*engine, {}).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ServedModelsTest, ModelFileItemsMapOntoTheEnginesByName) {
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(Ingest(*engine, {IncomingEvent{"u0", "b1", "", EventType::kView, kStart, {}},
                               IncomingEvent{"u0", "a0", "", EventType::kView, kStart, {}}})
                  .ok());
  // A model trained elsewhere: its own ids, "a0" = 0, "zz" = 1, "b1" = 2.
  const std::vector<WeightedInteraction> cells = {
      {UserIdx(0), ItemIdx(0), 1}, {UserIdx(0), ItemIdx(1), 1}, {UserIdx(1), ItemIdx(2), 1}};
  BatchTrainingOptions options;
  options.als.factors = 2;
  options.als.threads = 1;
  absl::StatusOr<TrainedModel> model = TrainBatchModel(options, cells, 2, 3);
  ASSERT_TRUE(model.ok()) << model.status();
  model->user_ids = {"x", "y"};
  model->item_ids = {"a0", "zz", "b1"};
  const std::string path = (dir_ / "als.model").string();
  ASSERT_TRUE(WriteModelFile(path, *model).ok());

  absl::StatusOr<std::shared_ptr<const ServedModel>> served = LoadServedModel(path, *engine);
  ASSERT_TRUE(served.ok()) << served.status();
  engine->Read([&](const LiveState& s) {
    const ItemIdx a0 = *s.ids.items.Find("a0"), b1 = *s.ids.items.Find("b1");
    EXPECT_EQ((*served)->ModelItem(a0), 0u);
    EXPECT_EQ((*served)->ModelItem(b1), 2u);
    EXPECT_EQ((*served)->live_item[0], a0);
    EXPECT_EQ((*served)->live_item[2], b1);
    EXPECT_FALSE((*served)->live_item[1].valid());  // "zz": unknown to the engine
  });
}

TEST_F(ServedModelsTest, ABadFileOrAModelOfAnotherKindKeepsTheCurrentModel) {
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(Ingest(*engine, Groups(10)).ok());
  ModelSlot slot(engine.get(), Als());
  std::promise<absl::StatusOr<std::shared_ptr<const ServedModel>>> trained;
  slot.RetrainSoon([&](auto m) { trained.set_value(m); });
  ASSERT_TRUE(trained.get_future().get().ok());
  const std::shared_ptr<const ServedModel> current = slot.Current();
  ASSERT_NE(current, nullptr);

  // Missing, truncated, and another kind.
  EXPECT_EQ(LoadServedModel((dir_ / "missing.model").string(), *engine).status().code(),
            absl::StatusCode::kNotFound);
  TrainedModel als = current->model;
  engine->Read([&](const LiveState& s) { NameModelIds(s.ids, &als); });
  const std::string path = (dir_ / "als.model").string();
  ASSERT_TRUE(WriteModelFile(path, als).ok());
  fs::resize_file(path, fs::file_size(path) / 2);
  const absl::Status truncated = LoadServedModel(path, *engine).status();
  EXPECT_EQ(truncated.code(), absl::StatusCode::kDataLoss) << truncated;
  EXPECT_THAT(std::string(truncated.message()), ::testing::HasSubstr(path));

  auto item_knn = std::make_shared<ServedModel>();
  item_knn->model.kind = BatchModelKind::kItemKnn;
  item_knn->origin = "file other.model";
  EXPECT_EQ(slot.Install(item_knn).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(slot.Current(), current);
}

TEST_F(ServedModelsTest, AFailedFirstTrainingIsTriedAgainSoon) {
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  RetrainOptions options = Als(std::chrono::seconds(3600));
  options.train_at_start = true;  // fails: nothing to train on yet
  options.retry_after_failure = std::chrono::milliseconds(50);
  ModelSlot slot(engine.get(), options);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (slot.stats().failures == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(slot.stats().failures, 1);
  EXPECT_EQ(slot.Current(), nullptr);
  ASSERT_TRUE(Ingest(*engine, Groups(10)).ok());
  while (slot.Current() == nullptr && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_NE(slot.Current(), nullptr) << "no retry within 10 s, far past the hour's schedule";
}

// SIGTERM must not wait for a long training: the slot stops it at its next step, and a
// retrain request waiting for it hears that the server is shutting down.
TEST_F(ServedModelsTest, DestroyingTheSlotStopsATrainingInProgress) {
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(Ingest(*engine, Groups(20)).ok());
  RetrainOptions options = Als();
  options.training.als.iterations = 100'000'000;  // hours, unless stopped
  std::promise<absl::StatusOr<std::shared_ptr<const ServedModel>>> done;
  auto answer = done.get_future();
  const auto start = std::chrono::steady_clock::now();
  {
    ModelSlot slot(engine.get(), options);
    slot.RetrainSoon([&](auto m) { done.set_value(m); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // training by now
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const absl::StatusOr<std::shared_ptr<const ServedModel>> model = answer.get();
  EXPECT_EQ(model.status().code(), absl::StatusCode::kUnavailable) << model.status();
  EXPECT_LT(seconds, 30.0);
}

// The server stops its slots before it waits for the requests in flight: a retrain
// request waiting for a training is answered at once, one that comes after too, and the
// current model goes on serving.
TEST_F(ServedModelsTest, AStoppedSlotAnswersRetrainRequestsAtOnceAndKeepsItsModel) {
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(Ingest(*engine, Groups(20)).ok());
  RetrainOptions options = Als();
  options.train_at_start = true;
  ModelSlot slot(engine.get(), options);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (slot.Current() == nullptr && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const std::shared_ptr<const ServedModel> model = slot.Current();
  ASSERT_NE(model, nullptr);
  slot.Stop();
  std::promise<absl::StatusOr<std::shared_ptr<const ServedModel>>> done;
  slot.RetrainSoon([&](auto m) { done.set_value(m); });
  auto answer = done.get_future();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "a retrain request after Stop is never answered";
  EXPECT_EQ(answer.get().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(slot.Current(), model);
}

TEST_F(ServedModelsTest, RetrainUnderLiveLoadLosesNoEventAndServesThroughout) {
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(Ingest(*engine, Groups(50, "seed")).ok());
  ModelSlot slot(engine.get(), Als());

  std::atomic<bool> stop{false};
  std::atomic<int> batches{0};
  std::thread writer([&] {
    for (int b = 0; b < 200 && !stop; ++b) {
      ASSERT_TRUE(Ingest(*engine, Groups(10, StrCat("w", b, "_"))).ok());
      ++batches;
    }
  });
  std::atomic<int64_t> answers{0};
  std::thread reader([&] {
    while (!stop) {
      if (std::shared_ptr<const ServedModel> m = slot.Current()) {
        std::vector<ScoredItem> out;
        m->model.als->Recommend(m->model.als->ItemFactors(ItemIdx(0)), 3, NeverExcluded, &out);
        answers += !out.empty();
      }
    }
  });
  for (int r = 0; r < 3; ++r) {
    std::promise<absl::StatusOr<std::shared_ptr<const ServedModel>>> done;
    slot.RetrainSoon([&](auto m) { done.set_value(m); });
    const absl::StatusOr<std::shared_ptr<const ServedModel>> model = done.get_future().get();
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_EQ(slot.Current(), *model);
  }
  writer.join();
  stop = true;
  reader.join();
  EXPECT_EQ(batches.load(), 200);
  EXPECT_GT(answers.load(), 0);
  EXPECT_EQ(slot.stats().trainings, 3);

  // Every acknowledged event is in the state, and a training now sees every pair.
  engine->Read([](const LiveState& s) { EXPECT_EQ(s.events_accepted, 100 + 200 * 20); });
  std::promise<absl::StatusOr<std::shared_ptr<const ServedModel>>> last;
  slot.RetrainSoon([&](auto m) { last.set_value(m); });
  const absl::StatusOr<std::shared_ptr<const ServedModel>> model = last.get_future().get();
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)->interactions, 100u + 200 * 20);
}

}  // namespace
}  // namespace streamrec
