#pragma once
// EngineBackend: the HTTP API's Backend over a LiveEngine. Translates external ids to
// dense ids and back, renders reasons, and answers reads under the engine's shared lock;
// a batch model's part of an answer (ALS: a fold-in and a scan of the catalogue) works on
// a copy of the user's row, outside the lock.
//
// Read-your-writes: records of a user that wait in the reorder buffer are not yet in
// the models' per-user state, so a user with pending records is answered as a session
// made of the user's recent items followed by the pending ones.

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/live_engine.h"
#include "engine/served_models.h"
#include "serving/backend.h"

namespace streamrec {

struct EngineBackendOptions {
  bool exclude_purchased = true;  // never recommend what the user has bought
  // Batch models (model=als, model=itemknn); null: not served. They must outlive the
  // backend.
  ModelSlot* als = nullptr;
  ModelSlot* item_knn = nullptr;
  // The hybrid blends its live score (1 - w) with ALS (w), each over its best, once an
  // ALS model exists.
  double hybrid_als_weight = 0.3;
};

class EngineBackend : public Backend {
 public:
  // `engine` must outlive the backend.
  EngineBackend(LiveEngine* engine, EngineBackendOptions options);
  ~EngineBackend() override;  // waits for snapshots in progress

  void Ingest(std::vector<IngestEvent> events, IngestCallback done) override;
  absl::StatusOr<Recommendations> RecommendForUser(std::string_view user_id,
                                                   const RecommendRequest& request) override;
  absl::StatusOr<Recommendations> RecommendForSession(std::span<const SessionEvent> events,
                                                      const RecommendRequest& request) override;
  absl::StatusOr<std::vector<RecommendedItem>> SimilarItems(std::string_view item_id, size_t k,
                                                            std::string_view model) override;
  absl::StatusOr<std::vector<RecommendedItem>> Popular(size_t k, PopularWindow window) override;
  absl::StatusOr<boost::json::value> UserView(std::string_view user_id) override;
  absl::StatusOr<boost::json::value> ItemView(std::string_view item_id) override;
  std::vector<std::string> ExtraModels() override;
  absl::Status Ready() override;
  void AppendMetrics(std::string* out) override;
  void WriteSnapshot(SnapshotCallback done) override;
  void Retrain(std::string_view model, RetrainCallback done) override;

 private:
  std::string NextRecommendationId();

  LiveEngine* engine_;
  EngineBackendOptions options_;
  std::atomic<uint64_t> recommendations_{0};
  uint64_t id_salt_;
  std::mutex snapshot_mu_;
  struct SnapshotThread {
    std::jthread thread;
    std::shared_ptr<std::atomic<bool>> finished;
  };
  std::vector<SnapshotThread> snapshot_threads_;  // guarded by snapshot_mu_
};

}  // namespace streamrec
