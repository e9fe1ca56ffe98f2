#pragma once
// Prometheus text exposition helpers shared by the server's and the engine's /metrics.

#include <cstdint>
#include <iterator>
#include <span>
#include <string>
#include <string_view>

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

}  // namespace streamrec
