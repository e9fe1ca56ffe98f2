// ParseTime and FormatTime: every accepted form of the spec's "Time" section, every
// refusal with its reason, and the text written back out.

#include "common/time.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {

// A gtest printer, so that failures show times rather than bytes.
inline void PrintTo(EventTime t, std::ostream* os) {
  *os << FormatTime(t) << " (" << t.micros << " us)";
}

namespace {

using ::testing::HasSubstr;

// 2024-02-01 00:00:00 UTC.
constexpr int64_t kFeb1Seconds = 1706745600;

EventTime Micros(int64_t micros) { return EventTime{micros}; }
EventTime Seconds(int64_t seconds) { return EventTime::FromSeconds(seconds); }

// Parses `text`, failing the test (and returning the epoch) when it is refused.
EventTime MustParse(std::string_view text) {
  absl::StatusOr<EventTime> t = ParseTime(text);
  EXPECT_TRUE(t.ok()) << "'" << text << "': " << t.status();
  return t.ok() ? *t : EventTime{};
}

// The refusal message for `text`, or "" (and a test failure) when it was accepted.
std::string Refusal(std::string_view text) {
  absl::StatusOr<EventTime> t = ParseTime(text);
  EXPECT_FALSE(t.ok()) << "'" << text << "' was accepted as " << FormatTime(*t);
  if (t.ok()) return "";
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << t.status();
  return std::string(t.status().message());
}

// ---------------------------------------------------------------------------
// Accepted forms

TEST(ParseTimeTest, SpaceSeparatedDateTime) {
  EXPECT_EQ(MustParse("2024-02-01 10:20:30"), Seconds(kFeb1Seconds + 10 * 3600 + 20 * 60 + 30));
}

TEST(ParseTimeTest, BareDateIsMidnightUtc) {
  EXPECT_EQ(MustParse("2024-02-01"), Seconds(kFeb1Seconds));
  EXPECT_EQ(MustParse("2024-02-01"), MustParse("2024-02-01 00:00:00"));
}

TEST(ParseTimeTest, EpochDateIsZero) {
  EXPECT_EQ(MustParse("1970-01-01"), Micros(0));
  EXPECT_EQ(MustParse("1970-01-01 00:00:00"), Micros(0));
}

TEST(ParseTimeTest, TSeparatorEqualsSpace) {
  EXPECT_EQ(MustParse("2024-02-01T10:20:30"), MustParse("2024-02-01 10:20:30"));
}

TEST(ParseTimeTest, LastSecondOfTheDay) {
  EXPECT_EQ(MustParse("2024-02-01 23:59:59"), Seconds(kFeb1Seconds + 86399));
}

TEST(ParseTimeTest, FractionWithOneDigitIsTenths) {
  EXPECT_EQ(MustParse("2024-02-01 00:00:00.5"), Micros(kFeb1Seconds * kMicrosPerSecond + 500000));
}

TEST(ParseTimeTest, FractionWithThreeDigitsIsMillis) {
  EXPECT_EQ(MustParse("2024-02-01T00:00:00.123"), Micros(kFeb1Seconds * kMicrosPerSecond + 123000));
}

TEST(ParseTimeTest, FractionWithSixDigitsIsExactMicros) {
  EXPECT_EQ(MustParse("2024-02-01 00:00:00.000001"), Micros(kFeb1Seconds * kMicrosPerSecond + 1));
  EXPECT_EQ(MustParse("2024-02-01 00:00:00.999999"),
            Micros(kFeb1Seconds * kMicrosPerSecond + 999999));
}

TEST(ParseTimeTest, FractionWithNineDigitsIsTruncatedToMicros) {
  EXPECT_EQ(MustParse("2024-02-01 00:00:00.123456789"),
            Micros(kFeb1Seconds * kMicrosPerSecond + 123456));
  // Truncated, not rounded: 0.9999999 s stays below the next second.
  EXPECT_EQ(MustParse("2024-02-01 00:00:00.999999999"),
            Micros(kFeb1Seconds * kMicrosPerSecond + 999999));
}

TEST(ParseTimeTest, FractionOfEveryLengthFromOneToNine) {
  const std::string base = "2024-02-01 00:00:00.";
  const int64_t midnight = kFeb1Seconds * kMicrosPerSecond;
  EXPECT_EQ(MustParse(base + "1"), Micros(midnight + 100000));
  EXPECT_EQ(MustParse(base + "12"), Micros(midnight + 120000));
  EXPECT_EQ(MustParse(base + "123"), Micros(midnight + 123000));
  EXPECT_EQ(MustParse(base + "1234"), Micros(midnight + 123400));
  EXPECT_EQ(MustParse(base + "12345"), Micros(midnight + 123450));
  EXPECT_EQ(MustParse(base + "123456"), Micros(midnight + 123456));
  EXPECT_EQ(MustParse(base + "1234567"), Micros(midnight + 123456));
  EXPECT_EQ(MustParse(base + "12345678"), Micros(midnight + 123456));
  EXPECT_EQ(MustParse(base + "123456789"), Micros(midnight + 123456));
}

TEST(ParseTimeTest, ZuluSuffixIsUtc) {
  EXPECT_EQ(MustParse("2024-02-01T10:00:00Z"), MustParse("2024-02-01 10:00:00"));
}

TEST(ParseTimeTest, SpaceUtcSuffixIsUtc) {
  EXPECT_EQ(MustParse("2024-02-01 10:00:00 UTC"), MustParse("2024-02-01 10:00:00"));
}

TEST(ParseTimeTest, FractionThenZulu) {
  EXPECT_EQ(MustParse("2024-02-01T10:00:00.250Z"),
            Micros(MustParse("2024-02-01 10:00:00").micros + 250000));
}

TEST(ParseTimeTest, PositiveOffsetWithColonIsSubtracted) {
  EXPECT_EQ(MustParse("2024-02-01T10:00:00+02:00"), MustParse("2024-02-01 08:00:00"));
}

TEST(ParseTimeTest, NegativeOffsetWithColonIsAdded) {
  EXPECT_EQ(MustParse("2024-02-01T10:00:00-05:00"), MustParse("2024-02-01 15:00:00"));
}

TEST(ParseTimeTest, OffsetWithoutColon) {
  EXPECT_EQ(MustParse("2024-02-01T10:00:00+0530"), MustParse("2024-02-01 04:30:00"));
  EXPECT_EQ(MustParse("2024-02-01T10:00:00-0130"), MustParse("2024-02-01 11:30:00"));
}

TEST(ParseTimeTest, OffsetInWholeHours) {
  EXPECT_EQ(MustParse("2024-02-01T10:00:00+02"), MustParse("2024-02-01 08:00:00"));
  EXPECT_EQ(MustParse("2024-02-01T10:00:00-03"), MustParse("2024-02-01 13:00:00"));
}

TEST(ParseTimeTest, OffsetWithMinutesOnColonForm) {
  EXPECT_EQ(MustParse("2024-02-01T10:00:00+05:45"), MustParse("2024-02-01 04:15:00"));
}

TEST(ParseTimeTest, ZeroOffsetIsUtc) {
  EXPECT_EQ(MustParse("2024-02-01T10:00:00+00:00"), MustParse("2024-02-01 10:00:00"));
  EXPECT_EQ(MustParse("2024-02-01T10:00:00-00:00"), MustParse("2024-02-01 10:00:00"));
}

TEST(ParseTimeTest, OffsetAfterFraction) {
  EXPECT_EQ(MustParse("2024-02-01T10:00:00.5+02:00"),
            Micros(MustParse("2024-02-01 08:00:00").micros + 500000));
}

TEST(ParseTimeTest, OffsetAfterASpace) {
  EXPECT_EQ(MustParse("2024-02-01 10:00:00 +02:00"), MustParse("2024-02-01 08:00:00"));
}

TEST(ParseTimeTest, OffsetCrossesMidnightIntoTheLeapDay) {
  EXPECT_EQ(MustParse("2024-03-01T01:00:00+02:00"), MustParse("2024-02-29 23:00:00"));
}

TEST(ParseTimeTest, NegativeOffsetCrossesIntoTheNextYear) {
  EXPECT_EQ(MustParse("2023-12-31T23:30:00-01:00"), MustParse("2024-01-01 00:30:00"));
}

TEST(ParseTimeTest, EpochIntegerSeconds) {
  EXPECT_EQ(MustParse("0"), Micros(0));
  EXPECT_EQ(MustParse("1706745600"), Seconds(kFeb1Seconds));
  EXPECT_EQ(MustParse("1706745600"), MustParse("2024-02-01"));
}

TEST(ParseTimeTest, ShortEpochSeconds) {
  EXPECT_EQ(MustParse("1"), Seconds(1));
  EXPECT_EQ(MustParse("86400"), MustParse("1970-01-02"));
}

TEST(ParseTimeTest, EpochDecimalSeconds) {
  EXPECT_EQ(MustParse("1706745600.5"), Micros(kFeb1Seconds * kMicrosPerSecond + 500000));
  EXPECT_EQ(MustParse("1706745600.000001"), Micros(kFeb1Seconds * kMicrosPerSecond + 1));
}

TEST(ParseTimeTest, EpochDecimalSecondsTruncatedToMicros) {
  EXPECT_EQ(MustParse("1706745600.123456789"), Micros(kFeb1Seconds * kMicrosPerSecond + 123456));
}

TEST(ParseTimeTest, EpochIntegerMilliseconds) {
  EXPECT_EQ(MustParse("1706745600123"), Micros(kFeb1Seconds * kMicrosPerSecond + 123000));
  EXPECT_EQ(MustParse("1706745600000"), MustParse("2024-02-01"));
}

TEST(ParseTimeTest, EpochJustBelowTenToTheElevenIsSeconds) {
  EXPECT_EQ(MustParse("99999999999"), Seconds(99999999999));
}

TEST(ParseTimeTest, EpochAtTenToTheElevenIsMilliseconds) {
  // 10^11 ms = 10^8 s = 1973-03-03 09:46:40.
  EXPECT_EQ(MustParse("100000000000"), Seconds(100000000));
  EXPECT_EQ(MustParse("100000000000"), MustParse("1973-03-03 09:46:40"));
}

TEST(ParseTimeTest, LeapDayInALeapYear) {
  EXPECT_EQ(MustParse("2024-02-29"), Seconds(kFeb1Seconds + 28 * 86400));
}

TEST(ParseTimeTest, LeapDayInA400thYear) {
  EXPECT_EQ(FormatTime(MustParse("2000-02-29")), "2000-02-29 00:00:00");
}

TEST(ParseTimeTest, LastDayOfEachMonth) {
  EXPECT_EQ(FormatTime(MustParse("2023-01-31")), "2023-01-31 00:00:00");
  EXPECT_EQ(FormatTime(MustParse("2023-04-30")), "2023-04-30 00:00:00");
  EXPECT_EQ(FormatTime(MustParse("2023-12-31 23:59:59")), "2023-12-31 23:59:59");
}

TEST(ParseTimeTest, DateBefore1970IsNegative) {
  EXPECT_EQ(MustParse("1969-12-31 23:59:59"), Seconds(-1));
  EXPECT_EQ(MustParse("1969-12-31"), Seconds(-86400));
  EXPECT_EQ(MustParse("1900-01-01"), Seconds(-2208988800));
}

TEST(ParseTimeTest, FractionBefore1970AddsTowardsLaterTime) {
  // 23:59:59.5 on the last day before the epoch is half a second before it.
  EXPECT_EQ(MustParse("1969-12-31 23:59:59.5"), Micros(-500000));
}

// ---------------------------------------------------------------------------
// Refusals

TEST(ParseTimeTest, EmptyIsRefused) { EXPECT_THAT(Refusal(""), HasSubstr("empty")); }

TEST(ParseTimeTest, GarbageIsRefused) {
  EXPECT_THAT(Refusal("yesterday"), HasSubstr("not a date, a date-time or an epoch number"));
  EXPECT_THAT(Refusal("not a time at all"), HasSubstr("bad time 'not a time at all'"));
}

TEST(ParseTimeTest, ErrorQuotesTheText) {
  EXPECT_THAT(Refusal("2024-13-01"), HasSubstr("bad time '2024-13-01'"));
}

TEST(ParseTimeTest, MonthThirteenIsRefused) {
  EXPECT_THAT(Refusal("2024-13-01"), HasSubstr("month out of range"));
}

TEST(ParseTimeTest, MonthZeroIsRefused) {
  EXPECT_THAT(Refusal("2024-00-10"), HasSubstr("month out of range"));
}

TEST(ParseTimeTest, DayZeroIsRefused) {
  EXPECT_THAT(Refusal("2024-01-00"), HasSubstr("day out of range"));
}

TEST(ParseTimeTest, FebruaryThirtiethIsRefused) {
  EXPECT_THAT(Refusal("2024-02-30"), HasSubstr("day out of range"));
}

TEST(ParseTimeTest, ThirtyFirstOfAThirtyDayMonthIsRefused) {
  EXPECT_THAT(Refusal("2024-04-31 00:00:00"), HasSubstr("day out of range"));
}

TEST(ParseTimeTest, LeapDayInANonLeapYearIsRefused) {
  EXPECT_THAT(Refusal("2023-02-29"), HasSubstr("day out of range"));
}

TEST(ParseTimeTest, LeapDayInACenturyNotDivisibleBy400IsRefused) {
  EXPECT_THAT(Refusal("1900-02-29"), HasSubstr("day out of range"));
}

TEST(ParseTimeTest, HourTwentyFourIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01 24:00:00"), HasSubstr("time of day out of range"));
}

TEST(ParseTimeTest, MinuteSixtyIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01 10:60:00"), HasSubstr("time of day out of range"));
}

TEST(ParseTimeTest, SecondSixtyIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01 10:00:60"), HasSubstr("time of day out of range"));
}

TEST(ParseTimeTest, MissingSecondsAreRefused) {
  EXPECT_THAT(Refusal("2024-02-01 10:00"), HasSubstr("expected HH:MM:SS"));
}

TEST(ParseTimeTest, SingleDigitHourIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01 1:00:00"), HasSubstr("expected HH:MM:SS"));
}

TEST(ParseTimeTest, WrongTimeSeparatorIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01 10-00-00"), HasSubstr("expected HH:MM:SS"));
}

TEST(ParseTimeTest, WrongDateTimeSeparatorIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01X10:00:00"), HasSubstr("expected ' ' or 'T'"));
}

TEST(ParseTimeTest, SlashDateIsRefused) {
  EXPECT_THAT(Refusal("2024/02/01"), HasSubstr("not a date, a date-time or an epoch number"));
  // Long enough to pass for an epoch of too many digits: still not a number at all.
  EXPECT_THAT(Refusal("2024/02/01 10:00:00"),
              HasSubstr("not a date, a date-time or an epoch number"));
  EXPECT_THAT(Refusal("10000-01-01 00:00:00"),
              HasSubstr("not a date, a date-time or an epoch number"));
}

TEST(ParseTimeTest, NonDigitInDateIsRefused) {
  EXPECT_THAT(Refusal("2024-0a-01"), HasSubstr("expected YYYY-MM-DD"));
  EXPECT_THAT(Refusal("2024-02/01"), HasSubstr("expected YYYY-MM-DD"));
}

TEST(ParseTimeTest, OffsetHourTwentyFourIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01T10:00:00+24:00"), HasSubstr("bad UTC offset"));
}

TEST(ParseTimeTest, OffsetMinuteSixtyIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01T10:00:00+02:60"), HasSubstr("bad UTC offset"));
}

TEST(ParseTimeTest, OffsetWithOneHourDigitIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01T10:00:00+2:00"), HasSubstr("bad UTC offset"));
  EXPECT_THAT(Refusal("2024-02-01T10:00:00+2"), HasSubstr("bad UTC offset"));
}

TEST(ParseTimeTest, OffsetWithNonDigitsIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01T10:00:00+ab:cd"), HasSubstr("bad UTC offset"));
  EXPECT_THAT(Refusal("2024-02-01T10:00:00+02:00:00"), HasSubstr("bad UTC offset"));
}

TEST(ParseTimeTest, SignAloneIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01T10:00:00+"), HasSubstr("bad UTC offset"));
}

TEST(ParseTimeTest, NamedTimeZoneIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01 10:00:00 CET"), HasSubstr("unknown time zone suffix"));
}

TEST(ParseTimeTest, DotWithoutDigitsIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01 10:00:00."), HasSubstr("no digits after '.'"));
  EXPECT_THAT(Refusal("2024-02-01 10:00:00.Z"), HasSubstr("no digits after '.'"));
}

TEST(ParseTimeTest, EpochEndingInDotIsRefused) {
  EXPECT_THAT(Refusal("1706745600."), HasSubstr("end in '.'"));
}

TEST(ParseTimeTest, NegativeEpochIsRefused) {
  EXPECT_THAT(Refusal("-1"), HasSubstr("not a date, a date-time or an epoch number"));
  EXPECT_THAT(Refusal("-1706745600"), HasSubstr("bad time"));
  EXPECT_THAT(Refusal("-1.5"), HasSubstr("bad time"));
}

TEST(ParseTimeTest, DecimalEpochMillisecondsAreRefused) {
  EXPECT_THAT(Refusal("1706745600000.5"), HasSubstr("decimal epoch must be in seconds"));
}

TEST(ParseTimeTest, EpochWithTooManyDigitsIsRefused) {
  EXPECT_THAT(Refusal("12345678901234567"), HasSubstr("epoch value out of range"));
}

TEST(ParseTimeTest, SixteenDigitEpochMillisecondsDoNotOverflow) {
  // 16 digits pass the length check; as milliseconds they would overflow int64 micros.
  absl::StatusOr<EventTime> t = ParseTime("9999999999999999");
  if (t.ok()) {
    EXPECT_GT(t->micros, 0) << "overflowed to " << FormatTime(*t);
  } else {
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("out of range"));
  }
}

