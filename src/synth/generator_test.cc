#include "synth/generator.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The rows of a headed CSV file without quoting (all generated files), header excluded.
std::vector<std::vector<std::string>> ReadRows(const fs::path& path, std::string* header) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  std::string line;
  std::getline(in, *header);
  while (std::getline(in, line)) {
    rows.push_back(absl::StrSplit(line, ','));
  }
  return rows;
}

struct Event {
  int64_t user;
  int64_t item;
  std::string type;
  EventTime time;
  std::string amount;
};

std::vector<Event> ReadEvents(const fs::path& path) {
  std::string header;
  std::vector<Event> events;
  for (const auto& row : ReadRows(path, &header)) {
    EXPECT_EQ(row.size(), 5u);
    Event e;
    EXPECT_TRUE(absl::SimpleAtoi(row[0], &e.user));
    EXPECT_TRUE(absl::SimpleAtoi(row[1], &e.item));
    e.type = row[2];
    e.time = ParseTime(row[3]).value();
    e.amount = row[4];
    events.push_back(std::move(e));
  }
  return events;
}

// Users whose events include a gap of more than 30 minutes (the spec's session rule).
int64_t UsersWithSeveralSessions(const std::vector<Event>& events) {
  absl::flat_hash_map<int64_t, EventTime> last;
  absl::flat_hash_map<int64_t, bool> several;
  for (const Event& e : events) {
    auto [it, first] = last.try_emplace(e.user, e.time);
    if (!first && e.time.micros - it->second.micros > 1800 * kMicrosPerSecond) {
      several[e.user] = true;
    }
    it->second = e.time;
  }
  return static_cast<int64_t>(several.size());
}

// Share of events that go to the most popular tenth of the items that occur at all.
double TopTenthItemShare(const std::vector<Event>& events, int64_t items) {
  std::vector<int64_t> per_item(items, 0);
  for (const Event& e : events) {
    ++per_item[e.item];
  }
  std::sort(per_item.rbegin(), per_item.rend());
  int64_t top = 0;
  for (int64_t i = 0; i < std::max<int64_t>(1, items / 10); ++i) {
    top += per_item[i];
  }
  return static_cast<double>(top) / static_cast<double>(events.size());
}

class GeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/synth_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override { fs::remove_all(root_); }

  // Small enough for well under a second, large enough for the statistics to hold.
  static GeneratorOptions SmallOptions() {
    GeneratorOptions o;
    o.users = 300;
    o.items = 200;
    o.events = 6000;
    o.seed = 7;
    o.history_format = TableFormat::kCsv;
    return o;
  }

  fs::path Generate(const GeneratorOptions& options, const std::string& name) {
    fs::path dir = root_ / name;
    const absl::Status status = GenerateDataset(options, dir.string());
    EXPECT_TRUE(status.ok()) << status;
    return dir;
  }

  fs::path root_;
};

TEST_F(GeneratorTest, SameSeedGivesByteIdenticalFiles) {
  const fs::path a = Generate(SmallOptions(), "a");
  const fs::path b = Generate(SmallOptions(), "b");
  for (const char* file : {"history.csv", "purchases.csv", "events.csv"}) {
    const std::string content = ReadFile(a / file);
    EXPECT_FALSE(content.empty()) << file;
    EXPECT_EQ(content, ReadFile(b / file)) << file;
  }
}

TEST_F(GeneratorTest, DifferentSeedsGiveDifferentFiles) {
  GeneratorOptions other = SmallOptions();
  other.seed = 8;
  const fs::path a = Generate(SmallOptions(), "a");
  const fs::path b = Generate(other, "b");
  for (const char* file : {"history.csv", "purchases.csv", "events.csv"}) {
    EXPECT_NE(ReadFile(a / file), ReadFile(b / file)) << file;
  }
}

