#include "serving/event_json.h"

#include <random>
#include <sstream>
#include <string>

#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using ::testing::HasSubstr;

// 2024-02-01 10:00:00 UTC.
constexpr EventTime kNow = EventTime::FromSeconds(1'706'781'600);

absl::StatusOr<ParsedEvents> Parse(std::string_view body, BodyFormat format = BodyFormat::kJson) {
  JsonReader reader;
  return ParseEventBody(body, format, kNow, &reader);
}

// The one event of `object_text`, or the error it was rejected with.
absl::StatusOr<IngestEvent> One(std::string_view object_text) {
  JsonReader reader;
  absl::StatusOr<const boost::json::value*> value = reader.Parse(object_text);
  if (!value.ok()) return value.status();
  IngestEvent event;
  absl::Status status = EventFromJson(**value, kNow, &event);
  if (!status.ok()) return status;
  return event;
}

std::string Message(const absl::StatusOr<IngestEvent>& e) {
  return std::string(e.status().message());
}

TEST(EventJsonTest, ObjectIsOneEvent) {
  auto parsed = Parse(R"({"user_id":"u1","item_id":"i1","event_type":"click",
                          "timestamp":"2024-02-01 09:00:00","event_id":"e1","extra":[1,{}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->events.size(), 1u);
  const IngestEvent& e = parsed->events[0];
  EXPECT_EQ(e.user_id, "u1");
  EXPECT_EQ(e.item_id, "i1");
  EXPECT_EQ(e.type, EventType::kClick);
  EXPECT_EQ(e.time, EventTime::FromSeconds(1'706'778'000));
  EXPECT_FALSE(e.amount.has_value());
  EXPECT_EQ(e.event_id, "e1");
  EXPECT_TRUE(parsed->rejected.empty());
}

TEST(EventJsonTest, ArrayRejectsOnlyTheBadIndex) {
  auto parsed = Parse(R"([{"user_id":"u1","item_id":"i1","event_type":"view"},
                          {"user_id":"u2","event_type":"view"},
                          7,
                          {"user_id":"u3","item_id":"i3","event_type":"view"}])");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->events.size(), 2u);
  EXPECT_EQ(parsed->events[0].user_id, "u1");
  EXPECT_EQ(parsed->events[1].user_id, "u3");
  ASSERT_EQ(parsed->rejected.size(), 2u);
  EXPECT_EQ(parsed->rejected[0].index, 1u);
  EXPECT_EQ(parsed->rejected[0].error, "item_id: missing");
  EXPECT_EQ(parsed->rejected[1].index, 2u);
  EXPECT_EQ(parsed->rejected[1].error, "an event must be a JSON object, not an integer");
}

TEST(EventJsonTest, EmptyArrayIsNoEvents) {
  auto parsed = Parse("[]");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->events.empty());
  EXPECT_TRUE(parsed->rejected.empty());
}

TEST(EventJsonTest, MalformedJsonIsAnErrorSayingWhere) {
  auto parsed = Parse(R"([{"user_id":"u1",])");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(parsed.status().message(), HasSubstr("at byte 17"));
}

TEST(EventJsonTest, EmptyJsonBodyIsAnError) {
  EXPECT_FALSE(Parse("").ok());
  EXPECT_FALSE(Parse("  \n").ok());
  EXPECT_THAT(Parse("[1,2").status().message(), HasSubstr("ends before the value does"));
}

TEST(EventJsonTest, ScalarBodyIsAnError) {
  auto parsed = Parse(R"("hello")");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("must be an event object or an array"));
}

TEST(EventJsonTest, TwoObjectsAsJsonSuggestNdjson) {
  auto parsed = Parse("{\"user_id\":\"u1\"}\n{\"user_id\":\"u2\"}");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("application/x-ndjson"));
}

TEST(EventJsonTest, NdjsonIndexCountsEventsAndLineCountsLines) {
  const std::string body =
      "{\"user_id\":\"u1\",\"item_id\":\"i1\",\"event_type\":\"view\"}\r\n"
      "\n"
      "   \n"
      "not json\n"
      "{\"user_id\":\"u2\",\"item_id\":\"i2\",\"event_type\":\"nope\"}\n"
      "{\"user_id\":\"u3\",\"item_id\":\"i3\",\"event_type\":\"purchase\",\"amount\":5}";
  auto parsed = Parse(body, BodyFormat::kNdjson);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->events.size(), 2u);
  EXPECT_EQ(parsed->events[0].user_id, "u1");
  EXPECT_EQ(parsed->events[1].user_id, "u3");
  ASSERT_EQ(parsed->rejected.size(), 2u);
  EXPECT_EQ(parsed->rejected[0].index, 1u);
  EXPECT_EQ(parsed->rejected[0].line, 4u);
  EXPECT_THAT(parsed->rejected[0].error, HasSubstr("not valid JSON"));
  EXPECT_EQ(parsed->rejected[1].index, 2u);
  EXPECT_EQ(parsed->rejected[1].line, 5u);
  EXPECT_THAT(parsed->rejected[1].error, HasSubstr("event_type: unknown event type 'nope'"));
}

