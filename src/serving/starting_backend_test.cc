#include "serving/starting_backend.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serving/fake_backend.h"
#include "serving/http_server.h"
#include "serving/test_client.h"

namespace streamrec {
namespace {

using ::testing::HasSubstr;

class StartingBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<HttpServer>(
        &starting_, HttpServerOptions{.host = "127.0.0.1", .port = 0, .io_threads = 1});
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override { server_->Stop(); }

  TestClient Client() { return TestClient(server_->port()); }

  FakeBackend engine_;  // outlives the server
  StartingBackend starting_{"recovering the state"};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(StartingBackendTest, BeforeTheEngineOnlyHealthzIsOkAndEverythingElseIs503) {
  EXPECT_EQ(Client().Get("/healthz").result_int(), 200);
  const TestResponse ready = Client().Get("/readyz");
  EXPECT_EQ(ready.result_int(), 503);
  EXPECT_THAT(ready.body(), HasSubstr("starting: recovering the state"));
  EXPECT_EQ(Client().Get("/v1/users/u1/recommendations").result_int(), 503);
  // A model the engine may serve once it is up (its extra models are not known yet).
  EXPECT_EQ(Client().Get("/v1/users/u1/recommendations?model=trending").result_int(), 503);
  // Sessions are never answered by an extra model, starting or not.
  EXPECT_EQ(
      Client().Post("/v1/sessions/recommendations", R"({"events":[],"model":"als"})").result_int(),
      400);
  EXPECT_EQ(Client()
                .Post("/v1/sessions/recommendations", R"({"events":[],"model":"session"})")
                .result_int(),
            503);
  EXPECT_EQ(Client().Get("/v1/popular").result_int(), 503);
  EXPECT_EQ(Client()
                .Post("/v1/events", R"({"user_id":"u1","item_id":"i1","event_type":"view"})")
                .result_int(),
            503);
  EXPECT_EQ(Client().Post("/v1/admin/snapshot", "").result_int(), 503);
  EXPECT_EQ(Client().Get("/metrics").result_int(), 200);  // the server's own
  std::lock_guard lock(engine_.mu);
  EXPECT_EQ(engine_.ingest_calls, 0);
}

TEST_F(StartingBackendTest, OnceHandedOverEveryCallReachesTheEngine) {
  starting_.SetTarget(&engine_);
  EXPECT_EQ(Client().Get("/readyz").result_int(), 200);
  EXPECT_EQ(Client().Get("/v1/users/u1/recommendations?model=nope").result_int(), 400);
  EXPECT_EQ(Client().Get("/v1/users/u1/recommendations").result_int(), 200);
  EXPECT_EQ(Client()
                .Post("/v1/events", R"({"user_id":"u1","item_id":"i1","event_type":"view"})")
                .result_int(),
            200);
  std::lock_guard lock(engine_.mu);
  EXPECT_EQ(engine_.ingest_calls, 1);
  EXPECT_EQ(engine_.last_user_id, "u1");
}

}  // namespace
}  // namespace streamrec
