// Parquet through DuckDB: ConvertCsvToParquet writes typed files, OpenParquetSource
// reads any Parquet file back as text rows.

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/test_temp_dir.h"
#include "common/time.h"
#include "duckdb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/row_source.h"
#include "io/table_writer.h"

namespace streamrec {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A row as owned strings.
using Fields = std::vector<std::string>;

class ParquetTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string WriteFile(const std::string& name, const std::string& contents) const {
    const std::string path = Path(name);
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  // Converts `csv` (file contents) with `schema` and returns the Parquet path.
  std::string Convert(const std::string& csv, const Schema& schema,
                      const std::string& name = "t.parquet") const {
    const std::string csv_path = WriteFile(name + ".csv", csv);
    const std::string parquet_path = Path(name);
    absl::Status s = ConvertCsvToParquet(csv_path, schema, parquet_path);
    EXPECT_TRUE(s.ok()) << s;
    return parquet_path;
  }

  // Runs SQL in a scratch DuckDB, to make Parquet files ConvertCsvToParquet never writes.
  static void RunDuckDb(const std::string& sql) {
    duckdb_database db = nullptr;
    duckdb_connection con = nullptr;
    ASSERT_EQ(duckdb_open(nullptr, &db), DuckDBSuccess);
    ASSERT_EQ(duckdb_connect(db, &con), DuckDBSuccess);
    duckdb_result result;
    const duckdb_state state = duckdb_query(con, sql.c_str(), &result);
    EXPECT_EQ(state, DuckDBSuccess) << duckdb_result_error(&result);
    duckdb_destroy_result(&result);
    duckdb_disconnect(&con);
    duckdb_close(&db);
  }