TEST(EventJsonTest, NdjsonEmptyBodyIsNoEvents) {
  auto parsed = Parse("\n\n", BodyFormat::kNdjson);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->events.empty());
  EXPECT_TRUE(parsed->rejected.empty());
}

TEST(EventJsonTest, NdjsonWithoutAnyJsonLineIsNotNdjson) {
  auto parsed = Parse("hello\n\nuser=u1&item=i1\n", BodyFormat::kNdjson);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("not NDJSON: no line is JSON (line 1: "));
}

TEST(EventJsonTest, NdjsonLineWithAnArrayIsRejected) {
  auto parsed = Parse("[{\"user_id\":\"u1\",\"item_id\":\"i1\",\"event_type\":\"view\"}]",
                      BodyFormat::kNdjson);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->rejected.size(), 1u);
  EXPECT_THAT(parsed->rejected[0].error, HasSubstr("must be a JSON object, not an array"));
}

TEST(EventJsonTest, MissingFieldsSayWhich) {
  EXPECT_EQ(Message(One(R"({"item_id":"i","event_type":"view"})")), "user_id: missing");
  EXPECT_EQ(Message(One(R"({"user_id":null,"item_id":"i","event_type":"view"})")),
            "user_id: missing");
  EXPECT_EQ(Message(One(R"({"user_id":"u","event_type":"view"})")), "item_id: missing");
  EXPECT_EQ(Message(One(R"({"user_id":"u","item_id":"i"})")), "event_type: missing");
}

TEST(EventJsonTest, BlankIdsAreRejected) {
  EXPECT_EQ(Message(One(R"({"user_id":"","item_id":"i","event_type":"view"})")), "user_id: empty");
  EXPECT_EQ(Message(One(R"({"user_id":"u","item_id":"  ","event_type":"view"})")),
            "item_id: empty");
}

TEST(EventJsonTest, IdsAreTakenAsWritten) {
  auto e = One(R"({"user_id":" u1 ","item_id":"ü\n","event_type":"view"})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->user_id, " u1 ");
  EXPECT_EQ(e->item_id, "ü\n");
}

TEST(EventJsonTest, IntegerIdsAreDecimalText) {
  auto e = One(R"({"user_id":42,"item_id":18446744073709551615,"event_type":"view",
                   "event_id":-7})");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->user_id, "42");
  EXPECT_EQ(e->item_id, "18446744073709551615");
  EXPECT_EQ(e->event_id, "-7");
}

TEST(EventJsonTest, NonIntegerIdsAreRejected) {
  EXPECT_THAT(Message(One(R"({"user_id":4.5,"item_id":"i","event_type":"view"})")),
              HasSubstr("user_id: a number that is not an integer"));
  EXPECT_THAT(Message(One(R"({"user_id":1e30,"item_id":"i","event_type":"view"})")),
              HasSubstr("send such an id as a string"));
  EXPECT_EQ(Message(One(R"({"user_id":true,"item_id":"i","event_type":"view"})")),
            "user_id: must be a string or an integer, not a boolean");
  EXPECT_EQ(Message(One(R"({"user_id":"u","item_id":["i"],"event_type":"view"})")),
            "item_id: must be a string or an integer, not an array");
}

TEST(EventJsonTest, OverlongIdIsRejected) {
  const std::string id(kMaxIdBytes + 1, 'x');
  EXPECT_EQ(Message(One(R"({"user_id":")" + id + R"(","item_id":"i","event_type":"view"})")),
            "user_id: longer than 1024 bytes");
  const std::string longest(kMaxIdBytes, 'x');
  EXPECT_TRUE(One(R"({"user_id":")" + longest + R"(","item_id":"i","event_type":"view"})").ok());
}

TEST(EventJsonTest, EventTypesAreTheFourNames) {
  for (const char* type : {"view", "click", "add_to_cart"}) {
    EXPECT_TRUE(One(StrCat(R"({"user_id":"u","item_id":"i","event_type":")", type, "\"}")).ok());
  }
  EXPECT_THAT(Message(One(R"({"user_id":"u","item_id":"i","event_type":"View"})")),
              HasSubstr("event_type: unknown event type 'View'"));
  EXPECT_EQ(Message(One(R"({"user_id":"u","item_id":"i","event_type":3})")),
            "event_type: must be a string, not an integer");
}

