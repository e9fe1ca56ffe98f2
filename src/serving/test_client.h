#pragma once
// A small blocking HTTP/1.1 client for the server's tests: one keep-alive connection to
// 127.0.0.1:port. Throws boost::system::system_error on a network error (a test
// failure).

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/json/parse.hpp"
#include "boost/json/value.hpp"

namespace streamrec {

using TestResponse = boost::beast::http::response<boost::beast::http::string_body>;
using Headers = std::vector<std::pair<std::string, std::string>>;

class TestClient {
 public:
  explicit TestClient(uint16_t port) : socket_(ioc_) {
    socket_.connect({boost::asio::ip::address_v4::loopback(), port});
  }

  TestResponse Get(std::string_view target, const Headers& headers = {}) {
    return Send(boost::beast::http::verb::get, target, "", headers);
  }

  // The answer to a HEAD has no body whatever its Content-Length says.
  TestResponse Head(std::string_view target) {
    boost::beast::http::request<boost::beast::http::empty_body> req{
        boost::beast::http::verb::head, boost::beast::string_view(target.data(), target.size()),
        11};
    req.set(boost::beast::http::field::host, "127.0.0.1");
    boost::beast::http::write(socket_, req);
    return Read(/*head=*/true);
  }

  // POST with Content-Type `content_type` (none when empty).
  TestResponse Post(std::string_view target, std::string body,
                    std::string_view content_type = "application/json",
                    const Headers& headers = {}) {
    Headers all = headers;
    if (!content_type.empty()) all.emplace_back("Content-Type", std::string(content_type));
    return Send(boost::beast::http::verb::post, target, std::move(body), all);
  }

  TestResponse Send(boost::beast::http::verb method, std::string_view target, std::string body,
                    const Headers& headers = {}) {
    boost::beast::http::request<boost::beast::http::string_body> req{
        method, boost::beast::string_view(target.data(), target.size()), 11};
    req.set(boost::beast::http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = std::move(body);
    req.prepare_payload();
    boost::beast::http::write(socket_, req);
    return Read();
  }

  // `head`: the answer is to a HEAD request, so it has no body.
  TestResponse Read(bool head = false) {
    boost::beast::http::response_parser<boost::beast::http::string_body> parser;
    parser.body_limit(boost::none);
    parser.skip(head);
    boost::beast::http::read(socket_, buffer_, parser);
    return parser.release();
  }

  void WriteRaw(std::string_view bytes) {
    boost::asio::write(socket_, boost::asio::buffer(bytes.data(), bytes.size()));
  }

  // Bytes the server has sent that are not read yet (0 while it is silent).
  size_t Available() { return socket_.available() + buffer_.size(); }

  // True when the server closes the connection within `timeout` (EOF or reset); false
  // when it stays open that long or sends data instead.
  bool ClosedByServer(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    pollfd p{socket_.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char c;
    const ssize_t n = ::recv(socket_.native_handle(), &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  boost::asio::ip::tcp::socket& socket() { return socket_; }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

// The body of `res` as JSON (a test failure if it is not).
inline boost::json::value Json(const TestResponse& res) { return boost::json::parse(res.body()); }

}  // namespace streamrec
