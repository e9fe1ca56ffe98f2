// ConvertCsvToParquet: a TableWriter CSV turned into a typed Parquet file by DuckDB.
//
// Operation: one in-memory DuckDB runs
//   COPY (SELECT * FROM read_csv('<csv>', header = true, columns = {...}, ...))
//     TO '<parquet>' (FORMAT parquet)
// with the column types spelled out from the schema, so nothing is sniffed and a
// value that does not fit its column is an error rather than a silently changed type.
// DuckDB streams the CSV through; memory does not grow with the file.
//
// The CSV dialect is TableWriter's: a header line, ',' between fields, '"' quoting
// with '""' for a quote inside a quoted field, and an empty field for NULL.

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "io/duckdb_database.h"
#include "io/table_writer.h"

namespace streamrec {
namespace {

// `text` as an SQL string literal: in single quotes, a quote doubled. DuckDB gives a
// backslash no special meaning in such a literal.
std::string SqlString(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

const char* SqlType(ColumnType type) {
  switch (type) {
    case ColumnType::kText:
      return "VARCHAR";
    case ColumnType::kInt:
      return "BIGINT";
    case ColumnType::kDouble:
      return "DOUBLE";
    case ColumnType::kTime:
      return "TIMESTAMP";
  }
  return "VARCHAR";
}

std::string CopyStatement(const std::string& csv_path, const Schema& schema,
                          const std::string& parquet_path) {
  std::string columns;
  for (const Column& column : schema) {
    absl::StrAppend(&columns, columns.empty() ? "" : ", ", SqlString(column.name), ": ",
                    SqlString(SqlType(column.type)));
  }
  return absl::StrCat("COPY (SELECT * FROM read_csv(", SqlString(csv_path),
                      ", header = true, delim = ',', quote = '\"', escape = '\"',"
                      " nullstr = '', auto_detect = false, columns = {",
                      columns, "})) TO ", SqlString(parquet_path), " (FORMAT parquet)");
}

}  // namespace

absl::Status ConvertCsvToParquet(const std::string& csv_path, const Schema& schema,
                                 const std::string& parquet_path) {
  const std::string what = absl::StrCat("cannot convert ", csv_path, " to Parquet ", parquet_path);
  if (schema.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": empty schema"));
  // A path holding a NUL would be cut short in the SQL text and name another file.
  if (csv_path.find('\0') != std::string::npos || parquet_path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": path holds a NUL byte"));
  }

  DuckDbDatabase db;
  if (absl::Status s = db.Open(); !s.ok()) {
    return absl::InternalError(absl::StrCat(what, ": ", s.message()));
  }

  // A failed COPY may leave a partial file behind; it is removed unless it was there
  // before the call (then it is not ours to delete).
  struct stat st;
  const bool existed = ::stat(parquet_path.c_str(), &st) == 0;

  duckdb_result result;
  const duckdb_state state =
      duckdb_query(db.connection(), CopyStatement(csv_path, schema, parquet_path).c_str(), &result);
  absl::Status status;
  if (state == DuckDBError) {
    // An I/O failure is the machine's; anything else (a value that does not fit its
    // column, a malformed line) is the CSV's.
    std::string message = absl::StrCat(what, ": ", CleanDuckDbError(duckdb_result_error(&result)));
    status = duckdb_result_error_type(&result) == DUCKDB_ERROR_IO
                 ? absl::InternalError(std::move(message))
                 : absl::InvalidArgumentError(std::move(message));
  }
  duckdb_destroy_result(&result);
  if (!status.ok() && !existed) ::unlink(parquet_path.c_str());
  return status;
}

}  // namespace streamrec
