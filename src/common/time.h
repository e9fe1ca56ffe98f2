#pragma once
// Event time: microseconds since the Unix epoch, UTC. One unit everywhere inside the engine.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace streamrec {

struct EventTime {
  int64_t micros = 0;

  static constexpr EventTime FromSeconds(int64_t s) { return EventTime{s * 1'000'000}; }
  friend constexpr auto operator<=>(EventTime, EventTime) = default;
};

constexpr int64_t kMicrosPerSecond = 1'000'000;

// The supported range: 0000-01-01 00:00:00 through 9999-12-31 23:59:59.999999 UTC, the
// years a YYYY-MM-DD date can write. ParseTime refuses anything outside it (so every
// accepted time formats back into a form it parses), and RowDecoder refuses a
// timestamp_offset_ms that moves a time out of it. Far inside int64 microseconds
// (about +-292,000 years), so sums and differences of two times cannot overflow.
constexpr EventTime kMinTime{-62'167'219'200LL * kMicrosPerSecond};      // 0000-01-01
constexpr EventTime kMaxTime{253'402'300'800LL * kMicrosPerSecond - 1};  // 9999-12-31 ...
constexpr bool IsSupportedTime(EventTime t) { return t >= kMinTime && t <= kMaxTime; }

// Parses every time form of the spec (docs/formats/events.md):
//   YYYY-MM-DD                       midnight UTC
//   YYYY-MM-DD HH:MM:SS[.f]          also with 'T' for the space
//   ... followed by Z, " UTC", or an offset +hh:mm / -hh:mm / +hhmm / +hh (applied)
//   epoch seconds, integer or decimal; integer epoch milliseconds (values >= 10^11).
// Fractions finer than a microsecond are truncated. A time outside [kMinTime, kMaxTime]
// (an epoch number after 9999, or an offset moving a date out of years 0000-9999) is
// refused as out of range. Never reads outside `text`. The error says why the text
// was refused.
absl::StatusOr<EventTime> ParseTime(std::string_view text);

// Writes `YYYY-MM-DD HH:MM:SS`, with `.f` (trailing zeros trimmed) only when the
// fraction is not zero. `out` must hold kMaxFormattedTime chars; returns the length.
constexpr int kMaxFormattedTime = 32;
int FormatTime(EventTime t, char* out);
std::string FormatTime(EventTime t);

// Days since 1970-01-01 of a proleptic Gregorian date (no range check).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

}  // namespace streamrec
