#include "serving/http_server.h"

#include <chrono>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serving/fake_backend.h"
#include "serving/test_client.h"

namespace streamrec {
namespace {

namespace http = boost::beast::http;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kView = R"({"user_id":"u1","item_id":"i1","event_type":"view"})";

EventTime WallClock() {
  return EventTime{std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count()};
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer({}); }

  void StartServer(HttpServerOptions options) {
    if (server_) server_->Stop();
    options.host = "127.0.0.1";
    options.port = 0;
    if (options.io_threads == 0) options.io_threads = 2;
    server_ = std::make_unique<HttpServer>(&backend_, std::move(options));
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_NE(server_->port(), 0);
  }

  TestClient Client() { return TestClient(server_->port()); }

  // Checks the error body of `res`: its "error" code, and that "detail" says `detail`.
  static void ExpectError(const TestResponse& res, int status, std::string_view error,
                          std::string_view detail = "") {
    EXPECT_EQ(res.result_int(), status) << res.body();
    EXPECT_EQ(res[http::field::content_type], "application/json");
    const boost::json::value body = Json(res);
    EXPECT_EQ(body.at("error").as_string(), error) << res.body();
    EXPECT_THAT(std::string(body.at("detail").as_string()), HasSubstr(std::string(detail)));
  }

  // Whether the server's in-flight gauge reaches `n` within a few seconds: a request
  // counts until its answer is written, which may be after the client has read it.
  bool InFlightBecomes(int64_t n) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (server_->metrics().in_flight() != n) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  int IngestCalls() {
    std::lock_guard lock(backend_.mu);
    return backend_.ingest_calls;
  }

  FakeBackend backend_;  // outlives the server
  std::unique_ptr<HttpServer> server_;
};

// ---- POST /v1/events ---------------------------------------------------------------

TEST_F(HttpServerTest, OneEventObjectIsIngested) {
  TestResponse res =
      Client().Post("/v1/events",
                    R"({"user_id":"u1","item_id":"i1","event_type":"purchase","amount":19.99,
          "timestamp":"2024-02-01 10:00:00","event_id":"e1"})");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(res.body(), R"({"accepted":1,"duplicates":0,"rejected":[]})");
  ASSERT_EQ(backend_.ingested.size(), 1u);
  const IngestEvent& e = backend_.ingested[0];
  EXPECT_EQ(e.user_id, "u1");
  EXPECT_EQ(e.item_id, "i1");
  EXPECT_EQ(e.type, EventType::kPurchase);
  EXPECT_EQ(e.amount, 19.99);
  EXPECT_EQ(e.time, EventTime::FromSeconds(1'706'781'600));
  EXPECT_EQ(e.event_id, "e1");
}

TEST_F(HttpServerTest, MalformedJsonIs400AndIngestsNothing) {
  TestResponse res = Client().Post("/v1/events", R"([{"user_id":"u1","item_id":"i1",)");
  ExpectError(res, 400, "malformed_json", "not valid JSON");
  EXPECT_EQ(IngestCalls(), 0);
}

TEST_F(HttpServerTest, ScalarJsonBodyIs400) {
  ExpectError(Client().Post("/v1/events", "42"), 400, "malformed_json",
              "must be an event object or an array");
  EXPECT_EQ(IngestCalls(), 0);
}

TEST_F(HttpServerTest, ArrayWithOneBadEventRejectsOnlyThatIndex) {
  TestResponse res = Client().Post("/v1/events", R"([
      {"user_id":"u1","item_id":"i1","event_type":"view"},
      {"user_id":"u2","item_id":"i2","event_type":"teleport"},
      {"user_id":"u3","item_id":"i3","event_type":"click"}])");
  ASSERT_EQ(res.result_int(), 200);
  const boost::json::value body = Json(res);
  EXPECT_EQ(body.at("accepted").as_int64(), 2);
  const boost::json::array& rejected = body.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].at("index").as_int64(), 1);
  EXPECT_THAT(std::string(rejected[0].at("error").as_string()),
              HasSubstr("event_type: unknown event type 'teleport'"));
  ASSERT_EQ(backend_.ingested.size(), 2u);
  EXPECT_EQ(backend_.ingested[0].user_id, "u1");
  EXPECT_EQ(backend_.ingested[1].user_id, "u3");
}

TEST_F(HttpServerTest, NdjsonLinesAreEvents) {
  TestResponse res =
      Client().Post("/v1/events",
                    "{\"user_id\":\"u1\",\"item_id\":\"i1\",\"event_type\":\"view\"}\r\n"
                    "\n"
                    "{\"user_id\":\"u2\",\"item_id\":\"i2\",\"event_type\":\"click\"}\n"
                    "{\"user_id\":\"u3\",\"item_id\":\"i3\",\"event_type\":\"view\"}",
                    "application/x-ndjson");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(res.body(), R"({"accepted":3,"duplicates":0,"rejected":[]})");
  ASSERT_EQ(backend_.ingested.size(), 3u);
  EXPECT_EQ(backend_.ingested[2].item_id, "i3");
}

