// RowDecoder: one test per reject reason, the "a refused row changes nothing" contract,
// purchase events as two records, duplicates, and the column resolution of Create().

#include "io/row_decoder.h"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/event.h"
#include "common/interner.h"
#include "common/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/mapping.h"
#include "io/row_source.h"

namespace streamrec {

// gtest printers, so that failures show times and outcomes rather than bytes.
inline void PrintTo(EventTime t, std::ostream* os) { *os << FormatTime(t); }
inline void PrintTo(DecodeOutcome o, std::ostream* os) {
  *os << (o == DecodeOutcome::kAccepted    ? "kAccepted"
          : o == DecodeOutcome::kDuplicate ? "kDuplicate"
                                           : "kRejected");
}

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::vector<std::string> kEventColumns = {"user_id",   "item_id", "event_type",
                                                "timestamp", "amount",  "event_id"};
const std::vector<std::string> kPurchaseColumns = {"user_id", "item_id", "purchase_amount",
                                                   "purchase_date"};

EventTime T(std::string_view text) {
  absl::StatusOr<EventTime> t = ParseTime(text);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : EventTime{};
}

// A decoder plus the state one run shares across rows, and the last call's results.
class Decoding {
 public:
  Decoding(SourceKind kind, const std::vector<std::string>& columns,
           const SourceMapping& mapping = {}) {
    absl::StatusOr<RowDecoder> d = RowDecoder::Create(kind, mapping, columns, "test.csv");
    EXPECT_TRUE(d.ok()) << d.status();
    if (d.ok()) decoder_.emplace(*std::move(d));
  }

  DecodeOutcome Decode(std::vector<std::string> fields, uint32_t seq = 0, int64_t line = 2) {
    owned_ = std::move(fields);
    Row row;
    row.fields.assign(owned_.begin(), owned_.end());
    row.line = line;
    records.clear();
    reason.clear();
    if (!decoder_) return DecodeOutcome::kRejected;
    return decoder_->Decode(row, seq, &ids, &seen, &records, &reason);
  }

  // Decodes a row that must be refused and returns the reason.
  std::string Reject(std::vector<std::string> fields) {
    const size_t users = ids.users.size();
    const size_t items = ids.items.size();
    const size_t seen_before = seen.size();
    EXPECT_EQ(Decode(std::move(fields)), DecodeOutcome::kRejected);
    EXPECT_THAT(records, IsEmpty());
    EXPECT_EQ(ids.users.size(), users) << "a refused row interned a user";
    EXPECT_EQ(ids.items.size(), items) << "a refused row interned an item";
    EXPECT_EQ(seen.size(), seen_before) << "a refused row remembered its event_id";
    EXPECT_FALSE(reason.empty());
    return reason;
  }

  IdDictionary ids;
  EventIdSet seen;
  std::vector<Record> records;
  std::string reason;

 private:
  std::optional<RowDecoder> decoder_;
  std::vector<std::string> owned_;
};

// ---------------------------------------------------------------------------
// Accepted rows, default mapping

TEST(RowDecoderTest, ViewEventBecomesOneEventRecord) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  ASSERT_EQ(d.Decode({"u1", "i1", "view", "2024-02-01 10:00:00", "", ""}, 7),
            DecodeOutcome::kAccepted);
  ASSERT_EQ(d.records.size(), 1u);
  const Record& r = d.records[0];
  EXPECT_EQ(r.kind, RecordKind::kEvent);
  EXPECT_EQ(r.type, EventType::kView);
  EXPECT_EQ(r.time, T("2024-02-01 10:00:00"));
  EXPECT_EQ(r.seq, 7u);
  EXPECT_EQ(r.user, UserIdx(0));
  EXPECT_EQ(r.item, ItemIdx(0));
  EXPECT_EQ(d.ids.users.Name(r.user), "u1");
  EXPECT_EQ(d.ids.items.Name(r.item), "i1");
}

TEST(RowDecoderTest, EveryEngineEventTypeIsAccepted) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  const std::pair<std::string, EventType> cases[] = {{"view", EventType::kView},
                                                     {"click", EventType::kClick},
                                                     {"add_to_cart", EventType::kAddToCart}};
  for (const auto& [name, type] : cases) {
    ASSERT_EQ(d.Decode({"u", "i", name, "1706745600", "", ""}), DecodeOutcome::kAccepted) << name;
    ASSERT_EQ(d.records.size(), 1u);
    EXPECT_EQ(d.records[0].type, type) << name;
  }
}

TEST(RowDecoderTest, EventTypeIsTrimmed) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  ASSERT_EQ(d.Decode({"u", "i", " click ", "1706745600", "", ""}), DecodeOutcome::kAccepted)
      << d.reason;
  EXPECT_EQ(d.records[0].type, EventType::kClick);
}

TEST(RowDecoderTest, TimestampIsTrimmed) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  ASSERT_EQ(d.Decode({"u", "i", "view", "  2024-02-01 10:00:00\t", "", ""}),
            DecodeOutcome::kAccepted)
      << d.reason;
  EXPECT_EQ(d.records[0].time, T("2024-02-01 10:00:00"));
}

