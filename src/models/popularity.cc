#include "models/popularity.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace streamrec {
namespace {

// Renormalise once the scale would exceed e^64 (scores stay far inside double range:
// 1e7 events of weight 1e6 at e^64 make 6e40).
constexpr double kMaxExponent = 64;

}  // namespace

Popularity::Popularity(const ModelConfig& config)
    : lambda_per_micro_(std::numbers::ln2 / static_cast<double>(config.trending_half_life_micros)),
      popular_pool_(config.top_candidates),
      trending_pool_(config.top_candidates) {}

double Popularity::Scale(EventTime time) {
  if (has_cache_ && time == cached_time_) return cached_scale_;
  if (!has_origin_) {
    has_origin_ = true;
    origin_ = time;
  }
  double exponent = lambda_per_micro_ * static_cast<double>(time.micros - origin_.micros);
  if (exponent > kMaxExponent) {
    Renormalise(time);
    exponent = 0;
  }
  has_cache_ = true;
  cached_time_ = time;
  cached_scale_ = std::exp(exponent);
  return cached_scale_;
}

void Popularity::Add(ItemIdx item, float weight, EventTime time) {
  latest_ = std::max(latest_, time);
  if (weight <= 0) {
    scores_.At(item);  // the item is known from now on
    return;
  }
  const double scaled = weight * Scale(time);
  Scores& s = scores_.At(item);
  s.popular += weight;
  s.trending += scaled;
  popular_pool_.Offer(item, s.popular);
  trending_pool_.Offer(item, s.trending);
}

double Popularity::DecayFactor(EventTime now) const {
  if (!has_origin_) return 1;
  return std::exp(-lambda_per_micro_ * static_cast<double>(now.micros - origin_.micros));
}

void Popularity::Renormalise(EventTime time) {
  const double factor =
      std::exp(-lambda_per_micro_ * static_cast<double>(time.micros - origin_.micros));
  for (uint32_t i = 0; i < scores_.size(); ++i) scores_.At(ItemIdx(i)).trending *= factor;
  origin_ = time;
  has_cache_ = false;
  ++renormalisations_;
  // Rounding may turn two scaled scores equal; the pool is rebuilt from the scores.
  RebuildPool(/*trending=*/true);
}

void Popularity::RebuildPool(bool trending) {
  TopPool& pool = trending ? trending_pool_ : popular_pool_;
  pool.Clear();
  std::vector<std::pair<double, uint32_t>> all;
  for (uint32_t i = 0; i < scores_.size(); ++i) {
    const Scores& s = *scores_.Find(ItemIdx(i));
    const double score = trending ? s.trending : s.popular;
    if (score > 0) all.emplace_back(score, i);
  }
  const auto better = [](const auto& a, const auto& b) {
    return RanksBefore(a.first, a.second, b.first, b.second);
  };
  if (all.size() > pool.capacity()) {
    std::nth_element(all.begin(), all.begin() + pool.capacity(), all.end(), better);
    all.resize(pool.capacity());
  }
  for (const auto& [score, id] : all) pool.Offer(ItemIdx(id), score);
}

void Popularity::Top(bool trending, size_t k, absl::FunctionRef<bool(ItemIdx)> excluded,
                     std::vector<std::pair<double, ItemIdx>>* out) const {
  if (k == 0) return;
  const TopPool& pool = trending ? trending_pool_ : popular_pool_;
  // Sort only as deep as needed: k plus a margin for excluded items, all if that is short.
  std::vector<std::pair<double, uint32_t>> entries = pool.Entries();
  const auto better = [](const auto& a, const auto& b) {
    return RanksBefore(a.first, a.second, b.first, b.second);
  };
  // nth_element then a sort of the head: half the time of partial_sort for a head of 58
  // of 256 entries (a blend's depth of 50), the same order (ids make it total).
  size_t sorted = std::min(entries.size(), k + 8);
  if (sorted < entries.size()) {
    std::nth_element(entries.begin(), entries.begin() + sorted, entries.end(), better);
  }
  std::sort(entries.begin(), entries.begin() + sorted, better);
  size_t taken = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i == sorted) {
      std::sort(entries.begin() + i, entries.end(), better);
      sorted = entries.size();
    }
    const auto [score, id] = entries[i];
    if (excluded(ItemIdx(id))) continue;
    out->emplace_back(score, ItemIdx(id));
    if (++taken == k) return;
  }
  if (!pool.full()) return;  // the pool holds every item with a positive score
  // Filtering left the pool short: rank every item outside it.
  std::vector<std::pair<double, uint32_t>> rest;
  const auto [floor_score, floor_id] = entries.back();
  for (uint32_t i = 0; i < scores_.size(); ++i) {
    const Scores& s = *scores_.Find(ItemIdx(i));
    const double score = trending ? s.trending : s.popular;
    if (score <= 0 || !RanksBefore(floor_score, floor_id, score, i)) continue;
    if (excluded(ItemIdx(i))) continue;
    rest.emplace_back(score, i);
  }
  const size_t want = std::min(k - taken, rest.size());
  std::partial_sort(rest.begin(), rest.begin() + want, rest.end(), better);
  for (size_t i = 0; i < want; ++i) out->emplace_back(rest[i].first, ItemIdx(rest[i].second));
}

void Popularity::Save(ByteWriter* w) const {
  w->Put<uint8_t>(has_origin_);
  w->Put(origin_.micros);
  w->Put(latest_.micros);
  w->Put(renormalisations_);
  w->Put<uint32_t>(static_cast<uint32_t>(scores_.size()));
  for (uint32_t i = 0; i < scores_.size(); ++i) {
    const Scores& s = *scores_.Find(ItemIdx(i));
    w->Put(s.popular);
    w->Put(s.trending);
  }
}

absl::Status Popularity::Load(ByteReader* r) {
  uint8_t has_origin = 0;
  int64_t origin = 0, latest = 0, renormalisations = 0;
  uint32_t n = 0;
  r->Get(&has_origin);
  r->Get(&origin);
  r->Get(&latest);
  r->Get(&renormalisations);
  r->Get(&n);
  if (!r->ok()) return absl::DataLossError("popularity: truncated header");
  if (has_origin > 1 || !IsSupportedTime(EventTime{origin}) ||
      !IsSupportedTime(EventTime{latest}) || n > r->remaining() / (2 * sizeof(double))) {
    return absl::DataLossError("popularity: bad header");
  }
  IdVector<ItemIdx, Scores> scores;
  scores.Reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    Scores& s = scores.At(ItemIdx(i));
    r->Get(&s.popular);
    r->Get(&s.trending);
    if (!(s.popular >= 0) || !(s.trending >= 0) || !std::isfinite(s.popular) ||
        !std::isfinite(s.trending)) {
      return absl::DataLossError("popularity: bad score");
    }
  }
  if (!r->ok()) return absl::DataLossError("popularity: truncated scores");
  scores_ = std::move(scores);
  has_origin_ = has_origin != 0;
  origin_ = EventTime{origin};
  latest_ = EventTime{latest};
  renormalisations_ = renormalisations;
  has_cache_ = false;
  RebuildPool(false);
  RebuildPool(true);
  return absl::OkStatus();
}

}  // namespace streamrec
