#include "serving/json_writer.h"

#include <cmath>
#include <limits>
#include <string>

#include "boost/json/parse.hpp"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

TEST(JsonWriterTest, CommasAndNesting) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("a");
  w.Int(-1);
  w.Key("b");
  w.BeginArray();
  w.Uint(2);
  w.BeginObject();
  w.EndObject();
  w.BeginArray();
  w.EndArray();
  w.Bool(true);
  w.Null();
  w.EndArray();
  w.Key("c");
  w.String("x");
  w.EndObject();
  EXPECT_EQ(out, R"({"a":-1,"b":[2,{},[],true,null],"c":"x"})");
}

TEST(JsonWriterTest, DoublesAreShortAndPlain) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray();
  w.Number(0.93);
  w.Number(12);
  w.Number(1e-7);
  w.Number(std::nan(""));
  w.Number(std::numeric_limits<double>::infinity());
  w.EndArray();
  EXPECT_EQ(out, "[0.93,12,1e-07,null,null]");
  EXPECT_NO_THROW(boost::json::parse(out));
}

TEST(JsonWriterTest, StringsAreEscaped) {
  std::string out;
  JsonWriter(&out).String("q\"b\\n\n\t\x01\x7f \xC3\xBC");
  EXPECT_EQ(out, "\"q\\\"b\\\\n\\n\\t\\u0001\x7f \xC3\xBC\"");
  EXPECT_EQ(boost::json::parse(out).as_string(), "q\"b\\n\n\t\x01\x7f \xC3\xBC");
}

TEST(JsonWriterTest, InvalidUtf8BecomesReplacementCharacters) {
  std::string out;
  JsonWriter(&out).String(
      "a\xFF"
      "b\xC3"
      "c\xED\xA0\x80"
      "d\xF4\x90\x80\x80");
  // Each byte that starts no valid sequence becomes U+FFFD; the result parses as JSON.
  EXPECT_NO_THROW(boost::json::parse(out)) << out;
  EXPECT_EQ(out.find('\xFF'), std::string::npos);
  EXPECT_EQ(out.substr(0, 5), "\"a\xEF\xBF\xBD");
}

TEST(JsonWriterTest, ValueWritesAnyDocument) {
  const boost::json::value v = boost::json::parse(R"({"a":[1,2.5,"x",null,{"b":false}],"c":-3})");
  std::string out;
  JsonWriter(&out).Value(v);
  EXPECT_EQ(out, R"({"a":[1,2.5,"x",null,{"b":false}],"c":-3})");
}

}  // namespace
}  // namespace streamrec
