// Snapshots: round trips at every chunking, the newest valid one wins, each kind of
// damage is skipped with its reason, a snapshot exists under its name only once
// complete and synced, and retention keeps what recovery may fall back to.

#include "log/snapshot.h"

#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>

#include "common/test_temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/crc32c.h"
#include "log/mem_env.h"

namespace streamrec {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kDir[] = "/state/snapshots";

// Compressible but not trivial: small integers and repeated ids, like engine state.
std::string StateBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() % 16);
  return s;
}

class SnapshotTest : public ::testing::Test {
 protected:
  SnapshotTest() {
    options_.env = &env_;
    options_.chunk_bytes = 1000;
  }

  // Writes a snapshot covering `covered` with `bytes`, in pieces of `piece` bytes.
  void WriteSnapshot(uint64_t covered, std::string_view bytes, size_t piece = 333) {
    auto writer = SnapshotWriter::Create(kDir, LogOffset{covered}, options_);
    ASSERT_TRUE(writer.ok()) << writer.status();
    for (size_t at = 0; at < bytes.size(); at += piece) {
      ASSERT_TRUE((*writer)->Write(bytes.substr(at, piece)).ok());
    }
    ASSERT_TRUE((*writer)->Finish().ok());
    EXPECT_EQ((*writer)->uncompressed_bytes(), bytes.size());
    EXPECT_EQ((*writer)->file_bytes(), env_.Contents((*writer)->path())->size());
  }

  std::string Path(uint64_t covered) {
    return JoinPath(kDir, SnapshotFileName(LogOffset{covered}));
  }

  std::optional<LoadedSnapshot> LoadNewest(std::vector<SkippedSnapshot>* skipped = nullptr) {
    auto loaded = LoadNewestSnapshot(kDir, options_, skipped);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() ? *std::move(loaded) : std::nullopt;
  }

  std::string LoadError(uint64_t covered) {
    auto loaded = LoadSnapshot(Path(covered), options_);
    EXPECT_FALSE(loaded.ok());
    return std::string(loaded.status().message());
  }

  void SetByte(const std::string& path, uint64_t at, char value) {
    std::string data = *env_.Contents(path);
    ASSERT_LT(at, data.size());
    data[at] = value;
    env_.SetContents(path, data);
  }

  MemEnv env_;
  SnapshotOptions options_;
};

// Discard gives back only whole huge pages of the prefix: they read as zeros after,
// every byte past them keeps its value, and a small buffer is left alone.
TEST(SnapshotBytesTest, DiscardGivesBackWholeHugePagesOfThePrefixOnly) {
  constexpr size_t kMiB = size_t{1} << 20;
  SnapshotBytes bytes(9 * kMiB);
  std::memset(bytes.data(), 'x', bytes.size());
  bytes.Discard(5 * kMiB);  // two whole 2 MiB pages
  const std::string_view view = bytes.view();
  EXPECT_EQ(view.substr(0, 4 * kMiB).find_first_not_of('\0'), std::string_view::npos);
  EXPECT_EQ(view.substr(4 * kMiB).find_first_not_of('x'), std::string_view::npos);
  bytes.Discard(kMiB);  // already given back: nothing changes
  EXPECT_EQ(view.substr(4 * kMiB).find_first_not_of('x'), std::string_view::npos);

  SnapshotBytes small(3 * kMiB);
  std::memset(small.data(), 'y', small.size());
  small.Discard(small.size());
  EXPECT_EQ(small.view().find_first_not_of('y'), std::string_view::npos);
}

