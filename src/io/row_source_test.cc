// OpenRowSource: CSV with and without a header, JSON Lines, and the errors for files
// that cannot be read at all.

#include "io/row_source.h"

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
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
using ::testing::StartsWith;

// One call to Next(), with the fields copied out.
struct Step {
  RowStatus status;
  std::vector<std::string> fields;
  int64_t line = 0;
  std::string bad_reason;
};

// Every step up to and including kEnd.
std::vector<Step> ReadAll(RowSource& source) {
  std::vector<Step> steps;
  for (int guard = 0; guard < 1000; ++guard) {
    Row row;
    absl::StatusOr<RowStatus> s = source.Next(&row);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) break;
    Step step;
    step.status = *s;
    step.line = row.line;
    if (*s == RowStatus::kRow) step.fields.assign(row.fields.begin(), row.fields.end());
    if (*s == RowStatus::kBad) step.bad_reason = source.bad_reason();
    steps.push_back(std::move(step));
    if (*s == RowStatus::kEnd) break;
  }
  return steps;
}

class RowSourceTest : public ::testing::Test {
 protected:
  std::string WriteFile(const std::string& name, const std::string& contents) const {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  std::unique_ptr<RowSource> Open(const std::string& name, const std::string& contents,
                                  const CsvOptions& csv = {},
                                  const std::vector<std::string>& wanted = {}) {
    absl::StatusOr<std::unique_ptr<RowSource>> source =
        OpenRowSource(WriteFile(name, contents), csv, wanted);
    EXPECT_TRUE(source.ok()) << source.status();
    return source.ok() ? *std::move(source) : nullptr;
  }

  TempDir temp_{"row_source_test"};
  const std::string dir_ = temp_.path();
};

using Fields = std::vector<std::string>;

// ---------------------------------------------------------------------------
// CSV

TEST_F(RowSourceTest, CsvWithHeader) {
  auto source = Open("e.csv", "user_id,item_id\nu1,i1\nu2,i2\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("user_id", "item_id"));
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_THAT(steps[0].fields, ElementsAre("u1", "i1"));
  EXPECT_EQ(steps[0].line, 2);
  EXPECT_THAT(steps[1].fields, ElementsAre("u2", "i2"));
  EXPECT_EQ(steps[1].line, 3);
  EXPECT_EQ(steps[2].status, RowStatus::kEnd);
}

TEST_F(RowSourceTest, CsvHeaderNamesAreTrimmed) {
  auto source = Open("e.csv", " user_id , item_id\r\nu,i\r\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("user_id", "item_id"));
}

TEST_F(RowSourceTest, CsvByteOrderMarkIsDroppedFromTheHeader) {
  auto source = Open("e.csv", "\xEF\xBB\xBFuser_id,item_id\nu,i\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("user_id", "item_id"));
}

TEST_F(RowSourceTest, CsvHeaderOnlyHasNoRows) {
  auto source = Open("e.csv", "a,b\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("a", "b"));
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].status, RowStatus::kEnd);
}

TEST_F(RowSourceTest, CsvEmptyFileWithHeaderIsAnError) {
  absl::StatusOr<std::unique_ptr<RowSource>> source =
      OpenRowSource(WriteFile("empty.csv", ""), CsvOptions{}, {});
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("empty.csv"));
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("no header"));
}

TEST_F(RowSourceTest, CsvBadHeaderIsAnError) {
  absl::StatusOr<std::unique_ptr<RowSource>> source =
      OpenRowSource(WriteFile("bad.csv", "a,\"b\nc,d\n"), CsvOptions{}, {});
  ASSERT_FALSE(source.ok());
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("bad.csv:1"));
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("bad header"));
}

