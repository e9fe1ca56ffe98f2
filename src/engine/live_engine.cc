#include "engine/live_engine.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

#include "common/byte_io.h"
#include "common/check.h"
#include "common/prometheus.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/structured_log.h"
#include "common/thread_priority.h"
#include "engine/log_payload.h"
#include "io/mapping.h"
#include "io/record_loader.h"
#include "log/event_codec.h"
#include "stream/ordering.h"

namespace streamrec {
namespace {

namespace fs = std::filesystem;

// The last byte is the state format's version (docs/formats/snapshot.md). 2: the
// user-item matrix in 16-byte cells; 3: user engagement kept in the matrix's row
// headers. A state of another version is refused, and the engine then replays the log
// (which it keeps whole).
constexpr char kSnapshotMagic[8] = {'S', 'R', 'S', 'T', 'A', 'T', 'E', '3'};
constexpr size_t kBootstrapEventsPerRecord = 4096;

EventTime SystemNow() {
  return EventTime{std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count()};
}

std::string LogDir(const std::string& state) { return state + "/log"; }
std::string SnapshotDir(const std::string& state) { return state + "/snapshots"; }
std::string BootstrapDir(const std::string& state) { return state + "/bootstrap.tmp"; }

// The answer to an ingest request once the event log has failed with `failure`.
absl::Status LogFailedError(const absl::Status& failure) {
  return absl::UnavailableError(StrCat("the event log failed: ", failure.message()));
}
std::string StateLockPath(const std::string& state) { return state + "/LOCK"; }

template <typename Id>
void SaveNames(const Interner<Id>& interner, ByteWriter* w) {
  w->PutVarint(interner.size());
  for (uint32_t i = 0; i < interner.size(); ++i) w->PutString(interner.Name(Id(i)));
}

struct ProcessMemory {
  uint64_t resident_bytes = 0;
  uint64_t peak_resident_bytes = 0;
};

// VmRSS and VmHWM of /proc/self/status (0 where the file or a line is missing).
ProcessMemory ReadProcessMemory() {
  ProcessMemory memory;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    uint64_t kib = 0;
    if (std::sscanf(line.c_str(), "VmRSS: %" SCNu64 " kB", &kib) == 1) {
      memory.resident_bytes = kib * 1024;
    } else if (std::sscanf(line.c_str(), "VmHWM: %" SCNu64 " kB", &kib) == 1) {
      memory.peak_resident_bytes = kib * 1024;
    }
  }
  return memory;
}

}  // namespace

LiveState::LiveState(const LiveEngineOptions& options)
    : ops(options.features),
      models(options.models, options.threads >= 2 ? 2 : 1),
      buffer(options.allowed_lateness_micros) {}

LiveEngine::LiveEngine(LiveEngineOptions options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : SystemNow) {}

absl::StatusOr<std::unique_ptr<LiveEngine>> LiveEngine::Open(LiveEngineOptions options,
                                                             StartupReport* report) {
  const auto start = std::chrono::steady_clock::now();
  if (options.state_dir.empty()) return absl::InvalidArgumentError("no state directory given");
  if (options.allowed_lateness_micros < 0) {
    return absl::InvalidArgumentError("allowed lateness must not be negative");
  }
  RETURN_IF_ERROR(ValidateModelConfig(options.models));
  StartupReport local;
  if (report == nullptr) report = &local;
  std::unique_ptr<LiveEngine> engine(new LiveEngine(std::move(options)));
  engine->state_ = std::make_unique<LiveState>(engine->options_);
  std::error_code ec;
  fs::create_directories(engine->options_.state_dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        StrCat("cannot create state directory ", engine->options_.state_dir, ": ", ec.message()));
  }
  const std::string& state = engine->options_.state_dir;
  ASSIGN_OR_RETURN(engine->state_lock_, Env::Default()->LockFile(StateLockPath(state)));
  // A bootstrap of an earlier version renamed the snapshots into place first: one
  // interrupted there left the whole log, synced, in the temporary folder. It goes where
  // it was going, so that the log holds every record again.
  if (!fs::exists(LogDir(state)) && fs::exists(SnapshotDir(state)) &&
      fs::exists(BootstrapDir(state) + "/log")) {
    fs::rename(BootstrapDir(state) + "/log", LogDir(state), ec);
    if (ec) {
      return absl::InternalError(StrCat("cannot move the log of an interrupted bootstrap into ",
                                        state, ": ", ec.message()));
    }
    RETURN_IF_ERROR(Env::Default()->SyncDir(state));
  }
  fs::remove_all(BootstrapDir(state), ec);  // left by an interrupted bootstrap
  // Only a state without log and snapshots is new. A state with either has accepted
  // events, whatever happened to the other: it is recovered, never bootstrapped again.
  if (!fs::exists(LogDir(state)) && !fs::exists(SnapshotDir(state))) {
    RETURN_IF_ERROR(engine->Bootstrap(report));
  }
  RETURN_IF_ERROR(engine->Recover(report));
  report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  engine->snapshotter_.Run([] {
    if (absl::Status lowered = LowerThisThreadsPriority(); !lowered.ok()) {
      Log(LogLevel::kWarning, "snapshot_priority_not_lowered",
          {{"error", std::string(lowered.message())}});
    }
  });
  engine->writer_ = std::thread([e = engine.get()] {
    NameThisThread("writer");
    e->WriterLoop();
  });
  return engine;
}