TEST_F(HttpServerTest, NdjsonLineThatIsNotJsonIsRejectedAlone) {
  TestResponse res =
      Client().Post("/v1/events",
                    "{\"user_id\":\"u1\",\"item_id\":\"i1\",\"event_type\":\"view\"}\n"
                    "\n"
                    "{oops\n"
                    "{\"user_id\":\"u3\",\"item_id\":\"i3\",\"event_type\":\"view\"}\n",
                    "application/x-ndjson; charset=utf-8");
  ASSERT_EQ(res.result_int(), 200);
  const boost::json::value body = Json(res);
  EXPECT_EQ(body.at("accepted").as_int64(), 2);
  const boost::json::array& rejected = body.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].at("index").as_int64(), 1);
  EXPECT_EQ(rejected[0].at("line").as_int64(), 3);
  EXPECT_THAT(std::string(rejected[0].at("error").as_string()), HasSubstr("not valid JSON"));
}

TEST_F(HttpServerTest, NdjsonBodyWithoutAnyJsonLineIs400AndChangesNothing) {
  ExpectError(Client().Post("/v1/events", "not json\nnor this\n", "application/x-ndjson"), 400,
              "malformed_json", "not NDJSON: no line is JSON (line 1: ");
  EXPECT_EQ(IngestCalls(), 0);
}

TEST_F(HttpServerTest, PurchaseWithoutAmountIsRejected) {
  TestResponse res =
      Client().Post("/v1/events", R"({"user_id":"u1","item_id":"i1","event_type":"purchase"})");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(
      res.body(),
      R"({"accepted":0,"duplicates":0,"rejected":[{"index":0,"error":"amount: required for purchase events"}]})");
  EXPECT_EQ(IngestCalls(), 0);
}

TEST_F(HttpServerTest, NegativeAmountIsRejected) {
  TestResponse res = Client().Post(
      "/v1/events", R"([{"user_id":"u1","item_id":"i1","event_type":"purchase","amount":-5},
                        {"user_id":"u1","item_id":"i1","event_type":"purchase","amount":"5"}])");
  ASSERT_EQ(res.result_int(), 200);
  const boost::json::value body = Json(res);
  const boost::json::array& rejected = body.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].at("error").as_string(), "amount: negative (-5)");
  EXPECT_EQ(rejected[1].at("error").as_string(), "amount: must be a number, not a string");
  EXPECT_EQ(IngestCalls(), 0);
}

TEST_F(HttpServerTest, TimestampBefore1970IsRejected) {
  TestResponse res = Client().Post(
      "/v1/events",
      R"({"user_id":"u1","item_id":"i1","event_type":"view","timestamp":"1969-12-31 23:59:59"})");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(Json(res).at("rejected").at(0).at("error").as_string(), "timestamp: before 1970-01-01");
  EXPECT_EQ(IngestCalls(), 0);
}

TEST_F(HttpServerTest, TimestampMoreThanADayAheadIsRejected) {
  const int64_t now_ms = WallClock().micros / 1000;
  TestResponse res = Client().Post(
      "/v1/events", StrCat(R"([{"user_id":"u1","item_id":"i1","event_type":"view","timestamp":)",
                           now_ms + 25 * 3600 * 1000, R"(},
                {"user_id":"u2","item_id":"i1","event_type":"view","timestamp":)",
                           now_ms + 23 * 3600 * 1000, "}]"));
  ASSERT_EQ(res.result_int(), 200);
  const boost::json::value body = Json(res);
  EXPECT_EQ(body.at("accepted").as_int64(), 1);
  EXPECT_EQ(body.at("rejected").at(0).at("index").as_int64(), 0);
  EXPECT_THAT(std::string(body.at("rejected").at(0).at("error").as_string()),
              HasSubstr("timestamp: more than 1 day after the server's time"));
  ASSERT_EQ(backend_.ingested.size(), 1u);
  EXPECT_EQ(backend_.ingested[0].user_id, "u2");
}

TEST_F(HttpServerTest, MissingTimestampIsArrivalTime) {
  const EventTime before = WallClock();
  TestResponse res = Client().Post("/v1/events", std::string(kView));
  const EventTime after = WallClock();
  ASSERT_EQ(res.result_int(), 200);
  ASSERT_EQ(backend_.ingested.size(), 1u);
  EXPECT_GE(backend_.ingested[0].time, before);
  EXPECT_LE(backend_.ingested[0].time, after);
}