TEST(EventJsonTest, PurchaseNeedsAnAmount) {
  EXPECT_EQ(Message(One(R"({"user_id":"u","item_id":"i","event_type":"purchase"})")),
            "amount: required for purchase events");
  EXPECT_EQ(Message(One(R"({"user_id":"u","item_id":"i","event_type":"purchase","amount":null})")),
            "amount: required for purchase events");
  auto e = One(R"({"user_id":"u","item_id":"i","event_type":"purchase","amount":19.99})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->amount, 19.99);
  auto zero = One(R"({"user_id":"u","item_id":"i","event_type":"purchase","amount":0})");
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->amount, 0.0);
}

TEST(EventJsonTest, AmountMustBeAFiniteNonNegativeNumber) {
  EXPECT_EQ(Message(One(R"({"user_id":"u","item_id":"i","event_type":"view","amount":-1})")),
            "amount: negative (-1)");
  EXPECT_EQ(Message(One(R"({"user_id":"u","item_id":"i","event_type":"purchase","amount":"5"})")),
            "amount: must be a number, not a string");
  EXPECT_EQ(Message(One(R"({"user_id":"u","item_id":"i","event_type":"purchase","amount":1e999})")),
            "amount: not finite");
  auto view = One(R"({"user_id":"u","item_id":"i","event_type":"view","amount":3})");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->amount, 3.0);
}

TEST(EventJsonTest, MissingNullOrBlankTimestampIsNow) {
  for (const char* ts : {"", R"(,"timestamp":null)", R"(,"timestamp":"")", R"(,"timestamp":" ")"}) {
    auto e = One(StrCat(R"({"user_id":"u","item_id":"i","event_type":"view")", ts, "}"));
    ASSERT_TRUE(e.ok()) << ts;
    EXPECT_EQ(e->time, kNow) << ts;
  }
}

