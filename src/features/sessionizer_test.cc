// Sessions: the 30-minute rule at its boundary, tie order, per-type counts, the purchase
// history carried by a session, and the derived length and gap. Records go through
// FeatureOperators::Apply in batches, as in the engine; a few cases drive the
// Sessionizer directly.

#include "features/sessionizer.h"

#include <algorithm>
#include <span>
#include <vector>

#include "common/event.h"
#include "features/feature_operators.h"
#include "features/test_records.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using testing_records::kBase;
using testing_records::kMinute;
using testing_records::Records;

// Applies the records in stream order in batches of `batch_size`, then emits the open
// sessions: the sessions table of a batch run, per user in index order.
struct BatchRun {
  FeatureOperators ops;
  FeatureOutput out;

  BatchRun(const Records& records, size_t batch_size, FeatureConfig config = {}) : ops(config) {
    const std::vector<Record> sorted = records.Sorted();
    const std::span<const Record> all(sorted);
    for (size_t at = 0; at < all.size(); at += batch_size) {
      ops.Apply(all.subspan(at, std::min(batch_size, all.size() - at)), &out);
    }
    uint32_t users = 0;
    for (const Record& r : sorted) users = std::max(users, r.user.value + 1);
    ops.EmitOpenSessions(users, &out);
  }

  std::vector<Session> SessionsOf(uint32_t user) const {
    std::vector<Session> sessions;
    for (const CompletedSession& s : out.sessions) {
      if (s.user == UserIdx(user)) sessions.push_back(s.session);
    }
    std::sort(sessions.begin(), sessions.end(),
              [](const Session& a, const Session& b) { return a.index < b.index; });
    return sessions;
  }
};

class SessionizerTest : public ::testing::TestWithParam<size_t> {
 protected:
  size_t batch_size() const { return GetParam(); }
};

TEST_P(SessionizerTest, SessionStaysOpenAtExactlyThirtyMinutes) {
  Records r;
  r.Event(0, 0, EventType::kView, 0)
      .Event(0, 1, EventType::kClick, 30 * kMinute)  // gap 1800 s: same session
      .Event(0, 2, EventType::kView, 60 * kMinute);  // gap 1800 s again
  BatchRun run(r, batch_size());
  const std::vector<Session> sessions = run.SessionsOf(0);
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].index, 1u);
  EXPECT_EQ(sessions[0].num_events, 3u);
  EXPECT_EQ(sessions[0].start, EventTime::FromSeconds(kBase));
  EXPECT_EQ(sessions[0].end, EventTime::FromSeconds(kBase + 60 * kMinute));
  EXPECT_DOUBLE_EQ(sessions[0].LengthSeconds(), 3600.0);
  EXPECT_DOUBLE_EQ(sessions[0].AverageGapSeconds(), 1800.0);
}

TEST_P(SessionizerTest, GapOfThirtyMinutesAndOneSecondStartsNewSession) {
  Records r;
  r.Event(0, 0, EventType::kView, 0)
      .Event(0, 0, EventType::kClick, 30 * kMinute + 1)
      .Event(0, 0, EventType::kAddToCart, 30 * kMinute + 2);
  BatchRun run(r, batch_size());
  const std::vector<Session> sessions = run.SessionsOf(0);
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[0].index, 1u);
  EXPECT_EQ(sessions[0].num_events, 1u);
  EXPECT_EQ(sessions[0].last_event, EventType::kView);
  EXPECT_EQ(sessions[1].index, 2u);
  EXPECT_EQ(sessions[1].num_events, 2u);
  EXPECT_EQ(sessions[1].start, EventTime::FromSeconds(kBase + 30 * kMinute + 1));
  EXPECT_EQ(sessions[1].last_event, EventType::kAddToCart);
}

TEST_P(SessionizerTest, GapOfOneMicrosecondOverThirtyMinutesStartsNewSession) {
  // Times are microseconds inside: the rule is "larger than", not "larger by a second".
  const EventTime t0 = EventTime::FromSeconds(kBase);
  Records r;
  r.Event(0, 0, EventType::kView, t0)
      .Event(0, 0, EventType::kView, EventTime{t0.micros + 1800 * kMicrosPerSecond + 1});
  BatchRun run(r, batch_size());
  EXPECT_EQ(run.SessionsOf(0).size(), 2u);
}

TEST_P(SessionizerTest, GapIsMeasuredFromThePreviousEventNotTheSessionStart) {
  // Three hours of events 20 minutes apart: one session.
  Records r;
  for (int i = 0; i < 10; ++i) r.Event(0, 0, EventType::kView, i * 20 * kMinute);
  BatchRun run(r, batch_size());
  const std::vector<Session> sessions = run.SessionsOf(0);
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].num_events, 10u);
  EXPECT_DOUBLE_EQ(sessions[0].AverageGapSeconds(), 1200.0);
}

