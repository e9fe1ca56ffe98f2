// `streamrec replay` against a small in-process HTTP server that answers like the
// ingest API (POST /v1/events, NDJSON): what arrives, how requests are cut, local and
// server rejects, retries, error answers, pacing and mapping files.

#include "cli/replay.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "boost/asio/as_tuple.hpp"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/detached.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/core/tcp_stream.hpp"
#include "boost/beast/http/read.hpp"
#include "boost/beast/http/string_body.hpp"
#include "boost/beast/http/write.hpp"
#include "boost/json/parse.hpp"
#include "boost/json/serialize.hpp"
#include "boost/json/value.hpp"
#include "common/strings.h"
#include "common/test_temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// The non-empty lines of `text`.
std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    if (end > 0) lines.emplace_back(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return lines;
}

// What the fake server does with one request instead of ingesting it.
struct Answer {
  http::status status = http::status::ok;
  std::string body;
  bool ingest_then_hang_up = false;  // ingest, then close without replying (a lost reply)
};

// An HTTP/1.1 server on 127.0.0.1, on its own thread. By default it answers like the
// ingest API (docs/API.md): every NDJSON line is an event; one whose user_id is
// "blocked" is rejected ("user is blocked"); the rest are accepted, and kept in
// arrival order unless their event_id was seen before (duplicates, which count as
// accepted too).
class FakeIngestServer {
 public:
  // `plan(n)` may override the answer to the n-th request (0-based).
  explicit FakeIngestServer(std::function<std::optional<Answer>(int)> plan = {})
      : plan_(std::move(plan)),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(io_, AcceptLoop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeIngestServer() {
    io_.stop();
    thread_.join();
  }

  std::string url() const { return StrCat("http://127.0.0.1:", acceptor_.local_endpoint().port()); }

  struct Request {
    std::string target;
    std::string content_type;
    std::string authorization;
    std::string body;
  };
  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Events accepted, in arrival order.
  std::vector<json::object> accepted() const {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  int connections() const {
    std::lock_guard lock(mu_);
    return connections_;
  }

 private:
  asio::awaitable<void> AcceptLoop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) co_return;
      {
        std::lock_guard lock(mu_);
        ++connections_;
      }
      asio::co_spawn(io_, Session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> request;
      if (auto [ec, n] = co_await http::async_read(stream, buffer, request, kNoThrow); ec) {
        co_return;
      }
      Answer answer = Handle(request);
      if (answer.ingest_then_hang_up) {
        stream.socket().shutdown(tcp::socket::shutdown_both);
        co_return;
      }
      http::response<http::string_body> response{answer.status, request.version()};
      response.set(http::field::content_type, "application/json");
      response.keep_alive(request.keep_alive());
      response.body() = std::move(answer.body);
      response.prepare_payload();
      if (auto [ec, n] = co_await http::async_write(stream, response, kNoThrow); ec) co_return;
      if (!response.keep_alive()) co_return;
    }
  }

  Answer Handle(const http::request<http::string_body>& request) {
    std::lock_guard lock(mu_);
    const int n = static_cast<int>(requests_.size());
    requests_.push_back({std::string(request.target()),
                         std::string(request[http::field::content_type]),
                         std::string(request[http::field::authorization]), request.body()});
    std::optional<Answer> planned = plan_ ? plan_(n) : std::nullopt;
    if (planned && !planned->ingest_then_hang_up) return *planned;
    json::object reply;
    int64_t accepted = 0, duplicates = 0;
    json::array rejected;
    int index = 0;
    for (const std::string& line : Lines(request.body())) {
      json::object event = json::parse(line).as_object();
      if (event["user_id"].as_string() == "blocked") {
        rejected.push_back(json::object{{"index", index}, {"error", "user is blocked"}});
      } else if (!seen_ids_.insert(std::string(event["event_id"].as_string())).second) {
        ++accepted;  // duplicates are accepted and ignored
        ++duplicates;
      } else {
        ++accepted;
        accepted_.push_back(std::move(event));
      }
      ++index;
    }
    if (planned) return *planned;
    reply["accepted"] = accepted;
    reply["duplicates"] = duplicates;
    reply["rejected"] = std::move(rejected);
    return Answer{http::status::ok, json::serialize(reply)};
  }