LiveEngine::~LiveEngine() { (void)Stop(); }

// The first start: the files go through the same loader as `pipeline`, into stream
// order, into a log and a snapshot built in a temporary folder, renamed into place last.
absl::Status LiveEngine::Bootstrap(StartupReport* report) {
  const std::string& state = options_.state_dir;
  const std::string temp = BootstrapDir(state);
  std::error_code ec;
  report->bootstrapped = true;

  Mapping mapping;
  if (options_.mapping_file) {
    ASSIGN_OR_RETURN(mapping, LoadMapping(*options_.mapping_file));
  }
  IdDictionary& ids = state_->ids;
  RecordLoader loader(
      mapping, &ids, LoaderOptions{.threads = options_.threads, .keep_event_ids = true},
      [&](const RejectedRow& row) {
        ++report->bootstrap_rejected_rows;
        if (report->bootstrap_rejected_examples.size() < StartupReport::kRejectedRowsReported) {
          report->bootstrap_rejected_examples.push_back(
              StrCat(row.source, ":", row.line, ": ", row.reason));
        }
        return absl::OkStatus();
      });
  std::vector<Run> runs;
  for (const std::string& p : options_.bootstrap_purchases) {
    RETURN_IF_ERROR(loader.Load({p, SourceKind::kPurchases}, &runs));
  }
  for (const std::string& p : options_.bootstrap_events) {
    RETURN_IF_ERROR(loader.Load({p, SourceKind::kEvents}, &runs));
  }
  SortRuns(&runs, options_.threads);

  EventLogOptions log_options{.fsync = FsyncPolicy::kInterval};
  ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, EventLog::Open(temp + "/log", log_options));
  RunMerger merger(std::move(runs));
  std::vector<Record> batch;
  std::vector<LoggedEvent> logged;
  std::string payload;
  while (merger.NextBatch(kBootstrapEventsPerRecord, &batch)) {
    logged.clear();
    for (const Record& r : batch) {
      LoggedEvent e{.user_id = ids.users.Name(r.user), .item_id = ids.items.Name(r.item)};
      e.time = r.time;
      if (r.kind == RecordKind::kPurchase) {
        e.type = EventType::kPurchase;
        e.amount = r.amount;
      } else {
        e.type = r.type;
        // Logged with the record, so that a later request with the same id is a
        // duplicate, after any recovery too.
        e.event_id = loader.EventIdOf(r.seq);
        if (!e.event_id.empty()) state_->event_ids.Insert(e.event_id);
      }
      logged.push_back(e);
    }
    payload.clear();
    AppendBootstrapPayload(logged, &payload);
    log->Append(payload);
    RETURN_IF_ERROR(log->Commit());  // writes only (interval policy); synced once at the end
    ApplyOrdered(batch);
    next_seq_ += static_cast<uint32_t>(batch.size());
    report->bootstrap_records += static_cast<int64_t>(batch.size());
  }
  state_->models.Flush();
  RETURN_IF_ERROR(log->Commit());
  RETURN_IF_ERROR(log->Sync());
  const LogOffset covered = log->next_offset();
  log.reset();
  // The snapshot makes the next start fast; the state in memory is already current.
  RETURN_IF_ERROR(WriteSnapshotTo(temp + "/snapshots", covered));
  // The log first, each rename synced before the next: a start after an interruption
  // finds nothing (and bootstraps again) or a log (and replays it), never snapshots
  // without the log they cover.
  for (const auto& [from, to] : {std::pair{temp + "/log", LogDir(state)},
                                 std::pair{temp + "/snapshots", SnapshotDir(state)}}) {
    fs::rename(from, to, ec);
    if (ec) {
      return absl::InternalError(
          StrCat("cannot move the bootstrapped state into ", state, ": ", ec.message()));
    }
    RETURN_IF_ERROR(Env::Default()->SyncDir(state));
  }
  fs::remove_all(temp, ec);
  return absl::OkStatus();
}

