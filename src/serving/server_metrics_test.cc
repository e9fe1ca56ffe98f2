// ServerMetrics: a request's latency counts in the first bucket whose bound it does not
// exceed, by the nanosecond, and each route's histogram is written only once it has a
// request.

#include "serving/server_metrics.h"

#include <chrono>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using std::chrono::nanoseconds;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kName = "streamrec_http_request_duration_seconds";

TEST(ServerMetricsTest, ALatencyAtABoundCountsWithinItAndANanosecondMoreAbove) {
  ServerMetrics metrics;
  metrics.RequestStarted();
  metrics.RequestFinished(Route::kPopular, 200, nanoseconds(100'000));  // 100 µs: the bound
  metrics.RequestStarted();
  metrics.RequestFinished(Route::kHealthz, 200, nanoseconds(100'001));
  std::string text;
  metrics.AppendText(&text);
  EXPECT_THAT(text,
              HasSubstr(std::string(kName) + "_bucket{route=\"/v1/popular\",le=\"0.0001\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr(std::string(kName) + "_bucket{route=\"/healthz\",le=\"0.0001\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr(std::string(kName) + "_bucket{route=\"/healthz\",le=\"0.00025\"} 1\n"));
  EXPECT_THAT(text, HasSubstr(std::string(kName) + "_sum{route=\"/healthz\"} 0.000101\n"));
  EXPECT_THAT(text, Not(HasSubstr("route=\"/v1/events\"")));
  EXPECT_EQ(metrics.in_flight(), 0);
}

}  // namespace
}  // namespace streamrec