TEST(RowDecoderTest, TimestampOffsetIsApplied) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  ASSERT_EQ(d.Decode({"u", "i", "view", "2024-02-01T10:00:00+02:00", "", ""}),
            DecodeOutcome::kAccepted);
  EXPECT_EQ(d.records[0].time, T("2024-02-01 08:00:00"));
}

TEST(RowDecoderTest, IdsAreSharedAcrossRowsInFirstSeenOrder) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  ASSERT_EQ(d.Decode({"u2", "i9", "view", "1706745600", "", ""}), DecodeOutcome::kAccepted);
  ASSERT_EQ(d.Decode({"u1", "i9", "view", "1706745600", "", ""}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.records[0].user, UserIdx(1));
  EXPECT_EQ(d.records[0].item, ItemIdx(0));
  ASSERT_EQ(d.Decode({"u2", "i1", "view", "1706745600", "", ""}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.records[0].user, UserIdx(0));
  EXPECT_EQ(d.records[0].item, ItemIdx(1));
}

TEST(RowDecoderTest, AmountOnANonPurchaseEventIsValidatedButNotKept) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  ASSERT_EQ(d.Decode({"u", "i", "view", "1706745600", "12.5", ""}), DecodeOutcome::kAccepted);
  ASSERT_EQ(d.records.size(), 1u);
  EXPECT_EQ(d.records[0].kind, RecordKind::kEvent);
  EXPECT_EQ(d.records[0].amount, 0);
}

TEST(RowDecoderTest, PurchaseEventYieldsPurchaseThenEventWithSameTimeAndSeq) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  ASSERT_EQ(d.Decode({"u1", "i1", "purchase", "2024-02-01 10:00:00", "19.99", "e1"}, 42),
            DecodeOutcome::kAccepted)
      << d.reason;
  ASSERT_EQ(d.records.size(), 2u);
  const Record& p = d.records[0];
  const Record& e = d.records[1];
  EXPECT_EQ(p.kind, RecordKind::kPurchase);
  EXPECT_EQ(p.type, EventType::kPurchase);
  EXPECT_DOUBLE_EQ(p.amount, 19.99);
  EXPECT_EQ(e.kind, RecordKind::kEvent);
  EXPECT_EQ(e.type, EventType::kPurchase);
  EXPECT_EQ(e.amount, 0);
  EXPECT_EQ(p.time, T("2024-02-01 10:00:00"));
  EXPECT_EQ(e.time, p.time);
  EXPECT_EQ(p.seq, 42u);
  EXPECT_EQ(e.seq, p.seq);
  EXPECT_EQ(e.user, p.user);
  EXPECT_EQ(e.item, p.item);
  EXPECT_TRUE(StreamOrderLess(p, e));
}

TEST(RowDecoderTest, ZeroAmountPurchaseIsAccepted) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  ASSERT_EQ(d.Decode({"u", "i", "purchase", "1706745600", "0", ""}), DecodeOutcome::kAccepted);
  ASSERT_EQ(d.records.size(), 2u);
  EXPECT_EQ(d.records[0].amount, 0);
}

TEST(RowDecoderTest, AmountWithSpacesAndExponentIsAccepted) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  ASSERT_EQ(d.Decode({"u", "i", "purchase", "1706745600", " 1.5e2 ", ""}), DecodeOutcome::kAccepted)
      << d.reason;
  EXPECT_DOUBLE_EQ(d.records[0].amount, 150.0);
}

TEST(RowDecoderTest, EventsWithoutEventIdAreNeverDuplicates) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Decode({"u", "i", "view", "1706745600", "", ""}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.Decode({"u", "i", "view", "1706745600", "", ""}), DecodeOutcome::kAccepted);
  EXPECT_THAT(d.seen, IsEmpty());
}

TEST(RowDecoderTest, DuplicateEventIdIsDuplicate) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  ASSERT_EQ(d.Decode({"u1", "i1", "view", "1706745600", "", "e-1"}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.Decode({"u2", "i2", "click", "1706745700", "", "e-1"}), DecodeOutcome::kDuplicate);
  EXPECT_THAT(d.records, IsEmpty());
  EXPECT_EQ(d.ids.users.size(), 1u) << "a duplicate interned its user";
  EXPECT_EQ(d.ids.items.size(), 1u) << "a duplicate interned its item";
  EXPECT_EQ(d.Decode({"u1", "i1", "view", "1706745600", "", "e-2"}), DecodeOutcome::kAccepted);
}

TEST(RowDecoderTest, DuplicatePurchaseEventAddsNoPurchase) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  ASSERT_EQ(d.Decode({"u", "i", "purchase", "1706745600", "5", "p1"}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.Decode({"u", "i", "purchase", "1706745600", "5", "p1"}), DecodeOutcome::kDuplicate);
  EXPECT_THAT(d.records, IsEmpty());
}

