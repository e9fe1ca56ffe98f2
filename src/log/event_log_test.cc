// EventLog: offsets, group commit, segments, reading, dropping, and recovery from every
// kind of damage: torn and corrupt tails are cut and reported, damage elsewhere is
// refused, unsynced writes are lost on power loss and synced ones are not.

#include "log/event_log.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/strings.h"
#include "common/test_temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/crc32c.h"
#include "log/mem_env.h"
#include "log/segment_format.h"

namespace streamrec {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kDir[] = "/state/log";

std::string Payload(uint64_t i) { return StrCat("event-", i, std::string(i % 13, 'x')); }

std::string SegmentPath(uint64_t first) {
  return JoinPath(kDir, segment::FileName(LogOffset{first}));
}

// Every record from `from` on, as (offset, payload).
std::vector<std::pair<uint64_t, std::string>> ReadAll(const EventLog& log, uint64_t from = 0) {
  std::vector<std::pair<uint64_t, std::string>> records;
  const absl::Status status = log.ReadFrom(LogOffset{from}, [&](LogOffset o, std::string_view p) {
    records.emplace_back(o.value, std::string(p));
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  return records;
}

// Records 0..n-1 with Payload(i).
std::vector<std::pair<uint64_t, std::string>> Expected(uint64_t begin, uint64_t end) {
  std::vector<std::pair<uint64_t, std::string>> records;
  for (uint64_t i = begin; i < end; ++i) records.emplace_back(i, Payload(i));
  return records;
}

class EventLogTest : public ::testing::Test {
 protected:
  EventLogTest() { options_.env = &env_; }

  std::unique_ptr<EventLog> Open(RecoveryReport* report = nullptr) {
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(kDir, options_, report);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }

  absl::Status OpenError() {
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(kDir, options_);
    EXPECT_FALSE(log.ok());
    return log.status();
  }

  // Appends records [begin, end) with Payload(i) and commits them.
  void AppendAndCommit(EventLog& log, uint64_t begin, uint64_t end) {
    for (uint64_t i = begin; i < end; ++i) ASSERT_EQ(log.Append(Payload(i)), LogOffset{i});
    ASSERT_TRUE(log.Commit().ok());
  }

  // Replaces byte `at` of `path` (durably) with `value`.
  void SetByte(const std::string& path, uint64_t at, char value) {
    std::string data = *env_.Contents(path);
    ASSERT_LT(at, data.size());
    data[at] = value;
    env_.SetContents(path, data);
  }

  MemEnv env_;
  EventLogOptions options_;
};

TEST_F(EventLogTest, NewDirectoryStartsAtTheInitialOffset) {
  options_.initial_offset = LogOffset{500};
  RecoveryReport report;
  auto log = Open(&report);
  EXPECT_TRUE(report.created);
  EXPECT_EQ(report.next_offset, LogOffset{500});
  EXPECT_EQ(log->next_offset(), LogOffset{500});
  EXPECT_EQ(log->Append("a"), LogOffset{500});
  ASSERT_TRUE(log->Commit().ok());
  EXPECT_TRUE(env_.Contents(SegmentPath(500)).has_value());
}

TEST_F(EventLogTest, CommittedRecordsReadBackInOrder) {
  auto log = Open();
  AppendAndCommit(*log, 0, 100);
  EXPECT_EQ(ReadAll(*log), Expected(0, 100));
  EXPECT_EQ(log->committed_offset(), LogOffset{100});
  EXPECT_EQ(log->stats().records_committed, 100u);
  EXPECT_EQ(log->stats().commits, 1u);
}

TEST_F(EventLogTest, EmptyAndBinaryPayloadsRoundTrip) {
  auto log = Open();
  const std::string binary("\0\xff\x01\0", 4);
  log->Append("");
  log->Append(binary);
  ASSERT_TRUE(log->Commit().ok());
  EXPECT_THAT(ReadAll(*log), ElementsAre(std::pair<uint64_t, std::string>{0, ""},
                                         std::pair<uint64_t, std::string>{1, binary}));
}

TEST_F(EventLogTest, UncommittedAppendsAreNeitherReadNorKept) {
  auto log = Open();
  AppendAndCommit(*log, 0, 3);
  log->Append(Payload(3));
  EXPECT_EQ(ReadAll(*log), Expected(0, 3));
  log.reset();
  log = Open();
  EXPECT_EQ(log->next_offset(), LogOffset{3});
  EXPECT_EQ(ReadAll(*log), Expected(0, 3));
}

TEST_F(EventLogTest, ReopenContinuesOffsets) {
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 10);
  }
  RecoveryReport report;
  auto log = Open(&report);
  EXPECT_FALSE(report.created);
  EXPECT_EQ(report.cut, std::nullopt);
  EXPECT_EQ(report.next_offset, LogOffset{10});
  AppendAndCommit(*log, 10, 20);
  EXPECT_EQ(ReadAll(*log), Expected(0, 20));
}

TEST_F(EventLogTest, RollsToNewSegment) {
  options_.segment_bytes = 200;
  auto log = Open();
  AppendAndCommit(*log, 0, 30);
  const auto children = *env_.GetChildren(kDir);
  const auto segments = std::count_if(children.begin(), children.end(), [](const std::string& n) {
    return segment::ParseFileName(n).has_value();
  });
  EXPECT_GT(segments, 3);
  for (const std::string& name : children) {
    if (segment::ParseFileName(name)) {
      EXPECT_LE(env_.Contents(JoinPath(kDir, name))->size(), 200u);
    }
  }
  EXPECT_EQ(ReadAll(*log), Expected(0, 30));
  log.reset();
  log = Open();
  EXPECT_EQ(ReadAll(*log), Expected(0, 30));
  EXPECT_EQ(log->next_offset(), LogOffset{30});
}

TEST_F(EventLogTest, RecordLargerThanTheSegmentSizeGetsASegmentOfItsOwn) {
  options_.segment_bytes = 64;
  auto log = Open();
  const std::string big(1000, 'b');
  log->Append("small");
  log->Append(big);
  log->Append("after");
  ASSERT_TRUE(log->Commit().ok());
  EXPECT_TRUE(env_.Contents(SegmentPath(1)).has_value());
  EXPECT_TRUE(env_.Contents(SegmentPath(2)).has_value());
  EXPECT_EQ(ReadAll(*log, 1)[0].second, big);
}

TEST_F(EventLogTest, ReadFromTheMiddleOfASegment) {
  options_.segment_bytes = 300;
  auto log = Open();
  AppendAndCommit(*log, 0, 40);
  for (uint64_t from : {0, 1, 7, 20, 39, 40}) EXPECT_EQ(ReadAll(*log, from), Expected(from, 40));
}

TEST_F(EventLogTest, ReadFromOutsideTheLogIsOutOfRange) {
  options_.initial_offset = LogOffset{10};
  auto log = Open();
  AppendAndCommit(*log, 10, 15);
  auto no_op = [](LogOffset, std::string_view) { return absl::OkStatus(); };
  EXPECT_TRUE(absl::IsOutOfRange(log->ReadFrom(LogOffset{9}, no_op)));
  EXPECT_TRUE(absl::IsOutOfRange(log->ReadFrom(LogOffset{16}, no_op)));
  EXPECT_TRUE(log->ReadFrom(LogOffset{15}, no_op).ok());
}

TEST_F(EventLogTest, ReadFromStopsAtTheCallbacksError) {
  auto log = Open();
  AppendAndCommit(*log, 0, 10);
  int calls = 0;
  const absl::Status status = log->ReadFrom(LogOffset{0}, [&](LogOffset o, std::string_view) {
    ++calls;
    return o == LogOffset{3} ? absl::CancelledError("enough") : absl::OkStatus();
  });
  EXPECT_TRUE(absl::IsCancelled(status));
  EXPECT_EQ(calls, 4);
}

TEST_F(EventLogTest, ReadFromRefusesARecordDamagedAfterOpen) {
  auto log = Open();
  AppendAndCommit(*log, 0, 3);
  SetByte(SegmentPath(0), segment::kHeaderBytes + segment::kRecordHeaderBytes, '#');
  const absl::Status status =
      log->ReadFrom(LogOffset{0}, [](LogOffset, std::string_view) { return absl::OkStatus(); });
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("checksum mismatch"));
}

