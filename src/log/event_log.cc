#include "log/event_log.h"

#include <algorithm>
#include <chrono>

#include "common/check.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/thread_priority.h"
#include "log/segment_format.h"

namespace streamrec {

static_assert(EventLog::kMaxPayloadBytes == segment::kMaxPayloadBytes);

namespace {

bool SyncsOnCommit(FsyncPolicy policy) { return policy != FsyncPolicy::kInterval; }

std::string FileNameOf(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

}  // namespace

std::string_view FsyncPolicyName(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kAlways:
      return "always";
    case FsyncPolicy::kBatch:
      return "batch";
    case FsyncPolicy::kInterval:
      return "interval";
  }
  return "?";
}

absl::StatusOr<FsyncPolicy> ParseFsyncPolicy(std::string_view name) {
  for (FsyncPolicy p : {FsyncPolicy::kAlways, FsyncPolicy::kBatch, FsyncPolicy::kInterval}) {
    if (name == FsyncPolicyName(p)) return p;
  }
  return absl::InvalidArgumentError(
      StrCat("unknown fsync policy \"", name, "\" (expected always, batch or interval)"));
}

std::string RecoveryReport::ToString() const {
  std::string text =
      created ? "new log" : StrCat(segments, segments == 1 ? " segment" : " segments");
  text += StrCat(", offsets [", start_offset.value, ", ", next_offset.value, ")");
  if (cut) {
    text += StrCat("; cut ", cut->bytes_dropped, " bytes at byte ", cut->byte_offset, " of ",
                   cut->segment, ": ", cut->reason);
  }
  return text;
}

EventLog::EventLog(std::string dir, const EventLogOptions& options, Env* env,
                   std::unique_ptr<FileLock> lock)
    : dir_(std::move(dir)), options_(options), env_(env), lock_(std::move(lock)) {}

absl::StatusOr<std::unique_ptr<EventLog>> EventLog::Open(const std::string& dir,
                                                         const EventLogOptions& options,
                                                         RecoveryReport* report) {
  if (options.segment_bytes == 0) return absl::InvalidArgumentError("segment_bytes must be > 0");
  if (options.fsync == FsyncPolicy::kInterval && options.sync_interval.count() <= 0) {
    return absl::InvalidArgumentError("sync_interval must be > 0 for the interval fsync policy");
  }
  Env* env = options.env != nullptr ? options.env : Env::Default();
  std::unique_ptr<FileLock> lock;
  if (options.read_only) {
    // Readers share the lock and create nothing. Without a LOCK file no writer has
    // opened this log, so there is none to keep out.
    absl::StatusOr<std::unique_ptr<FileLock>> shared = env->LockFileShared(JoinPath(dir, "LOCK"));
    if (shared.ok()) {
      lock = *std::move(shared);
    } else if (!absl::IsNotFound(shared.status())) {
      return shared.status();
    }
  } else {
    RETURN_IF_ERROR(env->CreateDir(dir));
    ASSIGN_OR_RETURN(lock, env->LockFile(JoinPath(dir, "LOCK")));
  }
  ASSIGN_OR_RETURN(const std::vector<std::string> names, env->GetChildren(dir));
  std::vector<std::pair<LogOffset, std::string>> files;
  for (const std::string& name : names) {
    if (std::optional<LogOffset> first = segment::ParseFileName(name)) {
      files.emplace_back(*first, JoinPath(dir, name));
    }
  }
  std::sort(files.begin(), files.end());

  auto log = std::unique_ptr<EventLog>(new EventLog(dir, options, env, std::move(lock)));
  RecoveryReport local_report;
  RETURN_IF_ERROR(log->Recover(std::move(files), &local_report));
  if (report != nullptr) *report = std::move(local_report);
  if (options.fsync == FsyncPolicy::kInterval && !options.read_only) {
    log->background_ = std::thread([raw = log.get()] {
      NameThisThread("log-sync");
      raw->BackgroundSync();
    });
  }
  return log;
}

absl::Status EventLog::Recover(std::vector<std::pair<LogOffset, std::string>> files,
                               RecoveryReport* report) {
  const bool read_only = options_.read_only;
  if (files.empty()) {
    if (read_only) return absl::NotFoundError(StrCat(dir_, " holds no log segment"));
    ASSIGN_OR_RETURN(active_, CreateSegmentFile(options_.initial_offset));
    segments_.push_back({options_.initial_offset,
                         JoinPath(dir_, segment::FileName(options_.initial_offset)),
                         segment::kHeaderBytes});
    next_offset_ = options_.initial_offset.value;
    report->created = true;
  }
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& [first, path] = files[i];
    const bool last = i + 1 == files.size();
    ASSIGN_OR_RETURN(const std::unique_ptr<FileContents> contents, env_->ReadFile(path));
    const segment::SegmentCheck check =
        segment::CheckSegment(contents->data(), first,
                              i == 0 ? std::nullopt : std::optional(LogOffset{next_offset_}), last);
    uint64_t size = contents->data().size();
    switch (check.verdict) {
      case segment::SegmentCheck::Verdict::kOk:
        break;
      case segment::SegmentCheck::Verdict::kCutTail:
        if (!read_only) RETURN_IF_ERROR(env_->TruncateFile(path, check.good_bytes));
        report->cut = RecoveryReport::Cut{FileNameOf(path), check.good_bytes,
                                          size - check.good_bytes, check.problem.reason};
        size = check.good_bytes;
        break;
      case segment::SegmentCheck::Verdict::kRewriteEmpty: {
        report->cut = RecoveryReport::Cut{
            FileNameOf(path), 0, size,
            StrCat(check.problem.reason, read_only ? "; holds no record" : "; rewritten empty")};
        if (read_only) {  // a segment without records, and the last: nothing to read in it
          if (segments_.empty()) return absl::NotFoundError(StrCat(dir_, " holds no record"));
          continue;
        }
        ASSIGN_OR_RETURN(active_, CreateSegmentFile(first));
        size = segment::kHeaderBytes;
        break;
      }
      case segment::SegmentCheck::Verdict::kCorrupt:
        return absl::DataLossError(StrCat(path, ": ", check.detail));
    }
    segments_.push_back({first, path, size});
    next_offset_ = first.value + check.records;
  }
  if (active_ == nullptr && !read_only) {
    ASSIGN_OR_RETURN(active_, env_->NewAppendableFile(segments_.back().path));
    // What a killed process wrote may still be only in the page cache: make the
    // recovered records durable before new ones follow them.
    RETURN_IF_ERROR(active_->Sync());
  }
  tail_bytes_ = segments_.back().committed_bytes;
  active_synced_bytes_ = tail_bytes_;
  committed_offset_ = LogOffset{next_offset_};
  report->segments = static_cast<int>(segments_.size());
  report->start_offset = segments_.front().first;
  report->next_offset = committed_offset_;
  return absl::OkStatus();
}

