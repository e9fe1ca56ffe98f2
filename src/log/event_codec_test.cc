// Event payload codec: round trips of every field shape, and a precise error for every
// kind of malformed payload.

#include "log/event_codec.h"

#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using ::testing::HasSubstr;

std::vector<LoggedEvent> SampleEvents() {
  return {
      {"u1", "i1", "", EventType::kView, EventTime::FromSeconds(1'706'781'600), std::nullopt},
      {"u1", "i2", "e-2", EventType::kClick, EventTime::FromSeconds(1'706'781'601), std::nullopt},
      {"用户", "item with spaces", "e3", EventType::kAddToCart,
       EventTime::FromSeconds(1'706'781'500), std::nullopt},  // earlier: a negative delta
      {"u2", "i3", "", EventType::kPurchase, EventTime{1'706'781'600'123'456}, 19.99},
      {"u2", "i3", "", EventType::kPurchase, EventTime{1'706'781'600'123'456}, 0.0},
      {"", "", "", EventType::kView, kMinTime, std::nullopt},
      {"u", "i", "", EventType::kView, kMaxTime, std::numeric_limits<double>::max()},
  };
}

std::string Encode(const std::vector<LoggedEvent>& events) {
  std::string payload;
  EncodeEvents(events, &payload);
  return payload;
}

absl::Status DecodeStatus(std::string_view payload) {
  std::vector<LoggedEvent> events;
  return DecodeEvents(payload, &events);
}

TEST(EventCodecTest, EventCodecRoundTrips) {
  const std::vector<LoggedEvent> events = SampleEvents();
  const std::string payload = Encode(events);
  std::vector<LoggedEvent> decoded = {{"stale", "", "", EventType::kView, {}, {}}};
  ASSERT_TRUE(DecodeEvents(payload, &decoded).ok());
  EXPECT_EQ(decoded, events);
}

TEST(EventCodecTest, DecodedViewsPointIntoThePayload) {
  const std::string payload = Encode(SampleEvents());
  std::vector<LoggedEvent> decoded;
  ASSERT_TRUE(DecodeEvents(payload, &decoded).ok());
  EXPECT_GE(decoded[0].user_id.data(), payload.data());
  EXPECT_LT(decoded[0].user_id.data(), payload.data() + payload.size());
}

TEST(EventCodecTest, EmptyBatchRoundTrips) {
  std::vector<LoggedEvent> decoded(3);
  ASSERT_TRUE(DecodeEvents(Encode({}), &decoded).ok());
  EXPECT_TRUE(decoded.empty());
}

TEST(EventCodecTest, AppendsToTheOutput) {
  std::string payload = "prefix";
  EncodeEvents(SampleEvents(), &payload);
  EXPECT_EQ(payload.substr(6), Encode(SampleEvents()));
}

TEST(EventCodecTest, NearbyTimesTakeFewBytes) {
  std::vector<LoggedEvent> events;
  for (int i = 0; i < 1000; ++i) {
    events.push_back(
        {"u", "i", "", EventType::kView, EventTime{1'706'781'600'000'000 + i * 1000}, {}});
  }
  // 1 flag byte, <= 2 bytes of time delta (1 ms), 3 one-byte ids, 3 length bytes.
  EXPECT_LE(Encode(events).size(), 20u + 1000u * 9u);
}

TEST(EventCodecTest, TruncatedPayloadIsAnError) {
  const std::string payload = Encode(SampleEvents());
  for (size_t n = 0; n < payload.size(); ++n) {
    const absl::Status status = DecodeStatus(std::string_view(payload).substr(0, n));
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << n << ": " << status;
  }
  EXPECT_THAT(DecodeStatus(std::string_view(payload).substr(0, payload.size() - 1)).message(),
              HasSubstr("event 6 of 7: truncated"));
}

TEST(EventCodecTest, TrailingBytesAreAnError) {
  EXPECT_THAT(DecodeStatus(Encode(SampleEvents()) + "x").message(),
              HasSubstr("1 bytes after the last of 7 events"));
}

TEST(EventCodecTest, UnknownFormatIsAnError) {
  std::string payload = Encode(SampleEvents());
  payload[0] = 9;
  EXPECT_THAT(DecodeStatus(payload).message(), HasSubstr("unknown format 9"));
  EXPECT_THAT(DecodeStatus("").message(), HasSubstr("empty"));
}

TEST(EventCodecTest, UnknownEventTypeAndFlagsAreErrors) {
  std::string payload = Encode({SampleEvents()[0]});
  payload[2] = 0x04;  // type 4
  EXPECT_THAT(DecodeStatus(payload).message(), HasSubstr("event 0 of 1: unknown event type 4"));
  payload[2] = 0x20;
  EXPECT_THAT(DecodeStatus(payload).message(), HasSubstr("unknown flags 0x20"));
}

TEST(EventCodecTest, TimeOutOfRangeIsAnError) {
  std::vector<LoggedEvent> events = {SampleEvents()[6]};  // kMaxTime
  events.push_back(events[0]);
  std::string payload = Encode(events);
  // The second event's delta is 0 (one byte, 0x00 after its flags byte); make it +1 us.
  const size_t second = payload.size() - (1 + 1 + 2 + 2 + 1 + 8);
  ASSERT_EQ(payload[second + 1], 0);
  payload[second + 1] = 2;  // zigzag(+1)
  EXPECT_THAT(DecodeStatus(payload).message(), HasSubstr("event 1 of 2: time"));
}

TEST(EventCodecTest, HugeCountIsRefusedBeforeAllocating) {
  std::string payload = "\x01";
  payload += std::string("\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 9);  // a count near 2^63
  EXPECT_THAT(DecodeStatus(payload).message(), HasSubstr("cannot fit"));
}

}  // namespace
}  // namespace streamrec