TEST_F(EventLogTest, ReaderOnAnotherThreadSeesOnlyCommittedRecords) {
  options_.segment_bytes = 4096;
  auto log = Open();
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!done.load()) {
      uint64_t expected = 0;
      const absl::Status s = log->ReadFrom(LogOffset{0}, [&](LogOffset o, std::string_view p) {
        if (o.value != expected++ || p != Payload(o.value)) bad.fetch_add(1);
        return absl::OkStatus();
      });
      if (!s.ok()) bad.fetch_add(1);
    }
  });
  for (uint64_t i = 0; i < 2000; i += 50) AppendAndCommit(*log, i, i + 50);
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(EventLogTest, KilledProcessKeepsCommittedRecordsUnderEveryPolicy) {
  for (FsyncPolicy policy : {FsyncPolicy::kAlways, FsyncPolicy::kBatch, FsyncPolicy::kInterval}) {
    SCOPED_TRACE(FsyncPolicyName(policy));
    options_.fsync = policy;
    options_.sync_interval = std::chrono::hours(1);
    const std::string dir = StrCat("/kill/", FsyncPolicyName(policy));
    {
      auto log = *EventLog::Open(dir, options_);
      for (uint64_t i = 0; i < 5; ++i) log->Append(Payload(i));
      ASSERT_TRUE(log->Commit().ok());
      log->Append(Payload(5));  // never committed
    }  // the process dies: nothing more is written, the page cache keeps what was
    auto log = *EventLog::Open(dir, options_);
    EXPECT_EQ(ReadAll(*log), Expected(0, 5));
  }
}