void LiveEngine::SerializeState(std::string* out) const {
  ByteWriter w(out);
  // Room for the last snapshot's size and some growth: the bytes then never move.
  w.Reserve(last_snapshot_bytes_ + last_snapshot_bytes_ / 8);
  w.PutRaw(kSnapshotMagic, sizeof(kSnapshotMagic));
  w.Put(next_seq_);
  SaveNames(state_->ids.users, &w);
  SaveNames(state_->ids.items, &w);
  w.PutVarint(state_->event_ids.size());
  state_->event_ids.ForEach([&](std::string_view id) { w.PutString(id); });
  w.Put(state_->events_accepted);
  w.Put(state_->duplicates);
  w.Put(state_->late_events);
  state_->ops.Save(&w);
  state_->models.Save(&w);
  state_->buffer.Save(&w);
}

absl::Status LiveEngine::DeserializeState(SnapshotBytes* bytes) {
  auto state = std::make_unique<LiveState>(options_);
  ByteReader r(bytes->view());
  // Each part's bytes go back to the system once parsed (every part copies what it
  // keeps), so the next part's state reuses that memory.
  const auto discard_parsed = [&] { bytes->Discard(bytes->size() - r.remaining()); };
  std::string_view magic;
  auto malformed = [](std::string_view what) {
    return absl::DataLossError(StrCat("snapshot state is malformed: ", what));
  };
  if (!r.GetRaw(sizeof(kSnapshotMagic), &magic)) return malformed("truncated header");
  const std::string_view expected(kSnapshotMagic, sizeof(kSnapshotMagic));
  if (magic != expected) {
    if (magic.substr(0, 7) == expected.substr(0, 7)) {
      return malformed(StrCat("state format version ", magic.substr(7), " (this build reads ",
                              expected.substr(7), ")"));
    }
    return malformed("not a streamrec state (bad magic)");
  }
  uint32_t seq = 0;
  if (!r.Get(&seq)) return malformed("truncated header");
  for (int names : {0, 1}) {
    uint64_t n = 0;
    if (!r.GetVarint(&n)) return malformed("truncated id dictionary");
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view name;
      if (!r.GetString(&name)) return malformed("truncated id dictionary");
      const uint32_t id =
          names == 0 ? state->ids.users.Intern(name).value : state->ids.items.Intern(name).value;
      if (id != i) return malformed("duplicate id in the dictionary");
    }
  }
  uint64_t n = 0;
  if (!r.GetVarint(&n)) return malformed("truncated event ids");
  state->event_ids.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view id;
    if (!r.GetString(&id)) return malformed("truncated event ids");
    state->event_ids.Insert(id);
  }
  if (!r.Get(&state->events_accepted) || !r.Get(&state->duplicates) ||
      !r.Get(&state->late_events)) {
    return malformed("truncated counters");
  }
  discard_parsed();
  RETURN_IF_ERROR(state->ops.Load(&r));
  discard_parsed();
  RETURN_IF_ERROR(state->models.Load(&r));
  if (!state->buffer.Load(&r)) return malformed("truncated reorder buffer");
  if (!r.at_end()) return malformed("bytes after the end of the state");
  ExclusiveLock lock(&state_mu_);
  state_ = std::move(state);
  next_seq_ = seq;
  return absl::OkStatus();
}

absl::Status LiveEngine::WriteSnapshotTo(const std::string& dir, LogOffset covered) {
  return WriteSnapshotFile(dir, covered, SerializeSnapshot());
}

std::string LiveEngine::SerializeSnapshot() {
  std::string bytes;
  {
    SharedLock lock(&state_mu_);
    SerializeState(&bytes);
  }
  last_snapshot_bytes_ = bytes.size();
  return bytes;
}

absl::Status LiveEngine::WriteSnapshotFile(const std::string& dir, LogOffset covered,
                                           std::string_view bytes) {
  ASSIGN_OR_RETURN(std::unique_ptr<SnapshotWriter> writer,
                   SnapshotWriter::Create(
                       dir, covered, {.threads = options_.threads, .env = options_.snapshot_env}));
  RETURN_IF_ERROR(writer->Write(bytes));
  RETURN_IF_ERROR(writer->Finish());
  snapshots_written_.fetch_add(1);
  return absl::OkStatus();
}

