// Engine payloads: a request too large for one log record is split into payloads that
// each fit and together hold its events in order.

#include "engine/log_payload.h"

#include <string>
#include <vector>

#include "common/strings.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

const EventTime kArrival = EventTime::FromSeconds(1'700'000'000);

std::vector<LoggedEvent> Events(int n, std::vector<std::string>* names) {
  names->clear();
  for (int i = 0; i < n; ++i) names->push_back(StrCat("user-", i, std::string(i % 7, 'x')));
  std::vector<LoggedEvent> events;
  for (int i = 0; i < n; ++i) {
    events.push_back(LoggedEvent{.user_id = (*names)[i],
                                 .item_id = "item",
                                 .type = EventType::kView,
                                 .time = EventTime{kArrival.micros - i}});
  }
  return events;
}

// The events of `payloads`, in order, each checked to be a live payload of kArrival.
std::vector<std::string> UsersOf(const std::vector<std::string>& payloads) {
  std::vector<std::string> users;
  for (const std::string& payload : payloads) {
    const absl::StatusOr<LogPayload> p = ParseLogPayload(payload);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) continue;
    EXPECT_EQ(p->kind, PayloadKind::kLiveRequest);
    EXPECT_EQ(p->arrival, kArrival);
    std::vector<LoggedEvent> decoded;
    EXPECT_TRUE(DecodeEvents(p->events, &decoded).ok());
    for (const LoggedEvent& e : decoded) users.emplace_back(e.user_id);
  }
  return users;
}

TEST(LogPayloadTest, ARequestThatFitsIsOnePayload) {
  std::vector<std::string> names;
  const std::vector<LoggedEvent> events = Events(100, &names);
  std::vector<std::string> payloads;
  AppendLivePayloads(kArrival, events, 1 << 20, &payloads);
  ASSERT_EQ(payloads.size(), 1u);
  std::string one;
  AppendLivePayload(kArrival, events, &one);
  EXPECT_EQ(payloads[0], one);
}

TEST(LogPayloadTest, ALargerRequestIsSplitIntoPayloadsThatFitAndKeepTheOrder) {
  std::vector<std::string> names;
  const std::vector<LoggedEvent> events = Events(1000, &names);
  std::string whole;
  AppendLivePayload(kArrival, events, &whole);
  const size_t limit = whole.size() / 10;
  std::vector<std::string> payloads;
  AppendLivePayloads(kArrival, events, limit, &payloads);
  EXPECT_GE(payloads.size(), 10u);
  for (const std::string& p : payloads) EXPECT_LE(p.size(), limit);
  EXPECT_EQ(UsersOf(payloads), names);
}

TEST(LogPayloadTest, AnEventLargerThanTheLimitIsAPayloadOfItsOwn) {
  std::vector<std::string> names;
  const std::vector<LoggedEvent> events = Events(3, &names);
  std::vector<std::string> payloads;
  AppendLivePayloads(kArrival, events, 1, &payloads);
  EXPECT_EQ(payloads.size(), 3u);
  EXPECT_EQ(UsersOf(payloads), names);
}

}  // namespace
}  // namespace streamrec
