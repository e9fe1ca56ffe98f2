// OpenParquetSource: a Parquet file read through DuckDB as rows of text fields.
//
// Operation: one in-memory DuckDB per source runs
//   SELECT COLUMNS(*)::VARCHAR FROM read_parquet(?)
// with the path bound as a parameter (no quoting to get wrong) and hands the result
// out chunk by chunk (DuckDB's vector size, 2048 rows); at most one chunk is held at a
// time, so a file of any size is read in bounded memory. The cast to VARCHAR is
// DuckDB's: a TIMESTAMP reads as `2024-02-01 10:00:00` (with `.f` when the fraction
// is not zero), a TIMESTAMPTZ as `2024-02-01 10:00:00+00` (the session is UTC), a
// DOUBLE as its shortest round-trip text, a DATE as `2024-02-01`.
//
// Concurrency: a source is used by one thread at a time; separate sources share nothing.

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "io/duckdb_database.h"
#include "io/row_source.h"

namespace streamrec {
namespace {

// Text of row `row` of a flat VARCHAR vector. The layout is the one duckdb.h documents
// for duckdb_string_t: strings of up to 12 bytes are stored inline, longer ones behind
// a pointer into the chunk's own memory. Either way the bytes live as long as the chunk.
std::string_view StringAt(duckdb_string_t* data, idx_t row) {
  duckdb_string_t& s = data[row];
  const uint32_t length = s.value.inlined.length;
  const char* bytes = length <= 12 ? s.value.inlined.inlined : s.value.pointer.ptr;
  return std::string_view(bytes, length);
}

// A null validity mask means "every row valid" (duckdb.h, duckdb_vector_get_validity).
bool IsValid(const uint64_t* validity, idx_t row) {
  return validity == nullptr || ((validity[row / 64] >> (row % 64)) & 1) != 0;
}

class ParquetSource final : public RowSource {
 public:
  ParquetSource(std::string path, int64_t file_size)
      : path_(std::move(path)), file_size_(file_size) {}

  // Releases DuckDB's objects in the reverse order of their creation.
  ~ParquetSource() override {
    if (chunk_ != nullptr) duckdb_destroy_data_chunk(&chunk_);
    if (has_result_) duckdb_destroy_result(&result_);
    if (statement_ != nullptr) duckdb_destroy_prepare(&statement_);
  }

  ParquetSource(const ParquetSource&) = delete;
  ParquetSource& operator=(const ParquetSource&) = delete;

  // Opens the database, binds the file and starts the query. Errors name the path.
  absl::Status Open() {
    if (absl::Status s = db_.Open(); !s.ok()) return Error(std::string(s.message()));
    connection_ = db_.connection();

    CountRows();

    if (duckdb_prepare(connection_, "SELECT COLUMNS(*)::VARCHAR FROM read_parquet(?)",
                       &statement_) == DuckDBError) {
      return Error(CleanDuckDbError(duckdb_prepare_error(statement_)));
    }
    if (duckdb_bind_varchar_length(statement_, 1, path_.data(), path_.size()) == DuckDBError) {
      return Error("cannot bind the path");
    }
    // The streaming execution is marked deprecated in duckdb.h but has no replacement
    // yet in 1.4; duckdb_execute_prepared would materialize the whole file.
    const duckdb_state executed = duckdb_execute_prepared_streaming(statement_, &result_);
    has_result_ = true;
    if (executed == DuckDBError) return Error(CleanDuckDbError(duckdb_result_error(&result_)));

    const idx_t column_count = duckdb_column_count(&result_);
    columns_.reserve(column_count);
    for (idx_t c = 0; c < column_count; ++c) columns_.emplace_back(duckdb_column_name(&result_, c));
    data_.resize(column_count);
    validity_.resize(column_count);
    return absl::OkStatus();
  }

  const std::vector<std::string>& columns() const override { return columns_; }

  absl::StatusOr<RowStatus> Next(Row* row) override {
    while (chunk_row_ >= chunk_size_) {
      if (finished_) return RowStatus::kEnd;
      if (absl::Status s = FetchChunk(); !s.ok()) return s;
    }
    row->fields.resize(columns_.size());
    for (size_t c = 0; c < columns_.size(); ++c) {
      row->fields[c] =
          IsValid(validity_[c], chunk_row_) ? StringAt(data_[c], chunk_row_) : std::string_view();
    }
    ++chunk_row_;
    row->line = ++rows_read_;
    return RowStatus::kRow;
  }

