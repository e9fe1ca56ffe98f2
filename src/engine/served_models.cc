#include "engine/served_models.h"

#include <iterator>
#include <utility>

#include "common/status_macros.h"
#include "common/strings.h"
#include "common/structured_log.h"
#include "common/thread_priority.h"

namespace streamrec {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kUsersPerBlock = 16384;  // users copied under one shared lock

// Fills live_item and model_item from the model's item names.
void MapItems(const IdDictionary& ids, ServedModel* served) {
  const std::vector<std::string>& names = served->model.item_ids;
  served->live_item.assign(names.size(), ItemIdx());
  served->model_item.assign(ids.items.size(), ServedModel::kUnknown);
  for (uint32_t m = 0; m < names.size(); ++m) {
    if (std::optional<ItemIdx> live = ids.items.Find(names[m])) {
      served->live_item[m] = *live;
      served->model_item[live->value] = m;
    }
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<const ServedModel>> LoadServedModel(const std::string& path,
                                                                   const LiveEngine& engine) {
  ASSIGN_OR_RETURN(TrainedModel model, ReadModelFile(path));
  auto served = std::make_shared<ServedModel>();
  served->model = std::move(model);
  served->origin = StrCat("file ", path);
  engine.Read([&](const LiveState& s) { MapItems(s.ids, served.get()); });
  return served;
}

absl::StatusOr<std::shared_ptr<const ServedModel>> TrainServedModel(
    const LiveEngine& engine, const BatchTrainingOptions& options, std::stop_token stop) {
  const Clock::time_point start = Clock::now();
  uint32_t num_users = 0, num_items = 0;
  std::vector<WeightedInteraction> cells;
  for (uint32_t begin = 0;; begin += kUsersPerBlock) {
    if (stop.stop_requested()) return absl::CancelledError("training stopped");
    const bool more = engine.Read([&](const LiveState& s) {
      num_users = static_cast<uint32_t>(s.ids.users.size());
      num_items = static_cast<uint32_t>(s.ids.items.size());
      AppendInteractions(s.ops.user_item_matrix(), begin,
                         std::min<uint64_t>(num_users, uint64_t{begin} + kUsersPerBlock), &cells);
      return uint64_t{begin} + kUsersPerBlock < num_users;
    });
    if (!more) break;
  }
  ASSIGN_OR_RETURN(TrainedModel model,
                   TrainBatchModel(options, cells, num_users, num_items, {}, stop));
  auto served = std::make_shared<ServedModel>();
  served->model = std::move(model);
  // Trained on the engine's own ids: the mapping is the identity.
  served->live_item.resize(num_items);
  served->model_item.resize(num_items);
  for (uint32_t i = 0; i < num_items; ++i) {
    served->live_item[i] = ItemIdx(i);
    served->model_item[i] = i;
  }
  served->origin = "trained on the live state";
  served->interactions = cells.size();
  served->train_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return served;
}

ModelSlot::ModelSlot(const LiveEngine* engine, RetrainOptions options,
                     std::shared_ptr<const ServedModel> initial)
    : engine_(engine), options_(std::move(options)), current_(std::move(initial)) {
  thread_ = std::jthread([this](std::stop_token stop) {
    NameThisThread(StrCat("train-", BatchModelKindName(kind())));
    Loop(stop);
  });
}

ModelSlot::~ModelSlot() { Stop(); }

void ModelSlot::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  thread_.request_stop();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const ServedModel> ModelSlot::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

absl::Status ModelSlot::Install(std::shared_ptr<const ServedModel> model) {
  if (model->model.kind != options_.training.kind) {
    return absl::FailedPreconditionError(StrCat(model->origin, ": a model of kind ",
                                                BatchModelKindName(model->model.kind), ", not ",
                                                BatchModelKindName(options_.training.kind)));
  }
  Swap(std::move(model));
  return absl::OkStatus();
}

void ModelSlot::RetrainSoon(Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {  // else the thread is gone, or answers only those queued already
      waiting_.push_back(std::move(done));
      requested_ = true;
      wake_.notify_all();
      return;
    }
  }
  done(absl::UnavailableError("shutting down"));
}

RetrainStats ModelSlot::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void ModelSlot::Swap(std::shared_ptr<const ServedModel> model) {
  std::lock_guard lock(mu_);
  ++stats_.trainings;
  stats_.last_seconds = model->train_seconds;
  stats_.last_interactions = model->interactions;
  current_ = std::move(model);
}

absl::StatusOr<std::shared_ptr<const ServedModel>> ModelSlot::TrainGuarded(
    std::stop_token stop) const {
  try {
    return TrainServedModel(*engine_, options_.training, stop);
  } catch (const std::exception& e) {  // std::bad_alloc, above all: the server goes on
    return absl::ResourceExhaustedError(StrCat("training failed: ", e.what()));
  }
}

void ModelSlot::Loop(std::stop_token stop) {
  // A training takes a core for tens of seconds (24 s for ALS on the 10M state): the
  // requests come first, the training takes what they leave.
  if (absl::Status lowered = LowerThisThreadsPriority(); !lowered.ok()) {
    Log(LogLevel::kWarning, "training_priority_not_lowered",
        {{"error", std::string(lowered.message())}});
  }
  bool first = true;
  bool last_failed = false;
  while (!stop.stop_requested()) {
    std::vector<Done> waiting;
    {
      std::unique_lock lock(mu_);
      const bool train_now = first && options_.train_at_start && current_ == nullptr;
      first = false;
      if (!train_now) {
        const auto ready = [&] { return requested_; };
        const std::chrono::milliseconds wait =
            last_failed && options_.every.count() > 0
                ? std::min<std::chrono::milliseconds>(options_.every, options_.retry_after_failure)
                : std::chrono::milliseconds(options_.every);
        if (wait.count() > 0) {
          wake_.wait_for(lock, stop, wait, ready);
        } else {
          wake_.wait(lock, stop, ready);
        }
      }
      if (stop.stop_requested()) break;
      waiting.swap(waiting_);
      requested_ = false;
    }
    absl::StatusOr<std::shared_ptr<const ServedModel>> model = TrainGuarded(stop);
    if (stop.stop_requested()) {  // stopped, or done just as the server stops: not swapped in
      std::lock_guard lock(mu_);
      waiting_.insert(waiting_.end(), std::make_move_iterator(waiting.begin()),
                      std::make_move_iterator(waiting.end()));
      break;
    }
    last_failed = !model.ok();
    const std::string_view kind = BatchModelKindName(options_.training.kind);
    if (model.ok()) {
      Log(LogLevel::kInfo, "model_trained",
          {{"model", kind},
           {"interactions", (*model)->interactions},
           {"seconds", (*model)->train_seconds}});
      Swap(*model);
    } else {
      Log(LogLevel::kWarning, "model_training_failed",
          {{"model", kind},
           {"error", std::string(model.status().message())},
           {"kept", Current() != nullptr ? "the current model" : "no model yet"}});
      std::lock_guard lock(mu_);
      ++stats_.failures;
    }
    for (Done& done : waiting) done(model);
  }
  // Requests that will never be served hear so.
  std::vector<Done> waiting;
  {
    std::lock_guard lock(mu_);
    waiting.swap(waiting_);
  }
  for (Done& done : waiting) done(absl::UnavailableError("shutting down"));
}

}  // namespace streamrec