TEST_F(GeneratorTest, HeadersMatchTheReferenceLayout) {
  const fs::path dir = Generate(SmallOptions(), "d");
  std::string header;
  ReadRows(dir / "history.csv", &header);
  EXPECT_EQ(header, "user_id,item_id,purchase_amount,purchase_date");
  ReadRows(dir / "purchases.csv", &header);
  EXPECT_EQ(header, "user_id,item_id,purchase_amount,timestamp");
  ReadRows(dir / "events.csv", &header);
  EXPECT_EQ(header, "user_id,item_id,event_type,timestamp,amount");
}

TEST_F(GeneratorTest, WritesExactlyTheRequestedNumberOfEvents) {
  for (int64_t events : {1, 2, 17, 999, 6000}) {
    GeneratorOptions o = SmallOptions();
    o.events = events;
    const fs::path dir = Generate(o, absl::StrCat("n", events));
    EXPECT_EQ(static_cast<int64_t>(ReadEvents(dir / "events.csv").size()), events);
    std::string header;
    EXPECT_EQ(static_cast<int64_t>(ReadRows(dir / "history.csv", &header).size()),
              std::max<int64_t>(1, events / 4));
    EXPECT_EQ(static_cast<int64_t>(ReadRows(dir / "purchases.csv", &header).size()),
              std::max<int64_t>(1, events / 20));
  }
}

TEST_F(GeneratorTest, OneUserOneItemOneEventIsValid) {
  GeneratorOptions o;
  o.users = 1;
  o.items = 1;
  o.events = 1;
  o.history_format = TableFormat::kCsv;
  const std::vector<Event> events = ReadEvents(Generate(o, "tiny") / "events.csv");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].user, 0);
  EXPECT_EQ(events[0].item, 0);
  EXPECT_EQ(events[0].type, "view");  // a session starts with a view
}

TEST_F(GeneratorTest, EventsAreSortedByTimestampWithinTheWindow) {
  const std::vector<Event> events = ReadEvents(Generate(SmallOptions(), "d") / "events.csv");
  const EventTime window_start = ParseTime("2024-02-01 00:00:00").value();
  const EventTime window_end = ParseTime("2024-02-08 00:00:00").value();
  for (size_t i = 1; i < events.size(); ++i) {
    ASSERT_LE(events[i - 1].time, events[i].time) << "row " << i;
  }
  EXPECT_GE(events.front().time, window_start);
  EXPECT_LT(events.back().time, window_end);
}

TEST_F(GeneratorTest, OnlyPurchaseEventsCarryTheItemPriceAsAmount) {
  const std::vector<Event> events = ReadEvents(Generate(SmallOptions(), "d") / "events.csv");
  std::map<int64_t, std::string> price;
  int purchases = 0;
  for (const Event& e : events) {
    if (e.type != "purchase") {
      EXPECT_EQ(e.amount, "") << e.type;
      continue;
    }
    ++purchases;
    double amount = 0;
    ASSERT_TRUE(absl::SimpleAtod(e.amount, &amount)) << e.amount;
    EXPECT_GT(amount, 0);
    // Two decimals at most.
    const size_t dot = e.amount.find('.');
    EXPECT_TRUE(dot == std::string::npos || e.amount.size() - dot <= 3) << e.amount;
    auto [it, first] = price.emplace(e.item, e.amount);
    EXPECT_EQ(it->second, e.amount) << "item " << e.item << " has one price";
  }
  EXPECT_GT(purchases, 0);
}

TEST_F(GeneratorTest, FunnelStagesAreIncreasinglyRare) {
  std::map<std::string, int64_t> count;
  for (const Event& e : ReadEvents(Generate(SmallOptions(), "d") / "events.csv")) {
    ++count[e.type];
  }
  EXPECT_EQ(count.size(), 4u);
  EXPECT_GT(count["view"], count["click"]);
  EXPECT_GT(count["click"], count["add_to_cart"]);
  EXPECT_GT(count["add_to_cart"], count["purchase"]);
  EXPECT_GT(count["purchase"], 0);
}

TEST_F(GeneratorTest, ManyUsersHaveMoreThanOneThirtyMinuteGapSession) {
  const std::vector<Event> events = ReadEvents(Generate(SmallOptions(), "d") / "events.csv");
  absl::flat_hash_map<int64_t, int> active;
  for (const Event& e : events) {
    active[e.user] = 1;
  }
  const int64_t several = UsersWithSeveralSessions(events);
  EXPECT_GT(several, static_cast<int64_t>(active.size()) / 4);
}