TEST(RowDecoderTest, EventIdSetIsSharedAcrossDecoders) {
  // Two event sources of one run share the set, so a repeat across files is a duplicate.
  absl::StatusOr<RowDecoder> a =
      RowDecoder::Create(SourceKind::kEvents, {}, kEventColumns, "a.csv");
  absl::StatusOr<RowDecoder> b =
      RowDecoder::Create(SourceKind::kEvents, {}, kEventColumns, "b.csv");
  ASSERT_TRUE(a.ok() && b.ok());
  IdDictionary ids;
  EventIdSet seen;
  std::vector<Record> out;
  std::string reason;
  Row row;
  row.fields = {"u", "i", "view", "1706745600", "", "shared"};
  EXPECT_EQ(a->Decode(row, 0, &ids, &seen, &out, &reason), DecodeOutcome::kAccepted);
  EXPECT_EQ(b->Decode(row, 1, &ids, &seen, &out, &reason), DecodeOutcome::kDuplicate);
}

TEST(RowDecoderTest, EventIdViewDoesNotOutliveTheRowBuffer) {
  // The set must own its copy of the id: the row's buffer is reused by the next row.
  Decoding d(SourceKind::kEvents, kEventColumns);
  ASSERT_EQ(d.Decode({"u", "i", "view", "1706745600", "", "evt-123"}), DecodeOutcome::kAccepted);
  ASSERT_EQ(d.Decode({"u", "i", "view", "1706745600", "", "evt-456"}), DecodeOutcome::kAccepted);
  EXPECT_TRUE(d.seen.contains("evt-123"));
  EXPECT_TRUE(d.seen.contains("evt-456"));
}

// ---------------------------------------------------------------------------
// One test per reject reason

TEST(RowDecoderTest, WrongFieldCountIsRejected) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Reject({"u", "i", "view", "1706745600", ""}), "expected 6 fields, found 5");
  EXPECT_EQ(d.Reject({"u", "i", "view", "1706745600", "", "", "extra"}),
            "expected 6 fields, found 7");
}

TEST(RowDecoderTest, MissingUserIdIsRejected) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Reject({"", "i", "view", "1706745600", "", ""}), "missing user_id");
}

TEST(RowDecoderTest, MissingItemIdIsRejected) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Reject({"u", "", "view", "1706745600", "", ""}), "missing item_id");
}

TEST(RowDecoderTest, WhitespaceOnlyIdsAreMissing) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Reject({"  ", "i", "view", "1706745600", "", ""}), "missing user_id");
  EXPECT_EQ(d.Reject({"u", "\t", "view", "1706745600", "", ""}), "missing item_id");
  EXPECT_EQ(d.Reject({"u", " \r\n ", "view", "1706745600", "", ""}), "missing item_id");
}

TEST(RowDecoderTest, IdsAreUsedExactlyAsWrittenWithoutTrimming) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  ASSERT_EQ(d.Decode({" u1 ", "i 1\t", "view", "1706745600", "", ""}), DecodeOutcome::kAccepted)
      << d.reason;
  EXPECT_EQ(d.ids.users.Name(d.records[0].user), " u1 ");
  EXPECT_EQ(d.ids.items.Name(d.records[0].item), "i 1\t");
  ASSERT_EQ(d.Decode({"u1", "i 1", "view", "1706745600", "", ""}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.ids.users.size(), 2u) << "' u1 ' and 'u1' are different ids";
}

TEST(RowDecoderTest, MissingEventTypeIsRejected) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Reject({"u", "i", "", "1706745600", "", ""}), "missing event_type");
  EXPECT_EQ(d.Reject({"u", "i", "   ", "1706745600", "", ""}), "missing event_type");
}

TEST(RowDecoderTest, UnknownEventTypeIsRejected) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Reject({"u", "i", "hover", "1706745600", "", ""}), "unknown event type 'hover'");
}

TEST(RowDecoderTest, EventTypeIsCaseSensitive) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_THAT(d.Reject({"u", "i", "View", "1706745600", "", ""}), HasSubstr("unknown event type"));
}

TEST(RowDecoderTest, MissingTimestampIsRejected) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Reject({"u", "i", "view", "", "", ""}), "missing timestamp");
  EXPECT_EQ(d.Reject({"u", "i", "view", "  ", "", ""}), "missing timestamp");
}

TEST(RowDecoderTest, BadTimestampIsRejectedWithParseTimeReason) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  const std::string reason = d.Reject({"u", "i", "view", "2024-02-30", "", ""});
  EXPECT_THAT(reason, HasSubstr("bad time '2024-02-30'"));
  EXPECT_THAT(reason, HasSubstr("day out of range"));
}

TEST(RowDecoderTest, BadAmountTextIsRejected) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Reject({"u", "i", "purchase", "1706745600", "12,50", ""}),
            "bad amount '12,50': not a number");
  EXPECT_EQ(d.Reject({"u", "i", "purchase", "1706745600", "abc", ""}),
            "bad amount 'abc': not a number");
  EXPECT_EQ(d.Reject({"u", "i", "purchase", "1706745600", "$5", ""}),
            "bad amount '$5': not a number");
}

TEST(RowDecoderTest, BadAmountOnAViewIsRejectedToo) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_THAT(d.Reject({"u", "i", "view", "1706745600", "oops", ""}), HasSubstr("bad amount"));
}