TEST(EventJsonTest, TimestampStringsTakeEveryTimeForm) {
  struct Case {
    const char* text;
    EventTime time;
  };
  const Case cases[] = {
      {"2024-02-01", EventTime::FromSeconds(1'706'745'600)},
      {"2024-02-01T10:00:00Z", kNow},
      {"2024-02-01 12:00:00+02:00", kNow},
      {" 2024-02-01 10:00:00.25 ", EventTime{kNow.micros + 250'000}},
      {"1706781600", kNow},
      {"1706781600000", kNow},
  };
  for (const Case& c : cases) {
    auto e = One(
        StrCat(R"({"user_id":"u","item_id":"i","event_type":"view","timestamp":")", c.text, "\"}"));
    ASSERT_TRUE(e.ok()) << c.text << ": " << e.status();
    EXPECT_EQ(e->time, c.time) << c.text;
  }
  EXPECT_THAT(
      Message(One(R"({"user_id":"u","item_id":"i","event_type":"view","timestamp":"soon"})")),
      HasSubstr("timestamp: bad time 'soon'"));
}

TEST(EventJsonTest, TimestampNumbersAreMilliseconds) {
  auto e = One(R"({"user_id":"u","item_id":"i","event_type":"view","timestamp":1706781600000})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->time, kNow);
  auto fractional =
      One(R"({"user_id":"u","item_id":"i","event_type":"view","timestamp":1706781600000.5})");
  ASSERT_TRUE(fractional.ok());
  EXPECT_EQ(fractional->time, EventTime{kNow.micros + 500});
  // A seconds-sized number is still milliseconds: 1970-01-20.
  auto small = One(R"({"user_id":"u","item_id":"i","event_type":"view","timestamp":1706781600})");
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->time, EventTime{1'706'781'600'000});
  EXPECT_THAT(Message(One(R"({"user_id":"u","item_id":"i","event_type":"view","timestamp":true})")),
              HasSubstr("timestamp: must be a string or a number of milliseconds"));
}

TEST(EventJsonTest, TimestampBefore1970IsRejected) {
  for (const char* ts : {R"("1969-12-31 23:59:59")", "-1", "-0.5", "-0.0001", "-1e300"}) {
    EXPECT_EQ(Message(One(StrCat(R"({"user_id":"u","item_id":"i","event_type":"view","timestamp":)",
                                 ts, "}"))),
              "timestamp: before 1970-01-01")
        << ts;
  }
  EXPECT_TRUE(One(R"({"user_id":"u","item_id":"i","event_type":"view","timestamp":0})").ok());
}

TEST(EventJsonTest, TimestampMoreThanADayAheadIsRejected) {
  const int64_t now_ms = kNow.micros / 1000;
  const int64_t day_ms = 86'400'000;
  EXPECT_TRUE(One(StrCat(R"({"user_id":"u","item_id":"i","event_type":"view","timestamp":)",
                         now_ms + day_ms, "}"))
                  .ok());
  for (const std::string& ts :
       {StrCat(now_ms + day_ms + 1), std::string(R"("2024-02-02 10:00:01")"),
        std::string("18446744073709551615"), std::string("1e300")}) {
    EXPECT_THAT(
        Message(One(
            StrCat(R"({"user_id":"u","item_id":"i","event_type":"view","timestamp":)", ts, "}"))),
        HasSubstr("timestamp: more than 1 day after the server's time (2024-02-01 10:00:00 UTC)"))
        << ts;
  }
}

TEST(EventJsonTest, EventIdIsOptionalButNotEmpty) {
  auto none = One(R"({"user_id":"u","item_id":"i","event_type":"view","event_id":null})");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->event_id, "");
  EXPECT_EQ(Message(One(R"({"user_id":"u","item_id":"i","event_type":"view","event_id":""})")),
            "event_id: empty");
}

TEST(EventJsonTest, RepeatedKeyTakesTheLastValue) {
  auto e = One(R"({"user_id":"u1","user_id":"u2","item_id":"i","event_type":"view"})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->user_id, "u2");
}

TEST(EventJsonTest, FirstBadFieldIsReported) {
  EXPECT_EQ(Message(One(R"({"user_id":"","item_id":"","event_type":"x"})")), "user_id: empty");
}

TEST(EventJsonTest, SessionEventIsAnObjectOrABareId) {
  JsonReader reader;
  auto value = reader.Parse(R"(["i1", 7, {"item_id":"i2","event_type":"click",
                                         "timestamp":"2024-02-01 09:00:00"},
                                {"item_id":"i3"}, {"event_type":"view"}, 1.5])");
  ASSERT_TRUE(value.ok());
  const boost::json::array& events = (*value)->get_array();
  SessionEvent e;
  ASSERT_TRUE(SessionEventFromJson(events[0], kNow, &e).ok());
  EXPECT_EQ(e.item_id, "i1");
  EXPECT_EQ(e.type, EventType::kView);
  EXPECT_EQ(e.time, kNow);
  ASSERT_TRUE(SessionEventFromJson(events[1], kNow, &e).ok());
  EXPECT_EQ(e.item_id, "7");
  ASSERT_TRUE(SessionEventFromJson(events[2], kNow, &e).ok());
  EXPECT_EQ(e.type, EventType::kClick);
  EXPECT_EQ(e.time, EventTime::FromSeconds(1'706'778'000));
  ASSERT_TRUE(SessionEventFromJson(events[3], kNow, &e).ok());
  EXPECT_EQ(e.type, EventType::kView);
  EXPECT_EQ(SessionEventFromJson(events[4], kNow, &e).message(), "item_id: missing");
  EXPECT_THAT(std::string(SessionEventFromJson(events[5], kNow, &e).message()),
              HasSubstr("an event must be a JSON object or an item id"));
}

TEST(EventJsonTest, NdjsonPastTheEventLimitStopsAtTheLimit) {
  const std::string line = R"({"user_id":"u","item_id":"i","event_type":"view"})";
  JsonReader reader;
  // Blank lines are no events; lines that are not JSON are.
  const std::string three = StrCat("\n\n", line, "\n\n", line, "\nx\n\n");
  absl::StatusOr<ParsedEvents> parsed =
      ParseEventBody(three, BodyFormat::kNdjson, kNow, &reader, /*max_events=*/3);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->events.size(), 2u);
  std::string many = StrCat(line, "\n");
  for (int i = 0; i < 100'000; ++i) many += "x\n";
  parsed = ParseEventBody(many, BodyFormat::kNdjson, kNow, &reader, /*max_events=*/3);
  EXPECT_TRUE(absl::IsResourceExhausted(parsed.status())) << parsed.status();
  EXPECT_THAT(parsed.status().message(),
              HasSubstr("more than 3 events in one request, over the limit of 3"));
}

TEST(EventJsonTest, ArrayPastTheEventLimitIsRefusedWhole) {
  const std::string line = R"({"user_id":"u","item_id":"i","event_type":"view"})";
  JsonReader reader;
  const std::string four = StrCat("[", line, ",", line, ",", line, ",1]");
  absl::StatusOr<ParsedEvents> parsed =
      ParseEventBody(four, BodyFormat::kJson, kNow, &reader, /*max_events=*/3);
  EXPECT_TRUE(absl::IsResourceExhausted(parsed.status())) << parsed.status();
  EXPECT_THAT(parsed.status().message(), HasSubstr("4 events in one request"));
  parsed = ParseEventBody(four, BodyFormat::kJson, kNow, &reader, /*max_events=*/4);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->events.size(), 3u);
  EXPECT_EQ(parsed->rejected.size(), 1u);
}

TEST(EventJsonTest, ReaderIsReusableForLargeTexts) {
  std::string big = "[";
  for (int i = 0; i < 5000; ++i) big += StrCat(i == 0 ? "" : ",", R"({"user_id":"u)", i, "\"}");
  big += "]";
  JsonReader reader;
  for (int i = 0; i < 200; ++i) {
    auto value = reader.Parse(big);
    ASSERT_TRUE(value.ok()) << i;
    ASSERT_EQ((*value)->as_array().size(), 5000u);
  }
}

TEST(EventJsonTest, ReaderIsReusable) {
  JsonReader reader;
  for (int i = 0; i < 1000; ++i) {
    auto value = reader.Parse(StrCat(R"({"n":)", i, R"(,"pad":")", std::string(i, 'x'), "\"}"));
    ASSERT_TRUE(value.ok());
    EXPECT_EQ((*value)->as_object().at("n").as_int64(), i);
    ASSERT_FALSE(reader.Parse("{").ok());
  }
}

