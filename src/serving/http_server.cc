#include "serving/http_server.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "boost/asio/dispatch.hpp"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/asio/thread_pool.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "common/strings.h"
#include "common/structured_log.h"
#include "common/thread_priority.h"
#include "fmt/format.h"
#include "serving/api.h"

namespace streamrec {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kHeaderLimit = 64 * 1024;
// After refusing a request whose body was not read, the server drains what the client
// still sends for this long before closing: closing with unread data would reset the
// connection and could destroy the response before the client reads it.
constexpr std::chrono::seconds kDrainTimeout{1};
// Beast reads at most the buffer's free capacity (at least 512 bytes) per call, and the
// parser empties the buffer as it goes, so a body read through the ~1 KiB that header
// reads leave takes a system call per KiB (a 100 KB batch of events: ~150 calls, each
// with its timer and executor round trip). Bodies are read through this much room.
constexpr size_t kBodyReadBytes = 64 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

EventTime WallClockNow() {
  return EventTime{std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count()};
}

std::string_view Std(beast::string_view s) { return std::string_view(s.data(), s.size()); }

bool IsHttpError(const beast::error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::bad_target).category();
}

}  // namespace

class HttpSession;

class HttpServerImpl {
 public:
  HttpServerImpl(Backend* backend, HttpServerOptions options)
      : options_(std::move(options)),
        api_(backend, &metrics_, options_.api_key, options_.max_events_per_request),
        iocs_(MakeIoContexts(options_.io_threads)),
        acceptor_(net::make_strand(*iocs_[0])),
        accept_timer_(acceptor_.get_executor()) {}

  absl::Status Start();
  void Stop();
  uint16_t port() const { return port_; }

  // Adds a session to those Stop waits for; false (and not added) once Stop has begun.
  bool Register(HttpSession* session);
  void Unregister(HttpSession* session);

  const HttpServerOptions& options() const { return options_; }
  const Api& api() const { return api_; }
  ServerMetrics& metrics() { return metrics_; }
  net::thread_pool& body_thread() { return body_thread_; }

 private:
  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void AcceptLoopEnded();
  void RunIoThread(net::io_context* ioc);
  // One io_context per I/O thread, each run by its thread alone (see http_server.h).
  static std::vector<std::unique_ptr<net::io_context>> MakeIoContexts(int io_threads) {
    const int n =
        io_threads > 0 ? io_threads : static_cast<int>(std::thread::hardware_concurrency());
    std::vector<std::unique_ptr<net::io_context>> iocs;
    for (int i = 0; i < std::max(n, 1); ++i) {
      iocs.push_back(std::make_unique<net::io_context>(/*concurrency_hint=*/1));
    }
    return iocs;
  }

  const HttpServerOptions options_;
  ServerMetrics metrics_;
  const Api api_;
  std::vector<std::unique_ptr<net::io_context>> iocs_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work_;
  // Serves the requests with large bodies (HttpServerOptions::inline_body_limit), one at
  // a time. Before api_ in destruction: its jobs use it.
  net::thread_pool body_thread_{1};
  size_t next_ioc_ = 0;             // the io_context of the next connection (round robin)
  tcp::acceptor acceptor_;          // on its own strand, in the first io_context
  net::steady_timer accept_timer_;  // backs off after a failed accept (out of descriptors)
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;

  std::mutex mu_;
  std::condition_variable drained_;
  absl::flat_hash_set<HttpSession*> sessions_;  // guarded by mu_
  bool started_ = false;                        // guarded by mu_
  bool stopping_ = false;                       // guarded by mu_
  bool accepting_ = false;                      // guarded by mu_: the accept loop runs
};