TEST_F(GeneratorTest, SomeGapsFallNearTheThirtyMinuteBoundary) {
  const std::vector<Event> events = ReadEvents(Generate(SmallOptions(), "d") / "events.csv");
  absl::flat_hash_map<int64_t, EventTime> last;
  int just_under = 0, just_over = 0;
  for (const Event& e : events) {
    auto [it, first] = last.try_emplace(e.user, e.time);
    const int64_t gap = (e.time.micros - it->second.micros) / kMicrosPerSecond;
    if (!first && gap >= 1500 && gap <= 1800) {
      ++just_under;
    }
    if (!first && gap > 1800 && gap <= 2700) {
      ++just_over;
    }
    it->second = e.time;
  }
  EXPECT_GT(just_under, 0);
  EXPECT_GT(just_over, 0);
}

TEST_F(GeneratorTest, ItemPopularityIsLongTailed) {
  const GeneratorOptions o = SmallOptions();
  const std::vector<Event> events = ReadEvents(Generate(o, "d") / "events.csv");
  EXPECT_GT(TopTenthItemShare(events, o.items), 0.3);
}

TEST_F(GeneratorTest, UserActivityIsLongTailed) {
  const GeneratorOptions o = SmallOptions();
  std::vector<int64_t> per_user(o.users, 0);
  for (const Event& e : ReadEvents(Generate(o, "d") / "events.csv")) {
    ++per_user[e.user];
  }
  std::sort(per_user.rbegin(), per_user.rend());
  int64_t top = 0;
  for (int64_t i = 0; i < o.users / 10; ++i) {
    top += per_user[i];
  }
  EXPECT_GT(static_cast<double>(top) / static_cast<double>(o.events), 0.3);
}

TEST_F(GeneratorTest, HistoryPrecedesTheClickstreamAndSomePurchasesFallInside) {
  const fs::path dir = Generate(SmallOptions(), "d");
  const EventTime window_start = ParseTime("2024-02-01 00:00:00").value();
  const EventTime year_before = ParseTime("2023-02-01 00:00:00").value();
  std::string header;
  for (const auto& row : ReadRows(dir / "history.csv", &header)) {
    const EventTime t = ParseTime(row[3]).value();
    EXPECT_LT(t, window_start) << row[3];
    EXPECT_GE(t, year_before) << row[3];
  }
  int before = 0, inside = 0;
  for (const auto& row : ReadRows(dir / "purchases.csv", &header)) {
    (ParseTime(row[3]).value() < window_start ? before : inside)++;
  }
  EXPECT_GT(before, inside);
  EXPECT_GT(inside, 0);
}

TEST_F(GeneratorTest, CreatesMissingOutputFolders) {
  const fs::path dir = Generate(SmallOptions(), "x/y/z");
  EXPECT_TRUE(fs::exists(dir / "events.csv"));
  EXPECT_TRUE(fs::exists(dir / "purchases.csv"));
  EXPECT_TRUE(fs::exists(dir / "history.csv"));
}

TEST_F(GeneratorTest, DefaultHistoryFormatIsParquet) {
  GeneratorOptions o = SmallOptions();
  o.history_format = GeneratorOptions().history_format;
  const fs::path dir = Generate(o, "p");
  EXPECT_TRUE(fs::exists(dir / "history.parquet"));
  EXPECT_FALSE(fs::exists(dir / "history.csv"));
  // Only the three tables: no temporary files left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 3);
}

// DuckDB converts the history with several threads; the row groups must still come out
// the same. Large enough for several row groups (122880 rows each).
TEST_F(GeneratorTest, DISABLED_LargeParquetHistoryIsByteIdentical) {
  GeneratorOptions o;
  o.users = 100000;
  o.items = 10000;
  o.events = 2000000;
  const fs::path a = Generate(o, "a");
  const fs::path b = Generate(o, "b");
  EXPECT_EQ(ReadFile(a / "history.parquet"), ReadFile(b / "history.parquet"));
}

