#pragma once
// Snapshots: the engine's whole state as bytes, with the log offset it covers (every
// record below it is in the state). Format and rules: docs/formats/snapshot.md.
//
//   ASSIGN_OR_RETURN(auto w, SnapshotWriter::Create(dir, covered));
//   RETURN_IF_ERROR(w->Write(bytes));  // as many times as needed
//   RETURN_IF_ERROR(w->Finish());      // durable under its final name
//
//   std::vector<SkippedSnapshot> skipped;
//   ASSIGN_OR_RETURN(std::optional<LoadedSnapshot> s, LoadNewestSnapshot(dir, {}, &skipped));
//   // s == nullopt: no valid snapshot; start empty and replay the whole log
//
// The bytes are cut into chunks, each compressed into its own zstd frame, so that a
// load decompresses on several threads straight into one buffer and checks each chunk's
// CRC-32C while it is still in cache.
//
// Thread safety: a SnapshotWriter is used by one thread. The free functions may run
// on any thread; RetainNewestSnapshots must not race with another RetainNewestSnapshots
// on the same directory.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "log/env.h"
#include "log/log_offset.h"

namespace streamrec {

struct SnapshotOptions {
  int compression_level = 1;                 // zstd level (negative: faster, larger)
  uint32_t chunk_bytes = uint32_t{4} << 20;  // uncompressed bytes per frame; 1 B to 256 MiB
  int threads = 0;                           // load and verify threads; 0: one per core
  Env* env = nullptr;                        // nullptr: Env::Default()
};

// "snapshot-00000000000000001234.snap".
std::string SnapshotFileName(LogOffset covered);
struct SnapshotName {
  LogOffset covered;
  bool temporary = false;  // a ".snap.tmp": being written or abandoned
};
// Parses a ".snap" or ".snap.tmp" name; nullopt for any other name.
std::optional<SnapshotName> ParseSnapshotFileName(std::string_view name);

class SnapshotWriter {
 public:
  // Starts `dir`/snapshot-<covered>.snap.tmp (creating `dir` when needed).
  static absl::StatusOr<std::unique_ptr<SnapshotWriter>> Create(
      const std::string& dir, LogOffset covered, const SnapshotOptions& options = {});
  // Without a successful Finish(), removes the temporary file.
  ~SnapshotWriter();
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  // Appends state bytes. After an error every later call returns it.
  absl::Status Write(std::string_view bytes);
  // Writes index and trailer, fdatasyncs, renames to the final name, syncs the directory.
  // REQUIRES: called once.
  absl::Status Finish();

  const std::string& path() const { return final_path_; }
  uint64_t uncompressed_bytes() const { return uncompressed_bytes_; }
  uint64_t file_bytes() const { return file_bytes_; }

 private:
  struct IndexEntry {
    uint32_t compressed;
    uint32_t uncompressed;
    uint32_t crc;
  };
  SnapshotWriter(std::string dir, LogOffset covered, const SnapshotOptions& options, Env* env);
  absl::Status Append(std::string_view bytes);  // to the file
  absl::Status CompressChunk(std::string_view chunk);

  const std::string dir_;
  const std::string final_path_;
  const std::string temp_path_;
  const SnapshotOptions options_;
  Env* const env_;
  std::unique_ptr<WritableFile> file_;
  struct ZstdContext;
  std::unique_ptr<ZstdContext> zstd_;
  std::string chunk_;       // input not yet compressed; < chunk_bytes
  std::string compressed_;  // one frame's output
  std::vector<IndexEntry> index_;
  uint64_t uncompressed_bytes_ = 0;
  uint64_t file_bytes_ = 0;
  absl::Status error_;
  bool finished_ = false;
};

// The decompressed bytes of a snapshot, in one buffer (huge pages when large).
class SnapshotBytes {
 public:
  SnapshotBytes() = default;
  explicit SnapshotBytes(size_t size);  // uninitialized
  ~SnapshotBytes();
  SnapshotBytes(SnapshotBytes&& other) noexcept;
  SnapshotBytes& operator=(SnapshotBytes&& other) noexcept;

  std::string_view view() const { return {data_, size_}; }
  char* data() { return data_; }
  size_t size() const { return size_; }

  // Gives the whole pages of the first `prefix` bytes back to the system; reading them
  // afterwards gives zeros. A parser calls it for what it has consumed, so that the
  // state it builds next reuses that memory instead of touching fresh pages (the peak
  // of a restart falls by what is discarded).
  void Discard(size_t prefix);

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t discarded_ = 0;  // bytes from data_ given back, a multiple of the page size
};

struct LoadedSnapshot {
  LogOffset covered;
  std::string path;
  SnapshotBytes bytes;
};
struct SkippedSnapshot {
  std::string path;
  std::string reason;
};

// Loads and verifies the snapshot at `path`. DataLoss (with the path, the byte offset
// when known, and the reason) when it does not verify.
absl::StatusOr<LoadedSnapshot> LoadSnapshot(const std::string& path,
                                            const SnapshotOptions& options = {});

// The valid ".snap" of `dir` with the highest covered offset; each newer one that does
// not verify is appended to `skipped` (may be null). nullopt when there is none (also
// when `dir` does not exist). Errors only when `dir` cannot be listed.
absl::StatusOr<std::optional<LoadedSnapshot>> LoadNewestSnapshot(
    const std::string& dir, const SnapshotOptions& options = {},
    std::vector<SkippedSnapshot>* skipped = nullptr);

// What a snapshot file holds, as far as it could be read.
struct SnapshotInfo {
  LogOffset covered;
  uint64_t file_bytes = 0;
  uint64_t uncompressed_bytes = 0;  // from the trailer; 0 when it is unreadable
  uint64_t frames = 0;
};
// Verifies `path` as LoadSnapshot does, without keeping the bytes; fills `info` as far
// as the file could be read.
absl::Status VerifySnapshot(const std::string& path, const SnapshotOptions& options,
                            SnapshotInfo* info);

// Deletes all ".snap" files of `dir` but the `keep` with the highest covered offsets,
// and each ".snap.tmp" below the newest kept one. Returns the covered offset of the
// oldest kept snapshot (the log may be dropped below it), or offset 0 when none is kept.
// REQUIRES: keep >= 1 (InvalidArgument otherwise).
absl::StatusOr<LogOffset> RetainNewestSnapshots(const std::string& dir, size_t keep = 2,
                                                Env* env = nullptr);

}  // namespace streamrec