// One client connection: reads a request, answers it, and so on while kept alive.
// Every member function runs on the connection's strand, except Finish (any thread).
class HttpSession final : public Responder, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, HttpServerImpl* server)
      : stream_(std::move(socket)), server_(server) {}

  ~HttpSession() override {
    // A request is left unanswered only when a handler threw out of its thread's loop
    // (out of memory, say) and the connection went with it.
    if (busy_) server_->metrics().RequestAbandoned();
    if (registered_) server_->Unregister(this);
  }

  void Start() {
    registered_ = server_->Register(this);
    if (!registered_) return;  // stopping: the socket closes with the session
    beast::error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&HttpSession::ReadHeader, shared_from_this()));
  }

  // Called for Stop, on the strand: an idle connection closes now, a busy one after
  // its response.
  void Shutdown() {
    closing_ = true;
    if (!busy_) stream_.cancel();
  }

  void Finish(absl::AnyInvocable<ApiResponse() &&> finish) override {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), finish = std::move(finish)]() mutable {
                ApiResponse response;
                try {
                  response = std::move(finish)();
                } catch (const std::exception& e) {
                  response = ErrorResponse(500, "internal", e.what());
                }
                self->Respond(std::move(response), /*close=*/false);
              });
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

 private:
  void ReadHeader() {
    busy_ = false;
    if (closing_) return Close();
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(server_->options().body_limit);
    stream_.expires_after(server_->options().idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&HttpSession::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || (ec && !IsHttpError(ec)) ||
        ec == http::error::partial_message) {
      return Close();  // gone, timed out, or cancelled by Stop
    }
    busy_ = true;
    started_ = Clock::now();
    arrival_ = WallClockNow();
    server_->metrics().RequestStarted();
    if (ec) return RefuseUnreadable(ec);
    // A Transfer-Encoding that does not end in chunked leaves the body's length unknown
    // (RFC 9112, 6.3). Beast would read no body, and the body's bytes would be taken for
    // the next request: refused, and the connection closes.
    if (parser_->get().count(http::field::transfer_encoding) > 0 && !parser_->chunked()) {
      return Respond(ErrorResponse(400, "bad_request",
                                   "a Transfer-Encoding other than chunked (the body's "
                                   "length is unknown)"),
                     /*close=*/true);
    }

    const ApiRequest request = Request();
    std::optional<ApiResponse> rejection;
    match_ = server_->api().Admit(request, &rejection);
    if (rejection) return Respond(std::move(*rejection), /*close=*/!parser_->is_done());
    if (parser_->is_done()) return Dispatch();
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      stream_.expires_after(server_->options().io_timeout);
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->Abandon();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    const uint64_t body_left = parser_->content_length_remaining().value_or(kBodyReadBytes);
    buffer_.reserve(buffer_.size() + std::min<uint64_t>(body_left, kBodyReadBytes));
    stream_.expires_after(server_->options().io_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t) {
    if (ec && IsHttpError(ec) && ec != http::error::partial_message &&
        ec != http::error::end_of_stream) {
      return RefuseUnreadable(ec);
    }
    if (ec) return Abandon();
    Dispatch();
  }

  // The request could not be read as HTTP: too large, or malformed. The connection
  // closes after the answer, since where the next request starts is unknown.
  void RefuseUnreadable(beast::error_code ec) {
    match_ = RouteMatch{};
    if (ec == http::error::body_limit) {
      match_ = MatchRoute(Std(parser_->get().target()));
      const size_t limit = server_->options().body_limit;
      const bool whole_mib = limit % (size_t{1} << 20) == 0;
      return Respond(ErrorResponse(413, "payload_too_large",
                                   StrCat("the body is larger than the limit of ", limit, " bytes",
                                          whole_mib ? StrCat(" (", limit >> 20, " MiB)") : "")),
                     /*close=*/true);
    }
    if (ec == http::error::header_limit) {
      return Respond(
          ErrorResponse(431, "header_too_large",
                        StrCat("the request header is larger than ", kHeaderLimit, " bytes")),
          /*close=*/true);
    }
    Respond(ErrorResponse(400, "bad_request", StrCat("not an HTTP/1.1 request: ", ec.message())),
            /*close=*/true);
  }

  ApiRequest Request() const {
    const auto& req = parser_->get();
    ApiRequest request;
    request.method = Std(req.method_string());
    request.target = Std(req.target());
    request.content_type = Std(req[http::field::content_type]);
    request.authorization = Std(req[http::field::authorization]);
    request.api_key = Std(req["X-API-Key"]);
    request.arrival = arrival_;
    return request;
  }

  void Dispatch() {
    ApiRequest request = Request();
    request.body = parser_->get().body();
    if (request.body.size() > server_->options().inline_body_limit) {
      // The session waits for Finish meanwhile: nothing on its strand touches the
      // request (the body stays in parser_) or match_ until then.
      net::post(server_->body_thread(), [self = shared_from_this(), request] {
        try {
          std::optional<ApiResponse> response = self->Handle(request);
          if (response) {
            self->Finish([r = std::move(*response)]() mutable { return std::move(r); });
          }
        } catch (const std::exception& e) {
          // Out of memory, say: the connection is dropped with the session; serve on.
          Log(LogLevel::kError, "body_thread_exception", {{"error", e.what()}});
        } catch (...) {
          Log(LogLevel::kError, "body_thread_exception", {{"error", "unknown"}});
        }
      });
      return;
    }
    std::optional<ApiResponse> response = Handle(request);
    if (response) Respond(std::move(*response), /*close=*/false);
  }

  // The route's answer, or nullopt when it answers through Finish. On the strand, or on
  // the body thread (Dispatch).
  std::optional<ApiResponse> Handle(const ApiRequest& request) {
    // The parsed body is done with when Handle returns, so one reader per thread serves
    // every connection.
    thread_local JsonReader json;
    try {
      return server_->api().Handle(match_, request, &json, shared_from_this());
    } catch (const std::exception& e) {
      return ErrorResponse(500, "internal", e.what());
    }
  }

  // Writes the answer to the current request. `close`: the request's body was not read
  // (or could not be), so the connection cannot serve another request.
  void Respond(ApiResponse answer, bool close) {
    const auto& req = parser_->get();
    const bool keep_alive = !close && !closing_ && req.keep_alive();
    response_ = {};
    response_.version(req.version() == 10 ? 10 : 11);
    response_.result(static_cast<unsigned>(answer.status));
    response_.set(http::field::server, "streamrec");
    response_.set(http::field::content_type,
                  beast::string_view(answer.content_type.data(), answer.content_type.size()));
    if (!answer.allow.empty()) {
      response_.set(http::field::allow,
                    beast::string_view(answer.allow.data(), answer.allow.size()));
    }
    if (answer.status == 401) response_.set(http::field::www_authenticate, "Bearer");
    if (answer.status == 503) response_.set(http::field::retry_after, "1");
    // A response to HEAD has no body, and the Content-Length a GET's would have: the
    // connection's framing stays right, since the client knows the answer is to a HEAD.
    const bool head = req.method() == http::verb::head;
    const size_t get_length = answer.body.size();
    if (head) answer.body.clear();
    response_.body() = std::move(answer.body);
    response_.keep_alive(keep_alive);
    response_.prepare_payload();
    if (head) response_.content_length(get_length);
    stream_.expires_after(server_->options().io_timeout);
    http::async_write(
        stream_, response_,
        [self = shared_from_this(), keep_alive, unread = close, status = answer.status](
            beast::error_code ec, size_t) { self->OnWrite(ec, keep_alive, unread, status); });
  }

  void OnWrite(beast::error_code ec, bool keep_alive, bool unread, int status) {
    server_->metrics().RequestFinished(match_.route, status, Clock::now() - started_);
    busy_ = false;
    if (ec) return Close();
    if (unread) return CloseAfterDraining();
    if (!keep_alive) return Close();
    ReadHeader();
  }

  void Abandon() {
    server_->metrics().RequestAbandoned();
    busy_ = false;
    Close();
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  void CloseAfterDraining() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(kDrainTimeout);
    Drain();
  }

  void Drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(64 * 1024),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->stream_.close();
                              self->Drain();
                            });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;  // the current request
  http::response<http::string_body> response_;                     // being written
  HttpServerImpl* server_;
  RouteMatch match_;  // views into parser_'s target
  Clock::time_point started_;
  EventTime arrival_;
  bool registered_ = false;
  bool busy_ = false;     // a request's header has arrived and its answer is not written
  bool closing_ = false;  // Stop: no request after the current one
};