TEST_F(GeneratorTest, RejectsInvalidOptions) {
  struct Case {
    GeneratorOptions options;
    const char* field;
  };
  std::vector<Case> cases;
  auto add = [&](auto mutate, const char* field) {
    GeneratorOptions o = SmallOptions();
    mutate(o);
    cases.push_back({o, field});
  };
  add([](GeneratorOptions& o) { o.users = 0; }, "--users");
  add([](GeneratorOptions& o) { o.users = -5; }, "--users");
  add([](GeneratorOptions& o) { o.users = kMaxGeneratorCount + 1; }, "--users");
  add([](GeneratorOptions& o) { o.items = 0; }, "--items");
  add([](GeneratorOptions& o) { o.items = kMaxGeneratorCount + 1; }, "--items");
  add([](GeneratorOptions& o) { o.events = 0; }, "--events");
  add([](GeneratorOptions& o) { o.events = -1; }, "--events");
  add([](GeneratorOptions& o) { o.events = kMaxGeneratorCount + 1; }, "--events");
  for (const Case& c : cases) {
    const absl::Status status = GenerateDataset(c.options, (root_ / "bad").string());
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(status.message(), HasSubstr(c.field));
  }
  EXPECT_FALSE(fs::exists(root_ / "bad")) << "nothing is written for invalid options";
}

// The benchmark dataset, with timing and statistics. Not part of the suite; run with
//   synth_tests --gtest_also_run_disabled_tests --gtest_filter='*BenchmarkDataset*'
// STREAMREC_SYNTH_BENCH="users,items,events" changes the size.
TEST_F(GeneratorTest, DISABLED_BenchmarkDataset) {
  GeneratorOptions o;
  o.users = 500000;
  o.items = 50000;
  o.events = 10000000;
  if (const char* size = std::getenv("STREAMREC_SYNTH_BENCH")) {
    std::vector<std::string> parts = absl::StrSplit(size, ',');
    ASSERT_EQ(parts.size(), 3u);
    ASSERT_TRUE(absl::SimpleAtoi(parts[0], &o.users));
    ASSERT_TRUE(absl::SimpleAtoi(parts[1], &o.items));
    ASSERT_TRUE(absl::SimpleAtoi(parts[2], &o.events));
  }
  const auto start = std::chrono::steady_clock::now();
  const fs::path dir = Generate(o, "bench");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  auto as_seconds = [](timeval t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  std::printf("users=%lld items=%lld events=%lld: %.2f s, cpu %.2f s, peak RSS %.0f MB\n",
              static_cast<long long>(o.users), static_cast<long long>(o.items),
              static_cast<long long>(o.events), seconds,
              as_seconds(usage.ru_utime) + as_seconds(usage.ru_stime),
              static_cast<double>(usage.ru_maxrss) / 1024.0);
  for (const auto& f : fs::directory_iterator(dir)) {
    std::printf("  %s %.1f MB\n", f.path().filename().c_str(),
                static_cast<double>(f.file_size()) / 1e6);
  }

  const std::vector<Event> events = ReadEvents(dir / "events.csv");
  std::map<std::string, int64_t> count;
  absl::flat_hash_map<int64_t, int64_t> per_user;
  for (const Event& e : events) {
    ++count[e.type];
    ++per_user[e.user];
  }
  int64_t max_user = 0;
  for (const auto& [user, n] : per_user) {
    max_user = std::max(max_user, n);
  }
  std::printf("active users %zu, users with >1 session (30-min rule) %lld, max events/user %lld\n",
              per_user.size(), static_cast<long long>(UsersWithSeveralSessions(events)),
              static_cast<long long>(max_user));
  for (const auto& [type, n] : count) {
    std::printf("  %-12s %10lld %5.2f%%\n", type.c_str(), static_cast<long long>(n),
                100.0 * static_cast<double>(n) / static_cast<double>(events.size()));
  }
  std::printf("top 10%% of items get %.1f%% of events\n",
              100.0 * TopTenthItemShare(events, o.items));
}

}  // namespace
}  // namespace streamrec