  std::function<std::optional<Answer>(int)> plan_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Request> requests_;       // guarded by mu_
  std::vector<json::object> accepted_;  // guarded by mu_
  std::set<std::string> seen_ids_;      // guarded by mu_
  int connections_ = 0;                 // guarded by mu_
};

// The fields of an accepted event, as "user item type timestamp [amount]".
std::string Describe(const json::object& e) {
  std::string out = StrCat(e.at("user_id").as_string(), " ", e.at("item_id").as_string(), " ",
                           e.at("event_type").as_string(), " ", e.at("timestamp").as_string());
  if (const json::value* amount = e.if_contains("amount")) {
    out += fmt::format(" {}", amount->to_number<double>());
  }
  return out;
}

std::vector<std::string> DescribeAll(const std::vector<json::object>& events) {
  std::vector<std::string> out;
  for (const json::object& e : events) out.push_back(Describe(e));
  return out;
}

std::vector<std::string> EventIds(const std::vector<json::object>& events) {
  std::vector<std::string> out;
  for (const json::object& e : events) out.emplace_back(e.at("event_id").as_string());
  return out;
}

// Lines per request body.
std::vector<size_t> BatchSizes(const std::vector<FakeIngestServer::Request>& requests) {
  std::vector<size_t> sizes;
  for (const auto& r : requests) {
    sizes.push_back(Lines(r.body).size());
  }
  return sizes;
}

struct CommandResult {
  int exit_code = -1;
  std::string out;  // rejected rows, CSV
  std::string err;  // summary or error
};

class ReplayTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Runs the replay, which must end OK; its local rejects, as "<line>: <reason>".
  static std::vector<std::string> LocalRejects(const ReplayOptions& options) {
    std::vector<std::string> rejects;
    ReplaySummary summary;
    const absl::Status status = RunReplay(
        options, [&](const RejectedRow& r) { rejects.push_back(StrCat(r.line, ": ", r.reason)); },
        &summary);
    EXPECT_TRUE(status.ok()) << status;
    return rejects;
  }

  // Options that send `files` to `server`, retrying quickly.
  static ReplayOptions OptionsFor(const FakeIngestServer& server, std::vector<std::string> files) {
    ReplayOptions o;
    o.files = std::move(files);
    o.url = server.url();
    o.first_backoff = std::chrono::milliseconds(5);
    o.timeout = std::chrono::milliseconds(5000);
    return o;
  }

  static CommandResult RunCommand(const ReplayOptions& options) {
    char* out_text = nullptr;
    char* err_text = nullptr;
    size_t out_size = 0, err_size = 0;
    std::FILE* out = ::open_memstream(&out_text, &out_size);
    std::FILE* err = ::open_memstream(&err_text, &err_size);
    CommandResult result;
    result.exit_code = RunReplayCommand(options, out, err);
    std::fclose(out);
    std::fclose(err);
    result.out.assign(out_text, out_size);
    result.err.assign(err_text, err_size);
    std::free(out_text);
    std::free(err_text);
    return result;
  }

  TempDir temp_{"replay_test"};
  const std::string dir_ = temp_.path();
};

constexpr char kHeader[] = "user_id,item_id,event_type,timestamp,amount\n";