TEST_F(RowSourceTest, CsvWithoutHeaderNamesColumnsByPosition) {
  CsvOptions options;
  options.header = false;
  auto source = Open("e.csv", "u1,i1,view\nu2,i2,click\n", options);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("column0", "column1", "column2"));
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_THAT(steps[0].fields, ElementsAre("u1", "i1", "view"));  // the first line is data
  EXPECT_EQ(steps[0].line, 1);
  EXPECT_THAT(steps[1].fields, ElementsAre("u2", "i2", "click"));
  EXPECT_EQ(steps[1].line, 2);
}

TEST_F(RowSourceTest, CsvWithoutHeaderFirstRowWithEscapedQuotesSurvives) {
  CsvOptions options;
  options.header = false;
  auto source = Open("e.csv", "\"a\"\"1\",b\nc,d\n", options);
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_THAT(steps[0].fields, ElementsAre("a\"1", "b"));
  EXPECT_THAT(steps[1].fields, ElementsAre("c", "d"));
}

TEST_F(RowSourceTest, CsvWithoutHeaderEmptyFileHasNoColumnsAndNoRows) {
  CsvOptions options;
  options.header = false;
  auto source = Open("e.csv", "", options);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), IsEmpty());
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].status, RowStatus::kEnd);
}

TEST_F(RowSourceTest, CsvBadRowIsReportedAndReadingGoesOn) {
  auto source = Open("e.csv", "a,b\n1,2\nx\"y,z\n3,4\n");
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[1].status, RowStatus::kBad);
  EXPECT_EQ(steps[1].line, 3);
  EXPECT_EQ(steps[1].bad_reason, "a quote inside an unquoted field");
  EXPECT_THAT(steps[2].fields, ElementsAre("3", "4"));
  EXPECT_EQ(steps[2].line, 4);
}

TEST_F(RowSourceTest, CsvLineNumbersAfterBlankLinesAndQuotedBreaks) {
  auto source = Open("e.csv", "a,b\n\n\"x\ny\",1\n\n2,3\n");
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].line, 3);
  EXPECT_EQ(steps[1].line, 6);
}

TEST_F(RowSourceTest, CsvCustomDelimiter) {
  CsvOptions options;
  options.delimiter = ';';
  auto source = Open("e.csv", "a;b\n1,5;2\n", options);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("a", "b"));
  const std::vector<Step> steps = ReadAll(*source);
  EXPECT_THAT(steps[0].fields, ElementsAre("1,5", "2"));
}

TEST_F(RowSourceTest, TsvWithTabDelimiter) {
  CsvOptions options;
  options.delimiter = '\t';
  auto source = Open("e.tsv", "a\tb\n1\t2\n", options);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("a", "b"));
}

TEST_F(RowSourceTest, MovieLensDataFileIsDelimitedText) {
  CsvOptions options;
  options.delimiter = '\t';
  options.header = false;
  auto source = Open("u.data", "196\t242\t3\t881250949\n", options);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("column0", "column1", "column2", "column3"));
}

TEST_F(RowSourceTest, TxtAndNoExtensionAreCsv) {
  auto txt = Open("e.txt", "a,b\n1,2\n");
  ASSERT_NE(txt, nullptr);
  EXPECT_THAT(txt->columns(), ElementsAre("a", "b"));
  auto bare = Open("events", "a,b\n1,2\n");
  ASSERT_NE(bare, nullptr);
  EXPECT_THAT(bare->columns(), ElementsAre("a", "b"));
}