TEST(ParseTimeTest, EpochMillisecondsAfterYear9999AreRefused) {
  EXPECT_THAT(Refusal("9223372036854775"), HasSubstr("out of range"));
  EXPECT_THAT(Refusal("253402300800000"), HasSubstr("bad time '253402300800000': out of range"));
}

TEST(ParseTimeTest, LastEpochMillisecondOfYear9999IsAccepted) {
  EXPECT_EQ(MustParse("253402300799999"), MustParse("9999-12-31 23:59:59.999"));
}

TEST(ParseTimeTest, SupportedRangeIsYears0000To9999) {
  EXPECT_EQ(MustParse("0000-01-01"), kMinTime);
  EXPECT_EQ(MustParse("9999-12-31 23:59:59.999999"), kMaxTime);
  EXPECT_EQ(FormatTime(kMinTime), "0000-01-01 00:00:00");
  EXPECT_EQ(FormatTime(kMaxTime), "9999-12-31 23:59:59.999999");
  EXPECT_TRUE(IsSupportedTime(kMinTime));
  EXPECT_TRUE(IsSupportedTime(kMaxTime));
  EXPECT_FALSE(IsSupportedTime(EventTime{kMinTime.micros - 1}));
  EXPECT_FALSE(IsSupportedTime(EventTime{kMaxTime.micros + 1}));
}

