// TableWriter (CSV): the text of every column type, quoting, and the rule that a table
// appears under its real name only after Finish().

#include "io/table_writer.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/test_temp_dir.h"
#include "common/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class TableWriterTest : public ::testing::Test {
 protected:
  std::unique_ptr<TableWriter> Create(const Schema& schema, const std::string& name = "t") {
    absl::StatusOr<std::unique_ptr<TableWriter>> w =
        TableWriter::Create(dir_ + "/" + name, schema, TableFormat::kCsv);
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? *std::move(w) : nullptr;
  }

  // Writes one row of one double column and returns its text.
  std::string DoubleText(double value) {
    auto w = Create({{"x", ColumnType::kDouble}}, "d");
    w->Double(value);
    w->EndRow();
    EXPECT_TRUE(w->Finish().ok());
    const std::string text = ReadFile(dir_ + "/d.csv");
    const std::string body = text.substr(text.find('\n') + 1);
    return body.substr(0, body.size() - 1);  // drop the final newline
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot read " << path;
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  std::vector<std::string> FilesInDir() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  TempDir temp_{"table_writer_test"};
  const std::string dir_ = temp_.path();
};

TEST_F(TableWriterTest, HeaderIsWrittenFromTheSchema) {
  auto w = Create({{"user_id", ColumnType::kText},
                   {"n", ColumnType::kInt},
                   {"avg", ColumnType::kDouble},
                   {"at", ColumnType::kTime}});
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), "user_id,n,avg,at\n");
}

TEST_F(TableWriterTest, FinalPathGetsTheCsvExtension) {
  auto w = Create({{"a", ColumnType::kText}}, "sessions");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->final_path(), dir_ + "/sessions.csv");
  EXPECT_EQ(TableFormatExtension(TableFormat::kCsv), "csv");
  EXPECT_EQ(TableFormatExtension(TableFormat::kParquet), "parquet");
}

TEST_F(TableWriterTest, RowsOfEveryColumnType) {
  auto w = Create({{"user_id", ColumnType::kText},
                   {"n", ColumnType::kInt},
                   {"avg", ColumnType::kDouble},
                   {"at", ColumnType::kTime}});
  ASSERT_NE(w, nullptr);
  w->Text("u1");
  w->Int(3);
  w->Double(2.5);
  w->Time(EventTime::FromSeconds(1706745600));
  w->EndRow();
  w->Text("u2");
  w->Int(-7);
  w->NullableDouble(std::nullopt);
  w->Time(EventTime{1706745600LL * kMicrosPerSecond + 250000});
  w->EndRow();
  EXPECT_EQ(w->rows(), 2);
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"),
            "user_id,n,avg,at\n"
            "u1,3,2.5,2024-02-01 00:00:00\n"
            "u2,-7,,2024-02-01 00:00:00.25\n");
}

TEST_F(TableWriterTest, RowsDoesNotCountTheHeader) {
  auto w = Create({{"a", ColumnType::kText}});
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->rows(), 0);
  w->Text("x");
  w->EndRow();
  EXPECT_EQ(w->rows(), 1);
}

TEST_F(TableWriterTest, TextWithCommaIsQuoted) {
  auto w = Create({{"a", ColumnType::kText}, {"b", ColumnType::kText}});
  w->Text("x,y");
  w->Text("plain");
  w->EndRow();
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), "a,b\n\"x,y\",plain\n");
}

TEST_F(TableWriterTest, TextWithQuoteIsQuotedAndDoubled) {
  auto w = Create({{"a", ColumnType::kText}});
  w->Text("say \"hi\"");
  w->EndRow();
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), "a\n\"say \"\"hi\"\"\"\n");
}

TEST_F(TableWriterTest, TextWithNewlineIsQuoted) {
  auto w = Create({{"a", ColumnType::kText}});
  w->Text("two\nlines");
  w->EndRow();
  w->Text("cr\rhere");
  w->EndRow();
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), "a\n\"two\nlines\"\n\"cr\rhere\"\n");
}

