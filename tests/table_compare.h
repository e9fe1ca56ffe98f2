#pragma once
// A comparer for feature tables written as CSV: the C++ counterpart of
// ../shared/reference/compare-tables.py, for the conformance tests.
//
// Rules (spec/seed-tables.md, "Comparing tables"): rows are matched as sets by the
// table's key, a key seen n times matching the n-th occurrence on the other side (so
// identical enriched events pair up); every column of the expected table must exist in
// the actual one (extra actual columns are allowed); two cells agree when both are empty,
// when both are numbers within `tolerance` absolutely or relatively, or when their text is
// the same. Neither file's row order matters.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace streamrec::conformance {

// The key columns of a feature table by name ("sessions" -> user_id, session_index);
// empty for any other name, which means "every column of the expected table".
std::vector<std::string> FeatureTableKey(std::string_view table);

struct CompareOptions {
  double tolerance = 1e-6;
  size_t max_reported = 10;  // differences spelled out in the report
};

struct TableComparison {
  int64_t expected_rows = 0;
  int64_t actual_rows = 0;
  int64_t differences = 0;  // differing cells, missing rows and unexpected rows
  std::string report;       // the first differences, one per line; empty when equal

  bool equal() const { return differences == 0; }
};

// Compares two headed CSV files. An unreadable or malformed file, or a key column that
// the expected table lacks, is an error status; everything else is a difference.
absl::StatusOr<TableComparison> CompareCsvTables(const std::string& expected_path,
                                                 const std::string& actual_path,
                                                 const std::vector<std::string>& key,
                                                 const CompareOptions& options = {});

// Compares the six feature tables `<dir>/<table>.csv` of two folders. Returns an empty
// string when all agree, else a report naming each differing table and its first
// differences (or the error that stopped its comparison).
std::string CompareFeatureTableDirs(const std::string& expected_dir, const std::string& actual_dir,
                                    const CompareOptions& options = {});

// One headed CSV table as owned strings, read with the project's CsvScanner.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int64_t> lines;  // the 1-based line of each row
};
absl::StatusOr<CsvTable> ReadCsvTable(const std::string& path);

}  // namespace streamrec::conformance
