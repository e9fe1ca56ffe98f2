#pragma once
// The HTTP server's own counters, exported in the Prometheus text format: requests by
// route and status, a latency histogram per route, requests in flight, open
// connections, and ingested events by result.
//
// Thread safety: every method may be called from any thread; counters are relaxed
// atomics, so an export taken while requests run may be off by the requests in flight.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/prometheus.h"
#include "serving/target.h"

namespace streamrec {

class ServerMetrics {
 public:
  // Upper bounds of the latency buckets, in microseconds (the last, +Inf, is implied):
  // 100 µs to 10 s.
  static constexpr std::array<uint64_t, 16> kLatencyBoundsMicros = {
      100,    250,     500,     1'000,   2'500,     5'000,     10'000,    25'000,
      50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};

  ServerMetrics() = default;
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // A request's header has arrived.
  void RequestStarted() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
  // Its response is written: `latency` is from the header's arrival to then.
  void RequestFinished(Route route, int status, std::chrono::nanoseconds latency);
  // The connection was lost before a response could be written.
  void RequestAbandoned() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

  void ConnectionOpened() { connections_.fetch_add(1, std::memory_order_relaxed); }
  void ConnectionClosed() { connections_.fetch_sub(1, std::memory_order_relaxed); }

  // Events of POST /v1/events: taken (duplicates included), of those duplicates, rejected.
  void EventsIngested(size_t accepted, size_t duplicates, size_t rejected);

  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  uint64_t requests(Route route, int status) const;

  // Appends the exposition text (HELP and TYPE lines included).
  void AppendText(std::string* out) const;

 private:
  static constexpr int kMinStatus = 100;
  static constexpr int kStatusCount = 500;  // 100..599; anything else counts as 599

  struct PerRoute {
    std::array<std::atomic<uint64_t>, kStatusCount> by_status{};
    MicrosHistogram<kLatencyBoundsMicros.size()> latency{kLatencyBoundsMicros};
  };

  std::array<PerRoute, kRouteCount> routes_{};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> connections_{0};
  std::atomic<uint64_t> events_accepted_{0};
  std::atomic<uint64_t> events_duplicate_{0};
  std::atomic<uint64_t> events_rejected_{0};
};

}  // namespace streamrec
