#include "common/json_string.h"

#include "gtest/gtest.h"

namespace streamrec {
namespace {

std::string Json(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Json("a\"b\\c\nd\re\tf\x01"), R"("a\"b\\c\nd\re\tf\u0001")");
  EXPECT_EQ(Json(""), R"("")");
}

TEST(JsonStringTest, WellFormedUtf8StaysAsItIs) {
  EXPECT_EQ(Json("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
}

TEST(JsonStringTest, EachByteOfMalformedUtf8BecomesTheReplacementCharacter) {
  const std::string kFffd = "\xEF\xBF\xBD";
  // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate, and a
  // value above U+10FFFF.
  EXPECT_EQ(Json("\x80"), "\"" + kFffd + "\"");
  EXPECT_EQ(Json("\xE2\x82"), "\"" + kFffd + kFffd + "\"");
  EXPECT_EQ(Json("\xC0\xAF"), "\"" + kFffd + kFffd + "\"");
  EXPECT_EQ(Json("\xED\xA0\x80"), "\"" + kFffd + kFffd + kFffd + "\"");
  EXPECT_EQ(Json("\xF4\x90\x80\x80"), "\"" + kFffd + kFffd + kFffd + kFffd + "\"");
  for (const std::string_view bad :
       {"\x80", "\xE2\x82", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
}

// Runs of eight ASCII bytes are checked at once: a bad byte at any place around them is
// still found, and good sequences that straddle them still pass.
TEST(JsonStringTest, Utf8IsCheckedAtEveryPlaceAroundAsciiRuns) {
  const std::string ascii = "abcdefghijklmnopq";  // 17 bytes
  for (size_t at = 0; at <= ascii.size(); ++at) {
    std::string bad = ascii;
    bad.insert(at, "\xE2\x82");  // truncated
    EXPECT_FALSE(IsValidUtf8(bad)) << at;
    std::string good = ascii;
    good.insert(at, "\xE2\x82\xAC");
    EXPECT_TRUE(IsValidUtf8(good)) << at;
  }
  EXPECT_TRUE(IsValidUtf8(ascii));
  EXPECT_TRUE(IsValidUtf8(""));
}

}  // namespace
}  // namespace streamrec
