#include "tests/table_compare.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "io/csv_scanner.h"
#include "io/mapped_file.h"

namespace streamrec::conformance {
namespace {

constexpr std::string_view kFeatureTables[] = {"enriched_events", "sessions",
                                               "user_profiles",   "user_item_matrix",
                                               "user_features",   "item_features"};

// The whole field as a number, or nullopt if it is not one.
std::optional<double> ParseNumber(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool CellsAgree(std::string_view expected, std::string_view actual, double tolerance) {
  if (expected == actual) return true;
  if (expected.empty() || actual.empty()) return false;  // empty stays empty
  const std::optional<double> a = ParseNumber(expected);
  const std::optional<double> b = ParseNumber(actual);
  if (!a || !b) return false;
  if (std::isnan(*a) || std::isnan(*b)) return std::isnan(*a) && std::isnan(*b);
  if (*a == *b) return true;  // also equal infinities
  const double diff = std::fabs(*a - *b);
  return diff <= tolerance || diff <= tolerance * std::max(std::fabs(*a), std::fabs(*b));
}

std::string Quoted(std::string_view text) { return StrCat("\"", text, "\""); }

// The key of each row, made unique by its occurrence: "k1\x1fk2\x1e<n>".
std::vector<std::string> RowKeys(const CsvTable& table, const std::vector<size_t>& key_columns) {
  absl::flat_hash_map<std::string, int> seen;
  std::vector<std::string> keys;
  keys.reserve(table.rows.size());
  for (const std::vector<std::string>& row : table.rows) {
    std::string key;
    for (size_t c : key_columns) {
      key += row[c];
      key += '\x1f';
    }
    const int n = seen[key]++;
    keys.push_back(StrCat(key, '\x1e', n));
  }
  return keys;
}

// "user_id=u1, session_index=2" (plus the occurrence when it is not the first).
std::string DescribeKey(const CsvTable& table, size_t row, const std::vector<size_t>& key_columns,
                        const std::string& unique_key) {
  std::string out;
  for (size_t c : key_columns) {
    if (!out.empty()) out += ", ";
    out += StrCat(table.header[c], "=", Quoted(table.rows[row][c]));
  }
  const std::string occurrence = unique_key.substr(unique_key.rfind('\x1e') + 1);
  if (occurrence != "0") out += StrCat(" (occurrence ", std::stoi(occurrence) + 1, ")");
  return out;
}

}  // namespace

std::vector<std::string> FeatureTableKey(std::string_view table) {
  if (table == "enriched_events") return {"user_id", "timestamp", "item_id", "event_type"};
  if (table == "sessions") return {"user_id", "session_index"};
  if (table == "user_profiles" || table == "user_features") return {"user_id"};
  if (table == "user_item_matrix") return {"user_id", "item_id"};
  if (table == "item_features") return {"item_id"};
  return {};
}

absl::StatusOr<CsvTable> ReadCsvTable(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::Open(path));
  CsvScanner scanner(file->data(), ',');
  std::vector<std::string_view> fields;
  CsvTable table;
  bool have_header = false;
  while (true) {
    const CsvScanner::Result r = scanner.Next(&fields);
    if (r == CsvScanner::Result::kEnd) break;
    if (r == CsvScanner::Result::kBad) {
      return absl::DataLossError(
          StrCat(path, ":", scanner.line(), ": malformed CSV row: ", scanner.error()));
    }
    std::vector<std::string> row(fields.begin(), fields.end());
    if (!have_header) {
      table.header = std::move(row);
      have_header = true;
      continue;
    }
    if (row.size() != table.header.size()) {
      return absl::DataLossError(StrCat(path, ":", scanner.line(), ": ", row.size(),
                                        " fields, the header has ", table.header.size()));
    }
    table.rows.push_back(std::move(row));
    table.lines.push_back(scanner.line());
  }
  if (!have_header) return absl::DataLossError(StrCat(path, ": empty file, no header"));
  return table;
}

absl::StatusOr<TableComparison> CompareCsvTables(const std::string& expected_path,
                                                 const std::string& actual_path,
                                                 const std::vector<std::string>& key,
                                                 const CompareOptions& options) {
  ASSIGN_OR_RETURN(const CsvTable expected, ReadCsvTable(expected_path));
  ASSIGN_OR_RETURN(const CsvTable actual, ReadCsvTable(actual_path));

  TableComparison result;
  result.expected_rows = static_cast<int64_t>(expected.rows.size());
  result.actual_rows = static_cast<int64_t>(actual.rows.size());
  auto report = [&](const std::string& line) {
    ++result.differences;
    if (static_cast<size_t>(result.differences) <= options.max_reported) {
      result.report += line;
      result.report += '\n';
    }
  };

  // Column positions: expected column i is actual column actual_of[i].
  auto find = [](const std::vector<std::string>& header, std::string_view name) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  std::vector<size_t> actual_of(expected.header.size());
  bool columns_missing = false;
  for (size_t i = 0; i < expected.header.size(); ++i) {
    actual_of[i] = find(actual.header, expected.header[i]);
    if (actual_of[i] == actual.header.size()) {
      report(StrCat("column ", Quoted(expected.header[i]), " is missing from ", actual_path));
      columns_missing = true;
    }
  }
  if (columns_missing) return result;

  std::vector<size_t> expected_key, actual_key;
  if (key.empty()) {
    for (size_t i = 0; i < expected.header.size(); ++i) expected_key.push_back(i);
  } else {
    for (const std::string& k : key) {
      const size_t i = find(expected.header, k);
      if (i == expected.header.size()) {
        return absl::InvalidArgumentError(StrCat(expected_path, ": no key column ", Quoted(k)));
      }
      expected_key.push_back(i);
    }
  }
  for (size_t i : expected_key) actual_key.push_back(actual_of[i]);

  const std::vector<std::string> expected_keys = RowKeys(expected, expected_key);
  const std::vector<std::string> actual_keys = RowKeys(actual, actual_key);
  absl::flat_hash_map<std::string_view, size_t> actual_row;
  for (size_t r = 0; r < actual_keys.size(); ++r) actual_row.emplace(actual_keys[r], r);

  std::vector<bool> matched(actual.rows.size(), false);
  for (size_t r = 0; r < expected.rows.size(); ++r) {
    const auto it = actual_row.find(expected_keys[r]);
    if (it == actual_row.end()) {
      report(StrCat("missing row ", DescribeKey(expected, r, expected_key, expected_keys[r]),
                    " (expected line ", expected.lines[r], ")"));
      continue;
    }
    const size_t a = it->second;
    matched[a] = true;
    for (size_t c = 0; c < expected.header.size(); ++c) {
      const std::string& want = expected.rows[r][c];
      const std::string& got = actual.rows[a][actual_of[c]];
      if (!CellsAgree(want, got, options.tolerance)) {
        report(StrCat("row ", DescribeKey(expected, r, expected_key, expected_keys[r]), ": ",
                      expected.header[c], " expected ", Quoted(want), ", actual ", Quoted(got),
                      " (lines ", expected.lines[r], " / ", actual.lines[a], ")"));
      }
    }
  }
  for (size_t a = 0; a < actual.rows.size(); ++a) {
    if (!matched[a]) {
      report(StrCat("unexpected row ", DescribeKey(actual, a, actual_key, actual_keys[a]),
                    " (actual line ", actual.lines[a], ")"));
    }
  }
  if (static_cast<size_t>(result.differences) > options.max_reported) {
    result.report += StrCat("... ", result.differences - options.max_reported, " more\n");
  }
  return result;
}

std::string CompareFeatureTableDirs(const std::string& expected_dir, const std::string& actual_dir,
                                    const CompareOptions& options) {
  std::string out;
  for (std::string_view table : kFeatureTables) {
    const std::string name = StrCat(table, ".csv");
    absl::StatusOr<TableComparison> c =
        CompareCsvTables(StrCat(expected_dir, "/", name), StrCat(actual_dir, "/", name),
                         FeatureTableKey(table), options);
    if (!c.ok()) {
      out += StrCat(table, ": ", c.status().message(), "\n");
    } else if (!c->equal()) {
      out += StrCat(table, ": ", c->differences, " differences (", c->expected_rows,
                    " rows expected, ", c->actual_rows, " actual)\n", c->report);
    }
  }
  return out;
}

}  // namespace streamrec::conformance
