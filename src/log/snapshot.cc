#include "log/snapshot.h"

#include <sys/mman.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <mutex>
#include <thread>

#include "common/byte_io.h"
#include "common/check.h"
#include "common/huge_page_allocator.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "log/crc32c.h"

namespace streamrec {
namespace {

constexpr std::string_view kHeaderMagic = "SRSNAPSH";
constexpr std::string_view kTrailerMagic = "SRSNAPTR";
constexpr uint32_t kVersion = 1;
constexpr uint32_t kZstdCodec = 1;
constexpr size_t kHeaderBytes = 32;
constexpr size_t kTrailerBytes = 32;
constexpr size_t kIndexEntryBytes = 12;
constexpr uint32_t kMaxChunkBytes = uint32_t{256} << 20;

constexpr std::string_view kPrefix = "snapshot-";
constexpr std::string_view kSuffix = ".snap";
constexpr std::string_view kTempSuffix = ".tmp";
constexpr size_t kOffsetDigits = 20;

std::string BaseName(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

absl::Status Corrupt(const std::string& path, std::string_view why) {
  return absl::DataLossError(StrCat(path, ": ", why));
}

struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// One compressed chunk, located in the file and in the decompressed bytes.
struct Frame {
  uint64_t file_offset;
  uint64_t out_offset;
  uint32_t compressed;
  uint32_t uncompressed;
  uint32_t crc;
};

struct Layout {
  uint32_t chunk_bytes = 0;
  uint64_t uncompressed = 0;
  uint32_t max_compressed = 0;
  std::vector<Frame> frames;
};

absl::Status ReadExactly(const RandomAccessFile& file, const std::string& path, uint64_t offset,
                         size_t n, char* out) {
  ASSIGN_OR_RETURN(const size_t got, file.Read(offset, n, out));
  if (got != n)
    return Corrupt(path, StrCat("ends at byte ", offset + got, " inside a read of ", n));
  return absl::OkStatus();
}

// Reads and checks header, trailer and index (rules 1 and 2 of snapshot.md).
absl::Status ReadLayout(const RandomAccessFile& file, const std::string& path, uint64_t file_bytes,
                        Layout* layout, SnapshotInfo* info) {
  info->file_bytes = file_bytes;
  if (file_bytes < kHeaderBytes + kTrailerBytes) {
    return Corrupt(path,
                   StrCat("file of ", file_bytes, " bytes is shorter than header and trailer"));
  }
  char header[kHeaderBytes];
  RETURN_IF_ERROR(ReadExactly(file, path, 0, kHeaderBytes, header));
  uint32_t stored_crc;
  std::memcpy(&stored_crc, header + kHeaderBytes - 4, 4);
  if (std::string_view(header, kHeaderMagic.size()) != kHeaderMagic) {
    return Corrupt(path, "not a snapshot (bad header magic)");
  }
  if (Crc32c(std::string_view(header, kHeaderBytes - 4)) != stored_crc) {
    return Corrupt(path, "header checksum mismatch");
  }
  ByteReader h(std::string_view(header + kHeaderMagic.size(), kHeaderBytes - kHeaderMagic.size()));
  uint32_t version = 0, codec = 0;
  h.Get(&version);
  h.Get(&layout->chunk_bytes);
  h.Get(&info->covered.value);
  h.Get(&codec);
  if (version != kVersion) return Corrupt(path, StrCat("unsupported format version ", version));
  if (codec != kZstdCodec) return Corrupt(path, StrCat("unknown codec ", codec));
  if (layout->chunk_bytes == 0 || layout->chunk_bytes > kMaxChunkBytes) {
    return Corrupt(path, StrCat("chunk size ", layout->chunk_bytes, " out of range"));
  }
  if (const std::optional<SnapshotName> name = ParseSnapshotFileName(BaseName(path));
      name && name->covered != info->covered) {
    return Corrupt(path, StrCat("header covers offset ", info->covered.value, ", the file name ",
                                name->covered.value));
  }

  char trailer[kTrailerBytes];
  const uint64_t trailer_at = file_bytes - kTrailerBytes;
  RETURN_IF_ERROR(ReadExactly(file, path, trailer_at, kTrailerBytes, trailer));
  if (std::string_view(trailer + 24, kTrailerMagic.size()) != kTrailerMagic) {
    return Corrupt(path,
                   StrCat("no trailer at byte ", trailer_at, " (bad magic; incomplete file?)"));
  }
  std::memcpy(&stored_crc, trailer + 20, 4);
  if (Crc32c(std::string_view(trailer, 20)) != stored_crc) {
    return Corrupt(path, StrCat("trailer checksum mismatch at byte ", trailer_at));
  }
  ByteReader t(std::string_view(trailer, 20));
  uint64_t frame_count = 0;
  uint32_t index_crc = 0;
  t.Get(&layout->uncompressed);
  t.Get(&frame_count);
  t.Get(&index_crc);
  info->uncompressed_bytes = layout->uncompressed;
  info->frames = frame_count;
  if (frame_count > (trailer_at - kHeaderBytes) / kIndexEntryBytes) {
    return Corrupt(path,
                   StrCat("trailer counts ", frame_count, " frames, more than the file holds"));
  }
  const uint64_t index_at = trailer_at - frame_count * kIndexEntryBytes;
  std::string index(frame_count * kIndexEntryBytes, '\0');
  RETURN_IF_ERROR(ReadExactly(file, path, index_at, index.size(), index.data()));
  if (Crc32c(index) != index_crc) {
    return Corrupt(path, StrCat("index checksum mismatch at byte ", index_at));
  }

  ByteReader r(index);
  layout->frames.resize(frame_count);
  uint64_t file_offset = kHeaderBytes;
  uint64_t out_offset = 0;
  for (uint64_t i = 0; i < frame_count; ++i) {
    Frame& f = layout->frames[i];
    r.Get(&f.compressed);
    r.Get(&f.uncompressed);
    r.Get(&f.crc);
    if (f.uncompressed > layout->chunk_bytes) {
      return Corrupt(path, StrCat("frame ", i, " holds ", f.uncompressed,
                                  " bytes, more than the chunk size ", layout->chunk_bytes));
    }
    f.file_offset = file_offset;
    f.out_offset = out_offset;
    file_offset += f.compressed;
    out_offset += f.uncompressed;
    layout->max_compressed = std::max(layout->max_compressed, f.compressed);
  }
  if (file_offset != index_at) {
    return Corrupt(
        path, StrCat("frames end at byte ", file_offset, ", the index starts at byte ", index_at));
  }
  if (out_offset != layout->uncompressed) {
    return Corrupt(path, StrCat("frames hold ", out_offset, " bytes, the trailer says ",
                                layout->uncompressed));
  }
  return absl::OkStatus();
}

int ThreadCount(const SnapshotOptions& options, size_t frames) {
  const int wanted =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  return static_cast<int>(std::clamp<size_t>(frames, 1, std::max(wanted, 1)));
}

// Decompresses and checks every frame (rule 3), into `out` at each frame's offset, or
// into scratch when `out` is null. Frames are shared out to threads one at a time; the
// error of the lowest failing frame is returned.
absl::Status DecodeFrames(const RandomAccessFile& file, const std::string& path,
                          const Layout& layout, const SnapshotOptions& options, char* out) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  size_t error_frame = layout.frames.size();
  absl::Status error;
  auto work = [&] {
    std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx(ZSTD_createDCtx());
    std::unique_ptr<char[]> input(new char[layout.max_compressed]);
    std::unique_ptr<char[]> scratch(out == nullptr ? new char[layout.chunk_bytes] : nullptr);
    for (size_t i; !failed.load(std::memory_order_relaxed) &&
                   (i = next.fetch_add(1, std::memory_order_relaxed)) < layout.frames.size();) {
      const Frame& f = layout.frames[i];
      char* dst = out != nullptr ? out + f.out_offset : scratch.get();
      absl::Status status = ReadExactly(file, path, f.file_offset, f.compressed, input.get());
      if (status.ok()) {
        const size_t n =
            ZSTD_decompressDCtx(dctx.get(), dst, f.uncompressed, input.get(), f.compressed);
        if (ZSTD_isError(n)) {
          status = Corrupt(
              path, StrCat("frame ", i, " at byte ", f.file_offset, ": ", ZSTD_getErrorName(n)));
        } else if (n != f.uncompressed) {
          status = Corrupt(path, StrCat("frame ", i, " at byte ", f.file_offset, ": ", n,
                                        " bytes, the index says ", f.uncompressed));
        } else if (Crc32c(std::string_view(dst, n)) != f.crc) {
          status =
              Corrupt(path, StrCat("frame ", i, " at byte ", f.file_offset, ": checksum mismatch"));
        }
      }
      if (!status.ok()) {
        std::lock_guard lock(mu);
        if (i < error_frame) error_frame = i, error = std::move(status);
        failed.store(true, std::memory_order_relaxed);
      }
    }
  };
  const int threads = ThreadCount(options, layout.frames.size());
  std::vector<std::thread> helpers;
  for (int t = 1; t < threads; ++t) helpers.emplace_back(work);
  work();
  for (std::thread& t : helpers) t.join();
  return error;
}

absl::Status OpenAndReadLayout(const std::string& path, Env* env,
                               std::unique_ptr<RandomAccessFile>* file, Layout* layout,
                               SnapshotInfo* info) {
  ASSIGN_OR_RETURN(const uint64_t size, env->GetFileSize(path));
  ASSIGN_OR_RETURN(*file, env->NewRandomAccessFile(path));
  return ReadLayout(**file, path, size, layout, info);
}

Env* EnvOf(const SnapshotOptions& options) {
  return options.env != nullptr ? options.env : Env::Default();
}

}  // namespace

std::string SnapshotFileName(LogOffset covered) {
  return fmt::format("{}{:020}{}", kPrefix, covered.value, kSuffix);
}

std::optional<SnapshotName> ParseSnapshotFileName(std::string_view name) {
  SnapshotName result;
  if (name.ends_with(kTempSuffix)) {
    result.temporary = true;
    name.remove_suffix(kTempSuffix.size());
  }
  if (name.size() != kPrefix.size() + kOffsetDigits + kSuffix.size() ||
      !name.starts_with(kPrefix) || !name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(kPrefix.size(), kOffsetDigits);
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), result.covered.value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return result;
}

// ---------------------------------------------------------------------------------------
// Writing

struct SnapshotWriter::ZstdContext {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ~ZstdContext() { ZSTD_freeCCtx(cctx); }
};

SnapshotWriter::SnapshotWriter(std::string dir, LogOffset covered, const SnapshotOptions& options,
                               Env* env)
    : dir_(std::move(dir)),
      final_path_(JoinPath(dir_, SnapshotFileName(covered))),
      temp_path_(StrCat(final_path_, kTempSuffix)),
      options_(options),
      env_(env),
      zstd_(std::make_unique<ZstdContext>()) {}

absl::StatusOr<std::unique_ptr<SnapshotWriter>> SnapshotWriter::Create(
    const std::string& dir, LogOffset covered, const SnapshotOptions& options) {
  if (options.chunk_bytes == 0 || options.chunk_bytes > kMaxChunkBytes) {
    return absl::InvalidArgumentError(StrCat("snapshot chunk size ", options.chunk_bytes,
                                             " out of range (1 to ", kMaxChunkBytes, ")"));
  }
  if (options.compression_level < ZSTD_minCLevel() ||
      options.compression_level > ZSTD_maxCLevel()) {
    return absl::InvalidArgumentError(StrCat("zstd level ", options.compression_level,
                                             " out of range (", ZSTD_minCLevel(), " to ",
                                             ZSTD_maxCLevel(), ")"));
  }
  Env* env = EnvOf(options);
  RETURN_IF_ERROR(env->CreateDir(dir));
  auto writer = std::unique_ptr<SnapshotWriter>(new SnapshotWriter(dir, covered, options, env));
  const size_t level_set = ZSTD_CCtx_setParameter(writer->zstd_->cctx, ZSTD_c_compressionLevel,
                                                  options.compression_level);
  STREAMREC_CHECK(!ZSTD_isError(level_set)) << ZSTD_getErrorName(level_set);
  ASSIGN_OR_RETURN(writer->file_, env->NewWritableFile(writer->temp_path_));
  writer->chunk_.reserve(options.chunk_bytes);
  writer->compressed_.resize(ZSTD_compressBound(options.chunk_bytes));

  std::string header;
  ByteWriter w(&header);
  w.PutRaw(kHeaderMagic.data(), kHeaderMagic.size());
  w.Put(kVersion);
  w.Put(options.chunk_bytes);
  w.Put(covered.value);
  w.Put(kZstdCodec);
  w.Put(Crc32c(header));
  STREAMREC_CHECK(header.size() == kHeaderBytes);
  RETURN_IF_ERROR(writer->Append(header));
  return writer;
}

SnapshotWriter::~SnapshotWriter() {
  if (finished_ && error_.ok()) return;
  file_.reset();
  env_->RemoveFile(temp_path_).IgnoreError();  // best effort: RetainNewestSnapshots also removes it
}

absl::Status SnapshotWriter::Append(std::string_view bytes) {
  if (error_.ok()) error_ = file_->Append(bytes);
  file_bytes_ += bytes.size();
  return error_;
}

absl::Status SnapshotWriter::CompressChunk(std::string_view chunk) {
  const size_t n = ZSTD_compress2(zstd_->cctx, compressed_.data(), compressed_.size(), chunk.data(),
                                  chunk.size());
  if (ZSTD_isError(n)) {
    error_ = absl::InternalError(
        StrCat("cannot compress into ", temp_path_, ": ", ZSTD_getErrorName(n)));
    return error_;
  }
  index_.push_back({static_cast<uint32_t>(n), static_cast<uint32_t>(chunk.size()), Crc32c(chunk)});
  return Append(std::string_view(compressed_.data(), n));
}

absl::Status SnapshotWriter::Write(std::string_view bytes) {
  RETURN_IF_ERROR(error_);
  uncompressed_bytes_ += bytes.size();
  const size_t chunk_bytes = options_.chunk_bytes;
  while (!bytes.empty()) {
    if (chunk_.empty() && bytes.size() >= chunk_bytes) {  // whole chunks need no copy
      RETURN_IF_ERROR(CompressChunk(bytes.substr(0, chunk_bytes)));
      bytes.remove_prefix(chunk_bytes);
      continue;
    }
    const size_t n = std::min(bytes.size(), chunk_bytes - chunk_.size());
    chunk_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    if (chunk_.size() == chunk_bytes) {
      RETURN_IF_ERROR(CompressChunk(chunk_));
      chunk_.clear();
    }
  }
  return absl::OkStatus();
}

absl::Status SnapshotWriter::Finish() {
  STREAMREC_CHECK(!finished_) << "Finish called twice on " << final_path_;
  finished_ = true;
  if (!chunk_.empty()) RETURN_IF_ERROR(CompressChunk(chunk_));
  std::string index;
  ByteWriter iw(&index);
  for (const IndexEntry& e : index_) {
    iw.Put(e.compressed);
    iw.Put(e.uncompressed);
    iw.Put(e.crc);
  }
  std::string trailer;
  ByteWriter tw(&trailer);
  tw.Put(uncompressed_bytes_);
  tw.Put(static_cast<uint64_t>(index_.size()));
  tw.Put(Crc32c(index));
  tw.Put(Crc32c(trailer));
  tw.PutRaw(kTrailerMagic.data(), kTrailerMagic.size());
  STREAMREC_CHECK(trailer.size() == kTrailerBytes);
  RETURN_IF_ERROR(Append(index));
  RETURN_IF_ERROR(Append(trailer));
  error_ = file_->Sync();
  if (error_.ok()) error_ = env_->RenameFile(temp_path_, final_path_);
  if (error_.ok()) error_ = env_->SyncDir(dir_);
  return error_;
}

// ---------------------------------------------------------------------------------------
// Reading

SnapshotBytes::SnapshotBytes(size_t size)
    : data_(size == 0 ? nullptr : HugePageAllocator<char>().allocate(size)), size_(size) {}

SnapshotBytes::~SnapshotBytes() {
  if (data_ != nullptr) HugePageAllocator<char>().deallocate(data_, size_);
}

SnapshotBytes::SnapshotBytes(SnapshotBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      discarded_(std::exchange(other.discarded_, 0)) {}

SnapshotBytes& SnapshotBytes::operator=(SnapshotBytes&& other) noexcept {
  if (this != &other) {
    this->~SnapshotBytes();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    discarded_ = std::exchange(other.discarded_, 0);
  }
  return *this;
}

void SnapshotBytes::Discard(size_t prefix) {
  // Only buffers of whole huge pages (HugePageAllocator's large blocks, 2 MiB-aligned)
  // and only whole huge pages of them, so no page is split.
  if (size_ < kHugeAllocationThreshold) return;
  const size_t end = std::min(prefix, size_) / kHugePageBytes * kHugePageBytes;
  if (end <= discarded_) return;
  // Advisory: on failure the memory simply stays in use.
  (void)::madvise(data_ + discarded_, end - discarded_, MADV_DONTNEED);
  discarded_ = end;
}

absl::StatusOr<LoadedSnapshot> LoadSnapshot(const std::string& path,
                                            const SnapshotOptions& options) {
  std::unique_ptr<RandomAccessFile> file;
  Layout layout;
  SnapshotInfo info;
  RETURN_IF_ERROR(OpenAndReadLayout(path, EnvOf(options), &file, &layout, &info));
  LoadedSnapshot loaded{info.covered, path, SnapshotBytes(layout.uncompressed)};
  RETURN_IF_ERROR(DecodeFrames(*file, path, layout, options, loaded.bytes.data()));
  return loaded;
}

absl::Status VerifySnapshot(const std::string& path, const SnapshotOptions& options,
                            SnapshotInfo* info) {
  std::unique_ptr<RandomAccessFile> file;
  Layout layout;
  RETURN_IF_ERROR(OpenAndReadLayout(path, EnvOf(options), &file, &layout, info));
  return DecodeFrames(*file, path, layout, options, nullptr);
}

namespace {

// The snapshot files of `dir` by covered offset, ascending. Empty when `dir` is missing.
absl::StatusOr<std::vector<std::pair<SnapshotName, std::string>>> ListSnapshots(
    const std::string& dir, Env* env) {
  absl::StatusOr<std::vector<std::string>> names = env->GetChildren(dir);
  if (absl::IsNotFound(names.status())) return std::vector<std::pair<SnapshotName, std::string>>();
  if (!names.ok()) return names.status();
  std::vector<std::pair<SnapshotName, std::string>> found;
  for (const std::string& name : *names) {
    if (std::optional<SnapshotName> parsed = ParseSnapshotFileName(name)) {
      found.emplace_back(*parsed, JoinPath(dir, name));
    }
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first.covered != b.first.covered ? a.first.covered < b.first.covered
                                              : a.first.temporary < b.first.temporary;
  });
  return found;
}

}  // namespace

absl::StatusOr<std::optional<LoadedSnapshot>> LoadNewestSnapshot(
    const std::string& dir, const SnapshotOptions& options, std::vector<SkippedSnapshot>* skipped) {
  ASSIGN_OR_RETURN(const auto found, ListSnapshots(dir, EnvOf(options)));
  for (auto it = found.rbegin(); it != found.rend(); ++it) {
    if (it->first.temporary) continue;
    absl::StatusOr<LoadedSnapshot> loaded = LoadSnapshot(it->second, options);
    if (loaded.ok()) return std::optional<LoadedSnapshot>(*std::move(loaded));
    if (skipped != nullptr)
      skipped->push_back({it->second, std::string(loaded.status().message())});
  }
  return std::optional<LoadedSnapshot>();
}

absl::StatusOr<LogOffset> RetainNewestSnapshots(const std::string& dir, size_t keep, Env* env) {
  if (keep == 0) return absl::InvalidArgumentError("must keep at least one snapshot");
  if (env == nullptr) env = Env::Default();
  ASSIGN_OR_RETURN(const auto found, ListSnapshots(dir, env));
  std::vector<LogOffset> finished;
  for (const auto& [name, path] : found) {
    if (!name.temporary) finished.push_back(name.covered);
  }
  if (finished.empty()) return LogOffset{0};
  const size_t kept = std::min(keep, finished.size());
  const LogOffset oldest_kept = finished[finished.size() - kept];
  const LogOffset newest = finished.back();
  bool removed = false;
  for (const auto& [name, path] : found) {
    const bool doomed = name.temporary ? name.covered < newest : name.covered < oldest_kept;
    if (!doomed) continue;
    RETURN_IF_ERROR(env->RemoveFile(path));
    removed = true;
  }
  if (removed) RETURN_IF_ERROR(env->SyncDir(dir));
  return oldest_kept;
}

}  // namespace streamrec
