// CsvScanner: RFC 4180 splitting, line numbers across quoted line breaks, and how a
// malformed row is refused without losing the rows after it.

#include "io/csv_scanner.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using Result = CsvScanner::Result;

// One call to Next(), with the fields copied out (scratch views die on the next call).
struct Step {
  Result result;
  std::vector<std::string> fields;
  int64_t line;
  std::string error;
};

Step NextStep(CsvScanner& scanner) {
  std::vector<std::string_view> views;
  Step step;
  step.result = scanner.Next(&views);
  step.fields.assign(views.begin(), views.end());
  step.line = scanner.line();
  step.error = step.result == Result::kBad ? scanner.error() : "";
  return step;
}

// Every step up to and including kEnd.
std::vector<Step> ScanAll(std::string_view data, char delimiter = ',') {
  CsvScanner scanner(data, delimiter);
  std::vector<Step> steps;
  for (int guard = 0; guard < 1000; ++guard) {
    steps.push_back(NextStep(scanner));
    if (steps.back().result == Result::kEnd) return steps;
  }
  ADD_FAILURE() << "scanner never reached kEnd";
  return steps;
}

// The rows only, failing the test on any kBad.
std::vector<std::vector<std::string>> Rows(std::string_view data, char delimiter = ',') {
  std::vector<std::vector<std::string>> rows;
  for (const Step& s : ScanAll(data, delimiter)) {
    EXPECT_NE(s.result, Result::kBad) << "line " << s.line << ": " << s.error;
    if (s.result == Result::kRow) rows.push_back(s.fields);
  }
  return rows;
}

using Fields = std::vector<std::string>;

TEST(CsvScannerTest, EmptyInputIsEnd) {
  const std::vector<Step> steps = ScanAll("");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].result, Result::kEnd);
}

TEST(CsvScannerTest, EndIsSticky) {
  CsvScanner scanner("a\n", ',');
  EXPECT_EQ(NextStep(scanner).result, Result::kRow);
  EXPECT_EQ(NextStep(scanner).result, Result::kEnd);
  EXPECT_EQ(NextStep(scanner).result, Result::kEnd);
}

TEST(CsvScannerTest, SimpleRows) {
  EXPECT_THAT(Rows("a,b,c\n1,2,3\n"), ElementsAre(Fields{"a", "b", "c"}, Fields{"1", "2", "3"}));
}

TEST(CsvScannerTest, SingleFieldRow) { EXPECT_THAT(Rows("only\n"), ElementsAre(Fields{"only"})); }

TEST(CsvScannerTest, SpacesAreKeptAsData) {
  EXPECT_THAT(Rows(" a , b \n"), ElementsAre(Fields{" a ", " b "}));
}

TEST(CsvScannerTest, NoFinalNewline) {
  const std::vector<Step> steps = ScanAll("a,b\nc,d");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_THAT(steps[1].fields, ElementsAre("c", "d"));
  EXPECT_EQ(steps[1].line, 2);
  EXPECT_EQ(steps[2].result, Result::kEnd);
}

TEST(CsvScannerTest, QuotedLastFieldWithoutFinalNewline) {
  EXPECT_THAT(Rows("a,\"b c\""), ElementsAre(Fields{"a", "b c"}));
}

TEST(CsvScannerTest, TrailingDelimiterGivesEmptyLastField) {
  EXPECT_THAT(Rows("a,b,\nc,d,\n"), ElementsAre(Fields{"a", "b", ""}, Fields{"c", "d", ""}));
}

TEST(CsvScannerTest, TrailingDelimiterWithoutFinalNewline) {
  EXPECT_THAT(Rows("a,b,"), ElementsAre(Fields{"a", "b", ""}));
}

TEST(CsvScannerTest, EmptyFieldsBetweenDelimiters) {
  EXPECT_THAT(Rows(",,\n"), ElementsAre(Fields{"", "", ""}));
  EXPECT_THAT(Rows("a,,c\n"), ElementsAre(Fields{"a", "", "c"}));
}

TEST(CsvScannerTest, QuotedDelimiterIsData) {
  EXPECT_THAT(Rows("\"a,b\",c\n"), ElementsAre(Fields{"a,b", "c"}));
}

TEST(CsvScannerTest, DoubledQuoteIsOneQuote) {
  EXPECT_THAT(Rows("\"say \"\"hi\"\"\",x\n"), ElementsAre(Fields{"say \"hi\"", "x"}));
}

TEST(CsvScannerTest, FieldOfOnlyADoubledQuote) {
  EXPECT_THAT(Rows("\"\"\"\",x\n"), ElementsAre(Fields{"\"", "x"}));
}

TEST(CsvScannerTest, EmptyQuotedField) {
  EXPECT_THAT(Rows("\"\",x,\"\"\n"), ElementsAre(Fields{"", "x", ""}));
}

