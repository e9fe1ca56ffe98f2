#pragma once
// Table writers: CSV (native, buffered) and Parquet (through DuckDB).
//
// A table is written under a temporary name in its folder and renamed into place by
// Finish(), so a reader never sees a half-written table under its real name. A writer
// destroyed without Finish() removes its temporary file.
//
// Usage:
//   ASSIGN_OR_RETURN(auto w, TableWriter::Create(dir + "/sessions", schema, TableFormat::kCsv));
//   w->Text("u1"); w->Int(1); w->Double(2.5); w->EndRow();
//   RETURN_IF_ERROR(w->Finish());
//
// Large tables are formatted in parts on several threads: each part into a fragment
// (NewFragment), which holds its rows in memory and is appended to the table in part
// order (Append; WriteTablesInParts does this).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/time.h"

namespace streamrec {

enum class TableFormat { kCsv, kParquet };
std::string_view TableFormatExtension(TableFormat format);  // "csv" or "parquet"

enum class ColumnType { kText, kInt, kDouble, kTime };
struct Column {
  std::string name;
  ColumnType type;
};
using Schema = std::vector<Column>;

class TableWriter {
 public:
  // `path_without_extension` gets ".csv" or ".parquet" appended.
  static absl::StatusOr<std::unique_ptr<TableWriter>> Create(std::string path_without_extension,
                                                             Schema schema, TableFormat format);
  ~TableWriter();

  // Field appenders; call one per column, in schema order, then EndRow().
  void Text(std::string_view value);  // quoted when it holds a delimiter, quote or newline
  void Int(int64_t value);
  void Double(double value);  // shortest text that reads back to the same double
  void NullableDouble(std::optional<double> value);  // empty when nullopt
  void Null();
  void Time(EventTime value);  // YYYY-MM-DD HH:MM:SS[.f]
  void EndRow();

  int64_t rows() const { return rows_; }
  const std::string& final_path() const { return final_path_; }

  // A writer that keeps the rows it is given in memory (no header, no file), for a
  // part of this table formatted apart, on any thread, and appended later. Close,
  // Commit and Finish on a fragment are errors.
  std::unique_ptr<TableWriter> NewFragment() const;
  // Adds the rows of `fragment` (from NewFragment) after this table's rows, and empties
  // `fragment` for its next part. REQUIRES: neither writer is mid-row.
  void Append(TableWriter* fragment);

  // Flushes, converts (Parquet), and renames into place: Close() then Commit(). After
  // an error the temporary file is removed and nothing appears under the final name.
  absl::Status Finish();

  // Two phases, for committing several tables together: Close() completes the table
  // under its temporary name; Commit() renames it into place. REQUIRES: Commit only
  // after a successful Close.
  absl::Status Close();
  absl::Status Commit();

 private:
  TableWriter(std::string final_path, std::string temp_path, Schema schema, TableFormat format,
              int fd);
  // Makes room for `n` more bytes and returns where to write them.
  char* Reserve(size_t n) {
    if (used_ + n > capacity_) Grow(n);
    return buffer_.get() + used_;
  }
  void Grow(size_t n);
  void Separator() {
    if (!at_row_start_) *Reserve(1) = ',', ++used_;
    at_row_start_ = false;
  }
  absl::Status Flush();

  std::string final_path_;
  std::string temp_path_;  // the CSV being written (for Parquet: converted at Finish)
  Schema schema_;
  TableFormat format_;
  int fd_ = -1;
  std::unique_ptr<char[]> buffer_;
  size_t used_ = 0;
  size_t capacity_ = 0;
  absl::Status write_status_;  // the first write error; reported by Finish()
  bool at_row_start_ = true;
  bool fragment_ = false;  // rows in memory only; the buffer grows instead of flushing
  bool closed_ = false;
  bool committed_ = false;
  int64_t rows_ = 0;
  EventTime last_time_{INT64_MIN};  // the last time written, and its text
  char last_time_text_[kMaxFormattedTime];
  size_t last_time_length_ = 0;
};

// A table written in parts 0, 1, ..., parts - 1: write_part(p, fragment) writes the
// rows of part p into `fragment`.
struct TableInParts {
  TableWriter* out;
  size_t parts;
  std::function<void(size_t part, TableWriter* fragment)> write_part;
};
// Writes every part of `tables` on `threads` threads (the calling thread among them),
// parts taken in the order given, table by table. Each table gets its parts' rows in
// part order, so it is exactly what writing the parts one after another gives.
// write_part must be safe to call from several threads at once.
void WriteTablesInParts(std::span<const TableInParts> tables, int threads);

// Converts a headed CSV file written by TableWriter into Parquet with the given column
// types (empty fields become NULL). Used by TableWriter::Finish for kParquet.
absl::Status ConvertCsvToParquet(const std::string& csv_path, const Schema& schema,
                                 const std::string& parquet_path);

}  // namespace streamrec