TEST_F(ReplayTest, EveryRowArrivesOnceAsNdjsonWithItsFields) {
  FakeIngestServer server;
  const std::string events = Write("events.csv", std::string(kHeader) +
                                                     "u1,i1,view,2019-10-01 00:00:00 UTC,\n"
                                                     "u2,i2,click,2019-10-01T00:00:01.5Z,\n"
                                                     "u1,i3,add_to_cart,1569888002,\n"
                                                     "u3,i1,view,2019-10-01 02:00:00+02:00,\n");
  ReplayOptions options = OptionsFor(server, {events});
  options.batch = 1;
  ReplaySummary summary;
  ASSERT_TRUE(RunReplay(options, {}, &summary).ok());

  EXPECT_THAT(DescribeAll(server.accepted()),
              UnorderedElementsAre(
                  "u1 i1 view 2019-10-01 00:00:00", "u2 i2 click 2019-10-01 00:00:01.5",
                  "u1 i3 add_to_cart 2019-10-01 00:00:02", "u3 i1 view 2019-10-01 00:00:00"));
  for (const auto& r : server.requests()) {
    EXPECT_EQ(r.target, "/v1/events");
    EXPECT_EQ(r.content_type, "application/x-ndjson");
    EXPECT_TRUE(r.body.ends_with("\n"));
  }
  EXPECT_EQ(summary.rows_read, 4);
  EXPECT_EQ(summary.sent, 4);
  EXPECT_EQ(summary.accepted, 4);
  EXPECT_EQ(summary.requests, 4);
  EXPECT_EQ(summary.retries, 0);
  EXPECT_EQ(server.connections(), 2);  // the default, kept alive
}

TEST_F(ReplayTest, PurchaseEventIsOneEventWithItsAmount) {
  FakeIngestServer server;
  const std::string events = Write("events.csv", std::string(kHeader) +
                                                     "u1,i1,purchase,2019-10-01 00:00:00,12.5\n"
                                                     "u1,i1,view,2019-10-01 00:00:01,99\n"
                                                     "u2,i2,purchase,2019-10-01 00:00:02,0.1\n");
  ReplaySummary summary;
  ASSERT_TRUE(RunReplay(OptionsFor(server, {events}), {}, &summary).ok());
  // A view's amount is ignored, as by the pipeline; 0.1 comes back as exactly 0.1.
  EXPECT_THAT(
      DescribeAll(server.accepted()),
      ElementsAre("u1 i1 purchase 2019-10-01 00:00:00 12.5", "u1 i1 view 2019-10-01 00:00:01",
                  "u2 i2 purchase 2019-10-01 00:00:02 0.1"));
  EXPECT_EQ(server.accepted()[2].at("amount").as_double(), 0.1);
  EXPECT_EQ(summary.sent, 3);
}