TEST_F(EventLogTest, UnsyncedWritesAreLostOnPowerLossButSyncedOnesSurvive) {
  options_.fsync = FsyncPolicy::kInterval;
  options_.sync_interval = std::chrono::hours(1);  // the background never gets to it
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 5);
    ASSERT_TRUE(log->Sync().ok());
    AppendAndCommit(*log, 5, 10);
  }
  env_.SimulatePowerLoss();
  RecoveryReport report;
  auto log = Open(&report);
  EXPECT_EQ(ReadAll(*log), Expected(0, 5));
  EXPECT_EQ(report.cut, std::nullopt);  // lost whole, not torn
  AppendAndCommit(*log, 5, 6);
}

TEST_F(EventLogTest, BatchCommitSurvivesPowerLoss) {
  options_.fsync = FsyncPolicy::kBatch;
  options_.segment_bytes = 256;
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 40);  // rolls several times within one commit
  }
  env_.SimulatePowerLoss();
  auto log = Open();
  EXPECT_EQ(ReadAll(*log), Expected(0, 40));
}

TEST_F(EventLogTest, IntervalPolicySyncsInTheBackground) {
  options_.fsync = FsyncPolicy::kInterval;
  options_.sync_interval = std::chrono::milliseconds(5);
  {
    auto log = Open();
    const int syncs_before = env_.syncs();
    AppendAndCommit(*log, 0, 5);
    for (int i = 0; i < 2000 && log->stats().syncs == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_GT(env_.syncs(), syncs_before);
  }
  env_.SimulatePowerLoss();
  auto log = Open();
  EXPECT_EQ(ReadAll(*log), Expected(0, 5));
}

TEST_F(EventLogTest, SegmentsAreCompleteBeforeTheNextStartsEvenUnderInterval) {
  options_.fsync = FsyncPolicy::kInterval;
  options_.sync_interval = std::chrono::hours(1);
  options_.segment_bytes = 128;
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 30);
  }
  env_.SimulatePowerLoss();
  // Only the last segment's unsynced tail may go; every earlier segment is intact.
  auto log = Open();
  ASSERT_NE(log, nullptr);
  const std::vector<std::pair<uint64_t, std::string>> records = ReadAll(*log);
  EXPECT_GE(records.size(), 25u);
  EXPECT_EQ(records, Expected(0, records.size()));
}

TEST_F(EventLogTest, TornTailIsCutAndReported) {
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 5);
  }
  // The process died in the middle of writing records 5 to 9: 30 of their bytes are in
  // the file.
  std::string framed;
  for (uint64_t i = 5; i < 10; ++i) segment::AppendRecord(Payload(i), &framed);
  env_.SetContents(SegmentPath(0), *env_.Contents(SegmentPath(0)) + framed.substr(0, 30));
  const uint64_t size_before = env_.Contents(SegmentPath(0))->size();
  RecoveryReport report;
  auto log = Open(&report);
  // The 30 bytes that reached the file: record 5 whole (9 + 12 bytes), then 9 bytes of
  // record 6's header. Record 5 verifies and is kept, though never acknowledged.
  ASSERT_TRUE(report.cut.has_value());
  EXPECT_EQ(report.cut->segment, segment::FileName(LogOffset{0}));
  EXPECT_EQ(report.cut->bytes_dropped, 9u);
  EXPECT_EQ(report.cut->byte_offset, size_before - 9);
  EXPECT_THAT(report.cut->reason, HasSubstr("truncated payload (0 of 13 bytes)"));
  EXPECT_EQ(env_.Contents(SegmentPath(0))->size(), size_before - 9);
  EXPECT_EQ(ReadAll(*log), Expected(0, 6));
  EXPECT_EQ(log->next_offset(), LogOffset{6});
}

