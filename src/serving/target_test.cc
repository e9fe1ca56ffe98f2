#include "serving/target.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace streamrec {
namespace {

TEST(TargetTest, EveryRouteIsMatched) {
  const std::pair<const char*, Route> cases[] = {
      {"/v1/events", Route::kEvents},
      {"/v1/users/u1/recommendations?k=5", Route::kUserRecommendations},
      {"/v1/sessions/recommendations", Route::kSessionRecommendations},
      {"/v1/items/i1/similar", Route::kSimilarItems},
      {"/v1/popular?window=all_time", Route::kPopular},
      {"/v1/users/u1", Route::kUser},
      {"/v1/items/i1", Route::kItem},
      {"/healthz", Route::kHealthz},
      {"/readyz", Route::kReadyz},
      {"/metrics", Route::kMetrics},
      {"/v1/admin/snapshot", Route::kAdminSnapshot},
      {"/v1/admin/retrain?model=als", Route::kAdminRetrain},
  };
  for (const auto& [target, route] : cases) EXPECT_EQ(MatchRoute(target).route, route) << target;
}

TEST(TargetTest, NearMissesAreUnknown) {
  for (const char* target :
       {"", "*", "v1/events", "/", "/v1", "/v1/", "/v1/events/", "/v2/events", "/v1/popular/x",
        "/v1/users/u1/recommendations/", "/v1/users/u1/similar", "/v1/items/i1/recommendations",
        "/v1/sessions/x", "/v1/admin", "/healthz/", "/a/b/c/d/e/f/g"}) {
    EXPECT_EQ(MatchRoute(target).route, Route::kUnknown) << target;
  }
}

TEST(TargetTest, IdAndQueryAreRaw) {
  RouteMatch m = MatchRoute("/v1/users/u%201%2Fx/recommendations?k=5&exclude=a,b");
  EXPECT_EQ(m.route, Route::kUserRecommendations);
  EXPECT_EQ(m.raw_id, "u%201%2Fx");
  EXPECT_EQ(m.query, "k=5&exclude=a,b");
  m = MatchRoute("/v1/items/i%3F?");
  EXPECT_EQ(m.route, Route::kItem);
  EXPECT_EQ(m.raw_id, "i%3F");
  EXPECT_EQ(m.query, "");
}

TEST(TargetTest, AbsoluteFormNamesTheRouteOfItsPath) {
  RouteMatch m = MatchRoute("http://127.0.0.1:8080/v1/users/u1/recommendations?k=3");
  EXPECT_EQ(m.route, Route::kUserRecommendations);
  EXPECT_EQ(m.raw_id, "u1");
  EXPECT_EQ(m.query, "k=3");
  EXPECT_EQ(MatchRoute("HTTP://shop.example/healthz").route, Route::kHealthz);
  EXPECT_EQ(MatchRoute("http://host/v1/events").route, Route::kEvents);
  EXPECT_EQ(MatchRoute("http://shop.example").route, Route::kUnknown);
  EXPECT_EQ(MatchRoute("v1/events").route, Route::kUnknown);
}

TEST(TargetTest, EmptyIdSegmentStillMatches) {
  // The route answers 400 "empty user id" rather than 404.
  RouteMatch m = MatchRoute("/v1/users//recommendations");
  EXPECT_EQ(m.route, Route::kUserRecommendations);
  EXPECT_EQ(m.raw_id, "");
}

TEST(TargetTest, PercentDecodeDecodesEscapes) {
  std::string out;
  ASSERT_TRUE(PercentDecode("a%20b%2fc%2F%C3%BC", false, &out));
  EXPECT_EQ(out, "a b/c/\xC3\xBC");
  out.clear();
  ASSERT_TRUE(PercentDecode("a+b", false, &out));
  EXPECT_EQ(out, "a+b");
  out.clear();
  ASSERT_TRUE(PercentDecode("a+b%2B", true, &out));
  EXPECT_EQ(out, "a b+");
}

TEST(TargetTest, PercentDecodeRefusesBadEscapes) {
  for (const char* bad : {"%", "%2", "a%zz", "%g0", "x%"}) {
    std::string out;
    EXPECT_FALSE(PercentDecode(bad, false, &out)) << bad;
  }
}

TEST(TargetTest, QueryParamsInOrder) {
  std::vector<std::pair<std::string, std::string>> seen;
  ForEachQueryParam("k=5&&model=&flag&exclude=a,b&k=6",
                    [&](std::string_view k, std::string_view v) { seen.emplace_back(k, v); });
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"k", "5"}, {"model", ""}, {"flag", ""}, {"exclude", "a,b"}, {"k", "6"}};
  EXPECT_EQ(seen, expected);
}

}  // namespace
}  // namespace streamrec
