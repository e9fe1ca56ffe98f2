// AlsModel: the solves against Eigen's dense solutions of the HKV normal equations,
// determinism, fold-in, ranking (exclusions, ties, the HNSW path) and Save/Load.

#include "models/als.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stop_token>
#include <string>
#include <vector>

#include "Eigen/Dense"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/als_kernels.h"

namespace streamrec {
namespace {

using testing::Each;
using testing::ElementsAre;
using testing::IsEmpty;

// A random matrix with some structure: each user draws from one of four item groups.
InteractionMatrix RandomMatrix(uint32_t users, uint32_t items, int per_user, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<WeightedInteraction> cells;
  for (uint32_t u = 0; u < users; ++u) {
    const uint32_t group = u % 4;
    for (int n = 0; n < per_user; ++n) {
      uint32_t item = rng() % items;
      if (rng() % 4 != 0) item = (item / 4) * 4 + group;
      if (item >= items) item = group;
      cells.push_back({UserIdx(u), ItemIdx(item), static_cast<float>(1 << (rng() % 4))});
    }
  }
  return InteractionMatrix::FromInteractions(cells, users, items);
}

Eigen::VectorXd AsVector(std::span<const float> v) {
  return Eigen::Map<const Eigen::VectorXf>(v.data(), static_cast<Eigen::Index>(v.size()))
      .cast<double>();
}

// The exact solution of one row's normal equations (see AlsModel): the fixed side's
// rows `fixed`, the row's cells (index, weight).
Eigen::VectorXd SolveRowExactly(const std::vector<Eigen::VectorXd>& fixed,
                                std::span<const uint32_t> indices, std::span<const float> weights,
                                const AlsOptions& o) {
  const Eigen::Index f = fixed.front().size();
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(f, f);
  for (const Eigen::VectorXd& y : fixed) a += y * y.transpose();
  Eigen::VectorXd b = Eigen::VectorXd::Zero(f);
  double weight_sum = 0;
  for (size_t k = 0; k < indices.size(); ++k) {
    const Eigen::VectorXd& y = fixed[indices[k]];
    const double c = 1 + double{o.alpha} * weights[k];
    a += (c - 1) * y * y.transpose();
    b += c * y;
    weight_sum += weights[k];
  }
  const double lambda =
      o.regularization * std::pow(1 + o.alpha * weight_sum, o.regularization_exponent);
  a.diagonal().array() += lambda;
  return a.ldlt().solve(b);
}

template <typename Id>
std::vector<uint32_t> Values(std::span<const Id> ids) {
  std::vector<uint32_t> out;
  for (Id id : ids) out.push_back(id.value);
  return out;
}

std::vector<Eigen::VectorXd> UserRows(const AlsModel& model) {
  std::vector<Eigen::VectorXd> rows;
  for (uint32_t u = 0; u < model.num_users(); ++u)
    rows.push_back(AsVector(model.UserFactors(UserIdx(u))));
  return rows;
}

std::vector<Eigen::VectorXd> ItemRows(const AlsModel& model) {
  std::vector<Eigen::VectorXd> rows;
  for (uint32_t i = 0; i < model.num_items(); ++i)
    rows.push_back(AsVector(model.ItemFactors(ItemIdx(i))));
  return rows;
}

void ExpectNear(const Eigen::VectorXd& actual, const Eigen::VectorXd& expected, double tolerance,
                const std::string& what) {
  EXPECT_LE((actual - expected).norm(), tolerance * std::max(1.0, expected.norm()))
      << what << "\nactual   " << actual.transpose() << "\nexpected " << expected.transpose();
}

// Every item row of `model` against the exact minimiser of its part of the loss, given
// the model's final user factors.
void ExpectItemRowsSolveExactly(const AlsModel& model, const InteractionMatrix& m,
                                const AlsOptions& o, double tolerance, const std::string& label) {
  const std::vector<Eigen::VectorXd> users = UserRows(model);
  const InteractionMatrix::Csr by_item = m.ByItem();
  for (uint32_t i = 0; i < m.num_items(); ++i) {
    const uint64_t begin = by_item.offsets[i], end = by_item.offsets[i + 1];
    const Eigen::VectorXd exact = SolveRowExactly(users, {by_item.indices + begin, end - begin},
                                                  by_item.weights.subspan(begin, end - begin), o);
    ExpectNear(AsVector(model.ItemFactors(ItemIdx(i))), exact, tolerance,
               "item " + std::to_string(i) + label);
  }
}

std::vector<uint32_t> ItemsOf(const std::vector<ScoredItem>& out) {
  std::vector<uint32_t> ids;
  for (const ScoredItem& s : out) ids.push_back(s.item.value);
  return ids;
}

// A model with the given factors, through Load (the layout of AlsModel::Save).
AlsModel ModelWithFactors(int factors, const std::vector<std::vector<float>>& users,
                          const std::vector<std::vector<float>>& items, uint32_t ann_min_items) {
  std::string bytes;
  ByteWriter w(&bytes);
  w.Put<int32_t>(factors);
  w.Put<int32_t>(1);    // iterations
  w.Put(0.1f);          // regularization
  w.Put(1.0f);          // exponent
  w.Put(1.0f);          // alpha
  w.Put<int32_t>(3);    // cg_steps
  w.Put<int32_t>(1);    // threads
  w.Put<uint64_t>(42);  // seed
  w.Put(ann_min_items);
  w.Put(static_cast<uint32_t>(users.size()));
  w.Put(static_cast<uint32_t>(items.size()));
  for (const auto& row : users) w.PutRaw(row.data(), row.size() * sizeof(float));
  for (const auto& row : items) w.PutRaw(row.data(), row.size() * sizeof(float));
  ByteReader r(bytes);
  absl::StatusOr<AlsModel> model = AlsModel::Load(&r);
  EXPECT_TRUE(model.ok()) << model.status();
  return *std::move(model);
}

TEST(AlsTest, ItemFactorsSolveTheirNormalEquationsGivenTheUserFactors) {
  // Items are solved last, against the final user factors: with CG run to convergence
  // every item row is the exact minimiser of its part of the HKV loss.
  const InteractionMatrix m = RandomMatrix(30, 20, 6, 1);
  for (float exponent : {0.0f, 1.0f}) {
    AlsOptions o;
    o.factors = 8;
    o.iterations = 3;
    o.cg_steps = 40;
    o.alpha = 2;
    o.regularization = exponent == 0 ? 0.5f : 0.01f;
    o.regularization_exponent = exponent;
    o.threads = 1;
    const absl::StatusOr<AlsModel> model = AlsModel::Train(m, o);
    ASSERT_TRUE(model.ok()) << model.status();
    ExpectItemRowsSolveExactly(*model, m, o, 1e-4, ", exponent " + std::to_string(exponent));
  }
}

TEST(AlsTest, FewCgStepsApproachTheExactSolve) {
  // The default 3 CG steps from the previous iteration's value: after enough
  // iterations, close to the exact minimiser (warm starts make up for few steps).
  const InteractionMatrix m = RandomMatrix(60, 30, 8, 2);
  AlsOptions o;
  o.factors = 8;
  o.iterations = 30;
  o.regularization = 0.01f;
  o.threads = 1;
  const absl::StatusOr<AlsModel> model = AlsModel::Train(m, o);
  ASSERT_TRUE(model.ok());
  ExpectItemRowsSolveExactly(*model, m, o, 1e-2, "");
}

TEST(AlsTest, SameSeedGivesBitIdenticalFactors) {
  const InteractionMatrix m = RandomMatrix(100, 50, 5, 3);
  AlsOptions o;
  o.factors = 12;
  o.iterations = 2;
  const AlsModel a = *AlsModel::Train(m, o);
  const AlsModel b = *AlsModel::Train(m, o);
  o.seed = 43;
  const AlsModel c = *AlsModel::Train(m, o);
  const auto bytes = [](std::span<const float> f) {
    return std::string(reinterpret_cast<const char*>(f.data()), f.size_bytes());
  };
  EXPECT_EQ(bytes(a.UserFactors(UserIdx(7))), bytes(b.UserFactors(UserIdx(7))));
  EXPECT_EQ(bytes(a.ItemFactors(ItemIdx(7))), bytes(b.ItemFactors(ItemIdx(7))));
  EXPECT_NE(bytes(a.ItemFactors(ItemIdx(7))), bytes(c.ItemFactors(ItemIdx(7))));
}

TEST(AlsTest, StopRequestedDuringTrainingEndsItBeforeTheNextIteration) {
  const InteractionMatrix m = RandomMatrix(100, 50, 5, 3);
  AlsOptions o;
  o.factors = 4;
  o.iterations = 1000;
  std::stop_source stop;
  int iterations_run = 0;
  const absl::StatusOr<AlsModel> model = AlsModel::Train(
      m, o,
      [&](int iteration, double) {
        iterations_run = iteration;
        if (iteration == 2) stop.request_stop();
      },
      stop.get_token());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(model.status().message(), testing::HasSubstr("before iteration 3"));
  EXPECT_EQ(iterations_run, 2);
}

TEST(AlsTest, ThreadCountDoesNotChangeAnyBit) {
  // Enough rows for several tasks per side (256 rows each).
  const InteractionMatrix m = RandomMatrix(1100, 600, 6, 4);
  AlsOptions o;
  o.factors = 10;  // stride 16: padding in every row
  o.iterations = 2;
  o.threads = 1;
  const AlsModel one = *AlsModel::Train(m, o);
  o.threads = 3;
  const AlsModel three = *AlsModel::Train(m, o);
  std::string a, b;
  ByteWriter wa(&a), wb(&b);
  one.Save(&wa);
  three.Save(&wb);
  // Everything but the thread count (bytes 24..28) is the same.
  EXPECT_EQ(a.substr(0, 24), b.substr(0, 24));
  EXPECT_EQ(a.substr(28), b.substr(28));
}

TEST(AlsTest, DefaultRegularizationIsFilledIn) {
  const InteractionMatrix m = RandomMatrix(10, 10, 3, 5);
  AlsOptions o;
  o.factors = 4;
  o.iterations = 1;
  const AlsModel model = *AlsModel::Train(m, o);
  EXPECT_EQ(model.options().regularization, kDefaultAlsRegularization);
}

TEST(AlsTest, FoldInOfATrainedUserSolvesItsNormalEquationsExactly) {
  const InteractionMatrix m = RandomMatrix(50, 30, 8, 6);
  AlsOptions o;
  o.factors = 8;
  o.iterations = 3;
  const AlsModel model = *AlsModel::Train(m, o);
  const std::vector<Eigen::VectorXd> items = ItemRows(model);
  for (uint32_t u : {0u, 17u, 49u}) {
    const std::span<const ItemIdx> user_items = m.UserItems(UserIdx(u));
    const std::vector<uint32_t> indices = Values(user_items);
    const Eigen::VectorXd exact =
        SolveRowExactly(items, indices, m.UserWeights(UserIdx(u)), model.options());
    const std::vector<float> folded = model.FoldIn(user_items, m.UserWeights(UserIdx(u)));
    ExpectNear(AsVector(folded), exact, 1e-5, "user " + std::to_string(u));
  }
}

TEST(AlsTest, FoldInOfFewCellsAndOfManySolvesTheNormalEquationsExactly) {
  // Fewer cells than factors take Woodbury's identity in Y^T Y's eigenbasis; as many or
  // more take the direct f x f solve. Both give the exact solution, also with a strong
  // or a weak regularization.
  constexpr int kFactors = 16;
  const InteractionMatrix m = RandomMatrix(40, 60, 10, 11);
  for (const float regularization : {0.1f, 10.0f, 1e-4f}) {
    AlsOptions o;
    o.factors = kFactors;
    o.iterations = 3;
    o.regularization = regularization;
    const AlsModel model = *AlsModel::Train(m, o);
    const std::vector<Eigen::VectorXd> items = ItemRows(model);
    std::mt19937 rng(4);
    for (const int cells : {1, 2, 5, kFactors - 1, kFactors, 3 * kFactors}) {
      std::vector<uint32_t> indices;
      std::vector<ItemIdx> ids;
      std::vector<float> weights;
      for (int c = 0; c < cells; ++c) {
        indices.push_back(static_cast<uint32_t>(c * 7 % 60));  // distinct for cells <= 60
        ids.push_back(ItemIdx(indices.back()));
        weights.push_back(static_cast<float>(1 + rng() % 8));
      }
      const Eigen::VectorXd exact = SolveRowExactly(items, indices, weights, model.options());
      ExpectNear(
          AsVector(model.FoldIn(ids, weights)), exact, 1e-5,
          std::to_string(cells) + " cells, regularization " + std::to_string(regularization));
    }
  }
}

TEST(AlsTest, FoldInSumsRepeatedItemsAndIgnoresUnknownOnes) {
  const InteractionMatrix m = RandomMatrix(20, 12, 4, 7);
  AlsOptions o;
  o.factors = 4;
  o.iterations = 2;
  const AlsModel model = *AlsModel::Train(m, o);
  const std::vector<ItemIdx> repeated = {ItemIdx(3), ItemIdx(500), ItemIdx(5), ItemIdx(3)};
  const std::vector<float> repeated_weights = {1, 9, 2, 4};
  const std::vector<ItemIdx> merged = {ItemIdx(3), ItemIdx(5)};
  const std::vector<float> merged_weights = {5, 2};
  EXPECT_EQ(model.FoldIn(repeated, repeated_weights), model.FoldIn(merged, merged_weights));
  EXPECT_THAT(model.FoldIn({}, {}), ElementsAre(0, 0, 0, 0));
}

TEST(AlsTest, RecommendSkipsExcludedItemsAndBreaksTiesByLowerId) {
  const AlsModel model = ModelWithFactors(
      2, {{1, 0}}, {{1, 0}, {2, 0}, {5, 0}, {2, 0}, {0, 1}, {-1, 0}}, /*ann_min_items=*/1000);
  std::vector<ScoredItem> out;
  model.Recommend(
      model.UserFactors(UserIdx(0)), 3, [](ItemIdx i) { return i.value == 2; }, &out);
  EXPECT_THAT(ItemsOf(out), ElementsAre(1, 3, 0));
  EXPECT_EQ(out[0].score, 2);
  EXPECT_EQ(out[1].score, 2);
  model.Recommend(model.UserFactors(UserIdx(0)), 100, &NeverExcluded, &out);
  EXPECT_THAT(ItemsOf(out), ElementsAre(2, 1, 3, 0, 4, 5));
}

TEST(AlsTest, FactorsOfAnotherSizeGiveAnEmptyAnswer) {
  const AlsModel model = ModelWithFactors(2, {{1, 0}}, {{1, 0}}, 1000);
  EXPECT_THAT(model.UserFactors(UserIdx(1)), IsEmpty());
  EXPECT_THAT(model.ItemFactors(ItemIdx(1)), IsEmpty());
  std::vector<ScoredItem> out = {ScoredItem{}};
  model.Recommend(model.UserFactors(UserIdx(1)), 10, &NeverExcluded, &out);
  EXPECT_THAT(out, IsEmpty());
}

TEST(AlsTest, AnnPathFindsTheExactTopKOnAClearCase) {
  // 2000 small random items and 30 planted ones along the query: the top 10 are
  // planted and far ahead of the rest, so HNSW must return exactly the scan's answer,
  // exclusions included.
  constexpr int kFactors = 16;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> noise(-0.1f, 0.1f);
  std::vector<std::vector<float>> items(2000, std::vector<float>(kFactors));
  for (auto& row : items) {
    for (float& v : row) v = noise(rng);
  }
  for (int p = 0; p < 30; ++p) {
    std::vector<float>& row = items[(p * 67 + 5) % items.size()];
    row[0] = 2.0f + 0.1f * p;
  }
  std::vector<float> query(kFactors, 0.0f);
  query[0] = 1;
  const AlsModel exact = ModelWithFactors(kFactors, {query}, items, /*ann_min_items=*/1'000'000);
  const AlsModel ann = ModelWithFactors(kFactors, {query}, items, /*ann_min_items=*/0);
  const auto excluded = [](ItemIdx i) { return i.value % 3 == 0; };
  std::vector<ScoredItem> want, got;
  exact.Recommend(query, 10, excluded, &want);
  ann.Recommend(query, 10, excluded, &got);
  ASSERT_EQ(want.size(), 10u);
  EXPECT_EQ(got, want);
}

TEST(AlsTest, ScanThatStopsAtTheNormBoundGivesTheFullScansAnswer) {
  // Items of norms from 0.01 to 10 (so the bound stops the scan early), some repeated
  // under another id (exact ties across panels), queries of every sign and the zero one.
  constexpr int kFactors = 16;  // = the stride: rows are contiguous for the brute force
  constexpr uint32_t kItems = 1000;
  std::mt19937 rng(5);
  std::normal_distribution<float> direction(0, 1);
  std::uniform_real_distribution<float> log_norm(-2, 1);
  std::vector<std::vector<float>> items(kItems, std::vector<float>(kFactors));
  for (auto& row : items) {
    const float scale = std::pow(10.0f, log_norm(rng)) / std::sqrt(float{kFactors});
    for (float& v : row) v = direction(rng) * scale;
  }
  for (uint32_t i = 0; i < 40; ++i) items[kItems - 1 - 3 * i] = items[7 * i];
  std::vector<std::vector<float>> queries(12, std::vector<float>(kFactors));
  for (auto& q : queries) {
    for (float& v : q) v = direction(rng);
  }
  queries[4].assign(kFactors, 1.0f);
  for (float& v : queries[1]) v = -std::abs(v);
  queries[2].assign(kFactors, 0.0f);
  queries[3] = items[7];  // its own top item, and the copies of it
  // Items along queries[4] at falling norms: each is ahead of every other item, though
  // most of the catalogue has a larger norm than the later ones.
  const float planted_norms[] = {10, 7, 5, 3, 2};
  for (size_t p = 0; p < std::size(planted_norms); ++p) {
    for (int f = 0; f < kFactors; ++f) {
      items[100 + 50 * p][f] = queries[4][f] * planted_norms[p] / std::sqrt(float{kFactors});
    }
  }
  // Three items the codes misjudge (queries[4] is all ones). a = 2.5 everywhere sits on
  // its code grid; b falls short of a by 0.51 of a code step on 15 factors, which the
  // codes round to a whole step; c, of a larger norm than b, scores between b's code and
  // b: a scan that trusted the codes would keep c and miss b at k = 2.
  const float step = 2.5f / als_internal::kCodeLimit;
  items[600].assign(kFactors, 2.5f);
  items[601].assign(kFactors, 2.5f - 0.51f * step);
  items[601][0] = 2.5f;
  items[602].assign(kFactors, 2.5f - 0.7f * step);
  items[602][0] += 2;
  items[602][1] -= 2;
  const AlsModel model = ModelWithFactors(kFactors, queries, items, /*ann_min_items=*/1'000'000);
  const float* rows = model.ItemFactors(ItemIdx(0)).data();
  const auto every_seventh = [](ItemIdx i) { return i.value % 7 == 3; };
  for (uint32_t u = 0; u < queries.size(); ++u) {
    std::vector<float> dots(kItems);
    als_internal::BestKernels().dots(rows, kItems, kFactors, queries[u].data(), dots.data());
    for (const size_t k : {1, 2, 3, 5, 10, 50, 999, 2000}) {
      for (const bool exclude : {false, true}) {
        std::vector<ScoredItem> want;
        for (uint32_t i = 0; i < kItems; ++i) {
          if (!exclude || !every_seventh(ItemIdx(i))) want.push_back({ItemIdx(i), dots[i], {}});
        }
        std::sort(want.begin(), want.end(), [](const ScoredItem& a, const ScoredItem& b) {
          return a.score != b.score ? a.score > b.score : a.item.value < b.item.value;
        });
        if (want.size() > k) want.resize(k);
        std::vector<ScoredItem> got;
        model.Recommend(
            queries[u], k, [&](ItemIdx i) { return exclude && every_seventh(i); }, &got);
        EXPECT_EQ(got, want) << "query " << u << ", k " << k << ", exclude " << exclude;
      }
    }
  }
}

TEST(AlsTest, ScoreGivesRecommendsFloatsAndZeroForUnknownItems) {
  const AlsModel model = *AlsModel::Train(RandomMatrix(50, 300, 12, 3), {.factors = 24});
  const std::span<const float> user = model.UserFactors(UserIdx(4));
  std::vector<ScoredItem> top;
  model.Recommend(user, 300, &NeverExcluded, &top);
  ASSERT_EQ(top.size(), 300u);
  std::vector<ItemIdx> items;
  for (const ScoredItem& s : top) items.push_back(s.item);
  items.push_back(ItemIdx(300));  // out of range
  std::vector<float> scores(items.size(), -1.0f);
  model.Score(user, items, scores);
  for (size_t j = 0; j < top.size(); ++j) {
    EXPECT_EQ(scores[j], static_cast<float>(top[j].score)) << "item " << items[j].value;
  }
  EXPECT_EQ(scores.back(), 0.0f);
  const std::vector<float> too_short(5, 1.0f);
  model.Score(too_short, items, scores);
  EXPECT_THAT(scores, Each(0.0f));
}

TEST(AlsTest, QueryThatIsNotFiniteIsScoredWithoutCodes) {
  // inf * y: +inf for y > 0, -inf for y < 0, NaN for 0 (never ahead of a number).
  const AlsModel model =
      ModelWithFactors(2, {{1, 0}}, {{1, 0}, {-1, 0}, {2, 0}, {0, 1}}, /*ann_min_items=*/1000);
  const std::vector<float> query = {std::numeric_limits<float>::infinity(), 0};
  std::vector<ScoredItem> out;
  model.Recommend(query, 2, &NeverExcluded, &out);
  EXPECT_THAT(ItemsOf(out), ElementsAre(0, 2));
  EXPECT_EQ(out[0].score, std::numeric_limits<double>::infinity());
}

TEST(AlsTest, SimilarItemsIsCosineWithoutTheItemItself) {
  const AlsModel model =
      ModelWithFactors(2, {{1, 0}}, {{1, 0}, {3, 0}, {1, 1}, {0, 0}, {-1, 0}}, 1000);
  std::vector<ScoredItem> out;
  model.SimilarItems(ItemIdx(0), 10, &out);
  EXPECT_THAT(ItemsOf(out), ElementsAre(1, 2, 3, 4));
  EXPECT_DOUBLE_EQ(out[0].score, 1);
  EXPECT_NEAR(out[1].score, std::sqrt(0.5), 1e-6);
  EXPECT_EQ(out[2].score, 0);  // the zero vector
  EXPECT_DOUBLE_EQ(out[3].score, -1);
  model.SimilarItems(ItemIdx(9), 10, &out);
  EXPECT_THAT(out, IsEmpty());
}

TEST(AlsTest, SaveLoadRoundTripAndTruncation) {
  const InteractionMatrix m = RandomMatrix(20, 12, 4, 8);
  AlsOptions o;
  o.factors = 5;
  o.iterations = 1;
  const AlsModel model = *AlsModel::Train(m, o);
  std::string bytes;
  ByteWriter w(&bytes);
  model.Save(&w);
  ByteReader r(bytes);
  const absl::StatusOr<AlsModel> loaded = AlsModel::Load(&r);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(r.at_end());
  EXPECT_THAT(loaded->ItemFactors(ItemIdx(11)),
              testing::ElementsAreArray(model.ItemFactors(ItemIdx(11))));
  EXPECT_EQ(loaded->options().regularization, model.options().regularization);
  for (size_t cut : {size_t{3}, size_t{40}, bytes.size() - 1}) {
    ByteReader truncated(std::string_view(bytes).substr(0, cut));
    EXPECT_EQ(AlsModel::Load(&truncated).status().code(), absl::StatusCode::kDataLoss) << cut;
  }
}

TEST(AlsTest, ValidateNamesTheField) {
  const auto message = [](auto change) {
    AlsOptions o;
    change(o);
    const absl::Status s = ValidateAlsOptions(o);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    return std::string(s.message());
  };
  EXPECT_THAT(message([](AlsOptions& o) { o.factors = 0; }), testing::HasSubstr("factors"));
  EXPECT_THAT(message([](AlsOptions& o) { o.alpha = 0; }), testing::HasSubstr("alpha"));
  EXPECT_THAT(message([](AlsOptions& o) { o.cg_steps = 0; }), testing::HasSubstr("cg_steps"));
  EXPECT_THAT(message([](AlsOptions& o) { o.regularization_exponent = 2; }),
              testing::HasSubstr("regularization_exponent"));
  EXPECT_TRUE(ValidateAlsOptions(AlsOptions{}).ok());
}

// Stores item code c (in [-kCodeLimit, kCodeLimit]) of `slot`'s factor f in the scan's
// panels, as als_kernels.h lays them out.
void PutCode(std::vector<uint8_t>* panels, int stride, size_t slot, int f, int c) {
  using als_internal::kLanes;
  uint8_t& byte = (*panels)[slot / kLanes * stride / 2 * kLanes + 4 * kLanes * (f / 8) +
                            4 * (slot % kLanes) + f % 4];
  const auto nibble = static_cast<uint8_t>(c + 8);
  byte = f % 8 < 4 ? (byte & 0xf0) | nibble : (byte & 0x0f) | (nibble << 4);
}

// The query's int8 codes as the kernels take them, four to a quad.
std::vector<uint32_t> Quads(const std::vector<int8_t>& query) {
  std::vector<uint32_t> quads(query.size() / 4);
  for (size_t f = 0; f < query.size(); ++f) {
    quads[f / 4] |= uint32_t{static_cast<uint8_t>(query[f])} << (8 * (f % 4));
  }
  return quads;
}

int32_t CodeSum(const std::vector<int8_t>& query) {
  int32_t sum = 0;
  for (const int8_t q : query) sum += q;
  return sum;
}

TEST(AlsKernelsTest, ScanBoundsAreTheExactCodeSumsInEveryBuild) {
  using als_internal::kCodeLimit;
  using als_internal::kLanes;
  std::mt19937 rng(3);
  for (const int stride : {8, 24, 512}) {
    constexpr size_t kPanels = 5, kSlots = kPanels * kLanes;  // a group of 4, then 1
    std::vector<std::vector<int>> codes(kSlots, std::vector<int>(stride));
    std::vector<int8_t> query(stride);
    for (auto& row : codes) {
      for (int& c : row) c = static_cast<int>(rng() % (2 * kCodeLimit + 1)) - kCodeLimit;
    }
    for (int8_t& q : query) q = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    if (stride == 512) {  // the extremes: every code and query code at its most
      query.assign(stride, 127);
      codes[0].assign(stride, kCodeLimit);
      codes[1].assign(stride, -kCodeLimit);
    }
    std::vector<uint8_t> panels(kSlots * stride / 2);
    std::vector<float> want(kSlots);
    for (size_t r = 0; r < kSlots; ++r) {
      int64_t sum = 0;
      for (int f = 0; f < stride; ++f) {
        PutCode(&panels, stride, r, f, codes[r][f]);
        sum += int64_t{codes[r][f]} * query[f];
      }
      want[r] = static_cast<float>(sum);
    }
    const std::vector<uint32_t> quads = Quads(query);
    const std::vector<float> ones(kSlots, 1.0f), zeros(kSlots, 0.0f);
    for (const als_internal::KernelSet* kernels : als_internal::SupportedKernels()) {
      std::vector<float> got(kSlots);
      const float largest =
          kernels->scan_bounds(panels.data(), kPanels, stride, quads.data(), CodeSum(query),
                               {ones.data(), zeros.data(), zeros.data()},
                               {.scale = 1, .error = 0, .code_norm = 0}, got.data());
      EXPECT_EQ(got, want) << kernels->name << ", stride " << stride;
      EXPECT_EQ(largest, *std::max_element(want.begin(), want.end()));
    }
  }
}

TEST(AlsKernelsTest, ScanBoundsAddTheWeightedErrorTerms) {
  using als_internal::kLanes;
  constexpr int kStride = 8;
  std::vector<uint8_t> panels(kLanes * kStride / 2, 0x88);  // every code 0
  PutCode(&panels, kStride, 0, 0, 3);                       // item 0, factor 0
  const std::vector<int8_t> query = {2, 0, 0, 0, 2, 0, 0, 0};
  const std::vector<uint32_t> quads = Quads(query);
  std::vector<float> scales(kLanes, 0.5f), errors(kLanes, 4.0f), code_norms(kLanes, 8.0f);
  for (const als_internal::KernelSet* kernels : als_internal::SupportedKernels()) {
    std::vector<float> got(kLanes);
    const float largest =
        kernels->scan_bounds(panels.data(), 1, kStride, quads.data(), CodeSum(query),
                             {scales.data(), errors.data(), code_norms.data()},
                             {.scale = 0.25f, .error = 0.5f, .code_norm = 0.125f}, got.data());
    // 3 * 2 * 0.5 * 0.25 + 0.5 * 4 + 0.125 * 8 = 0.75 + 2 + 1; the rest have no code sum.
    EXPECT_THAT(got, ElementsAre(3.75f, 3, 3, 3, 3, 3, 3, 3)) << kernels->name;
    EXPECT_EQ(largest, 3.75f);
  }
}

// The row solves and the Gram matrix of `best` equal the generic build's up to rounding.
void ExpectAgreesWithGenericKernels(const als_internal::KernelSet& best) {
  using als_internal::HalfStep;
  constexpr int kStride = 24;
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> fixed(10 * kStride), solved_best(4 * kStride), solved_generic;
  for (float& v : fixed) v = u(rng);
  for (float& v : solved_best) v = u(rng);
  solved_generic = solved_best;
  const als_internal::KernelSet& generic = als_internal::GenericKernels();
  std::vector<float> gram_best(kStride * kStride, 0), gram_generic = gram_best;
  best.add_gram(fixed.data(), 0, 10, kStride, gram_best.data());
  generic.add_gram(fixed.data(), 0, 10, kStride, gram_generic.data());
  for (size_t c = 0; c < gram_best.size(); ++c) EXPECT_NEAR(gram_best[c], gram_generic[c], 1e-4);

  const std::vector<uint64_t> offsets = {0, 3, 3, 5, 9};
  const std::vector<uint32_t> indices = {0, 4, 9, 1, 2, 3, 5, 7, 8};
  const std::vector<float> weights = {1, 2, 4, 8, 1, 1, 2, 2, 3};
  const std::vector<float> lambda = {0.5f, 0.5f, 1.0f, 2.0f};
  std::vector<float> scratch(3 * kStride);
  HalfStep step{.fixed = fixed.data(),
                .gram = gram_generic.data(),
                .offsets = offsets.data(),
                .indices = indices.data(),
                .weights = weights.data(),
                .lambda = lambda.data(),
                .alpha = 2,
                .stride = kStride,
                .cg_steps = 3,
                .solved = solved_best.data()};
  best.solve_rows(step, 0, 4, scratch.data());
  step.solved = solved_generic.data();
  generic.solve_rows(step, 0, 4, scratch.data());
  for (size_t c = 0; c < solved_best.size(); ++c) {
    EXPECT_NEAR(solved_best[c], solved_generic[c], 1e-4) << c;
  }
  EXPECT_THAT(std::vector<float>(solved_best.begin() + kStride, solved_best.begin() + 2 * kStride),
              testing::Each(0.0f));  // a row without cells
}

// Every build the CPU runs against the generic one.
TEST(AlsKernelsTest, EveryBuildAgreesWithTheGenericKernels) {
  for (const als_internal::KernelSet* best : als_internal::SupportedKernels()) {
    SCOPED_TRACE(best->name);
    ExpectAgreesWithGenericKernels(*best);
  }
}

}  // namespace
}  // namespace streamrec
