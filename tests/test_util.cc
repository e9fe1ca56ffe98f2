#include "tests/test_util.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/strings.h"
#include "common/time.h"
#include "gtest/gtest.h"
#include "io/csv_scanner.h"

namespace streamrec::conformance {

namespace fs = std::filesystem;

std::string SharedDir() { return STREAMREC_SHARED_DIR; }

bool HaveSharedDir() { return fs::is_directory(SharedDir()); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out.good()) ADD_FAILURE() << "cannot write " << path;
}

bool FileExists(const std::string& path) { return fs::exists(path); }

void ShuffleCsvRows(const std::string& in, const std::string& out, uint64_t seed,
                    const std::vector<std::string>& keep_order_of) {
  const std::string data = ReadFile(in);
  CsvScanner scanner(data, ',');
  std::vector<std::string_view> fields;
  std::vector<std::string> rows;  // each with its line ending; rows[0] is the header
  std::vector<std::string> keys;  // per row: the values of `keep_order_of`
  std::vector<size_t> key_columns;
  size_t start = 0;
  while (true) {
    const CsvScanner::Result r = scanner.Next(&fields);
    if (r == CsvScanner::Result::kEnd) break;
    std::string row = data.substr(start, scanner.offset() - start);
    start = scanner.offset();
    if (row.empty() || row.back() != '\n') row += '\n';
    if (rows.empty()) {
      for (const std::string& name : keep_order_of) {
        const auto it = std::find(fields.begin(), fields.end(), name);
        if (it == fields.end()) {
          ADD_FAILURE() << in << " has no column " << name;
          return;
        }
        key_columns.push_back(static_cast<size_t>(it - fields.begin()));
      }
    }
    std::string key;
    for (size_t k = 0; k < key_columns.size(); ++k) {
      const size_t c = key_columns[k];
      const std::string_view v =
          r == CsvScanner::Result::kRow && c < fields.size() ? fields[c] : std::string_view();
      absl::StatusOr<EventTime> time = ParseTime(v);
      if (keep_order_of[k] == "timestamp" && time.ok()) {
        key += StrCat(time->micros);
      } else {
        key += v;
      }
      key += '\x1f';
    }
    rows.push_back(std::move(row));
    keys.push_back(std::move(key));
  }
  if (rows.empty()) {
    ADD_FAILURE() << in << " has no header";
    return;
  }
  // Shuffle the positions of the data rows, then give the positions that a group of
  // equal keys landed on back to that group's rows in their original order.
  std::vector<size_t> order(rows.size() - 1);
  for (size_t i = 0; i < order.size(); ++i) order[i] = i + 1;
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  if (!key_columns.empty()) {
    absl::flat_hash_map<std::string, std::vector<size_t>> slots;  // key -> output positions
    for (size_t pos = 0; pos < order.size(); ++pos) slots[keys[order[pos]]].push_back(pos);
    absl::flat_hash_map<std::string, std::vector<size_t>> members;  // key -> rows in order
    for (size_t row = 1; row < rows.size(); ++row) members[keys[row]].push_back(row);
    for (const auto& [key, positions] : slots) {
      const std::vector<size_t>& group = members[key];
      for (size_t i = 0; i < positions.size(); ++i) order[positions[i]] = group[i];
    }
  }
  std::string shuffled = rows[0];
  for (size_t row : order) shuffled += rows[row];
  WriteFile(out, shuffled);
}

absl::StatusOr<PipelineSummary> RunPipelineOnFolder(const std::string& in_dir,
                                                    const std::string& out_dir, size_t chunk_size) {
  PipelineOptions options;
  for (const char* name : {"history.csv", "purchases.csv"}) {
    const std::string path = StrCat(in_dir, "/", name);
    if (FileExists(path)) options.purchase_files.push_back(path);
  }
  options.event_files.push_back(StrCat(in_dir, "/events.csv"));
  options.out_dir = out_dir;
  options.chunk_size = chunk_size;
  return RunPipeline(options);
}

}  // namespace streamrec::conformance
