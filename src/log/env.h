#pragma once
// Env: the file-system seam of the durable state (event log, snapshots). Env::Default()
// is POSIX; MemEnv (mem_env.h) keeps files in memory and can lose unsynced writes, so
// tests can prove recovery.
//
// Paths are plain strings joined with '/'. Every error says what was attempted, on
// which path, and why.
//
// Thread safety: an Env may be used from several threads. A WritableFile may be
// Append()ed by one thread while another calls Sync() on it; a RandomAccessFile may be
// read by several threads at once.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace streamrec {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all of `data` at the end of the file (write(2) until done). After an error
  // an unknown prefix of `data` may have been written.
  virtual absl::Status Append(std::string_view data) = 0;
  // Makes everything appended so far durable (fdatasync).
  virtual absl::Status Sync() = 0;
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to `n` bytes at `offset` into `scratch`; fewer only at the end of the file.
  // Returns the number of bytes read.
  virtual absl::StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const = 0;
};

// The whole of a file, read-only, valid while the object lives.
class FileContents {
 public:
  virtual ~FileContents() = default;
  virtual std::string_view data() const = 0;
};

// Held while alive; see Env::LockFile.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;
  // The POSIX file system. Never destroyed.
  static Env* Default();

  // Creates `path` empty (truncating an existing file).
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  // Opens the existing file `path` for appending at its end.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;
  // The whole of `path` as it is now (POSIX: memory-mapped, so no copy; the file must
  // not be truncated while the contents are in use).
  virtual absl::StatusOr<std::unique_ptr<FileContents>> ReadFile(const std::string& path) = 0;
  virtual absl::StatusOr<uint64_t> GetFileSize(const std::string& path) = 0;
  // The names (not paths) of the entries of `dir`, in no particular order. NotFound when
  // `dir` does not exist.
  virtual absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) = 0;
  // Creates `dir` and its missing parents; OK when it exists.
  virtual absl::Status CreateDir(const std::string& dir) = 0;
  virtual absl::Status RemoveFile(const std::string& path) = 0;
  // Atomically replaces `to` when it exists.
  virtual absl::Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Cuts `path` to `size` bytes and makes the new size durable.
  virtual absl::Status TruncateFile(const std::string& path, uint64_t size) = 0;
  // Makes the creations, renames and removals of entries of `dir` durable.
  virtual absl::Status SyncDir(const std::string& dir) = 0;
  // Takes an exclusive lock on `path` (created if missing), held until the FileLock is
  // destroyed. FailedPrecondition when another holder (another process, or another
  // open in this one) has it, shared or exclusive.
  virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
  // Takes a shared lock on `path`, for readers that must not run beside its exclusive
  // holder: readers share it. FailedPrecondition while the exclusive lock is held.
  // Creates nothing, so it works on a read-only file system: NotFound when `path` is
  // missing (nothing ever took the exclusive lock there).
  virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) = 0;
};

// `dir` + "/" + `name`.
std::string JoinPath(std::string_view dir, std::string_view name);

}  // namespace streamrec
