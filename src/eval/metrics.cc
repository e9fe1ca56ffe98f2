#include "eval/metrics.h"

#include <algorithm>
#include <cmath>

#include "absl/container/inlined_vector.h"
#include "common/check.h"

namespace streamrec {

MetricAccumulator::MetricAccumulator(std::vector<int> ks, uint32_t catalogue_size)
    : ks_(std::move(ks)), catalogue_size_(catalogue_size) {
  std::sort(ks_.begin(), ks_.end());
  ks_.erase(std::unique(ks_.begin(), ks_.end()), ks_.end());
  STREAMREC_CHECK(!ks_.empty() && ks_.front() > 0) << "cutoffs must be > 0";
  discount_.resize(max_k());
  ideal_.assign(max_k() + 1, 0.0);
  for (int i = 0; i < max_k(); ++i) {
    discount_[i] = 1.0 / std::log2(i + 2.0);
    ideal_[i + 1] = ideal_[i] + discount_[i];
  }
  sums_.assign(kAveraged * ks_.size(), 0.0);
}

void MetricAccumulator::AddQuery(std::span<const ItemIdx> ranked,
                                 std::span<const ItemIdx> relevant) {
  STREAMREC_CHECK(!relevant.empty()) << "a query needs at least one relevant item";
  absl::InlinedVector<ItemIdx, 8> r(relevant.begin(), relevant.end());
  std::sort(r.begin(), r.end());
  r.erase(std::unique(r.begin(), r.end()), r.end());
  const double num_relevant = static_cast<double>(r.size());
  const size_t n = std::min(ranked.size(), static_cast<size_t>(max_k()));

  // One pass over the list; at each cutoff the running sums are that cutoff's values.
  size_t pos = 0;
  int hits = 0;
  double dcg = 0, precision_sum = 0;
  size_t first_hit = 0;  // 1-based rank; 0: none yet
  for (size_t j = 0; j < ks_.size(); ++j) {
    const size_t k = static_cast<size_t>(ks_[j]);
    for (; pos < std::min(k, n); ++pos) {
      if (!std::binary_search(r.begin(), r.end(), ranked[pos])) continue;
      ++hits;
      dcg += discount_[pos];
      precision_sum += hits / static_cast<double>(pos + 1);
      if (first_hit == 0) first_hit = pos + 1;
    }
    const size_t ideal_count = std::min(k, r.size());
    Sum(0, j) += hits > 0 ? 1.0 : 0.0;
    Sum(1, j) += hits / num_relevant;
    Sum(2, j) += hits / static_cast<double>(k);
    Sum(3, j) += dcg / ideal_[ideal_count];
    Sum(4, j) += first_hit > 0 ? 1.0 / static_cast<double>(first_hit) : 0.0;
    Sum(5, j) += precision_sum / static_cast<double>(ideal_count);
  }
  for (size_t i = 0; i < n; ++i) {
    auto [it, inserted] = best_position_.try_emplace(ranked[i].value, static_cast<uint32_t>(i));
    if (!inserted) it->second = std::min(it->second, static_cast<uint32_t>(i));
  }
  ++queries_;
}

void MetricAccumulator::Merge(const MetricAccumulator& other) {
  STREAMREC_CHECK(ks_ == other.ks_ && catalogue_size_ == other.catalogue_size_)
      << "merging accumulators of different cutoffs or catalogues";
  for (size_t i = 0; i < sums_.size(); ++i) sums_[i] += other.sums_[i];
  queries_ += other.queries_;
  for (const auto& [item, position] : other.best_position_) {
    auto [it, inserted] = best_position_.try_emplace(item, position);
    if (!inserted) it->second = std::min(it->second, position);
  }
}

std::vector<MetricValue> MetricAccumulator::Results(std::string_view model) const {
  std::vector<MetricValue> out;
  for (int m = 0; m < kAveraged; ++m) {
    for (size_t j = 0; j < ks_.size(); ++j) {
      const double mean = queries_ > 0 ? sums_[m * ks_.size() + j] / queries_ : 0.0;
      out.push_back(MetricValue{std::string(model), std::string(kMetricNames[m]), ks_[j], mean});
    }
  }
  for (int k : ks_) {
    int64_t covered = 0;
    for (const auto& [item, position] : best_position_)
      covered += position < static_cast<uint32_t>(k);
    const double coverage =
        catalogue_size_ > 0 ? static_cast<double>(covered) / catalogue_size_ : 0.0;
    out.push_back(MetricValue{std::string(model), "coverage", k, coverage});
  }
  return out;
}

}  // namespace streamrec
