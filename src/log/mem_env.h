#pragma once
// MemEnv: an Env whose files live in memory, for tests of durability. It models what a
// POSIX file system promises and no more:
//   - a file's bytes survive a power loss only up to its last Sync (or TruncateFile);
//   - a directory entry (creation, rename, removal) survives only after SyncDir of its
//     directory; until then a power loss brings back the entry as of the last SyncDir.
// Directories themselves (CreateDir) are durable at once.
//
// Faults: SimulatePowerLoss() applies the rules above, optionally keeping some unsynced
// bytes (a torn write that reached the disk); FailWritesAfter() makes a write stop part
// way and fail, as when a process dies in the middle of write(2); FailSyncs() makes
// every Sync and SyncDir fail. File handles opened before a power loss fail afterwards.
//
// Thread safety: every member may be called from any thread.

#include <cerrno>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "log/env.h"

namespace streamrec {

class MemEnv final : public Env {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override;
  absl::StatusOr<std::unique_ptr<FileContents>> ReadFile(const std::string& path) override;
  absl::StatusOr<uint64_t> GetFileSize(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override;
  absl::Status CreateDir(const std::string& dir) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::Status RenameFile(const std::string& from, const std::string& to) override;
  absl::Status TruncateFile(const std::string& path, uint64_t size) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) override;

  // Power is cut: every file keeps its synced bytes plus up to `unsynced_bytes_kept` of
  // the bytes written after its last sync; directory entries revert to their last
  // SyncDir. Open handles become invalid.
  void SimulatePowerLoss(uint64_t unsynced_bytes_kept = 0);
  // After `bytes` more bytes have been written (over all files), the write that crosses
  // the limit stores only the bytes up to it and fails, and so does every later write.
  // The error is `error` (an errno): EIO for a failing disk, ENOSPC for a full one.
  void FailWritesAfter(uint64_t bytes, int error = EIO);
  void FailSyncs(bool fail);
  // Clears the faults set by FailWritesAfter and FailSyncs.
  void ClearFaults();

  // Test access. The bytes of `path` as a reader sees them; nullopt when it does not exist.
  std::optional<std::string> Contents(const std::string& path) const;
  // Replaces `path` with `data`, durably (as if written, synced and the directory synced).
  void SetContents(const std::string& path, std::string data);
  int syncs() const;  // Sync calls that succeeded, over all files

 private:
  struct Node {
    std::string data;
    size_t synced = 0;  // data[0, synced) survives a power loss
  };
  class File;
  class Reader;
  class Lock;

  // REQUIRES: mu_ held.
  absl::Status CheckParentExists(const std::string& path) const;
  absl::StatusOr<std::shared_ptr<Node>> Find(const std::string& path) const;
  absl::Status CheckGeneration(uint64_t generation, const std::string& path) const;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Node>> live_;     // names as readers see them
  std::map<std::string, std::shared_ptr<Node>> durable_;  // names as of the last SyncDir
  std::set<std::string> dirs_;
  std::set<std::string> locks_;              // held exclusively
  std::map<std::string, int> shared_locks_;  // holders of a shared lock, by path
  uint64_t generation_ = 0;                  // bumped by each power loss
  uint64_t write_budget_ = std::numeric_limits<uint64_t>::max();
  int write_error_ = EIO;  // what a write past the budget fails with
  bool fail_syncs_ = false;
  int syncs_ = 0;
};

}  // namespace streamrec