TEST(ParseTimeTest, OffsetMovingADateOutOfRangeIsRefused) {
  EXPECT_THAT(Refusal("9999-12-31T23:00:00-02:00"), HasSubstr("out of range"));
  EXPECT_THAT(Refusal("0000-01-01T00:30:00+01:00"), HasSubstr("out of range"));
  EXPECT_EQ(MustParse("9999-12-31T23:00:00+02:00"), MustParse("9999-12-31 21:00:00"));
}

TEST(ParseTimeTest, EpochWithLetterIsRefused) {
  EXPECT_THAT(Refusal("17067456OO"), HasSubstr("not a date, a date-time or an epoch number"));
  EXPECT_THAT(Refusal("1e9"), HasSubstr("bad time"));
}

TEST(ParseTimeTest, EpochWithJunkAfterTheFractionIsRefused) {
  EXPECT_THAT(Refusal("1706745600.5s"), HasSubstr("not a date, a date-time or an epoch number"));
}

TEST(ParseTimeTest, DotWithoutWholePartIsRefused) {
  EXPECT_THAT(Refusal(".5"), HasSubstr("bad time"));
}

TEST(ParseTimeTest, TrailingJunkIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01 10:00:00abc"), HasSubstr("unknown time zone suffix"));
  EXPECT_THAT(Refusal("2024-02-01T10:00:00Zjunk"), HasSubstr("unknown time zone suffix"));
  EXPECT_THAT(Refusal("2024-02-01T10:00:00+02:00x"), HasSubstr("bad UTC offset"));
}

