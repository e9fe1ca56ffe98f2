#include "serving/server_metrics.h"

#include <algorithm>
#include <iterator>

#include "common/prometheus.h"
#include "fmt/format.h"

namespace streamrec {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

int StatusIndex(int status, int min, int count) { return std::clamp(status - min, 0, count - 1); }

}  // namespace

void ServerMetrics::RequestFinished(Route route, int status, std::chrono::nanoseconds latency) {
  PerRoute& r = routes_[static_cast<int>(route)];
  r.by_status[StatusIndex(status, kMinStatus, kStatusCount)].fetch_add(1, kRelaxed);
  // Rounded up, so that a latency above a bound never counts as within it.
  r.latency.Record(static_cast<uint64_t>(std::max<int64_t>(0, (latency.count() + 999) / 1000)));
  in_flight_.fetch_sub(1, kRelaxed);
}

void ServerMetrics::EventsIngested(size_t accepted, size_t duplicates, size_t rejected) {
  events_accepted_.fetch_add(accepted, kRelaxed);
  events_duplicate_.fetch_add(duplicates, kRelaxed);
  events_rejected_.fetch_add(rejected, kRelaxed);
}

uint64_t ServerMetrics::requests(Route route, int status) const {
  return routes_[static_cast<int>(route)]
      .by_status[StatusIndex(status, kMinStatus, kStatusCount)]
      .load(kRelaxed);
}

void ServerMetrics::AppendText(std::string* out) const {
  auto o = std::back_inserter(*out);
  fmt::format_to(o,
                 "# HELP streamrec_http_requests_total HTTP requests answered, by route and "
                 "status.\n# TYPE streamrec_http_requests_total counter\n");
  for (int i = 0; i < kRouteCount; ++i) {
    const std::string_view route = GetRouteInfo(static_cast<Route>(i)).pattern;
    for (int s = 0; s < kStatusCount; ++s) {
      const uint64_t n = routes_[i].by_status[s].load(kRelaxed);
      if (n == 0) continue;
      fmt::format_to(o, "streamrec_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", route,
                     kMinStatus + s, n);
    }
  }

  fmt::format_to(o,
                 "# HELP streamrec_http_request_duration_seconds Time from a request's header "
                 "to its response written, by route.\n"
                 "# TYPE streamrec_http_request_duration_seconds histogram\n");
  for (int i = 0; i < kRouteCount; ++i) {
    const PerRoute& r = routes_[i];
    const auto counts = r.latency.Counts();
    if (std::all_of(counts.begin(), counts.end(), [](uint64_t n) { return n == 0; })) continue;
    const std::string_view route = GetRouteInfo(static_cast<Route>(i)).pattern;
    AppendMicrosHistogramSamples(out, "streamrec_http_request_duration_seconds",
                                 fmt::format("route=\"{}\"", route), kLatencyBoundsMicros, counts,
                                 r.latency.SumMicros());
  }

  fmt::format_to(o,
                 "# HELP streamrec_http_requests_in_flight Requests whose header has arrived and "
                 "whose response is not yet written.\n"
                 "# TYPE streamrec_http_requests_in_flight gauge\n"
                 "streamrec_http_requests_in_flight {}\n"
                 "# HELP streamrec_http_connections_open Open client connections.\n"
                 "# TYPE streamrec_http_connections_open gauge\n"
                 "streamrec_http_connections_open {}\n",
                 in_flight_.load(kRelaxed), connections_.load(kRelaxed));
  fmt::format_to(o,
                 "# HELP streamrec_http_ingest_events_total Events sent to POST /v1/events: "
                 "accepted (duplicates included), duplicate, rejected.\n"
                 "# TYPE streamrec_http_ingest_events_total counter\n"
                 "streamrec_http_ingest_events_total{{result=\"accepted\"}} {}\n"
                 "streamrec_http_ingest_events_total{{result=\"duplicate\"}} {}\n"
                 "streamrec_http_ingest_events_total{{result=\"rejected\"}} {}\n",
                 events_accepted_.load(kRelaxed), events_duplicate_.load(kRelaxed),
                 events_rejected_.load(kRelaxed));
}

}  // namespace streamrec