// The disk fills up in the middle of a group commit: the commit fails with the disk's
// error (nothing of the group is acknowledged), so does every later one (the log is not
// written past a hole), what was committed before stays readable, and what the failed
// commit wrote is taken back off the disk: a restart finds the log as it was before it
// and goes on after the last acknowledged record.
TEST_F(EventLogTest, FullDiskFailsTheCommitAndTakesItsRecordsBack) {
  const uint64_t size_before = [&] {
    auto log = Open();
    AppendAndCommit(*log, 0, 5);
    return env_.Contents(SegmentPath(0))->size();
  }();
  {
    auto log = Open();
    for (uint64_t i = 5; i < 10; ++i) log->Append(Payload(i));
    env_.FailWritesAfter(30, ENOSPC);  // record 5 whole, and part of record 6
    const absl::Status full = log->Commit();
    EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
    EXPECT_THAT(full.message(), HasSubstr("No space left on device"));
    log->Append(Payload(10));
    EXPECT_EQ(log->Commit(), full);
    EXPECT_EQ(ReadAll(*log), Expected(0, 5));
    EXPECT_EQ(env_.Contents(SegmentPath(0))->size(), size_before);
  }
  env_.ClearFaults();
  RecoveryReport report;
  auto log = Open(&report);
  EXPECT_FALSE(report.cut.has_value());
  EXPECT_EQ(ReadAll(*log), Expected(0, 5));
  AppendAndCommit(*log, 5, 8);
  EXPECT_EQ(ReadAll(*log), Expected(0, 8));
}

// A failed commit that had begun new segments removes them too.
TEST_F(EventLogTest, AFailedCommitRemovesTheSegmentsItBegan) {
  options_.segment_bytes = 100;
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 3);
  }
  const std::vector<std::string> before = *env_.GetChildren(kDir);
  const std::string first_segment = *env_.Contents(SegmentPath(0));
  // The disk fills up at every byte of the commit in turn: in a record, in a new
  // segment's header (a segment half created), between segments.
  for (uint64_t fail_after = 0; fail_after < 600; fail_after += 7) {
    {
      auto log = Open();
      for (uint64_t i = 3; i < 30; ++i) log->Append(Payload(i));
      env_.FailWritesAfter(fail_after, ENOSPC);
      EXPECT_FALSE(log->Commit().ok());
      EXPECT_EQ(ReadAll(*log), Expected(0, 3));
    }
    env_.ClearFaults();
    EXPECT_EQ(*env_.GetChildren(kDir), before) << fail_after;
    EXPECT_EQ(*env_.Contents(SegmentPath(0)), first_segment) << fail_after;
    RecoveryReport report;
    auto log = Open(&report);
    ASSERT_NE(log, nullptr) << fail_after;
    EXPECT_FALSE(report.cut.has_value()) << fail_after;
    EXPECT_EQ(ReadAll(*log), Expected(0, 3));
    EXPECT_EQ(log->next_offset(), LogOffset{3});
  }
}

TEST_F(EventLogTest, TornWriteThatReachedTheDiskBeforePowerLossIsCut) {
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 3);  // synced (batch)
  }
  options_.fsync = FsyncPolicy::kInterval;
  options_.sync_interval = std::chrono::hours(1);
  {
    auto log = Open();
    AppendAndCommit(*log, 3, 6);  // written, not synced
  }
  env_.SimulatePowerLoss(/*unsynced_bytes_kept=*/segment::kRecordHeaderBytes + 3);
  RecoveryReport report;
  auto log = Open(&report);
  ASSERT_TRUE(report.cut.has_value());
  EXPECT_EQ(report.cut->bytes_dropped, segment::kRecordHeaderBytes + 3);
  EXPECT_THAT(report.cut->reason, HasSubstr("truncated payload"));
  EXPECT_EQ(ReadAll(*log), Expected(0, 3));
}

TEST_F(EventLogTest, CorruptCrcInLastRecordIsCut) {
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 4);
  }
  const std::string path = SegmentPath(0);
  const uint64_t size = env_.Contents(path)->size();
  SetByte(path, size - 1, '!');  // the last payload byte
  RecoveryReport report;
  auto log = Open(&report);
  ASSERT_TRUE(report.cut.has_value());
  EXPECT_EQ(report.cut->reason, "checksum mismatch");
  EXPECT_EQ(report.cut->bytes_dropped, segment::kRecordHeaderBytes + Payload(3).size());
  EXPECT_EQ(ReadAll(*log), Expected(0, 3));
  AppendAndCommit(*log, 3, 4);  // offset 3 is given again: it was never acknowledged
  EXPECT_EQ(ReadAll(*log), Expected(0, 4));
}

