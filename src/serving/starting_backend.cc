#include "serving/starting_backend.h"

#include <utility>

#include "common/check.h"
#include "common/strings.h"

namespace streamrec {

StartingBackend::StartingBackend(std::string waiting_for) : waiting_for_(std::move(waiting_for)) {}

void StartingBackend::SetTarget(Backend* target) {
  STREAMREC_CHECK(target != nullptr && this->target() == nullptr);
  target_.store(target, std::memory_order_release);
}

absl::Status StartingBackend::NotYet() const {
  return absl::UnavailableError(StrCat("starting: ", waiting_for_));
}

void StartingBackend::Ingest(std::vector<IngestEvent> events, IngestCallback done) {
  if (Backend* t = target()) return t->Ingest(std::move(events), std::move(done));
  std::move(done)(NotYet());
}

absl::StatusOr<Recommendations> StartingBackend::RecommendForUser(std::string_view user_id,
                                                                  const RecommendRequest& request) {
  if (Backend* t = target()) return t->RecommendForUser(user_id, request);
  return NotYet();
}

absl::StatusOr<Recommendations> StartingBackend::RecommendForSession(
    std::span<const SessionEvent> events, const RecommendRequest& request) {
  if (Backend* t = target()) return t->RecommendForSession(events, request);
  return NotYet();
}

absl::StatusOr<std::vector<RecommendedItem>> StartingBackend::SimilarItems(std::string_view item_id,
                                                                           size_t k,
                                                                           std::string_view model) {
  if (Backend* t = target()) return t->SimilarItems(item_id, k, model);
  return NotYet();
}

absl::StatusOr<std::vector<RecommendedItem>> StartingBackend::Popular(size_t k,
                                                                      PopularWindow window) {
  if (Backend* t = target()) return t->Popular(k, window);
  return NotYet();
}

absl::StatusOr<boost::json::value> StartingBackend::UserView(std::string_view user_id) {
  if (Backend* t = target()) return t->UserView(user_id);
  return NotYet();
}

absl::StatusOr<boost::json::value> StartingBackend::ItemView(std::string_view item_id) {
  if (Backend* t = target()) return t->ItemView(item_id);
  return NotYet();
}

std::vector<std::string> StartingBackend::ExtraModels() {
  if (Backend* t = target()) return t->ExtraModels();
  return {};
}

absl::Status StartingBackend::Ready() {
  if (Backend* t = target()) return t->Ready();
  return NotYet();
}

void StartingBackend::AppendMetrics(std::string* out) {
  if (Backend* t = target()) t->AppendMetrics(out);
}

void StartingBackend::WriteSnapshot(SnapshotCallback done) {
  if (Backend* t = target()) return t->WriteSnapshot(std::move(done));
  std::move(done)(NotYet());
}

void StartingBackend::Retrain(std::string_view model, RetrainCallback done) {
  if (Backend* t = target()) return t->Retrain(model, std::move(done));
  std::move(done)(NotYet());
}

}  // namespace streamrec