TEST_F(HttpServerTest, NumericTimestampIsMilliseconds) {
  TestResponse res = Client().Post(
      "/v1/events",
      R"({"user_id":"u1","item_id":"i1","event_type":"view","timestamp":1706781600250})");
  ASSERT_EQ(res.result_int(), 200);
  ASSERT_EQ(backend_.ingested.size(), 1u);
  EXPECT_EQ(backend_.ingested[0].time, EventTime{1'706'781'600'250'000});
}

TEST_F(HttpServerTest, NumericIdsAreText) {
  TestResponse res = Client().Post(
      "/v1/events", R"([{"user_id":42,"item_id":9007199254740993,"event_type":"view","event_id":7},
                        {"user_id":4.2,"item_id":"i1","event_type":"view"}])");
  ASSERT_EQ(res.result_int(), 200);
  ASSERT_EQ(backend_.ingested.size(), 1u);
  EXPECT_EQ(backend_.ingested[0].user_id, "42");
  EXPECT_EQ(backend_.ingested[0].item_id, "9007199254740993");
  EXPECT_EQ(backend_.ingested[0].event_id, "7");
  EXPECT_THAT(std::string(Json(res).at("rejected").at(0).at("error").as_string()),
              HasSubstr("user_id: a number that is not an integer"));
}

TEST_F(HttpServerTest, DuplicateEventIdsAreAcceptedAndCounted) {
  TestClient client = Client();
  const std::string event =
      R"({"user_id":"u1","item_id":"i1","event_type":"view","event_id":"e1"})";
  EXPECT_EQ(client.Post("/v1/events", StrCat("[", event, ",", event, "]")).body(),
            R"({"accepted":2,"duplicates":1,"rejected":[]})");
  EXPECT_EQ(client.Post("/v1/events", event).body(),
            R"({"accepted":1,"duplicates":1,"rejected":[]})");
}

TEST_F(HttpServerTest, EmptyArrayAnswersWithoutTheBackend) {
  TestResponse res = Client().Post("/v1/events", "[]");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), R"({"accepted":0,"duplicates":0,"rejected":[]})");
  EXPECT_EQ(IngestCalls(), 0);
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
  HttpServerOptions options;
  options.body_limit = 1000;
  StartServer(options);
  TestClient client = Client();
  TestResponse res = client.Post("/v1/events", std::string(2000, ' '));
  ExpectError(res, 413, "payload_too_large", "limit of 1000 bytes");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(IngestCalls(), 0);
  // Exactly at the limit is fine.
  std::string body = StrCat("[", kView);
  body.resize(999, ' ');
  body += "]";
  EXPECT_EQ(Client().Post("/v1/events", body).result_int(), 200);
}

// More events in one request than the limit: 413, and none of them reaches the engine,
// the valid ones included; exactly at the limit is fine, rejected events counting too.
TEST_F(HttpServerTest, MoreEventsThanTheLimitIs413AndNoneIsApplied) {
  HttpServerOptions options;
  options.max_events_per_request = 3;
  StartServer(options);
  const std::string bad = R"({"user_id": "u1", "item_id": "i1", "event_type": "zap"})";
  TestResponse res =
      Client().Post("/v1/events", StrCat("[", kView, ",", kView, ",", kView, ",", bad, "]"));
  ExpectError(res, 413, "too_many_events", "4 events in one request, over the limit of 3");
  EXPECT_EQ(IngestCalls(), 0);
  res = Client().Post("/v1/events", StrCat("[", kView, ",", kView, ",", bad, "]"));
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(IngestCalls(), 1);
}

TEST_F(HttpServerTest, OversizedChunkedBodyIs413) {
  HttpServerOptions options;
  options.body_limit = 1000;
  StartServer(options);
  TestClient client = Client();
  client.WriteRaw(
      "POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
      "Content-Type: application/json\r\n\r\n");
  const std::string chunk(600, ' ');
  client.WriteRaw(StrCat("258\r\n", chunk, "\r\n258\r\n", chunk, "\r\n0\r\n\r\n"));
  ExpectError(client.Read(), 413, "payload_too_large", "1000 bytes");
  EXPECT_EQ(IngestCalls(), 0);
}

TEST_F(HttpServerTest, WrongContentTypeIs415) {
  TestResponse res = Client().Post("/v1/events", std::string(kView), "text/plain");
  ExpectError(res, 415, "unsupported_media_type",
              "takes application/json or application/x-ndjson, not 'text/plain'");
  EXPECT_EQ(IngestCalls(), 0);
  ExpectError(Client().Post("/v1/sessions/recommendations", "[]", "application/x-ndjson"), 415,
              "unsupported_media_type", "takes application/json");
}

TEST_F(HttpServerTest, MissingContentTypeIsJson) {
  EXPECT_EQ(Client().Post("/v1/events", std::string(kView), "").result_int(), 200);
  EXPECT_EQ(Client()
                .Post("/v1/events", std::string(kView), "Application/JSON; charset=utf-8")
                .result_int(),
            200);
  EXPECT_EQ(backend_.ingested.size(), 2u);
}

TEST_F(HttpServerTest, IngestAnswersOnlyAfterBackendCompletes) {
  backend_.hold_ingest = true;
  TestClient client = Client();
  client.WriteRaw(StrCat("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: ", kView.size(),
                         "\r\n\r\n", kView));
  ASSERT_TRUE(backend_.WaitForHeld(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(client.Available(), 0u) << "answered before the events were durable";
  EXPECT_EQ(server_->metrics().in_flight(), 1);
  backend_.CompleteHeld();
  TestResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), R"({"accepted":1,"duplicates":0,"rejected":[]})");
  EXPECT_TRUE(res.keep_alive());
}