absl::Status LiveEngine::Recover(StartupReport* report) {
  const std::string& state = options_.state_dir;
  EventLogOptions log_options{
      .fsync = options_.fsync, .sync_interval = options_.sync_interval, .env = options_.log_env};
  if (report->bootstrapped) {  // the state is current already
    ASSIGN_OR_RETURN(log_, EventLog::Open(LogDir(state), log_options, &report->log));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::optional<LoadedSnapshot> snapshot,
                   LoadNewestSnapshot(SnapshotDir(state), {.threads = options_.threads},
                                      &report->skipped_snapshots));
  // A log that is gone (or never had a segment) starts again where the snapshot ends.
  if (snapshot) log_options.initial_offset = snapshot->covered;
  ASSIGN_OR_RETURN(log_, EventLog::Open(LogDir(state), log_options, &report->log));
  LogOffset from = log_->start_offset();
  if (snapshot) {
    // A snapshot that verifies but does not parse (written by a differently configured
    // engine, say) is skipped: the log is kept whole, so replaying all of it rebuilds
    // the same state.
    const size_t snapshot_bytes = snapshot->bytes.size();
    if (absl::Status st = DeserializeState(&snapshot->bytes); st.ok()) {
      report->snapshot_offset = snapshot->covered.value;
      last_snapshot_bytes_ = snapshot_bytes;
      from = snapshot->covered;
    } else {
      report->skipped_snapshots.push_back({snapshot->path, std::string(st.message())});
    }
  }
  if (from < log_->start_offset()) {
    return absl::DataLossError(StrCat("the snapshot covers log offsets below ", from.value,
                                      " but the log starts at ", log_->start_offset().value));
  }
  // A log that does not start at 0 holds only what came after a snapshot: without that
  // snapshot the state cannot be rebuilt (and an empty one would replace it at the next
  // snapshot).
  if (!report->snapshot_offset && from.value > 0) {
    return absl::DataLossError(
        StrCat("the log starts at offset ", from.value,
               " and no snapshot that covers the records before it could be loaded",
               report->skipped_snapshots.empty()
                   ? std::string()
                   : StrCat(" (", report->skipped_snapshots.back().path, ": ",
                            report->skipped_snapshots.back().reason, ")")));
  }
  // No reader comes before recovery is done: one hold for all of it.
  WriteHolds holds(this, SIZE_MAX);
  return log_->ReadFrom(from, [&](LogOffset offset, std::string_view payload) -> absl::Status {
    ++report->replayed_log_records;
    absl::Status s = ApplyPayload(payload, /*add_event_ids=*/true, &holds);
    if (!s.ok()) return absl::DataLossError(StrCat("log record ", offset.value, ": ", s.message()));
    return absl::OkStatus();
  });
}

// A payload's names are prefetched this many events ahead of their Intern: the id
// tables of a large shop miss the cache.
constexpr size_t kInternAhead = 16;

absl::Status LiveEngine::ApplyPayload(std::string_view payload, bool add_event_ids,
                                      WriteHolds* holds) {
  ASSIGN_OR_RETURN(const LogPayload p, ParseLogPayload(payload));
  RETURN_IF_ERROR(DecodeEvents(p.events, &decoded_));
  LiveState& s = *state_;
  if (p.kind == PayloadKind::kBootstrapRecords) {
    batch_.clear();
    for (const LoggedEvent& e : decoded_) {
      if (add_event_ids && !e.event_id.empty()) s.event_ids.Insert(e.event_id);
      Record r;
      LoggedEventRecords(s.ids.users.Intern(e.user_id), s.ids.items.Intern(e.item_id), e, p.kind,
                         next_seq_++, &r);
      batch_.push_back(r);
    }
    ApplyOrdered(batch_);
    holds->Applied(decoded_.size());
    return absl::OkStatus();
  }
  const std::span<const LoggedEvent> events(decoded_);
  for (size_t at = 0; at < events.size(); at += kEventsPerSlice) {
    ApplyLiveSlice(events.subspan(at, std::min(kEventsPerSlice, events.size() - at)), p.kind,
                   p.arrival, add_event_ids, holds);
  }
  return absl::OkStatus();
}

