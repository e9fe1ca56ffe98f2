#pragma once
// EventLog: the append-only, segmented write-ahead log of the engine. Records are opaque
// payloads numbered by LogOffset; the format, the fsync policies and the recovery rules
// are in docs/formats/event-log.md.
//
// Operation: Append() frames a record into memory and returns its offset; Commit()
// writes everything appended since the last commit with one write(2) (group commit) and,
// unless the policy is kInterval, fdatasyncs it. A record may be acknowledged once the
// Commit() after its Append() returned OK. Open() recovers: it verifies every record,
// cuts a torn tail off the last segment (reported in RecoveryReport) and refuses damage
// anywhere else.
//
//   RecoveryReport report;
//   ASSIGN_OR_RETURN(auto log, EventLog::Open(dir, options, &report));
//   RETURN_IF_ERROR(log->ReadFrom(snapshot_offset, replay));
//   LogOffset o = log->Append(payload);
//   RETURN_IF_ERROR(log->Commit());  // now o may be acknowledged
//
// Concurrency: one writer thread calls Append, Commit, Sync, DropBefore and
// next_offset. ReadFrom, start_offset, committed_offset and stats may be called from any
// thread at any time; ReadFrom sees the records committed when it starts. A ReadFrom
// running while DropBefore deletes the segment it reads fails with NotFound. With
// kInterval a background thread syncs the active segment. One process at a time: Open
// locks the directory (file LOCK).
//
// Failure: after a write or sync error (also in the background) the state on disk is
// unknown, so every later Commit and Sync returns that first error; reopen to recover.
// A failed Commit first tries to take its records back off the disk.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/prometheus.h"
#include "log/env.h"
#include "log/log_offset.h"

namespace streamrec {

// When the log fdatasyncs. kAlways and kBatch do the same inside the log (sync at every
// Commit); they tell the caller how often to commit: after every request, or once per
// micro-batch. kInterval: Commit only writes; a background thread syncs at most once
// per interval.
enum class FsyncPolicy { kAlways, kBatch, kInterval };
std::string_view FsyncPolicyName(FsyncPolicy policy);  // "always", "batch", "interval"
absl::StatusOr<FsyncPolicy> ParseFsyncPolicy(std::string_view name);

struct EventLogOptions {
  FsyncPolicy fsync = FsyncPolicy::kBatch;
  std::chrono::milliseconds sync_interval{100};  // kInterval only; > 0
  // A new segment starts before a record that would take the active one past this size.
  uint64_t segment_bytes = uint64_t{64} << 20;
  // The first offset of a log created in a directory without segments.
  LogOffset initial_offset;
  Env* env = nullptr;  // nullptr: Env::Default()
  // For reading only (export): Open changes nothing on disk and creates nothing, so a
  // read-only file system will do. Readers share `LOCK` (a writer's open is refused
  // meanwhile, and theirs while a writer has it). A torn tail stays in the file,
  // reported in RecoveryReport::cut as what a writer would cut, and reads stop before
  // it; a directory without a segment with records is NotFound. Append, Commit, Sync and
  // DropBefore must not be called.
  bool read_only = false;
};

// What Open found and repaired.
struct RecoveryReport {
  struct Cut {
    std::string segment;       // file name
    uint64_t byte_offset = 0;  // where the file was cut (the end of the last good record)
    uint64_t bytes_dropped = 0;
    std::string reason;  // why the first dropped frame did not verify
  };
  bool created = false;  // the directory held no segment; a new log was started
  int segments = 0;
  LogOffset start_offset;  // the first record in the log
  LogOffset next_offset;   // the offset the next Append gets
  std::optional<Cut> cut;  // only the last segment is ever cut

