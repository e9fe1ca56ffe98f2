#include "models/model_config.h"

#include <cmath>

#include "common/strings.h"

namespace streamrec {
namespace {

absl::Status Invalid(std::string_view field, std::string_view rule) {
  return absl::InvalidArgumentError(StrCat("model config: ", field, " ", rule));
}

bool InUnitInterval(float v) { return std::isfinite(v) && v >= 0 && v <= 1; }

}  // namespace

absl::Status ValidateModelConfig(const ModelConfig& c) {
  for (int t = 0; t < kEventTypeCount; ++t) {
    const float w = c.event_weights[t];
    if (!std::isfinite(w) || w < 0 || w > 1e6f) {
      return Invalid(StrCat("event_weights[", EventTypeName(static_cast<EventType>(t)), "]"),
                     "must be finite, >= 0 and <= 1e6");
    }
  }
  if (c.trending_half_life_micros <= 0) return Invalid("trending_half_life", "must be positive");
  if (c.top_candidates < 1 || c.top_candidates > 65534) {
    return Invalid("top_candidates", "must be in 1..65534");
  }
  if (c.recent_items < 1 || c.recent_items > 64) return Invalid("recent_items", "must be in 1..64");
  if (c.pair_window >= c.recent_items) {
    return Invalid("pair_window", "must be less than recent_items");
  }
  if (!InUnitInterval(c.cross_session_weight)) {
    return Invalid("cross_session_weight", "must be in [0, 1]");
  }
  if (c.pair_weighting > PairWeighting::kProduct) return Invalid("pair_weighting", "is unknown");
  if (c.neighbours < 1 || c.neighbours > 254) return Invalid("neighbours", "must be in 1..254");
  if (c.similarity > Similarity::kConditional) return Invalid("similarity", "is unknown");
  if (!std::isfinite(c.shrinkage) || c.shrinkage < 0) {
    return Invalid("shrinkage", "must be finite and >= 0");
  }
  if (!InUnitInterval(c.recency_decay) || c.recency_decay == 0) {
    return Invalid("recency_decay", "must be in (0, 1]");
  }
  if (!InUnitInterval(c.previous_session_weight)) {
    return Invalid("previous_session_weight", "must be in [0, 1]");
  }
  if (!InUnitInterval(c.trending_blend)) return Invalid("trending_blend", "must be in [0, 1]");
  if (!(c.revisit_weight >= 0 && c.revisit_weight <= 10)) {
    return Invalid("revisit_weight", "must be in [0, 10]");
  }
  if (c.cold_start != ModelKind::kTrending && c.cold_start != ModelKind::kPopular) {
    return Invalid("cold_start", "must be trending or popular");
  }
  return absl::OkStatus();
}

}  // namespace streamrec
