#include "tests/test_util.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "io/csv_scanner.h"

namespace streamrec::conformance {

namespace fs = std::filesystem;

TempDir::TempDir(std::string_view prefix) {
  std::string pattern = (fs::path(::testing::TempDir()) / StrCat(prefix, ".XXXXXX")).string();
  if (::mkdtemp(pattern.data()) != nullptr) {
    path_ = pattern;
  } else {
    ADD_FAILURE() << "mkdtemp " << pattern << " failed";
  }
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  // A test may have made a folder read-only; restore write access so it can be removed.
  for (auto it = fs::recursive_directory_iterator(path_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec))
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  }
  fs::remove_all(path_, ec);
}

std::string TempDir::operator/(std::string_view name) const { return StrCat(path_, "/", name); }

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

void ShuffleCsvRows(const std::string& in, const std::string& out, uint64_t seed) {
  const std::string data = ReadFile(in);
  CsvScanner scanner(data, ',');
  std::vector<std::string_view> fields;
  std::vector<std::string> rows;  // each with its line ending
  size_t start = 0;
  while (scanner.Next(&fields) != CsvScanner::Result::kEnd) {
    std::string row = data.substr(start, scanner.offset() - start);
    if (row.empty() || row.back() != '\n') row += '\n';
    rows.push_back(std::move(row));
    start = scanner.offset();
  }
  if (rows.empty()) {
    ADD_FAILURE() << in << " has no header";
    return;
  }
  std::mt19937_64 rng(seed);
  std::shuffle(rows.begin() + 1, rows.end(), rng);
  std::string shuffled;
  for (const std::string& row : rows) shuffled += row;
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