absl::Status HttpServerImpl::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return absl::FailedPreconditionError("the HTTP server was started already");
    started_ = true;
  }
  try {
    beast::error_code ec;
    tcp::resolver resolver(*iocs_[0]);
    const auto endpoints =
        resolver.resolve(options_.host, StrCat(options_.port), tcp::resolver::passive, ec);
    if (ec || endpoints.empty()) {
      return absl::InvalidArgumentError(
          StrCat("cannot resolve the address '", options_.host, "': ", ec.message()));
    }
    const tcp::endpoint endpoint = endpoints.begin()->endpoint();
    const std::string where = StrCat(options_.host, ":", options_.port);
    if (acceptor_.open(endpoint.protocol(), ec); ec) {
      return absl::InternalError(StrCat("cannot open a socket for ", where, ": ", ec.message()));
    }
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (acceptor_.bind(endpoint, ec); ec) {
      return absl::UnavailableError(StrCat("cannot bind ", where, ": ", ec.message()));
    }
    if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec) {
      return absl::UnavailableError(StrCat("cannot listen on ", where, ": ", ec.message()));
    }
    port_ = acceptor_.local_endpoint(ec).port();

    for (const auto& ioc : iocs_) work_.push_back(net::make_work_guard(*ioc));
    // Every thread first, then the accept loop: should a thread fail to start, no
    // connection is on a context that nothing runs, and Stop does not wait for one.
    threads_.reserve(iocs_.size());
    for (size_t i = 0; i < iocs_.size(); ++i) {
      threads_.emplace_back([this, i, ioc = iocs_[i].get()] {
        NameThisThread(StrCat("http-io-", i));
        RunIoThread(ioc);
      });
    }
    net::post(body_thread_, [] { NameThisThread("http-body"); });
    {
      std::lock_guard lock(mu_);
      accepting_ = true;
    }
    net::post(acceptor_.get_executor(), [this] { Accept(); });
  } catch (const std::exception& e) {
    return absl::InternalError(StrCat("cannot start the HTTP server: ", e.what()));
  }
  return absl::OkStatus();
}

