#include "synth/ratings_generator.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/test_temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct Row {
  int64_t user, item, rating, time;
};

class RatingsGeneratorTest : public ::testing::Test {
 protected:
  static std::string Read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static std::vector<Row> Parse(const std::string& text) {
    std::vector<Row> rows;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      Row r{};
      std::string rest;
      EXPECT_TRUE(fields >> r.user >> r.item >> r.rating >> r.time) << line;
      EXPECT_FALSE(fields >> rest) << "more than four fields: " << line;
      EXPECT_EQ(std::count(line.begin(), line.end(), '\t'), 3) << line;
      rows.push_back(r);
    }
    return rows;
  }

  TempDir temp_{"ratings_generator"};
  const fs::path dir_ = temp_.path();
};

TEST_F(RatingsGeneratorTest, DefaultsHaveMovieLens100KShape) {
  const fs::path path = dir_ / "ratings.tsv";
  ASSERT_TRUE(GenerateRatings({}, path.string()).ok());
  const std::vector<Row> rows = Parse(Read(path));
  ASSERT_EQ(rows.size(), 100000u);
  absl::flat_hash_map<int64_t, int> per_user, per_item;
  std::set<std::pair<int64_t, int64_t>> pairs;
  for (const Row& r : rows) {
    ASSERT_GE(r.user, 1);
    ASSERT_LE(r.user, 943);
    ASSERT_GE(r.item, 1);
    ASSERT_LE(r.item, 1682);
    ASSERT_GE(r.rating, 1);
    ASSERT_LE(r.rating, 5);
    ASSERT_GE(r.time, 874724710);
    ASSERT_LE(r.time, 893286638);
    ++per_user[r.user];
    ++per_item[r.item];
    EXPECT_TRUE(pairs.insert({r.user, r.item}).second) << "a user rated an item twice";
  }
  EXPECT_EQ(per_user.size(), 943u);
  int least = 1 << 30, most = 0;
  for (const auto& [user, n] : per_user) least = std::min(least, n), most = std::max(most, n);
  EXPECT_GE(least, 20);
  EXPECT_GT(most, 300) << "activity should be long-tailed";
  int most_rated = 0, rated_once_or_twice = 0;
  for (const auto& [item, n] : per_item) {
    most_rated = std::max(most_rated, n);
    rated_once_or_twice += n <= 2;
  }
  EXPECT_GT(most_rated, 300) << "popularity should be long-tailed";
  EXPECT_GT(rated_once_or_twice, 50);
}

TEST_F(RatingsGeneratorTest, SameSeedSameBytesOtherSeedOtherBytes) {
  RatingsOptions o{.users = 50, .items = 200, .ratings = 3000, .seed = 7};
  ASSERT_TRUE(GenerateRatings(o, (dir_ / "a.tsv").string()).ok());
  ASSERT_TRUE(GenerateRatings(o, (dir_ / "b.tsv").string()).ok());
  o.seed = 8;
  ASSERT_TRUE(GenerateRatings(o, (dir_ / "c.tsv").string()).ok());
  EXPECT_EQ(Read(dir_ / "a.tsv"), Read(dir_ / "b.tsv"));
  EXPECT_NE(Read(dir_ / "a.tsv"), Read(dir_ / "c.tsv"));
}

TEST_F(RatingsGeneratorTest, RowsAreByUserThenTime) {
  ASSERT_TRUE(
      GenerateRatings({.users = 30, .items = 100, .ratings = 1000}, (dir_ / "r.tsv").string())
          .ok());
  const std::vector<Row> rows = Parse(Read(dir_ / "r.tsv"));
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_TRUE(rows[i - 1].user < rows[i].user ||
                (rows[i - 1].user == rows[i].user && rows[i - 1].time <= rows[i].time))
        << "row " << i;
  }
}

TEST_F(RatingsGeneratorTest, TooManyRatingsForTheCatalogueIsRefused) {
  const absl::Status s = GenerateRatings(
      {.users = 10, .items = 20, .ratings = 150, .min_per_user = 5}, (dir_ / "r.tsv").string());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--ratings"));
  EXPECT_FALSE(fs::exists(dir_ / "r.tsv"));
}

TEST_F(RatingsGeneratorTest, MinimumAboveHalfTheCatalogueIsRefused) {
  const absl::Status s = ValidateRatingsOptions({.items = 30, .min_per_user = 16});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--min-per-user"));
}

}  // namespace
}  // namespace streamrec
