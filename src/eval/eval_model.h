#pragma once
// EvalModel: a model under evaluation, as the protocols drive it.
//
// Concurrency: Fit and Observe are the single writer; RecommendForUser and
// RecommendForSession are const and are called from several threads at once (never
// together with Fit or Observe), so they must share no mutable state.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/event.h"
#include "common/ids.h"
#include "eval/dataset.h"
#include "models/model_types.h"

namespace streamrec {

// One event of an anonymous session, for RecommendForSession.
struct SessionStep {
  ItemIdx item;
  EventType type;
  EventTime time;
};

class EvalModel {
 public:
  virtual ~EvalModel() = default;
  // Batch protocols: learn from train events (time order). num_users/num_items bound
  // the ids. Called once per model instance (replay calls it with no events).
  virtual absl::Status Fit(std::span<const EvalEvent> train, uint32_t num_users,
                           uint32_t num_items) = 0;
  // Top-k for a known user, best first, skipping exclude(item). Const: called from
  // several threads at once.
  virtual void RecommendForUser(UserIdx user, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                                std::vector<ItemIdx>* out) const = 0;
  // RecommendForUser with scores, for blends (eval/batch_models.h). The default scores
  // by rank: k - position.
  virtual void ScoredForUser(UserIdx user, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                             std::vector<ScoredItem>* out) const;
  // session-next: top-k next items after this prefix of an anonymous session (excluding
  // nothing).
  virtual void RecommendForSession(std::span<const SessionStep> prefix, size_t k,
                                   std::vector<ItemIdx>* out) const = 0;
  // replay: whether the model learns event by event, and the update.
  virtual bool online() const { return false; }
  virtual void Observe(const EvalEvent& e) {}
};

// The ids of `scored`, in order, into `*out`.
void ItemIds(const std::vector<ScoredItem>& scored, std::vector<ItemIdx>* out);

// A model that ranks with scores: RecommendForUser is ScoredForUser without them.
class ScoredEvalModel : public EvalModel {
 public:
  void RecommendForUser(UserIdx user, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                        std::vector<ItemIdx>* out) const final;
  void ScoredForUser(UserIdx user, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                     std::vector<ScoredItem>* out) const override = 0;
};

// Built-in models by name: "popular", "trending", "item", "session", "hybrid" (the live
// Recommender with that ModelKind, fed with session numbers from features/sessionizer.h's
// 30-minute rule, online), "sr" (sequential rules), "vsknn" (V-SKNN), the last two with
// session-rec's default parameters (session_baselines.h). Unknown name: InvalidArgument
// listing the names. `seed` for models that sample (none of these does: V-SKNN samples
// the most recent sessions).
absl::StatusOr<std::unique_ptr<EvalModel>> MakeBuiltInModel(std::string_view name, uint64_t seed);
std::vector<std::string> BuiltInModelNames();

}  // namespace streamrec
