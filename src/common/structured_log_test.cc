#include "common/structured_log.h"

#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

TEST(StructuredLogTest, TextIsKeyEqualsValueInOrder) {
  EXPECT_EQ(FormatLogFields(LogFormat::kText, "ready",
                            {{"seconds", 4.25},
                             {"records", 12},
                             {"offset", uint64_t{7}},
                             {"bootstrapped", false},
                             {"path", "state/log"}}),
            "event=ready seconds=4.25 records=12 offset=7 bootstrapped=false path=state/log");
}

TEST(StructuredLogTest, TextQuotesValuesThatWouldSplitTheLine) {
  EXPECT_EQ(FormatLogFields(LogFormat::kText, "e",
                            {{"empty", ""},
                             {"space", "a b"},
                             {"equals", "k=v"},
                             {"quote", R"(say "hi")"},
                             {"newline", "one\ntwo"}}),
            R"(event=e empty="" space="a b" equals="k=v" quote="say \"hi\"" newline="one\ntwo")");
}

TEST(StructuredLogTest, JsonIsOneObjectsMembersWithStringsEscaped) {
  EXPECT_EQ(FormatLogFields(
                LogFormat::kJson, "model_trained",
                {{"model", "als"}, {"seconds", 1.5}, {"ok", true}, {"error", "bad \"x\"\\\x01"}}),
            R"("event":"model_trained","model":"als","seconds":1.5,"ok":true,)"
            R"("error":"bad \"x\"\\\u0001")");
}

TEST(StructuredLogTest, BytesThatAreNotUtf8BecomeTheReplacementCharacter) {
  // "é" (valid), a lone continuation byte, a truncated 3-byte sequence, an overlong "/".
  const std::string value = "caf\xC3\xA9 \x80 \xE2\x82 \xC0\xAF";
  EXPECT_EQ(FormatLogFields(LogFormat::kJson, "e", {{"path", value}}),
            "\"event\":\"e\",\"path\":\"caf\xC3\xA9 \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD "
            "\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(FormatLogFields(LogFormat::kText, "e", {{"path", "café"}}), R"(event=e path="café")");
}

TEST(StructuredLogTest, NonFiniteNumbersAreNullInJsonAndNamedInText) {
  EXPECT_EQ(
      FormatLogFields(LogFormat::kJson, "e", {{"x", std::numeric_limits<double>::quiet_NaN()}}),
      R"("event":"e","x":null)");
  EXPECT_EQ(
      FormatLogFields(LogFormat::kText, "e", {{"x", -std::numeric_limits<double>::infinity()}}),
      "event=e x=-inf");
  EXPECT_EQ(
      FormatLogFields(LogFormat::kText, "e", {{"x", std::numeric_limits<double>::quiet_NaN()}}),
      "event=e x=NaN");
}

TEST(StructuredLogTest, FormatNamesAreTextAndJson) {
  EXPECT_EQ(*ParseLogFormat("text"), LogFormat::kText);
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_THAT(ParseLogFormat("yaml").status().message(),
              testing::HasSubstr("text or json, not 'yaml'"));
}

}  // namespace
}  // namespace streamrec
