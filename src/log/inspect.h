#pragma once
// Read-only summaries of a state directory's event log and snapshots, for
// `streamrec inspect`. Nothing is cut, rewritten or deleted, and the log's lock is not
// taken, so a running server's directory may be inspected (its last segment may then
// show a record being written as a torn tail).

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "log/env.h"
#include "log/log_offset.h"
#include "log/snapshot.h"

namespace streamrec {

struct SegmentSummary {
  enum class State {
    kOk,
    kTornTail,  // the last segment ends in bytes that opening the log would cut
    kCorrupt,   // opening the log would fail
  };
  std::string file;  // name
  LogOffset first_offset;
  uint64_t records = 0;  // verified records; the last is first_offset + records - 1
  uint64_t bytes = 0;    // file size
  State state = State::kOk;
  uint64_t problem_at = 0;     // kTornTail, kCorrupt: byte where the bad frame starts
  uint64_t problem_bytes = 0;  // kTornTail, kCorrupt: bytes from there to the end
  // kTornTail: why the first cut frame does not verify; kCorrupt: that, where, and why
  // opening the log refuses it.
  std::string reason;

  // "log-...seg  offsets 0..4095  4096 records  290816 bytes  ok" (or "torn tail of N
  // bytes at byte B: reason", "corrupt: reason").
  std::string ToString() const;
};

struct SnapshotSummary {
  std::string file;  // name
  SnapshotName name;
  SnapshotInfo info;
  std::string problem;  // empty: valid (a .tmp is never valid)

  bool valid() const { return problem.empty(); }
  std::string ToString() const;
};

// Every segment of the log in `dir`, in log order, checked as EventLog::Open would
// check it. Empty when `dir` does not exist.
absl::StatusOr<std::vector<SegmentSummary>> InspectLog(const std::string& dir, Env* env = nullptr);

// Every snapshot file of `dir` (complete or temporary), by covered offset, each fully
// verified.
absl::StatusOr<std::vector<SnapshotSummary>> InspectSnapshots(const std::string& dir,
                                                              const SnapshotOptions& options = {});

// Why the engine would refuse to start on a state whose log and snapshots are these (as
// InspectLog and InspectSnapshots found them), one line each; empty when it would start.
// Damage in the log; a newest valid snapshot that the log does not continue (the log
// starts after the offset it covers, or ends before it).
std::vector<std::string> StartProblems(std::span<const SegmentSummary> segments,
                                       std::span<const SnapshotSummary> snapshots);

}  // namespace streamrec