// A large body is parsed, and its route served, on the body thread: the other
// connections of its I/O thread (here the only one) are answered meanwhile.
TEST_F(HttpServerTest, ALargeBodyDoesNotHoldUpItsIoThread) {
  StartServer({.io_threads = 1, .inline_body_limit = 16});
  backend_.block_ingest = true;
  TestClient large = Client();
  large.WriteRaw(StrCat("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: ", kView.size(),
                        "\r\n\r\n", kView));
  ASSERT_TRUE(backend_.WaitForBlocked());
  std::future<unsigned> other = std::async(std::launch::async, [this] {
    return Client().Get("/v1/users/u1/recommendations").result_int();
  });
  const bool answered = other.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  backend_.Unblock();
  EXPECT_TRUE(answered) << "the I/O thread waited for the large request";
  EXPECT_EQ(other.get(), 200u);
  TestResponse res = large.Read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), R"({"accepted":1,"duplicates":0,"rejected":[]})");
  EXPECT_TRUE(res.keep_alive());
}

// Served on the body thread, every kind of answer is the same as on the I/O thread:
// one later (ingest), one at once (all rejected, malformed), and another route's.
TEST_F(HttpServerTest, LargeBodiesGetTheAnswersOfSmallOnes) {
  StartServer({.inline_body_limit = 0});
  TestClient client = Client();
  EXPECT_EQ(client.Post("/v1/events", std::string(kView)).body(),
            R"({"accepted":1,"duplicates":0,"rejected":[]})");
  const TestResponse rejected =
      client.Post("/v1/events", R"([{"user_id":"u1","item_id":"i1","event_type":"nap"}])");
  EXPECT_EQ(rejected.result_int(), 200);
  EXPECT_EQ(Json(rejected).at("accepted").as_int64(), 0);
  ExpectError(client.Post("/v1/events", "{oops"), 400, "malformed_json");
  const TestResponse session =
      client.Post("/v1/sessions/recommendations", R"([{"item_id":"i1","event_type":"view"}])");
  EXPECT_EQ(session.result_int(), 200) << session.body();
  EXPECT_EQ(IngestCalls(), 1);
}

TEST_F(HttpServerTest, IngestFailureInTheEngineIs503) {
  backend_.ingest_error = absl::UnavailableError("the log is full");
  TestResponse res = Client().Post("/v1/events", std::string(kView));
  ExpectError(res, 503, "unavailable", "the log is full");
  EXPECT_EQ(res[http::field::retry_after], "1");
}

TEST_F(HttpServerTest, DroppedIngestCallbackIs500) {
  backend_.drop_ingest = true;
  ExpectError(Client().Post("/v1/events", std::string(kView)), 500, "internal",
              "dropped the request");
}

TEST_F(HttpServerTest, TransferEncodingOtherThanChunkedIs400AndItsBodyIsNeverARequest) {
  TestClient client = Client();
  const std::string smuggled = StrCat(
      "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: ", kView.size(), "\r\n\r\n", kView);
  client.WriteRaw(StrCat("POST /v1/sessions/recommendations HTTP/1.1\r\nHost: x\r\n",
                         "Transfer-Encoding: gzip\r\nContent-Type: application/json\r\n\r\n",
                         smuggled));
  TestResponse res = client.Read();
  ExpectError(res, 400, "bad_request", "Transfer-Encoding");
  EXPECT_FALSE(res.keep_alive());
  // A request read out of the body would reach the backend within this time.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(IngestCalls(), 0);
}

TEST_F(HttpServerTest, ExpectContinueIsHonoured) {
  TestClient client = Client();
  client.WriteRaw(StrCat("POST /v1/events HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n",
                         "Content-Length: ", kView.size(), "\r\n\r\n"));
  TestResponse interim = client.Read();
  EXPECT_EQ(interim.result_int(), 100);
  client.WriteRaw(kView);
  EXPECT_EQ(client.Read().result_int(), 200);
}

TEST_F(HttpServerTest, RefusedExpectContinueRequestGetsNoContinue) {
  HttpServerOptions options;
  options.api_key = "k";
  StartServer(options);
  TestClient client = Client();
  client.WriteRaw(StrCat("POST /v1/events HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n",
                         "Content-Length: ", kView.size(), "\r\n\r\n"));
  TestResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 401);
  EXPECT_FALSE(res.keep_alive());
}

// ---- routing, methods, keys ----------------------------------------------------------

TEST_F(HttpServerTest, UnknownRouteIs404) {
  ExpectError(Client().Get("/v2/popular"), 404, "not_found", "no route for GET /v2/popular");
  ExpectError(Client().Get("/v1/popular/"), 404, "not_found");
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllow) {
  TestResponse res = Client().Get("/v1/events");
  ExpectError(res, 405, "method_not_allowed", "/v1/events takes POST, not GET");
  EXPECT_EQ(res[http::field::allow], "POST");
  TestResponse del = Client().Send(http::verb::delete_, "/v1/popular", "");
  ExpectError(del, 405, "method_not_allowed", "/v1/popular takes GET or HEAD, not DELETE");
  EXPECT_EQ(del[http::field::allow], "GET, HEAD");
  EXPECT_EQ(IngestCalls(), 0);
}

