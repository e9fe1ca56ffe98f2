// MicrosHistogram and AppendMicrosHistogram: a duration goes to the first bucket whose
// bound it does not exceed, one above every bound to the last; the text is in seconds
// and cumulative, as Prometheus reads it.

#include "common/prometheus.h"

#include <array>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace streamrec {
namespace {

constexpr std::array<uint64_t, 3> kBounds = {100, 1'000, 10'000};

TEST(MicrosHistogramTest, ADurationAtABoundCountsInThatBucketAndAboveAllInTheLast) {
  MicrosHistogram<kBounds.size()> h(kBounds);
  for (const uint64_t micros : {0, 100, 101, 1'000, 10'000, 10'001, 5'000'000}) h.Record(micros);
  EXPECT_EQ(h.Counts(), (std::array<uint64_t, 4>{2, 2, 1, 2}));
  EXPECT_EQ(h.SumMicros(), 0u + 100 + 101 + 1'000 + 10'000 + 10'001 + 5'000'000);
}

TEST(MicrosHistogramTest, ThreadsRecordingAtOnceLoseNothing) {
  MicrosHistogram<kBounds.size()> h(kBounds);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) h.Record(500);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(h.Counts()[1], 40'000u);
  EXPECT_EQ(h.SumMicros(), 40'000u * 500);
}

TEST(AppendMicrosHistogramTest, WritesSecondsCumulativelyWithHelpAndType) {
  std::string out;
  AppendMicrosHistogram(&out, "x_seconds", "What x is.", kBounds,
                        std::array<uint64_t, 4>{2, 2, 1, 2}, 2'500'000);
  EXPECT_EQ(out,
            "# HELP x_seconds What x is.\n"
            "# TYPE x_seconds histogram\n"
            "x_seconds_bucket{le=\"0.0001\"} 2\n"
            "x_seconds_bucket{le=\"0.001\"} 4\n"
            "x_seconds_bucket{le=\"0.01\"} 5\n"
            "x_seconds_bucket{le=\"+Inf\"} 7\n"
            "x_seconds_sum 2.5\n"
            "x_seconds_count 7\n");
}

}  // namespace
}  // namespace streamrec
