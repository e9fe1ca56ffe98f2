#pragma once
// Splits RFC 4180 CSV held in memory into rows of fields.
//
// Fields may be quoted with '"'; inside quotes the delimiter and line breaks are data
// and '""' is one quote. Lines end in LF or CRLF (a lone CR at the very end of the
// input counts as a line end too). Blank lines are skipped. Unquoted
// fields are views into the input; quoted fields with doubled quotes are unescaped
// into scratch space owned by the scanner (valid until the next call).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace streamrec {

class CsvScanner {
 public:
  enum class Result { kRow, kBad, kEnd };

  // The error of a row whose quote is never closed: every later line was inside it.
  static constexpr const char* kUnterminatedQuote =
      "unterminated quoted field: its quote is never closed, so every line after it "
      "was read into this row";

  // `first_line` is the line number of data[0] when `data` is a slice of a file.
  CsvScanner(std::string_view data, char delimiter, int64_t first_line = 1)
      : data_(data), delimiter_(delimiter), next_line_(first_line) {}

  // Reads the next row into `fields`. kBad: the row is malformed (`error()` says how)
  // and has been skipped up to the end of its line; the next call goes on after it
  // (after an unterminated quote, that is the end of the input).
  Result Next(std::vector<std::string_view>* fields);

  // 1-based line number where the last returned row starts.
  int64_t line() const { return row_line_; }
  // 1-based line number where the next row would start.
  int64_t next_line() const { return next_line_; }
  size_t offset() const { return pos_; }
  const char* error() const { return error_; }
  // True once the input ended inside a quoted field.
  bool ended_inside_quotes() const { return ended_inside_quotes_; }

 private:
  Result SkipBadRow(const char* why);

  std::string_view data_;
  char delimiter_;
  size_t pos_ = 0;
  int64_t next_line_;
  int64_t row_line_ = 0;
  const char* error_ = "";
  bool ended_inside_quotes_ = false;
  std::string scratch_;
};

}  // namespace streamrec