void LiveEngine::ApplyLiveSlice(std::span<const LoggedEvent> events, PayloadKind kind,
                                EventTime arrival, bool add_event_ids, WriteHolds* holds) {
  // Through the reorder buffer as at its arrival; late records into batch_. The
  // order-free aggregates take the buffered records now, all of the slice at once (so
  // their state loads overlap), and the rest when they are released; then the late
  // ones, in the same order as applying each record as it comes.
  //
  // First what the watermark at the arrival releases before any of the slice is pushed:
  // the writer's idle ticks may have released it already, and replay, which has no
  // ticks, must apply it at the same point, before the slice's late records (a late
  // purchase changes the purchase history that ordered events read).
  ReleaseUpTo(arrival, holds);
  LiveState& s = *state_;
  batch_.clear();
  on_time_.clear();
  for (size_t i = 0; i < events.size(); ++i) {
    if (const size_t ahead = i + kInternAhead; ahead < events.size()) {
      s.ids.users.Prefetch(events[ahead].user_id);
      s.ids.items.Prefetch(events[ahead].item_id);
    }
    const LoggedEvent& e = events[i];
    if (add_event_ids && !e.event_id.empty()) s.event_ids.Insert(e.event_id);
    Record records[2];
    const int n = LoggedEventRecords(s.ids.users.Intern(e.user_id), s.ids.items.Intern(e.item_id),
                                     e, kind, next_seq_++, records);
    for (int r = 0; r < n; ++r) {
      (s.buffer.Push(records[r], arrival) ? on_time_ : batch_).push_back(records[r]);
    }
  }
  s.ops.ApplyOrderFree(on_time_);
  // Popular and trending are order-free too: they count an event on arrival, not when
  // the watermark releases it five minutes later.
  for (const Record& r : on_time_) {
    if (r.kind == RecordKind::kEvent) s.models.ObservePopularity(r.item, r.type, r.time);
  }
  s.events_accepted += static_cast<int64_t>(events.size());
  if (!batch_.empty()) {
    s.ops.ApplyLate(batch_);
    for (const Record& r : batch_) {
      if (r.kind != RecordKind::kEvent) continue;
      ++s.late_events;
      s.models.Observe(ModelEvent{.user = r.user,
                                  .item = r.item,
                                  .type = r.type,
                                  .time = r.time,
                                  .session = 0,
                                  .late = true});
    }
  }
  holds->Applied(events.size());
  ReleaseUpTo(arrival, holds);
}

void LiveEngine::ApplyOrdered(std::span<const Record> records) {
  LiveState& s = *state_;
  scratch_out_.Clear();
  s.ops.Apply(records, &scratch_out_);
  ObserveEnriched(/*popularity_counted=*/false);
}

void LiveEngine::ObserveEnriched(bool popularity_counted) {
  model_events_.clear();
  for (const EnrichedEvent& e : scratch_out_.enriched) {
    model_events_.push_back(ModelEvent{.user = e.user,
                                       .item = e.item,
                                       .type = e.type,
                                       .time = e.time,
                                       .session = e.session,
                                       .popularity_counted = popularity_counted});
  }
  state_->models.ObserveBatch(model_events_);
}

void LiveEngine::ReleaseUpTo(EventTime now, WriteHolds* holds) {
  LiveState& s = *state_;
  do {
    released_.clear();
    s.buffer.Release(now, &released_, kEventsPerSlice);
    if (released_.empty()) return;
    scratch_out_.Clear();
    s.ops.ApplyOrdered(released_, &scratch_out_);
    ObserveEnriched(/*popularity_counted=*/true);  // on arrival, in ApplyLiveSlice
    holds->Applied(released_.size());
  } while (released_.size() == kEventsPerSlice);
}

LiveEngine::WriteLock::WriteLock(LiveEngine* engine)
    : engine_(engine), lock_(&engine->state_mu_), start_(std::chrono::steady_clock::now()) {}

LiveEngine::WriteLock::~WriteLock() {
  engine_->state_->models.Flush();
  const auto micros = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::steady_clock::now() - start_)
                                                .count());
  engine_->write_holds_.Record(micros);
}

LiveEngine::WriteHolds::WriteHolds(LiveEngine* engine, size_t events_per_hold)
    : engine_(engine), events_per_hold_(events_per_hold), lock_(std::in_place, engine) {}

void LiveEngine::WriteHolds::Applied(size_t events) {
  held_ += events;
  if (held_ < events_per_hold_) return;
  lock_.reset();
  // A read's shared hold takes tens of microseconds, but a reader woken by the unlock
  // may first wait for a core. Past the bound the writer goes on: reads that come at
  // every moment must not stop ingest.
  constexpr auto kBound = std::chrono::milliseconds(2);
  const auto until = std::chrono::steady_clock::now() + kBound;
  while (engine_->readers_waiting_.load(std::memory_order_relaxed) > 0 &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::yield();
  }
  lock_.emplace(engine_);
  held_ = 0;
}

void LiveEngine::Ingest(std::vector<IncomingEvent> events, IngestDone done) {
  absl::Status refused;
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) {
      refused = absl::UnavailableError("the engine is shutting down");
    } else if (!failure_.ok()) {
      refused = LogFailedError(failure_);
    } else {
      queue_.push_back(Request{std::move(events), std::move(done)});
    }
  }
  if (!refused.ok()) {
    done(refused);
    return;
  }
  queue_cv_.notify_one();
}