TEST_F(TableWriterTest, EmptyTextIsAnEmptyField) {
  auto w = Create({{"a", ColumnType::kText}, {"b", ColumnType::kText}});
  w->Text("");
  w->Text("");
  w->EndRow();
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), "a,b\n,\n");
}

TEST_F(TableWriterTest, HeaderNamesAreQuotedWhenNeeded) {
  auto w = Create({{"a,b", ColumnType::kText}});
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), "\"a,b\"\n");
}

TEST_F(TableWriterTest, DoubleIsShortestRoundTrip) {
  EXPECT_EQ(DoubleText(0.1), "0.1");
  EXPECT_EQ(DoubleText(36.666666666666664), "36.666666666666664");
  EXPECT_EQ(std::strtod(DoubleText(1e-7).c_str(), nullptr), 1e-7);
  EXPECT_EQ(DoubleText(1e-7), "1e-07");
}

TEST_F(TableWriterTest, DoubleComputedValuesRoundTrip) {
  const double values[] = {110.0 / 3.0, 0.1 + 0.2, 1.0 / 7.0, 123456789.125, 5e-324, 1.7e308};
  for (double v : values) {
    const std::string text = DoubleText(v);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
  }
  EXPECT_EQ(DoubleText(0.1 + 0.2), "0.30000000000000004");
}

TEST_F(TableWriterTest, WholeDoublesHaveNoFraction) {
  EXPECT_EQ(DoubleText(2.0), "2");
  EXPECT_EQ(DoubleText(0.0), "0");
  EXPECT_EQ(DoubleText(-3.0), "-3");
}

TEST_F(TableWriterTest, NonFiniteDoubleIsEmpty) {
  EXPECT_EQ(DoubleText(std::numeric_limits<double>::quiet_NaN()), "");
  EXPECT_EQ(DoubleText(std::numeric_limits<double>::infinity()), "");
}

TEST_F(TableWriterTest, NullableDoubleWithValueIsTheDouble) {
  auto w = Create({{"a", ColumnType::kDouble}, {"b", ColumnType::kDouble}});
  w->NullableDouble(0.1);
  w->NullableDouble(std::nullopt);
  w->EndRow();
  w->NullableDouble(std::nullopt);
  w->NullableDouble(0.0);
  w->EndRow();
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), "a,b\n0.1,\n,0\n");
}

TEST_F(TableWriterTest, NullIsAnEmptyField) {
  auto w = Create({{"a", ColumnType::kInt}, {"b", ColumnType::kInt}, {"c", ColumnType::kInt}});
  w->Null();
  w->Int(1);
  w->Null();
  w->EndRow();
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), "a,b,c\n,1,\n");
}

TEST_F(TableWriterTest, IntExtremes) {
  auto w = Create({{"a", ColumnType::kInt}, {"b", ColumnType::kInt}});
  w->Int(std::numeric_limits<int64_t>::min());
  w->Int(std::numeric_limits<int64_t>::max());
  w->EndRow();
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), "a,b\n-9223372036854775808,9223372036854775807\n");
}

TEST_F(TableWriterTest, TimeFormats) {
  auto w = Create({{"at", ColumnType::kTime}});
  w->Time(EventTime{0});
  w->EndRow();
  w->Time(EventTime{-1});
  w->EndRow();
  w->Time(EventTime{1706745600LL * kMicrosPerSecond + 123});
  w->EndRow();
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"),
            "at\n"
            "1970-01-01 00:00:00\n"
            "1969-12-31 23:59:59.999999\n"
            "2024-02-01 00:00:00.000123\n");
}

TEST_F(TableWriterTest, FinalFileAppearsOnlyAfterFinish) {
  auto w = Create({{"a", ColumnType::kText}});
  ASSERT_NE(w, nullptr);
  w->Text("x");
  w->EndRow();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/t.csv"));
  // Meanwhile the rows go to a hidden temporary file in the same folder.
  const std::vector<std::string> during = FilesInDir();
  ASSERT_EQ(during.size(), 1u);
  EXPECT_EQ(during[0][0], '.');
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_THAT(FilesInDir(), ElementsAre("t.csv"));
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), "a\nx\n");
}

