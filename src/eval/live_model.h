#pragma once
// The live Recommender (models/recommender.h) as an EvalModel.
//
//   Fit       a fresh Recommender, then ObserveBatch of the train events in time order,
//             as ModelEvents with each user's session number from the engine's
//             Sessionizer (30-minute gap);
//   Observe   the same for one event (replay), so the model is online;
//   RecommendForUser     Recommender::RecommendForUser with the exclude predicate as
//                        the Filter's exclude_if;
//   RecommendForSession  Recommender::RecommendForSession of the prefix.
// The protocol alone says what is left out: the serving filters (the item of the latest
// event, recent purchases) are off, since people come back to both.

#include <memory>

#include "eval/eval_model.h"
#include "models/model_config.h"
#include "models/model_types.h"

namespace streamrec {

// REQUIRES: ValidateModelConfig(config).ok().
std::unique_ptr<EvalModel> MakeLiveModel(ModelKind kind, const ModelConfig& config = {});

}  // namespace streamrec