TEST_F(RowSourceTest, ExtensionIsCaseInsensitive) {
  auto source = Open("E.CSV", "a,b\n1,2\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("a", "b"));
}

TEST_F(RowSourceTest, DotInFolderNameIsNotAnExtension) {
  std::filesystem::create_directory(dir_ + "/v1.2");
  auto source = Open("v1.2/events", "a,b\n1,2\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("a", "b"));
}

TEST_F(RowSourceTest, CsvBytesReadReachesTotal) {
  const std::string contents = "a,b\n1,2\n";
  auto source = Open("e.csv", contents);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->bytes_total(), static_cast<int64_t>(contents.size()));
  ReadAll(*source);
  EXPECT_EQ(source->bytes_read(), source->bytes_total());
}

// With header = false the first line is data: a malformed first line is a bad row
// (reported, reading goes on), not an error opening the file.
TEST_F(RowSourceTest, CsvWithoutHeaderBadFirstRowIsABadRowNotAnOpenError) {
  CsvOptions options;
  options.header = false;
  absl::StatusOr<std::unique_ptr<RowSource>> source =
      OpenRowSource(WriteFile("e.csv", "u\"1,i1,view\nu2,i2,click\n"), options, {});
  ASSERT_TRUE(source.ok()) << source.status();
  const std::vector<Step> steps = ReadAll(**source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].status, RowStatus::kBad);
  EXPECT_EQ(steps[0].line, 1);
  EXPECT_THAT(steps[1].fields, ElementsAre("u2", "i2", "click"));
}

// The byte order mark is skipped before the header is split, so a quoted first name
// (Excel's "CSV UTF-8" and QUOTE_ALL writers) is read as quoted.
TEST_F(RowSourceTest, CsvByteOrderMarkBeforeQuotedHeaderIsDropped) {
  absl::StatusOr<std::unique_ptr<RowSource>> source = OpenRowSource(
      WriteFile("e.csv", "\xEF\xBB\xBF\"user_id\",\"item_id\"\nu,i\n"), CsvOptions{}, {});
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_THAT((*source)->columns(), ElementsAre("user_id", "item_id"));
}

TEST_F(RowSourceTest, CsvWithoutHeaderColumnsComeFromTheFirstGoodRow) {
  CsvOptions options;
  options.header = false;
  auto source = Open("e.csv", "\n\"a,b\"x,c\nu1,i1,view,9\nu2,i2\n", options);
  ASSERT_NE(source, nullptr);
  // The bad row on line 2 does not decide; the first good row has 4 fields.
  EXPECT_THAT(source->columns(), ElementsAre("column0", "column1", "column2", "column3"));
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0].status, RowStatus::kBad);
  EXPECT_EQ(steps[0].line, 2);
  EXPECT_EQ(steps[0].bad_reason, "unexpected character after a closing quote");
  EXPECT_THAT(steps[1].fields, ElementsAre("u1", "i1", "view", "9"));
  EXPECT_EQ(steps[1].line, 3);
  EXPECT_THAT(steps[2].fields, ElementsAre("u2", "i2"));  // the decoder refuses it
  EXPECT_EQ(steps[3].status, RowStatus::kEnd);
}

TEST_F(RowSourceTest, CsvWithoutHeaderOnlyBadRowsHasNoColumnsAndReportsEveryRow) {
  CsvOptions options;
  options.header = false;
  auto source = Open("e.csv", "a\"b\nc\"d\n", options);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), IsEmpty());
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].status, RowStatus::kBad);
  EXPECT_EQ(steps[0].line, 1);
  EXPECT_EQ(steps[1].status, RowStatus::kBad);
  EXPECT_EQ(steps[1].line, 2);
}

TEST_F(RowSourceTest, CsvByteOrderMarkKeepsLineNumbers) {
  auto source = Open("e.csv", "\xEF\xBB\xBF\"a\",b\n1,2\n\n3,4\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("a", "b"));
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].line, 2);
  EXPECT_EQ(steps[1].line, 4);
}

TEST_F(RowSourceTest, CsvWithoutHeaderByteOrderMarkIsNotData) {
  CsvOptions options;
  options.header = false;
  auto source = Open("e.csv", "\xEF\xBB\xBF\"u1\",i1\nu2,i2\n", options);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("column0", "column1"));
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_THAT(steps[0].fields, ElementsAre("u1", "i1"));
  EXPECT_EQ(steps[0].line, 1);
  EXPECT_THAT(steps[1].fields, ElementsAre("u2", "i2"));
}

