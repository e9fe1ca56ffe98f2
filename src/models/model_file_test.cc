// The model file: round trips of both kinds, and every way a file can be wrong.

#include "models/model_file.h"

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/mem_env.h"

namespace streamrec {
namespace {

using testing::ElementsAreArray;
using testing::HasSubstr;

InteractionMatrix SmallMatrix() {
  std::mt19937 rng(5);
  std::vector<WeightedInteraction> cells;
  for (int n = 0; n < 120; ++n) {
    cells.push_back({UserIdx(rng() % 12), ItemIdx(rng() % 9), static_cast<float>(1 + rng() % 4)});
  }
  return InteractionMatrix::FromInteractions(cells, 12, 9);
}

std::vector<std::string> Names(const char* prefix, int n) {
  std::vector<std::string> names;
  for (int k = 0; k < n; ++k) names.push_back(prefix + std::to_string(k));
  return names;
}

TrainedModel AlsFile() {
  AlsOptions o;
  o.factors = 6;
  o.iterations = 2;
  return TrainedModel{.kind = BatchModelKind::kAls,
                      .user_ids = Names("user-", 12),
                      .item_ids = Names("sku-", 9),
                      .als = *AlsModel::Train(SmallMatrix(), o)};
}

TrainedModel ItemKnnFile() {
  return TrainedModel{.kind = BatchModelKind::kItemKnn,
                      .item_ids = Names("sku-", 9),
                      .item_knn = *ItemKnnModel::Train(SmallMatrix(), {.neighbours = 4})};
}

class ModelFileTest : public testing::Test {
 protected:
  std::string Path(const std::string& name) const { return testing::TempDir() + "/" + name; }

  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static void Write(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }
};

TEST_F(ModelFileTest, AlsRoundTripKeepsFactorsIdsAndOptions) {
  const TrainedModel model = AlsFile();
  const std::string path = Path("als.model");
  ASSERT_TRUE(WriteModelFile(path, model).ok());
  const absl::StatusOr<TrainedModel> read = ReadModelFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->kind, BatchModelKind::kAls);
  EXPECT_EQ(read->user_ids, model.user_ids);
  EXPECT_EQ(read->item_ids, model.item_ids);
  ASSERT_TRUE(read->als.has_value());
  EXPECT_FALSE(read->item_knn.has_value());
  EXPECT_EQ(read->als->options().regularization, model.als->options().regularization);
  for (uint32_t u = 0; u < 12; ++u) {
    EXPECT_THAT(read->als->UserFactors(UserIdx(u)),
                ElementsAreArray(model.als->UserFactors(UserIdx(u))));
  }
  for (uint32_t i = 0; i < 9; ++i) {
    EXPECT_THAT(read->als->ItemFactors(ItemIdx(i)),
                ElementsAreArray(model.als->ItemFactors(ItemIdx(i))));
  }
  EXPECT_FALSE(std::ifstream(path + ".tmp").good());
}

TEST_F(ModelFileTest, ItemKnnRoundTripKeepsNeighbours) {
  const TrainedModel model = ItemKnnFile();
  const std::string path = Path("item.model");
  ASSERT_TRUE(WriteModelFile(path, model).ok());
  const absl::StatusOr<TrainedModel> read = ReadModelFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->kind, BatchModelKind::kItemKnn);
  EXPECT_TRUE(read->user_ids.empty());
  EXPECT_EQ(read->item_ids, model.item_ids);
  std::vector<ScoredItem> a, b;
  for (uint32_t i = 0; i < 9; ++i) {
    model.item_knn->SimilarItems(ItemIdx(i), 10, &a);
    read->item_knn->SimilarItems(ItemIdx(i), 10, &b);
    EXPECT_EQ(a, b) << i;
  }
}

TEST_F(ModelFileTest, KindNames) {
  EXPECT_EQ(BatchModelKindName(BatchModelKind::kAls), "als");
  EXPECT_EQ(BatchModelKindName(BatchModelKind::kItemKnn), "item");
}

TEST_F(ModelFileTest, MissingFileIsNotFound) {
  const absl::StatusOr<TrainedModel> read = ReadModelFile(Path("no-such.model"));
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(read.status().message(), HasSubstr("no-such.model"));
}

TEST_F(ModelFileTest, EveryTruncationIsDataLoss) {
  MemEnv env;
  ASSERT_TRUE(env.CreateDir("/d").ok());
  ASSERT_TRUE(WriteModelFile(&env, "/d/m", ItemKnnFile()).ok());
  const std::string bytes = *env.Contents("/d/m");
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    env.SetContents("/d/m", bytes.substr(0, cut));
    const absl::Status s = ReadModelFile(&env, "/d/m").status();
    ASSERT_EQ(s.code(), absl::StatusCode::kDataLoss) << "cut at " << cut << ": " << s;
    ASSERT_THAT(s.message(), HasSubstr("/d/m"));
  }
}

TEST_F(ModelFileTest, BumpedVersionIsFailedPrecondition) {
  const std::string path = Path("version.model");
  ASSERT_TRUE(WriteModelFile(path, AlsFile()).ok());
  std::string bytes = Read(path);
  bytes[8] = static_cast<char>(kModelFileVersion + 1);  // the version follows the magic
  Write(path, bytes);
  const absl::Status s = ReadModelFile(path).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("version 2"));
}

TEST_F(ModelFileTest, OtherFileIsFailedPrecondition) {
  const std::string path = Path("other.model");
  Write(path, "user_id,item_id\n1,2\n3,4\n");
  const absl::Status s = ReadModelFile(path).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("not a streamrec model file"));
}

TEST_F(ModelFileTest, EveryFlippedByteAfterTheVersionIsDataLoss) {
  MemEnv env;
  ASSERT_TRUE(env.CreateDir("/d").ok());
  ASSERT_TRUE(WriteModelFile(&env, "/d/m", AlsFile()).ok());
  const std::string bytes = *env.Contents("/d/m");
  for (size_t at = 12; at < bytes.size(); ++at) {
    std::string flipped = bytes;
    flipped[at] ^= 0x10;
    env.SetContents("/d/m", flipped);
    const absl::Status s = ReadModelFile(&env, "/d/m").status();
    ASSERT_EQ(s.code(), absl::StatusCode::kDataLoss) << "byte " << at << ": " << s;
  }
}

TEST_F(ModelFileTest, InconsistentModelIsNotWritten) {
  TrainedModel model = AlsFile();
  model.item_ids.pop_back();
  EXPECT_EQ(WriteModelFile(Path("bad.model"), model).code(), absl::StatusCode::kInvalidArgument);
  model = ItemKnnFile();
  model.kind = BatchModelKind::kAls;
  EXPECT_EQ(WriteModelFile(Path("bad.model"), model).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ModelFileTest, WrittenFileSurvivesPowerLossAndAFailedRewriteKeepsIt) {
  MemEnv env;
  ASSERT_TRUE(env.CreateDir("/models").ok());
  ASSERT_TRUE(WriteModelFile(&env, "/models/m", ItemKnnFile()).ok());
  env.SimulatePowerLoss();
  ASSERT_TRUE(ReadModelFile(&env, "/models/m").ok());
  env.FailSyncs(true);
  EXPECT_FALSE(WriteModelFile(&env, "/models/m", AlsFile()).ok());
  env.SimulatePowerLoss();
  const absl::StatusOr<TrainedModel> read = ReadModelFile(&env, "/models/m");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->kind, BatchModelKind::kItemKnn);
}

}  // namespace
}  // namespace streamrec
