#pragma once
// Row sources: CSV, JSON Lines and Parquet files seen as rows of text fields.
//
// Every format is reduced to the same shape, a list of column names and per row one
// text field per column, so that one decoder (row_decoder.h) validates them all and
// reports rejects the same way. Numbers and times in typed formats (Parquet, JSON)
// arrive as their text forms.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace streamrec {

// One row. `fields[i]` belongs to `columns()[i]`; the views stay valid until the next
// call to Next(). A field that the row lacks (a JSON key not present, a SQL NULL) is
// empty.
struct Row {
  std::vector<std::string_view> fields;
  int64_t line = 0;  // CSV/JSONL: the 1-based line where the row starts; Parquet: row number
};

enum class RowStatus {
  kRow,  // `row` holds a row
  kBad,  // this row cannot be split into fields; `bad_reason` says why; reading goes on
  kEnd,  // no more rows
};

// A UTF-8 byte order mark at the start of a CSV file is skipped before anything is split.
struct CsvOptions {
  char delimiter = ',';
  // false: the first line is data, and the columns are named column0, column1, ... as
  // many as the first row that splits into fields has (a malformed row before it is a
  // kBad row like any other; a file of only malformed rows has no columns).
  bool header = true;
};

class RowSource {
 public:
  virtual ~RowSource() = default;

  // Column names in file order.
  virtual const std::vector<std::string>& columns() const = 0;

  // Reads the next row. An I/O failure is an error status; a malformed row is kBad.
  virtual absl::StatusOr<RowStatus> Next(Row* row) = 0;

  // Why the last kBad row was refused, e.g. "a quote inside an unquoted field".
  const std::string& bad_reason() const { return bad_reason_; }

  // Bytes consumed so far and in all, for progress reporting (0 when unknown).
  virtual int64_t bytes_read() const { return 0; }
  virtual int64_t bytes_total() const { return 0; }

  // True when the input ended inside a quoted field (CSV). For a chunk of a file read
  // in parallel that is not the last, it means the chunk's end was not a row boundary.
  virtual bool ended_inside_quotes() const { return false; }

  // CSV: the line number, in the source's own numbering, where the next row would
  // start; after the last row, one past the source's last line (0 for other formats).
  virtual int64_t next_line() const { return 0; }

 protected:
  std::string bad_reason_;
};

// True when OpenRowSource reads `path` as CSV (.csv, .tsv, .txt, .dat, .data, no
// extension).
bool IsCsvPath(const std::string& path);

// Opens `path` by its extension: .csv/.tsv/.txt/.dat/.data (CSV), .jsonl/.ndjson/.json (JSON Lines,
// one object per line), .parquet. `wanted_columns` names the fields a JSON Lines source
// extracts from each object's top-level keys (JSON has no header); other formats ignore
// it. A JSON string is its decoded text, a number the exact text the line writes for it,
// a boolean "true"/"false", null or an absent key an empty field.
absl::StatusOr<std::unique_ptr<RowSource>> OpenRowSource(
    const std::string& path, const CsvOptions& csv, const std::vector<std::string>& wanted_columns);

absl::StatusOr<std::unique_ptr<RowSource>> OpenCsvSource(const std::string& path,
                                                         const CsvOptions& options);
// Where OpenCsvSourceChunks may cut a file.
enum class ChunkCuts {
  // After any line break: nothing is scanned ahead, but a cut may fall inside a quoted
  // field that spans lines.
  kAtLineBreaks,
  // After a line break where the quotes before are balanced (RFC 4180 doubles quotes
  // inside quoted fields, so their parity says whether a quoted field is open): the
  // file before the last cut is scanned first, on the calling thread. A stray quote in
  // a malformed row fools the parity.
  kOutsideQuotes,
};

// Opens a CSV file as sources over consecutive byte ranges ("chunks") of about
// `chunk_bytes` each, for reading in parallel; a file of at most `chunk_bytes` bytes
// is one chunk. A chunk ends just after a line break. A cut inside a quoted field
// leaves the chunk before it ending inside quotes (ended_inside_quotes()), which is how
// a caller knows to cut the file otherwise or to read it whole; a chunk that ends
// outside quotes, after chunks that all did, ended at a true row boundary. Every chunk
// reports the file's columns.
// Line numbers: the first chunk numbers its rows' lines as the file does; every later
// chunk numbers its own lines from 1. Chunk i's true line numbers are its own plus
// (true next_line() of chunk i - 1) - 1, known once the chunks before it are read.
absl::StatusOr<std::vector<std::unique_ptr<RowSource>>> OpenCsvSourceChunks(
    const std::string& path, const CsvOptions& options, int64_t chunk_bytes,
    ChunkCuts cuts_at = ChunkCuts::kAtLineBreaks);

absl::StatusOr<std::unique_ptr<RowSource>> OpenJsonLinesSource(
    const std::string& path, const std::vector<std::string>& wanted_columns);
// Reads a Parquet file through DuckDB; every column is cast to text.
absl::StatusOr<std::unique_ptr<RowSource>> OpenParquetSource(const std::string& path);

}  // namespace streamrec
