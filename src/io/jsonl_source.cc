// JSON Lines: one JSON object per line; the wanted keys become the columns.

#include <charconv>

#include "absl/status/status.h"
#include "common/strings.h"
#include "boost/json.hpp"
#include "io/mapped_file.h"
#include "io/row_source.h"

namespace streamrec {
namespace {

class JsonLinesSource final : public RowSource {
 public:
  JsonLinesSource(std::unique_ptr<MappedFile> file, std::vector<std::string> columns)
      : file_(std::move(file)), columns_(std::move(columns)), values_(columns_.size()) {}

  const std::vector<std::string>& columns() const override { return columns_; }

  absl::StatusOr<RowStatus> Next(Row* row) override {
    const std::string_view data = file_->data();
    while (true) {
      if (pos_ >= data.size()) return RowStatus::kEnd;
      size_t end = data.find('\n', pos_);
      if (end == std::string_view::npos) end = data.size();
      std::string_view line = data.substr(pos_, end - pos_);
      pos_ = end + 1;
      const int64_t line_no = ++line_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line
      row->line = line_no;
      boost::json::error_code ec;
      parser_.reset();
      parser_.write(line.data(), line.size(), ec);
      if (ec) {
        bad_reason_ = StrCat("not valid JSON: ", ec.message());
        return RowStatus::kBad;
      }
      boost::json::value doc = parser_.release();
      if (!doc.is_object()) {
        bad_reason_ = "a line must hold one JSON object";
        return RowStatus::kBad;
      }
      const boost::json::object& obj = doc.as_object();
      row->fields.assign(columns_.size(), std::string_view());
      for (size_t i = 0; i < columns_.size(); ++i) {
        auto it = obj.find(columns_[i]);
        if (it == obj.end()) continue;
        std::string& text = values_[i];
        const boost::json::value& v = it->value();
        if (v.is_string()) {
          text.assign(v.as_string().data(), v.as_string().size());
        } else if (v.is_int64() || v.is_uint64() || v.is_double()) {
          text = boost::json::serialize(v);
        } else if (v.is_bool()) {
          text = v.as_bool() ? "true" : "false";
        } else if (v.is_null()) {
          continue;
        } else {
          bad_reason_ = StrCat("field '", columns_[i], "' must be a string or a number");
          return RowStatus::kBad;
        }
        row->fields[i] = text;
      }
      return RowStatus::kRow;
    }
  }

  int64_t bytes_read() const override { return static_cast<int64_t>(pos_); }
  int64_t bytes_total() const override { return static_cast<int64_t>(file_->data().size()); }

 private:
  std::unique_ptr<MappedFile> file_;
  std::vector<std::string> columns_;
  std::vector<std::string> values_;  // owns the text of non-string values of the current row
  boost::json::parser parser_;
  size_t pos_ = 0;
  int64_t line_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RowSource>> OpenJsonLinesSource(
    const std::string& path, const std::vector<std::string>& wanted_columns) {
  absl::StatusOr<std::unique_ptr<MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  return std::unique_ptr<RowSource>(new JsonLinesSource(*std::move(file), wanted_columns));
}

}  // namespace streamrec