TEST_F(ReplayTest, BatchCutsRequestsInFileOrder) {
  FakeIngestServer server;
  std::string text = kHeader;
  for (int i = 0; i < 10; ++i) text += StrCat("u", i, ",i1,view,2019-10-01 00:00:0", i, ",\n");
  const std::string first = Write("a.csv", text);
  const std::string second = Write("b.csv", std::string(kHeader) + "w,i2,click,2019-10-02,\n");
  ReplayOptions options = OptionsFor(server, {first, second});
  options.batch = 3;
  options.connections = 1;
  ReplaySummary summary;
  ASSERT_TRUE(RunReplay(options, {}, &summary).ok());
  // A request may span files; the last one holds what is left.
  EXPECT_THAT(BatchSizes(server.requests()), ElementsAre(3, 3, 3, 2));
  std::vector<std::string> users;
  for (const json::object& e : server.accepted()) users.emplace_back(e.at("user_id").as_string());
  EXPECT_THAT(users, ElementsAre("u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "w"));
  EXPECT_EQ(summary.requests, 4);
}

TEST_F(ReplayTest, EventIdsAreKeptOrMadeFromSourceAndLine) {
  FakeIngestServer server;
  const std::string events = Write("events.csv",
                                   "user_id,item_id,event_type,timestamp,event_id\n"
                                   "u1,i1,view,2019-10-01,e-1\n"
                                   "u1,i2,view,2019-10-01,\n"     // none: made from source and line
                                   "u1,i3,view,2019-10-01,e-1\n"  // repeated: a duplicate, not sent
                                   "u1,i4,view,2019-10-01,\"quote\"\"d\"\n");
  ReplaySummary summary;
  ASSERT_TRUE(RunReplay(OptionsFor(server, {events}), {}, &summary).ok());
  EXPECT_THAT(EventIds(server.accepted()), ElementsAre("e-1", events + ":3", "quote\"d"));
  EXPECT_EQ(summary.duplicates_in_files, 1);
  EXPECT_EQ(summary.sent, 3);
}

TEST_F(ReplayTest, ReplayingAFileAgainGivesDuplicates) {
  FakeIngestServer server;
  const std::string events = Write(
      "events.csv", std::string(kHeader) + "u1,i1,view,2019-10-01,\nu2,i1,view,2019-10-01,\n");
  ReplaySummary first, second;
  ASSERT_TRUE(RunReplay(OptionsFor(server, {events}), {}, &first).ok());
  ASSERT_TRUE(RunReplay(OptionsFor(server, {events}), {}, &second).ok());
  EXPECT_EQ(first.accepted, 2);
  EXPECT_EQ(second.accepted, 2);
  EXPECT_EQ(second.duplicates, 2);
  EXPECT_EQ(server.accepted().size(), 2u);
}

TEST_F(ReplayTest, BadRowsAreRejectedLocallyReportedAndNotSent) {
  FakeIngestServer server;
  const std::string events = Write("events.csv", std::string(kHeader) +
                                                     "u1,i1,view,2019-10-01,\n"
                                                     ",i1,view,2019-10-01,\n"
                                                     "u2,i1,view,yesterday,\n"
                                                     "u3,i1,purchase,2019-10-01,\n"
                                                     "u4,i1,like,2019-10-01,\n"
                                                     "u5,i1,view\n"
                                                     "u6,i1,view,2019-10-01,\n");
  const CommandResult result = RunCommand(OptionsFor(server, {events}));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(DescribeAll(server.accepted()),
              ElementsAre("u1 i1 view 2019-10-01 00:00:00", "u6 i1 view 2019-10-01 00:00:00"));
  // The pipeline's rejected.csv columns and reasons.
  EXPECT_THAT(Lines(result.out),
              ElementsAre("source,line,reason", events + ",3,missing user_id",
                          AllOf(HasSubstr(events + ",4,"), HasSubstr("bad time 'yesterday'")),
                          events + ",5,purchase event without an amount",
                          events + ",6,unknown event type 'like'",
                          events + ",7,\"expected 5 fields, found 3\""));
  EXPECT_THAT(result.err, HasSubstr("read 7 rows: 5 rejected locally"));
  EXPECT_THAT(result.err, HasSubstr("sent 2 events in 1 requests"));
  EXPECT_THAT(result.err, HasSubstr("rejected rows are listed on standard output"));
}

TEST_F(ReplayTest, IdsThatAreNotUtf8AreRejectedLocally) {
  FakeIngestServer server;
  const std::string events =
      Write("events.csv", std::string(kHeader) +
                              "caf\xe9,i1,view,2019-10-01,\n"
                              "caf\xc3\xa9,\"i\"\"1\"\"\",view,2019-10-01,\n");
  EXPECT_THAT(LocalRejects(OptionsFor(server, {events})),
              ElementsAre("2: user_id is not valid UTF-8"));
  // Valid UTF-8 and quotes travel as they are.
  EXPECT_THAT(DescribeAll(server.accepted()),
              ElementsAre("caf\xc3\xa9 i\"1\" view 2019-10-01 00:00:00"));
}

// A row refused for an id that is not UTF-8 changes nothing: its event_id is not taken
// as seen, so a later row with the same id is sent.
TEST_F(ReplayTest, ARowRefusedForItsIdsDoesNotClaimItsEventId) {
  FakeIngestServer server;
  const std::string events =
      Write("events.csv", std::string("user_id,item_id,event_type,timestamp,event_id\n") +
                              "u\xff"
                              "1,i1,view,2019-10-01,e1\n"
                              "u2,i2,view,2019-10-01,e1\n");
  EXPECT_THAT(LocalRejects(OptionsFor(server, {events})),
              ElementsAre("2: user_id is not valid UTF-8"));
  EXPECT_THAT(DescribeAll(server.accepted()), ElementsAre("u2 i2 view 2019-10-01 00:00:00"));
}

TEST_F(ReplayTest, ServerRejectsAreReportedWithSourceAndLineAndExitOne) {
  FakeIngestServer server;
  const std::string events = Write("events.csv", std::string(kHeader) +
                                                     "u1,i1,view,2019-10-01,\n"
                                                     "blocked,i1,view,2019-10-01,\n"
                                                     "u2,i1,view,2019-10-01,\n");
  ReplayOptions options = OptionsFor(server, {events});
  const CommandResult result = RunCommand(options);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_EQ(result.out, StrCat("source,line,reason\n", events, ",3,server: user is blocked\n"));
  EXPECT_THAT(result.err, HasSubstr("2 accepted (0 of them duplicates), 1 rejected by the server"));
}

TEST_F(ReplayTest, A503IsRetried) {
  FakeIngestServer server([](int n) -> std::optional<Answer> {
    if (n < 2) return Answer{http::status::service_unavailable, R"({"error":"busy"})"};
    return std::nullopt;
  });
  const std::string events = Write(
      "events.csv", std::string(kHeader) + "u1,i1,view,2019-10-01,\nu2,i1,view,2019-10-01,\n");
  ReplayOptions options = OptionsFor(server, {events});
  options.connections = 1;
  ReplaySummary summary;
  ASSERT_TRUE(RunReplay(options, {}, &summary).ok());
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(summary.retries, 2);
  EXPECT_EQ(summary.accepted, 2);
  EXPECT_THAT(EventIds(server.accepted()), ElementsAre(events + ":2", events + ":3"));
}

TEST_F(ReplayTest, ALostReplyIsRetriedAndCountsAsDuplicates) {
  FakeIngestServer server([](int n) -> std::optional<Answer> {
    if (n == 0) return Answer{.status = http::status::ok, .body = "", .ingest_then_hang_up = true};
    return std::nullopt;
  });
  const std::string events = Write(
      "events.csv", std::string(kHeader) + "u1,i1,view,2019-10-01,\nu2,i1,view,2019-10-01,\n");
  ReplayOptions options = OptionsFor(server, {events});
  options.connections = 1;
  ReplaySummary summary;
  ASSERT_TRUE(RunReplay(options, {}, &summary).ok());
  // The first attempt was applied; its retry is recognised by the event ids.
  EXPECT_EQ(server.accepted().size(), 2u);
  EXPECT_EQ(summary.retries, 1);
  EXPECT_EQ(summary.accepted, 2);
  EXPECT_EQ(summary.duplicates, 2);
}

TEST_F(ReplayTest, PersistentUnavailabilityGivesUpWithExitTwo) {
  FakeIngestServer server([](int) -> std::optional<Answer> {
    return Answer{http::status::service_unavailable, R"({"error":"busy"})"};
  });
  const std::string events = Write("events.csv", std::string(kHeader) + "u1,i1,view,2019-10-01,\n");
  ReplayOptions options = OptionsFor(server, {events});
  options.max_attempts = 3;
  const CommandResult result = RunCommand(options);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_THAT(result.err, AllOf(HasSubstr("gave up after 3 attempts"),
                                HasSubstr("503 Service Unavailable: {\"error\":\"busy\"}")));
}

TEST_F(ReplayTest, A400EndsWithExitTwoAndPrintsTheBody) {
  FakeIngestServer server([](int) -> std::optional<Answer> {
    return Answer{http::status::bad_request,
                  R"({"error":"bad_request","detail":"line 1: not JSON"})"};
  });
  std::string text = kHeader;
  for (int i = 0; i < 20; ++i) text += StrCat("u", i, ",i1,view,2019-10-01,\n");
  const std::string events = Write("events.csv", text);
  ReplayOptions options = OptionsFor(server, {events});
  options.batch = 2;
  const CommandResult result = RunCommand(options);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err,
              HasSubstr("answered 400 Bad Request: {\"error\":\"bad_request\",\"detail\":\"line 1: "
                        "not JSON\"}"));
  // Not retried, and no request starts after the error: at most one per connection.
  EXPECT_LE(server.requests().size(), 2u);
}

TEST_F(ReplayTest, UnreachableServerIsExitTwo) {
  std::string url;
  {
    FakeIngestServer closed;  // a port that was free a moment ago
    url = closed.url();
  }
  const std::string events = Write("events.csv", std::string(kHeader) + "u1,i1,view,2019-10-01,\n");
  ReplayOptions options;
  options.files = {events};
  options.url = url;
  options.max_attempts = 2;
  options.first_backoff = std::chrono::milliseconds(5);
  const CommandResult result = RunCommand(options);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err,
              AllOf(HasSubstr("gave up after 2 attempts"), HasSubstr("cannot connect")));
}