TEST_F(SnapshotTest, RoundTripsAtEveryChunking) {
  const std::string state = StateBytes(10'000, 1);
  for (uint32_t chunk : {1u, 7u, 1000u, 9999u, 10'000u, 1u << 20}) {
    for (size_t piece : {size_t{1}, size_t{999}, size_t{1000}, size_t{4096}, state.size()}) {
      if (chunk == 1 && piece == 1) continue;  // slow and adds nothing
      SCOPED_TRACE(testing::Message() << "chunk " << chunk << " piece " << piece);
      options_.chunk_bytes = chunk;
      WriteSnapshot(42, state, piece);
      auto loaded = LoadSnapshot(Path(42), options_);
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      EXPECT_EQ(loaded->covered, LogOffset{42});
      EXPECT_EQ(loaded->bytes.view(), state);
    }
  }
}

TEST_F(SnapshotTest, EmptySnapshotRoundTrips) {
  WriteSnapshot(0, "");
  std::optional<LoadedSnapshot> loaded = LoadNewest();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->covered, LogOffset{0});
  EXPECT_EQ(loaded->bytes.size(), 0u);
}

TEST_F(SnapshotTest, ManyThreadsLoadTheSameBytesAsOne) {
  const std::string state = StateBytes(100'000, 2);
  WriteSnapshot(5, state);
  for (int threads : {1, 2, 3, 8}) {
    options_.threads = threads;
    auto loaded = LoadSnapshot(Path(5), options_);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(loaded->bytes.view(), state);
  }
}

TEST_F(SnapshotTest, NoSnapshotIsNotAnError) {
  EXPECT_EQ(LoadNewest(), std::nullopt);  // no directory
  ASSERT_TRUE(env_.CreateDir(kDir).ok());
  EXPECT_EQ(LoadNewest(), std::nullopt);  // empty directory
}

TEST_F(SnapshotTest, NewestValidSnapshotWins) {
  WriteSnapshot(100, "older");
  WriteSnapshot(200, "newer");
  WriteSnapshot(150, "middle");
  std::vector<SkippedSnapshot> skipped;
  std::optional<LoadedSnapshot> loaded = LoadNewest(&skipped);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->covered, LogOffset{200});
  EXPECT_EQ(loaded->bytes.view(), "newer");
  EXPECT_EQ(loaded->path, Path(200));
  EXPECT_THAT(skipped, IsEmpty());
}

TEST_F(SnapshotTest, NewestCorruptSnapshotFallsBackToOlder) {
  const std::string state = StateBytes(5000, 3);
  WriteSnapshot(100, state);
  WriteSnapshot(200, state);
  SetByte(Path(200), 40, 'X');  // inside the first frame
  std::vector<SkippedSnapshot> skipped;
  std::optional<LoadedSnapshot> loaded = LoadNewest(&skipped);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->covered, LogOffset{100});
  EXPECT_EQ(loaded->bytes.view(), state);
  ASSERT_THAT(skipped, SizeIs(1));
  EXPECT_EQ(skipped[0].path, Path(200));
  EXPECT_THAT(skipped[0].reason, HasSubstr("frame 0 at byte 32"));
}

TEST_F(SnapshotTest, EveryCorruptSnapshotIsSkippedAndNoneIsNotAnError) {
  WriteSnapshot(100, "a");
  SetByte(Path(100), 0, 'X');
  std::vector<SkippedSnapshot> skipped;
  EXPECT_EQ(LoadNewest(&skipped), std::nullopt);
  EXPECT_THAT(skipped, SizeIs(1));
}

TEST_F(SnapshotTest, DamageAnywhereIsFoundWithItsReason) {
  const std::string state = StateBytes(3000, 4);  // 3 frames of 1000
  WriteSnapshot(7, state);
  const std::string good = *env_.Contents(Path(7));
  const size_t n = good.size();
  struct Case {
    const char* what;
    size_t at;
    const char* reason;
  };
  for (const Case& c : {Case{"header magic", 0, "bad header magic"},
                        Case{"header field", 12, "header checksum mismatch"},
                        Case{"frame", 40, "frame 0 at byte 32"},
                        Case{"index", n - 32 - 1, "index checksum mismatch"},
                        Case{"trailer field", n - 32, "trailer checksum mismatch"},
                        Case{"trailer magic", n - 1, "bad magic; incomplete file?"}}) {
    SCOPED_TRACE(c.what);
    std::string bad = good;
    bad[c.at] ^= 0x55;
    env_.SetContents(Path(7), bad);
    const std::string error = LoadError(7);
    EXPECT_THAT(error, HasSubstr(c.reason));
    EXPECT_THAT(error, HasSubstr(Path(7)));
  }
}