TEST_P(SessionizerTest, TiesInTimeKeepInputOrderForLastEvent) {
  // Same user, same second: the event given last in the input is the session's last.
  Records r;
  r.Event(0, 0, EventType::kClick, 5).Event(0, 0, EventType::kView, 5);
  r.Event(1, 0, EventType::kView, 5).Event(1, 0, EventType::kClick, 5);
  BatchRun run(r, batch_size());
  ASSERT_EQ(run.SessionsOf(0).size(), 1u);
  EXPECT_EQ(run.SessionsOf(0)[0].last_event, EventType::kView);
  ASSERT_EQ(run.SessionsOf(1).size(), 1u);
  EXPECT_EQ(run.SessionsOf(1)[0].last_event, EventType::kClick);
  // The enriched events keep the input order of the tie too.
  ASSERT_EQ(run.out.enriched.size(), 4u);
  EXPECT_EQ(run.out.enriched[0].type, EventType::kClick);
  EXPECT_EQ(run.out.enriched[1].type, EventType::kView);
}

TEST_P(SessionizerTest, OneEventSessionHasZeroAverageGap) {
  Records r;
  r.Event(0, 0, EventType::kAddToCart, 0);
  BatchRun run(r, batch_size());
  const std::vector<Session> sessions = run.SessionsOf(0);
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].num_events, 1u);
  EXPECT_EQ(sessions[0].start, sessions[0].end);
  EXPECT_EQ(sessions[0].LengthSeconds(), 0.0);
  EXPECT_EQ(sessions[0].AverageGapSeconds(), 0.0);
  EXPECT_EQ(sessions[0].last_event, EventType::kAddToCart);
}

TEST_P(SessionizerTest, CountsEveryEventTypeIncludingPurchases) {
  Records r;
  r.Event(0, 0, EventType::kView, 0)
      .Event(0, 0, EventType::kView, 10)
      .Event(0, 0, EventType::kClick, 20)
      .Event(0, 0, EventType::kAddToCart, 30)
      .Purchase(0, 0, 12.5, 40)
      .Event(0, 0, EventType::kPurchase, 40);
  BatchRun run(r, batch_size());
  const std::vector<Session> sessions = run.SessionsOf(0);
  ASSERT_EQ(sessions.size(), 1u);
  const Session& s = sessions[0];
  EXPECT_EQ(s.num_events, 5u);
  EXPECT_EQ(s.count(EventType::kView), 2u);
  EXPECT_EQ(s.count(EventType::kClick), 1u);
  EXPECT_EQ(s.count(EventType::kAddToCart), 1u);
  EXPECT_EQ(s.count(EventType::kPurchase), 1u);
  EXPECT_EQ(s.last_event, EventType::kPurchase);
  EXPECT_DOUBLE_EQ(s.AverageGapSeconds(), 10.0);
}

TEST_P(SessionizerTest, SessionCarriesPurchaseHistoryAsOfItsLastEvent) {
  Records r;
  r.Purchase(0, 9, 10.0, -100)
      .Event(0, 0, EventType::kView, 0)
      .Purchase(0, 9, 30.0, 5)
      .Event(0, 0, EventType::kClick, 10)
      .Purchase(0, 9, 1000.0, 20)  // after the session's last event
      .Event(0, 0, EventType::kView, 10 + 31 * kMinute);
  BatchRun run(r, batch_size());
  const std::vector<Session> sessions = run.SessionsOf(0);
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[0].history_at_end.count, 2u);
  EXPECT_DOUBLE_EQ(*sessions[0].history_at_end.Average(), 20.0);
  EXPECT_EQ(sessions[1].history_at_end.count, 3u);
  EXPECT_DOUBLE_EQ(*sessions[1].history_at_end.Average(), 1040.0 / 3);
}

TEST_P(SessionizerTest, UsersAreSessionizedIndependently) {
  // Interleaved users: another user's events never close or extend a session.
  Records r;
  r.Event(0, 0, EventType::kView, 0)
      .Event(1, 0, EventType::kView, 20 * kMinute)
      .Event(0, 0, EventType::kView, 40 * kMinute)   // 40 min after user 0's last: new
      .Event(1, 0, EventType::kView, 45 * kMinute);  // 25 min after user 1's last: same
  BatchRun run(r, batch_size());
  const std::vector<Session> u0 = run.SessionsOf(0);
  const std::vector<Session> u1 = run.SessionsOf(1);
  ASSERT_EQ(u0.size(), 2u);
  EXPECT_EQ(u0[0].index, 1u);
  EXPECT_EQ(u0[1].index, 2u);
  ASSERT_EQ(u1.size(), 1u);
  EXPECT_EQ(u1[0].num_events, 2u);
}

