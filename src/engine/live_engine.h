#pragma once
// LiveEngine: the state of `streamrec serve` and the one thread that changes it.
//
// Operation. Ingest() queues a request's events. The writer thread takes every queued
// request at once (group commit): it drops events whose event_id was seen before,
// appends one log record per request, and commits the log (one fdatasync for the group
// under the `batch` policy, one per request under `always`) on another thread while it
// applies the events. Only when the commit succeeded does it call each request's
// completion. So an acknowledged event is in the log, and a request that follows the
// acknowledgement sees the event (read-your-writes). Readers may see an event shortly
// before it is durable; one whose commit failed was never acknowledged, and after a
// failed commit the engine takes nothing more and writes no snapshot.
//
// Applying an event: its ids are interned; its records update the order-free
// aggregates (user engagement, the user-item matrix, item features) at once and go into
// the reorder buffer. They leave it in stream order once the watermark passes them and
// then update what depends on order (purchase totals, sessions, profiles) and the
// recommenders. Records behind the watermark are late: they update only the order-free
// aggregates and the purchase totals. The buffer's pending records of a
// user are part of that user's answers at once (see Recommendations in serving).
//
// State directory:
//   LOCK         held by the engine's process from before any bootstrap on
//   log/         the event log (docs/formats/event-log.md); payloads: below
//   snapshots/   snapshots of the whole state (docs/formats/snapshot.md)
// Start-up loads the newest valid snapshot and replays the log after it, exactly as
// the records were applied live: each payload carries the wall-clock time of its
// arrival, which is what moved the watermark; a log that is gone starts again where the
// snapshot ends. On the first start (neither log/ nor snapshots/), the bootstrap files
// are loaded, logged, applied in stream order and snapshotted in a temporary folder
// whose log and then snapshots are renamed into place, so an interrupted bootstrap is
// started again, or its log replayed, rather than half-kept.
//
// Concurrency: one writer thread changes the state under an exclusive lock; readers
// use Read(), under a shared lock. Ingest, Read, SnapshotNow and Stop are thread-safe.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/background_worker.h"
#include "common/interner.h"
#include "common/prometheus.h"
#include "common/shared_mutex.h"
#include "engine/log_payload.h"
#include "features/feature_operators.h"
#include "log/env.h"
#include "log/event_codec.h"
#include "log/event_log.h"
#include "log/snapshot.h"
#include "models/model_config.h"
#include "models/recommender.h"
#include "stream/reorder_buffer.h"

namespace streamrec {

// Upper bounds of the writer's exclusive holds of the state (/metrics), in microseconds:
// a request's read waits for the hold in progress, so these bound what ingest adds to it.
inline constexpr std::array<uint64_t, 12> kWriteHoldBoundsMicros = {
    50, 100, 250, 500, 1'000, 2'500, 5'000, 10'000, 25'000, 100'000, 1'000'000, 10'000'000};

struct LiveEngineOptions {
  std::string state_dir;
  FeatureConfig features;
  ModelConfig models;
  int64_t allowed_lateness_micros = 5 * 60 * kMicrosPerSecond;
  FsyncPolicy fsync = FsyncPolicy::kBatch;
  std::chrono::milliseconds sync_interval{100};  // fsync kInterval
  // A background snapshot after this many logged events (0: only on Stop and request).
  uint64_t snapshot_every_events = 5'000'000;
  size_t snapshots_kept = 2;
  // Files loaded on the first start only.
  std::vector<std::string> bootstrap_purchases;
  std::vector<std::string> bootstrap_events;
  std::optional<std::string> mapping_file;
  // Bootstrap reading and snapshot compression; with 2 or more the recommenders' pair
  // updates run on a thread of their own too (Recommender's update_threads).
  int threads = 2;
  // Wall clock, in event-time units; tests replace it.
  std::function<EventTime()> clock;
  // The file system of the live event log (nullptr: Env::Default()); tests inject
  // faults with it. The bootstrap's log uses the default one.
  Env* log_env = nullptr;
  // The file system the snapshots are written to (nullptr: Env::Default()); for tests.
  Env* snapshot_env = nullptr;
};

// One event as a client sent it, validated (serving/event_json.h checks every field).
struct IncomingEvent {
  std::string user_id;
  std::string item_id;
  std::string event_id;  // empty: none
  EventType type = EventType::kView;
  EventTime time;
  std::optional<double> amount;  // REQUIRES: present, finite and >= 0 for purchases
};

struct IngestAck {
  size_t accepted = 0;    // logged and applied
  size_t duplicates = 0;  // event_id seen before; ignored
};
using IngestDone = std::function<void(absl::StatusOr<IngestAck>)>;

struct StartupReport {
  bool bootstrapped = false;
  int64_t bootstrap_records = 0;
  int64_t bootstrap_rejected_rows = 0;
  // The first kRejectedRowsReported of them: "<file>:<line>: <why>".
  static constexpr size_t kRejectedRowsReported = 20;
  std::vector<std::string> bootstrap_rejected_examples;
  std::optional<uint64_t> snapshot_offset;  // the snapshot loaded, by covered log offset
  std::vector<SkippedSnapshot> skipped_snapshots;
  uint64_t replayed_log_records = 0;
  RecoveryReport log;
  double seconds = 0;
};

// Everything readers may look at, under Read().
struct LiveState {
  explicit LiveState(const LiveEngineOptions& options);

