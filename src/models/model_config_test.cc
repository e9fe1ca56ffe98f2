// Config validation: each rule refuses the value it names.

#include "models/model_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using testing::HasSubstr;

absl::Status With(void (*change)(ModelConfig&)) {
  ModelConfig c;
  change(c);
  return ValidateModelConfig(c);
}

TEST(ModelConfigTest, DefaultsAreValid) { EXPECT_TRUE(ValidateModelConfig({}).ok()); }

TEST(ModelConfigTest, NegativeOrZeroHalfLifeIsInvalid) {
  const absl::Status s = With([](ModelConfig& c) { c.trending_half_life_micros = -1; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("trending_half_life"));
  EXPECT_FALSE(With([](ModelConfig& c) { c.trending_half_life_micros = 0; }).ok());
}

TEST(ModelConfigTest, NegativeOrNonFiniteWeightIsInvalid) {
  EXPECT_THAT(With([](ModelConfig& c) { c.event_weights[3] = -1; }).message(),
              HasSubstr("purchase"));
  EXPECT_FALSE(With([](ModelConfig& c) { c.event_weights[0] = std::nanf(""); }).ok());
}

TEST(ModelConfigTest, PairWindowMustLeaveRoomInRecentItems) {
  EXPECT_FALSE(With([](ModelConfig& c) { c.pair_window = c.recent_items; }).ok());
  EXPECT_TRUE(With([](ModelConfig& c) { c.pair_window = c.recent_items - 1; }).ok());
  EXPECT_TRUE(With([](ModelConfig& c) { c.pair_window = 0; }).ok());
}

TEST(ModelConfigTest, OutOfRangeKnobsAreInvalid) {
  EXPECT_FALSE(With([](ModelConfig& c) { c.neighbours = 0; }).ok());
  EXPECT_FALSE(With([](ModelConfig& c) { c.neighbours = 255; }).ok());
  EXPECT_FALSE(With([](ModelConfig& c) { c.top_candidates = 0; }).ok());
  EXPECT_FALSE(With([](ModelConfig& c) { c.recent_items = 0; }).ok());
  EXPECT_FALSE(With([](ModelConfig& c) { c.cross_session_weight = 1.5f; }).ok());
  EXPECT_FALSE(With([](ModelConfig& c) { c.shrinkage = -1; }).ok());
  EXPECT_FALSE(With([](ModelConfig& c) { c.recency_decay = 0; }).ok());
  EXPECT_FALSE(With([](ModelConfig& c) { c.trending_blend = -0.1f; }).ok());
  EXPECT_FALSE(With([](ModelConfig& c) { c.cold_start = ModelKind::kSession; }).ok());
}

}  // namespace
}  // namespace streamrec