TEST_F(ReplayTest, BadUrlsAreExitTwo) {
  const std::string events = Write("events.csv", std::string(kHeader) + "u1,i1,view,2019-10-01,\n");
  for (const std::string url : {"localhost:8080", "https://localhost", "http://", "http://h:0",
                                "http://h:99999", "http://h:x", "http://h/p?q=1", "http://u@h"}) {
    ReplayOptions options;
    options.files = {events};
    options.url = url;
    const CommandResult result = RunCommand(options);
    EXPECT_EQ(result.exit_code, 2) << url;
    EXPECT_THAT(result.err, HasSubstr(StrCat("bad URL '", url, "'"))) << url;
  }
}

TEST_F(ReplayTest, UrlPrefixAndRouteAreRespected) {
  FakeIngestServer server;
  const std::string events = Write("events.csv", std::string(kHeader) + "u1,i1,view,2019-10-01,\n");
  ReplayOptions options = OptionsFor(server, {events});
  ReplaySummary summary;
  options.url = server.url() + "/engine/";
  ASSERT_TRUE(RunReplay(options, {}, &summary).ok());
  options.url = server.url() + "/v1/events";
  ASSERT_TRUE(RunReplay(options, {}, &summary).ok());
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[0].target, "/engine/v1/events");
  EXPECT_EQ(server.requests()[1].target, "/v1/events");
}