  IdDictionary ids;
  FeatureOperators ops;
  Recommender models;
  ReorderBuffer buffer;
  // Every event_id accepted so far. The writer's alone (readers never look at it), so
  // the writer tests and adds ids without the lock.
  ArenaStringSet event_ids;
  int64_t events_accepted = 0;
  int64_t duplicates = 0;
  int64_t late_events = 0;
};

class LiveEngine {
 public:
  // Recovers or bootstraps the state in options.state_dir and starts the writer.
  static absl::StatusOr<std::unique_ptr<LiveEngine>> Open(LiveEngineOptions options,
                                                          StartupReport* report = nullptr);
  ~LiveEngine();  // Stop()
  LiveEngine(const LiveEngine&) = delete;
  LiveEngine& operator=(const LiveEngine&) = delete;

  // Queues `events`; `done` runs on the writer thread once they are durable and applied,
  // or with an error (Unavailable after Stop or a log failure; nothing of the request
  // was acknowledged then).
  void Ingest(std::vector<IncomingEvent> events, IngestDone done);

  // Writes a snapshot now (after everything queued before the call) and waits for it.
  // Returns the log offset it covers.
  absl::StatusOr<LogOffset> SnapshotNow();

  // Finishes the queued requests, writes a snapshot and stops the writer. Idempotent;
  // later Ingest calls fail with Unavailable.
  absl::Status Stop();

  // Runs fn(const LiveState&) under the shared lock and returns its result.
  template <typename Fn>
  decltype(auto) Read(Fn&& fn) const {
    readers_waiting_.fetch_add(1, std::memory_order_relaxed);
    SharedLock lock(&state_mu_);
    readers_waiting_.fetch_sub(1, std::memory_order_relaxed);
    return fn(static_cast<const LiveState&>(*state_));
  }

  EventTime Now() const { return clock_(); }
  const LiveEngineOptions& options() const { return options_; }
  EventLogStats log_stats() const { return log_->stats(); }
  // Prometheus text: events, duplicates, late events, buffer, log, snapshots, state bytes.
  std::string MetricsText() const;

 private:
  struct Request {
    std::vector<IncomingEvent> events;
    IngestDone done;
  };
  struct SnapshotRequest {
    std::function<void(absl::StatusOr<LogOffset>)> done;
  };

  // The writer's exclusive hold of the state. The recommenders' pair updates in flight
  // are waited for before it is released, so readers never see them half applied. How
  // long each hold lasted goes to write_holds_ (a read that comes meanwhile waits
  // for the rest of it).
  class WriteLock {
   public:
    explicit WriteLock(LiveEngine* engine);
    ~WriteLock();

   private:
    LiveEngine* engine_;
    ExclusiveLock lock_;
    std::chrono::steady_clock::time_point start_;
  };

  explicit LiveEngine(LiveEngineOptions options);
  absl::Status Recover(StartupReport* report);
  absl::Status Bootstrap(StartupReport* report);
  void WriterLoop();
  // Logs and applies one group of requests; calls their completions.
  void ProcessGroup(std::vector<Request>* group);
  // A live payload is applied in slices of this many events, each as if it were a
  // payload of its own with the same arrival, and the reorder buffer releases at most
  // this many records at a time. Replay slices a logged payload the same way, so it
  // rebuilds the state the live engine had.
  static constexpr size_t kEventsPerSlice = 256;
  // A hold of the exclusive lock ends, and readers get in, once it has applied this
  // many events (WriteHolds): a read waits for about this much work at most, however
  // large the request or the group.
  static constexpr size_t kEventsPerHold = 256;

  // The writer's exclusive hold over a stretch of work, let go and taken again each
  // time `events_per_hold` events have been applied under it; in between, the reads
  // that wait for the lock take it first (the mutex would let the writer, which locks
  // it again at once, take it ahead of the readers it woke).
  class WriteHolds {
   public:
    WriteHolds(LiveEngine* engine, size_t events_per_hold);
    // Counts `events` applied under the current hold; past the bound, lets readers in.
    void Applied(size_t events);

   private:
    LiveEngine* engine_;
    size_t events_per_hold_;
    size_t held_ = 0;
    std::optional<WriteLock> lock_;
  };

