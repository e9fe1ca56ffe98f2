#include "io/row_source.h"

#include <algorithm>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "common/strings.h"
#include "io/csv_scanner.h"
#include "io/mapped_file.h"

namespace streamrec {
namespace {

class CsvSource final : public RowSource {
 public:
  // Reads `file` from byte `begin` to `end`, whose first line is `first_line`.
  CsvSource(std::shared_ptr<const MappedFile> file, size_t begin, size_t end, int64_t first_line,
            char delimiter)
      : file_(std::move(file)),
        begin_(begin),
        end_(end),
        scanner_(file_->data().substr(begin, end - begin), delimiter, first_line) {}

  // With a header, reads it (a bad or missing header is an error). Without one, the
  // columns are column0, column1, ... as many as the first row that splits into fields
  // has (a bad row before it does not decide), and every row, the first one too, is
  // read again by Next() from the start, so a bad first row is a kBad row like any.
  absl::Status ReadHeader(const std::string& path, bool header) {
    std::vector<std::string_view> fields;
    if (!header) {
      CsvScanner probe = scanner_;
      CsvScanner::Result r;
      while ((r = probe.Next(&fields)) == CsvScanner::Result::kBad) {
      }
      if (r == CsvScanner::Result::kRow) {
        for (size_t i = 0; i < fields.size(); ++i) columns_.push_back(StrCat("column", i));
      }
      return absl::OkStatus();
    }
    switch (scanner_.Next(&fields)) {
      case CsvScanner::Result::kBad:
        return absl::InvalidArgumentError(
            StrCat(path, ":", scanner_.line(), ": bad header: ", scanner_.error()));
      case CsvScanner::Result::kEnd:
        return absl::InvalidArgumentError(StrCat(path, ": empty file, no header"));
      case CsvScanner::Result::kRow:
        break;
    }
    for (std::string_view f : fields) columns_.emplace_back(TrimAscii(f));
    return absl::OkStatus();
  }

  void SetColumns(std::vector<std::string> columns) { columns_ = std::move(columns); }
  // The first byte and line after the header (the source's start when it has none).
  size_t data_begin() const { return begin_ + scanner_.offset(); }
  int64_t data_first_line() const { return scanner_.next_line(); }

  const std::vector<std::string>& columns() const override { return columns_; }

  absl::StatusOr<RowStatus> Next(Row* row) override {
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
  int64_t bytes_total() const override { return static_cast<int64_t>(end_ - begin_); }
  bool ended_inside_quotes() const override { return scanner_.ended_inside_quotes(); }
  int64_t next_line() const override { return scanner_.next_line(); }

 private:
  std::shared_ptr<const MappedFile> file_;
  size_t begin_;
  size_t end_;
  CsvScanner scanner_;
  std::vector<std::string> columns_;
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
  absl::StatusOr<std::vector<std::unique_ptr<RowSource>>> chunks =
      OpenCsvSourceChunks(path, options, std::numeric_limits<int64_t>::max());
  if (!chunks.ok()) return chunks.status();
  return std::move(chunks->front());
}

absl::StatusOr<std::vector<std::unique_ptr<RowSource>>> OpenCsvSourceChunks(
    const std::string& path, const CsvOptions& options, int64_t chunk_bytes, ChunkCuts cuts_at) {
  absl::StatusOr<std::unique_ptr<MappedFile>> opened = MappedFile::Open(path);
  if (!opened.ok()) return opened.status();
  std::shared_ptr<const MappedFile> file = *std::move(opened);
  const std::string_view data = file->data();
  // A UTF-8 byte order mark is not data: skip it before anything is split, so a quoted
  // first field (header or not) is read as quoted. It holds no line break, so line
  // numbers do not change.
  const size_t start = data.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  auto first = std::make_unique<CsvSource>(file, start, data.size(), 1, options.delimiter);
  if (absl::Status s = first->ReadHeader(path, options.header); !s.ok()) return s;

  // Cuts just after the first line break at or past every chunk_bytes bytes of data
  // (with kOutsideQuotes: the first where the quotes since `begin` are balanced).
  const size_t begin = first->data_begin();
  const size_t step = static_cast<size_t>(std::max<int64_t>(chunk_bytes, 1));
  std::vector<size_t> cuts = {begin};
  size_t quotes = 0;  // quotes in data[begin, scanned)
  size_t scanned = begin;
  while (!first->columns().empty() && data.size() - cuts.back() > step) {
    size_t nl = data.find('\n', cuts.back() + step - 1);
    while (cuts_at == ChunkCuts::kOutsideQuotes && nl != std::string_view::npos) {
      quotes += std::count(data.begin() + scanned, data.begin() + nl, '"');
      scanned = nl;
      if (quotes % 2 == 0) break;
      nl = data.find('\n', nl + 1);
    }
    if (nl == std::string_view::npos || nl + 1 == data.size()) break;
    cuts.push_back(nl + 1);
  }
  cuts.push_back(data.size());

  std::vector<std::unique_ptr<RowSource>> chunks;
  if (cuts.size() == 2) {
    chunks.push_back(std::move(first));
    return chunks;
  }
  const std::vector<std::string> columns = first->columns();
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    auto chunk = std::make_unique<CsvSource>(
        file, cuts[i], cuts[i + 1], i == 0 ? first->data_first_line() : 1, options.delimiter);
    chunk->SetColumns(columns);
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

bool IsCsvPath(const std::string& path) {
  const std::string ext = LowerExtension(path);
  // .data, .dat: MovieLens ships its ratings so (u.data, ratings.dat).
  return ext == "csv" || ext == "tsv" || ext == "txt" || ext == "dat" || ext == "data" ||
         ext.empty();
}

absl::StatusOr<std::unique_ptr<RowSource>> OpenRowSource(
    const std::string& path, const CsvOptions& csv,
    const std::vector<std::string>& wanted_columns) {
  const std::string ext = LowerExtension(path);
  if (ext == "parquet") return OpenParquetSource(path);
  if (ext == "jsonl" || ext == "ndjson" || ext == "json") {
    return OpenJsonLinesSource(path, wanted_columns);
  }
  if (IsCsvPath(path)) return OpenCsvSource(path, csv);
  return absl::InvalidArgumentError(
      StrCat("cannot read ", path, ": unknown file type '.", ext,
             "' (want .csv, .tsv, .txt, .dat, .data, .jsonl, .ndjson, .json or .parquet)"));
}

}  // namespace streamrec