// Records that verify after a bad one were written whole after it, and may have been
// acknowledged: the bad frame is damage, not a torn tail, and cutting there would drop
// them. The log refuses to open and leaves the file as it is, for the operator.
TEST_F(EventLogTest, CorruptRecordFollowedByOneThatVerifiesIsDamageAndNothingIsCut) {
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 10);
  }
  const uint64_t record1 = segment::kHeaderBytes + segment::kRecordHeaderBytes + Payload(0).size();
  const uint64_t record2 = record1 + segment::kRecordHeaderBytes + Payload(1).size();
  for (const uint64_t at : {record1 + segment::kRecordHeaderBytes,  // record 1's payload
                            record1 + 4}) {                         // its length
    SetByte(SegmentPath(0), at, '?');
    const std::string before = *env_.Contents(SegmentPath(0));
    const absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(kDir, options_);
    EXPECT_TRUE(absl::IsDataLoss(log.status())) << log.status();
    EXPECT_THAT(log.status().message(),
                HasSubstr(StrCat("(record 1); a record that verifies follows at byte ", record2,
                                 ", so this is damage, not an interrupted write")));
    EXPECT_EQ(*env_.Contents(SegmentPath(0)), before);
  }
}

// After a power loss, sectors written back out of order leave zeros where a write did
// not reach the disk, with later sectors intact: all of it unsynced, a torn tail to cut,
// not damage. The zeros begin at the bad frame (the rest of a partly filled page whose
// rewrite was lost), or fill a sector of a record's payload.
TEST_F(EventLogTest, ZerosBeforeRecordsThatVerifyAreATornTailAndCut) {
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 1000);  // about 21 KB
  }
  const std::string data = *env_.Contents(SegmentPath(0));
  ASSERT_GT(data.size(), 3 * 4096u);
  uint64_t record100 = segment::kHeaderBytes;
  for (uint64_t i = 0; i < 100; ++i) record100 += segment::kRecordHeaderBytes + Payload(i).size();
  const uint64_t record_bytes = segment::kRecordHeaderBytes + Payload(100).size();
  // The rest of the page from record 100 on, and a sector inside a page.
  for (const auto& [from, to] : {std::pair<uint64_t, uint64_t>{record100, 4096},
                                 std::pair<uint64_t, uint64_t>{4608, 5120}}) {
    std::string torn = data;
    std::fill(torn.begin() + from, torn.begin() + to, '\0');
    env_.SetContents(SegmentPath(0), torn);
    RecoveryReport report;
    auto log = Open(&report);
    ASSERT_NE(log, nullptr) << from;
    ASSERT_TRUE(report.cut.has_value());
    EXPECT_LE(report.cut->byte_offset, from);
    EXPECT_GT(report.cut->byte_offset, from - record_bytes);
    const std::vector<std::pair<uint64_t, std::string>> kept = ReadAll(*log);
    EXPECT_EQ(kept, Expected(0, kept.size()));
    EXPECT_GE(kept.size(), from == record100 ? 100u : 150u);
  }
}

TEST_F(EventLogTest, ReadOnlyOpenLeavesATornTailInPlaceAndReadsTheRecordsBeforeIt) {
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 5);
  }
  const std::string torn = *env_.Contents(SegmentPath(0)) + "torn";
  env_.SetContents(SegmentPath(0), torn);
  options_.read_only = true;
  RecoveryReport report;
  auto log = Open(&report);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(report.cut.has_value());
  EXPECT_EQ(report.cut->bytes_dropped, 4u);
  EXPECT_EQ(ReadAll(*log), Expected(0, 5));
  EXPECT_EQ(*env_.Contents(SegmentPath(0)), torn);
}

TEST_F(EventLogTest, ReadOnlyOpenOfADirectoryWithoutSegmentsIsNotFoundAndCreatesNothing) {
  options_.read_only = true;
  EXPECT_TRUE(absl::IsNotFound(OpenError()));
  EXPECT_FALSE(env_.Contents(SegmentPath(0)).has_value());
}

