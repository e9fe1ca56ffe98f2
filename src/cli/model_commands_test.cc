// `train` and `evaluate` end to end on small files: the model file, the reports, and bad
// input (bad rows, unknown models, misplaced options) reported as the pipeline does.
#include "cli/model_commands.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "boost/json/parse.hpp"
#include "common/strings.h"
#include "common/test_temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/model_file.h"

namespace streamrec {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ModelCommandsTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  static std::string Read(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Two groups of users, each viewing the items of its group, one event a minute.
  std::string Events(int users = 40, const std::string& extra = "") {
    std::string text = "user_id,item_id,event_type,timestamp\n";
    int minute = 0;
    for (int u = 0; u < users; ++u) {
      const std::string group = u % 2 == 0 ? "a" : "b";
      for (int i = 0; i < 4; ++i) {
        absl::StrAppend(&text, "u", u, ",", group, (u + i) % 6, ",view,",
                        1'700'000'000 + 60 * minute++, "\n");
      }
    }
    return Write("events.csv", text + extra);
  }

  TrainSettings Train(std::string model = "als") {
    TrainSettings t;
    t.events = {Events()};
    t.model = std::move(model);
    t.out = (dir_ / "out" / "model.bin").string();
    t.training.als.factors = 4;
    t.training.als.iterations = 3;
    t.threads = 1;
    return t;
  }

  TempDir temp_{"model_commands"};
  const fs::path dir_ = temp_.path();
};

TEST_F(ModelCommandsTest, TrainWritesAModelFileWithTheExternalIds) {
  for (const char* kind : {"als", "item"}) {
    TrainSettings t = Train(kind);
    absl::StatusOr<TrainSummary> summary = RunTrain(t, false);
    ASSERT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->users, 40u);
    EXPECT_EQ(summary->items, 12u);
    EXPECT_EQ(summary->interactions, 160u);
    absl::StatusOr<TrainedModel> model = ReadModelFile(t.out);
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_EQ(BatchModelKindName(model->kind), std::string(kind) == "als" ? "als" : "item");
    EXPECT_THAT(model->item_ids, ::testing::Contains("a0"));
    EXPECT_FALSE(fs::exists(dir_ / "out" / "model.bin.rejected.csv"));
  }
}

TEST_F(ModelCommandsTest, TrainListsBadRowsInACsvNamedAfterTheModel) {
  TrainSettings t = Train();
  // Another command's rejected.csv in the same folder is left alone.
  fs::create_directories(dir_ / "out");
  Write("out/rejected.csv", "source,line,reason\npipeline.csv,3,bad\n");
  t.events = {Events(40, "u1,a1,teleport,1700000000\nu2,,view,1700000000\n")};
  absl::StatusOr<TrainSummary> summary = RunTrain(t, false);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->load.rows_rejected, 2);
  const std::string rejected = Read(dir_ / "out" / "model.bin.rejected.csv");
  EXPECT_THAT(Read(dir_ / "out" / "rejected.csv"), HasSubstr("pipeline.csv,3,bad"));
  EXPECT_THAT(rejected, HasSubstr("source,line,reason"));
  EXPECT_THAT(rejected, HasSubstr("events.csv,162,"));
  EXPECT_THAT(rejected, HasSubstr("events.csv,163,"));
  EXPECT_TRUE(fs::exists(t.out));
}

TEST_F(ModelCommandsTest, TrainStrictStopsAtTheFirstBadRow) {
  TrainSettings t = Train();
  t.events = {Events(40, "u1,a1,teleport,1700000000\n")};
  t.strict = true;
  const absl::Status s = RunTrain(t, false).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(std::string(s.message()), HasSubstr("162"));
  EXPECT_FALSE(fs::exists(t.out));
}

TEST_F(ModelCommandsTest, TrainOnlyBadRowsHasNothingToTrainOn) {
  TrainSettings t = Train();
  t.events = {Write("bad.csv", "user_id,item_id,event_type,timestamp\nu1,a1,teleport,1\n")};
  EXPECT_EQ(RunTrain(t, false).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(fs::exists(t.out));
}

TEST_F(ModelCommandsTest, TrainRefusesBadOptions) {
  TrainSettings t = Train();
  t.model = "svd";
  EXPECT_EQ(RunTrain(t, false).status().code(), absl::StatusCode::kInvalidArgument);
  t = Train();
  t.training.als.factors = 0;
  const absl::Status s = RunTrain(t, false).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("factors"));
}

TEST_F(ModelCommandsTest, EvaluateRatingsUnderKFoldWritesTheThreeReports) {
  // A ratings file as MovieLens ships it: tab-separated, no header.
  std::string ratings;
  for (int u = 1; u <= 30; ++u) {
    for (int i = 0; i < 6; ++i) {
      absl::StrAppend(&ratings, u, "\t", (u % 3) * 10 + (u + i) % 8, "\t", 1 + i % 5, "\t",
                      880000000 + u * 100 + i, "\n");
    }
  }
  const std::string mapping = Write("movielens.toml", R"([events]
delimiter = "\t"
header = false
[events.columns]
user_id = "column0"
item_id = "column1"
timestamp = "column3"
[events.constants]
event_type = "view"
)");
  EvaluateSettings e;
  e.events = {Write("u.data", ratings)};
  e.mapping = mapping;
  e.protocol = "kfold";
  e.folds = 3;
  e.models = {"popular", "itemknn", "als"};
  e.training.als.factors = 4;
  e.out = (dir_ / "eval").string();
  e.threads = 1;
  absl::StatusOr<EvaluationResult> r = RunEvaluate(e, false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->dataset.interactions, 180);
  const boost::json::value json = boost::json::parse(Read(dir_ / "eval" / "metrics.json"));
  EXPECT_EQ(json.at("protocol").as_string(), "kfold");
  EXPECT_EQ(json.at("dataset").at("users").as_int64(), 30);
  EXPECT_EQ(json.at("results").as_array().size(), 3u * 7 * 2);  // models x metrics x ks
  EXPECT_TRUE(fs::exists(dir_ / "eval" / "report.md"));
  EXPECT_TRUE(fs::exists(dir_ / "eval" / "report.html"));
}

TEST_F(ModelCommandsTest, EvaluateSessionNextTakesTestSessionsFromTheirOwnFile) {
  EvaluateSettings e;
  e.events = {Events()};
  e.test_events = {Write("test.csv",
                         "user_id,item_id,event_type,timestamp\n"
                         "s1,a0,view,1700100000\ns1,a1,view,1700100060\ns1,a2,view,1700100120\n")};
  e.protocol = "session-next";
  e.models = {"sr", "session"};
  e.out = (dir_ / "eval").string();
  e.threads = 1;
  absl::StatusOr<EvaluationResult> r = RunEvaluate(e, false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->protocol, "session-next");
}

TEST_F(ModelCommandsTest, EvaluateRefusesMisplacedOptionsAndUnknownModels) {
  EvaluateSettings e;
  e.events = {Events()};
  e.out = (dir_ / "eval").string();
  e.test_events = {e.events[0]};
  e.protocol = "temporal";
  EXPECT_THAT(std::string(RunEvaluate(e, false).status().message()), HasSubstr("--test-events"));

  e.test_events.clear();
  e.models = {"popular", "deep-magic"};
  const absl::Status s = RunEvaluate(e, false).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("deep-magic"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("hybrid+als"));
  EXPECT_FALSE(fs::exists(dir_ / "eval" / "metrics.json"));

  e.models = {"als"};
  e.protocol = "replay";
  EXPECT_EQ(RunEvaluate(e, false).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace streamrec
