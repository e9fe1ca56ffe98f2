#pragma once
// Small string helpers over std::string_view. (This Abseil build has its own
// string_view type, so absl::StrCat and friends do not take std::string_view.)

#include <string>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "fmt/format.h"

namespace streamrec {

// Concatenates the text of every argument (anything fmt can format).
template <typename... Args>
std::string StrCat(Args&&... args) {
  std::string out;
  (fmt::format_to(std::back_inserter(out), "{}", std::forward<Args>(args)), ...);
  return out;
}

// Hash and equality that let string-keyed Abseil containers be searched with a
// std::string_view without building a std::string.
struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return absl::Hash<absl::string_view>{}(absl::string_view(s.data(), s.size()));
  }
};
struct StringViewEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};
template <typename V>
using StringMap = absl::flat_hash_map<std::string, V, StringViewHash, StringViewEq>;
using StringSet = absl::flat_hash_set<std::string, StringViewHash, StringViewEq>;

// `text` without leading and trailing spaces, tabs, CR and LF.
inline std::string_view TrimAscii(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

}  // namespace streamrec

// Lets fmt (and so StrCat) print absl::string_view, e.g. absl::Status::message().
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  auto format(absl::string_view s, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(s.data(), s.size()), ctx);
  }
};
