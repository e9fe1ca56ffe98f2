#include "eval/batch_models.h"

#include <algorithm>
#include <optional>

#include "common/strings.h"
#include "eval/live_model.h"
#include "models/blend.h"

namespace streamrec {
namespace {

class BatchModel : public ScoredEvalModel {
 public:
  explicit BatchModel(BatchTrainingOptions options) : options_(std::move(options)) {}

  absl::Status Fit(std::span<const EvalEvent> train, uint32_t num_users,
                   uint32_t num_items) override {
    UserItemMatrix matrix;
    for (const EvalEvent& e : train) {
      if (e.type == EventType::kPurchase) {
        matrix.AddPurchase(e.user, e.item, 0);
      } else {
        matrix.AddEvent(e.user, e.item, e.type);
      }
    }
    cells_.clear();
    row_begin_.assign(num_users + 1, 0);
    for (uint32_t u = 0; u < num_users; ++u) {
      row_begin_[u] = cells_.size();
      AppendInteractions(matrix, u, u + 1, &cells_);
    }
    row_begin_[num_users] = cells_.size();
    absl::StatusOr<TrainedModel> model = TrainBatchModel(options_, cells_, num_users, num_items);
    if (!model.ok()) return model.status();
    model_ = *std::move(model);
    return absl::OkStatus();
  }

  void RecommendForSession(std::span<const SessionStep> prefix, size_t k,
                           std::vector<ItemIdx>* out) const override {
    std::vector<ItemIdx> items;
    std::vector<float> weights;
    for (const SessionStep& s : prefix) {
      items.push_back(s.item);
      weights.push_back(1);
    }
    std::vector<ScoredItem> scored;
    Score(items, weights, nullptr, k, &NeverExcluded, &scored);
    ItemIds(scored, out);
  }

  void ScoredForUser(UserIdx user, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                     std::vector<ScoredItem>* out) const override {
    out->clear();
    if (user.value + 1 >= row_begin_.size()) return;
    std::vector<ItemIdx> items;
    std::vector<float> weights;
    for (size_t c = row_begin_[user.value]; c < row_begin_[user.value + 1]; ++c) {
      items.push_back(cells_[c].item);
      weights.push_back(cells_[c].weight);
    }
    if (items.empty()) return;
    Score(items, weights, &user, k, exclude, out);
  }

  // For the blend: the ALS scores of `items` for `user` from the factors ScoredForUser
  // ranks with, the same floats (0 without an ALS model).
  void ScoreItems(UserIdx user, std::span<const ScoredItem> items,
                  std::vector<float>* scores) const {
    scores->assign(items.size(), 0.0f);
    if (!model_.als) return;
    std::vector<ItemIdx> ids;
    for (const ScoredItem& s : items) ids.push_back(s.item);
    model_.als->Score(model_.als->UserFactors(user), ids, *scores);
  }

 private:
  // ALS: the trained factors of `user` when given, else the items folded in.
  void Score(std::span<const ItemIdx> items, std::span<const float> weights, const UserIdx* user,
             size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
             std::vector<ScoredItem>* out) const {
    out->clear();
    if (model_.als) {
      if (user != nullptr) {
        model_.als->Recommend(model_.als->UserFactors(*user), k, exclude, out);
      } else if (!items.empty()) {
        model_.als->Recommend(model_.als->FoldIn(items, weights), k, exclude, out);
      }
    } else if (model_.item_knn) {
      model_.item_knn->Recommend(items, weights, k, exclude, out);
    }
  }

  BatchTrainingOptions options_;
  TrainedModel model_;
  std::vector<WeightedInteraction> cells_;  // by user
  std::vector<size_t> row_begin_;           // user -> first cell; one past the last user
};

// The live hybrid and ALS, blended per answer.
class HybridWithAls : public EvalModel {
 public:
  HybridWithAls(BatchTrainingOptions als, double als_weight)
      : live_(MakeLiveModel(ModelKind::kHybrid)), als_(std::move(als)), als_weight_(als_weight) {}

  absl::Status Fit(std::span<const EvalEvent> train, uint32_t num_users,
                   uint32_t num_items) override {
    if (absl::Status s = live_->Fit(train, num_users, num_items); !s.ok()) return s;
    return als_.Fit(train, num_users, num_items);
  }

  void RecommendForUser(UserIdx user, size_t k, absl::FunctionRef<bool(ItemIdx)> exclude,
                        std::vector<ItemIdx>* out) const override {
    std::vector<ScoredItem> live, als, blended;
    std::vector<float> als_of_live;
    live_->ScoredForUser(user, BlendDepth(k), exclude, &live);
    als_.ScoredForUser(user, k, exclude, &als);
    als_.ScoreItems(user, live, &als_of_live);
    BlendLiveAndBatch(live, als_of_live, als, als_weight_, k, &blended);
    ItemIds(blended, out);
  }

  void RecommendForSession(std::span<const SessionStep> prefix, size_t k,
                           std::vector<ItemIdx>* out) const override {
    live_->RecommendForSession(prefix, k, out);  // ALS knows nothing of anonymous sessions
  }

 private:
  std::unique_ptr<EvalModel> live_;
  BatchModel als_;
  double als_weight_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EvalModel>> MakeEvalModel(std::string_view name,
                                                         const BatchEvalOptions& options) {
  BatchTrainingOptions training = options.training;
  training.als.seed = options.seed;
  if (name == "als" || name == "itemknn") {
    training.kind = name == "als" ? BatchModelKind::kAls : BatchModelKind::kItemKnn;
    if (training.kind == BatchModelKind::kAls) {
      if (absl::Status s = ValidateAlsOptions(training.als); !s.ok()) return s;
    }
    return std::make_unique<BatchModel>(training);
  }
  if (name == "hybrid+als") {
    training.kind = BatchModelKind::kAls;
    return std::make_unique<HybridWithAls>(training, options.hybrid_als_weight);
  }
  absl::StatusOr<std::unique_ptr<EvalModel>> builtin = MakeBuiltInModel(name, options.seed);
  if (builtin.ok()) return builtin;
  std::string names;
  for (const std::string& n : EvalModelNames()) names += (names.empty() ? "" : ", ") + n;
  return absl::InvalidArgumentError(
      StrCat("--models: unknown model '", name, "' (available: ", names, ")"));
}

std::vector<std::string> EvalModelNames() {
  std::vector<std::string> names = BuiltInModelNames();
  names.insert(names.end(), {"als", "itemknn", "hybrid+als"});
  return names;
}

}  // namespace streamrec
