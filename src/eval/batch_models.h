#pragma once
// The batch models under evaluation, beside the built-in ones (eval_model.h):
//   "als"         implicit ALS (models/als.h) on the train events' user-item weights
//                 (engine/batch_training.h: the interaction score in units of a view);
//                 a user's answer uses the trained factors, a session's folds it in;
//   "itemknn"     batch item-kNN (models/item_knn.h) on the same weights; a user's
//                 answer scores from the user's whole row, a session's from its items;
//   "hybrid+als"  the live hybrid blended with ALS as the server blends them
//                 (models/blend.h; share of ALS: hybrid_als_weight).
// None of them learns event by event, so replay refuses them.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/batch_training.h"
#include "eval/eval_model.h"

namespace streamrec {

struct BatchEvalOptions {
  BatchTrainingOptions training;  // kind is set per model
  double hybrid_als_weight = 0.3;
  uint64_t seed = 42;
};

// Any model `evaluate` knows: the built-in names and the three above. InvalidArgument
// listing the names for any other.
absl::StatusOr<std::unique_ptr<EvalModel>> MakeEvalModel(std::string_view name,
                                                         const BatchEvalOptions& options);
std::vector<std::string> EvalModelNames();

}  // namespace streamrec