TEST_F(EventLogTest, ReadOnlyOpenCreatesNoLockFile) {
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 3);
  }
  // A copy of a state without its LOCK, as a backup tool might leave it.
  ASSERT_TRUE(env_.RemoveFile(JoinPath(kDir, "LOCK")).ok());
  options_.read_only = true;
  auto log = Open();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(ReadAll(*log), Expected(0, 3));
  EXPECT_FALSE(env_.Contents(JoinPath(kDir, "LOCK")).has_value());
}

TEST_F(EventLogTest, ReadersShareTheLogButNotWithAWriter) {
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 3);
  }
  EventLogOptions reading = options_;
  reading.read_only = true;
  {
    auto writer = Open();
    ASSERT_NE(writer, nullptr);
    const absl::Status refused = EventLog::Open(kDir, reading).status();
    EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  }
  auto reader1 = EventLog::Open(kDir, reading);
  auto reader2 = EventLog::Open(kDir, reading);
  ASSERT_TRUE(reader1.ok()) << reader1.status();
  ASSERT_TRUE(reader2.ok()) << reader2.status();
  EXPECT_TRUE(absl::IsFailedPrecondition(OpenError()));
}

TEST_F(EventLogTest, ZeroedTailIsCut) {
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 2);
  }
  env_.SetContents(SegmentPath(0), *env_.Contents(SegmentPath(0)) + std::string(4096, '\0'));
  RecoveryReport report;
  auto log = Open(&report);
  ASSERT_TRUE(report.cut.has_value());
  EXPECT_EQ(report.cut->reason, "zeroed bytes");
  EXPECT_EQ(report.cut->bytes_dropped, 4096u);
  EXPECT_EQ(ReadAll(*log), Expected(0, 2));
}

TEST_F(EventLogTest, BadLengthAndTruncatedRecordHeaderAreCut) {
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 2);
  }
  const std::string good = *env_.Contents(SegmentPath(0));
  std::string bad_length = good;
  segment::AppendRecord("x", &bad_length);
  std::memset(bad_length.data() + good.size() + 4, 0xff, 4);  // length 4 GiB - 1
  env_.SetContents(SegmentPath(0), bad_length);
  RecoveryReport report;
  Open(&report).reset();
  ASSERT_TRUE(report.cut.has_value());
  EXPECT_THAT(report.cut->reason, HasSubstr("bad length"));

  env_.SetContents(SegmentPath(0), good + "abcd");
  Open(&report).reset();
  ASSERT_TRUE(report.cut.has_value());
  EXPECT_THAT(report.cut->reason, HasSubstr("truncated record header"));
  EXPECT_EQ(*env_.Contents(SegmentPath(0)), good);
}

TEST_F(EventLogTest, CorruptionInANonLastSegmentIsAnError) {
  options_.segment_bytes = 100;
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 20);
  }
  const std::string path = SegmentPath(0);
  const std::string before = *env_.Contents(path);
  SetByte(path, segment::kHeaderBytes + segment::kRecordHeaderBytes, '~');
  const absl::Status status = OpenError();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_THAT(status.message(), HasSubstr(StrCat("at byte ", segment::kHeaderBytes)));
  EXPECT_THAT(status.message(), HasSubstr("cannot be trusted"));
  EXPECT_EQ(env_.Contents(path)->size(), before.size());  // nothing was cut
}

TEST_F(EventLogTest, PartialRecordAtTheEndOfANonLastSegmentIsAnError) {
  options_.segment_bytes = 100;
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 20);
  }
  const std::string path = SegmentPath(0);
  const std::string data = *env_.Contents(path);
  env_.SetContents(path, data.substr(0, data.size() - 2));
  const absl::Status status = OpenError();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("truncated payload"));
}

TEST_F(EventLogTest, GapBetweenSegmentsIsAnError) {
  options_.segment_bytes = 100;
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 20);
  }
  const auto names = *env_.GetChildren(kDir);
  std::vector<std::string> segments;
  for (const auto& n : names) {
    if (segment::ParseFileName(n)) segments.push_back(n);
  }
  std::sort(segments.begin(), segments.end());
  ASSERT_GE(segments.size(), 3u);
  ASSERT_TRUE(env_.RemoveFile(JoinPath(kDir, segments[1])).ok());
  const absl::Status status = OpenError();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("but the segment before it ends at offset"));
}