TEST_F(ReplayTest, UnreadableFileStopsBeforeAnythingIsSent) {
  FakeIngestServer server;
  const std::string good = Write("events.csv", std::string(kHeader) + "u1,i1,view,2019-10-01,\n");
  const std::string no_time = Write("no_time.csv", "user_id,item_id,event_type\nu1,i1,view\n");
  CommandResult result = RunCommand(OptionsFor(server, {good, dir_ + "/missing.csv"}));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("missing.csv"));
  result = RunCommand(OptionsFor(server, {good, no_time}));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("no column for timestamp"));
  EXPECT_THAT(server.requests(), IsEmpty());
}

TEST_F(ReplayTest, ApiKeyIsSent) {
  FakeIngestServer server;
  const std::string events = Write("events.csv", std::string(kHeader) + "u1,i1,view,2019-10-01,\n");
  ReplayOptions options = OptionsFor(server, {events});
  options.api_key = "s3cret";
  ReplaySummary summary;
  ASSERT_TRUE(RunReplay(options, {}, &summary).ok());
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].authorization, "Bearer s3cret");
}

TEST_F(ReplayTest, JsonLinesInputIsReadLikeThePipelineReadsIt) {
  FakeIngestServer server;
  const std::string events = Write(
      "events.jsonl",
      R"({"user_id": "u1", "item_id": 7, "event_type": "purchase", "timestamp": 1569888000, "amount": 19.99})"
      "\n"
      R"({"user_id": "u2", "item_id": "i2", "event_type": "view", "timestamp": "2019-10-01"})"
      "\n");
  ReplaySummary summary;
  ASSERT_TRUE(RunReplay(OptionsFor(server, {events}), {}, &summary).ok());
  EXPECT_THAT(DescribeAll(server.accepted()), ElementsAre("u1 7 purchase 2019-10-01 00:00:00 19.99",
                                                          "u2 i2 view 2019-10-01 00:00:00"));
}