// Reads every chunk of OpenCsvSourceChunks in order, as one list of steps (no kEnd),
// with the file's line numbers.
std::vector<Step> ReadChunks(std::vector<std::unique_ptr<RowSource>>& chunks) {
  std::vector<Step> all;
  int64_t shift = 0;  // from a chunk's own line numbers to the file's
  for (auto& chunk : chunks) {
    std::vector<Step> steps = ReadAll(*chunk);
    steps.pop_back();  // kEnd
    for (Step& step : steps) {
      step.line += shift;
      all.push_back(std::move(step));
    }
    shift += chunk->next_line() - 1;
  }
  return all;
}

TEST_F(RowSourceTest, CsvChunksReadLikeOneSource) {
  std::string contents = "a,b\n";
  for (int i = 0; i < 200; ++i) {
    contents += std::to_string(i) + (i % 7 == 0 ? ",\"multi\nline, \"\"quoted\"\"\"\n" : ",x\n");
  }
  const std::string path = WriteFile("e.csv", contents);
  const int64_t size = static_cast<int64_t>(contents.size());
  absl::StatusOr<std::vector<std::unique_ptr<RowSource>>> one =
      OpenCsvSourceChunks(path, CsvOptions{}, size);
  absl::StatusOr<std::vector<std::unique_ptr<RowSource>>> four =
      OpenCsvSourceChunks(path, CsvOptions{}, size / 4, ChunkCuts::kOutsideQuotes);
  ASSERT_TRUE(one.ok() && four.ok());
  EXPECT_EQ(one->size(), 1u);
  EXPECT_GT(four->size(), 1u);
  const std::vector<Step> a = ReadChunks(*one);
  const std::vector<Step> b = ReadChunks(*four);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].status, b[i].status) << i;
    EXPECT_EQ(a[i].line, b[i].line) << i;
    EXPECT_EQ(a[i].fields, b[i].fields) << i;
  }
}

TEST_F(RowSourceTest, CsvChunksWithoutHeaderStartAtTheFileStart) {
  CsvOptions options;
  options.header = false;
  // A bad first row with balanced quotes (a stray quote is another matter, see below).
  std::string contents = "\xEF\xBB\xBF\"bad\"first,x\n";
  for (int i = 0; i < 200; ++i) {
    contents += std::to_string(i) + (i % 7 == 0 ? ",\"multi\nline\"\n" : ",x\n");
  }
  const std::string path = WriteFile("e.csv", contents);
  const int64_t size = static_cast<int64_t>(contents.size());
  absl::StatusOr<std::vector<std::unique_ptr<RowSource>>> one =
      OpenCsvSourceChunks(path, options, size);
  absl::StatusOr<std::vector<std::unique_ptr<RowSource>>> four =
      OpenCsvSourceChunks(path, options, size / 4, ChunkCuts::kOutsideQuotes);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(four.ok()) << four.status();
  EXPECT_GT(four->size(), 1u);
  for (const auto& part : *four) {
    EXPECT_THAT(part->columns(), ElementsAre("column0", "column1"));
  }
  const std::vector<Step> a = ReadChunks(*one);
  const std::vector<Step> b = ReadChunks(*four);
  ASSERT_EQ(a.size(), 201u);
  EXPECT_EQ(a[0].status, RowStatus::kBad);
  EXPECT_EQ(a[0].line, 1);
  EXPECT_THAT(a[1].fields, ElementsAre("0", "multi\nline"));
  EXPECT_EQ(a[1].line, 2);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].status, b[i].status) << i;
    EXPECT_EQ(a[i].line, b[i].line) << i;
    EXPECT_EQ(a[i].fields, b[i].fields) << i;
  }
}

