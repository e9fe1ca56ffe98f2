// Randomized conformance: synthetic datasets (synth/generator.h) with shuffled events,
// the DuckDB reference (../shared/reference/run-reference.sh) on one side, the pipeline
// with several chunk sizes on the other, compared with the C++ table comparer.
//
// Skipped when node is not installed, or when the reference cannot install its DuckDB
// package (no network). A reference that is installed but fails is a test failure.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <string>

#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "synth/generator.h"
#include "tests/table_compare.h"
#include "tests/test_util.h"

namespace streamrec::conformance {
namespace {

namespace fs = std::filesystem;

bool HaveNode() { return std::system("command -v node >/dev/null 2>&1") == 0; }

// Where run-reference.sh installs @duckdb/node-api.
std::string ReferenceCache() {
  if (const char* dir = std::getenv("STREAMREC_REFERENCE_CACHE")) return dir;
  const char* home = std::getenv("HOME");
  return StrCat(home != nullptr ? home : "", "/.cache/streamrec-reference");
}
bool ReferenceInstalled() {
  return fs::is_directory(StrCat(ReferenceCache(), "/node_modules/@duckdb/node-api"));
}

// An exclusive lock on the reference's cache. run-reference.sh installs its package into
// the cache on first use and copies its scripts there on every run, so concurrent runs
// (ctest -j) could read a half-copied script or race two installs: they take turns.
class ReferenceLock {
 public:
  ReferenceLock() {
    const std::string path = ReferenceCache() + ".lock";
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~ReferenceLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  ReferenceLock(const ReferenceLock&) = delete;
  ReferenceLock& operator=(const ReferenceLock&) = delete;

 private:
  int fd_ = -1;
};

struct Dataset {
  const char* name;
  GeneratorOptions options;
};

GeneratorOptions Options(int64_t users, int64_t items, int64_t events, uint64_t seed) {
  GeneratorOptions o;
  o.users = users;
  o.items = items;
  o.events = events;
  o.seed = seed;
  o.history_format = TableFormat::kCsv;  // the reference reads history.csv
  return o;
}

const Dataset kDatasets[] = {
    {"Seed1", Options(300, 80, 5000, 1)},
    {"Seed2", Options(300, 80, 5000, 2)},
    // Few users and items: heavy users, long timelines squeezed into the window (merged
    // sessions, many events per second) and dense user-item cells.
    {"DenseSeed3", Options(20, 10, 4000, 3)},
};

void PrintTo(const Dataset& d, std::ostream* os) {
  *os << d.name << " (" << d.options.users << " users, " << d.options.items << " items, "
      << d.options.events << " events, seed " << d.options.seed << ")";
}

class ReferenceTest : public ::testing::TestWithParam<Dataset> {};

TEST_P(ReferenceTest, PipelineMatchesDuckDbReference) {
  if (!HaveSharedDir()) GTEST_SKIP() << "no " << SharedDir();
  if (!HaveNode()) GTEST_SKIP() << "node is not installed";
  const Dataset& d = GetParam();
  TempDir tmp("reference");
  ASSERT_FALSE(tmp.path().empty());

  // Input: a generated folder whose events file is shuffled (header kept).
  const std::string in_dir = tmp / "in";
  ASSERT_TRUE(GenerateDataset(d.options, in_dir).ok());
  ASSERT_TRUE(FileExists(StrCat(in_dir, "/history.csv")));
  const std::string events = StrCat(in_dir, "/events.csv");
  ShuffleCsvRows(events, events + ".shuffled", d.options.seed * 7919 + 1);
  fs::rename(events + ".shuffled", events);
  const std::string events_text = ReadFile(events);
  ASSERT_THAT(events_text, ::testing::HasSubstr(",purchase,"))
      << "the dataset has no purchase events";

  // Reference.
  const std::string ref_dir = tmp / "reference";
  const std::string log = tmp / "reference.log";
  // TMPDIR: the script leaves a scratch folder in the temporary directory; keep it in ours.
  const std::string scratch = tmp / "scratch";
  fs::create_directories(scratch);
  const std::string command =
      StrCat("TMPDIR=\"", scratch, "\" \"", SharedDir(), "/reference/run-reference.sh\" \"", in_dir,
             "\" \"", ref_dir, "\" 2 >\"", log, "\" 2>&1");
  int rc;
  {
    ReferenceLock lock;
    rc = std::system(command.c_str());
  }
  if (rc != 0) {
    const std::string output = ReadFile(log);
    if (!ReferenceInstalled()) {
      GTEST_SKIP() << "the reference could not install @duckdb/node-api (network?):\n" << output;
    }
    FAIL() << command << " failed (status " << rc << "):\n" << output;
  }

  // Pipeline, with several chunk sizes; every run equals the reference.
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{4096}}) {
    SCOPED_TRACE(StrCat("chunk size ", chunk));
    const std::string out_dir = tmp / StrCat("out", chunk);
    absl::StatusOr<PipelineSummary> summary = RunPipelineOnFolder(in_dir, out_dir, chunk);
    ASSERT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->load.rows_rejected, 0);
    EXPECT_EQ(CompareFeatureTableDirs(ref_dir, out_dir), "");
  }
}

INSTANTIATE_TEST_SUITE_P(Synthetic, ReferenceTest, ::testing::ValuesIn(kDatasets),
                         [](const ::testing::TestParamInfo<Dataset>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace streamrec::conformance
