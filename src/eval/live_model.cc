#include "eval/live_model.h"

#include "features/sessionizer.h"
#include "models/recommender.h"

namespace streamrec {
namespace {

class LiveModel : public ScoredEvalModel {
 public:
  LiveModel(ModelKind kind, const ModelConfig& config)
      : kind_(kind), config_(config), recommender_(std::make_unique<Recommender>(config)) {}

  absl::Status Fit(std::span<const EvalEvent> train, uint32_t num_users,
                   uint32_t num_items) override {
    recommender_ = std::make_unique<Recommender>(config_);
    sessionizer_ = Sessionizer();
    sessionizer_.Reserve(num_users);
    std::vector<ModelEvent> batch;
    batch.reserve(train.size());
    for (const EvalEvent& e : train) batch.push_back(ToModelEvent(e));
    recommender_->ObserveBatch(batch);
    return absl::OkStatus();
  }

  void ScoredForUser(UserIdx user, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                     std::vector<ScoredItem>* out) const override {
    recommender_->RecommendForUser(user, k, kind_, Everything(exclude), out);
  }

  void RecommendForSession(std::span<const SessionStep> prefix, size_t k,
                           std::vector<ItemIdx>* out) const override {
    std::vector<SessionItem> items;
    items.reserve(prefix.size());
    for (const SessionStep& s : prefix) items.push_back(SessionItem{s.item, s.type, s.time});
    std::vector<ScoredItem> scored;
    recommender_->RecommendForSession(items, k, kind_, Everything(&NeverExcluded), &scored);
    ItemIds(scored, out);
  }

  bool online() const override { return true; }
  void Observe(const EvalEvent& e) override { recommender_->Observe(ToModelEvent(e)); }

 private:
  // The event with its user's session number (the sessionizer sees every event once).
  ModelEvent ToModelEvent(const EvalEvent& e) {
    Session closed;
    sessionizer_.Add(e.user, e.time, e.type, PurchaseTotals{}, &closed);
    return ModelEvent{.user = e.user,
                      .item = e.item,
                      .type = e.type,
                      .time = e.time,
                      .session = sessionizer_.Current(e.user)->index};
  }

  // The protocol says what is left out (`exclude`); the serving defaults (the item on
  // screen, recent purchases) are off, since people do come back to them.
  static Filter Everything(absl::FunctionRef<bool(ItemIdx)> exclude) {
    return Filter{
        .exclude_if = exclude, .exclude_current_item = false, .exclude_recent_purchases = false};
  }

  ModelKind kind_;
  ModelConfig config_;
  std::unique_ptr<Recommender> recommender_;
  Sessionizer sessionizer_;
};

}  // namespace

std::unique_ptr<EvalModel> MakeLiveModel(ModelKind kind, const ModelConfig& config) {
  return std::make_unique<LiveModel>(kind, config);
}

}  // namespace streamrec