// A cut on a line break inside a quoted field leaves the chunk before it inside quotes,
// and the chunk says so, so that the caller cuts the file otherwise or reads it whole.
// Cuts at any line break ignore the quotes; cuts outside quotes are fooled by the
// stray quote of a malformed row.
TEST_F(RowSourceTest, CsvChunkCutInsideQuotesSaysSo) {
  const std::string contents = "a,b\nx\"y,1\n\"" + std::string(40, 'm') + "\nline\",2\n";
  const std::string path = WriteFile("e.csv", contents);
  for (const ChunkCuts cuts_at : {ChunkCuts::kAtLineBreaks, ChunkCuts::kOutsideQuotes}) {
    absl::StatusOr<std::vector<std::unique_ptr<RowSource>>> two =
        OpenCsvSourceChunks(path, CsvOptions{}, static_cast<int64_t>(contents.size()) / 2, cuts_at);
    ASSERT_TRUE(two.ok());
    ASSERT_EQ(two->size(), 2u);
    ReadChunks(*two);
    EXPECT_TRUE((*two)[0]->ended_inside_quotes());
    EXPECT_FALSE((*two)[1]->ended_inside_quotes());
  }
}

// ---------------------------------------------------------------------------
// JSON Lines

TEST_F(RowSourceTest, JsonLinesExtractsTheWantedColumnsInOrder) {
  auto source = Open("e.jsonl",
                     "{\"item_id\":\"i1\",\"user_id\":\"u1\",\"other\":\"ignored\"}\n"
                     "{\"user_id\":\"u2\",\"item_id\":\"i2\"}\n",
                     {}, {"user_id", "item_id"});
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->columns(), ElementsAre("user_id", "item_id"));
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_THAT(steps[0].fields, ElementsAre("u1", "i1"));
  EXPECT_EQ(steps[0].line, 1);
  EXPECT_THAT(steps[1].fields, ElementsAre("u2", "i2"));
  EXPECT_EQ(steps[1].line, 2);
  EXPECT_EQ(steps[2].status, RowStatus::kEnd);
}

TEST_F(RowSourceTest, JsonLinesByteOrderMarkIsSkipped) {
  auto source = Open("e.jsonl", "\xEF\xBB\xBF{\"user_id\":\"u1\"}\r\n{\"user_id\":\"u2\"}\r\n", {},
                     {"user_id"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].status, RowStatus::kRow);
  EXPECT_THAT(steps[0].fields, ElementsAre("u1"));
  EXPECT_THAT(steps[1].fields, ElementsAre("u2"));
}