TEST_F(SnapshotTest, TruncatedSnapshotIsInvalid) {
  WriteSnapshot(7, StateBytes(3000, 5));
  const std::string good = *env_.Contents(Path(7));
  for (size_t n : {size_t{0}, size_t{10}, size_t{63}, good.size() / 2, good.size() - 1}) {
    env_.SetContents(Path(7), good.substr(0, n));
    EXPECT_FALSE(LoadSnapshot(Path(7), options_).ok()) << n;
  }
  env_.SetContents(Path(7), good.substr(0, 10));
  EXPECT_THAT(LoadError(7), HasSubstr("shorter than header and trailer"));
}

TEST_F(SnapshotTest, SnapshotRenamedToAnotherOffsetIsInvalid) {
  WriteSnapshot(7, "state");
  ASSERT_TRUE(env_.RenameFile(Path(7), Path(8)).ok());
  EXPECT_THAT(LoadError(8), HasSubstr("header covers offset 7, the file name 8"));
}

TEST_F(SnapshotTest, ChecksumOfADecompressedChunkIsVerified) {
  // A frame that decompresses cleanly to the wrong bytes: swap in another snapshot's
  // frame of the same size, and fix up nothing else.
  options_.chunk_bytes = 1 << 20;
  WriteSnapshot(1, std::string(1000, 'a'));
  WriteSnapshot(2, std::string(1000, 'b'));
  std::string a = *env_.Contents(Path(1));
  const std::string b = *env_.Contents(Path(2));
  ASSERT_EQ(a.size(), b.size());
  const size_t frame_bytes = a.size() - 32 - 12 - 32;
  a.replace(32, frame_bytes, b.substr(32, frame_bytes));
  env_.SetContents(Path(1), a);
  EXPECT_THAT(LoadError(1), HasSubstr("frame 0 at byte 32: checksum mismatch"));
}

TEST_F(SnapshotTest, TemporaryFileIsNeverLoaded) {
  WriteSnapshot(100, "finished");
  auto writer = *SnapshotWriter::Create(kDir, LogOffset{200}, options_);
  ASSERT_TRUE(writer->Write("in progress").ok());
  std::optional<LoadedSnapshot> loaded = LoadNewest();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->covered, LogOffset{100});
}

TEST_F(SnapshotTest, WriterWithoutFinishLeavesNoFile) {
  {
    auto writer = *SnapshotWriter::Create(kDir, LogOffset{9}, options_);
    ASSERT_TRUE(writer->Write("abandoned").ok());
  }
  EXPECT_THAT(*env_.GetChildren(kDir), IsEmpty());
}

TEST_F(SnapshotTest, FinishedSnapshotSurvivesPowerLossAndAnUnfinishedOneLeavesNothing) {
  WriteSnapshot(100, "durable");
  auto writer = *SnapshotWriter::Create(kDir, LogOffset{200}, options_);
  ASSERT_TRUE(writer->Write("not yet").ok());
  env_.SimulatePowerLoss();
  writer.reset();
  EXPECT_THAT(*env_.GetChildren(kDir), ElementsAre(SnapshotFileName(LogOffset{100})));
  std::optional<LoadedSnapshot> loaded = LoadNewest();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->bytes.view(), "durable");
}

TEST_F(SnapshotTest, FailedSyncFailsFinishAndPublishesNothing) {
  auto writer = *SnapshotWriter::Create(kDir, LogOffset{5}, options_);
  ASSERT_TRUE(writer->Write("x").ok());
  env_.FailSyncs(true);
  EXPECT_FALSE(writer->Finish().ok());
  env_.ClearFaults();
  writer.reset();
  EXPECT_THAT(*env_.GetChildren(kDir), IsEmpty());
}