TEST_F(TableWriterTest, FinishReplacesAnExistingTable) {
  std::ofstream(dir_ + "/t.csv") << "old contents\n";
  auto w = Create({{"a", ColumnType::kText}});
  w->Text("new");
  w->EndRow();
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), "old contents\n");
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), "a\nnew\n");
}

TEST_F(TableWriterTest, DestroyedWithoutFinishLeavesNothing) {
  {
    auto w = Create({{"a", ColumnType::kText}});
    ASSERT_NE(w, nullptr);
    w->Text("x");
    w->EndRow();
  }
  EXPECT_THAT(FilesInDir(), IsEmpty());
}

TEST_F(TableWriterTest, DestroyedWithoutFinishKeepsAnExistingTable) {
  std::ofstream(dir_ + "/t.csv") << "old contents\n";
  {
    auto w = Create({{"a", ColumnType::kText}});
    w->Text("x");
    w->EndRow();
  }
  EXPECT_THAT(FilesInDir(), ElementsAre("t.csv"));
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), "old contents\n");
}

TEST_F(TableWriterTest, DestroyedAfterFinishKeepsTheTable) {
  {
    auto w = Create({{"a", ColumnType::kText}});
    w->Text("x");
    w->EndRow();
    ASSERT_TRUE(w->Finish().ok());
  }
  EXPECT_THAT(FilesInDir(), ElementsAre("t.csv"));
}

TEST_F(TableWriterTest, FinishTwiceIsAnError) {
  auto w = Create({{"a", ColumnType::kText}});
  ASSERT_TRUE(w->Finish().ok());
  const absl::Status second = w->Finish();
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(FilesInDir(), ElementsAre("t.csv"));
}

TEST_F(TableWriterTest, LargeTableSpansManyBufferFlushes) {
  auto w = Create({{"i", ColumnType::kInt}, {"s", ColumnType::kText}});
  const std::string padding(100, 'p');
  constexpr int kRows = 50'000;  // ~5 MB, several 1 MiB buffers
  for (int i = 0; i < kRows; ++i) {
    w->Int(i);
    w->Text(padding);
    w->EndRow();
  }
  ASSERT_TRUE(w->Finish().ok());
  std::ifstream in(dir_ + "/t.csv");
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "i,s");
  int n = 0;
  while (std::getline(in, line)) {
    ASSERT_EQ(line, std::to_string(n) + "," + padding) << n;
    ++n;
  }
  EXPECT_EQ(n, kRows);
}

// Writes rows [begin, end) of a two-column table: the row number and `padding`.
void WriteNumberedRows(int begin, int end, const std::string& padding, TableWriter* w) {
  for (int i = begin; i < end; ++i) {
    w->Int(i);
    w->Text(padding);
    w->EndRow();
  }
}

TEST_F(TableWriterTest, AppendedFragmentsFollowTheTableRowsInAppendOrder) {
  auto w = Create({{"i", ColumnType::kInt}, {"s", ColumnType::kText}});
  WriteNumberedRows(0, 2, "a", w.get());
  std::unique_ptr<TableWriter> fragment = w->NewFragment();
  WriteNumberedRows(2, 4, "b,c", fragment.get());
  w->Append(fragment.get());
  EXPECT_EQ(fragment->rows(), 0);  // emptied for its next part
  WriteNumberedRows(4, 5, "d", fragment.get());
  w->Append(fragment.get());
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), "i,s\n0,a\n1,a\n2,\"b,c\"\n3,\"b,c\"\n4,d\n");
  EXPECT_EQ(w->rows(), 5);
}

TEST_F(TableWriterTest, FragmentLargerThanTheBufferGrowsAndIsWrittenWhole) {
  auto w = Create({{"i", ColumnType::kInt}, {"s", ColumnType::kText}});
  const std::string padding(100, 'p');
  WriteNumberedRows(0, 10, padding, w.get());  // the table's buffer is not empty
  std::unique_ptr<TableWriter> fragment = w->NewFragment();
  constexpr int kRows = 30'000;  // ~3 MB: more than one buffer
  WriteNumberedRows(10, kRows, padding, fragment.get());
  w->Append(fragment.get());
  ASSERT_TRUE(w->Finish().ok());
  std::string expected = "i,s\n";
  for (int i = 0; i < kRows; ++i) expected += std::to_string(i) + "," + padding + "\n";
  EXPECT_EQ(ReadFile(dir_ + "/t.csv"), expected);
}