EventLog::~EventLog() {
  if (background_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    stop_cv_.notify_all();
    background_.join();
  }
}

absl::StatusOr<std::unique_ptr<WritableFile>> EventLog::CreateSegmentFile(LogOffset first) {
  const std::string path = JoinPath(dir_, segment::FileName(first));
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, env_->NewWritableFile(path));
  RETURN_IF_ERROR(file->Append(segment::EncodeHeader(first)));
  RETURN_IF_ERROR(file->Sync());
  RETURN_IF_ERROR(env_->SyncDir(dir_));
  segments_created_.fetch_add(1, std::memory_order_relaxed);
  return file;
}

LogOffset EventLog::Append(std::string_view payload) {
  STREAMREC_CHECK(!options_.read_only) << "Append on a log opened for reading only";
  const LogOffset offset{next_offset_++};
  if (failed_) return offset;  // Commit will only report the error
  const uint64_t record_bytes = segment::kRecordHeaderBytes + payload.size();
  if (tail_bytes_ > segment::kHeaderBytes && tail_bytes_ + record_bytes > options_.segment_bytes) {
    rolls_.push_back({pending_.size(), offset});
    tail_bytes_ = segment::kHeaderBytes;
  }
  segment::AppendRecord(payload, &pending_);
  tail_bytes_ += record_bytes;
  return offset;
}