TEST_F(EventLogTest, UnknownRecordTypeWithAValidChecksumIsNeverCut) {
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 1);
  }
  std::string data = *env_.Contents(SegmentPath(0));
  const std::string payload = "from the future";
  const char type = 7;
  const uint32_t crc = Crc32cExtend(Crc32c(std::string_view(&type, 1)), payload);
  const auto length = static_cast<uint32_t>(payload.size());
  data.append(reinterpret_cast<const char*>(&crc), 4);
  data.append(reinterpret_cast<const char*>(&length), 4);
  data += type;
  data += payload;
  env_.SetContents(SegmentPath(0), data);
  const absl::Status status = OpenError();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("unknown record type 7"));
  EXPECT_EQ(*env_.Contents(SegmentPath(0)), data);
}

TEST_F(EventLogTest, UnsupportedVersionIsAnError) {
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 1);
  }
  std::string data = *env_.Contents(SegmentPath(0));
  data[8] = 2;  // version
  const uint32_t crc = Crc32c(std::string_view(data).substr(0, 20));
  std::memcpy(data.data() + 20, &crc, 4);
  env_.SetContents(SegmentPath(0), data);
  EXPECT_THAT(OpenError().message(), HasSubstr("unsupported format version 2"));
}

TEST_F(EventLogTest, HeaderNamingAnotherOffsetIsAnError) {
  env_.SetContents(SegmentPath(7), segment::EncodeHeader(LogOffset{8}));
  EXPECT_THAT(OpenError().message(), HasSubstr("header names first offset 8"));
}

TEST_F(EventLogTest, InterruptedSegmentCreationIsRewrittenEmpty) {
  options_.segment_bytes = 100;
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 20);
  }
  const uint64_t next = 20;
  env_.SetContents(SegmentPath(next), segment::EncodeHeader(LogOffset{next}).substr(0, 10));
  RecoveryReport report;
  auto log = Open(&report);
  ASSERT_TRUE(report.cut.has_value());
  EXPECT_EQ(report.cut->segment, segment::FileName(LogOffset{next}));
  EXPECT_EQ(report.cut->bytes_dropped, 10u);
  EXPECT_THAT(report.cut->reason, HasSubstr("truncated header"));
  EXPECT_EQ(*env_.Contents(SegmentPath(next)), segment::EncodeHeader(LogOffset{next}));
  AppendAndCommit(*log, 20, 25);
  EXPECT_EQ(ReadAll(*log), Expected(0, 25));
}

TEST_F(EventLogTest, BadHeaderWithRecordsAfterItIsAnError) {
  {
    auto log = Open();
    AppendAndCommit(*log, 0, 3);
  }
  SetByte(SegmentPath(0), 0, 'X');
  const absl::Status status = OpenError();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("header checksum mismatch"));
}

TEST_F(EventLogTest, FailedSyncPoisonsTheLog) {
  auto log = Open();
  AppendAndCommit(*log, 0, 2);
  env_.FailSyncs(true);
  log->Append(Payload(2));
  const absl::Status failed = log->Commit();
  EXPECT_FALSE(failed.ok());
  env_.ClearFaults();
  log->Append(Payload(3));
  EXPECT_EQ(log->Commit(), failed);
  EXPECT_EQ(log->Sync(), failed);
  log.reset();
  log = Open();  // recovery finds what is on disk: record 2 was written, 3 never was
  EXPECT_EQ(ReadAll(*log), Expected(0, 3));
}

TEST_F(EventLogTest, FailedBackgroundSyncIsReportedByTheNextCommit) {
  options_.fsync = FsyncPolicy::kInterval;
  options_.sync_interval = std::chrono::milliseconds(1);
  auto log = Open();
  env_.FailSyncs(true);
  absl::Status status;
  for (int i = 0; i < 5000 && status.ok(); ++i) {
    log->Append("x");
    status = log->Commit();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("fdatasync"));
}

TEST_F(EventLogTest, DropBeforeDeletesWholeSegmentsBelowTheOffset) {
  options_.segment_bytes = 100;
  auto log = Open();
  AppendAndCommit(*log, 0, 30);
  ASSERT_TRUE(log->DropBefore(LogOffset{30}).ok());
  const LogOffset start = log->start_offset();
  EXPECT_GT(start, LogOffset{20});
  EXPECT_EQ(ReadAll(*log, start.value), Expected(start.value, 30));
  env_.SimulatePowerLoss();  // the removals were made durable
  log.reset();
  log = Open();
  EXPECT_EQ(log->start_offset(), start);
  EXPECT_EQ(log->next_offset(), LogOffset{30});
}

