#pragma once
// LogOffset: the sequence number of an event log record. Records are numbered 0, 1, 2, ...
// over the log's whole life; an offset is never reused, also not after old segments are
// dropped. A snapshot "covers offset N" when it reflects every record below N.

#include <compare>
#include <cstdint>
#include <ostream>

namespace streamrec {

struct LogOffset {
  uint64_t value = 0;

  constexpr LogOffset() = default;
  constexpr explicit LogOffset(uint64_t v) : value(v) {}
  constexpr LogOffset next() const { return LogOffset{value + 1}; }
  friend constexpr auto operator<=>(LogOffset, LogOffset) = default;
  template <typename H>
  friend H AbslHashValue(H h, LogOffset o) {
    return H::combine(std::move(h), o.value);
  }
  friend std::ostream& operator<<(std::ostream& os, LogOffset o) { return os << o.value; }
};

}  // namespace streamrec