  TempDir temp_{"parquet_test"};
  const std::string dir_ = temp_.path();
};

// Reads every row of `source`; fails the test on an error or a kBad row.
std::vector<Fields> ReadAll(RowSource& source, std::vector<int64_t>* lines = nullptr) {
  std::vector<Fields> rows;
  Row row;
  while (true) {
    absl::StatusOr<RowStatus> status = source.Next(&row);
    EXPECT_TRUE(status.ok()) << status.status();
    if (!status.ok() || *status == RowStatus::kEnd) break;
    EXPECT_EQ(*status, RowStatus::kRow) << source.bad_reason();
    EXPECT_EQ(row.fields.size(), source.columns().size());
    rows.emplace_back(row.fields.begin(), row.fields.end());
    if (lines != nullptr) lines->push_back(row.line);
  }
  return rows;
}

std::unique_ptr<RowSource> OpenOrDie(const std::string& path) {
  absl::StatusOr<std::unique_ptr<RowSource>> source = OpenParquetSource(path);
  EXPECT_TRUE(source.ok()) << source.status();
  return source.ok() ? *std::move(source) : nullptr;
}

double ParseDouble(const std::string& text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  EXPECT_TRUE(ec == std::errc() && end == text.data() + text.size()) << text;
  return value;
}

int64_t ParseInt(const std::string& text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  EXPECT_TRUE(ec == std::errc() && end == text.data() + text.size()) << text;
  return value;
}

EventTime ParseTimeOrDie(const std::string& text) {
  absl::StatusOr<EventTime> t = ParseTime(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status();
  return t.value_or(EventTime{});
}

const Schema kMixedSchema = {{"user_id", ColumnType::kText},
                             {"count", ColumnType::kInt},
                             {"score", ColumnType::kDouble},
                             {"at", ColumnType::kTime}};

TEST_F(ParquetTest, RoundTripKeepsColumnsAndValues) {
  const std::string parquet = Convert(
      "user_id,count,score,at\n"
      "u1,3,2.5,2024-02-01 10:00:00\n"
      "u2,-7,0.1,2024-02-29 23:59:59\n",
      kMixedSchema);
  std::unique_ptr<RowSource> source = OpenOrDie(parquet);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("user_id", "count", "score", "at"));
  EXPECT_THAT(ReadAll(*source), ElementsAre(ElementsAre("u1", "3", "2.5", "2024-02-01 10:00:00"),
                                            ElementsAre("u2", "-7", "0.1", "2024-02-29 23:59:59")));
}

TEST_F(ParquetTest, NullCellsBecomeEmptyFields) {
  const std::string parquet = Convert(
      "user_id,count,score,at\n"
      ",,,\n"
      "u1,,1.5,\n",
      kMixedSchema);
  std::unique_ptr<RowSource> source = OpenOrDie(parquet);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(ReadAll(*source),
              ElementsAre(ElementsAre("", "", "", ""), ElementsAre("u1", "", "1.5", "")));
}

TEST_F(ParquetTest, TimestampColumnsReadAsParseableText) {
  const std::string parquet = Convert(
      "at\n"
      "2024-02-01 10:00:00\n"
      "2024-02-01 10:00:00.25\n"
      "1999-12-31 23:59:59.000001\n",
      {{"at", ColumnType::kTime}});
  std::unique_ptr<RowSource> source = OpenOrDie(parquet);
  ASSERT_NE(source, nullptr);
  std::vector<Fields> rows = ReadAll(*source);
  ASSERT_EQ(rows.size(), 3u);
  const EventTime base = ParseTimeOrDie("2024-02-01T10:00:00Z");
  EXPECT_EQ(ParseTimeOrDie(rows[0][0]), base);
  EXPECT_EQ(ParseTimeOrDie(rows[1][0]), EventTime{base.micros + 250'000});
  EXPECT_EQ(rows[2][0], "1999-12-31 23:59:59.000001");
  EXPECT_EQ(ParseTimeOrDie(rows[2][0]), EventTime{ParseTimeOrDie("2000-01-01").micros - 999'999});
}

TEST_F(ParquetTest, IntsAndDoublesReadBackExactly) {
  const std::vector<int64_t> ints = {0, -1, 9007199254740993, INT64_MIN, INT64_MAX};
  const std::vector<double> doubles = {0.1, -2.5e-300, 1e20, 1.0 / 3, 123456789.125};
  std::string csv = "i,d\n";
  for (size_t k = 0; k < ints.size(); ++k) {
    char buf[32];
    absl::StrAppend(&csv, ints[k], ",",
                    std::string(buf, std::to_chars(buf, buf + sizeof buf, doubles[k]).ptr - buf),
                    "\n");
  }
  const std::string parquet = Convert(csv, {{"i", ColumnType::kInt}, {"d", ColumnType::kDouble}});
  std::unique_ptr<RowSource> source = OpenOrDie(parquet);
  ASSERT_NE(source, nullptr);
  std::vector<Fields> rows = ReadAll(*source);
  ASSERT_EQ(rows.size(), ints.size());
  for (size_t k = 0; k < ints.size(); ++k) {
    EXPECT_EQ(ParseInt(rows[k][0]), ints[k]);
    EXPECT_EQ(ParseDouble(rows[k][1]), doubles[k]) << rows[k][1];
  }
}

TEST_F(ParquetTest, QuotedFieldsKeepDelimitersQuotesAndLineBreaks) {
  const std::string parquet = Convert(
      "name,\"odd, \"\"name\"\"\"\n"
      "\"a,b\",\"say \"\"hi\"\"\"\n"
      "\"two\nlines\",\"a string longer than twelve bytes, stored out of line\"\n",
      {{"name", ColumnType::kText}, {"odd, \"name\"", ColumnType::kText}});
  std::unique_ptr<RowSource> source = OpenOrDie(parquet);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("name", "odd, \"name\""));
  EXPECT_THAT(ReadAll(*source),
              ElementsAre(ElementsAre("a,b", "say \"hi\""),
                          ElementsAre("two\nlines",
                                      "a string longer than twelve bytes, stored out of line")));
}

TEST_F(ParquetTest, TableWriterParquetReadsBack) {
  absl::StatusOr<std::unique_ptr<TableWriter>> writer =
      TableWriter::Create(Path("table"), kMixedSchema, TableFormat::kParquet);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const EventTime at = ParseTimeOrDie("2024-02-01 10:00:00.5");
  (*writer)->Text("u,1");
  (*writer)->Int(42);
  (*writer)->NullableDouble(std::nullopt);
  (*writer)->Time(at);
  (*writer)->EndRow();
  ASSERT_TRUE((*writer)->Finish().ok());

  std::unique_ptr<RowSource> source = OpenOrDie((*writer)->final_path());
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("user_id", "count", "score", "at"));
  std::vector<Fields> rows = ReadAll(*source);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0], ElementsAre("u,1", "42", "", "2024-02-01 10:00:00.5"));
  EXPECT_EQ(ParseTimeOrDie(rows[0][3]), at);
}

TEST_F(ParquetTest, HeaderOnlyCsvGivesColumnsAndNoRows) {
  const std::string parquet = Convert("user_id,count,score,at\n", kMixedSchema);
  std::unique_ptr<RowSource> source = OpenOrDie(parquet);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("user_id", "count", "score", "at"));
  EXPECT_TRUE(ReadAll(*source).empty());
  Row row;
  EXPECT_EQ(source->Next(&row).value_or(RowStatus::kBad), RowStatus::kEnd);  // and stays ended
}