TEST(ParseTimeTest, TrailingJunkAfterDateIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01x"), HasSubstr("expected ' ' or 'T' after the date"));
}

TEST(ParseTimeTest, DateWithTrailingSpaceOnlyIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01 "), HasSubstr("expected HH:MM:SS"));
}

TEST(ParseTimeTest, LeadingSpaceIsRefused) {
  // Callers trim (RowDecoder does); ParseTime itself takes the text as it is.
  EXPECT_FALSE(ParseTime(" 2024-02-01").ok());
}

// Runs ParseTime on `text` placed so that its last byte is the last readable byte
// before an inaccessible page: any read past the end of the view faults.
absl::StatusOr<EventTime> ParseAtPageEnd(std::string_view text) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* map = ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) return absl::InternalError("mmap failed");
  char* base = static_cast<char*>(map);
  ::mprotect(base + page, page, PROT_NONE);
  char* start = base + page - text.size();
  std::memcpy(start, text.data(), text.size());
  absl::StatusOr<EventTime> t = ParseTime(std::string_view(start, text.size()));
  ::munmap(map, 2 * page);
  return t;
}

TEST(ParseTimeTest, FullFormsDoNotReadPastTheEnd) {
  for (std::string_view text :
       {"2024-02-01", "2024-02-01 10:00:00", "2024-02-01T10:00:00.5Z", "2024-02-01 10:00:00 UTC",
        "2024-02-01T10:00:00+02:00", "2024-02-01T10:00:00+02", "1706745600", "1706745600.5",
        "2024-02-01 10:00:00.", "2024-02-01 10:00:00+", "2024-02-01 10:00:00 +",
        "2024-02-01 10:00:00 U", "2024-02-01 1", "2024-02-01 10:00", "253402300800000"}) {
    EXPECT_EQ(ParseAtPageEnd(text).ok(), ParseTime(std::string(text)).ok()) << text;
  }
}