TEST_F(ReplayTest, MappingFileReadsAHeaderlessTsv) {
  FakeIngestServer server;
  const std::string mapping = Write("log.toml", R"(
[events]
delimiter = "\t"
header = false

[events.columns]
timestamp = "column0"
user_id = "column1"
item_id = "column2"
event_type = "column3"
amount = "column4"
timestamp_offset_ms = "column5"

[events.event_types]
pv = "view"
cart = "add_to_cart"
buy = "purchase"
)");
  const std::string events = Write("log.tsv",
                                   "2019-10-01 00:00:00\tu1\ti1\tpv\t\t0\n"
                                   "2019-10-01 00:00:00\tu1\ti1\tbuy\t5\t1500\n"
                                   "2019-10-01 00:00:00\tu2\ti2\tfav\t\t0\n"
                                   "2019-10-01 00:00:00\tu2\ti3\tcart\t\t60000\n");
  ReplayOptions options = OptionsFor(server, {events});
  options.mapping_file = mapping;
  EXPECT_THAT(LocalRejects(options), ElementsAre("3: unknown event type 'fav'"));
  EXPECT_THAT(DescribeAll(server.accepted()), ElementsAre("u1 i1 view 2019-10-01 00:00:00",
                                                          "u1 i1 purchase 2019-10-01 00:00:01.5 5",
                                                          "u2 i3 add_to_cart 2019-10-01 00:01:00"));
}

TEST_F(ReplayTest, RateIsKeptWithinTwentyPercent) {
  FakeIngestServer server;
  std::string text = kHeader;
  for (int i = 0; i < 1000; ++i) text += StrCat("u", i % 37, ",i", i % 11, ",view,2019-10-01,\n");
  const std::string events = Write("events.csv", text);
  ReplayOptions options = OptionsFor(server, {events});
  options.rate = 2000;  // 1000 events: half a second
  ReplaySummary summary;
  ASSERT_TRUE(RunReplay(options, {}, &summary).ok());
  EXPECT_EQ(summary.sent, 1000);
  EXPECT_GE(summary.events_per_second(), 1600);
  EXPECT_LE(summary.events_per_second(), 2400);
  // A request holds a tenth of a second's events, so the stream flows evenly.
  EXPECT_THAT(BatchSizes(server.requests()), ElementsAre(200, 200, 200, 200, 200));
}

// Past these the schedule's arithmetic overflowed: everything at once for a tiny rate,
// an event a request for a huge one.
TEST_F(ReplayTest, RatesOutsideTheScheduleArithmeticAreRefused) {
  FakeIngestServer server;
  const std::string events = Write("events.csv", StrCat(kHeader, "u1,i1,view,2019-10-01,\n"));
  for (const double rate : {1e-12, 1e30, -1.0}) {
    ReplayOptions options = OptionsFor(server, {events});
    options.rate = rate;
    ReplaySummary summary;
    const absl::Status status = RunReplay(options, {}, &summary);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << rate << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr("--rate must be 0 (as fast as it can) or from 0.001"));
  }
  EXPECT_THAT(server.requests(), IsEmpty());
}

TEST_F(ReplayTest, NothingToSendIsNotAnError) {
  FakeIngestServer server;
  const std::string events = Write("events.csv", std::string(kHeader));
  const CommandResult result = RunCommand(OptionsFor(server, {events}));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(server.requests(), IsEmpty());
  EXPECT_THAT(result.out, IsEmpty());
}

}  // namespace
}  // namespace streamrec
