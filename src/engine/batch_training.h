#pragma once
// Training the batch models (implicit ALS, item-kNN) on the engine's user-item matrix:
// the one definition of their input, shared by `streamrec train`, the server's
// scheduled retraining and `streamrec evaluate`.
//
// Input: each (user, item) pair's interaction_score (features/user_item_matrix.h) in
// units of one view, i.e. score / view weight (with the seed's weights: a view 1, a
// click 2, a purchase 10; the raw score when the view weight is 0). Pairs whose score is
// not positive (with the seed's weights: add-to-cart only) are left out.

#include <cstdint>
#include <functional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/interner.h"
#include "features/user_item_matrix.h"
#include "models/als.h"
#include "models/interaction_matrix.h"
#include "models/item_knn.h"
#include "models/model_file.h"

namespace streamrec {

struct BatchTrainingOptions {
  BatchModelKind kind = BatchModelKind::kAls;
  AlsOptions als;
  ItemKnnOptions item_knn;
};

// The interaction weight of a pair, as above; <= 0 means "not an interaction".
double InteractionWeight(const UserItemMatrix& matrix, const Interaction& cell);

// Appends the interactions of users [begin, end) (those past the matrix's last row
// have none), in user order.
void AppendInteractions(const UserItemMatrix& matrix, uint32_t begin, uint32_t end,
                        std::vector<WeightedInteraction>* out);

// Trains the model of options.kind on `cells` (ids below num_users / num_items). The
// result's user_ids and item_ids are left empty: fill them from a dictionary with
// NameModelIds to write it to a file. progress(iteration, seconds) is called for ALS.
// Cancelled soon after `stop` is requested.
absl::StatusOr<TrainedModel> TrainBatchModel(const BatchTrainingOptions& options,
                                             std::span<const WeightedInteraction> cells,
                                             uint32_t num_users, uint32_t num_items,
                                             const AlsModel::ProgressFn& progress = {},
                                             std::stop_token stop = {});

// Fills model->user_ids and item_ids with the names of dense ids 0..n-1 in `ids`.
void NameModelIds(const IdDictionary& ids, TrainedModel* model);

}  // namespace streamrec