TEST_P(SessionizerTest, ConfiguredGapReplacesThirtyMinutes) {
  FeatureConfig config;
  config.session_gap_micros = 10 * kMinute * kMicrosPerSecond;
  Records r;
  r.Event(0, 0, EventType::kView, 0)
      .Event(0, 0, EventType::kView, 10 * kMinute)       // exactly the gap: stays
      .Event(0, 0, EventType::kView, 20 * kMinute + 1);  // one second more: new session
  BatchRun run(r, batch_size(), config);
  const std::vector<Session> sessions = run.SessionsOf(0);
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[0].num_events, 2u);
  EXPECT_EQ(sessions[1].num_events, 1u);
}

TEST(SessionizerBatchTest, ClosedSessionsAreEmittedByTheBatchThatClosesThem) {
  Records r;
  r.Event(0, 0, EventType::kView, 0).Event(0, 0, EventType::kView, 3 * 60 * kMinute);
  const std::vector<Record> sorted = r.Sorted();
  FeatureOperators ops;
  FeatureOutput out;
  ops.Apply(std::span<const Record>(sorted).first(1), &out);
  EXPECT_TRUE(out.sessions.empty());  // still open
  ASSERT_NE(ops.sessionizer().Current(UserIdx(0)), nullptr);
  EXPECT_EQ(ops.sessionizer().Current(UserIdx(0))->index, 1u);
  ops.Apply(std::span<const Record>(sorted).subspan(1), &out);
  ASSERT_EQ(out.sessions.size(), 1u);
  EXPECT_EQ(out.sessions[0].session.index, 1u);
  EXPECT_EQ(ops.sessionizer().Current(UserIdx(0))->index, 2u);
}

INSTANTIATE_TEST_SUITE_P(BatchSizes, SessionizerTest, ::testing::Values(1, 2, 3, 4096),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return "Batch" + std::to_string(info.param);
                         });

TEST(SessionizerDirectTest, AddReportsTheFinishedSessionOnlyWhenOneCloses) {
  Sessionizer s;
  Session closed;
  const UserIdx user(3);
  EXPECT_EQ(s.Current(user), nullptr);
  EXPECT_FALSE(s.Add(user, EventTime::FromSeconds(kBase), EventType::kView, {}, &closed));
  EXPECT_FALSE(
      s.Add(user, EventTime::FromSeconds(kBase + 1800), EventType::kClick, {1, 5.0}, &closed));
  ASSERT_TRUE(
      s.Add(user, EventTime::FromSeconds(kBase + 3601), EventType::kView, {2, 9.0}, &closed));
  EXPECT_EQ(closed.index, 1u);
  EXPECT_EQ(closed.num_events, 2u);
  EXPECT_EQ(closed.last_event, EventType::kClick);
  EXPECT_EQ(closed.history_at_end.count, 1u);
  ASSERT_NE(s.Current(user), nullptr);
  EXPECT_EQ(s.Current(user)->index, 2u);
  EXPECT_EQ(s.Current(user)->history_at_end.count, 2u);
  // Users below `user` got slots but no session.
  EXPECT_EQ(s.Current(UserIdx(0)), nullptr);
  EXPECT_EQ(s.Current(UserIdx(100)), nullptr);
}

// WouldClose only steers prefetching, but a wrong answer would cost a cache miss per
// event; it must say exactly what Add then does, at the gap's edge too.
TEST(SessionizerDirectTest, WouldCloseSaysWhatAddThenReturns) {
  Sessionizer s;
  Session closed;
  const UserIdx user(1);
  EXPECT_FALSE(s.WouldClose(user, EventTime::FromSeconds(kBase)));  // no session yet
  s.Add(user, EventTime::FromSeconds(kBase), EventType::kView, {}, &closed);
  for (const int64_t later : {int64_t{0}, int64_t{1800}, int64_t{1801}, int64_t{7200}}) {
    Sessionizer copy = s;
    const EventTime t = EventTime::FromSeconds(kBase + later);
    const bool predicted = copy.WouldClose(user, t);
    EXPECT_EQ(predicted, copy.Add(user, t, EventType::kView, {}, &closed))
        << "at +" << later << " s";
  }
  EXPECT_FALSE(s.WouldClose(UserIdx(7), EventTime::FromSeconds(kBase + 7200)));
}

}  // namespace
}  // namespace streamrec