// Random bytes and random damage to valid bodies: the parser never crashes, and every
// event of the body is either taken or rejected, never both or neither.
TEST(EventJsonTest, RandomBytesNeverBreakTheParser) {
  std::mt19937 rng(20240201);
  const std::string valid =
      R"([{"user_id":"u1","item_id":"i1","event_type":"purchase","amount":5,"timestamp":1706781600000},)"
      R"({"user_id":2,"item_id":"i2","event_type":"view","event_id":"e"}])";
  constexpr char kAlphabet[] = "{}[]\",:0123456789.-+eE \n\\tufnrlsa_\x80\xff\xc3\0";
  const std::string alphabet(kAlphabet, sizeof(kAlphabet) - 1);
  JsonReader reader;
  for (int round = 0; round < 20000; ++round) {
    std::string body;
    if (round % 2 == 0) {
      const size_t n = rng() % 64;
      for (size_t i = 0; i < n; ++i) body.push_back(alphabet[rng() % alphabet.size()]);
    } else {
      body = valid;
      for (int edits = 1 + rng() % 4; edits > 0; --edits) {
        const size_t at = rng() % body.size();
        switch (rng() % 3) {
          case 0:
            body[at] = alphabet[rng() % alphabet.size()];
            break;
          case 1:
            body.erase(at, 1 + rng() % 3);
            break;
          default:
            body.insert(at, 1, alphabet[rng() % alphabet.size()]);
        }
        if (body.empty()) body.push_back('x');
      }
    }
    for (BodyFormat format : {BodyFormat::kJson, BodyFormat::kNdjson}) {
      auto parsed = ParseEventBody(body, format, kNow, &reader);
      if (!parsed.ok()) {
        if (format == BodyFormat::kNdjson) {  // only when no line is JSON
          EXPECT_THAT(parsed.status().message(), HasSubstr("not NDJSON")) << body;
          std::stringstream lines(body);
          for (std::string line; std::getline(lines, line);) {
            if (!TrimAscii(line).empty()) {
              EXPECT_FALSE(reader.Parse(line).ok()) << line;
            }
          }
        }
        continue;
      }
      size_t expected = 0;
      if (format == BodyFormat::kJson) {
        auto value = reader.Parse(body);
        ASSERT_TRUE(value.ok());
        expected = (*value)->is_array() ? (*value)->get_array().size() : 1;
      } else {
        size_t pos = 0;
        while (pos < body.size()) {
          size_t end = body.find('\n', pos);
          if (end == std::string::npos) end = body.size();
          if (!TrimAscii(std::string_view(body).substr(pos, end - pos)).empty()) ++expected;
          pos = end + 1;
        }
      }
      EXPECT_EQ(parsed->events.size() + parsed->rejected.size(), expected) << body;
      for (const IngestEvent& e : parsed->events) {
        EXPECT_FALSE(e.user_id.empty());
        EXPECT_FALSE(e.item_id.empty());
        EXPECT_GE(e.time, EventTime{0});
        if (e.type == EventType::kPurchase) {
          EXPECT_TRUE(e.amount.has_value());
        }
      }
    }
  }
}

}  // namespace
}  // namespace streamrec
