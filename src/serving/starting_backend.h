#pragma once
// StartingBackend: the Backend of a server that listens before its engine exists, so
// that /healthz answers and /readyz says 503 while the state is recovered. Until
// SetTarget hands it the engine's backend, every call answers Unavailable ("starting:
// <what it waits for>"), /metrics holds only the server's own metrics, and no model
// is extra; from then on every call goes to the target.
//
// Thread safety: as Backend; SetTarget may race with calls (each call sees the target
// or not, never half of it).

#include <atomic>
#include <string>

#include "serving/backend.h"

namespace streamrec {

class StartingBackend final : public Backend {
 public:
  // `waiting_for` ends the Unavailable message: "recovering the state".
  explicit StartingBackend(std::string waiting_for);

  // Hands over to `target`, which must outlive every call made after this. Once only.
  void SetTarget(Backend* target);

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
  Backend* target() const { return target_.load(std::memory_order_acquire); }
  absl::Status NotYet() const;

  const std::string waiting_for_;
  std::atomic<Backend*> target_{nullptr};
};

}  // namespace streamrec
