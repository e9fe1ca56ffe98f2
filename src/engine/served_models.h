#pragma once
// Batch models (ALS, item-kNN) inside the server: mapped onto the live engine's ids,
// trained again on the live state on a schedule or on request, and swapped in
// atomically. Ingest and requests never wait for training.
//
// A ServedModel is immutable once built; readers hold it by shared_ptr, so a swap never
// pulls a model from under a request. Items the engine learns after a model was built
// are unknown to that model until the next training.
//
// Shutdown stops a training in progress at its next step (a block of users copied, an
// ALS iteration: under a second for 5M interactions; a block of item-kNN items), and a
// POST /v1/admin/retrain waiting for it hears that the server is shutting down.
//
// Training on the live state copies the user-item matrix a block of users at a time,
// each block under the engine's shared lock, so the writer goes on between blocks: the
// copy is a consistent view of each user's row, not of the whole matrix at one instant.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/batch_training.h"
#include "engine/live_engine.h"

namespace streamrec {

struct ServedModel {
  TrainedModel model;
  std::vector<ItemIdx> live_item;    // model item -> engine item (invalid: unknown there)
  std::vector<uint32_t> model_item;  // engine item -> model item (kUnknown: not in it)
  std::string origin;                // "file <path>" or "trained on the live state"
  size_t interactions = 0;           // trained on (0 for a file)
  double train_seconds = 0;

  static constexpr uint32_t kUnknown = 0xffffffffu;
  uint32_t ModelItem(ItemIdx live) const {
    return live.value < model_item.size() ? model_item[live.value] : kUnknown;
  }
};

// Reads a model file (ReadModelFile's errors) and maps its items onto the engine's by
// name.
absl::StatusOr<std::shared_ptr<const ServedModel>> LoadServedModel(const std::string& path,
                                                                   const LiveEngine& engine);

// Trains on the live state. FailedPrecondition when it has no interactions yet;
// Cancelled soon after `stop` is requested.
absl::StatusOr<std::shared_ptr<const ServedModel>> TrainServedModel(
    const LiveEngine& engine, const BatchTrainingOptions& options, std::stop_token stop = {});

struct RetrainOptions {
  BatchTrainingOptions training;
  // 0: only on request.
  std::chrono::seconds every{3600};
  // After a failed training (say, no interactions yet at start) the next try comes
  // this soon, or at `every` if that is sooner (and never on its own when every is 0).
  std::chrono::milliseconds retry_after_failure{60'000};
  bool train_at_start = true;  // when no model was loaded from a file
};

struct RetrainStats {
  int64_t trainings = 0;  // successful, loaded files included
  int64_t failures = 0;
  double last_seconds = 0;
  size_t last_interactions = 0;
};

// Holds the current model of one kind and a thread that trains the next.
class ModelSlot {
 public:
  using Done = std::function<void(absl::StatusOr<std::shared_ptr<const ServedModel>>)>;

  // `engine` must outlive the slot. Starts the training thread; `initial` (say, from a
  // model file; may be null) serves until the first training.
  ModelSlot(const LiveEngine* engine, RetrainOptions options,
            std::shared_ptr<const ServedModel> initial = nullptr);
  ~ModelSlot();  // Stop()

  // Stops a training in progress at its next step and ends the thread; the retrain
  // requests waiting, and any that come later, hear that the server is shutting down.
  // The current model keeps serving. Called before the HTTP server stops, so that it
  // does not wait for a retrain request's answer. Idempotent.
  void Stop();

  // The current model; null before the first one.
  std::shared_ptr<const ServedModel> Current() const;
  // Swaps `model` in (say, one loaded from a file). FailedPrecondition, keeping the
  // current model, when it is of another kind than the slot's.
  absl::Status Install(std::shared_ptr<const ServedModel> model);
  // Queues a training on the live state; `done` runs on the training thread with the
  // new model or the error (then the current model stays). Requests that arrive while
  // one waits share it.
  void RetrainSoon(Done done);
  RetrainStats stats() const;
  BatchModelKind kind() const { return options_.training.kind; }

 private:
  void Loop(std::stop_token stop);
  // TrainServedModel, with an exception (bad_alloc) turned into an error.
  absl::StatusOr<std::shared_ptr<const ServedModel>> TrainGuarded(std::stop_token stop) const;
  void Swap(std::shared_ptr<const ServedModel> model);

  const LiveEngine* engine_;
  const RetrainOptions options_;
  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  std::shared_ptr<const ServedModel> current_;  // guarded by mu_
  std::vector<Done> waiting_;                   // guarded by mu_
  bool requested_ = false;                      // guarded by mu_
  bool stopping_ = false;                       // guarded by mu_
  RetrainStats stats_;                          // guarded by mu_
  std::jthread thread_;                         // last: started after the rest exists
};

}  // namespace streamrec