TEST_F(EventLogTest, DropBeforeKeepsSegmentThatStraddles) {
  options_.segment_bytes = 100;
  auto log = Open();
  AppendAndCommit(*log, 0, 30);
  // Find a segment boundary b > 0; dropping before b + 1 keeps the segment starting at b.
  std::vector<uint64_t> firsts;
  const std::vector<std::string> names = *env_.GetChildren(kDir);
  for (const auto& n : names) {
    if (auto f = segment::ParseFileName(n)) firsts.push_back(f->value);
  }
  std::sort(firsts.begin(), firsts.end());
  ASSERT_GE(firsts.size(), 3u);
  const uint64_t b = firsts[1];
  ASSERT_TRUE(log->DropBefore(LogOffset{b + 1}).ok());
  EXPECT_EQ(log->start_offset(), LogOffset{b});
  EXPECT_FALSE(env_.Contents(SegmentPath(0)).has_value());
  EXPECT_TRUE(env_.Contents(SegmentPath(b)).has_value());
  auto no_op = [](LogOffset, std::string_view) { return absl::OkStatus(); };
  EXPECT_TRUE(absl::IsOutOfRange(log->ReadFrom(LogOffset{b - 1}, no_op)));
  EXPECT_EQ(ReadAll(*log, b), Expected(b, 30));
}

TEST_F(EventLogTest, DropBeforeNeverDeletesTheActiveSegment) {
  auto log = Open();
  AppendAndCommit(*log, 0, 5);
  ASSERT_TRUE(log->DropBefore(LogOffset{1000}).ok());
  EXPECT_EQ(log->start_offset(), LogOffset{0});
  EXPECT_EQ(ReadAll(*log), Expected(0, 5));
}

TEST_F(EventLogTest, SecondWriterOfTheSameDirectoryIsRefused) {
  auto log = Open();
  const absl::Status status = OpenError();
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  log.reset();
  EXPECT_NE(Open(), nullptr);
}

TEST_F(EventLogTest, OtherFilesInTheDirectoryAreIgnored) {
  env_.SetContents(JoinPath(kDir, "snapshot-00000000000000000000.snap"), "not a segment");
  env_.SetContents(JoinPath(kDir, "log-12.seg"), "not a segment name either");
  auto log = Open();
  AppendAndCommit(*log, 0, 2);
  EXPECT_EQ(ReadAll(*log), Expected(0, 2));
}

TEST_F(EventLogTest, BadOptionsAreInvalidArgument) {
  options_.segment_bytes = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(OpenError()));
  options_.segment_bytes = 1 << 20;
  options_.fsync = FsyncPolicy::kInterval;
  options_.sync_interval = std::chrono::milliseconds(0);
  EXPECT_TRUE(absl::IsInvalidArgument(OpenError()));
}

TEST(FsyncPolicyTest, ParsesAndFormatsEveryPolicy) {
  for (FsyncPolicy p : {FsyncPolicy::kAlways, FsyncPolicy::kBatch, FsyncPolicy::kInterval}) {
    EXPECT_EQ(*ParseFsyncPolicy(FsyncPolicyName(p)), p);
  }
  const absl::Status bad = ParseFsyncPolicy("sometimes").status();
  EXPECT_TRUE(absl::IsInvalidArgument(bad));
  EXPECT_THAT(bad.message(), HasSubstr("always, batch or interval"));
}

TEST(RecoveryReportTest, SaysWhatWasCut) {
  RecoveryReport report;
  report.segments = 2;
  report.next_offset = LogOffset{4096};
  report.cut = RecoveryReport::Cut{"log-00000000000000002048.seg", 1024, 57, "checksum mismatch"};
  EXPECT_EQ(report.ToString(),
            "2 segments, offsets [0, 4096); cut 57 bytes at byte 1024 of "
            "log-00000000000000002048.seg: checksum mismatch");
}

// The real file system: the same log survives a reopen.
TEST(EventLogPosixTest, RecordsSurviveReopenOnDisk) {
  const TempDir temp("event_log_test");
  const std::string dir = JoinPath(temp.path(), "log");
  EventLogOptions options;
  options.segment_bytes = 1000;
  options.fsync = FsyncPolicy::kAlways;
  {
    auto log = *EventLog::Open(dir, options);
    for (uint64_t i = 0; i < 100; ++i) {
      log->Append(Payload(i));
      ASSERT_TRUE(log->Commit().ok());
    }
  }
  {
    RecoveryReport report;
    auto log = EventLog::Open(dir, options, &report);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_GT(report.segments, 1);
    EXPECT_EQ(ReadAll(**log), Expected(0, 100));
  }
}

}  // namespace
}  // namespace streamrec
