// Inspection reports what recovery would do, and changes nothing.

#include "log/inspect.h"

#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/event_log.h"
#include "log/mem_env.h"
#include "log/segment_format.h"

namespace streamrec {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kLogDir[] = "/state/log";
constexpr char kSnapshotDir[] = "/state/snapshots";

class InspectTest : public ::testing::Test {
 protected:
  InspectTest() { options_.env = &env_; }

  // Commits `n` records of 10 bytes in segments of about 100 bytes.
  void WriteLog(int n) {
    options_.segment_bytes = 100;
    auto log = *EventLog::Open(kLogDir, options_);
    for (int i = 0; i < n; ++i) log->Append("0123456789");
    ASSERT_TRUE(log->Commit().ok());
  }

  std::vector<SegmentSummary> Inspect() {
    auto summaries = InspectLog(kLogDir, &env_);
    EXPECT_TRUE(summaries.ok()) << summaries.status();
    return summaries.ok() ? *summaries : std::vector<SegmentSummary>();
  }

  std::string SegmentPath(uint64_t first) {
    return JoinPath(kLogDir, segment::FileName(LogOffset{first}));
  }

  MemEnv env_;
  EventLogOptions options_;
};

TEST_F(InspectTest, HealthyLogListsEverySegmentInOrder) {
  WriteLog(10);  // 19 bytes per record: 4 per segment
  const std::vector<SegmentSummary> s = Inspect();
  ASSERT_THAT(s, SizeIs(3));
  EXPECT_EQ(s[0].first_offset, LogOffset{0});
  EXPECT_EQ(s[0].records, 4u);
  EXPECT_EQ(s[0].bytes, 24u + 4 * 19);
  EXPECT_EQ(s[1].first_offset, LogOffset{4});
  EXPECT_EQ(s[2].records, 2u);
  for (const SegmentSummary& x : s) EXPECT_EQ(x.state, SegmentSummary::State::kOk);
  EXPECT_EQ(s[0].ToString(),
            "log-00000000000000000000.seg  offsets 0..3  4 records  100 bytes  ok");
}

TEST_F(InspectTest, TornTailIsReportedButNotCut) {
  WriteLog(6);
  const std::string path = SegmentPath(4);
  const std::string torn = *env_.Contents(path) + std::string(7, '\0');
  env_.SetContents(path, torn);
  const std::vector<SegmentSummary> s = Inspect();
  ASSERT_THAT(s, SizeIs(2));
  EXPECT_EQ(s[1].state, SegmentSummary::State::kTornTail);
  EXPECT_EQ(s[1].problem_bytes, 7u);
  EXPECT_EQ(s[1].problem_at, torn.size() - 7);
  EXPECT_THAT(s[1].ToString(),
              HasSubstr("torn tail of 7 bytes at byte 62: truncated record header"));
  EXPECT_EQ(*env_.Contents(path), torn);
}

TEST_F(InspectTest, DamageInAnEarlierSegmentIsCorrupt) {
  WriteLog(10);
  std::string data = *env_.Contents(SegmentPath(0));
  data[55] ^= 1;  // a payload byte of record 1 (bytes 43-61)
  env_.SetContents(SegmentPath(0), data);
  const std::vector<SegmentSummary> s = Inspect();
  EXPECT_EQ(s[0].state, SegmentSummary::State::kCorrupt);
  EXPECT_EQ(s[0].records, 1u);
  EXPECT_EQ(s[0].problem_at, 43u);
  EXPECT_THAT(s[0].ToString(), HasSubstr("corrupt: checksum mismatch at byte 43 (record 1)"));
  EXPECT_THAT(s[0].reason, HasSubstr("cannot be trusted"));
}

TEST_F(InspectTest, MissingDirectoriesAreEmpty) {
  EXPECT_THAT(Inspect(), IsEmpty());
  SnapshotOptions options;
  options.env = &env_;
  EXPECT_THAT(*InspectSnapshots(kSnapshotDir, options), IsEmpty());
}

TEST_F(InspectTest, SnapshotsAreListedWithValidityAndSizes) {
  SnapshotOptions options;
  options.env = &env_;
  for (uint64_t covered : {10, 20}) {
    auto w = *SnapshotWriter::Create(kSnapshotDir, LogOffset{covered}, options);
    ASSERT_TRUE(w->Write(std::string(5000, 'z')).ok());
    ASSERT_TRUE(w->Finish().ok());
  }
  const std::string newest = JoinPath(kSnapshotDir, SnapshotFileName(LogOffset{20}));
  std::string data = *env_.Contents(newest);
  data[40] ^= 0x10;
  env_.SetContents(newest, data);
  env_.SetContents(newest + ".tmp", "partial");

  auto summaries = InspectSnapshots(kSnapshotDir, options);
  ASSERT_TRUE(summaries.ok()) << summaries.status();
  ASSERT_THAT(*summaries, SizeIs(3));
  const SnapshotSummary& ok = (*summaries)[0];
  EXPECT_TRUE(ok.valid());
  EXPECT_EQ(ok.info.covered, LogOffset{10});
  EXPECT_EQ(ok.info.uncompressed_bytes, 5000u);
  EXPECT_THAT(ok.ToString(), HasSubstr("5000 uncompressed in 1 frames  valid"));
  EXPECT_FALSE((*summaries)[1].valid());
  EXPECT_THAT((*summaries)[1].problem, HasSubstr("frame 0"));
  EXPECT_TRUE((*summaries)[2].name.temporary);
  EXPECT_THAT((*summaries)[2].ToString(), HasSubstr("invalid: incomplete"));
}

// What the engine's start would refuse, judged from the summaries alone.
TEST_F(InspectTest, StartProblemsAreDamageAndASnapshotTheLogDoesNotContinue) {
  WriteLog(10);
  const std::vector<SegmentSummary> log = Inspect();
  const auto snapshot = [](uint64_t covered, bool valid = true) {
    SnapshotSummary s;
    s.name.covered = LogOffset{covered};
    if (!valid) s.problem = "frame 0: checksum mismatch";
    return s;
  };
  EXPECT_THAT(StartProblems(log, {}), IsEmpty());
  EXPECT_THAT(StartProblems(log, std::vector{snapshot(4), snapshot(10)}), IsEmpty());
  EXPECT_THAT(StartProblems({}, std::vector{snapshot(10)}), IsEmpty());  // a log gone
  // An invalid newer snapshot is skipped: the valid one at 10 is the newest.
  EXPECT_THAT(StartProblems(log, std::vector{snapshot(10), snapshot(12, false)}), IsEmpty());
  EXPECT_THAT(StartProblems(log, std::vector{snapshot(11)}),
              ElementsAre("the newest snapshot covers the log to offset 11, past its end at "
                          "offset 10"));
  std::vector<SegmentSummary> later = log;
  for (SegmentSummary& seg : later) seg.first_offset.value += 100;
  EXPECT_THAT(StartProblems(later, std::vector{snapshot(10)}),
              ElementsAre("the log starts at offset 100, after the newest snapshot's covered "
                          "offset 10"));
  EXPECT_THAT(StartProblems(later, std::vector{snapshot(100, false)}),
              ElementsAre("the log starts at offset 100 and no valid snapshot holds the "
                          "records before it"));
  std::vector<SegmentSummary> damaged = log;
  damaged[0].state = SegmentSummary::State::kCorrupt;
  damaged[0].reason = "checksum mismatch at byte 43";
  EXPECT_THAT(StartProblems(damaged, {}),
              ElementsAre(StrCat(damaged[0].file, " is damaged: checksum mismatch at byte 43")));
}

}  // namespace
}  // namespace streamrec
