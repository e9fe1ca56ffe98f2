#pragma once
// Structured logs of a long-running process (the server): one line per thing that
// happened on stderr, the time (UTC, milliseconds) and the level first, then `event`
// naming what happened and fields saying the rest. Two formats:
//   text (logfmt; the default), for people and grep:
//     ts=2026-11-29T04:31:00.123Z level=info event=ready seconds=4.24
//   json (one object per line), for log shippers:
//     {"ts":"2026-11-29T04:31:00.123Z","level":"info","event":"ready","seconds":4.24}
// In text a value is quoted ("...", with \" \\ \n escaped) when it is empty or holds a
// space, a quote, '=', a backslash, a control character or a byte beyond ASCII. A byte
// that is not part of valid UTF-8 becomes U+FFFD, so a JSON line is always valid.
// Keys and event names are the caller's plain snake_case words, written as they are.
//
// Thread safety: Log may be called from any thread; lines never interleave.
// SetLogFormat before the first line.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "absl/status/statusor.h"

namespace streamrec {

enum class LogFormat { kText, kJson };
enum class LogLevel { kInfo, kWarning, kError };

// "text" or "json"; InvalidArgument otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(std::string_view name);
void SetLogFormat(LogFormat format);

class LogField {
 public:
  using Value = std::variant<std::string_view, int64_t, uint64_t, double, bool>;

  LogField(std::string_view key, std::string_view value) : key_(key), value_(value) {}
  LogField(std::string_view key, const char* value) : key_(key), value_(std::string_view(value)) {}
  LogField(std::string_view key, const std::string& value)
      : key_(key), value_(std::string_view(value)) {}
  LogField(std::string_view key, bool value) : key_(key), value_(value) {}
  LogField(std::string_view key, double value) : key_(key), value_(value) {}
  template <typename Int, typename = std::enable_if_t<std::is_integral_v<Int>>>
  LogField(std::string_view key, Int value)
      : key_(key),
        value_(std::is_signed_v<Int> ? Value(static_cast<int64_t>(value))
                                     : Value(static_cast<uint64_t>(value))) {}

  std::string_view key() const { return key_; }
  const Value& value() const { return value_; }

 private:
  std::string_view key_;
  Value value_;
};

void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

// What Log writes after the time and the level ("event=... k=v ..." or
// "\"event\":\"...\",\"k\":v,..."), for tests.
std::string FormatLogFields(LogFormat format, std::string_view event,
                            std::initializer_list<LogField> fields);

}  // namespace streamrec
