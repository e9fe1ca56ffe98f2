// Report files: metrics.json parses (Boost.JSON) with the documented shape, the markdown
// has a table per k, the HTML has an <svg> per metric and no network reference, names
// are escaped, and a bad output folder is an error.

#include "eval/report.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "boost/json/parse.hpp"
#include "boost/json/value.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

EvaluationResult Sample() {
  EvaluationResult r;
  r.protocol = "temporal";
  r.dataset = {.users = 3, .items = 5, .interactions = 12};
  for (std::string model : {"als", "pop <b>&\"x\""}) {
    MetricAccumulator acc({10, 20}, 5);
    acc.AddQuery(std::vector<ItemIdx>{ItemIdx(1), ItemIdx(2)}, std::vector<ItemIdx>{ItemIdx(2)});
    for (MetricValue& v : acc.Results(model)) r.results.push_back(v);
  }
  r.seconds = {{"als.fit", 3.25}, {"total", 4.5}, {"zero", 0}};
  return r;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int Count(const std::string& text, std::string_view what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ReportTest, MetricsJsonParsesWithTheDocumentedShape) {
  const boost::json::value v = boost::json::parse(MetricsJson(Sample()));
  EXPECT_EQ(v.at("protocol").as_string(), "temporal");
  EXPECT_EQ(v.at("dataset").at("users").as_int64(), 3);
  EXPECT_EQ(v.at("dataset").at("items").as_int64(), 5);
  EXPECT_EQ(v.at("dataset").at("interactions").as_int64(), 12);
  const boost::json::array& results = v.at("results").as_array();
  ASSERT_EQ(results.size(), 28u);
  const boost::json::value& ndcg10 = results[6];  // metric-major: hr 10, hr 20, recall 10, ...
  EXPECT_EQ(ndcg10.at("model").as_string(), "als");
  EXPECT_EQ(ndcg10.at("metric").as_string(), "ndcg");
  EXPECT_EQ(ndcg10.at("k").as_int64(), 10);
  EXPECT_DOUBLE_EQ(ndcg10.at("value").as_double(), 1 / std::log2(3.0));
  EXPECT_EQ(results[14].at("model").as_string(), "pop <b>&\"x\"");
  EXPECT_EQ(results[0].at("value").as_double(), 1.0);      // whole values are doubles too
  EXPECT_EQ(results[2 * 6].at("value").as_double(), 0.4);  // coverage@10: {1, 2} of 5
  EXPECT_DOUBLE_EQ(v.at("seconds").at("als.fit").as_double(), 3.25);
  EXPECT_DOUBLE_EQ(v.at("seconds").at("total").as_double(), 4.5);
  EXPECT_EQ(v.at("seconds").at("zero").as_double(), 0.0);
}

TEST(ReportTest, MarkdownHasATablePerK) {
  const std::string md = ReportMarkdown(Sample());
  EXPECT_THAT(md, HasSubstr("## k = 10"));
  EXPECT_THAT(md, HasSubstr("## k = 20"));
  EXPECT_THAT(md, HasSubstr("| model | hr | recall | precision | ndcg | mrr | map | coverage |"));
  EXPECT_THAT(md,
              HasSubstr("| als | 1.0000 | 1.0000 | 0.1000 | 0.6309 | 0.5000 | 0.5000 | 0.4000 |"));
  EXPECT_THAT(md, HasSubstr("3 users, 5 items, 12 interactions"));
  EXPECT_THAT(md, HasSubstr("| als.fit | 3.250 |"));
}

TEST(ReportTest, HtmlHasAnSvgPerMetricAndNoNetworkReference) {
  const std::string html = ReportHtml(Sample());
  EXPECT_EQ(Count(html, "<svg"), 7);
  EXPECT_EQ(Count(html, "</svg>"), 7);
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, HasSubstr("pop &lt;b&gt;&amp;&quot;x&quot;"));  // escaped in the legend
  EXPECT_THAT(html, Not(HasSubstr("<b>")));
  EXPECT_EQ(Count(html, "<rect"), 7 * 2 * 2);  // metrics x ks x models
  EXPECT_THAT(html, HasSubstr(">0.631<"));     // a bar's value
}

TEST(ReportTest, WritesTheThreeFilesIntoANewFolder) {
  const std::string dir = ::testing::TempDir() + "/eval_report_test/nested/out";
  std::filesystem::remove_all(::testing::TempDir() + "/eval_report_test");
  ASSERT_TRUE(WriteReports(Sample(), dir).ok());
  const std::string json = ReadFile(dir + "/metrics.json");
  EXPECT_EQ(boost::json::parse(json).at("protocol").as_string(), "temporal");
  EXPECT_EQ(ReadFile(dir + "/report.md"), ReportMarkdown(Sample()));
  EXPECT_EQ(Count(ReadFile(dir + "/report.html"), "<svg"), 7);
  EXPECT_FALSE(std::filesystem::exists(dir + "/metrics.json.tmp"));
}

TEST(ReportTest, AFileInPlaceOfTheFolderIsAnError) {
  const std::string path = ::testing::TempDir() + "/eval_report_test_file";
  std::ofstream(path) << "x";
  const absl::Status s = WriteReports(Sample(), path);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(path));
}

}  // namespace
}  // namespace streamrec
