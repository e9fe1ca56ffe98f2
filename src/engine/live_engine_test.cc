// LiveEngine: acknowledged events are applied and durable, duplicates are ignored,
// late events reach only the order-free aggregates, and every start (bootstrap, clean
// restart, restart from the log alone) gives the same state.

#include "engine/live_engine.h"

#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/strings.h"
#include "common/test_temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/env.h"
#include "log/event_log.h"
#include "log/snapshot.h"

namespace streamrec {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kMinute = 60 * kMicrosPerSecond;
const EventTime kStart = EventTime::FromSeconds(1'700'000'000);

class LiveEngineTest : public ::testing::Test {
 protected:
  void SetUp() override { now_ = kStart; }

  LiveEngineOptions Options() {
    LiveEngineOptions o;
    o.state_dir = dir_.string();
    o.clock = [this] { return now_.load(); };
    o.snapshot_every_events = 0;
    return o;
  }
  // Options whose first start bootstraps from an events file with `csv` as its text; the
  // state goes to a folder of its own beside the file.
  LiveEngineOptions BootstrapOptions(std::string_view csv) {
    const std::string events = (dir_ / "events.csv").string();
    std::ofstream(events) << csv;
    LiveEngineOptions o = Options();
    o.state_dir = (dir_ / "state").string();
    o.bootstrap_events = {events};
    return o;
  }
  std::unique_ptr<LiveEngine> Open(LiveEngineOptions o, StartupReport* report = nullptr) {
    auto engine = LiveEngine::Open(std::move(o), report);
    EXPECT_TRUE(engine.ok()) << engine.status();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  // Opens an engine whose log is in `env` (one that injects faults), under `fsync`.
  std::unique_ptr<LiveEngine> OpenWithLogIn(Env* env, FsyncPolicy fsync) {
    LiveEngineOptions o = Options();
    o.log_env = env;
    o.fsync = fsync;
    return Open(std::move(o));
  }

  // Opens the state again from its log alone: the snapshots removed, every record
  // replayed.
  std::unique_ptr<LiveEngine> OpenFromTheLogAlone(StartupReport* report = nullptr) {
    fs::remove_all(dir_ / "snapshots");
    return Open(Options(), report);
  }

  static IncomingEvent Event(std::string user, std::string item, EventType type, EventTime t,
                             std::string event_id = "", std::optional<double> amount = {}) {
    return IncomingEvent{std::move(user), std::move(item), std::move(event_id), type, t, amount};
  }
  // Queues `events` and returns their answer to come.
  static std::future<absl::StatusOr<IngestAck>> IngestLater(LiveEngine& engine,
                                                            std::vector<IncomingEvent> events) {
    auto done = std::make_shared<std::promise<absl::StatusOr<IngestAck>>>();
    engine.Ingest(std::move(events),
                  [done](absl::StatusOr<IngestAck> a) { done->set_value(std::move(a)); });
    return done->get_future();
  }
  static IngestAck Ingest(LiveEngine& engine, std::vector<IncomingEvent> events) {
    absl::StatusOr<IngestAck> ack = IngestLater(engine, std::move(events)).get();
    EXPECT_TRUE(ack.ok()) << ack.status();
    return ack.ok() ? *ack : IngestAck{};
  }

  // The log offsets the finished snapshots of the state folder cover, ascending.
  std::vector<uint64_t> FinishedSnapshots() const {
    std::vector<uint64_t> covered;
    for (const auto& entry : fs::directory_iterator(dir_ / "snapshots")) {
      const auto name = ParseSnapshotFileName(entry.path().filename().string());
      if (name.has_value() && !name->temporary) covered.push_back(name->covered.value);
    }
    std::sort(covered.begin(), covered.end());
    return covered;
  }

  TempDir temp_{"live_engine"};
  const fs::path dir_ = temp_.path();
  std::atomic<EventTime> now_;
};

TEST_F(LiveEngineTest, AcknowledgedEventIsVisibleAtOnce) {
  auto engine = Open(Options());
  ASSERT_NE(engine, nullptr);
  const IngestAck ack = Ingest(*engine, {Event("u1", "sku_a", EventType::kView, kStart)});
  EXPECT_EQ(ack.accepted, 1u);
  engine->Read([](const LiveState& s) {
    const auto user = s.ids.users.Find("u1");
    ASSERT_TRUE(user.has_value());
    // Held by the reorder buffer for the allowed lateness, and visible there.
    EXPECT_EQ(s.buffer.PendingOf(*user).size(), 1u);
    EXPECT_EQ(s.events_accepted, 1);
  });
}

TEST_F(LiveEngineTest, WatermarkReleasesIntoTheOperatorsWhileIdle) {
  auto engine = Open(Options());
  Ingest(*engine, {Event("u1", "sku_a", EventType::kView, kStart),
                   Event("u1", "sku_b", EventType::kClick, EventTime{kStart.micros + kMinute})});
  now_ = EventTime{kStart.micros + 10 * kMinute};
  // The writer looks at the watermark every few milliseconds while idle.
  for (int i = 0; i < 200; ++i) {
    if (engine->Read([](const LiveState& s) { return s.buffer.size(); }) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  engine->Read([](const LiveState& s) {
    EXPECT_EQ(s.buffer.size(), 0u);
    const UserIdx user = *s.ids.users.Find("u1");
    ASSERT_NE(s.ops.sessionizer().Current(user), nullptr);
    EXPECT_EQ(s.ops.sessionizer().Current(user)->num_events, 2u);
    EXPECT_EQ(s.models.RecentItems(user).size(), 2u);
  });
}

TEST_F(LiveEngineTest, SecondEventWithTheSameIdIsIgnored) {
  auto engine = Open(Options());
  IngestAck ack = Ingest(*engine, {Event("u1", "a", EventType::kView, kStart, "e1"),
                                   Event("u1", "a", EventType::kView, kStart, "e1")});
  EXPECT_EQ(ack.accepted, 1u);
  EXPECT_EQ(ack.duplicates, 1u);
  ack = Ingest(*engine, {Event("u1", "a", EventType::kView, kStart, "e1")});
  EXPECT_EQ(ack.accepted, 0u);
  EXPECT_EQ(ack.duplicates, 1u);
  engine->Read([](const LiveState& s) { EXPECT_EQ(s.events_accepted, 1); });
}

TEST_F(LiveEngineTest, CountsAreCurrentOnArrivalAndLateEventsNeverReachSessions) {
  now_ = EventTime{kStart.micros + 60 * kMinute};
  auto engine = Open(Options());
  Ingest(*engine, {Event("u1", "a", EventType::kView, EventTime{kStart.micros + 60 * kMinute})});
  Ingest(*engine, {Event("u1", "b", EventType::kView, kStart)});  // an hour behind
  engine->Read([](const LiveState& s) {
    EXPECT_EQ(s.late_events, 1);
    const UserIdx user = *s.ids.users.Find("u1");
    // Counts are current on arrival, for the buffered event and the late one alike.
    EXPECT_EQ(s.ops.user_engagement(user).views, 2u);
    EXPECT_EQ(s.buffer.PendingOf(user).size(), 1u);
    // Sessions see neither yet: "a" waits for the watermark, "b" never will.
    EXPECT_EQ(s.ops.sessionizer().Current(user), nullptr);
  });
}

// Popular and trending count an event on arrival, while the reorder buffer still holds
// it, and not again when the watermark releases it.
TEST_F(LiveEngineTest, PopularAndTrendingCountAnEventOnArrivalAndOnlyOnce) {
  auto engine = Open(Options());
  Ingest(*engine, {Event("u1", "a", EventType::kClick, kStart)});
  const auto popular_a = [&] {
    return engine->Read(
        [](const LiveState& s) { return s.models.PopularScore(*s.ids.items.Find("a")); });
  };
  EXPECT_EQ(engine->Read([](const LiveState& s) { return s.buffer.size(); }), 1u);
  EXPECT_EQ(popular_a(), 2.0);  // a click weighs 2
  now_ = EventTime{kStart.micros + 10 * kMinute};
  for (int i = 0; i < 200; ++i) {
    if (engine->Read([](const LiveState& s) { return s.buffer.size(); }) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(engine->Read([](const LiveState& s) { return s.buffer.size(); }), 0u);
  EXPECT_EQ(popular_a(), 2.0);
  engine->Read([](const LiveState& s) {
    EXPECT_EQ(s.models.RecentItems(*s.ids.users.Find("u1")).size(), 1u);  // released
  });
}

// /metrics holds the fdatasync latency as a Prometheus histogram (cumulative buckets,
// the +Inf one equal to the count of syncs) and the process's resident memory.
TEST_F(LiveEngineTest, MetricsHoldTheFsyncLatencyAndTheProcessMemory) {
  LiveEngineOptions o = Options();
  o.fsync = FsyncPolicy::kAlways;
  auto engine = Open(std::move(o));
  Ingest(*engine, {Event("u1", "a", EventType::kView, kStart)});
  Ingest(*engine, {Event("u1", "b", EventType::kView, kStart)});
  const std::string text = engine->MetricsText();
  const uint64_t syncs = engine->log_stats().syncs;
  EXPECT_GE(syncs, 2u);
  EXPECT_NE(text.find("# TYPE streamrec_log_fsync_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("streamrec_log_fsync_seconds_bucket{le=\"0.0005\"} "), std::string::npos);
  EXPECT_NE(text.find(StrCat("streamrec_log_fsync_seconds_bucket{le=\"+Inf\"} ", syncs, "\n")),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(StrCat("streamrec_log_fsync_seconds_count ", syncs, "\n")),
            std::string::npos);
  const size_t rss = text.find("\nstreamrec_process_resident_bytes ");
  ASSERT_NE(rss, std::string::npos) << text;
  EXPECT_GT(std::stod(text.substr(rss + 34)), 1e6);  // a process holds more than a MB
}

// The value of a series without labels in /metrics.
double MetricValue(const LiveEngine& engine, std::string_view name) {
  const std::string text = engine.MetricsText();
  const std::string key = StrCat("\n", name, " ");
  const size_t at = text.find(key);
  EXPECT_NE(at, std::string::npos) << text;
  return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
}

// Waits up to `within` for a series without labels in /metrics to read `value` (snapshots
// are written in the background); returns its last value.
double AwaitMetric(const LiveEngine& engine, std::string_view name, double value,
                   std::chrono::milliseconds within = std::chrono::seconds(10)) {
  double now = MetricValue(engine, name);
  for (int64_t i = 0; i < within.count() && now != value; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    now = MetricValue(engine, name);
  }
  return now;
}

// /metrics counts the writer's exclusive holds of the state by duration: every ingested
// group is one (the recovery at start adds its own, and an idle tick one when it releases
// records), and the buckets are cumulative up to the count.
// The writer's exclusive holds so far, from /metrics (its count and +Inf bucket agree).
uint64_t WriteHolds(const LiveEngine& engine) {
  const std::string text = engine.MetricsText();
  const std::string key = "\nstreamrec_engine_write_hold_seconds_count ";
  const size_t at = text.find(key);
  EXPECT_NE(at, std::string::npos) << text;
  if (at == std::string::npos) return 0;
  const uint64_t count = std::stoull(text.substr(at + key.size()));
  EXPECT_NE(
      text.find(StrCat("streamrec_engine_write_hold_seconds_bucket{le=\"+Inf\"} ", count, "\n")),
      std::string::npos)
      << text;
  return count;
}

// One hold a request; the idle ticks (every 20 ms) take none while the buffer has
// nothing to release, here since the clock stands still.
TEST_F(LiveEngineTest, MetricsCountTheWritersExclusiveHolds) {
  auto engine = Open(Options());
  const uint64_t before = WriteHolds(*engine);
  Ingest(*engine, {Event("u1", "a", EventType::kView, kStart)});
  Ingest(*engine, {Event("u1", "b", EventType::kView, kStart)});
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(WriteHolds(*engine), before + 2);
}

// A scheduled snapshot that fails (its folder is a file here) is counted and tried again
// after as many events, not after every request: it serializes the whole state.
TEST_F(LiveEngineTest, AFailedScheduledSnapshotIsTriedAgainAfterAsManyEvents) {
  LiveEngineOptions o = Options();
  o.snapshot_every_events = 4;
  auto engine = Open(o);
  ASSERT_NE(engine, nullptr);
  fs::remove_all(dir_ / "snapshots");
  std::ofstream(dir_ / "snapshots") << "not a folder";
  int n = 0;
  const auto ingest = [&](int events) {
    for (int i = 0; i < events; ++i) {
      Ingest(*engine, {Event("u1", StrCat("i", ++n), EventType::kView, kStart, StrCat("e", n))});
    }
    // A duplicate adds no event, and the writer looks at the schedule after each group:
    // once it is acknowledged, the schedule after the events before it has been seen to.
    Ingest(*engine, {Event("u1", "i1", EventType::kView, kStart, "e1")});
  };
  const auto await_failures = [&](double n) {
    return AwaitMetric(*engine, "streamrec_snapshot_failures_total", n);
  };
  ingest(4);
  EXPECT_EQ(await_failures(1), 1);
  ingest(3);
  EXPECT_EQ(
      AwaitMetric(*engine, "streamrec_snapshot_failures_total", 2, std::chrono::milliseconds(300)),
      1)
      << "tried again before as many events";
  ingest(1);
  EXPECT_EQ(await_failures(2), 2);
}

// The POSIX file system, whose files' Sync fails while fail_syncs is set (a disk that
// stopped taking writes).
class SyncFailingEnv final : public Env {
 public:
  std::atomic<bool> fail_syncs{false};
  // When >= 0: this many more file Syncs succeed, then every one fails.
  std::atomic<int> syncs_before_failing{-1};
  // While set, a file Sync waits (counted in syncs_waiting) before it goes on; one that
  // starts while hold_new_syncs is cleared goes on at once.
  std::atomic<bool> hold_syncs{false};
  std::atomic<bool> hold_new_syncs{true};
  std::atomic<int> syncs_waiting{0};
  std::atomic<int> removes{0};  // RemoveFile calls

  // Waits up to 10 s for a Sync to be held; whether one is.
  bool AwaitHeldSync() const {
    for (int i = 0; i < 10'000 && syncs_waiting == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return syncs_waiting > 0;
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& p) override {
    return Wrap(base_->NewWritableFile(p));
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& p) override {
    return Wrap(base_->NewAppendableFile(p));
  }
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& p) override {
    return base_->NewRandomAccessFile(p);
  }
  absl::StatusOr<std::unique_ptr<FileContents>> ReadFile(const std::string& p) override {
    return base_->ReadFile(p);
  }
  absl::StatusOr<uint64_t> GetFileSize(const std::string& p) override {
    return base_->GetFileSize(p);
  }
  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& d) override {
    return base_->GetChildren(d);
  }
  absl::Status CreateDir(const std::string& d) override { return base_->CreateDir(d); }
  absl::Status RemoveFile(const std::string& p) override {
    ++removes;
    return base_->RemoveFile(p);
  }
  absl::Status RenameFile(const std::string& f, const std::string& t) override {
    return base_->RenameFile(f, t);
  }
  absl::Status TruncateFile(const std::string& p, uint64_t n) override {
    return base_->TruncateFile(p, n);
  }
  absl::Status SyncDir(const std::string& d) override {
    return fail_syncs ? absl::DataLossError("injected: the disk failed") : base_->SyncDir(d);
  }
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& p) override {
    return base_->LockFile(p);
  }
  absl::StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& p) override {
    return base_->LockFileShared(p);
  }

 private:
  class File final : public WritableFile {
   public:
    File(std::unique_ptr<WritableFile> base, SyncFailingEnv* env)
        : base_(std::move(base)), env_(env) {}
    absl::Status Append(std::string_view data) override { return base_->Append(data); }
    absl::Status Sync() override {
      if (env_->hold_syncs && env_->hold_new_syncs) {
        ++env_->syncs_waiting;
        while (env_->hold_syncs) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        --env_->syncs_waiting;
      }
      if (const int left = env_->syncs_before_failing.load(); left == 0) {
        env_->fail_syncs = true;
      } else if (left > 0) {
        --env_->syncs_before_failing;
      }
      return env_->fail_syncs ? absl::DataLossError("injected: the disk failed") : base_->Sync();
    }

   private:
    std::unique_ptr<WritableFile> base_;
    SyncFailingEnv* env_;
  };
  absl::StatusOr<std::unique_ptr<WritableFile>> Wrap(
      absl::StatusOr<std::unique_ptr<WritableFile>> file) {
    if (!file.ok()) return file.status();
    return std::make_unique<File>(std::move(*file), this);
  }
  Env* const base_ = Env::Default();
};

// A group whose commit fails is not acknowledged, and nothing after it is taken: the
// engine cannot tell what of its log reached the disk. A restart recovers every event
// acknowledged before.
TEST_F(LiveEngineTest, AFailedCommitAcknowledgesNothingAndRefusesWhatFollows) {
  SyncFailingEnv env;
  auto engine = OpenWithLogIn(&env, FsyncPolicy::kBatch);
  ASSERT_NE(engine, nullptr);
  Ingest(*engine, {Event("u1", "a", EventType::kView, kStart, "e1")});
  env.fail_syncs = true;
  const auto ingest = [&](std::string event_id) {
    return IngestLater(*engine, {Event("u2", "b", EventType::kView, kStart, std::move(event_id))})
        .get()
        .status();
  };
  const absl::Status failed = ingest("e2");
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable) << failed;
  EXPECT_NE(failed.message().find("the event log failed"), std::string::npos) << failed;
  env.fail_syncs = false;
  EXPECT_EQ(ingest("e3").code(), absl::StatusCode::kUnavailable);  // even with the disk back
  engine.reset();

  auto reopened = Open(Options());
  ASSERT_NE(reopened, nullptr);
  reopened->Read([](const LiveState& s) {
    EXPECT_TRUE(s.ids.users.Find("u1").has_value());
    EXPECT_TRUE(s.event_ids.contains("e1"));
    // e2 was written, then its commit failed: it was taken back off the disk, or a client
    // that retried it without an id would have it counted twice.
    EXPECT_FALSE(s.event_ids.contains("e2"));
    EXPECT_FALSE(s.ids.users.Find("u2").has_value());
    EXPECT_FALSE(s.event_ids.contains("e3"));
  });
}

// A start that cannot replay the log fails, and fails again the next time: the
// engine it leaves behind writes no snapshot that would cover the record it stopped at.
TEST_F(LiveEngineTest, ALogRecordThatDoesNotApplyFailsEveryStart) {
  {
    auto engine = Open(Options());
    ASSERT_NE(engine, nullptr);
    Ingest(*engine, {Event("u1", "a", EventType::kView, kStart, "e1")});
  }  // stops: a snapshot covers the log so far
  {
    auto log = EventLog::Open((dir_ / "log").string(), {});
    ASSERT_TRUE(log.ok()) << log.status();
    (*log)->Append("not a payload of the engine");
    ASSERT_TRUE((*log)->Commit().ok());
  }
  for (int start = 0; start < 2; ++start) {
    const auto engine = LiveEngine::Open(Options());
    ASSERT_FALSE(engine.ok()) << "start " << start;
    EXPECT_EQ(engine.status().code(), absl::StatusCode::kDataLoss) << engine.status();
  }
}

// Under fsync=always each request of a group is committed alone: when one's commit
// fails, those before it are durable, and are applied and acknowledged, not refused
// with the rest (a client retrying them would add their events twice).
TEST_F(LiveEngineTest, UnderFsyncAlwaysTheRequestsCommittedBeforeAFailureAreAcknowledged) {
  SyncFailingEnv env;
  auto engine = OpenWithLogIn(&env, FsyncPolicy::kAlways);
  ASSERT_NE(engine, nullptr);
  const auto ingest = [&](std::string user, std::string event_id) {
    return IngestLater(
        *engine, {Event(std::move(user), "a", EventType::kView, kStart, std::move(event_id))});
  };
  // The first request's commit waits; the next two queue behind it as one group.
  env.hold_syncs = true;
  auto first = ingest("u1", "e1");
  ASSERT_TRUE(env.AwaitHeldSync());
  auto second = ingest("u2", "e2");
  auto third = ingest("u3", "e3");
  env.syncs_before_failing = 2;  // the first's and the second's
  env.hold_syncs = false;
  EXPECT_TRUE(first.get().ok());
  const absl::StatusOr<IngestAck> acked = second.get();
  ASSERT_TRUE(acked.ok()) << acked.status();
  EXPECT_EQ(acked->accepted, 1u);
  EXPECT_EQ(third.get().status().code(), absl::StatusCode::kUnavailable);
  engine->Read([](const LiveState& s) { EXPECT_TRUE(s.ids.users.Find("u2").has_value()); });
  engine.reset();

  auto reopened = Open(Options());
  ASSERT_NE(reopened, nullptr);
  reopened->Read([](const LiveState& s) {
    EXPECT_TRUE(s.event_ids.contains("e1"));
    EXPECT_TRUE(s.event_ids.contains("e2"));
  });
}

// A retry queued while the first copy's commit was failing is a duplicate of an event
// the failure lost: it must be refused too, not acknowledged as a duplicate.
TEST_F(LiveEngineTest, UnderFsyncAlwaysARetryQueuedBehindAFailingCommitIsRefused) {
  SyncFailingEnv env;
  auto engine = OpenWithLogIn(&env, FsyncPolicy::kAlways);
  ASSERT_NE(engine, nullptr);
  const auto ingest = [&](std::string event_id) {
    return IngestLater(*engine, {Event("u1", "a", EventType::kView, kStart, std::move(event_id))});
  };
  env.hold_syncs = true;
  auto first = ingest("e1");
  ASSERT_TRUE(env.AwaitHeldSync());
  auto retry = ingest("e1");  // queued before the failure is known
  env.fail_syncs = true;
  env.hold_syncs = false;
  EXPECT_EQ(first.get().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(retry.get().status().code(), absl::StatusCode::kUnavailable);
}

// While idle the writer releases what the watermark passes, and logs nothing of it:
// replay must still apply those records before the next request's late ones. Here a
// view released while idle is enriched without the late purchase that follows it, live
// and replayed alike.
TEST_F(LiveEngineTest, RecordsReleasedWhileIdleComeBeforeTheNextRequestInReplayToo) {
  const auto history = [](const LiveEngine& engine) {
    return engine.Read([](const LiveState& s) {
      const std::optional<UserIdx> u = s.ids.users.Find("u1");
      const Session* session = u ? s.ops.sessionizer().Current(*u) : nullptr;
      return session != nullptr ? static_cast<int>(session->history_at_end.count) : -1;
    });
  };
  int live = 0;
  {
    auto engine = Open(Options());
    Ingest(*engine, {Event("u1", "a", EventType::kView, kStart)});  // waits in the buffer
    now_ = EventTime{kStart.micros + 10 * kMinute};                 // the watermark passes it
    while (engine->Read([](const LiveState& s) { return s.buffer.size(); }) > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    Ingest(*engine, {Event("u1", "b", EventType::kPurchase, EventTime{kStart.micros - 60 * kMinute},
                           "", 5.0)});
    live = history(*engine);
    ASSERT_TRUE(engine->Stop().ok());
  }
  EXPECT_EQ(live, 0) << "the view was enriched after the late purchase";
  auto replayed = OpenFromTheLogAlone();
  EXPECT_EQ(history(*replayed), live);
}

// Everything the engine holds, in a form two engines can be compared by.
std::string Fingerprint(const LiveEngine& engine) {
  return engine.Read([](const LiveState& s) {
    std::string out =
        StrCat(s.events_accepted, "/", s.duplicates, "/", s.late_events, "/", s.ids.users.size(),
               "/", s.ids.items.size(), "/", s.ops.records_applied(), "/", s.buffer.size(), "/",
               s.ops.user_item_matrix().pairs(), "|");
    for (uint32_t u = 0; u < s.ids.users.size(); ++u) {
      const Session* session = s.ops.sessionizer().Current(UserIdx(u));
      out += StrCat(s.ids.users.Name(UserIdx(u)), ":", session ? session->num_events : 0, ":",
                    s.models.RecentItems(UserIdx(u)).size(), ";");
    }
    return out;
  });
}

std::vector<std::vector<IncomingEvent>> SomeTraffic() {
  std::vector<std::vector<IncomingEvent>> requests;
  for (int r = 0; r < 30; ++r) {
    std::vector<IncomingEvent> events;
    for (int i = 0; i < 20; ++i) {
      const int n = r * 20 + i;
      // Mostly in order, some a few minutes out of order, a few an hour late.
      int64_t t = kStart.micros + n * 10 * kMicrosPerSecond - (n % 7 == 0 ? 3 * kMinute : 0) -
                  (n % 97 == 0 ? 60 * kMinute : 0);
      const EventType type = n % 11 == 0 ? EventType::kPurchase : EventType::kView;
      events.push_back(IncomingEvent{
          StrCat("u", n % 13), StrCat("sku_", n % 29), n % 5 == 0 ? StrCat("e", n / 2) : "", type,
          EventTime{t}, type == EventType::kPurchase ? std::optional(9.5) : std::nullopt});
    }
    requests.push_back(std::move(events));
  }
  return requests;
}

TEST_F(LiveEngineTest, RestartFromSnapshotAndFromLogAloneGiveTheSameState) {
  std::string expected;
  {
    auto engine = Open(Options());
    int r = 0;
    for (auto& request : SomeTraffic()) {
      now_ = EventTime{kStart.micros + (++r) * 200 * kMicrosPerSecond};
      Ingest(*engine, std::move(request));
    }
    expected = Fingerprint(*engine);
    ASSERT_TRUE(engine->Stop().ok());
  }
  {
    StartupReport report;
    auto engine = Open(Options(), &report);
    EXPECT_TRUE(report.snapshot_offset.has_value());
    EXPECT_EQ(report.replayed_log_records, 0u);
    EXPECT_EQ(Fingerprint(*engine), expected);
    ASSERT_TRUE(engine->Stop().ok());
  }
  {
    StartupReport report;
    auto engine = OpenFromTheLogAlone(&report);
    EXPECT_FALSE(report.snapshot_offset.has_value());
    EXPECT_EQ(report.replayed_log_records, 30u);
    EXPECT_EQ(Fingerprint(*engine), expected);
  }
}

// The state in more detail than Fingerprint: every user's session recommendations with
// their scores, which read the pair weights and the recent items.
std::string ModelFingerprint(const LiveEngine& engine) {
  return engine.Read([](const LiveState& s) {
    std::string out;
    std::vector<ScoredItem> scored;
    for (uint32_t u = 0; u < s.ids.users.size(); ++u) {
      s.models.RecommendForUser(UserIdx(u), 5, ModelKind::kSession, {}, &scored);
      out += StrCat(s.ids.users.Name(UserIdx(u)), ":");
      for (const ScoredItem& i : scored) out += StrCat(s.ids.items.Name(i.item), "=", i.score, ",");
      out += ";";
    }
    return out;
  });
}

// Requests of thousands of events each, their times shuffled over half an hour (so
// that the watermark moves within a request, and some of its events are late to the
// part of it before them).
std::vector<std::vector<IncomingEvent>> LargeRequests() {
  std::vector<std::vector<IncomingEvent>> requests;
  uint64_t x = 7;
  const auto next = [&x] { return x = x * 6364136223846793005ULL + 1442695040888963407ULL; };
  for (int r = 0; r < 3; ++r) {
    std::vector<IncomingEvent> events;
    for (int i = 0; i < 3'500; ++i) {
      const int64_t t =
          kStart.micros + r * 30 * kMinute + static_cast<int64_t>(next() >> 33) % (30 * kMinute);
      const EventType type = (next() >> 40) % 13 == 0 ? EventType::kPurchase : EventType::kView;
      events.push_back(IncomingEvent{
          StrCat("u", (next() >> 33) % 40), StrCat("sku_", (next() >> 33) % 60), "", type,
          EventTime{t}, type == EventType::kPurchase ? std::optional(4.0) : std::nullopt});
    }
    requests.push_back(std::move(events));
  }
  return requests;
}

TEST_F(LiveEngineTest, ALargeRequestIsAppliedInHoldsThatLetReadsIn) {
  auto engine = Open(Options());
  const uint64_t before = WriteHolds(*engine);
  std::vector<IncomingEvent> events;
  for (int i = 0; i < 10'000; ++i) {
    events.push_back(Event(StrCat("u", i % 100), StrCat("sku_", i % 70), EventType::kView,
                           EventTime{kStart.micros + i * 1000}));
  }
  EXPECT_EQ(Ingest(*engine, std::move(events)).accepted, 10'000u);
  // A hold applies at most 256 events (LiveEngine::kEventsPerHold).
  EXPECT_GE(WriteHolds(*engine), before + 10'000 / 256);
}

TEST_F(LiveEngineTest, LargeRequestsReplayedFromTheLogGiveTheSameState) {
  std::string expected, expected_models;
  {
    auto engine = Open(Options());
    int r = 0;
    for (auto& request : LargeRequests()) {
      now_ = EventTime{kStart.micros + (++r) * 30 * kMinute};
      Ingest(*engine, std::move(request));
    }
    expected = Fingerprint(*engine);
    expected_models = ModelFingerprint(*engine);
    ASSERT_TRUE(engine->Read([](const LiveState& s) { return s.late_events; }) > 0);
    ASSERT_TRUE(engine->Stop().ok());
  }
  StartupReport report;
  auto engine = OpenFromTheLogAlone(&report);
  EXPECT_EQ(report.replayed_log_records, 3u);
  EXPECT_EQ(Fingerprint(*engine), expected);
  EXPECT_EQ(ModelFingerprint(*engine), expected_models);
}

// A request larger than a log record holds (64 MiB) is logged as several records,
// which replay applies to the same state.
TEST_F(LiveEngineTest, ARequestLargerThanALogRecordIsLoggedInPartsAndReplayed) {
  const std::string padding(20'000, 'x');  // three ids of 20 kB an event: 72 MB
  std::vector<IncomingEvent> request;
  for (int i = 0; i < 1200; ++i) {
    request.push_back(Event(StrCat("u", i, padding), StrCat("i", i % 50, padding), EventType::kView,
                            EventTime{kStart.micros + i}, StrCat("e", i, padding)));
  }
  std::string expected;
  {
    auto engine = Open(Options());
    EXPECT_EQ(Ingest(*engine, std::move(request)).accepted, 1200u);
    expected = Fingerprint(*engine);
    ASSERT_TRUE(engine->Stop().ok());
  }
  StartupReport report;
  auto engine = OpenFromTheLogAlone(&report);
  EXPECT_GE(report.replayed_log_records, 2u);
  EXPECT_EQ(Fingerprint(*engine), expected);
}

TEST_F(LiveEngineTest, SnapshotOfADifferentlyConfiguredEngineIsSkippedAndTheLogReplayed) {
  {
    auto engine = Open(Options());
    for (auto& request : SomeTraffic()) Ingest(*engine, std::move(request));
    ASSERT_TRUE(engine->Stop().ok());
  }
  LiveEngineOptions other = Options();
  other.models.recent_items = 4;  // shapes the models' state: their snapshot is refused
  other.models.pair_window = 3;
  StartupReport report;
  auto engine = Open(other, &report);
  ASSERT_NE(engine, nullptr);
  EXPECT_FALSE(report.snapshot_offset.has_value());
  ASSERT_EQ(report.skipped_snapshots.size(), 1u);
  EXPECT_EQ(report.replayed_log_records, 30u);
  engine->Read([](const LiveState& s) { EXPECT_EQ(s.events_accepted, 600); });
}

// An upgrade that changes the state's format must not read an older state as data: the
// snapshot is refused with its version named, and the log (kept whole) rebuilds it.
TEST_F(LiveEngineTest, SnapshotOfAnOlderStateFormatIsSkippedAndTheLogReplayed) {
  std::string expected;
  {
    auto engine = Open(Options());
    for (auto& request : SomeTraffic()) Ingest(*engine, std::move(request));
    expected = Fingerprint(*engine);
    ASSERT_TRUE(engine->Stop().ok());
  }
  // Rewrite the newest snapshot, the one a start loads, with the state's version byte
  // (the magic's last) set to 1.
  const std::vector<uint64_t> finished = FinishedSnapshots();
  ASSERT_FALSE(finished.empty());
  const uint64_t covered = finished.back();
  const std::string path = (dir_ / "snapshots" / SnapshotFileName(LogOffset{covered})).string();
  absl::StatusOr<LoadedSnapshot> loaded = LoadSnapshot(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::string state(loaded->bytes.view());
  ASSERT_EQ(state.substr(0, 8), "SRSTATE3");
  state[7] = '1';
  fs::remove(path);
  auto writer = SnapshotWriter::Create((dir_ / "snapshots").string(), LogOffset{covered});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Write(state).ok());
  ASSERT_TRUE((*writer)->Finish().ok());

  StartupReport report;
  auto engine = Open(Options(), &report);
  ASSERT_NE(engine, nullptr);
  EXPECT_FALSE(report.snapshot_offset.has_value());
  ASSERT_EQ(report.skipped_snapshots.size(), 1u);
  EXPECT_NE(report.skipped_snapshots[0].reason.find("state format version 1 (this build reads 3)"),
            std::string::npos)
      << report.skipped_snapshots[0].reason;
  EXPECT_EQ(report.replayed_log_records, 30u);
  EXPECT_EQ(Fingerprint(*engine), expected);
}

TEST_F(LiveEngineTest, BootstrapLoadsFilesOnceAndRestartIgnoresThem) {
  const LiveEngineOptions o = BootstrapOptions(
      "user_id,item_id,event_type,timestamp\n"
      "u1,a,view,2024-01-01 10:00:00\n"
      "u1,b,view,2024-01-01 10:01:00\n"
      "u2,a,click,2024-01-01 10:02:00\n"
      "u2,a,bogus,2024-01-01 10:03:00\n");
  {
    StartupReport report;
    auto engine = Open(o, &report);
    EXPECT_TRUE(report.bootstrapped);
    EXPECT_EQ(report.bootstrap_records, 3);
    EXPECT_EQ(report.bootstrap_rejected_rows, 1);
    ASSERT_EQ(report.bootstrap_rejected_examples.size(), 1u);
    EXPECT_THAT(report.bootstrap_rejected_examples[0],
                ::testing::MatchesRegex(".*events.csv:5: .*bogus.*"));
    engine->Read([](const LiveState& s) { EXPECT_EQ(s.ops.records_applied(), 3); });
  }
  StartupReport report;
  auto engine = Open(o, &report);
  EXPECT_FALSE(report.bootstrapped);
  engine->Read([](const LiveState& s) {
    EXPECT_EQ(s.ops.records_applied(), 3);
    EXPECT_EQ(s.ids.users.size(), 2u);
  });
}

// A state whose log is gone (deleted, or never had a segment) but whose snapshots are
// there has accepted events: it is recovered from the snapshot, never bootstrapped again
// (which would delete the snapshots), and its log goes on at the snapshot's end.
TEST_F(LiveEngineTest, AStateWhoseLogIsGoneIsRecoveredFromItsSnapshotNotBootstrappedAgain) {
  const LiveEngineOptions o = BootstrapOptions(
      "user_id,item_id,event_type,timestamp\n"
      "u1,a,view,2024-01-01 10:00:00\n"
      "u2,b,view,2024-01-01 10:01:00\n");
  {
    auto engine = Open(o);
    Ingest(*engine, {Event("u3", "a", EventType::kView, kStart)});
  }  // stopped: a snapshot covers the whole log
  const fs::path log = fs::path(o.state_dir) / "log";
  for (const bool keep_the_directory : {false, true}) {
    fs::remove_all(log);
    if (keep_the_directory) fs::create_directory(log);
    StartupReport report;
    auto engine = Open(o, &report);
    ASSERT_NE(engine, nullptr);
    EXPECT_FALSE(report.bootstrapped);
    ASSERT_TRUE(report.snapshot_offset.has_value());
    EXPECT_EQ(report.log.next_offset.value, *report.snapshot_offset);
    const std::string user = keep_the_directory ? "u5" : "u4";
    engine->Read([&](const LiveState& s) {
      EXPECT_TRUE(s.ids.users.Find("u3").has_value());  // from the snapshot
      EXPECT_FALSE(s.ids.users.Find(user).has_value());
    });
    Ingest(*engine, {Event(user, "b", EventType::kView, kStart)});
    engine->Read([&](const LiveState& s) { EXPECT_TRUE(s.ids.users.Find(user).has_value()); });
  }
}

// With the log gone, the snapshot is all the state there is: one that cannot be loaded
// (written by a differently configured engine, say) must stop the start, not give an
// empty state that the next snapshot would write over it.
TEST_F(LiveEngineTest, ALogThatStartsAfterAnUnloadableSnapshotFailsTheStart) {
  {
    auto engine = Open(Options());
    for (auto& request : SomeTraffic()) Ingest(*engine, std::move(request));
  }
  fs::remove_all(dir_ / "log");
  LiveEngineOptions other = Options();
  other.models.recent_items = 4;  // shapes the models' state: their snapshot is refused
  other.models.pair_window = 3;
  for (int start = 0; start < 2; ++start) {
    const absl::StatusOr<std::unique_ptr<LiveEngine>> engine = LiveEngine::Open(other);
    EXPECT_TRUE(absl::IsDataLoss(engine.status())) << engine.status();
    EXPECT_THAT(engine.status().message(),
                ::testing::HasSubstr("no snapshot that covers the records before it"));
  }
  auto engine = Open(Options());  // the engine that wrote it still loads it
  ASSERT_NE(engine, nullptr);
  engine->Read([](const LiveState& s) { EXPECT_EQ(s.events_accepted, 600); });
}

// A bootstrap of an earlier version renamed snapshots/ into place before log/; one
// interrupted between the two left the whole log in bootstrap.tmp/. The next start
// moves it into place instead of deleting it.
TEST_F(LiveEngineTest, TheLogOfAnEarlierVersionsInterruptedBootstrapIsMovedIntoPlace) {
  const LiveEngineOptions o = BootstrapOptions(
      "user_id,item_id,event_type,timestamp\n"
      "u1,a,view,2024-01-01 10:00:00\n"
      "u2,b,view,2024-01-01 10:01:00\n");
  const fs::path state = o.state_dir;
  { auto engine = Open(o); }
  fs::create_directories(state / "bootstrap.tmp");
  fs::rename(state / "log", state / "bootstrap.tmp" / "log");
  StartupReport report;
  auto engine = Open(o, &report);
  ASSERT_NE(engine, nullptr);
  EXPECT_FALSE(report.bootstrapped);
  EXPECT_EQ(report.log.start_offset.value, 0u);
  EXPECT_FALSE(fs::exists(state / "bootstrap.tmp"));
  engine->Read([](const LiveState& s) { EXPECT_EQ(s.ids.users.size(), 2u); });
}

// While one process bootstraps a state (here: holds its LOCK before the log exists), a
// second one started on it must neither bootstrap too nor delete the first's work.
TEST_F(LiveEngineTest, ASecondEngineOnTheSameStateIsRefusedBeforeItTouchesIt) {
  const LiveEngineOptions o = BootstrapOptions(
      "user_id,item_id,event_type,timestamp\n"
      "u1,a,view,2024-01-01 10:00:00\n");
  const fs::path state = o.state_dir;
  fs::create_directories(state / "bootstrap.tmp");
  absl::StatusOr<std::unique_ptr<FileLock>> held = Env::Default()->LockFile(state / "LOCK");
  ASSERT_TRUE(held.ok()) << held.status();
  const absl::StatusOr<std::unique_ptr<LiveEngine>> second = LiveEngine::Open(o);
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  EXPECT_THAT(second.status().message(), ::testing::HasSubstr("held by another"));
  EXPECT_TRUE(fs::exists(state / "bootstrap.tmp"));
  EXPECT_FALSE(fs::exists(state / "log"));
  held->reset();
  EXPECT_NE(Open(o), nullptr);  // once it is let go
}

// A shop that bootstraps from its clickstream file and then retries one of those events
// over HTTP must not count it twice: the bootstrap logs the file's event ids, so they
// are known after a restart too, even one that finds no snapshot and replays the log.
TEST_F(LiveEngineTest, BootstrappedEventIdsMakeALaterRetryADuplicate) {
  const LiveEngineOptions o = BootstrapOptions(
      "user_id,item_id,event_type,timestamp,event_id,amount\n"
      "u1,a,view,2024-01-01 10:00:00,e1,\n"
      "u1,b,purchase,2024-01-01 10:01:00,e2,5.0\n"
      "u2,a,click,2024-01-01 10:02:00,,\n");
  const EventTime later = EventTime::FromSeconds(1'704'103'800);  // 2024-01-01 10:10:00
  auto retry = [&](LiveEngine& engine) {
    return Ingest(engine, {Event("u1", "a", EventType::kView, later, "e1"),
                           Event("u1", "b", EventType::kPurchase, later, "e2", 5.0),
                           Event("u2", "a", EventType::kClick, later, "e3")});
  };
  {
    StartupReport report;
    auto engine = Open(o, &report);
    ASSERT_NE(engine, nullptr);
    EXPECT_EQ(report.bootstrap_rejected_rows, 0);
    const IngestAck ack = retry(*engine);
    EXPECT_EQ(ack.duplicates, 2u);
    EXPECT_EQ(ack.accepted, 1u);
  }
  fs::remove_all(fs::path(o.state_dir) / "snapshots");
  StartupReport report;
  auto engine = Open(o, &report);
  ASSERT_NE(engine, nullptr);
  EXPECT_FALSE(report.snapshot_offset.has_value());
  const IngestAck ack = retry(*engine);
  EXPECT_EQ(ack.duplicates, 3u);
  EXPECT_EQ(ack.accepted, 0u);
}

TEST_F(LiveEngineTest, SnapshotNowCoversEveryAcknowledgedRequest) {
  auto engine = Open(Options());
  Ingest(*engine, {Event("u1", "a", EventType::kView, kStart)});
  Ingest(*engine, {Event("u2", "b", EventType::kView, kStart)});
  const absl::StatusOr<LogOffset> covered = engine->SnapshotNow();
  ASSERT_TRUE(covered.ok()) << covered.status();
  EXPECT_EQ(covered->value, 2u);  // one log record per request
  EXPECT_TRUE(fs::exists(dir_ / "snapshots" / SnapshotFileName(*covered)));
}

// /metrics tells when the last snapshot was written, by the engine's clock.
TEST_F(LiveEngineTest, MetricsTellWhenTheLastSnapshotWasWritten) {
  auto engine = Open(Options());
  Ingest(*engine, {Event("u1", "a", EventType::kView, kStart)});
  now_ = EventTime{kStart.micros + 10 * kMinute};
  ASSERT_TRUE(engine->SnapshotNow().ok());
  EXPECT_EQ(MetricValue(*engine, "streamrec_snapshot_last_written_timestamp_seconds"),
            static_cast<double>((kStart.micros + 10 * kMinute) / 1000) / 1000);
}

// Old snapshots are removed through the file system the snapshots are written with.
TEST_F(LiveEngineTest, OldSnapshotsArePrunedThroughTheSnapshotsFileSystem) {
  SyncFailingEnv snapshot_env;
  LiveEngineOptions o = Options();
  o.snapshots_kept = 1;
  o.snapshot_env = &snapshot_env;
  std::unique_ptr<LiveEngine> engine = Open(o);  // its bootstrap writes the first snapshot
  ASSERT_NE(engine, nullptr);
  Ingest(*engine, {Event("u1", "a", EventType::kView, kStart)});
  const absl::StatusOr<LogOffset> covered = engine->SnapshotNow();
  ASSERT_TRUE(covered.ok()) << covered.status();
  EXPECT_GE(snapshot_env.removes, 1) << "the bootstrap's snapshot was removed elsewhere";
  EXPECT_EQ(FinishedSnapshots(), std::vector<uint64_t>{covered->value});
}

// A scheduled snapshot's file is written in the background, held here in its fdatasync:
// the writer cuts the snapshot (log synced, state serialized) and goes on with ingest.
class SnapshotInFlightTest : public LiveEngineTest {
 protected:
  // Opens engine_ and ingests two events, which cut a snapshot (of offsets below 2)
  // whose writing is then held.
  void OpenWithASnapshotHeld() {
    LiveEngineOptions o = Options();
    o.snapshot_every_events = 2;
    o.snapshot_env = &snapshot_env_;
    engine_ = Open(o);  // its bootstrap writes the first snapshot
    ASSERT_NE(engine_, nullptr);
    snapshot_env_.hold_syncs = true;
    Ingest(*engine_, {Event("u1", "a", EventType::kView, kStart)});
    Ingest(*engine_, {Event("u1", "b", EventType::kView, kStart)});
    ASSERT_TRUE(snapshot_env_.AwaitHeldSync()) << "the snapshot never reached its sync";
    ASSERT_EQ(snapshot_env_.syncs_waiting, 1);
  }
  // A failed expectation must not leave the engine's Stop waiting for the held sync.
  void TearDown() override {
    snapshot_env_.hold_syncs = false;
    engine_.reset();
  }
  // Ingests one event and expects it acknowledged within 10 s.
  void ExpectIngestAcknowledged(std::string item) {
    auto later = IngestLater(*engine_, {Event("u2", std::move(item), EventType::kView, kStart)});
    ASSERT_EQ(later.wait_for(std::chrono::seconds(10)), std::future_status::ready)
        << "ingest waited for the snapshot's file";
    EXPECT_TRUE(later.get().ok());
  }
  bool HasSnapshot(uint64_t covered) const {
    return fs::exists(dir_ / "snapshots" / SnapshotFileName(LogOffset{covered}));
  }

  SyncFailingEnv snapshot_env_;
  std::unique_ptr<LiveEngine> engine_;
};

TEST_F(SnapshotInFlightTest, IngestIsAcknowledgedWhileTheSnapshotIsWritten) {
  ASSERT_NO_FATAL_FAILURE(OpenWithASnapshotHeld());
  const double written = MetricValue(*engine_, "streamrec_snapshots_total");  // the bootstrap's
  ExpectIngestAcknowledged("c");
  EXPECT_EQ(engine_->Read([](const LiveState& s) { return s.events_accepted; }), 3);
  EXPECT_EQ(MetricValue(*engine_, "streamrec_snapshots_total"), written);

  snapshot_env_.hold_syncs = false;
  EXPECT_EQ(AwaitMetric(*engine_, "streamrec_snapshots_total", written + 1), written + 1);
  EXPECT_TRUE(HasSnapshot(2)) << "the snapshot covers what was logged when it was cut";
}

TEST_F(SnapshotInFlightTest, SnapshotNowWaitsForItWhileIngestGoesOnThenCoversWhatCameAfter) {
  ASSERT_NO_FATAL_FAILURE(OpenWithASnapshotHeld());
  ExpectIngestAcknowledged("c");
  auto requested = std::async(std::launch::async, [&] { return engine_->SnapshotNow(); });
  EXPECT_EQ(requested.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  ExpectIngestAcknowledged("d");  // the request waits; the writer does not

  snapshot_env_.hold_syncs = false;
  const absl::StatusOr<LogOffset> covered = requested.get();
  ASSERT_TRUE(covered.ok()) << covered.status();
  EXPECT_EQ(covered->value, 4u);
  EXPECT_TRUE(HasSnapshot(2));
  EXPECT_TRUE(HasSnapshot(4));
}

TEST_F(SnapshotInFlightTest, StopWritesTheFinalSnapshotAfterIt) {
  ASSERT_NO_FATAL_FAILURE(OpenWithASnapshotHeld());
  ExpectIngestAcknowledged("c");
  // Only the snapshot in flight is held: Stop waits for it, not for its own snapshot's
  // sync (whose pruning would remove the held one's unfinished file).
  snapshot_env_.hold_new_syncs = false;
  auto stopped = std::async(std::launch::async, [&] { return engine_->Stop(); });
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);

  snapshot_env_.hold_syncs = false;
  ASSERT_TRUE(stopped.get().ok());
  EXPECT_TRUE(HasSnapshot(2));
  EXPECT_TRUE(HasSnapshot(3));
  engine_.reset();
  StartupReport report;
  ASSERT_NE(Open(Options(), &report), nullptr);
  EXPECT_EQ(report.snapshot_offset, 3u);
}

TEST_F(LiveEngineTest, IngestAfterStopIsUnavailable) {
  auto engine = Open(Options());
  ASSERT_TRUE(engine->Stop().ok());
  std::promise<absl::Status> done;
  engine->Ingest({Event("u", "i", EventType::kView, kStart)},
                 [&](absl::StatusOr<IngestAck> a) { done.set_value(a.status()); });
  EXPECT_EQ(done.get_future().get().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace streamrec
