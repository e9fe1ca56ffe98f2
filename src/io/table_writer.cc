#include "io/table_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/check.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace streamrec {
namespace {

// Rows are formatted into a buffer of this size, written out whenever it fills.
constexpr size_t kBufferSize = 1 << 20;

std::string TempPathFor(const std::string& final_path) {
  const size_t slash = final_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : final_path.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? final_path : final_path.substr(slash + 1);
  return StrCat(dir, ".", name, ".tmp-", ::getpid());
}

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::InternalError(StrCat("cannot ", what, " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, const char* p, size_t left, const std::string& path) {
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

bool NeedsQuotes(std::string_view s) {
  bool needs = false;
  for (char c : s) needs |= (c == ',') | (c == '"') | (c == '\n') | (c == '\r');
  return needs;
}

}  // namespace

std::string_view TableFormatExtension(TableFormat format) {
  return format == TableFormat::kCsv ? "csv" : "parquet";
}

absl::StatusOr<std::unique_ptr<TableWriter>> TableWriter::Create(std::string path_without_extension,
                                                                 Schema schema,
                                                                 TableFormat format) {
  std::string final_path = StrCat(path_without_extension, ".", TableFormatExtension(format));
  std::string temp_path = TempPathFor(StrCat(path_without_extension, ".csv"));
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", temp_path);
  auto writer = std::unique_ptr<TableWriter>(
      new TableWriter(std::move(final_path), std::move(temp_path), std::move(schema), format, fd));
  for (const Column& c : writer->schema_) writer->Text(c.name);
  writer->EndRow();
  writer->rows_ = 0;
  return writer;
}

TableWriter::TableWriter(std::string final_path, std::string temp_path, Schema schema,
                         TableFormat format, int fd)
    : final_path_(std::move(final_path)),
      temp_path_(std::move(temp_path)),
      schema_(std::move(schema)),
      format_(format),
      fd_(fd),
      buffer_(new char[kBufferSize]),
      capacity_(kBufferSize) {}

TableWriter::~TableWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !fragment_) ::unlink(temp_path_.c_str());
}

std::unique_ptr<TableWriter> TableWriter::NewFragment() const {
  auto fragment =
      std::unique_ptr<TableWriter>(new TableWriter(final_path_, "", schema_, format_, /*fd=*/-1));
  fragment->fragment_ = true;
  return fragment;
}

void TableWriter::Append(TableWriter* fragment) {
  STREAMREC_CHECK(fragment->fragment_ && fragment->at_row_start_ && at_row_start_)
      << "Append takes a fragment's whole rows";
  if (fragment->used_ <= capacity_ - used_) {
    std::memcpy(buffer_.get() + used_, fragment->buffer_.get(), fragment->used_);
    used_ += fragment->used_;
  } else if (write_status_.ok()) {
    write_status_ = Flush();
    if (write_status_.ok()) {
      write_status_ = WriteAll(fd_, fragment->buffer_.get(), fragment->used_, temp_path_);
    }
  }
  rows_ += fragment->rows_;
  fragment->used_ = 0;
  fragment->rows_ = 0;
}

void TableWriter::Grow(size_t n) {
  if (fragment_) {  // keeps every row: a larger buffer
    const size_t capacity = std::max(2 * capacity_, used_ + n);
    std::unique_ptr<char[]> larger(new char[capacity]);
    std::memcpy(larger.get(), buffer_.get(), used_);
    buffer_ = std::move(larger);
    capacity_ = capacity;
    return;
  }
  if (write_status_.ok()) write_status_ = Flush();
  used_ = 0;  // after a write error, keep overwriting: Finish() reports the error
  if (n > capacity_) {
    buffer_.reset(new char[n]);
    capacity_ = n;
  }
}

void TableWriter::Text(std::string_view value) {
  Separator();
  if (!NeedsQuotes(value)) {
    std::memcpy(Reserve(value.size()), value.data(), value.size());
    used_ += value.size();
    return;
  }
  char* p = Reserve(2 * value.size() + 2);
  char* const start = p;
  *p++ = '"';
  for (char c : value) {
    if (c == '"') *p++ = '"';
    *p++ = c;
  }
  *p++ = '"';
  used_ += static_cast<size_t>(p - start);
}

