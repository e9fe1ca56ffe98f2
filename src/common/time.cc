#include "common/time.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "absl/status/status.h"
#include "common/strings.h"

namespace streamrec {
namespace {

// Howard Hinnant's civil-calendar algorithms (public domain).
struct Civil {
  int64_t y;
  unsigned m, d;
};

Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly n digits at s[pos..]; false if any is not a digit.
bool Digits(std::string_view s, size_t pos, int n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

constexpr std::string_view kOutOfRange = "out of range (years 0000 to 9999 only)";

absl::Status Bad(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(StrCat("bad time '", text, "': ", why));
}

absl::StatusOr<EventTime> ParseEpoch(std::string_view text) {
  const size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  if (whole.empty() || !std::all_of(whole.begin(), whole.end(), IsDigit)) {
    return Bad(text, "not a date, a date-time or an epoch number");
  }
  if (whole.size() > 16) return Bad(text, "epoch value out of range");
  int64_t value = 0;
  for (char c : whole) value = value * 10 + (c - '0');
  if (dot == std::string_view::npos) {
    // Integer: seconds below 10^11 (at most year 5138, always in range), milliseconds
    // from there on, up to the end of year 9999 (checked before multiplying, which
    // could overflow for 16 digits).
    if (value < 100'000'000'000LL) return EventTime::FromSeconds(value);
    if (value > kMaxTime.micros / 1000) return Bad(text, kOutOfRange);
    return EventTime{value * 1000};
  }
  std::string_view frac = text.substr(dot + 1);
  if (frac.empty()) return Bad(text, "epoch seconds end in '.'");
  if (value >= 100'000'000'000LL) return Bad(text, "decimal epoch must be in seconds");
  int64_t micros = 0;
  int digits = 0;
  for (char c : frac) {
    if (!IsDigit(c)) return Bad(text, "not a date, a date-time or an epoch number");
    if (digits < 6) micros = micros * 10 + (c - '0');
    ++digits;
  }
  for (; digits < 6; ++digits) micros *= 10;
  return EventTime{value * kMicrosPerSecond + micros};
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

absl::StatusOr<EventTime> ParseTime(std::string_view text) {
  if (text.empty()) return Bad(text, "empty");
  if (text.size() < 10 || text[4] != '-') return ParseEpoch(text);

  int year, month, day;
  if (!Digits(text, 0, 4, &year) || !Digits(text, 5, 2, &month) || text[7] != '-' ||
      !Digits(text, 8, 2, &day)) {
    return Bad(text, "expected YYYY-MM-DD");
  }
  if (month < 1 || month > 12) return Bad(text, "month out of range");
  if (day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, month)) {
    return Bad(text, "day out of range");
  }
  int64_t micros = DaysFromCivil(year, month, day) * 86400 * kMicrosPerSecond;
  size_t pos = 10;
  if (pos == text.size()) return EventTime{micros};

  if (text[pos] != ' ' && text[pos] != 'T') return Bad(text, "expected ' ' or 'T' after the date");
  int hour, minute, second;
  if (!Digits(text, pos + 1, 2, &hour) || text.size() < pos + 9 || text[pos + 3] != ':' ||
      !Digits(text, pos + 4, 2, &minute) || text[pos + 6] != ':' ||
      !Digits(text, pos + 7, 2, &second)) {
    return Bad(text, "expected HH:MM:SS after the date");
  }
  if (hour > 23 || minute > 59 || second > 59) return Bad(text, "time of day out of range");
  micros += (hour * 3600LL + minute * 60LL + second) * kMicrosPerSecond;
  pos += 9;

  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t frac = 0;
    int digits = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (digits < 6) frac = frac * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return Bad(text, "no digits after '.'");
    for (int i = digits; i < 6; ++i) frac *= 10;
    micros += frac;
  }
  if (pos == text.size()) return EventTime{micros};

  std::string_view zone = text.substr(pos);
  if (zone == "Z" || zone == " UTC" || zone == "UTC" || zone == " Z") return EventTime{micros};
  if (zone.front() == ' ') zone.remove_prefix(1);
  if (zone.empty()) return Bad(text, "trailing space after the time");
  if (zone.front() != '+' && zone.front() != '-') return Bad(text, "unknown time zone suffix");
  const int sign = zone.front() == '+' ? 1 : -1;
  int oh = 0, om = 0;
  bool ok = false;
  if (zone.size() == 3) {
    ok = Digits(zone, 1, 2, &oh);
  } else if (zone.size() == 5) {
    ok = Digits(zone, 1, 2, &oh) && Digits(zone, 3, 2, &om);
  } else if (zone.size() == 6 && zone[3] == ':') {
    ok = Digits(zone, 1, 2, &oh) && Digits(zone, 4, 2, &om);
  }
  if (!ok || oh > 23 || om > 59) return Bad(text, "bad UTC offset (want +hh:mm)");
  // Local time = UTC + offset, so UTC = local - offset.
  micros -= sign * (oh * 3600LL + om * 60LL) * kMicrosPerSecond;
  // Only an offset can move a date of years 0000-9999 out of the range.
  if (!IsSupportedTime(EventTime{micros})) return Bad(text, kOutOfRange);
  return EventTime{micros};
}

int FormatTime(EventTime t, char* out) {
  int64_t secs = t.micros / kMicrosPerSecond;
  int64_t frac = t.micros % kMicrosPerSecond;
  if (frac < 0) {
    frac += kMicrosPerSecond;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  const Civil c = CivilFromDays(days);
  auto put2 = [](char* p, unsigned v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  const int64_t y = c.y;
  char* p = out;
  if (y >= 0 && y <= 9999) {
    p[0] = static_cast<char>('0' + y / 1000);
    p[1] = static_cast<char>('0' + y / 100 % 10);
    p[2] = static_cast<char>('0' + y / 10 % 10);
    p[3] = static_cast<char>('0' + y % 10);
    p += 4;
  } else {
    p = std::to_chars(p, p + 12, y).ptr;
  }
  *p++ = '-';
  put2(p, c.m);
  p[2] = '-';
  put2(p + 3, c.d);
  p[5] = ' ';
  put2(p + 6, static_cast<unsigned>(sod / 3600));
  p[8] = ':';
  put2(p + 9, static_cast<unsigned>(sod / 60 % 60));
  p[11] = ':';
  put2(p + 12, static_cast<unsigned>(sod % 60));
  p += 14;
  if (frac != 0) {
    *p++ = '.';
    int64_t div = 100000;
    while (frac != 0) {
      *p++ = static_cast<char>('0' + frac / div);
      frac %= div;
      div /= 10;
    }
  }
  return static_cast<int>(p - out);
}

std::string FormatTime(EventTime t) {
  char buf[kMaxFormattedTime];
  return std::string(buf, FormatTime(t, buf));
}

}  // namespace streamrec