// A single space after the seconds is stripped as the separator of a zone; the zone is
// then empty and must be refused without reading the byte after the text.
TEST(ParseTimeTest, TrailingSpaceAfterSecondsIsRefused) {
  EXPECT_THAT(Refusal("2024-02-01 10:00:00 "), HasSubstr("trailing space after the time"));
  EXPECT_THAT(Refusal("2024-02-01T10:00:00.5 "), HasSubstr("trailing space after the time"));
  EXPECT_THAT(Refusal("2024-02-01 10:00:00  "), HasSubstr("unknown time zone suffix"));
}

TEST(ParseTimeTest, TrailingSpaceAfterSecondsIsRefusedWithoutReadingPastTheEnd) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        const bool ok = ParseAtPageEnd("2024-02-01 10:00:00 ").ok();
        std::_Exit(ok ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

// ---------------------------------------------------------------------------
// FormatTime

TEST(FormatTimeTest, WholeSecondsHaveNoFraction) {
  EXPECT_EQ(FormatTime(Seconds(kFeb1Seconds + 10 * 3600 + 5)), "2024-02-01 10:00:05");
}

TEST(FormatTimeTest, EpochZero) { EXPECT_EQ(FormatTime(Micros(0)), "1970-01-01 00:00:00"); }

TEST(FormatTimeTest, FractionIsTrimmedOfTrailingZeros) {
  EXPECT_EQ(FormatTime(Micros(kFeb1Seconds * kMicrosPerSecond + 500000)), "2024-02-01 00:00:00.5");
  EXPECT_EQ(FormatTime(Micros(kFeb1Seconds * kMicrosPerSecond + 120000)), "2024-02-01 00:00:00.12");
  EXPECT_EQ(FormatTime(Micros(kFeb1Seconds * kMicrosPerSecond + 123000)),
            "2024-02-01 00:00:00.123");
}

TEST(FormatTimeTest, FractionKeepsLeadingZeros) {
  EXPECT_EQ(FormatTime(Micros(kFeb1Seconds * kMicrosPerSecond + 1)), "2024-02-01 00:00:00.000001");
  EXPECT_EQ(FormatTime(Micros(kFeb1Seconds * kMicrosPerSecond + 123)),
            "2024-02-01 00:00:00.000123");
  EXPECT_EQ(FormatTime(Micros(kFeb1Seconds * kMicrosPerSecond + 10)), "2024-02-01 00:00:00.00001");
}

TEST(FormatTimeTest, FullSixDigitFraction) {
  EXPECT_EQ(FormatTime(Micros(kFeb1Seconds * kMicrosPerSecond + 999999)),
            "2024-02-01 00:00:00.999999");
}

TEST(FormatTimeTest, OneSecondBeforeEpoch) {
  EXPECT_EQ(FormatTime(Seconds(-1)), "1969-12-31 23:59:59");
}

TEST(FormatTimeTest, OneMicrosecondBeforeEpoch) {
  EXPECT_EQ(FormatTime(Micros(-1)), "1969-12-31 23:59:59.999999");
}

TEST(FormatTimeTest, HalfSecondBeforeEpoch) {
  EXPECT_EQ(FormatTime(Micros(-500000)), "1969-12-31 23:59:59.5");
}

TEST(FormatTimeTest, DayBeforeEpochAtMidnight) {
  EXPECT_EQ(FormatTime(Seconds(-86400)), "1969-12-31 00:00:00");
}

TEST(FormatTimeTest, EarlyTwentiethCentury) {
  EXPECT_EQ(FormatTime(Seconds(-2208988800)), "1900-01-01 00:00:00");
}

TEST(FormatTimeTest, YearBelowOneThousandIsZeroPadded) {
  EXPECT_EQ(FormatTime(Seconds(DaysFromCivil(999, 12, 31) * 86400)), "0999-12-31 00:00:00");
}

TEST(FormatTimeTest, LeapDay) {
  EXPECT_EQ(FormatTime(Seconds(kFeb1Seconds + 28 * 86400 + 3661)), "2024-02-29 01:01:01");
}

TEST(FormatTimeTest, BufferFormMatchesStringForm) {
  char buf[kMaxFormattedTime];
  const EventTime t = Micros(kFeb1Seconds * kMicrosPerSecond + 42);
  const int n = FormatTime(t, buf);
  EXPECT_EQ(std::string(buf, n), FormatTime(t));
  EXPECT_LE(n, kMaxFormattedTime);
}

TEST(FormatTimeTest, ExtremeTimesFitTheBuffer) {
  char buf[kMaxFormattedTime];
  EXPECT_LE(FormatTime(Micros(INT64_MAX), buf), kMaxFormattedTime);
  EXPECT_LE(FormatTime(Micros(INT64_MIN), buf), kMaxFormattedTime);
}

TEST(FormatTimeTest, RoundTripsThroughParseTime) {
  const int64_t cases[] = {
      0,
      1,
      -1,
      999999,
      -999999,
      kFeb1Seconds * kMicrosPerSecond,
      kFeb1Seconds * kMicrosPerSecond + 123456,
      kFeb1Seconds * kMicrosPerSecond + 100000,
      MustParse("2024-02-29 23:59:59.999999").micros,
      MustParse("1969-07-20 20:17:40").micros,
      MustParse("1900-02-28 12:00:00.000001").micros,
      MustParse("2000-02-29").micros,
      MustParse("2099-12-31 23:59:59").micros,
      MustParse("0001-01-01").micros,
      MustParse("9999-12-31 23:59:59.999999").micros,
  };
  for (int64_t micros : cases) {
    const std::string text = FormatTime(Micros(micros));
    EXPECT_EQ(MustParse(text), Micros(micros)) << text;
  }
}

TEST(FormatTimeTest, ParsedTextFormatsBackInCanonicalForm) {
  EXPECT_EQ(FormatTime(MustParse("2024-02-01T10:00:00+02:00")), "2024-02-01 08:00:00");
  EXPECT_EQ(FormatTime(MustParse("2024-02-01T10:00:00.500Z")), "2024-02-01 10:00:00.5");
  EXPECT_EQ(FormatTime(MustParse("1706745600")), "2024-02-01 00:00:00");
  EXPECT_EQ(FormatTime(MustParse("1706745600123")), "2024-02-01 00:00:00.123");
  EXPECT_EQ(FormatTime(MustParse("2024-02-01")), "2024-02-01 00:00:00");
}

TEST(DaysFromCivilTest, KnownDates) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1970, 1, 2), 1);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(2024, 2, 1), kFeb1Seconds / 86400);
}

}  // namespace
}  // namespace streamrec