void LiveEngine::WriterLoop() {
  // While idle the watermark moves on with wall time; this is how often it is looked at.
  constexpr auto kIdleTick = std::chrono::milliseconds(20);
  std::vector<Request> group;
  std::vector<SnapshotRequest> snapshot_requests;
  for (;;) {
    bool stop = false;
    bool stopping = false;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait_for(lock, kIdleTick, [&] {
        return stopping_ || !queue_.empty() || !snapshot_requests_.empty();
      });
      group.swap(queue_);
      // Requests still waiting for a snapshot in flight stay ahead of these.
      std::move(snapshot_requests_.begin(), snapshot_requests_.end(),
                std::back_inserter(snapshot_requests));
      snapshot_requests_.clear();
      stopping = stopping_;
      stop = stopping_ && group.empty() && snapshot_requests.empty();
    }
    if (stop) return;
    if (!group.empty()) {
      ProcessGroup(&group);
      group.clear();
    } else if (const EventTime now = clock_(); state_->buffer.Releasable(now)) {
      // Only this thread changes the buffer, so it may look without the lock; an idle
      // tick with nothing to release takes no hold.
      WriteHolds holds(this, kEventsPerHold);
      ReleaseUpTo(now, &holds);
    }
    const bool due = options_.snapshot_every_events > 0 &&
                     events_since_snapshot_ >= options_.snapshot_every_events;
    // A snapshot is cut once the one before is written: until then ingest goes on, and a
    // request waits (looked at again each tick). Only a stopping writer waits for it.
    if ((due || !snapshot_requests.empty()) && (stopping || snapshotter_.Idle())) {
      StartSnapshot(std::move(snapshot_requests));
      snapshot_requests.clear();
    }
  }
}

void LiveEngine::StartSnapshot(std::vector<SnapshotRequest> requests) {
  const auto start = std::chrono::steady_clock::now();
  const std::string_view trigger = requests.empty() ? "scheduled" : "requested";
  // A failed one too: the schedule's next try comes after as many events again, not
  // after every group.
  events_since_snapshot_ = 0;
  // One snapshot's bytes at a time (the writer waits here only when stopping).
  snapshotter_.Wait();
  auto bytes = std::make_shared<std::string>();
  absl::StatusOr<LogOffset> covered = CutSnapshot(bytes.get());
  const double paused =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto report = [this, trigger, start, paused](absl::StatusOr<LogOffset> covered,
                                               std::vector<SnapshotRequest>* requests) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (covered.ok()) {
      Log(LogLevel::kInfo, "snapshot_written",
          {{"log_offset", covered->value},
           {"trigger", trigger},
           {"seconds", seconds},
           {"ingest_paused_seconds", paused}});
    } else {
      snapshot_failures_.fetch_add(1);
      Log(LogLevel::kError, "snapshot_failed",
          {{"trigger", trigger},
           {"error", std::string(covered.status().message())},
           {"then", "the next scheduled one comes after as many events again"}});
    }
    for (SnapshotRequest& r : *requests) r.done(covered);
  };
  if (!covered.ok()) {
    report(covered.status(), &requests);
    return;
  }
  // The state's bytes are taken; compressing and writing them needs no state, so the
  // writer goes on with ingest meanwhile.
  snapshotter_.Run(
      [this, covered = *covered, bytes, report,
       requests = std::make_shared<std::vector<SnapshotRequest>>(std::move(requests))] {
        absl::StatusOr<LogOffset> written = FinishSnapshot(covered, *bytes);
        bytes->clear();
        bytes->shrink_to_fit();  // before the callbacks: a waiting SnapshotNow may start another
        report(written, requests.get());
      });
}

