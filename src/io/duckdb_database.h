#pragma once
// An in-memory DuckDB database with one connection, for reading and writing files.
// DuckDB computes nothing of the engine's; it only reads Parquet and writes it.
//
// Settings: two worker threads (DuckDB runs beside the engine, not instead of it),
// session time zone UTC, and no extension is ever fetched from the network (Parquet
// and ICU are linked into libduckdb).

#include <string>

#include "absl/status/status.h"
#include "duckdb.h"

namespace streamrec {

class DuckDbDatabase {
 public:
  DuckDbDatabase() = default;
  ~DuckDbDatabase();
  DuckDbDatabase(const DuckDbDatabase&) = delete;
  DuckDbDatabase& operator=(const DuckDbDatabase&) = delete;

  // Opens the database and connects; the error carries DuckDB's reason.
  absl::Status Open();

  // REQUIRES: Open() succeeded. Statements and results made on the connection must be
  // destroyed before this object.
  duckdb_connection connection() const { return connection_; }

 private:
  duckdb_database database_ = nullptr;
  duckdb_connection connection_ = nullptr;
};

// DuckDB's error text without the SQL text and caret it appends ("\n\nLINE 1: ..."),
// which are about our statement, not the user's file.
std::string CleanDuckDbError(const char* error);

}  // namespace streamrec
