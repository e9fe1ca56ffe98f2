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

#include <cstdint>
#include <memory>
#include <optional>
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
  bool closed_ = false;
  bool committed_ = false;
  int64_t rows_ = 0;
  EventTime last_time_{INT64_MIN};  // the last time written, and its text
  char last_time_text_[kMaxFormattedTime];
  size_t last_time_length_ = 0;
};

// Converts a headed CSV file written by TableWriter into Parquet with the given column
// types (empty fields become NULL). Used by TableWriter::Finish for kParquet.
absl::Status ConvertCsvToParquet(const std::string& csv_path, const Schema& schema,
                                 const std::string& parquet_path);

}  // namespace streamrec