  // An estimate: the share of rows read times the file size.
  int64_t bytes_read() const override {
    if (total_rows_ <= 0) return 0;
    return static_cast<int64_t>(static_cast<double>(rows_read_) / total_rows_ * file_size_);
  }
  int64_t bytes_total() const override { return file_size_; }

 private:
  absl::Status Error(const std::string& reason) const {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read Parquet file ", path_, ": ", reason));
  }

  // Reads the row count from the file's footer, for bytes_read(). Leaves it at 0 when
  // the footer cannot be read; the main query then reports why.
  void CountRows() {
    duckdb_prepared_statement count = nullptr;
    if (duckdb_prepare(connection_, "SELECT sum(num_rows)::BIGINT FROM parquet_file_metadata(?)",
                       &count) == DuckDBSuccess &&
        duckdb_bind_varchar_length(count, 1, path_.data(), path_.size()) == DuckDBSuccess) {
      duckdb_result result;
      if (duckdb_execute_prepared(count, &result) == DuckDBSuccess) {
        if (duckdb_data_chunk chunk = duckdb_fetch_chunk(result); chunk != nullptr) {
          duckdb_vector vector = duckdb_data_chunk_get_vector(chunk, 0);
          if (duckdb_data_chunk_get_size(chunk) == 1 &&
              IsValid(duckdb_vector_get_validity(vector), 0)) {
            total_rows_ = static_cast<int64_t*>(duckdb_vector_get_data(vector))[0];
          }
          duckdb_destroy_data_chunk(&chunk);
        }
      }
      duckdb_destroy_result(&result);
    }
    duckdb_destroy_prepare(&count);
  }

  // Replaces the current chunk with the next one, or sets finished_. A null chunk is
  // the end of the result, unless the result carries an error (a corrupt page, say).
  absl::Status FetchChunk() {
    if (chunk_ != nullptr) duckdb_destroy_data_chunk(&chunk_);
    chunk_ = duckdb_fetch_chunk(result_);
    chunk_row_ = 0;
    chunk_size_ = 0;
    if (chunk_ == nullptr) {
      finished_ = true;
      const char* error = duckdb_result_error(&result_);
      if (error != nullptr && *error != '\0') {
        return absl::DataLossError(absl::StrCat("cannot read Parquet file ", path_, " after row ",
                                                rows_read_, ": ", CleanDuckDbError(error)));
      }
      return absl::OkStatus();
    }
    // Chunks fetched through the C API are flat, so row i of the chunk is entry i.
    chunk_size_ = duckdb_data_chunk_get_size(chunk_);
    for (size_t c = 0; c < columns_.size(); ++c) {
      duckdb_vector vector = duckdb_data_chunk_get_vector(chunk_, c);
      data_[c] = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vector));
      validity_[c] = duckdb_vector_get_validity(vector);
    }
    return absl::OkStatus();
  }

  const std::string path_;
  const int64_t file_size_;
  int64_t total_rows_ = 0;  // from the footer; 0 when unknown
  std::vector<std::string> columns_;

  DuckDbDatabase db_;  // declared first: destroyed after the statement and result
  duckdb_connection connection_ = nullptr;
  duckdb_prepared_statement statement_ = nullptr;
  duckdb_result result_{};
  bool has_result_ = false;  // result_ must be destroyed, even after a failed execution

  // The current chunk and, per column, its VARCHAR data and validity mask (null when
  // every row is valid). Row views handed out by Next() point into this chunk.
  duckdb_data_chunk chunk_ = nullptr;
  std::vector<duckdb_string_t*> data_;
  std::vector<uint64_t*> validity_;
  idx_t chunk_size_ = 0;
  idx_t chunk_row_ = 0;  // the next row of the chunk to hand out
  bool finished_ = false;
  int64_t rows_read_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RowSource>> OpenParquetSource(const std::string& path) {
  if (path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open ", path, ": path holds a NUL byte"));
  }
  // Checked here rather than left to DuckDB: read_parquet takes a missing path for an
  // empty glob and a folder for all the files in it.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    std::string msg = absl::StrCat("cannot open ", path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(msg) : absl::PermissionDeniedError(msg);
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, ": not a regular file"));
  }
  auto source = std::make_unique<ParquetSource>(path, static_cast<int64_t>(st.st_size));
  if (absl::Status s = source->Open(); !s.ok()) return s;
  return source;
}

}  // namespace streamrec
