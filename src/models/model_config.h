#pragma once
// ModelConfig: every knob of the live recommenders, with its default and its meaning.
// Fields marked (state) shape what Observe stores; a snapshot only loads into a model
// configured with the same values. The others only change how queries score.

#include <array>
#include <cstdint>

#include "absl/status/status.h"
#include "common/event.h"
#include "common/time.h"
#include "models/model_types.h"

namespace streamrec {

// How two items' event weights combine into the weight of one co-occurrence.
enum class PairWeighting : uint8_t {
  kStronger = 0,  // max(w_i, w_j): a view next to a purchase counts as a purchase
  kWeaker = 1,    // min(w_i, w_j): a pair is as strong as its weaker engagement
  kProduct = 2,   // w_i * w_j
};

// How a co-occurrence weight c(i,j) becomes a similarity (n(i): item i's norm, below).
enum class Similarity : uint8_t {
  kCosine = 0,       // c(i,j) / (sqrt(n(i) n(j)) + shrinkage)
  kConditional = 1,  // c(i,j) / (n(i) + shrinkage): "of i's occurrences, how many with j"
};

struct ModelConfig {
  // (state) Weight of each event type, by EventType: view, click, add_to_cart,
  // purchase. A purchase is worth eight views by default: each funnel step about
  // halves the number of events and doubles the intent.
  std::array<float, kEventTypeCount> event_weights{1, 2, 4, 8};

  // (state) Trending: weight w at time t counts w * 2^-((now - t) / half_life).
  int64_t trending_half_life_micros = 24 * 3600 * kMicrosPerSecond;
  // (state) How many best items the popular and trending pools keep up to date;
  // queries deeper than this (after filtering) scan every item.
  uint32_t top_candidates = 256;

  // (state) Distinct recent items kept per user, most recent first.
  uint32_t recent_items = 8;
  // (state) An event pairs its item with up to this many of the user's most recent
  // other items (0: no co-occurrence). At most recent_items - 1.
  uint32_t pair_window = 5;
  // (state) Factor on pairs with an item from an earlier session of the user (still
  // among the recent items); 0 counts co-occurrence within sessions only.
  float cross_session_weight = 0.5f;
  // (state)
  PairWeighting pair_weighting = PairWeighting::kStronger;
  // (state) Per item, the neighbours kept by co-occurrence weight (exactly the top
  // ones); queries re-rank them by similarity. At most 254.
  uint32_t neighbours = 64;

  Similarity similarity = Similarity::kCosine;
  float shrinkage = 10;

  // Session scoring: the item at recency position p (0 = latest) weighs decay^p;
  // items of the previous session are further multiplied by previous_session_weight.
  float recency_decay = 0.8f;
  float previous_session_weight = 0.5f;
  // Hybrid: score = (1 - trending_blend) * session/max(session)
  //               + trending_blend * trending/max(trending).
  float trending_blend = 0.2f;
  // Session and hybrid: an item's similarity to itself, so that the session's own items
  // are candidates too (people come back to what they viewed). 0: never.
  float revisit_weight = 0.5f;
  // Where hybrid answers for users without history (and fill when session candidates
  // run out) come from: kTrending or kPopular.
  ModelKind cold_start = ModelKind::kTrending;
};

// InvalidArgument naming the first field out of range.
absl::Status ValidateModelConfig(const ModelConfig& config);

}  // namespace streamrec
