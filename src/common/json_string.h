#pragma once
// JSON string text, shared by the server's answers, the replay client's requests and the
// structured logs: UTF-8 checks, and quoting that always gives valid JSON.

#include <cstddef>
#include <string>
#include <string_view>

namespace streamrec {

// Bytes of the well-formed UTF-8 sequence that starts at s[i] (RFC 3629: no overlong
// forms, surrogates or values above U+10FFFF), or 0 when none does. REQUIRES: i < size.
size_t Utf8SequenceLength(std::string_view s, size_t i);

namespace json_string_internal {
bool IsValidNonAsciiUtf8(std::string_view s);
}  // namespace json_string_internal

// True when all of `s` is well-formed UTF-8, which is what a JSON parser accepts. Inline
// for ASCII, nearly every id: the row decoder checks each id of each row.
inline bool IsValidUtf8(std::string_view s) {
  unsigned char bits = 0;  // the top bit of any byte
  for (const char c : s) bits |= static_cast<unsigned char>(c);
  return bits < 0x80 || json_string_internal::IsValidNonAsciiUtf8(s);
}

// Appends `s` as a JSON string: in quotes, with " \ and control characters escaped, and
// U+FFFD in place of each byte that is not part of well-formed UTF-8.
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace streamrec
