#include "engine/batch_training.h"

#include <utility>

#include "common/status_macros.h"

namespace streamrec {

double InteractionWeight(const UserItemMatrix& matrix, const Interaction& cell) {
  const double view = matrix.weights().view;
  const double score = matrix.Score(cell);
  return view > 0 ? score / view : score;
}

void AppendInteractions(const UserItemMatrix& matrix, uint32_t begin, uint32_t end,
                        std::vector<WeightedInteraction>* out) {
  for (uint32_t u = begin; u < end; ++u) {
    matrix.ForEachInRow(UserIdx(u), [&](ItemIdx item, const Interaction& cell) {
      const double weight = InteractionWeight(matrix, cell);
      if (weight > 0) out->push_back({UserIdx(u), item, static_cast<float>(weight)});
    });
  }
}

absl::StatusOr<TrainedModel> TrainBatchModel(const BatchTrainingOptions& options,
                                             std::span<const WeightedInteraction> cells,
                                             uint32_t num_users, uint32_t num_items,
                                             const AlsModel::ProgressFn& progress,
                                             std::stop_token stop) {
  if (cells.empty()) {
    return absl::FailedPreconditionError("no interactions to train on");
  }
  const InteractionMatrix matrix = InteractionMatrix::FromInteractions(cells, num_users, num_items);
  TrainedModel model;
  model.kind = options.kind;
  switch (options.kind) {
    case BatchModelKind::kAls: {
      ASSIGN_OR_RETURN(AlsModel als, AlsModel::Train(matrix, options.als, progress, stop));
      model.als.emplace(std::move(als));
      break;
    }
    case BatchModelKind::kItemKnn: {
      ASSIGN_OR_RETURN(ItemKnnModel knn, ItemKnnModel::Train(matrix, options.item_knn, stop));
      model.item_knn.emplace(std::move(knn));
      break;
    }
    default:
      return absl::InvalidArgumentError("unknown batch model kind");
  }
  return model;
}

void NameModelIds(const IdDictionary& ids, TrainedModel* model) {
  model->user_ids.clear();
  model->item_ids.clear();
  model->user_ids.reserve(ids.users.size());
  model->item_ids.reserve(ids.items.size());
  for (uint32_t u = 0; u < ids.users.size(); ++u) {
    model->user_ids.emplace_back(ids.users.Name(UserIdx(u)));
  }
  for (uint32_t i = 0; i < ids.items.size(); ++i) {
    model->item_ids.emplace_back(ids.items.Name(ItemIdx(i)));
  }
}

}  // namespace streamrec
