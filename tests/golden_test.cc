// The golden sets: for every folder in ../shared/golden, the pipeline's six tables
// equal expected/, whatever the chunk size and the order of the events file.

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "common/strings.h"
#include "engine/pipeline.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/table_compare.h"
#include "tests/test_util.h"

namespace streamrec::conformance {
namespace {

namespace fs = std::filesystem;

std::string GoldenDir() { return StrCat(SharedDir(), "/golden"); }

// The golden folder names, sorted; empty when ../shared is absent.
std::vector<std::string> GoldenFolders() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(GoldenDir(), ec)) {
    if (e.is_directory() && fs::exists(e.path() / "expected")) {
      names.push_back(e.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

struct Variant {
  std::string name;
  size_t chunk_size;
  bool shuffle_events;
};

const Variant kVariants[] = {
    {"Chunk1", 1, false},
    {"Chunk7", 7, false},
    {"Chunk4096", 4096, false},
    {"ShuffledChunk50", 50, true},  // the seed's chunk size
};

struct GoldenCase {
  std::string folder;  // empty: no golden sets to test
  Variant variant;
};

void PrintTo(const GoldenCase& c, std::ostream* os) {
  *os << (c.folder.empty() ? "(no golden sets)" : c.folder) << ", chunk size "
      << c.variant.chunk_size << (c.variant.shuffle_events ? ", shuffled events" : "");
}

std::vector<GoldenCase> GoldenCases() {
  std::vector<GoldenCase> cases;
  std::vector<std::string> folders = GoldenFolders();
  // Keep the test names stable when ../shared is missing: one case that skips.
  if (folders.empty()) folders.push_back("");
  for (const std::string& folder : folders) {
    for (const Variant& v : kVariants) cases.push_back({folder, v});
  }
  return cases;
}

std::string CaseName(const ::testing::TestParamInfo<GoldenCase>& info) {
  std::string name = info.param.folder.empty() ? "NoGoldenSets" : info.param.folder;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return StrCat(name, "_", info.param.variant.name);
}

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, TablesMatchExpected) {
  const GoldenCase& c = GetParam();
  if (c.folder.empty() || !HaveSharedDir()) {
    GTEST_SKIP() << "no golden sets under " << GoldenDir();
  }
  const std::string in_dir = StrCat(GoldenDir(), "/", c.folder);
  TempDir tmp("golden");
  ASSERT_FALSE(tmp.path().empty());

  std::string run_dir = in_dir;
  if (c.variant.shuffle_events) {
    // A folder with the same purchase files and a shuffled copy of the events.
    run_dir = tmp / "in";
    fs::create_directories(run_dir);
    for (const char* name : {"history.csv", "purchases.csv"}) {
      if (FileExists(StrCat(in_dir, "/", name))) {
        fs::copy_file(StrCat(in_dir, "/", name), StrCat(run_dir, "/", name));
      }
    }
    // Events of one user at one instant keep their order: the spec breaks such ties by
    // input order (a session's last_event depends on it), so only that order is fixed.
    ShuffleCsvRows(StrCat(in_dir, "/events.csv"), StrCat(run_dir, "/events.csv"), 20240201,
                   {"user_id", "timestamp"});
    ASSERT_NE(ReadFile(StrCat(run_dir, "/events.csv")), ReadFile(StrCat(in_dir, "/events.csv")))
        << "the shuffled copy is the original";
  }

  const std::string out_dir = tmp / "out";
  absl::StatusOr<PipelineSummary> summary =
      RunPipelineOnFolder(run_dir, out_dir, c.variant.chunk_size);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->load.rows_rejected, 0);
  EXPECT_FALSE(FileExists(StrCat(out_dir, "/rejected.csv")));
  EXPECT_EQ(CompareFeatureTableDirs(StrCat(in_dir, "/expected"), out_dir), "")
      << "golden set " << c.folder << ", chunk size " << c.variant.chunk_size
      << (c.variant.shuffle_events ? ", shuffled events" : "");
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenTest, ::testing::ValuesIn(GoldenCases()), CaseName);

// The comparer itself: it must see the differences the golden tests rely on it to see.
class TableCompareTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = tmp_ / name;
    WriteFile(path, contents);
    return path;
  }
  TableComparison Compare(const std::string& expected, const std::string& actual,
                          const std::vector<std::string>& key) {
    absl::StatusOr<TableComparison> c =
        CompareCsvTables(Write("expected.csv", expected), Write("actual.csv", actual), key);
    EXPECT_TRUE(c.ok()) << c.status();
    if (c.ok()) return *c;
    TableComparison failed;
    failed.differences = -1;
    return failed;
  }

  TempDir tmp_{"table_compare"};
};

TEST_F(TableCompareTest, RowOrderAndNumberFormDoNotMatter) {
  const TableComparison c = Compare("user_id,n,x\nu1,1,0.5\nu2,2,\n",
                                    "user_id,x,n,extra\nu2,,2,z\nu1,5e-1,1.0,y\n", {"user_id"});
  EXPECT_TRUE(c.equal()) << c.report;
}

TEST_F(TableCompareTest, NumbersAgreeWithinOneMillionth) {
  EXPECT_TRUE(Compare("k,x\na,1000000\nb,0\n", "k,x\na,1000000.9\nb,0.0000009\n", {"k"}).equal());
  const TableComparison c = Compare("k,x\na,1.0\n", "k,x\na,1.00001\n", {"k"});
  EXPECT_EQ(c.differences, 1);
  EXPECT_THAT(c.report, ::testing::HasSubstr("x expected \"1.0\", actual \"1.00001\""));
}

TEST_F(TableCompareTest, EmptyStaysEmptyAndTextIsExact) {
  EXPECT_EQ(Compare("k,x\na,\n", "k,x\na,0\n", {"k"}).differences, 1);
  EXPECT_EQ(Compare("k,x\na,0\n", "k,x\na,\n", {"k"}).differences, 1);
  EXPECT_EQ(Compare("k,t\na,view\n", "k,t\na,View\n", {"k"}).differences, 1);
}

TEST_F(TableCompareTest, MissingAndUnexpectedRowsAreReported) {
  const TableComparison c = Compare("k,x\na,1\nb,2\n", "k,x\na,1\nc,2\n", {"k"});
  EXPECT_EQ(c.differences, 2);
  EXPECT_THAT(c.report, ::testing::HasSubstr("missing row k=\"b\""));
  EXPECT_THAT(c.report, ::testing::HasSubstr("unexpected row k=\"c\""));
}

TEST_F(TableCompareTest, RepeatedKeysMatchByOccurrence) {
  EXPECT_TRUE(Compare("k,x\na,1\na,1\n", "k,x\na,1\na,1\n", {"k"}).equal());
  EXPECT_EQ(Compare("k,x\na,1\na,1\n", "k,x\na,1\n", {"k"}).differences, 1);
}

TEST_F(TableCompareTest, MissingColumnIsADifference) {
  const TableComparison c = Compare("k,x,y\na,1,2\n", "k,x\na,1\n", {"k"});
  EXPECT_EQ(c.differences, 1);
  EXPECT_THAT(c.report, ::testing::HasSubstr("column \"y\" is missing"));
}

TEST_F(TableCompareTest, QuotedFieldsAreUnquoted) {
  EXPECT_TRUE(Compare("k,x\n\"a,b\",1\n", "k,x\n\"a,b\",1\n", {"k"}).equal());
  EXPECT_EQ(Compare("k,x\n\"a,b\",1\n", "k,x\na,1\n", {"k"}).differences, 2);
}

}  // namespace
}  // namespace streamrec::conformance