TEST_F(SnapshotTest, FailedWriteIsStickyAndReportedByFinish) {
  auto writer = *SnapshotWriter::Create(kDir, LogOffset{5}, options_);
  env_.FailWritesAfter(10);
  const std::string state = StateBytes(5000, 6);
  EXPECT_FALSE(writer->Write(state).ok());
  env_.ClearFaults();
  EXPECT_FALSE(writer->Write("more").ok());
  EXPECT_FALSE(writer->Finish().ok());
}

TEST_F(SnapshotTest, RetainNewestKeepsNAndReturnsTheOldestKeptOffset) {
  for (uint64_t covered : {10, 20, 30, 40}) WriteSnapshot(covered, "s");
  env_.SetContents(Path(5) + ".tmp", "abandoned long ago");
  env_.SetContents(Path(50) + ".tmp", "being written");
  absl::StatusOr<LogOffset> oldest = RetainNewestSnapshots(kDir, 2, &env_);
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  EXPECT_EQ(*oldest, LogOffset{30});
  std::vector<std::string> names = *env_.GetChildren(kDir);
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names, ElementsAre(SnapshotFileName(LogOffset{30}), SnapshotFileName(LogOffset{40}),
                                 SnapshotFileName(LogOffset{50}) + ".tmp"));
  env_.SimulatePowerLoss();  // the removals were synced
  EXPECT_THAT(*env_.GetChildren(kDir), SizeIs(3));
}

TEST_F(SnapshotTest, RetainWithFewerSnapshotsThanNKeepsAll) {
  EXPECT_EQ(*RetainNewestSnapshots(kDir, 2, &env_), LogOffset{0});  // none at all
  WriteSnapshot(10, "s");
  EXPECT_EQ(*RetainNewestSnapshots(kDir, 2, &env_), LogOffset{10});
  EXPECT_THAT(*env_.GetChildren(kDir), SizeIs(1));
}

TEST_F(SnapshotTest, RetainZeroIsInvalid) {
  EXPECT_TRUE(absl::IsInvalidArgument(RetainNewestSnapshots(kDir, 0, &env_).status()));
}

TEST_F(SnapshotTest, BadOptionsAreInvalidArgument) {
  options_.chunk_bytes = 0;
  EXPECT_TRUE(
      absl::IsInvalidArgument(SnapshotWriter::Create(kDir, LogOffset{1}, options_).status()));
  options_.chunk_bytes = 1000;
  options_.compression_level = 1000;
  EXPECT_TRUE(
      absl::IsInvalidArgument(SnapshotWriter::Create(kDir, LogOffset{1}, options_).status()));
}

TEST(SnapshotFileNameTest, ParsesFinishedAndTemporaryNamesOnly) {
  EXPECT_EQ(SnapshotFileName(LogOffset{1234}), "snapshot-00000000000000001234.snap");
  auto finished = ParseSnapshotFileName("snapshot-00000000000000001234.snap");
  ASSERT_TRUE(finished.has_value());
  EXPECT_EQ(finished->covered, LogOffset{1234});
  EXPECT_FALSE(finished->temporary);
  auto temp = ParseSnapshotFileName("snapshot-00000000000000001234.snap.tmp");
  ASSERT_TRUE(temp.has_value());
  EXPECT_TRUE(temp->temporary);
  for (const char* bad : {"snapshot-1234.snap", "snapshot-0000000000000000123x.snap",
                          "snapshot-00000000000000001234.snapx", "log-00000000000000001234.seg"}) {
    EXPECT_EQ(ParseSnapshotFileName(bad), std::nullopt) << bad;
  }
}

TEST(SnapshotPosixTest, RoundTripsOnDisk) {
  const TempDir temp("snapshot_test");
  const std::string& dir = temp.path();
  const std::string state = StateBytes(3 << 20, 7);
  {
    auto writer = *SnapshotWriter::Create(dir, LogOffset{77});
    ASSERT_TRUE(writer->Write(state).ok());
    ASSERT_TRUE(writer->Finish().ok());
  }
  auto loaded = LoadNewestSnapshot(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->covered, LogOffset{77});
  EXPECT_TRUE((*loaded)->bytes.view() == state);
}

}  // namespace
}  // namespace streamrec
