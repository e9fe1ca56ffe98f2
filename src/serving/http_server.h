#pragma once
// The HTTP/1.1 server of `streamrec serve`: Boost.Beast on Asio, routes in api.h.
//
// Threading: `io_threads` threads, each running an Asio io_context of its own; new
// connections go to them in turn and stay. (One io_context run by all the threads cost
// two futex calls a request, the threads waking each other; a connection is now served
// by one thread, at the price that a long request holds up the others of its thread.)
// Each connection lives on its own strand, so the handlers of one connection never
// overlap and need no lock; the routes call the Backend from those threads. Ingest and
// snapshot completions arrive on the engine's threads and are posted back to the
// connection's strand, so no I/O thread waits for the engine. A request with a large
// body (over `inline_body_limit`) is served on one more thread, the body thread, so that
// a bulk ingest does not hold up the other connections of its I/O thread. Connections
// are kept alive (HTTP/1.1) and answered in order, one request at a time each.
//
// Lifecycle: construct, Start() (binds and listens; port() is then the bound port),
// Stop() (or destroy). Stop stops accepting, closes connections that wait for a
// request, lets every request whose header has arrived finish (body read, engine
// completion, response written), then joins the threads. Stop and the destructor must
// not be called from an I/O thread (a Backend method or callback).
//
// Limits: request header 64 KiB (else 431), body `body_limit` (else 413, refused from
// Content-Length before the body is read), `idle_timeout` for a keep-alive connection
// to send its next request, `io_timeout` to read a body or write a response.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "serving/backend.h"
#include "serving/server_metrics.h"

namespace streamrec {

struct HttpServerOptions {
  std::string host = "0.0.0.0";  // a name or an address; IPv6 works too ("::")
  uint16_t port = 8080;          // 0: an ephemeral port (see HttpServer::port)
  int io_threads = 0;            // 0: std::thread::hardware_concurrency()
  size_t body_limit = size_t{16} << 20;
  // A request whose body is larger is served on the body thread, not on its
  // connection's I/O thread: parsing takes about 10 ms a MiB, and the thread's other
  // connections would wait for it.
  size_t inline_body_limit = size_t{256} << 10;
  // Most events in one POST /v1/events (else 413, and none of them applied); 0: no limit.
  size_t max_events_per_request = 100'000;
  std::string api_key;  // empty: write and admin routes need no key
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds io_timeout{30'000};
};

class HttpServerImpl;

class HttpServer {
 public:
  // `backend` must outlive the server and keep completing callbacks until Stop returns.
  HttpServer(Backend* backend, HttpServerOptions options);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads. Fails (and serves nothing) when the
  // address cannot be resolved or bound; FailedPrecondition when called twice.
  absl::Status Start();

  // The port listened on (the one chosen when options.port was 0); 0 before Start.
  uint16_t port() const;

  // Graceful stop (see above). Idempotent; returns at once if never started.
  void Stop();

  const ServerMetrics& metrics() const;

 private:
  std::unique_ptr<HttpServerImpl> impl_;
};

}  // namespace streamrec