TEST_F(HttpServerTest, HeadOfAGetRouteHasItsHeadersWithoutTheBody) {
  TestClient client = Client();
  const TestResponse get = client.Get("/v1/popular");
  ASSERT_EQ(get.result_int(), 200);
  const TestResponse head = client.Head("/v1/popular");
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[http::field::content_type], get[http::field::content_type]);
  EXPECT_EQ(head[http::field::content_length], std::to_string(get.body().size()));
  EXPECT_EQ(head.body(), "");
  // The body was left out, not merely unread: the next answer on the connection is whole.
  EXPECT_EQ(client.Get("/healthz").body(), R"({"status":"ok"})");
}

TEST_F(HttpServerTest, HeadOfAPostRouteIs405WithoutABody) {
  TestClient client = Client();
  const TestResponse res = client.Head("/v1/events");
  EXPECT_EQ(res.result_int(), 405);
  EXPECT_EQ(res[http::field::allow], "POST");
  EXPECT_EQ(res.body(), "");
  EXPECT_EQ(client.Get("/healthz").body(), R"({"status":"ok"})");
  EXPECT_EQ(IngestCalls(), 0);
}

TEST_F(HttpServerTest, WriteWithoutApiKeyIs401) {
  HttpServerOptions options;
  options.api_key = "s3cret";
  StartServer(options);
  TestResponse res = Client().Post("/v1/events", std::string(kView));
  ExpectError(res, 401, "unauthorized", "needs the API key");
  EXPECT_EQ(res[http::field::www_authenticate], "Bearer");
  ExpectError(Client().Post("/v1/events", std::string(kView), "application/json",
                            {{"Authorization", "Bearer s3cre"}}),
              401, "unauthorized", "wrong API key");
  ExpectError(Client().Post("/v1/events", std::string(kView), "application/json",
                            {{"X-API-Key", "s3cret2"}}),
              401, "unauthorized", "wrong API key");
  ExpectError(Client().Post("/v1/admin/snapshot", ""), 401, "unauthorized");
  EXPECT_EQ(IngestCalls(), 0);

  EXPECT_EQ(Client()
                .Post("/v1/events", std::string(kView), "application/json",
                      {{"Authorization", "bearer  s3cret "}})
                .result_int(),
            200);
  EXPECT_EQ(
      Client()
          .Post("/v1/events", std::string(kView), "application/json", {{"X-API-Key", "s3cret"}})
          .result_int(),
      200);
  EXPECT_EQ(Client().Post("/v1/admin/snapshot", "", "", {{"X-API-Key", "s3cret"}}).result_int(),
            200);
}

TEST_F(HttpServerTest, ReadsNeedNoApiKey) {
  HttpServerOptions options;
  options.api_key = "s3cret";
  StartServer(options);
  TestClient client = Client();
  for (const char* target : {"/v1/users/u1/recommendations", "/v1/items/i1/similar", "/v1/popular",
                             "/v1/users/u1", "/v1/items/i1", "/healthz", "/readyz", "/metrics"}) {
    EXPECT_EQ(client.Get(target).result_int(), 200) << target;
  }
  EXPECT_EQ(client.Post("/v1/sessions/recommendations", R"(["i1"])").result_int(), 200);
}

// ---- reads ---------------------------------------------------------------------------

TEST_F(HttpServerTest, UserRecommendationsAnswerWithItems) {
  TestResponse res = Client().Get("/v1/users/u1/recommendations?k=2&model=item");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(res.body(), R"({"user_id":"u1","model":"item","recommendation_id":"rec-1","items":[)"
                        R"({"item_id":"i1","score":1,"reason":"because"},)"
                        R"({"item_id":"i2","score":0.5,"reason":"because"}]})");
  EXPECT_EQ(backend_.last_k, 2u);
  EXPECT_EQ(backend_.last_model, "item");
}

TEST_F(HttpServerTest, DefaultsAreTenAndHybrid) {
  ASSERT_EQ(Client().Get("/v1/users/u1/recommendations").result_int(), 200);
  EXPECT_EQ(backend_.last_k, 10u);
  EXPECT_EQ(backend_.last_model, "hybrid");
}

TEST_F(HttpServerTest, BadKIs400) {
  TestClient client = Client();
  for (const char* k : {"0", "1001", "abc", "", "-1", "1e2", "10000000000000000000"}) {
    ExpectError(client.Get(StrCat("/v1/users/u1/recommendations?k=", k)), 400, "bad_request",
                "k: must be an integer from 1 to 1000");
    ExpectError(client.Get(StrCat("/v1/popular?k=", k)), 400, "bad_request", "k:");
    ExpectError(client.Get(StrCat("/v1/items/i1/similar?k=", k)), 400, "bad_request", "k:");
  }
  EXPECT_EQ(client.Get("/v1/users/u1/recommendations?k=1000").result_int(), 200);
  EXPECT_EQ(backend_.last_k, 1000u);
  ExpectError(client.Post("/v1/sessions/recommendations", R"({"events":[],"k":0})"), 400,
              "bad_request", "k: must be an integer from 1 to 1000");
}

TEST_F(HttpServerTest, WhenKRepeatsTheLastCountsValidOrNot) {
  TestClient client = Client();
  ASSERT_EQ(client.Get("/v1/users/u1/recommendations?k=abc&k=5").result_int(), 200);
  EXPECT_EQ(backend_.last_k, 5u);
  ExpectError(client.Get("/v1/users/u1/recommendations?k=5&k=abc"), 400, "bad_request", "k:");
}

