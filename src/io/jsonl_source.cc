// JSON Lines: one JSON object per line; the wanted keys become the columns.
//
// Each line goes through Boost.JSON's SAX parser (basic_parser) rather than into a
// DOM: the parser hands over every scalar with the text it was read from, so a number
// arrives exactly as the line writes it ("19.99", "1706745600.5", a 30-digit id),
// never re-serialized ("1.999E1"), and no per-line tree is built. Only the keys of the
// top-level object are fields; keys inside nested values are not.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "boost/json/basic_parser_impl.hpp"
#include "boost/json/error.hpp"
#include "boost/json/parse_options.hpp"
#include "common/strings.h"
#include "io/mapped_file.h"
#include "io/row_source.h"

namespace streamrec {
namespace {

using boost::json::error_code;
using JsonText = boost::json::string_view;

std::string_view View(JsonText s) { return std::string_view(s.data(), s.size()); }

// Receives the parser's events for one line and fills the row's fields. A field is the
// value of a wanted key of the top-level object; when a key repeats, the last value
// counts (as in Boost.JSON's DOM). The texts live in `values_` until the next line.
class FieldHandler {
 public:
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);

  explicit FieldHandler(const std::vector<std::string>* columns)
      : columns_(columns), values_(columns->size()), nested_(columns->size()) {
    // A column wanted twice (two engine fields read one key) is filled from its first
    // occurrence after the line is parsed.
    for (size_t i = 0; i < columns->size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if ((*columns)[i] == (*columns)[j]) {
          copies_.push_back({i, j});
          break;
        }
      }
    }
  }

  // Prepares for one line whose fields go to `fields` (resized to the columns, empty).
  void Start(std::vector<std::string_view>* fields) {
    fields_ = fields;
    fields->assign(columns_->size(), std::string_view());
    nested_.assign(columns_->size(), 0);
    depth_ = 0;
    current_ = -1;
    top_is_object_ = false;
    key_.clear();
  }

  // After a successful parse: "" when the row is good, else why it is not.
  std::string Finish() {
    if (!top_is_object_) return "a line must hold one JSON object";
    for (size_t i = 0; i < nested_.size(); ++i) {
      if (nested_[i]) return StrCat("field '", (*columns_)[i], "' must be a string or a number");
    }
    for (const Copy& c : copies_) (*fields_)[c.to] = (*fields_)[c.from];
    return "";
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code&) {
    if (depth_ == 0) {
      top_is_object_ = true;
    } else {
      Nested();
    }
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    --depth_;
    return true;
  }
  bool on_array_begin(error_code&) {
    if (depth_ > 0) Nested();
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    --depth_;
    return true;
  }

  bool on_key_part(JsonText s, std::size_t, error_code&) {
    if (depth_ == 1) key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(JsonText s, std::size_t, error_code&) {
    if (depth_ != 1) return true;
    std::string_view key = View(s);
    if (!key_.empty()) {
      key_.append(s.data(), s.size());
      key = key_;
    }
    current_ = Find(key);
    key_.clear();
    if (current_ >= 0) {
      values_[current_].clear();
      nested_[current_] = 0;
      (*fields_)[current_] = {};
    }
    return true;
  }

  // Strings and numbers may come in parts; the last call completes the value.
  bool on_string_part(JsonText s, std::size_t, error_code&) { return Part(s); }
  bool on_string(JsonText s, std::size_t, error_code&) { return Last(s); }
  bool on_number_part(JsonText s, error_code&) { return Part(s); }
  bool on_int64(int64_t, JsonText s, error_code&) { return Last(s); }
  bool on_uint64(uint64_t, JsonText s, error_code&) { return Last(s); }
  bool on_double(double, JsonText s, error_code&) { return Last(s); }

  bool on_bool(bool b, error_code&) {
    if (Taking()) (*fields_)[current_] = b ? "true" : "false";
    return true;
  }
  bool on_null(error_code&) {
    if (Taking()) (*fields_)[current_] = {};
    return true;
  }
  bool on_comment_part(JsonText, error_code&) { return true; }
  bool on_comment(JsonText, error_code&) { return true; }

 private:
  struct Copy {
    size_t to, from;
  };

  // True when the value being read belongs to a wanted key of the top-level object.
  bool Taking() const { return depth_ == 1 && current_ >= 0; }

  bool Part(JsonText s) {
    if (Taking()) values_[current_].append(s.data(), s.size());
    return true;
  }
  bool Last(JsonText s) {
    if (Taking()) {
      std::string& text = values_[current_];
      text.append(s.data(), s.size());
      (*fields_)[current_] = text;
    }
    return true;
  }
  // An object or array opened inside the top-level object.
  void Nested() {
    if (Taking()) nested_[current_] = 1;
  }

  int Find(std::string_view key) const {
    for (size_t i = 0; i < columns_->size(); ++i) {
      if ((*columns_)[i] == key) return static_cast<int>(i);
    }
    return -1;
  }

  const std::vector<std::string>* columns_;
  std::vector<std::string> values_;  // per column, the text of the current line's value
  std::vector<char> nested_;         // per column, its value is an object or an array
  std::vector<Copy> copies_;
  std::vector<std::string_view>* fields_ = nullptr;
  int depth_ = 0;     // open objects and arrays
  int current_ = -1;  // column of the last top-level key, -1 when not wanted
  bool top_is_object_ = false;
  std::string key_;  // a key that arrives in parts
};

class JsonLinesSource final : public RowSource {
 public:
  JsonLinesSource(std::unique_ptr<MappedFile> file, std::vector<std::string> columns)
      : file_(std::move(file)),
        columns_(std::move(columns)),
        parser_(boost::json::parse_options(), &columns_),
        // A UTF-8 byte order mark before the first line, as a CSV file may have.
        pos_(file_->data().starts_with("\xEF\xBB\xBF") ? 3 : 0) {}

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
      parser_.reset();
      parser_.handler().Start(&row->fields);
      error_code ec;
      const size_t n = parser_.write_some(false, line.data(), line.size(), ec);
      if (!ec && n < line.size()) ec = boost::json::error::extra_data;
      if (ec) {
        bad_reason_ = StrCat("not valid JSON: ", ec.message());
        return RowStatus::kBad;
      }
      if (std::string why = parser_.handler().Finish(); !why.empty()) {
        bad_reason_ = std::move(why);
        return RowStatus::kBad;
      }
      return RowStatus::kRow;
    }
  }

  int64_t bytes_read() const override { return static_cast<int64_t>(pos_); }
  int64_t bytes_total() const override { return static_cast<int64_t>(file_->data().size()); }

 private:
  std::unique_ptr<MappedFile> file_;
  const std::vector<std::string> columns_;  // the handler points to it: never moves
  boost::json::basic_parser<FieldHandler> parser_;
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