TEST_F(TableWriterTest, FragmentCannotBeClosedOrCommitted) {
  auto w = Create({{"a", ColumnType::kText}});
  std::unique_ptr<TableWriter> fragment = w->NewFragment();
  EXPECT_EQ(fragment->Finish().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(fragment->Commit().code(), absl::StatusCode::kFailedPrecondition);
  fragment.reset();
  EXPECT_THAT(FilesInDir(), ElementsAre(".t.csv.tmp-" + std::to_string(::getpid())));
}

TEST_F(TableWriterTest, TablesWrittenInPartsOnThreadsEqualTheSameWrittenInOrder) {
  constexpr int kParts = 37;
  constexpr int kRowsPerPart = 1'000;
  const auto write_part = [](size_t part, TableWriter* out) {
    // Parts of uneven cost, so that threads finish them out of order.
    const int begin = static_cast<int>(part) * kRowsPerPart;
    WriteNumberedRows(begin, begin + kRowsPerPart, std::string(part % 5 == 0 ? 300 : 3, 'x'), out);
  };
  const Schema schema = {{"i", ColumnType::kInt}, {"s", ColumnType::kText}};
  auto sequential = Create(schema, "sequential");
  for (size_t p = 0; p < kParts; ++p) write_part(p, sequential.get());
  ASSERT_TRUE(sequential->Finish().ok());
  for (int threads : {1, 2, 4}) {
    auto a = Create(schema, "a");
    auto b = Create(schema, "b");
    const std::vector<TableInParts> tables = {{a.get(), kParts, write_part},
                                              {b.get(), kParts / 2, write_part}};
    WriteTablesInParts(tables, threads);
    ASSERT_TRUE(a->Finish().ok());
    ASSERT_TRUE(b->Finish().ok());
    const std::string expected = ReadFile(dir_ + "/sequential.csv");
    EXPECT_EQ(ReadFile(dir_ + "/a.csv"), expected) << threads << " threads";
    EXPECT_EQ(a->rows(), kParts * kRowsPerPart);
    const std::string b_text = ReadFile(dir_ + "/b.csv");
    EXPECT_EQ(b_text, expected.substr(0, b_text.size())) << threads << " threads";
    EXPECT_EQ(b->rows(), kParts / 2 * kRowsPerPart);
  }
}

TEST_F(TableWriterTest, MissingFolderIsAnErrorFromCreate) {
  const std::string path = dir_ + "/no/such/folder/t";
  absl::StatusOr<std::unique_ptr<TableWriter>> w =
      TableWriter::Create(path, {{"a", ColumnType::kText}}, TableFormat::kCsv);
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(std::string(w.status().message()), HasSubstr(dir_ + "/no/such/folder/"));
  EXPECT_THAT(std::string(w.status().message()), HasSubstr("cannot create"));
}

TEST_F(TableWriterTest, FileInPlaceOfFolderIsAnErrorFromCreate) {
  std::ofstream(dir_ + "/plain_file") << "x";
  absl::StatusOr<std::unique_ptr<TableWriter>> w =
      TableWriter::Create(dir_ + "/plain_file/t", {{"a", ColumnType::kText}}, TableFormat::kCsv);
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(std::string(w.status().message()), HasSubstr("plain_file"));
}

TEST_F(TableWriterTest, ReadOnlyFolderIsAnErrorFromCreate) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into read-only folders";
  const std::string folder = dir_ + "/readonly";
  ASSERT_EQ(::mkdir(folder.c_str(), 0500), 0);
  absl::StatusOr<std::unique_ptr<TableWriter>> w =
      TableWriter::Create(folder + "/t", {{"a", ColumnType::kText}}, TableFormat::kCsv);
  ::chmod(folder.c_str(), 0700);
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(std::string(w.status().message()), HasSubstr(folder));
}

}  // namespace
}  // namespace streamrec