void LiveEngine::ProcessGroup(std::vector<Request>* group) {
  // Requests queued before a failed commit was known are refused as later ones are, also
  // one whose events are all duplicates (their first copies may be the events the
  // failure lost), which no commit would otherwise look at under kAlways.
  absl::Status failed;
  {
    std::lock_guard lock(queue_mu_);
    failed = failure_;
  }
  if (!failed.ok()) {
    for (Request& r : *group) {
      r.done(LogFailedError(failed));
    }
    return;
  }
  // Only this thread changes the state, and only it looks at the event ids: testing and
  // adding them here needs no lock. An id is added as its event is logged, so a second
  // one in the same group is a duplicate too.
  ArenaStringSet& event_ids = state_->event_ids;
  const EventTime now = clock_();
  std::vector<IngestAck> acks(group->size());
  std::vector<std::string> payloads;
  std::vector<LoggedEvent> logged;
  // Each id's probe is a cache miss in a table of millions: the group's ids are
  // prefetched kIdsAhead events ahead of their Insert.
  constexpr size_t kIdsAhead = 16;
  std::vector<std::string_view> ids;  // every event's id, in group order
  for (const Request& r : *group) {
    for (const IncomingEvent& e : r.events) ids.push_back(e.event_id);
  }
  size_t next_id = 0;
  absl::Status status;
  // The requests [0, durable) are applied and acknowledged, the others answered 503.
  // Under kAlways each request is committed alone: when one's commit fails, those before
  // it are durable, and it and those after are not. A failed group commit fails all.
  size_t durable = group->size();
  for (size_t i = 0; i < group->size() && status.ok(); ++i) {
    logged.clear();
    for (const IncomingEvent& e : (*group)[i].events) {
      if (const size_t ahead = next_id++ + kIdsAhead; ahead < ids.size() && !ids[ahead].empty()) {
        event_ids.Prefetch(ids[ahead]);
      }
      if (!e.event_id.empty() && !event_ids.Insert(e.event_id)) {
        ++acks[i].duplicates;
        continue;
      }
      logged.push_back(LoggedEvent{.user_id = e.user_id,
                                   .item_id = e.item_id,
                                   .event_id = e.event_id,
                                   .type = e.type,
                                   .time = e.time,
                                   .amount = e.amount});
    }
    acks[i].accepted = logged.size();
    if (logged.empty()) continue;
    // Usually one payload; a request of tens of MB takes several (each a log record).
    const size_t first_payload = payloads.size();
    AppendLivePayloads(now, logged, EventLog::kMaxPayloadBytes, &payloads);
    for (size_t p = first_payload; p < payloads.size(); ++p) log_->Append(payloads[p]);
    if (options_.fsync == FsyncPolicy::kAlways) {
      status = log_->Commit();
      if (!status.ok()) {
        durable = i;
        payloads.resize(first_payload);
      }
    }
  }
  // The group commit (write and fdatasync) runs on committer_ while this thread applies
  // the same events: the group costs the longer of the two, not their sum. Nothing is
  // acknowledged before the commit succeeded. Readers may see an event a few ms before
  // it is durable; if the commit fails it was never acknowledged, the engine refuses
  // everything after, and no snapshot is written, so a restart recovers exactly the log.
  const bool committing = status.ok() && options_.fsync != FsyncPolicy::kAlways;
  absl::Status committed;
  if (committing) committer_.Run([this, &committed] { committed = log_->Commit(); });
  // The payloads are all of the group's, or under kAlways the durable requests'.
  int64_t duplicates = 0;
  for (size_t i = 0; i < durable; ++i) duplicates += static_cast<int64_t>(acks[i].duplicates);
  if (!payloads.empty() || duplicates > 0) {
    WriteHolds holds(this, kEventsPerHold);
    for (const std::string& payload : payloads) {
      const absl::Status applied = ApplyPayload(payload, /*add_event_ids=*/false, &holds);
      STREAMREC_CHECK(applied.ok()) << "a payload just encoded does not apply: " << applied;
    }
    state_->duplicates += duplicates;  // readers see it: under the hold
  }
  if (committing) {
    committer_.Wait();
    status = committed;
    if (!status.ok()) durable = 0;
  }
  if (!status.ok()) {
    Log(LogLevel::kError, "event_log_failed",
        {{"error", std::string(status.message())},
         {"then", "every ingest request answers 503 until a restart"}});
    std::lock_guard lock(queue_mu_);
    failure_ = status;
  }
  for (size_t i = 0; i < group->size(); ++i) {
    if (i < durable) {
      events_since_snapshot_ += acks[i].accepted;
      (*group)[i].done(acks[i]);
    } else {
      (*group)[i].done(LogFailedError(status));
    }
  }
}

absl::StatusOr<LogOffset> LiveEngine::WriteSnapshot() {
  std::string bytes;
  ASSIGN_OR_RETURN(const LogOffset covered, CutSnapshot(&bytes));
  return FinishSnapshot(covered, bytes);
}

absl::StatusOr<LogOffset> LiveEngine::CutSnapshot(std::string* bytes) {
  // Every appended record is committed and applied here (writer thread, between groups).
  // The snapshot claims every record below next_offset: they must be on disk first, or a
  // power loss under the interval policy could drop records the snapshot covers, and
  // their offsets would be reused.
  RETURN_IF_ERROR(log_->Sync());
  const LogOffset covered = log_->next_offset();
  *bytes = SerializeSnapshot();
  return covered;
}

absl::StatusOr<LogOffset> LiveEngine::FinishSnapshot(LogOffset covered, std::string_view bytes) {
  const std::string dir = SnapshotDir(options_.state_dir);
  RETURN_IF_ERROR(WriteSnapshotFile(dir, covered, bytes));
  last_snapshot_millis_.store(clock_().micros / 1000);
  RETURN_IF_ERROR(
      RetainNewestSnapshots(dir, options_.snapshots_kept, options_.snapshot_env).status());
  return covered;
}

