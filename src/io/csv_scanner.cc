#include "io/csv_scanner.h"

#include <cstring>

namespace streamrec {

CsvScanner::Result CsvScanner::SkipBadRow(const char* why) {
  error_ = why;
  const void* nl = std::memchr(data_.data() + pos_, '\n', data_.size() - pos_);
  pos_ = nl == nullptr ? data_.size() : static_cast<const char*>(nl) - data_.data() + 1;
  ++next_line_;
  return Result::kBad;
}

CsvScanner::Result CsvScanner::Next(std::vector<std::string_view>* fields) {
  fields->clear();
  const char* const base = data_.data();
  const size_t n = data_.size();
  // Skip blank lines (LF, CRLF, or a lone CR at the end of the input).
  while (pos_ < n && (base[pos_] == '\n' ||
                      (base[pos_] == '\r' && (pos_ + 1 == n || base[pos_ + 1] == '\n')))) {
    pos_ += base[pos_] == '\r' && pos_ + 1 < n ? 2 : 1;
    ++next_line_;
  }
  if (pos_ >= n) return Result::kEnd;
  row_line_ = next_line_;
  scratch_.clear();
  bool scratch_reserved = false;

  while (true) {
    if (pos_ < n && base[pos_] == '"') {
      // Quoted field: find the closing quote, unescaping "" if any.
      size_t start = ++pos_;
      bool escaped = false;
      size_t end = start;
      while (true) {
        const void* q = std::memchr(base + end, '"', n - end);
        if (q == nullptr) {
          error_ = kUnterminatedQuote;
          ended_inside_quotes_ = true;
          pos_ = n;
          return Result::kBad;
        }
        end = static_cast<const char*>(q) - base;
        if (end + 1 < n && base[end + 1] == '"') {
          escaped = true;
          end += 2;
          continue;
        }
        break;
      }
      // Count line breaks inside the quotes so line numbers stay right.
      for (size_t i = start; i < end; ++i) next_line_ += base[i] == '\n';
      if (!escaped) {
        fields->emplace_back(base + start, end - start);
      } else {
        if (!scratch_reserved) {
          // Views into scratch_ must not move: reserve once for the rest of the input.
          scratch_.reserve(n - start);
          scratch_reserved = true;
        }
        const size_t from = scratch_.size();
        for (size_t i = start; i < end; ++i) {
          scratch_.push_back(base[i]);
          if (base[i] == '"') ++i;
        }
        fields->emplace_back(scratch_.data() + from, scratch_.size() - from);
      }
      pos_ = end + 1;
      if (pos_ >= n) {
        ++next_line_;
        return Result::kRow;
      }
      const char c = base[pos_];
      if (c == delimiter_) {
        ++pos_;
        continue;
      }
      if (c == '\n') {
        ++pos_;
        ++next_line_;
        return Result::kRow;
      }
      // CRLF, or a lone CR at the end of the input (stripped, as after an unquoted field).
      if (c == '\r' && (pos_ + 1 == n || base[pos_ + 1] == '\n')) {
        pos_ = pos_ + 1 == n ? n : pos_ + 2;
        ++next_line_;
        return Result::kRow;
      }
      return SkipBadRow("unexpected character after a closing quote");
    }
    // Unquoted field: runs to the delimiter or the end of the line.
    size_t i = pos_;
    while (i < n && base[i] != delimiter_ && base[i] != '\n' && base[i] != '"') ++i;
    if (i < n && base[i] == '"') {
      pos_ = i;
      return SkipBadRow("a quote inside an unquoted field");
    }
    if (i < n && base[i] == delimiter_) {
      fields->emplace_back(base + pos_, i - pos_);
      pos_ = i + 1;
      continue;
    }
    size_t end = i;
    if (end > pos_ && base[end - 1] == '\r') --end;
    fields->emplace_back(base + pos_, end - pos_);
    pos_ = i < n ? i + 1 : n;
    ++next_line_;
    return Result::kRow;
  }
}

}  // namespace streamrec