  // Applies one logged payload (live or in replay) under `holds`; adds its event ids
  // to state_->event_ids when `add_event_ids` (the live path added them when it logged
  // the payload).
  absl::Status ApplyPayload(std::string_view payload, bool add_event_ids, WriteHolds* holds);
  // One slice of a live payload that arrived at `arrival`.
  void ApplyLiveSlice(std::span<const LoggedEvent> events, PayloadKind kind, EventTime arrival,
                      bool add_event_ids, WriteHolds* holds);
  // Moves records the watermark passed at `now` into the operators and models, at most
  // kEventsPerSlice at a time.
  void ReleaseUpTo(EventTime now, WriteHolds* holds);
  // Records in stream order through every operator (bootstrap), then the models.
  void ApplyOrdered(std::span<const Record> records);
  // The enriched events in scratch_out_ to the recommenders; `popularity_counted`: they
  // came through the reorder buffer, whose arrivals popular and trending took already.
  void ObserveEnriched(bool popularity_counted);
  // A snapshot as of everything logged so far, written before it returns; keeps the
  // newest snapshots_kept. Writer thread (or after it stopped).
  absl::StatusOr<LogOffset> WriteSnapshot();
  // The same in two steps, so that the writer waits for the first only: the cut (the log
  // synced, the state serialized into `*bytes`; writer thread) and the file written from
  // those bytes (any thread; one at a time).
  absl::StatusOr<LogOffset> CutSnapshot(std::string* bytes);
  absl::StatusOr<LogOffset> FinishSnapshot(LogOffset covered, std::string_view bytes);
  // A snapshot for `requests` (none: the schedule's): cut here, written by snapshotter_;
  // the requests are answered once it is written. Writer thread; waits for the snapshot
  // in flight, if any.
  void StartSnapshot(std::vector<SnapshotRequest> requests);
  // Snapshots the state as of log offset `covered` into `dir` (the bootstrap's).
  absl::Status WriteSnapshotTo(const std::string& dir, LogOffset covered);
  // The state's bytes, under the shared lock. Writer thread (or after it stopped).
  std::string SerializeSnapshot();
  absl::Status WriteSnapshotFile(const std::string& dir, LogOffset covered, std::string_view bytes);
  // REQUIRES: state_mu_ held (shared is enough).
  void SerializeState(std::string* out) const;
  // Replaces the state with a snapshot's; DataLoss when malformed (state unchanged).
  // Gives the parsed parts of `bytes` back to the system as it goes (SnapshotBytes::
  // Discard), so `bytes` is spent afterwards.
  absl::Status DeserializeState(SnapshotBytes* bytes);

  const LiveEngineOptions options_;
  const std::function<EventTime()> clock_;
  // The state directory's LOCK, held for the engine's life from before any bootstrap:
  // one process at a time on a state directory.
  std::unique_ptr<FileLock> state_lock_;
  std::unique_ptr<EventLog> log_;

  mutable SharedMutex state_mu_;
  // Reads waiting for state_mu_ (WriteHolds lets them in between two holds).
  mutable std::atomic<int> readers_waiting_{0};
  std::unique_ptr<LiveState> state_;  // guarded by state_mu_ (written by the writer only)

  // Writer-thread only.
  std::vector<LoggedEvent> decoded_;
  std::vector<Record> batch_;
  std::vector<Record> on_time_;  // a payload's records that entered the reorder buffer
  std::vector<Record> released_;
  FeatureOutput scratch_out_;
  std::vector<ModelEvent> model_events_;
  uint32_t next_seq_ = 0;
  uint64_t events_since_snapshot_ = 0;
  // The state bytes of the snapshot loaded or written last (writer thread; 0: none yet).
  size_t last_snapshot_bytes_ = 0;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  // Guarded by queue_mu_.
  std::vector<Request> queue_;
  std::vector<SnapshotRequest> snapshot_requests_;
  bool stopping_ = false;
  bool stopped_ = false;
  absl::Status failure_;  // the first log failure; every later ingest fails with it

  std::atomic<int64_t> snapshots_written_{0};
  std::atomic<int64_t> snapshot_failures_{0};
  // The writer's exclusive holds by duration.
  MicrosHistogram<kWriteHoldBoundsMicros.size()> write_holds_{kWriteHoldBoundsMicros};
  // When the last snapshot was written, by clock_ (/metrics); 0 before the first.
  std::atomic<int64_t> last_snapshot_millis_{0};
  // The writer's group commits, one at a time, while it applies the group (the writer
  // thread is its only user).
  BackgroundWorker committer_{"log-commit"};
  // Writes the snapshots the writer cuts, one at a time, at the lowest priority: the
  // writer goes on with ingest meanwhile, and the requests come first. Destroyed before
  // the members its jobs use.
  BackgroundWorker snapshotter_{"snapshot"};
  std::thread writer_;
};

}  // namespace streamrec
