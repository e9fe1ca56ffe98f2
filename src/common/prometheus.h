#pragma once
// Prometheus text exposition helpers shared by the server's and the engine's /metrics,
// and a histogram of durations that threads record into concurrently.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"

namespace streamrec {

// Appends the samples of one histogram series: a cumulative `<name>_bucket` per upper
// bound and one for +Inf, then `<name>_sum` and `<name>_count`. `counts` holds
// bounds.size() + 1 per-bucket counts (not cumulative), the last for values above every
// bound. `labels` is empty or the series' labels (`route="/v1/popular"`), written before
// `le`. The HELP and TYPE lines are the caller's.
inline void AppendHistogramSamples(std::string* out, std::string_view name, std::string_view labels,
                                   std::span<const double> bounds, std::span<const uint64_t> counts,
                                   double sum) {
  auto o = std::back_inserter(*out);
  const std::string_view comma = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t b = 0; b < counts.size(); ++b) {
    cumulative += counts[b];
    if (b < bounds.size()) {
      fmt::format_to(o, "{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, comma, bounds[b],
                     cumulative);
    } else {
      fmt::format_to(o, "{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, comma, cumulative);
    }
  }
  const std::string braced = labels.empty() ? "" : fmt::format("{{{}}}", labels);
  fmt::format_to(o, "{}_sum{} {}\n{}_count{} {}\n", name, braced, sum, name, braced, cumulative);
}

// Appends the samples of one histogram series whose bounds, per-bucket counts and sum
// are in microseconds, in seconds (as AppendHistogramSamples takes them otherwise).
inline void AppendMicrosHistogramSamples(std::string* out, std::string_view name,
                                         std::string_view labels,
                                         std::span<const uint64_t> bounds_micros,
                                         std::span<const uint64_t> counts, uint64_t sum_micros) {
  std::vector<double> bounds;
  for (const uint64_t b : bounds_micros) bounds.push_back(static_cast<double>(b) / 1e6);
  AppendHistogramSamples(out, name, labels, bounds, counts, static_cast<double>(sum_micros) / 1e6);
}

// The same, one series without labels, with its HELP and TYPE lines.
inline void AppendMicrosHistogram(std::string* out, std::string_view name, std::string_view help,
                                  std::span<const uint64_t> bounds_micros,
                                  std::span<const uint64_t> counts, uint64_t sum_micros) {
  fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  AppendMicrosHistogramSamples(out, name, "", bounds_micros, counts, sum_micros);
}

// Durations in microseconds that threads record concurrently (relaxed atomics), counted
// against fixed ascending upper bounds; a last bucket holds those above every bound. The
// bounds are held by reference: they must outlive the histogram (a constant, as a rule).
template <size_t N>
class MicrosHistogram {
 public:
  explicit MicrosHistogram(const std::array<uint64_t, N>& bounds) : bounds_(bounds) {}

  void Record(uint64_t micros) {
    const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), micros);
    counts_[static_cast<size_t>(at - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
    sum_micros_.fetch_add(micros, std::memory_order_relaxed);
  }
  // Per-bucket counts (not cumulative) as of now; the last, those above every bound.
  std::array<uint64_t, N + 1> Counts() const {
    std::array<uint64_t, N + 1> counts;
    for (size_t b = 0; b < counts.size(); ++b) {
      counts[b] = counts_[b].load(std::memory_order_relaxed);
    }
    return counts;
  }
  uint64_t SumMicros() const { return sum_micros_.load(std::memory_order_relaxed); }

 private:
  const std::array<uint64_t, N>& bounds_;
  std::array<std::atomic<uint64_t>, N + 1> counts_{};
  std::atomic<uint64_t> sum_micros_{0};
};

}  // namespace streamrec