TEST(RowDecoderTest, AnAmountWithAPlusSignIsItsNumberAndOneOutOfRangeSaysSo) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Decode({"u", "i", "purchase", "1706745600", "+5", ""}), DecodeOutcome::kAccepted);
  ASSERT_FALSE(d.records.empty());
  EXPECT_EQ(d.records.front().amount, 5.0);
  EXPECT_EQ(d.Reject({"u", "i", "purchase", "1706745600", "+-5", ""}),
            "bad amount '+-5': not a number");
  EXPECT_EQ(d.Reject({"u", "i", "purchase", "1706745600", "1e400", ""}),
            "bad amount '1e400': out of range");
}

// An event_id of only spaces is missing, as a user or item id of only spaces is: it makes
// no later row a duplicate.
TEST(RowDecoderTest, AnEventIdOfOnlySpacesIsMissing) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Decode({"u", "i", "view", "1706745600", "", " "}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.Decode({"u", "i", "view", "1706745660", "", " "}), DecodeOutcome::kAccepted);
  EXPECT_TRUE(d.seen.empty());
}

TEST(RowDecoderTest, IdsThatAreNotUtf8AreRefusedAndClaimNothing) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Reject({"u\xff", "i", "view", "1706745600", "", "e1"}), "user_id is not valid UTF-8");
  EXPECT_EQ(d.Reject({"u", "i\xc3", "view", "1706745600", "", "e1"}), "item_id is not valid UTF-8");
  EXPECT_EQ(d.Reject({"u", "i", "view", "1706745600", "", "e\xff"}), "event_id is not valid UTF-8");
  EXPECT_EQ(d.Decode({"caf\xc3\xa9", "i", "view", "1706745600", "", "e1"}),
            DecodeOutcome::kAccepted);
}

TEST(RowDecoderTest, NegativeAmountIsRejected) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Reject({"u", "i", "purchase", "1706745600", "-0.01", ""}),
            "bad amount '-0.01': negative");
}

TEST(RowDecoderTest, InfiniteAmountIsRejected) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Reject({"u", "i", "purchase", "1706745600", "inf", ""}),
            "bad amount 'inf': not finite");
  EXPECT_EQ(d.Reject({"u", "i", "purchase", "1706745600", "-inf", ""}),
            "bad amount '-inf': not finite");
  EXPECT_EQ(d.Reject({"u", "i", "purchase", "1706745600", "infinity", ""}),
            "bad amount 'infinity': not finite");
}

TEST(RowDecoderTest, NanAmountIsRejected) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Reject({"u", "i", "purchase", "1706745600", "nan", ""}),
            "bad amount 'nan': not finite");
  EXPECT_THAT(d.Reject({"u", "i", "purchase", "1706745600", "NaN", ""}), HasSubstr("not finite"));
}

TEST(RowDecoderTest, OverflowingAmountIsRejected) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_THAT(d.Reject({"u", "i", "purchase", "1706745600", "1e999", ""}),
              HasSubstr("bad amount '1e999'"));
}

TEST(RowDecoderTest, PurchaseEventWithoutAmountIsRejected) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Reject({"u", "i", "purchase", "1706745600", "", ""}),
            "purchase event without an amount");
  EXPECT_EQ(d.Reject({"u", "i", "purchase", "1706745600", "  ", ""}),
            "purchase event without an amount");
}

TEST(RowDecoderTest, PurchaseEventInSourceWithoutAmountColumnIsRejected) {
  Decoding d(SourceKind::kEvents, {"user_id", "item_id", "event_type", "timestamp"});
  EXPECT_EQ(d.Reject({"u", "i", "purchase", "1706745600"}), "purchase event without an amount");
  EXPECT_EQ(d.Decode({"u", "i", "view", "1706745600"}), DecodeOutcome::kAccepted);
}

TEST(RowDecoderTest, PurchaseRowMissingAmountIsRejected) {
  Decoding d(SourceKind::kPurchases, kPurchaseColumns);
  EXPECT_EQ(d.Reject({"u", "i", "", "2024-02-01"}), "missing purchase amount");
}

TEST(RowDecoderTest, BadTimestampOffsetIsRejected) {
  SourceMapping m;
  m.columns["timestamp_offset_ms"] = "offset";
  Decoding d(SourceKind::kEvents, {"user_id", "item_id", "event_type", "timestamp", "offset"}, m);
  EXPECT_EQ(d.Reject({"u", "i", "view", "1706745600", "1.5"}),
            "bad timestamp_offset_ms '1.5': not an integer");
  EXPECT_EQ(d.Reject({"u", "i", "view", "1706745600", "abc"}),
            "bad timestamp_offset_ms 'abc': not an integer");
}