void TableWriter::Int(int64_t value) {
  Separator();
  char* p = Reserve(24);
  used_ += static_cast<size_t>(std::to_chars(p, p + 24, value).ptr - p);
}

void TableWriter::Double(double value) {
  Separator();
  if (!std::isfinite(value)) {
    return;  // never produced by the engine's tables; written as empty rather than as text
  }
  char* p = Reserve(32);
  used_ += static_cast<size_t>(std::to_chars(p, p + 32, value).ptr - p);
}

void TableWriter::NullableDouble(std::optional<double> value) {
  if (value.has_value()) {
    Double(*value);
  } else {
    Null();
  }
}

void TableWriter::Null() { Separator(); }

void TableWriter::Time(EventTime value) {
  Separator();
  char* p = Reserve(kMaxFormattedTime);
  // Rows in time order often repeat the previous time: reuse its text.
  if (value == last_time_) {
    std::memcpy(p, last_time_text_, last_time_length_);
    used_ += last_time_length_;
    return;
  }
  const int n = FormatTime(value, p);
  used_ += static_cast<size_t>(n);
  last_time_ = value;
  last_time_length_ = static_cast<size_t>(n);
  std::memcpy(last_time_text_, p, last_time_length_);
}

void TableWriter::EndRow() {
  *Reserve(1) = '\n';
  ++used_;
  at_row_start_ = true;
  ++rows_;
}

absl::Status TableWriter::Flush() {
  RETURN_IF_ERROR(WriteAll(fd_, buffer_.get(), used_, temp_path_));
  used_ = 0;
  return absl::OkStatus();
}

absl::Status TableWriter::Finish() {
  RETURN_IF_ERROR(Close());
  return Commit();
}

absl::Status TableWriter::Close() {
  if (fragment_) return absl::FailedPreconditionError("a table fragment is appended, not closed");
  if (closed_) return absl::FailedPreconditionError("TableWriter closed twice");
  closed_ = true;
  if (write_status_.ok()) write_status_ = Flush();
  if (write_status_.ok() && ::close(fd_) != 0) write_status_ = Errno("close", temp_path_);
  fd_ = -1;
  if (!write_status_.ok()) return write_status_;
  if (format_ == TableFormat::kParquet) {
    const std::string parquet_temp = TempPathFor(final_path_);
    absl::Status s = ConvertCsvToParquet(temp_path_, schema_, parquet_temp);
    ::unlink(temp_path_.c_str());
    temp_path_ = parquet_temp;  // removed by the destructor unless committed
    if (!s.ok()) {
      write_status_ = s;
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status TableWriter::Commit() {
  if (!closed_ || !write_status_.ok()) {
    return absl::FailedPreconditionError("TableWriter committed without a successful Close");
  }
  if (committed_) return absl::OkStatus();
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    return Errno("rename into place", final_path_);
  }
  committed_ = true;
  return absl::OkStatus();
}

void WriteTablesInParts(std::span<const TableInParts> tables, int threads) {
  struct Job {
    size_t table;
    size_t part;
  };
  std::vector<Job> jobs;
  for (size_t t = 0; t < tables.size(); ++t) {
    for (size_t p = 0; p < tables[t].parts; ++p) jobs.push_back({t, p});
  }
  std::atomic<size_t> next_job{0};
  std::mutex mu;
  std::condition_variable appended;
  std::vector<size_t> next_part(tables.size(), 0);  // guarded by mu
  // A worker holds one part at a time and takes parts in job order, so the earliest part
  // not yet appended is always being formatted, never waiting: no worker waits forever.
  const auto work = [&] {
    std::vector<std::unique_ptr<TableWriter>> fragments(tables.size());
    for (size_t j; (j = next_job.fetch_add(1)) < jobs.size();) {
      const auto [t, p] = jobs[j];
      if (fragments[t] == nullptr) fragments[t] = tables[t].out->NewFragment();
      tables[t].write_part(p, fragments[t].get());
      std::unique_lock lock(mu);
      appended.wait(lock, [&] { return next_part[t] == p; });
      tables[t].out->Append(fragments[t].get());
      ++next_part[t];
      appended.notify_all();
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (int i = 1; i < threads; ++i) helpers.emplace_back(work);
    work();
  }
}

}  // namespace streamrec