TEST(CsvScannerTest, SeveralEscapedFieldsInOneRowKeepTheirOwnText) {
  // Unescaped fields share the scanner's scratch; each must keep its own text.
  EXPECT_THAT(Rows("\"a\"\"1\",\"b\"\"2\",\"c\"\"3\"\n"),
              ElementsAre(Fields{"a\"1", "b\"2", "c\"3"}));
}

TEST(CsvScannerTest, ScratchViewsStayValidForTheWholeRow) {
  CsvScanner scanner("\"x\"\"1\",\"y\"\"2\"\n", ',');
  std::vector<std::string_view> fields;
  ASSERT_EQ(scanner.Next(&fields), Result::kRow);
  EXPECT_THAT(fields, ElementsAre("x\"1", "y\"2"));
}

TEST(CsvScannerTest, UnquotedFieldsAreViewsIntoTheInput) {
  const std::string data = "abc,def\n";
  CsvScanner scanner(data, ',');
  std::vector<std::string_view> fields;
  ASSERT_EQ(scanner.Next(&fields), Result::kRow);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].data(), data.data());
  EXPECT_EQ(fields[1].data(), data.data() + 4);
}

TEST(CsvScannerTest, LineBreakInsideQuotesIsData) {
  EXPECT_THAT(Rows("\"line1\nline2\",b\n"), ElementsAre(Fields{"line1\nline2", "b"}));
}

TEST(CsvScannerTest, CrlfInsideQuotesIsKeptVerbatim) {
  EXPECT_THAT(Rows("\"line1\r\nline2\",b\r\n"), ElementsAre(Fields{"line1\r\nline2", "b"}));
}

TEST(CsvScannerTest, LineNumberAfterQuotedLineBreaks) {
  const std::vector<Step> steps = ScanAll("h1,h2\n\"a\nb\nc\",d\ne,f\n");
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0].line, 1);
  EXPECT_EQ(steps[1].line, 2);  // the row starts on line 2 and spans 2..4
  EXPECT_THAT(steps[1].fields, ElementsAre("a\nb\nc", "d"));
  EXPECT_EQ(steps[2].line, 5);
  EXPECT_THAT(steps[2].fields, ElementsAre("e", "f"));
}

TEST(CsvScannerTest, LineNumberAfterQuotedLineBreakInEscapedField) {
  const std::vector<Step> steps = ScanAll("\"a\"\"\nb\",c\nd\n");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_THAT(steps[0].fields, ElementsAre("a\"\nb", "c"));
  EXPECT_EQ(steps[1].line, 3);
}

TEST(CsvScannerTest, LineNumberAfterQuotedLineBreakInLastFieldAtEnd) {
  const std::vector<Step> steps = ScanAll("a,\"x\ny\"\nb,c\n");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].line, 1);
  EXPECT_EQ(steps[1].line, 3);
}

TEST(CsvScannerTest, CrlfLineEndings) {
  const std::vector<Step> steps = ScanAll("a,b\r\nc,d\r\n");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_THAT(steps[0].fields, ElementsAre("a", "b"));
  EXPECT_THAT(steps[1].fields, ElementsAre("c", "d"));
  EXPECT_EQ(steps[1].line, 2);
}

TEST(CsvScannerTest, CrlfAfterQuotedField) {
  EXPECT_THAT(Rows("\"a\",\"b\"\r\n\"c\",d\r\n"), ElementsAre(Fields{"a", "b"}, Fields{"c", "d"}));
}

TEST(CsvScannerTest, CrlfAfterTrailingDelimiter) {
  EXPECT_THAT(Rows("a,\r\n"), ElementsAre(Fields{"a", ""}));
}

TEST(CsvScannerTest, CrBeforeEndOfInputIsStripped) {
  EXPECT_THAT(Rows("a,b\r"), ElementsAre(Fields{"a", "b"}));
}

TEST(CsvScannerTest, CrAfterQuotedFieldBeforeEndOfInputIsStripped) {
  // Like an unquoted last field: a lone CR at the very end is a cut-off CRLF.
  const std::vector<Step> steps = ScanAll("a,\"b\"\r");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].result, Result::kRow) << steps[0].error;
  EXPECT_THAT(steps[0].fields, ElementsAre("a", "b"));
  EXPECT_EQ(steps[1].result, Result::kEnd);
  EXPECT_THAT(Rows("x,y\r\n\"a\",\"b\"\r"), ElementsAre(Fields{"x", "y"}, Fields{"a", "b"}));
}

TEST(CsvScannerTest, LoneCrAfterQuotedFieldInsideTheInputIsBad) {
  const std::vector<Step> steps = ScanAll("\"a\"\rb\nc\n");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].result, Result::kBad);
  EXPECT_EQ(steps[0].error, "unexpected character after a closing quote");
  EXPECT_THAT(steps[1].fields, ElementsAre("c"));
}