void HttpServerImpl::RunIoThread(net::io_context* ioc) {
  while (true) {
    try {
      ioc->run();
      return;
    } catch (const std::exception& e) {
      // A handler threw (out of memory, say): its connection is dropped; serve on.
      Log(LogLevel::kError, "io_thread_exception", {{"error", e.what()}});
    } catch (...) {
      Log(LogLevel::kError, "io_thread_exception", {{"error", "unknown"}});
    }
  }
}

void HttpServerImpl::Accept() {
  // Runs on the acceptor's strand only, so next_ioc_ needs no lock.
  net::io_context& ioc = *iocs_[next_ioc_++ % iocs_.size()];
  acceptor_.async_accept(net::make_strand(ioc),
                         beast::bind_front_handler(&HttpServerImpl::OnAccept, this));
}

void HttpServerImpl::OnAccept(beast::error_code ec, tcp::socket socket) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      accepting_ = false;
      drained_.notify_all();
      return;
    }
  }
  if (ec == net::error::operation_aborted) return AcceptLoopEnded();
  if (ec) {
    // Out of descriptors or the like: try again shortly rather than spin.
    accept_timer_.expires_after(std::chrono::milliseconds(50));
    accept_timer_.async_wait([this](beast::error_code) { OnAccept({}, tcp::socket(*iocs_[0])); });
    return;
  }
  if (socket.is_open()) {
    std::make_shared<HttpSession>(std::move(socket), this)->Start();
  }
  Accept();
}

void HttpServerImpl::AcceptLoopEnded() {
  std::lock_guard lock(mu_);
  accepting_ = false;
  drained_.notify_all();
}

bool HttpServerImpl::Register(HttpSession* session) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  sessions_.insert(session);
  metrics_.ConnectionOpened();
  return true;
}

void HttpServerImpl::Unregister(HttpSession* session) {
  std::lock_guard lock(mu_);
  sessions_.erase(session);
  metrics_.ConnectionClosed();
  if (sessions_.empty()) drained_.notify_all();
}

void HttpServerImpl::Stop() {
  std::vector<std::shared_ptr<HttpSession>> sessions;
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    sessions.reserve(sessions_.size());
    for (HttpSession* session : sessions_) {
      // A session whose last owner is gone is being destroyed (it waits on mu_ to
      // unregister): lock() fails for it, and it needs no shutdown.
      if (std::shared_ptr<HttpSession> alive = session->weak_from_this().lock()) {
        sessions.push_back(std::move(alive));
      }
    }
  }
  net::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
    accept_timer_.cancel();
  });
  for (const std::shared_ptr<HttpSession>& session : sessions) {
    net::post(session->executor(), [session] { session->Shutdown(); });
  }
  // Without mu_ held: dropping the last reference to a session unregisters it.
  sessions.clear();
  std::unique_lock lock(mu_);
  drained_.wait(lock, [this] { return sessions_.empty() && !accepting_; });
  lock.unlock();
  work_.clear();
  for (const auto& ioc : iocs_) ioc->stop();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  body_thread_.join();  // idle: every session is gone
}

HttpServer::HttpServer(Backend* backend, HttpServerOptions options)
    : impl_(std::make_unique<HttpServerImpl>(backend, std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start() { return impl_->Start(); }

uint16_t HttpServer::port() const { return impl_->port(); }

void HttpServer::Stop() { impl_->Stop(); }

const ServerMetrics& HttpServer::metrics() const { return impl_->metrics(); }

}  // namespace streamrec