TEST(RowDecoderTest, TimestampOffsetInMillisecondsIsAdded) {
  SourceMapping m;
  m.columns["timestamp_offset_ms"] = "offset";
  Decoding d(SourceKind::kEvents, {"user_id", "item_id", "event_type", "timestamp", "offset"}, m);
  ASSERT_EQ(d.Decode({"u", "i", "view", "2024-02-01 10:00:00", "1500"}), DecodeOutcome::kAccepted)
      << d.reason;
  EXPECT_EQ(d.records[0].time.micros, T("2024-02-01 10:00:00").micros + 1'500'000);
  ASSERT_EQ(d.Decode({"u", "i", "view", "2024-02-01 10:00:00", "-250"}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.records[0].time.micros, T("2024-02-01 10:00:00").micros - 250'000);
  ASSERT_EQ(d.Decode({"u", "i", "view", "2024-02-01 10:00:00", ""}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.records[0].time, T("2024-02-01 10:00:00"));
}

TEST(RowDecoderTest, HugeTimestampOffsetIsRejectedNotWrapped) {
  SourceMapping m;
  m.columns["timestamp_offset_ms"] = "offset";
  Decoding d(SourceKind::kEvents, {"user_id", "item_id", "event_type", "timestamp", "offset"}, m);
  const DecodeOutcome outcome = d.Decode({"u", "i", "view", "2024-02-01", "9223372036854775807"});
  if (outcome == DecodeOutcome::kAccepted) {
    EXPECT_GT(d.records[0].time, T("2024-02-01")) << "wrapped to " << FormatTime(d.records[0].time);
  } else {
    EXPECT_THAT(d.reason, HasSubstr("timestamp_offset_ms"));
  }
}

TEST(RowDecoderTest, TimestampOffsetOutOfRangeIsRejected) {
  SourceMapping m;
  m.columns["timestamp_offset_ms"] = "offset";
  Decoding d(SourceKind::kEvents, {"user_id", "item_id", "event_type", "timestamp", "offset"}, m);
  // Overflows int64 milliseconds.
  EXPECT_EQ(d.Reject({"u", "i", "view", "2024-02-01", "99999999999999999999"}),
            "bad timestamp_offset_ms '99999999999999999999': out of range");
  EXPECT_EQ(d.Reject({"u", "i", "view", "2024-02-01", "-9223372036854775808"}),
            "bad timestamp_offset_ms '-9223372036854775808': out of range");
  // Fits int64 microseconds, but the sum leaves years 0000-9999.
  EXPECT_EQ(d.Reject({"u", "i", "view", "9999-12-31 23:59:59", "1000"}),
            "bad timestamp_offset_ms '1000': out of range");
  EXPECT_EQ(d.Reject({"u", "i", "view", "0000-01-01", "-1"}),
            "bad timestamp_offset_ms '-1': out of range");
  // Up to the edges is fine.
  ASSERT_EQ(d.Decode({"u", "i", "view", "9999-12-31 23:59:59", "999"}), DecodeOutcome::kAccepted)
      << d.reason;
  EXPECT_EQ(d.records[0].time, T("9999-12-31 23:59:59.999"));
}

TEST(RowDecoderTest, TimestampOffsetAsConstant) {
  SourceMapping m;
  m.constants["timestamp_offset_ms"] = "3600000";
  Decoding d(SourceKind::kEvents, {"user_id", "item_id", "event_type", "timestamp"}, m);
  ASSERT_EQ(d.Decode({"u", "i", "view", "2024-02-01 10:00:00"}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.records[0].time, T("2024-02-01 11:00:00"));
}

TEST(RowDecoderTest, EarliestFailingCheckWins) {
  // Missing user and bad timestamp: the user is checked first.
  Decoding d(SourceKind::kEvents, kEventColumns);
  EXPECT_EQ(d.Reject({"", "", "hover", "nope", "-1", ""}), "missing user_id");
}

// ---------------------------------------------------------------------------
// A refused row changes nothing

TEST(RowDecoderTest, RejectedRowInternsNoId) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  d.Reject({"new-user", "new-item", "view", "not-a-time", "", ""});
  EXPECT_EQ(d.ids.users.Find("new-user"), std::nullopt);
  EXPECT_EQ(d.ids.items.Find("new-item"), std::nullopt);
  // The next accepted row gets id 0.
  ASSERT_EQ(d.Decode({"other", "thing", "view", "1706745600", "", ""}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.records[0].user, UserIdx(0));
  EXPECT_EQ(d.records[0].item, ItemIdx(0));
}

TEST(RowDecoderTest, RejectedRowDoesNotRememberItsEventId) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  d.Reject({"u", "i", "purchase", "1706745600", "-5", "e-7"});
  EXPECT_FALSE(d.seen.contains("e-7"));
  // The corrected row with the same event_id is accepted, not a duplicate.
  EXPECT_EQ(d.Decode({"u", "i", "purchase", "1706745600", "5", "e-7"}), DecodeOutcome::kAccepted);
}

TEST(RowDecoderTest, RejectedPurchaseEventWithoutAmountDoesNotRememberItsEventId) {
  Decoding d(SourceKind::kEvents, kEventColumns);
  d.Reject({"u", "i", "purchase", "1706745600", "", "e-8"});
  EXPECT_FALSE(d.seen.contains("e-8"));
}

// ---------------------------------------------------------------------------
// Purchases

TEST(RowDecoderTest, PurchaseRowBecomesOnePurchaseRecord) {
  Decoding d(SourceKind::kPurchases, kPurchaseColumns);
  ASSERT_EQ(d.Decode({"u1", "i1", "25.5", "2024-02-01"}, 3), DecodeOutcome::kAccepted) << d.reason;
  ASSERT_EQ(d.records.size(), 1u);
  const Record& r = d.records[0];
  EXPECT_EQ(r.kind, RecordKind::kPurchase);
  EXPECT_EQ(r.type, EventType::kPurchase);
  EXPECT_DOUBLE_EQ(r.amount, 25.5);
  EXPECT_EQ(r.time, T("2024-02-01"));
  EXPECT_EQ(r.seq, 3u);
}

TEST(RowDecoderTest, PurchasesAcceptTimestampColumn) {
  Decoding d(SourceKind::kPurchases, {"user_id", "item_id", "amount", "timestamp"});
  ASSERT_EQ(d.Decode({"u", "i", "3", "2024-02-01 12:00:00"}), DecodeOutcome::kAccepted) << d.reason;
  EXPECT_EQ(d.records[0].time, T("2024-02-01 12:00:00"));
  EXPECT_DOUBLE_EQ(d.records[0].amount, 3);
}

TEST(RowDecoderTest, PurchasesPreferPurchaseDateOverTimestamp) {
  Decoding d(SourceKind::kPurchases,
             {"user_id", "item_id", "purchase_amount", "timestamp", "purchase_date"});
  ASSERT_EQ(d.Decode({"u", "i", "3", "2030-01-01", "2024-02-01"}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.records[0].time, T("2024-02-01"));
}

TEST(RowDecoderTest, PurchasesIgnoreEventTypeAndEventIdColumns) {
  Decoding d(SourceKind::kPurchases,
             {"user_id", "item_id", "purchase_amount", "purchase_date", "event_type", "event_id"});
  ASSERT_EQ(d.Decode({"u", "i", "3", "2024-02-01", "garbage", "x"}), DecodeOutcome::kAccepted);
  ASSERT_EQ(d.Decode({"u", "i", "3", "2024-02-01", "garbage", "x"}), DecodeOutcome::kAccepted);
  EXPECT_THAT(d.seen, IsEmpty());
}

// A JSON Lines source has exactly the columns WantedColumns lists, which for purchases
// is every alternative; absent keys are empty fields, so per row the first alternative
// that is not blank is used.
TEST(RowDecoderTest, JsonLinesPurchaseWithTimestampAndAmountKeysIsAccepted) {
  const std::vector<std::string> json_columns =
      RowDecoder::WantedColumns(SourceKind::kPurchases, {});
  ASSERT_THAT(json_columns, ElementsAre("user_id", "item_id", "purchase_date", "timestamp",
                                        "purchase_amount", "amount"));
  Decoding d(SourceKind::kPurchases, json_columns);
  // {"user_id":"u","item_id":"i","timestamp":"2024-02-01","amount":"5"}: absent keys are empty.
  EXPECT_EQ(d.Decode({"u", "i", "", "2024-02-01", "", "5"}), DecodeOutcome::kAccepted) << d.reason;
}

TEST(RowDecoderTest, JsonLinesPurchasePrefersPurchaseDateAndPurchaseAmount) {
  Decoding d(SourceKind::kPurchases, RowDecoder::WantedColumns(SourceKind::kPurchases, {}));
  ASSERT_EQ(d.Decode({"u", "i", "2024-02-01", "2030-01-01", "5", "7"}), DecodeOutcome::kAccepted)
      << d.reason;
  EXPECT_EQ(d.records[0].time, T("2024-02-01"));
  EXPECT_DOUBLE_EQ(d.records[0].amount, 5);
  // A blank alternative counts as absent.
  ASSERT_EQ(d.Decode({"u", "i", "  ", "2030-01-01", "", "7"}), DecodeOutcome::kAccepted)
      << d.reason;
  EXPECT_EQ(d.records[0].time, T("2030-01-01"));
  EXPECT_DOUBLE_EQ(d.records[0].amount, 7);
  // A non-blank but bad first alternative is used, and refused; no silent fallback.
  EXPECT_THAT(d.Reject({"u", "i", "garbage", "2030-01-01", "5", ""}),
              HasSubstr("bad time 'garbage'"));
  EXPECT_EQ(d.Reject({"u", "i", "", "", "5", ""}), "missing timestamp");
  EXPECT_EQ(d.Reject({"u", "i", "2024-02-01", "", "", " "}), "missing purchase amount");
}

TEST(RowDecoderTest, CsvPurchaseWithBothDateColumnsFallsBackToTimestampWhenDateIsEmpty) {
  Decoding d(SourceKind::kPurchases,
             {"user_id", "item_id", "purchase_amount", "timestamp", "purchase_date"});
  ASSERT_EQ(d.Decode({"u", "i", "3", "2030-01-01", ""}), DecodeOutcome::kAccepted) << d.reason;
  EXPECT_EQ(d.records[0].time, T("2030-01-01"));
}

TEST(RowDecoderTest, MappedColumnHasNoFallback) {
  SourceMapping m;
  m.columns["timestamp"] = "purchase_date";
  Decoding d(SourceKind::kPurchases, {"user_id", "item_id", "amount", "timestamp", "purchase_date"},
             m);
  EXPECT_EQ(d.Reject({"u", "i", "3", "2030-01-01", ""}), "missing timestamp");
}

TEST(RowDecoderTest, PurchaseNegativeAmountIsRejected) {
  Decoding d(SourceKind::kPurchases, kPurchaseColumns);
  EXPECT_EQ(d.Reject({"u", "i", "-1", "2024-02-01"}), "bad amount '-1': negative");
}

TEST(RowDecoderTest, PurchaseMissingDateIsRejected) {
  Decoding d(SourceKind::kPurchases, kPurchaseColumns);
  EXPECT_EQ(d.Reject({"u", "i", "1", ""}), "missing timestamp");
}

// ---------------------------------------------------------------------------
// Mapping: columns, constants, event types

TEST(RowDecoderTest, MappedColumnsAreRead) {
  SourceMapping m;
  m.columns["user_id"] = "visitor";
  m.columns["item_id"] = "product_id";
  m.columns["timestamp"] = "event_time";
  m.columns["amount"] = "price";
  Decoding d(SourceKind::kEvents, {"event_time", "price", "event_type", "product_id", "visitor"},
             m);
  ASSERT_EQ(d.Decode({"2024-02-01 10:00:00", "9.5", "purchase", "p-1", "v-1"}),
            DecodeOutcome::kAccepted)
      << d.reason;
  ASSERT_EQ(d.records.size(), 2u);
  EXPECT_EQ(d.ids.users.Name(d.records[0].user), "v-1");
  EXPECT_EQ(d.ids.items.Name(d.records[0].item), "p-1");
  EXPECT_DOUBLE_EQ(d.records[0].amount, 9.5);
  EXPECT_EQ(d.records[0].time, T("2024-02-01 10:00:00"));
}

TEST(RowDecoderTest, MappedColumnWinsOverDefaultName) {
  // The file has both "user_id" and "customer"; the mapping says to use "customer".
  SourceMapping m;
  m.columns["user_id"] = "customer";
  Decoding d(SourceKind::kEvents, {"user_id", "customer", "item_id", "event_type", "timestamp"}, m);
  ASSERT_EQ(d.Decode({"wrong", "right", "i", "view", "1706745600"}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.ids.users.Name(d.records[0].user), "right");
}

TEST(RowDecoderTest, ConstantFillsAFieldTheFileLacks) {
  SourceMapping m;
  m.constants["event_type"] = "view";
  Decoding d(SourceKind::kEvents, {"user_id", "item_id", "timestamp"}, m);
  ASSERT_EQ(d.Decode({"u", "i", "1706745600"}), DecodeOutcome::kAccepted) << d.reason;
  EXPECT_EQ(d.records[0].type, EventType::kView);
}

TEST(RowDecoderTest, ConstantWinsOverDefaultColumn) {
  SourceMapping m;
  m.constants["event_type"] = "click";
  Decoding d(SourceKind::kEvents, {"user_id", "item_id", "event_type", "timestamp"}, m);
  ASSERT_EQ(d.Decode({"u", "i", "view", "1706745600"}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.records[0].type, EventType::kClick);
}

TEST(RowDecoderTest, ConstantTimestampAndUser) {
  SourceMapping m;
  m.constants["timestamp"] = "2024-02-01";
  m.constants["user_id"] = "everyone";
  Decoding d(SourceKind::kEvents, {"item_id", "event_type"}, m);
  ASSERT_EQ(d.Decode({"i", "view"}), DecodeOutcome::kAccepted) << d.reason;
  EXPECT_EQ(d.records[0].time, T("2024-02-01"));
  EXPECT_EQ(d.ids.users.Name(d.records[0].user), "everyone");
}

TEST(RowDecoderTest, ConstantPurchaseAmount) {
  SourceMapping m;
  m.constants["amount"] = "1";
  Decoding d(SourceKind::kPurchases, {"user_id", "item_id", "purchase_date"}, m);
  ASSERT_EQ(d.Decode({"u", "i", "2024-02-01"}), DecodeOutcome::kAccepted) << d.reason;
  EXPECT_DOUBLE_EQ(d.records[0].amount, 1.0);
}

TEST(RowDecoderTest, EventTypesMapFileNamesToEngineTypes) {
  SourceMapping m;
  m.event_types["pageview"] = EventType::kView;
  m.event_types["add"] = EventType::kAddToCart;
  m.event_types["buy"] = EventType::kPurchase;
  Decoding d(SourceKind::kEvents, kEventColumns, m);
  ASSERT_EQ(d.Decode({"u", "i", "pageview", "1706745600", "", ""}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.records[0].type, EventType::kView);
  ASSERT_EQ(d.Decode({"u", "i", "add", "1706745600", "", ""}), DecodeOutcome::kAccepted);
  EXPECT_EQ(d.records[0].type, EventType::kAddToCart);
  ASSERT_EQ(d.Decode({"u", "i", "buy", "1706745600", "4", ""}), DecodeOutcome::kAccepted);
  ASSERT_EQ(d.records.size(), 2u);
  EXPECT_EQ(d.records[0].kind, RecordKind::kPurchase);
}

TEST(RowDecoderTest, UnlistedTypeIsRejectedWhenEventTypesAreMapped) {
  SourceMapping m;
  m.event_types["pageview"] = EventType::kView;
  Decoding d(SourceKind::kEvents, kEventColumns, m);
  EXPECT_EQ(d.Reject({"u", "i", "hover", "1706745600", "", ""}), "unknown event type 'hover'");
  // An engine name is not accepted either once event_types lists the file's names.
  EXPECT_EQ(d.Reject({"u", "i", "view", "1706745600", "", ""}), "unknown event type 'view'");
}

TEST(RowDecoderTest, MappedPurchaseTypeStillNeedsAnAmount) {
  SourceMapping m;
  m.event_types["buy"] = EventType::kPurchase;
  Decoding d(SourceKind::kEvents, kEventColumns, m);
  EXPECT_EQ(d.Reject({"u", "i", "buy", "1706745600", "", ""}), "purchase event without an amount");
}

// ---------------------------------------------------------------------------
// Create errors

TEST(RowDecoderCreateTest, MappedColumnAbsentNamesSourceFieldAndColumn) {
  SourceMapping m;
  m.columns["item_id"] = "product_id";
  absl::StatusOr<RowDecoder> d =
      RowDecoder::Create(SourceKind::kEvents, m, kEventColumns, "clicks.csv");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(d.status().message());
  EXPECT_THAT(msg, HasSubstr("clicks.csv"));
  EXPECT_THAT(msg, HasSubstr("item_id"));
  EXPECT_THAT(msg, HasSubstr("'product_id'"));
  EXPECT_THAT(msg, HasSubstr("user_id, item_id, event_type, timestamp, amount, event_id"));
}

TEST(RowDecoderCreateTest, MappedOptionalColumnAbsentIsAnErrorToo) {
  SourceMapping m;
  m.columns["event_id"] = "uuid";
  absl::StatusOr<RowDecoder> d =
      RowDecoder::Create(SourceKind::kEvents, m, kEventColumns, "clicks.csv");
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("event_id"));
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("'uuid'"));
}

TEST(RowDecoderCreateTest, NoTimestampColumnForEventsNamesSourceAndField) {
  absl::StatusOr<RowDecoder> d = RowDecoder::Create(
      SourceKind::kEvents, {}, {"user_id", "item_id", "event_type", "when"}, "events.jsonl");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(d.status().message());
  EXPECT_THAT(msg, HasSubstr("events.jsonl"));
  EXPECT_THAT(msg, HasSubstr("no column for timestamp"));
  EXPECT_THAT(msg, HasSubstr("'timestamp'"));
  EXPECT_THAT(msg, HasSubstr("[events.columns]"));
}

TEST(RowDecoderCreateTest, NoTimestampColumnForPurchasesListsBothDefaults) {
  absl::StatusOr<RowDecoder> d = RowDecoder::Create(
      SourceKind::kPurchases, {}, {"user_id", "item_id", "purchase_amount"}, "history.csv");
  ASSERT_FALSE(d.ok());
  const std::string msg(d.status().message());
  EXPECT_THAT(msg, HasSubstr("history.csv"));
  EXPECT_THAT(msg, HasSubstr("no column for timestamp"));
  EXPECT_THAT(msg, HasSubstr("'purchase_date' or 'timestamp'"));
  EXPECT_THAT(msg, HasSubstr("[purchases.columns]"));
}

TEST(RowDecoderCreateTest, NoAmountColumnForPurchases) {
  absl::StatusOr<RowDecoder> d = RowDecoder::Create(
      SourceKind::kPurchases, {}, {"user_id", "item_id", "purchase_date"}, "history.csv");
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("no column for amount"));
}

TEST(RowDecoderCreateTest, NoUserColumn) {
  absl::StatusOr<RowDecoder> d =
      RowDecoder::Create(SourceKind::kEvents, {}, {"item_id", "event_type", "timestamp"}, "e.csv");
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("no column for user_id"));
}

TEST(RowDecoderCreateTest, NoEventTypeColumnForEvents) {
  absl::StatusOr<RowDecoder> d =
      RowDecoder::Create(SourceKind::kEvents, {}, {"user_id", "item_id", "timestamp"}, "e.csv");
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("no column for event_type"));
}

TEST(RowDecoderCreateTest, ConstantSatisfiesARequiredField) {
  SourceMapping m;
  m.constants["timestamp"] = "2024-02-01";
  EXPECT_TRUE(
      RowDecoder::Create(SourceKind::kEvents, m, {"user_id", "item_id", "event_type"}, "e.csv")
          .ok());
}

// ---------------------------------------------------------------------------
// WantedColumns

TEST(RowDecoderWantedColumnsTest, DefaultEventColumns) {
  EXPECT_THAT(RowDecoder::WantedColumns(SourceKind::kEvents, {}),
              ElementsAre("user_id", "item_id", "event_type", "timestamp", "amount", "event_id"));
}

TEST(RowDecoderWantedColumnsTest, DefaultPurchaseColumnsIncludeEveryAlternative) {
  EXPECT_THAT(
      RowDecoder::WantedColumns(SourceKind::kPurchases, {}),
      ElementsAre("user_id", "item_id", "purchase_date", "timestamp", "purchase_amount", "amount"));
}

TEST(RowDecoderWantedColumnsTest, MappedColumnsReplaceDefaultsAndConstantsDropThem) {
  SourceMapping m;
  m.columns["item_id"] = "product_id";
  m.columns["timestamp_offset_ms"] = "off";
  m.constants["event_type"] = "view";
  EXPECT_THAT(RowDecoder::WantedColumns(SourceKind::kEvents, m),
              ElementsAre("user_id", "product_id", "timestamp", "amount", "event_id", "off"));
}

}  // namespace
}  // namespace streamrec