TEST_F(HttpServerTest, UnknownModelIs400AndExtraModelsAreAccepted) {
  ExpectError(Client().Get("/v1/users/u1/recommendations?model=als"), 400, "bad_request",
              "unknown model 'als' (available: hybrid, popular, trending, item, session)");
  backend_.extra_models = {"als"};
  EXPECT_EQ(Client().Get("/v1/users/u1/recommendations?model=als").result_int(), 200);
  EXPECT_EQ(backend_.last_model, "als");
  // An extra model answers for a user's history: an anonymous session has none, and is
  // told which models it can have.
  ExpectError(Client().Post("/v1/sessions/recommendations", R"({"events":["i1"],"model":"als"})"),
              400, "bad_request",
              "unknown model 'als' (available: hybrid, popular, trending, item, session)");
}

TEST_F(HttpServerTest, ExcludeIsSplitAndDecoded) {
  ASSERT_EQ(
      Client().Get("/v1/users/u1/recommendations?exclude=a,b%2Cc,,d+e&exclude=f").result_int(),
      200);
  EXPECT_THAT(backend_.last_exclude, ElementsAre("a", "b,c", "d e", "f"));
  ExpectError(Client().Get("/v1/users/u1/recommendations?exclude=%zz"), 400, "bad_request",
              "bad percent-encoding");
}

TEST_F(HttpServerTest, PercentEncodedIdIsDecoded) {
  TestResponse res = Client().Get("/v1/users/u%201%2Fb+c%C3%BC/recommendations");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(backend_.last_user_id, "u 1/b+c\xC3\xBC");
  EXPECT_EQ(Json(res).at("user_id").as_string(), "u 1/b+c\xC3\xBC");
  backend_.items.insert("a/b");
  EXPECT_EQ(Json(Client().Get("/v1/items/a%2Fb")).at("item_id").as_string(), "a/b");
  ExpectError(Client().Get("/v1/users/u%2/recommendations"), 400, "bad_request",
              "bad percent-encoding in the user id");
  ExpectError(Client().Get("/v1/users//recommendations"), 400, "bad_request", "empty user id");
}

TEST_F(HttpServerTest, UnknownUserIs404) {
  ExpectError(Client().Get("/v1/users/nobody"), 404, "not_found", "unknown user 'nobody'");
  ExpectError(Client().Get("/v1/items/nothing"), 404, "not_found", "unknown item 'nothing'");
  ExpectError(Client().Get("/v1/items/nothing/similar"), 404, "not_found", "unknown item");
}

TEST_F(HttpServerTest, UserAndItemViewsAreTheBackendsJson) {
  EXPECT_EQ(Client().Get("/v1/users/u2").body(), R"({"user_id":"u2","purchases":3,"spend":59.9})");
  EXPECT_EQ(Client().Get("/v1/items/i3").body(), R"({"item_id":"i3","views":12})");
}

TEST_F(HttpServerTest, SimilarItemsAnswerWithTheItem) {
  TestResponse res = Client().Get("/v1/items/i1/similar?k=3");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(
      res.body(),
      R"({"item_id":"i1","items":[{"item_id":"i2","score":0.5,"reason":"bought together"}]})");
  EXPECT_EQ(backend_.last_k, 3u);
  EXPECT_EQ(backend_.last_model, "");
  ASSERT_EQ(Client().Get("/v1/items/i1/similar?model=als").result_int(), 200);
  EXPECT_EQ(backend_.last_model, "als");
}

TEST_F(HttpServerTest, PopularWindowIsTrendingOrAllTime) {
  TestResponse res = Client().Get("/v1/popular?k=2");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(Json(res).at("window").as_string(), "trending");
  EXPECT_EQ(backend_.last_window, PopularWindow::kTrending);
  EXPECT_EQ(Json(Client().Get("/v1/popular?window=all_time")).at("items").at(1).at("score"), 7.25);
  EXPECT_EQ(backend_.last_window, PopularWindow::kAllTime);
  ExpectError(Client().Get("/v1/popular?window=week"), 400, "bad_request",
              "window: must be trending or all_time, not 'week'");
}