TEST_F(RowSourceTest, JsonLinesIntegerIsText) {
  auto source = Open("e.jsonl", "{\"user_id\":42,\"ts\":1706745600,\"big\":18446744073709551615}\n",
                     {}, {"user_id", "ts", "big"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_GE(steps.size(), 1u);
  EXPECT_THAT(steps[0].fields, ElementsAre("42", "1706745600", "18446744073709551615"));
}

TEST_F(RowSourceTest, JsonLinesNegativeIntegerIsText) {
  auto source = Open("e.jsonl", "{\"off\":-250}\n", {}, {"off"});
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(ReadAll(*source)[0].fields, ElementsAre("-250"));
}

// Numbers arrive as the text the line holds, not re-serialized by the JSON library
// (Boost.JSON would write "1.999E1" for 19.99, which ParseTime does not take).
TEST_F(RowSourceTest, JsonLinesDecimalNumberIsPlainDecimalText) {
  auto source = Open("e.jsonl", "{\"amount\":19.99,\"ts\":1706745600.5}\n", {}, {"amount", "ts"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_GE(steps.size(), 1u);
  EXPECT_THAT(steps[0].fields, ElementsAre("19.99", "1706745600.5"));
}

TEST_F(RowSourceTest, JsonLinesNumbersKeepTheirOriginalText) {
  auto source = Open("e.jsonl",
                     "{\"a\":19.990,\"b\":1e3,\"c\":-0.5,\"d\":123456789012345678901234567890,"
                     "\"e\":1706745600.123456789,\"f\":2.5E-3, \"g\" : 0 }\n",
                     {}, {"a", "b", "c", "d", "e", "f", "g"});
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(ReadAll(*source)[0].fields,
              ElementsAre("19.990", "1e3", "-0.5", "123456789012345678901234567890",
                          "1706745600.123456789", "2.5E-3", "0"));
}

TEST_F(RowSourceTest, JsonLinesDecimalEpochNumberParsesAsATime) {
  auto source = Open("e.jsonl", "{\"ts\":1706745600.5}\n{\"ts\":1706745600123}\n", {}, {"ts"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  absl::StatusOr<EventTime> t = ParseTime(steps[0].fields[0]);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(FormatTime(*t), "2024-02-01 00:00:00.5");
  t = ParseTime(steps[1].fields[0]);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(FormatTime(*t), "2024-02-01 00:00:00.123");
}

TEST_F(RowSourceTest, JsonLinesRepeatedKeyTakesTheLastValue) {
  auto source = Open("e.jsonl", "{\"a\":\"1\",\"b\":2,\"a\":\"3\",\"b\":null}\n", {}, {"a", "b"});
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(ReadAll(*source)[0].fields, ElementsAre("3", ""));
}

TEST_F(RowSourceTest, JsonLinesColumnWantedTwiceGetsTheValueTwice) {
  auto source = Open("e.jsonl", "{\"a\":\"x\",\"b\":7}\n", {}, {"a", "b", "a"});
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(ReadAll(*source)[0].fields, ElementsAre("x", "7", "x"));
}

TEST_F(RowSourceTest, JsonLinesKeysOfNestedObjectsAreNotFields) {
  auto source = Open("e.jsonl", "{\"meta\":{\"a\":\"inner\",\"l\":[{\"a\":1}]},\"b\":\"x\"}\n", {},
                     {"a", "b"});
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(ReadAll(*source)[0].fields, ElementsAre("", "x"));
}

TEST_F(RowSourceTest, JsonLinesLongStringsAndEscapesInKeys) {
  const std::string long_text(5000, 'z');
  auto source =
      Open("e.jsonl", "{\"k\\u0065y\":\"" + long_text + "\",\"n\":\"a\\tb\"}\n", {}, {"key", "n"});
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(ReadAll(*source)[0].fields, ElementsAre(long_text, "a\tb"));
}

TEST_F(RowSourceTest, JsonLinesInvalidJsonWinsOverANestedValue) {
  auto source = Open("e.jsonl", "{\"a\":[1], oops}\n", {}, {"a"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_THAT(steps[0].bad_reason, StartsWith("not valid JSON: "));
}

TEST_F(RowSourceTest, JsonLinesBooleanIsText) {
  auto source = Open("e.jsonl", "{\"flag\":true,\"other\":false}\n", {}, {"flag", "other"});
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(ReadAll(*source)[0].fields, ElementsAre("true", "false"));
}

TEST_F(RowSourceTest, JsonLinesMissingKeyIsEmptyField) {
  auto source = Open("e.jsonl", "{\"user_id\":\"u1\"}\n", {}, {"user_id", "amount"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps[0].status, RowStatus::kRow);
  EXPECT_THAT(steps[0].fields, ElementsAre("u1", ""));
}

TEST_F(RowSourceTest, JsonLinesNullIsEmptyField) {
  auto source =
      Open("e.jsonl", "{\"user_id\":\"u1\",\"amount\":null}\n", {}, {"user_id", "amount"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps[0].status, RowStatus::kRow);
  EXPECT_THAT(steps[0].fields, ElementsAre("u1", ""));
}

TEST_F(RowSourceTest, JsonLinesMissingKeyAfterARowThatHadItIsEmpty) {
  // Field buffers are reused between rows; a key absent from row 2 must not show row 1's value.
  auto source =
      Open("e.jsonl", "{\"a\":1,\"b\":\"x\"}\n{\"a\":2}\n{\"a\":3,\"b\":null}\n", {}, {"a", "b"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_THAT(steps[0].fields, ElementsAre("1", "x"));
  EXPECT_THAT(steps[1].fields, ElementsAre("2", ""));
  EXPECT_THAT(steps[2].fields, ElementsAre("3", ""));
}

TEST_F(RowSourceTest, JsonLinesStringEscapesAreDecoded) {
  auto source = Open("e.jsonl",
                     R"({"a":"say \"hi\"\n","b":"caf\u00e9"})"
                     "\n",
                     {}, {"a", "b"});
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(ReadAll(*source)[0].fields, ElementsAre("say \"hi\"\n", "caf\xC3\xA9"));
}

TEST_F(RowSourceTest, JsonLinesInvalidLineIsBadAndNextLineIsRead) {
  auto source = Open("e.jsonl", "{\"a\":\"1\"}\n{\"a\": oops}\n{\"a\":\"3\"}\n", {}, {"a"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0].status, RowStatus::kRow);
  EXPECT_EQ(steps[1].status, RowStatus::kBad);
  EXPECT_EQ(steps[1].line, 2);
  EXPECT_THAT(steps[1].bad_reason, StartsWith("not valid JSON: "));
  EXPECT_EQ(steps[2].status, RowStatus::kRow);
  EXPECT_THAT(steps[2].fields, ElementsAre("3"));
  EXPECT_EQ(steps[2].line, 3);
}

TEST_F(RowSourceTest, JsonLinesTruncatedObjectIsBad) {
  auto source = Open("e.jsonl", "{\"a\":\"1\"\n{\"a\":\"2\"}\n", {}, {"a"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].status, RowStatus::kBad);
  EXPECT_THAT(steps[0].bad_reason, StartsWith("not valid JSON"));
  EXPECT_THAT(steps[1].fields, ElementsAre("2"));
}

TEST_F(RowSourceTest, JsonLinesTrailingGarbageAfterObjectIsBad) {
  auto source = Open("e.jsonl", "{\"a\":\"1\"} x\n", {}, {"a"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].status, RowStatus::kBad);
  EXPECT_THAT(steps[0].bad_reason, StartsWith("not valid JSON"));
}

TEST_F(RowSourceTest, JsonLinesArrayLineIsBad) {
  auto source = Open("e.jsonl", "[\"u1\",\"i1\"]\n{\"a\":\"ok\"}\n", {}, {"a"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].status, RowStatus::kBad);
  EXPECT_EQ(steps[0].line, 1);
  EXPECT_EQ(steps[0].bad_reason, "a line must hold one JSON object");
  EXPECT_THAT(steps[1].fields, ElementsAre("ok"));
}

TEST_F(RowSourceTest, JsonLinesScalarLineIsBad) {
  auto source = Open("e.jsonl", "42\n\"text\"\n", {}, {"a"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].bad_reason, "a line must hold one JSON object");
  EXPECT_EQ(steps[1].bad_reason, "a line must hold one JSON object");
}

TEST_F(RowSourceTest, JsonLinesNestedValueIsBad) {
  auto source = Open("e.jsonl", "{\"a\":{\"x\":1}}\n{\"a\":[1]}\n{\"a\":\"fine\"}\n", {}, {"a"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0].status, RowStatus::kBad);
  EXPECT_EQ(steps[0].bad_reason, "field 'a' must be a string or a number");
  EXPECT_EQ(steps[1].status, RowStatus::kBad);
  EXPECT_THAT(steps[2].fields, ElementsAre("fine"));
}

TEST_F(RowSourceTest, JsonLinesNestedValueInAnUnwantedKeyIsIgnored) {
  auto source = Open("e.jsonl", "{\"a\":\"x\",\"meta\":{\"k\":[1,2]}}\n", {}, {"a"});
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(ReadAll(*source)[0].fields, ElementsAre("x"));
}

TEST_F(RowSourceTest, JsonLinesBlankLinesAreSkippedAndLinesCounted) {
  auto source = Open("e.jsonl", "\n{\"a\":\"1\"}\n   \n\t\n{\"a\":\"2\"}\n\n", {}, {"a"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].line, 2);
  EXPECT_EQ(steps[1].line, 5);
  EXPECT_EQ(steps[2].status, RowStatus::kEnd);
}

TEST_F(RowSourceTest, JsonLinesCrlfLineEndings) {
  auto source = Open("e.jsonl", "{\"a\":\"1\"}\r\n\r\n{\"a\":\"2\"}\r\n", {}, {"a"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_THAT(steps[0].fields, ElementsAre("1"));
  EXPECT_THAT(steps[1].fields, ElementsAre("2"));
  EXPECT_EQ(steps[1].line, 3);
}

TEST_F(RowSourceTest, JsonLinesLastLineWithoutNewline) {
  auto source = Open("e.jsonl", "{\"a\":\"1\"}\n{\"a\":\"2\"}", {}, {"a"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_THAT(steps[1].fields, ElementsAre("2"));
}

TEST_F(RowSourceTest, JsonLinesEmptyFileHasNoRows) {
  auto source = Open("e.jsonl", "", {}, {"a"});
  ASSERT_NE(source, nullptr);
  const std::vector<Step> steps = ReadAll(*source);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].status, RowStatus::kEnd);
}

TEST_F(RowSourceTest, NdjsonAndJsonExtensionsAreJsonLines) {
  auto ndjson = Open("e.ndjson", "{\"a\":\"1\"}\n", {}, {"a"});
  ASSERT_NE(ndjson, nullptr);
  EXPECT_THAT(ReadAll(*ndjson)[0].fields, ElementsAre("1"));
  auto json = Open("e.json", "{\"a\":\"1\"}\n", {}, {"a"});
  ASSERT_NE(json, nullptr);
  EXPECT_THAT(ReadAll(*json)[0].fields, ElementsAre("1"));
}

TEST_F(RowSourceTest, JsonLinesBytesReadReachesTotal) {
  const std::string contents = "{\"a\":\"1\"}\n{\"a\":\"2\"}\n";
  auto source = Open("e.jsonl", contents, {}, {"a"});
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->bytes_total(), static_cast<int64_t>(contents.size()));
  ReadAll(*source);
  EXPECT_GE(source->bytes_read(), source->bytes_total());
}

// ---------------------------------------------------------------------------
// Files that cannot be opened

TEST_F(RowSourceTest, UnknownExtensionIsAnError) {
  const std::string path = WriteFile("events.xlsx", "whatever");
  absl::StatusOr<std::unique_ptr<RowSource>> source = OpenRowSource(path, CsvOptions{}, {});
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(source.status().message());
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("unknown file type '.xlsx'"));
  EXPECT_THAT(msg, HasSubstr(".csv"));
}

TEST_F(RowSourceTest, MissingCsvFileIsNotFoundAndNamesThePath) {
  const std::string path = dir_ + "/absent.csv";
  absl::StatusOr<std::unique_ptr<RowSource>> source = OpenRowSource(path, CsvOptions{}, {});
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(source.status().message()), HasSubstr(path));
}

TEST_F(RowSourceTest, MissingJsonLinesFileIsNotFoundAndNamesThePath) {
  const std::string path = dir_ + "/absent.jsonl";
  absl::StatusOr<std::unique_ptr<RowSource>> source = OpenRowSource(path, CsvOptions{}, {"a"});
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(source.status().message()), HasSubstr(path));
}

TEST_F(RowSourceTest, FolderIsNotARegularFile) {
  std::filesystem::create_directory(dir_ + "/folder.csv");
  absl::StatusOr<std::unique_ptr<RowSource>> source =
      OpenRowSource(dir_ + "/folder.csv", CsvOptions{}, {});
  ASSERT_FALSE(source.ok());
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("folder.csv"));
}

}  // namespace
}  // namespace streamrec