absl::Status EventLog::Commit() {
  STREAMREC_CHECK(!options_.read_only) << "Commit on a log opened for reading only";
  if (absl::Status healthy = Healthy(); !healthy.ok()) {
    // A background sync failed: as after a failed commit, nothing more is buffered.
    pending_.clear();
    rolls_.clear();
    failed_ = true;
    return healthy;
  }
  size_t first_segment;
  uint64_t first_segment_bytes;
  LogOffset committed_before;
  {
    std::lock_guard lock(mu_);
    first_segment = segments_.size() - 1;
    first_segment_bytes = segments_.back().committed_bytes;
    committed_before = committed_offset_;
  }
  const std::string_view pending = pending_;
  absl::Status status;
  size_t begin = 0;
  for (const Roll& roll : rolls_) {
    status = WriteActive(pending.substr(begin, roll.pending_pos - begin), roll.first);
    if (status.ok()) status = RollTo(roll.first);
    if (!status.ok()) break;
    begin = roll.pending_pos;
  }
  if (status.ok()) status = WriteActive(pending.substr(begin), LogOffset{next_offset_});
  if (status.ok() && SyncsOnCommit(options_.fsync)) status = SyncActive();
  if (!status.ok()) {
    Fail(status);
    TakeBack(first_segment, first_segment_bytes, committed_before);
  }
  pending_.clear();
  rolls_.clear();
  if (!status.ok()) return status;
  commits_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

void EventLog::TakeBack(size_t segment, uint64_t bytes, LogOffset committed) {
  std::string path;
  {
    std::lock_guard lock(mu_);
    segments_.resize(segment + 1);
    segments_.back().committed_bytes = bytes;
    committed_offset_ = committed;
    path = segments_.back().path;
  }
  // Every segment the commit was to begin, also one whose creation failed half-way: left
  // behind, it would not continue the truncated segment, and recovery would refuse it.
  // The newest first, each removal synced, and all before the truncation: an
  // interruption leaves segments that continue each other.
  for (auto roll = rolls_.rbegin(); roll != rolls_.rend(); ++roll) {
    env_->RemoveFile(JoinPath(dir_, segment::FileName(roll->first))).IgnoreError();
    env_->SyncDir(dir_).IgnoreError();
  }
  env_->TruncateFile(path, bytes).IgnoreError();  // truncates and syncs
}

absl::Status EventLog::WriteActive(std::string_view bytes, LogOffset end) {
  if (bytes.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(active_->Append(bytes));  // only the writer thread changes active_
  std::lock_guard lock(mu_);
  records_committed_.fetch_add(end.value - committed_offset_.value, std::memory_order_relaxed);
  bytes_written_.fetch_add(bytes.size(), std::memory_order_relaxed);
  segments_.back().committed_bytes += bytes.size();
  committed_offset_ = end;
  return absl::OkStatus();
}

absl::Status EventLog::RollTo(LogOffset first) {
  // The old segment is complete on disk before the new one exists: recovery may then
  // treat damage in any segment but the last as damage, not as an interrupted write.
  RETURN_IF_ERROR(SyncActive());
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, CreateSegmentFile(first));
  std::lock_guard lock(mu_);
  segments_.push_back({first, JoinPath(dir_, segment::FileName(first)), segment::kHeaderBytes});
  active_ = std::move(file);
  active_synced_bytes_ = segment::kHeaderBytes;
  return absl::OkStatus();
}

absl::Status EventLog::SyncActive() {
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(error_);
  const uint64_t target = segments_.back().committed_bytes;
  if (active_synced_bytes_ >= target) return absl::OkStatus();
  const std::shared_ptr<WritableFile> file = active_;
  lock.unlock();  // the writer may keep writing while the disk syncs
  const auto start = std::chrono::steady_clock::now();
  const absl::Status status = file->Sync();
  const auto micros = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::steady_clock::now() - start)
                                                .count());
  lock.lock();
  if (!status.ok()) {
    if (error_.ok()) error_ = status;
    return status;
  }
  syncs_.fetch_add(1, std::memory_order_relaxed);
  sync_latency_.Record(micros);
  if (file == active_) active_synced_bytes_ = std::max(active_synced_bytes_, target);
  return absl::OkStatus();
}

absl::Status EventLog::Sync() {
  STREAMREC_CHECK(!options_.read_only) << "Sync on a log opened for reading only";
  RETURN_IF_ERROR(Healthy());
  absl::Status status = SyncActive();
  if (!status.ok()) Fail(status);
  return status;
}

