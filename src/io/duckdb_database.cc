#include "io/duckdb_database.h"

namespace streamrec {

DuckDbDatabase::~DuckDbDatabase() {
  if (connection_ != nullptr) duckdb_disconnect(&connection_);
  if (database_ != nullptr) duckdb_close(&database_);
}

absl::Status DuckDbDatabase::Open() {
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) == DuckDBError) {
    return absl::InternalError("cannot configure DuckDB");
  }
  duckdb_set_config(config, "threads", "2");
  duckdb_set_config(config, "autoinstall_known_extensions", "false");
  char* error = nullptr;
  const duckdb_state opened = duckdb_open_ext(nullptr, &database_, config, &error);
  duckdb_destroy_config(&config);
  if (opened == DuckDBError) {
    absl::Status s = absl::InternalError(CleanDuckDbError(error));
    duckdb_free(error);
    return s;
  }
  if (duckdb_connect(database_, &connection_) == DuckDBError) {
    return absl::InternalError("cannot connect to DuckDB");
  }
  // TIMESTAMPTZ values then read as UTC with a "+00" suffix. Should this fail, they
  // read in the local zone with its offset, which parses to the same instant.
  duckdb_query(connection_, "SET TimeZone = 'UTC'", nullptr);
  return absl::OkStatus();
}

std::string CleanDuckDbError(const char* error) {
  std::string text = error != nullptr ? error : "unknown DuckDB error";
  if (size_t cut = text.find("\n\nLINE "); cut != std::string::npos) text.resize(cut);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace streamrec