TEST_F(ParquetTest, RowsStreamAcrossChunksInOrderWithRowNumbers) {
  constexpr int kRows = 10'000;  // several DuckDB chunks of 2048 rows
  std::string csv = "n,label\n";
  for (int i = 0; i < kRows; ++i) {
    absl::StrAppend(&csv, i, ",", i % 7 == 0 ? "" : absl::StrCat("label-number-", i), "\n");
  }
  const std::string parquet = Convert(csv, {{"n", ColumnType::kInt}, {"label", ColumnType::kText}});
  std::unique_ptr<RowSource> source = OpenOrDie(parquet);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->bytes_total(), static_cast<int64_t>(std::filesystem::file_size(parquet)));
  EXPECT_EQ(source->bytes_read(), 0);
  std::vector<int64_t> lines;
  std::vector<Fields> rows = ReadAll(*source, &lines);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kRows));
  for (int i = 0; i < kRows; ++i) {
    ASSERT_EQ(rows[i][0], absl::StrCat(i));
    ASSERT_EQ(rows[i][1], i % 7 == 0 ? "" : absl::StrCat("label-number-", i));
    ASSERT_EQ(lines[i], i + 1);
  }
  EXPECT_EQ(source->bytes_read(), source->bytes_total());
}

TEST_F(ParquetTest, PathWithSingleQuoteWorks) {
  const std::string parquet =
      Convert("a\nx\n", {{"it's", ColumnType::kText}}, "it's; DROP.parquet");
  ASSERT_TRUE(std::filesystem::exists(parquet));
  std::unique_ptr<RowSource> source = OpenOrDie(parquet);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("it's"));
  EXPECT_THAT(ReadAll(*source), ElementsAre(ElementsAre("x")));
}

TEST_F(ParquetTest, MissingFileIsAClearError) {
  const std::string path = Path("absent.parquet");
  absl::StatusOr<std::unique_ptr<RowSource>> source = OpenParquetSource(path);
  ASSERT_FALSE(source.ok());
  EXPECT_TRUE(absl::IsNotFound(source.status())) << source.status();
  EXPECT_THAT(source.status().message(), HasSubstr(path));
  EXPECT_THAT(source.status().message(), HasSubstr("No such file"));
}

TEST_F(ParquetTest, FileThatIsNotParquetIsAClearError) {
  const std::string path = WriteFile("fake.parquet", "user_id,count\nu1,3\n");
  absl::StatusOr<std::unique_ptr<RowSource>> source = OpenParquetSource(path);
  ASSERT_FALSE(source.ok());
  EXPECT_THAT(source.status().message(), HasSubstr("cannot read Parquet file " + path + ": "));
  EXPECT_THAT(source.status().message(), HasSubstr("magic bytes"));  // DuckDB's reason
  EXPECT_THAT(source.status().message(), ::testing::Not(HasSubstr("LINE 1")));
}

TEST_F(ParquetTest, EmptyFileIsAClearError) {
  const std::string path = WriteFile("empty.parquet", "");
  absl::StatusOr<std::unique_ptr<RowSource>> source = OpenParquetSource(path);
  ASSERT_FALSE(source.ok());
  EXPECT_THAT(source.status().message(), HasSubstr(path));
}

TEST_F(ParquetTest, FolderIsNotReadAsAParquetFile) {
  Convert("a\nx\n", {{"a", ColumnType::kText}}, "inside.parquet");
  absl::StatusOr<std::unique_ptr<RowSource>> source = OpenParquetSource(dir_);
  ASSERT_FALSE(source.ok());
  EXPECT_THAT(source.status().message(), HasSubstr("not a regular file"));
}