absl::StatusOr<LogOffset> LiveEngine::SnapshotNow() {
  auto promise = std::make_shared<std::promise<absl::StatusOr<LogOffset>>>();
  std::future<absl::StatusOr<LogOffset>> result = promise->get_future();
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) return absl::UnavailableError("the engine is shutting down");
    snapshot_requests_.push_back(SnapshotRequest{
        [promise](absl::StatusOr<LogOffset> s) { promise->set_value(std::move(s)); }});
  }
  queue_cv_.notify_one();
  return result.get();
}

absl::Status LiveEngine::Stop() {
  {
    std::lock_guard lock(queue_mu_);
    if (stopped_ || stopping_) return absl::OkStatus();
    stopping_ = true;
  }
  queue_cv_.notify_one();
  // The writer runs only once Open has recovered the state: an engine whose Open failed
  // holds part of it, and a snapshot of that, covering the whole log, would hide the rest.
  const bool opened = writer_.joinable();
  if (opened) writer_.join();
  snapshotter_.Wait();  // a background snapshot first: the final one comes after it
  absl::Status status;
  if (opened && log_ != nullptr) {
    std::lock_guard lock(queue_mu_);
    if (failure_.ok()) {
      status = WriteSnapshot().status();
      if (status.ok()) status = log_->Sync();
    }
  }
  std::lock_guard lock(queue_mu_);
  stopped_ = true;
  return status;
}

std::string LiveEngine::MetricsText() const {
  std::string out;
  auto metric = [&](std::string_view name, std::string_view help, std::string_view type,
                    double value) {
    out += StrCat("# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n", name, " ", value,
                  "\n");
  };
  Read([&](const LiveState& s) {
    metric("streamrec_events_accepted_total", "Events logged and applied.", "counter",
           static_cast<double>(s.events_accepted));
    metric("streamrec_events_duplicate_total", "Events ignored for an event_id seen before.",
           "counter", static_cast<double>(s.duplicates));
    metric("streamrec_events_late_total",
           "Events behind the watermark (order-free aggregates only).", "counter",
           static_cast<double>(s.late_events));
    metric("streamrec_reorder_buffer_records", "Records waiting for the watermark.", "gauge",
           static_cast<double>(s.buffer.size()));
    metric("streamrec_users", "Users known.", "gauge", static_cast<double>(s.ids.users.size()));
    metric("streamrec_items", "Items known.", "gauge", static_cast<double>(s.ids.items.size()));
    metric("streamrec_user_item_pairs", "Pairs in the user-item matrix.", "gauge",
           static_cast<double>(s.ops.user_item_matrix().pairs()));
    metric("streamrec_state_bytes", "Bytes of operator and model state.", "gauge",
           static_cast<double>(s.ops.MemoryBytes().total() + s.models.MemoryBytes()));
  });
  const EventLogStats log = log_->stats();
  metric("streamrec_log_records_total", "Records committed to the event log.", "counter",
         static_cast<double>(log.records_committed));
  metric("streamrec_log_bytes_total", "Bytes written to the event log.", "counter",
         static_cast<double>(log.bytes_written));
  metric("streamrec_log_commits_total", "Group commits.", "counter",
         static_cast<double>(log.commits));
  metric("streamrec_log_syncs_total", "fdatasync calls.", "counter",
         static_cast<double>(log.syncs));
  AppendMicrosHistogram(&out, "streamrec_log_fsync_seconds",
                        "Latency of the event log's fdatasync calls.", kSyncLatencyBoundsMicros,
                        log.sync_latency_counts, log.sync_micros);
  AppendMicrosHistogram(&out, "streamrec_engine_write_hold_seconds",
                        "How long the writer held the state exclusively, each time; a read that "
                        "comes meanwhile waits for the rest of it.",
                        kWriteHoldBoundsMicros, write_holds_.Counts(), write_holds_.SumMicros());
  const ProcessMemory memory = ReadProcessMemory();
  metric("streamrec_process_resident_bytes", "Resident memory of the process.", "gauge",
         static_cast<double>(memory.resident_bytes));
  metric("streamrec_process_resident_peak_bytes", "Peak resident memory of the process.", "gauge",
         static_cast<double>(memory.peak_resident_bytes));
  metric("streamrec_snapshots_total", "Snapshots written by this process.", "counter",
         static_cast<double>(snapshots_written_.load()));
  metric("streamrec_snapshot_failures_total", "Snapshots this process failed to write.", "counter",
         static_cast<double>(snapshot_failures_.load()));
  metric("streamrec_snapshot_last_written_timestamp_seconds",
         "When the last snapshot this process wrote was written (Unix seconds; 0 before the "
         "first).",
         "gauge", static_cast<double>(last_snapshot_millis_.load()) / 1000);
  return out;
}

}  // namespace streamrec