TEST(CsvScannerTest, LoneCrLineAtEndOfInputIsBlank) {
  const std::vector<Step> steps = ScanAll("a,b\n\r");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_THAT(steps[0].fields, ElementsAre("a", "b"));
  EXPECT_EQ(steps[1].result, Result::kEnd);
  EXPECT_EQ(ScanAll("\r").size(), 1u);
}

TEST(CsvScannerTest, LoneCrInsideAnUnquotedFieldIsData) {
  EXPECT_THAT(Rows("a\rb,c\n"), ElementsAre(Fields{"a\rb", "c"}));
}

TEST(CsvScannerTest, BlankLinesAreSkippedAndLineNumbersKept) {
  const std::vector<Step> steps = ScanAll("a\n\n\nb\n\nc\n");
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_THAT(steps[0].fields, ElementsAre("a"));
  EXPECT_EQ(steps[0].line, 1);
  EXPECT_THAT(steps[1].fields, ElementsAre("b"));
  EXPECT_EQ(steps[1].line, 4);
  EXPECT_THAT(steps[2].fields, ElementsAre("c"));
  EXPECT_EQ(steps[2].line, 6);
}

TEST(CsvScannerTest, LeadingBlankLinesAreSkipped) {
  const std::vector<Step> steps = ScanAll("\n\r\n\na,b\n");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_THAT(steps[0].fields, ElementsAre("a", "b"));
  EXPECT_EQ(steps[0].line, 4);
}

TEST(CsvScannerTest, BlankCrlfLinesAreSkipped) {
  const std::vector<Step> steps = ScanAll("a\r\n\r\n\r\nb\r\n");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[1].line, 4);
  EXPECT_THAT(steps[1].fields, ElementsAre("b"));
}

TEST(CsvScannerTest, OnlyBlankLinesIsEnd) {
  const std::vector<Step> steps = ScanAll("\n\n\r\n");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].result, Result::kEnd);
}

TEST(CsvScannerTest, TrailingBlankLinesAfterLastRow) {
  EXPECT_THAT(Rows("a\n\n\n"), ElementsAre(Fields{"a"}));
}

TEST(CsvScannerTest, BlankLineAfterMultiLineQuotedRow) {
  const std::vector<Step> steps = ScanAll("\"x\ny\"\n\nz\n");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[1].line, 4);
  EXPECT_THAT(steps[1].fields, ElementsAre("z"));
}

TEST(CsvScannerTest, UnterminatedQuoteIsBad) {
  const std::vector<Step> steps = ScanAll("a,b\nc,\"never closed\nd,e\n");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].result, Result::kRow);
  EXPECT_EQ(steps[1].result, Result::kBad);
  EXPECT_EQ(steps[1].line, 2);
  EXPECT_EQ(steps[1].error, CsvScanner::kUnterminatedQuote);
  // The message says where the later lines went: they were read into this row.
  EXPECT_THAT(steps[1].error, AllOf(StartsWith("unterminated quoted field"),
                                    HasSubstr("every line after it was read into this row")));
  // The rest of the input was inside the open quote: nothing is left to read.
  EXPECT_EQ(steps[2].result, Result::kEnd);
}

TEST(CsvScannerTest, UnterminatedQuoteEndingInDoubledQuote) {
  const std::vector<Step> steps = ScanAll("\"abc\"\"");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].result, Result::kBad);
  EXPECT_EQ(steps[0].error, CsvScanner::kUnterminatedQuote);
}

TEST(CsvScannerTest, LoneQuoteIsUnterminated) {
  const std::vector<Step> steps = ScanAll("\"");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].result, Result::kBad);
  EXPECT_EQ(steps[0].error, CsvScanner::kUnterminatedQuote);
}

TEST(CsvScannerTest, TextAfterClosingQuoteIsBadAndNextRowReadsFine) {
  const std::vector<Step> steps = ScanAll("\"a\"x,b\nc,d\n");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].result, Result::kBad);
  EXPECT_EQ(steps[0].line, 1);
  EXPECT_EQ(steps[0].error, "unexpected character after a closing quote");
  EXPECT_EQ(steps[1].result, Result::kRow);
  EXPECT_THAT(steps[1].fields, ElementsAre("c", "d"));
  EXPECT_EQ(steps[1].line, 2);
}

TEST(CsvScannerTest, SpaceAfterClosingQuoteIsBad) {
  const std::vector<Step> steps = ScanAll("\"a\" ,b\nc\n");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].result, Result::kBad);
  EXPECT_THAT(steps[1].fields, ElementsAre("c"));
}