TEST_F(HttpServerTest, SessionRecommendationsTakeAnObjectOrABareArray) {
  TestClient client = Client();
  TestResponse res = client.Post("/v1/sessions/recommendations", R"({
      "events": [{"item_id":"i2","event_type":"click","timestamp":"2024-02-01 10:00:05"},
                 {"item_id":"i1","timestamp":"2024-02-01 10:00:00"}],
      "k": 2, "model": "hybrid", "exclude": ["i9", 10]})");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  const boost::json::value body = Json(res);
  EXPECT_FALSE(body.as_object().contains("user_id"));
  EXPECT_EQ(body.at("items").as_array().size(), 2u);
  ASSERT_EQ(backend_.last_session.size(), 2u);
  EXPECT_EQ(backend_.last_session[0].item_id, "i1");  // oldest first
  EXPECT_EQ(backend_.last_session[1].type, EventType::kClick);
  EXPECT_EQ(backend_.last_model, "hybrid");
  EXPECT_THAT(backend_.last_exclude, ElementsAre("i9", "10"));

  ASSERT_EQ(client.Post("/v1/sessions/recommendations", R"(["i1","i2"])").result_int(), 200);
  EXPECT_EQ(backend_.last_model, "session");
  EXPECT_EQ(backend_.last_k, 10u);
  EXPECT_EQ(backend_.last_session.size(), 2u);

  ExpectError(
      client.Post("/v1/sessions/recommendations", R"({"events":["i1",{"event_type":"view"}]})"),
      400, "bad_request", "events[1]: item_id: missing");
  ExpectError(client.Post("/v1/sessions/recommendations", R"({"k":3})"), 400, "bad_request",
              "events: missing");
  ExpectError(client.Post("/v1/sessions/recommendations", "[1,"), 400, "malformed_json");
}

TEST_F(HttpServerTest, BackendErrorsMapToStatuses) {
  backend_.read_error = absl::UnavailableError("models are loading");
  TestResponse res = Client().Get("/v1/popular");
  ExpectError(res, 503, "unavailable", "models are loading");
  EXPECT_EQ(res[http::field::retry_after], "1");
  backend_.Reconfigure(
      [&] { backend_.read_error = absl::InvalidArgumentError("k too large for this model"); });
  ExpectError(Client().Get("/v1/popular"), 400, "bad_request", "k too large");
  backend_.Reconfigure([&] { backend_.read_error = absl::DataLossError("bad state"); });
  ExpectError(Client().Get("/v1/popular"), 500, "internal", "bad state");
}

TEST_F(HttpServerTest, BackendExceptionIs500AndTheServerServesOn) {
  backend_.throw_on_read = true;
  TestClient client = Client();
  ExpectError(client.Get("/v1/users/u1/recommendations"), 500, "internal", "fake backend failure");
  backend_.Reconfigure([&] { backend_.throw_on_read = false; });
  EXPECT_EQ(client.Get("/v1/users/u1/recommendations").result_int(), 200);
}

