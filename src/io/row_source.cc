#include "io/row_source.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/strings.h"
#include "io/csv_scanner.h"
#include "io/mapped_file.h"

namespace streamrec {
namespace {

class CsvSource final : public RowSource {
 public:
  CsvSource(std::unique_ptr<MappedFile> file, char delimiter)
      : file_(std::move(file)), scanner_(file_->data(), delimiter) {}

  absl::Status ReadHeader(const std::string& path, bool header) {
    std::vector<std::string_view> fields;
    CsvScanner::Result r = scanner_.Next(&fields);
    if (r == CsvScanner::Result::kBad) {
      return absl::InvalidArgumentError(
          StrCat(path, ":", scanner_.line(), ": bad header: ", scanner_.error()));
    }
    if (r == CsvScanner::Result::kEnd) {
      if (header) return absl::InvalidArgumentError(StrCat(path, ": empty file, no header"));
      return absl::OkStatus();
    }
    if (header) {
      for (std::string_view f : fields) columns_.emplace_back(TrimAscii(f));
      // Drop a UTF-8 byte order mark.
      if (!columns_.empty() && absl::StartsWith(columns_[0], "\xEF\xBB\xBF")) {
        columns_[0].erase(0, 3);
      }
    } else {
      for (size_t i = 0; i < fields.size(); ++i) columns_.push_back(StrCat("column", i));
      pending_ = std::move(fields);
      pending_line_ = scanner_.line();
      has_pending_ = true;
    }
    return absl::OkStatus();
  }

  const std::vector<std::string>& columns() const override { return columns_; }

  absl::StatusOr<RowStatus> Next(Row* row) override {
    if (has_pending_) {
      has_pending_ = false;
      row->fields = std::move(pending_);
      row->line = pending_line_;
      return RowStatus::kRow;
    }
    switch (scanner_.Next(&row->fields)) {
      case CsvScanner::Result::kRow:
        row->line = scanner_.line();
        return RowStatus::kRow;
      case CsvScanner::Result::kBad:
        row->line = scanner_.line();
        bad_reason_ = scanner_.error();
        return RowStatus::kBad;
      case CsvScanner::Result::kEnd:
        return RowStatus::kEnd;
    }
    return RowStatus::kEnd;
  }

  int64_t bytes_read() const override { return static_cast<int64_t>(scanner_.offset()); }
  int64_t bytes_total() const override { return static_cast<int64_t>(file_->data().size()); }

 private:
  std::unique_ptr<MappedFile> file_;
  CsvScanner scanner_;
  std::vector<std::string> columns_;
  std::vector<std::string_view> pending_;
  int64_t pending_line_ = 0;
  bool has_pending_ = false;
};

std::string LowerExtension(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  return absl::AsciiStrToLower(path.substr(dot + 1));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RowSource>> OpenCsvSource(const std::string& path,
                                                         const CsvOptions& options) {
  absl::StatusOr<std::unique_ptr<MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  auto source = std::make_unique<CsvSource>(*std::move(file), options.delimiter);
  if (absl::Status s = source->ReadHeader(path, options.header); !s.ok()) return s;
  return source;
}

absl::StatusOr<std::unique_ptr<RowSource>> OpenRowSource(
    const std::string& path, const CsvOptions& csv, const std::vector<std::string>& wanted_columns) {
  const std::string ext = LowerExtension(path);
  if (ext == "parquet") return OpenParquetSource(path);
  if (ext == "jsonl" || ext == "ndjson" || ext == "json") {
    return OpenJsonLinesSource(path, wanted_columns);
  }
  if (ext == "csv" || ext == "tsv" || ext == "txt" || ext == "dat" || ext.empty()) {
    return OpenCsvSource(path, csv);
  }
  return absl::InvalidArgumentError(StrCat(
      "cannot read ", path, ": unknown file type '.", ext,
      "' (want .csv, .tsv, .txt, .jsonl, .ndjson, .json or .parquet)"));
}

}  // namespace streamrec