absl::Status EventLog::Healthy() const {
  std::lock_guard lock(mu_);
  return error_;
}

void EventLog::Fail(const absl::Status& status) {
  failed_ = true;
  std::lock_guard lock(mu_);
  if (error_.ok()) error_ = status;
}

void EventLog::BackgroundSync() {
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_for(lock, options_.sync_interval, [this] { return stop_; })) {
    lock.unlock();
    SyncActive().IgnoreError();  // an error is kept in error_ for the next Commit
    lock.lock();
  }
}

absl::Status EventLog::DropBefore(LogOffset offset) {
  STREAMREC_CHECK(!options_.read_only) << "DropBefore on a log opened for reading only";
  std::vector<std::string> doomed;
  {
    std::lock_guard lock(mu_);
    size_t n = 0;
    while (n + 1 < segments_.size() && segments_[n + 1].first <= offset) ++n;
    for (size_t i = 0; i < n; ++i) doomed.push_back(segments_[i].path);
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(n));
  }
  for (const std::string& path : doomed) RETURN_IF_ERROR(env_->RemoveFile(path));
  if (!doomed.empty()) RETURN_IF_ERROR(env_->SyncDir(dir_));
  return absl::OkStatus();
}

absl::Status EventLog::ReadFrom(
    LogOffset from, absl::FunctionRef<absl::Status(LogOffset, std::string_view)> fn) const {
  std::vector<Segment> segments;
  LogOffset end;
  {
    std::lock_guard lock(mu_);
    segments = segments_;
    end = committed_offset_;
  }
  if (from < segments.front().first) {
    return absl::OutOfRangeError(StrCat("offset ", from.value, " was dropped from ", dir_,
                                        ": the log starts at offset ",
                                        segments.front().first.value));
  }
  if (from > end) {
    return absl::OutOfRangeError(StrCat("offset ", from.value, " is past the end of ", dir_,
                                        " (next offset ", end.value, ")"));
  }
  // The last segment whose first offset is at or below `from`.
  auto it = std::upper_bound(segments.begin(), segments.end(), from,
                             [](LogOffset o, const Segment& s) { return o < s.first; });
  for (--it; it != segments.end() && from < end; ++it) {
    ASSIGN_OR_RETURN(const std::unique_ptr<FileContents> contents, env_->ReadFile(it->path));
    // Bytes past committed_bytes may be a write in progress.
    const std::string_view buffer = contents->data().substr(0, it->committed_bytes);
    const segment::HeaderResult header = segment::ParseHeader(buffer, it->first);
    if (header.problem) return absl::DataLossError(StrCat(it->path, ": ", header.problem->reason));
    segment::RecordScanner scanner(buffer);
    std::string_view payload;
    uint64_t offset = it->first.value;
    for (; scanner.Next(&payload); ++offset) {
      if (offset >= from.value) RETURN_IF_ERROR(fn(LogOffset{offset}, payload));
    }
    if (const std::optional<segment::Problem>& problem = scanner.problem()) {
      return absl::DataLossError(StrCat(it->path, ": ", problem->reason, " at byte ", problem->at,
                                        " (record ", offset, ")"));
    }
    if (scanner.position() != it->committed_bytes) {
      return absl::DataLossError(StrCat(it->path, ": ", scanner.position(), " bytes, ",
                                        it->committed_bytes, " were committed"));
    }
    from = LogOffset{std::max(from.value, offset)};
  }
  return absl::OkStatus();
}

LogOffset EventLog::start_offset() const {
  std::lock_guard lock(mu_);
  return segments_.front().first;
}

LogOffset EventLog::committed_offset() const {
  std::lock_guard lock(mu_);
  return committed_offset_;
}

EventLogStats EventLog::stats() const {
  EventLogStats s{records_committed_.load(std::memory_order_relaxed),
                  bytes_written_.load(std::memory_order_relaxed),
                  commits_.load(std::memory_order_relaxed), syncs_.load(std::memory_order_relaxed),
                  segments_created_.load(std::memory_order_relaxed)};
  s.sync_latency_counts = sync_latency_.Counts();
  s.sync_micros = sync_latency_.SumMicros();
  return s;
}

}  // namespace streamrec