TEST(CsvScannerTest, TextAfterClosingQuoteOnLastLineWithoutNewline) {
  const std::vector<Step> steps = ScanAll("a\n\"b\"c");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[1].result, Result::kBad);
  EXPECT_EQ(steps[1].line, 2);
  EXPECT_EQ(steps[2].result, Result::kEnd);
}

TEST(CsvScannerTest, BadRowAfterMultiLineQuoteKeepsLaterLineNumbers) {
  // The bad row spans lines 1-2 (a quoted line break), then has junk after its quote.
  const std::vector<Step> steps = ScanAll("\"a\nb\"junk\nc\n");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].result, Result::kBad);
  EXPECT_EQ(steps[0].line, 1);
  EXPECT_EQ(steps[1].result, Result::kRow);
  EXPECT_EQ(steps[1].line, 3);
  EXPECT_THAT(steps[1].fields, ElementsAre("c"));
}

TEST(CsvScannerTest, QuoteInsideUnquotedFieldIsBadAndNextRowReadsFine) {
  const std::vector<Step> steps = ScanAll("ok,row\nab\"c,d\ne,f\n");
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0].result, Result::kRow);
  EXPECT_EQ(steps[1].result, Result::kBad);
  EXPECT_EQ(steps[1].line, 2);
  EXPECT_EQ(steps[1].error, "a quote inside an unquoted field");
  EXPECT_EQ(steps[2].result, Result::kRow);
  EXPECT_THAT(steps[2].fields, ElementsAre("e", "f"));
  EXPECT_EQ(steps[2].line, 3);
}

TEST(CsvScannerTest, QuoteInSecondUnquotedFieldIsBad) {
  const std::vector<Step> steps = ScanAll("a,b\"c\nd\n");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].result, Result::kBad);
  EXPECT_EQ(steps[0].error, "a quote inside an unquoted field");
  EXPECT_THAT(steps[1].fields, ElementsAre("d"));
}

TEST(CsvScannerTest, BadRowThenBlankLinesThenRow) {
  const std::vector<Step> steps = ScanAll("x\"y\n\n\nz\n");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].result, Result::kBad);
  EXPECT_EQ(steps[1].line, 4);
  EXPECT_THAT(steps[1].fields, ElementsAre("z"));
}

TEST(CsvScannerTest, FieldsAreClearedOnBadRow) {
  CsvScanner scanner("a,b\"c\n", ',');
  std::vector<std::string_view> fields = {"stale"};
  ASSERT_EQ(scanner.Next(&fields), Result::kBad);
  // Whatever was split before the error is not a row; at least the stale content is gone.
  EXPECT_THAT(fields, ::testing::Not(::testing::Contains("stale")));
}

TEST(CsvScannerTest, FieldsAreClearedAtEnd) {
  CsvScanner scanner("", ',');
  std::vector<std::string_view> fields = {"stale"};
  ASSERT_EQ(scanner.Next(&fields), Result::kEnd);
  EXPECT_THAT(fields, IsEmpty());
}

TEST(CsvScannerTest, SemicolonDelimiter) {
  EXPECT_THAT(Rows("a;b,c;\"d;e\"\n", ';'), ElementsAre(Fields{"a", "b,c", "d;e"}));
}

TEST(CsvScannerTest, TabDelimiter) {
  EXPECT_THAT(Rows("a\tb c\t\"d\te\"\t\n", '\t'), ElementsAre(Fields{"a", "b c", "d\te", ""}));
}

TEST(CsvScannerTest, CommaIsDataWithTabDelimiter) {
  EXPECT_THAT(Rows("1,5\t2\n", '\t'), ElementsAre(Fields{"1,5", "2"}));
}

TEST(CsvScannerTest, OffsetAdvancesToTheEnd) {
  const std::string data = "a,b\nc,d\n";
  CsvScanner scanner(data, ',');
  std::vector<std::string_view> fields;
  EXPECT_EQ(scanner.offset(), 0u);
  ASSERT_EQ(scanner.Next(&fields), Result::kRow);
  EXPECT_EQ(scanner.offset(), 4u);
  ASSERT_EQ(scanner.Next(&fields), Result::kRow);
  EXPECT_EQ(scanner.offset(), data.size());
}

TEST(CsvScannerTest, ManyRowsKeepCountingLines) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += std::to_string(i) + ",\"q\nq\"\n";
  CsvScanner scanner(data, ',');
  std::vector<std::string_view> fields;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(scanner.Next(&fields), Result::kRow);
    ASSERT_EQ(scanner.line(), 1 + 2 * i);
    ASSERT_EQ(fields[0], std::to_string(i));
  }
  EXPECT_EQ(scanner.Next(&fields), Result::kEnd);
}

}  // namespace
}  // namespace streamrec