// The I/O thread's loop catches what a handler throws past the routes' own catch; the
// connection goes, the request counts as abandoned, and the server serves on.
TEST_F(HttpServerTest, AnExceptionOutOfAHandlerDropsOnlyItsConnection) {
  backend_.throw_foreign = true;
  TestClient client = Client();
  client.WriteRaw("GET /v1/users/u1/recommendations HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(client.ClosedByServer());
  EXPECT_TRUE(InFlightBecomes(0)) << "the dropped request is still counted in flight";
  backend_.Reconfigure([&] { backend_.throw_foreign = false; });
  EXPECT_EQ(Client().Get("/v1/users/u1/recommendations").result_int(), 200);
}

// The same on the body thread, which serves large bodies.
TEST_F(HttpServerTest, AnExceptionOutOfALargeBodysHandlerDropsOnlyItsConnection) {
  StartServer({.inline_body_limit = 0});
  backend_.throw_foreign = true;
  TestClient client = Client();
  const std::string_view session = R"([{"item_id":"i1","event_type":"view"}])";
  client.WriteRaw(StrCat("POST /v1/sessions/recommendations HTTP/1.1\r\nHost: x\r\n",
                         "Content-Length: ", session.size(), "\r\n\r\n", session));
  EXPECT_TRUE(client.ClosedByServer());
  EXPECT_TRUE(InFlightBecomes(0)) << "the dropped request is still counted in flight";
  backend_.Reconfigure([&] { backend_.throw_foreign = false; });
  EXPECT_EQ(Client().Post("/v1/sessions/recommendations", std::string(session)).result_int(), 200);
}

// ---- health, readiness, metrics, admin ---------------------------------------------

TEST_F(HttpServerTest, HealthzIsAlwaysOkAndReadyzFollowsTheBackend) {
  backend_.ready = absl::UnavailableError("replaying the log: 40%");
  EXPECT_EQ(Client().Get("/healthz").body(), R"({"status":"ok"})");
  ExpectError(Client().Get("/readyz"), 503, "not_ready", "replaying the log: 40%");
  backend_.ready = absl::OkStatus();
  EXPECT_EQ(Client().Get("/readyz").body(), R"({"status":"ready"})");
}

TEST_F(HttpServerTest, MetricsHaveTheServersAndTheBackendsText) {
  TestClient client = Client();
  ASSERT_EQ(client.Get("/v1/popular").result_int(), 200);
  ASSERT_EQ(client.Get("/nope").result_int(), 404);
  ASSERT_EQ(client.Post("/v1/events", std::string(kView)).result_int(), 200);
  TestResponse res = client.Get("/metrics");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_THAT(std::string(res[http::field::content_type]), HasSubstr("text/plain"));
  const std::string& text = res.body();
  EXPECT_THAT(text,
              HasSubstr("streamrec_http_requests_total{route=\"/v1/popular\",status=\"200\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("streamrec_http_requests_total{route=\"unknown\",status=\"404\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "streamrec_http_request_duration_seconds_bucket{route=\"/v1/popular\",le=\"+Inf\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("streamrec_http_request_duration_seconds_count{route=\"/v1/events\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("streamrec_http_requests_in_flight 1\n"));  // this request
  EXPECT_THAT(text, HasSubstr("streamrec_http_ingest_events_total{result=\"accepted\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fake_backend_up 1\n"));
}

TEST_F(HttpServerTest, SnapshotAnswersWithTheBackendsInfo) {
  TestResponse res = Client().Post("/v1/admin/snapshot", "", "");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), R"({"log_offset":1234,"name":"snapshot-000001"})");
}

TEST_F(HttpServerTest, RetrainAnswersWithTheNewModel) {
  TestResponse res = Client().Post("/v1/admin/retrain", "", "");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), R"({"model":"als","interactions":42,"seconds":0.5})");
}

TEST_F(HttpServerTest, RetrainOfAModelTheBackendDoesNotTrainIs400) {
  ExpectError(Client().Post("/v1/admin/retrain?model=popular", "", ""), 400, "bad_request");
}

// ---- connections -------------------------------------------------------------------

TEST_F(HttpServerTest, KeepAliveServesManyRequests) {
  TestClient client = Client();
  for (int i = 0; i < 300; ++i) {
    TestResponse res = i % 3 == 0 ? client.Post("/v1/events", std::string(kView))
                                  : client.Get("/v1/users/u1/recommendations?k=3");
    ASSERT_EQ(res.result_int(), 200) << i;
    ASSERT_TRUE(res.keep_alive());
  }
  EXPECT_EQ(backend_.ingested.size(), 100u);
  // A request's count lands after its answer is written, before the next one is read.
  ASSERT_EQ(client.Get("/healthz").result_int(), 200);
  EXPECT_EQ(server_->metrics().requests(Route::kUserRecommendations, 200), 200u);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  TestClient client = Client();
  client.WriteRaw(
      "GET /v1/users/u1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /v1/items/i1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(client.Read().body(), HasSubstr("\"user_id\":\"u1\""));
  EXPECT_THAT(client.Read().body(), HasSubstr("\"item_id\":\"i1\""));
  EXPECT_EQ(client.Read().result_int(), 404);
}

TEST_F(HttpServerTest, GarbageIs400AndCloses) {
  TestClient client = Client();
  client.WriteRaw("HELLO THERE\r\n\r\n");
  TestResponse res = client.Read();
  ExpectError(res, 400, "bad_request", "not an HTTP/1.1 request");
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(HttpServerTest, RandomBytesOnTheWireNeverStopTheServer) {
  std::mt19937 rng(7);
  const std::string prefixes[] = {"", "GET /v1/popular HTTP/1.1\r\n",
                                  "POST /v1/events HTTP/1.1\r\nContent-Length: 40\r\n\r\n",
                                  "POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"};
  for (int i = 0; i < 200; ++i) {
    TestClient client = Client();
    std::string bytes = prefixes[rng() % 4];
    for (int n = rng() % 200; n > 0; --n) bytes.push_back(static_cast<char>(rng() % 256));
    if (rng() % 2) bytes += "\r\n\r\n";
    client.WriteRaw(bytes);
    client.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send);
    boost::system::error_code ec;
    std::string sink(4096, '\0');
    while (!ec) client.socket().read_some(boost::asio::buffer(sink), ec);
  }
  EXPECT_EQ(Client().Get("/healthz").result_int(), 200);
}

TEST_F(HttpServerTest, IdleConnectionIsClosedAfterTheTimeout) {
  HttpServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(200);
  StartServer(options);
  TestClient client = Client();
  EXPECT_EQ(client.Get("/healthz").result_int(), 200);
  EXPECT_TRUE(client.ClosedByServer(std::chrono::seconds(3)));
}

TEST_F(HttpServerTest, StopFinishesInFlightRequests) {
  backend_.hold_ingest = true;
  TestClient busy = Client();
  TestClient idle = Client();
  EXPECT_EQ(idle.Get("/healthz").result_int(), 200);
  busy.WriteRaw(StrCat("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: ", kView.size(),
                       "\r\n\r\n", kView));
  ASSERT_TRUE(backend_.WaitForHeld(1));

  std::future<void> stopped = std::async(std::launch::async, [this] { server_->Stop(); });
  // The idle connection is closed at once; Stop waits for the engine.
  EXPECT_TRUE(idle.ClosedByServer());
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  EXPECT_THROW(TestClient{server_->port()}, boost::system::system_error);

  backend_.CompleteHeld();
  TestResponse res = busy.Read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), R"({"accepted":1,"duplicates":0,"rejected":[]})");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(stopped.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(busy.ClosedByServer());
}

TEST_F(HttpServerTest, StopIsIdempotentAndNeedsNoStart) {
  server_->Stop();
  server_->Stop();
  HttpServer never_started(&backend_, HttpServerOptions{});
  never_started.Stop();
}

TEST_F(HttpServerTest, StartFailsOnABusyPort) {
  HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = server_->port();
  HttpServer other(&backend_, options);
  absl::Status status = other.Start();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("cannot bind"));
}

}  // namespace
}  // namespace streamrec