TEST_F(ParquetTest, CorruptDataPageIsAnErrorNotAShortRead) {
  // Twenty row groups of random-looking text; the garbage lands in one of the last ones.
  // DuckDB scans ahead on its own threads, so the error may come from the open or from
  // a later Next(); either way it names the file, and the rows never just run out.
  const std::string parquet = Path("corrupt.parquet");
  RunDuckDb(absl::StrCat(
      "COPY (SELECT md5(i::VARCHAR) || md5((i * 7)::VARCHAR) AS s FROM range(200000) t(i)) TO '",
      parquet, "' (FORMAT parquet, ROW_GROUP_SIZE 10000)"));
  const auto size = std::filesystem::file_size(parquet);
  {
    std::fstream f(parquet, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size * 9 / 10));
    const std::string garbage(4096, '\xff');
    f.write(garbage.data(), garbage.size());
  }
  absl::StatusOr<std::unique_ptr<RowSource>> source = OpenParquetSource(parquet);
  if (!source.ok()) {
    EXPECT_THAT(source.status().message(), HasSubstr("cannot read Parquet file " + parquet));
    return;
  }
  Row row;
  absl::StatusOr<RowStatus> status;
  int64_t rows = 0;
  while ((status = (*source)->Next(&row)).ok() && *status == RowStatus::kRow) ++rows;
  ASSERT_FALSE(status.ok()) << "read " << rows << " rows and ended quietly";
  EXPECT_TRUE(absl::IsDataLoss(status.status())) << status.status();
  EXPECT_THAT(status.status().message(), HasSubstr("cannot read Parquet file " + parquet));
  EXPECT_LT(rows, 200000);
}

TEST_F(ParquetTest, TimestampWithTimeZoneReadsAsUtcInstant) {
  const std::string parquet = Path("tz.parquet");
  RunDuckDb(absl::StrCat(
      "COPY (SELECT TIMESTAMPTZ '2024-02-01 12:00:00+02' AS at, DATE '2024-03-01' AS day, "
      "42::INTEGER AS small, 1.5::FLOAT AS f) TO '",
      parquet, "' (FORMAT parquet)"));
  std::unique_ptr<RowSource> source = OpenOrDie(parquet);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("at", "day", "small", "f"));
  std::vector<Fields> rows = ReadAll(*source);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(ParseTimeOrDie(rows[0][0]), ParseTimeOrDie("2024-02-01 10:00:00"));
  EXPECT_EQ(ParseTimeOrDie(rows[0][1]), ParseTimeOrDie("2024-03-01 00:00:00"));
  EXPECT_EQ(rows[0][2], "42");
  EXPECT_EQ(ParseDouble(rows[0][3]), 1.5);
}

TEST_F(ParquetTest, ConvertingAMissingCsvNamesIt) {
  const std::string csv = Path("absent.csv");
  const std::string parquet = Path("out.parquet");
  absl::Status s = ConvertCsvToParquet(csv, kMixedSchema, parquet);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(csv));
  EXPECT_FALSE(std::filesystem::exists(parquet));
}

TEST_F(ParquetTest, ValueThatDoesNotFitItsColumnFailsTheConversion) {
  const std::string csv = WriteFile("bad.csv", "n\n1\nnot-a-number\n");
  const std::string parquet = Path("bad.parquet");
  absl::Status s = ConvertCsvToParquet(csv, {{"n", ColumnType::kInt}}, parquet);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr(csv));
  EXPECT_THAT(s.message(), HasSubstr("not-a-number"));
  EXPECT_FALSE(std::filesystem::exists(parquet));
}

TEST_F(ParquetTest, RowWithTooManyFieldsFailsTheConversion) {
  const std::string csv = WriteFile("wide.csv", "a,b\n1,2,3\n");
  absl::Status s = ConvertCsvToParquet(csv, {{"a", ColumnType::kInt}, {"b", ColumnType::kInt}},
                                       Path("wide.parquet"));
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(csv));
}

TEST_F(ParquetTest, EmptySchemaIsRefused) {
  const std::string csv = WriteFile("none.csv", "\n");
  absl::Status s = ConvertCsvToParquet(csv, {}, Path("none.parquet"));
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
}

}  // namespace
}  // namespace streamrec