  // One line, e.g. "2 segments, offsets [0, 4096); cut 57 bytes at byte 1024 of ...".
  std::string ToString() const;
};

// Upper bounds of the fdatasync latency buckets, in microseconds; a last bucket holds the
// rest. From an SSD's fraction of a millisecond to a loaded disk's second.
inline constexpr std::array<uint64_t, 11> kSyncLatencyBoundsMicros = {
    500, 1'000, 2'000, 5'000, 10'000, 20'000, 50'000, 100'000, 250'000, 500'000, 1'000'000};

// Counters for /metrics; each is monotonic over the log object's life.
struct EventLogStats {
  uint64_t records_committed = 0;
  uint64_t bytes_written = 0;
  uint64_t commits = 0;
  uint64_t syncs = 0;
  uint64_t segments_created = 0;
  // Successful fdatasyncs by latency: [b] counts those above bound b - 1 and at most
  // bound b (kSyncLatencyBoundsMicros; the last, those above every bound); and their sum.
  std::array<uint64_t, kSyncLatencyBoundsMicros.size() + 1> sync_latency_counts{};
  uint64_t sync_micros = 0;
};

class EventLog {
 public:
  // Opens (creating when needed) the log in `dir` and recovers it. `report` may be null.
  // Errors: DataLoss for damage that is not a torn tail (the message names the segment,
  // byte offset and reason), FailedPrecondition when another writer holds the directory,
  // InvalidArgument for bad options, and I/O errors.
  static absl::StatusOr<std::unique_ptr<EventLog>> Open(const std::string& dir,
                                                        const EventLogOptions& options,
                                                        RecoveryReport* report = nullptr);
  // Stops the background sync. Records appended but not committed are lost, as in a
  // crash; committed but unsynced ones stay in the page cache (call Sync() first to
  // make them durable against power loss).
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // The largest payload a record holds: 64 MiB.
  static constexpr size_t kMaxPayloadBytes = size_t{64} << 20;

  // Frames `payload` into the commit buffer and returns its offset. No I/O.
  // REQUIRES: payload.size() <= kMaxPayloadBytes (a larger one is a bug of the caller).
  LogOffset Append(std::string_view payload);

  // Writes every record appended since the last Commit, then fdatasyncs unless the
  // policy is kInterval. On OK those records survive a killed process (and, except under
  // kInterval, a power loss).
  absl::Status Commit();

  // fdatasyncs everything committed so far, whatever the policy (graceful shutdown).
  absl::Status Sync();

  // Deletes the segments all of whose records are below `offset`. Never deletes the
  // active segment; keeps a segment that straddles `offset`.
  absl::Status DropBefore(LogOffset offset);

  // Calls fn(offset, payload) for every committed record at or after `from`, in order,
  // until fn returns an error, which ReadFrom returns. The payload view is valid during
  // the call only. Every record's checksum is verified again (DataLoss on a mismatch).
  // OutOfRange when `from` was dropped or is past committed_offset().
  absl::Status ReadFrom(LogOffset from,
                        absl::FunctionRef<absl::Status(LogOffset, std::string_view)> fn) const;

  LogOffset next_offset() const { return LogOffset{next_offset_}; }  // writer thread only
  LogOffset start_offset() const;      // the first record still in the log
  LogOffset committed_offset() const;  // one past the last committed record
  EventLogStats stats() const;
  const std::string& dir() const { return dir_; }

 private:
  struct Segment {
    LogOffset first;
    std::string path;
    uint64_t committed_bytes = 0;  // header plus the records written to it
  };
  // Where a new segment starts within pending_.
  struct Roll {
    size_t pending_pos;
    LogOffset first;
  };

  EventLog(std::string dir, const EventLogOptions& options, Env* env,
           std::unique_ptr<FileLock> lock);
  absl::Status Recover(std::vector<std::pair<LogOffset, std::string>> files,
                       RecoveryReport* report);
  // Creates the segment file starting at `first`, header written and synced, directory
  // synced.
  absl::StatusOr<std::unique_ptr<WritableFile>> CreateSegmentFile(LogOffset first);
  // Writes `bytes`, which end with record `end` - 1, to the active segment.
  absl::Status WriteActive(std::string_view bytes, LogOffset end);
  absl::Status RollTo(LogOffset first);
  // Syncs the active segment if it has unsynced bytes. Called by the writer and the
  // background thread; records an error in error_.
  absl::Status SyncActive();
  absl::Status Healthy() const;
  void Fail(const absl::Status& status);
  // After a failed Commit, before rolls_ is cleared: takes what it wrote back off the
  // disk (the segments of rolls_ removed, the one it began in, `segment`, truncated to
  // `bytes`), so that a restart does not apply records that were refused (a client that
  // retries them without event ids would count them twice). Best effort: where this
  // fails too, recovery finds those records.
  void TakeBack(size_t segment, uint64_t bytes, LogOffset committed);
  void BackgroundSync();

  const std::string dir_;
  const EventLogOptions options_;
  Env* const env_;
  const std::unique_ptr<FileLock> lock_;

  // Writer thread only.
  std::string pending_;  // framed records appended since the last Commit
  std::vector<Roll> rolls_;
  uint64_t next_offset_ = 0;
  uint64_t tail_bytes_ = 0;  // the last segment's size once pending_ is written
  bool failed_ = false;      // a Commit or Sync failed; Append stops buffering

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  // Guarded by mu_.
  std::vector<Segment> segments_;         // in log order; never empty after Open
  std::shared_ptr<WritableFile> active_;  // the last segment's file
  uint64_t active_synced_bytes_ = 0;      // of segments_.back(); <= its committed_bytes
  LogOffset committed_offset_;
  absl::Status error_;  // the first write or sync error
  bool stop_ = false;

  std::atomic<uint64_t> records_committed_{0}, bytes_written_{0}, commits_{0}, syncs_{0},
      segments_created_{0};
  MicrosHistogram<kSyncLatencyBoundsMicros.size()> sync_latency_{kSyncLatencyBoundsMicros};
  std::thread background_;  // kInterval only
};

}  // namespace streamrec
