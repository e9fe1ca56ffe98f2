#include "cli/replay.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "boost/asio/as_tuple.hpp"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/core/tcp_stream.hpp"
#include "boost/beast/http/read.hpp"
#include "boost/beast/http/string_body.hpp"
#include "boost/beast/http/write.hpp"
#include "boost/json/parse.hpp"
#include "boost/json/value.hpp"
#include "common/event.h"
#include "common/interner.h"
#include "common/json_string.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/time.h"
#include "io/mapping.h"
#include "io/row_decoder.h"
#include "io/row_source.h"
#include "streamrec/version.h"

namespace streamrec {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Response = http::response<http::string_body>;
// Completion token: an awaited operation returns its error code instead of throwing.
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr std::string_view kIngestPath = "/v1/events";
constexpr std::chrono::milliseconds kMaxBackoff{30'000};
constexpr uint64_t kMaxReplyBytes = 64 << 20;
constexpr size_t kMaxBodyInMessage = 4096;

// ---------------------------------------------------------------------------------
// URL

struct HttpUrl {
  std::string host;         // without IPv6 brackets
  std::string port;         // "80" when the URL names none
  std::string host_header;  // the authority as written
  std::string target;       // the ingest route's path
};

// Accepts http://host[:port][/prefix], host a name, an IPv4 address or [IPv6].
absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(StrCat("bad URL '", url, "': ", why));
  };
  constexpr std::string_view kScheme = "http://";
  if (url.size() < kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), url.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    if (url.starts_with("https://")) return bad("https is not supported; use http://");
    return bad("expected http://host[:port][/path]");
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t path_start = std::min(rest.find('/'), rest.size());
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = rest.substr(path_start);
  if (path.find_first_of("?#") != std::string_view::npos ||
      authority.find_first_of("?#") != std::string_view::npos) {
    return bad("a query or fragment is not allowed");
  }
  if (authority.find('@') != std::string_view::npos) return bad("user information is not allowed");
  HttpUrl out;
  out.host_header = std::string(authority);
  std::string_view port;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("unexpected text after the IPv6 address");
      port = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return bad("no host");
  if (port.empty()) {
    if (authority.ends_with(':')) return bad("empty port");
    out.port = "80";
  } else {
    int value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value < 1 || value > 65535) {
      return bad(StrCat("port '", port, "' is not a number from 1 to 65535"));
    }
    out.port = std::string(port);
  }
  while (path.ends_with('/')) path.remove_suffix(1);
  // A URL that already names the route is taken as it is.
  out.target = path.ends_with(kIngestPath) ? std::string(path) : StrCat(path, kIngestPath);
  return out;
}

// ---------------------------------------------------------------------------------
// NDJSON

// The event_id of a row that has none: "<source>:<line>", bytes of a path that is not
// UTF-8 written as %XX so that the id can travel in JSON.
std::string GeneratedEventId(std::string_view source, int64_t line) {
  std::string id = StrCat(source, ":", line);
  if (IsValidUtf8(id)) return id;
  std::string escaped;
  for (const char c : id) {
    if (static_cast<unsigned char>(c) < 0x80) {
      escaped.push_back(c);
    } else {
      fmt::format_to(std::back_inserter(escaped), "%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return escaped;
}

// ---------------------------------------------------------------------------------
// Reading: files -> batches of NDJSON lines

// Where an event came from, to name it when the server rejects it.
struct EventOrigin {
  uint32_t file;
  int64_t line;
};

struct Batch {
  std::string body;                  // NDJSON, one line per event
  std::vector<EventOrigin> origins;  // origins[i]: the event on line i of `body`
};

// Reads the files in order, rows in file order, and turns them into batches.
class EventReader {
 public:
  EventReader(const std::vector<std::string>& files, Mapping mapping,
              const ReplayRejectFn& on_reject, ReplaySummary* summary)
      : files_(files), mapping_(std::move(mapping)), on_reject_(on_reject), summary_(summary) {}

  // Opens every file and resolves its header against the mapping, then closes it, so
  // that an unreadable file or a header the mapping cannot resolve stops the run
  // before anything is sent.
  absl::Status CheckAll() {
    for (size_t i = 0; i < files_.size(); ++i) {
      RETURN_IF_ERROR(Open(i));
    }
    source_.reset();
    decoder_.reset();
    return absl::OkStatus();
  }

  // Replaces `batch` with up to `max_events` events; false when the files are done.
  absl::StatusOr<bool> Next(size_t max_events, Batch* batch) {
    batch->body.clear();
    batch->origins.clear();
    while (batch->origins.size() < max_events) {
      if (source_ == nullptr) {
        if (next_file_ == files_.size()) break;
        RETURN_IF_ERROR(Open(next_file_++));
      }
      const uint32_t file = static_cast<uint32_t>(next_file_ - 1);
      absl::StatusOr<RowStatus> status = source_->Next(&row_);
      if (!status.ok()) {
        return absl::Status(status.status().code(),
                            StrCat(files_[file], ": ", status.status().message()));
      }
      if (*status == RowStatus::kEnd) {
        source_.reset();
        decoder_.reset();
        continue;
      }
      ++summary_->rows_read;
      if (*status == RowStatus::kBad) {
        Reject(file, source_->bad_reason());
        continue;
      }
      records_.clear();
      // seq only orders records inside one run; nothing here reads it, so it may wrap.
      switch (decoder_->Decode(row_, seq_, &ids_, &seen_event_ids_, &records_, &reason_)) {
        case DecodeOutcome::kRejected:
          Reject(file, reason_);
          continue;
        case DecodeOutcome::kDuplicate:
          ++summary_->duplicates_in_files;
          continue;
        case DecodeOutcome::kAccepted:
          ++seq_;
          break;
      }
      AppendEvent(file, batch);
      batch->origins.push_back({file, row_.line});
    }
    return !batch->origins.empty();
  }

  const std::string& file(uint32_t i) const { return files_[i]; }

 private:
  absl::Status Open(size_t i) {
    const SourceMapping& mapping = mapping_.events;
    ASSIGN_OR_RETURN(source_,
                     OpenRowSource(files_[i], mapping.csv,
                                   RowDecoder::WantedColumns(SourceKind::kEvents, mapping)));
    ASSIGN_OR_RETURN(RowDecoder decoder, RowDecoder::Create(SourceKind::kEvents, mapping,
                                                            source_->columns(), files_[i]));
    decoder_.emplace(std::move(decoder));
    return absl::OkStatus();
  }

  void Reject(uint32_t file, std::string_view reason) {
    ++summary_->rejected_locally;
    if (on_reject_) on_reject_(RejectedRow{files_[file], row_.line, reason});
  }

  // Appends the accepted row in `records_` (one kEvent, preceded by a kPurchase with
  // the amount for a purchase event) as one NDJSON line. (Its ids are UTF-8, which JSON
  // needs: the decoder refuses others.)
  void AppendEvent(uint32_t file, Batch* batch) {
    const Record& event = records_.back();
    const std::string_view user = ids_.users.Name(event.user);
    const std::string_view item = ids_.items.Name(event.item);
    std::string_view event_id = decoder_->EventIdText(row_);
    std::string& out = batch->body;
    out.append("{\"user_id\":");
    AppendJsonString(user, &out);
    out.append(",\"item_id\":");
    AppendJsonString(item, &out);
    out.append(",\"event_type\":\"");
    out.append(EventTypeName(event.type));
    out.append("\",\"timestamp\":\"");
    char time[kMaxFormattedTime];
    out.append(time, FormatTime(event.time, time));
    out.push_back('"');
    if (records_.size() == 2) {
      // fmt writes the shortest text that reads back as the same double.
      fmt::format_to(std::back_inserter(out), ",\"amount\":{}", records_.front().amount);
    }
    out.append(",\"event_id\":");
    if (event_id.empty()) {
      generated_id_ = GeneratedEventId(files_[file], row_.line);
      event_id = generated_id_;
    }
    AppendJsonString(event_id, &out);
    out.append("}\n");
  }

  const std::vector<std::string>& files_;
  const Mapping mapping_;
  const ReplayRejectFn& on_reject_;
  ReplaySummary* summary_;

  size_t next_file_ = 0;  // the file after the one open
  std::unique_ptr<RowSource> source_;
  std::optional<RowDecoder> decoder_;
  IdDictionary ids_;
  EventIdSet seen_event_ids_;  // over every file, as in the pipeline
  uint32_t seq_ = 0;
  Row row_;
  std::vector<Record> records_;
  std::string reason_;
  std::string generated_id_;
};

// ---------------------------------------------------------------------------------
// Sending

// One line on stderr, redrawn at most every 100 ms, when enabled and a terminal.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled && ::isatty(STDERR_FILENO) == 1) {}
  ~ProgressLine() { Clear(); }

  void Draw(const ReplaySummary& s, double seconds) {
    if (!enabled_) return;
    const auto now = Clock::now();
    if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    drawn_ = true;
    std::fprintf(
        stderr,
        "\r\033[Ksent %lld events: %lld accepted, %lld rejected (%lld locally); %.0f events/s",
        static_cast<long long>(s.sent), static_cast<long long>(s.accepted),
        static_cast<long long>(s.rejected_by_server + s.rejected_locally),
        static_cast<long long>(s.rejected_locally), seconds > 0 ? s.sent / seconds : 0.0);
    std::fflush(stderr);
  }

  void Clear() {
    if (!drawn_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  Clock::time_point last_draw_{};
};

// The request loop. Everything runs on one io_context thread, so the shared state
// (reader, counters, pacing, the first error) needs no lock.
class Sender {
 public:
  Sender(const ReplayOptions& options, const HttpUrl& url, tcp::resolver::results_type endpoints,
         EventReader* reader, const ReplayRejectFn& on_reject, ReplaySummary* summary)
      : options_(options),
        url_(url),
        endpoints_(std::move(endpoints)),
        reader_(reader),
        on_reject_(on_reject),
        summary_(summary),
        progress_(options.show_progress) {
    max_events_ = static_cast<size_t>(options.batch);
    if (options.rate > 0) {
      // At most a tenth of a second's events per request.
      max_events_ = std::clamp<size_t>(static_cast<size_t>(options.rate / 10), 1, max_events_);
    }
  }

  // Runs `connections` request loops to the end of the files or the first error.
  absl::Status Run() {
    asio::io_context io;
    start_ = Clock::now();
    for (int i = 0; i < options_.connections; ++i) {
      asio::co_spawn(io, RunConnection(), [this](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          Fail(absl::InternalError(StrCat("replay stopped: ", ex.what())));
        } catch (...) {
          Fail(absl::InternalError("replay stopped by an unknown exception"));
        }
      });
    }
    io.run();
    summary_->seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    progress_.Clear();
    return error_;
  }

 private:
  // One keep-alive connection, opened on first use and again after an error.
  struct Connection {
    explicit Connection(asio::any_io_executor executor) : stream(std::move(executor)) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    bool open = false;

    void Close() {
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.close();
      buffer.clear();
      open = false;
    }
  };

  // What one attempt gave: a reply (any status but 503), or why it should be retried.
  struct Attempt {
    std::optional<Response> reply;
    std::string error;
    std::chrono::milliseconds retry_after{0};
  };

  void Fail(absl::Status status) {
    if (error_.ok()) error_ = std::move(status);
  }

  asio::awaitable<void> RunConnection() {
    Connection conn(co_await asio::this_coro::executor);
    Batch batch;
    while (error_.ok()) {
      absl::StatusOr<bool> more = reader_->Next(max_events_, &batch);
      if (!more.ok()) {
        Fail(more.status());
        break;
      }
      if (!*more) break;
      if (options_.rate > 0) {
        scheduled_events_ += static_cast<int64_t>(batch.origins.size());
        const auto due =
            start_ + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(scheduled_events_ / options_.rate));
        asio::steady_timer timer(co_await asio::this_coro::executor, due);
        co_await timer.async_wait(kNoThrow);
        if (!error_.ok()) break;
      }
      absl::StatusOr<Response> reply = co_await Send(conn, std::move(batch.body));
      if (!reply.ok()) {
        Fail(reply.status());
        break;
      }
      if (absl::Status s = TakeReply(*reply, batch); !s.ok()) {
        Fail(std::move(s));
        break;
      }
      progress_.Draw(*summary_, std::chrono::duration<double>(Clock::now() - start_).count());
    }
    if (conn.open) conn.Close();
  }

  // Sends one request, retrying connection errors, timeouts and 503 answers.
  asio::awaitable<absl::StatusOr<Response>> Send(Connection& conn, std::string body) {
    http::request<http::string_body> request{http::verb::post, url_.target, 11};
    request.set(http::field::host, url_.host_header);
    request.set(http::field::user_agent, StrCat("streamrec-replay/", kVersionString));
    request.set(http::field::content_type, "application/x-ndjson");
    if (!options_.api_key.empty()) {
      request.set(http::field::authorization, StrCat("Bearer ", options_.api_key));
    }
    request.keep_alive(true);
    request.body() = std::move(body);
    request.prepare_payload();

    std::chrono::milliseconds backoff = options_.first_backoff;
    std::string last_error;
    int attempt = 1;
    for (;; ++attempt) {
      Attempt result = co_await TryOnce(conn, request);
      if (result.reply) co_return std::move(*result.reply);
      last_error = std::move(result.error);
      if (attempt >= options_.max_attempts || !error_.ok()) break;
      ++summary_->retries;
      asio::steady_timer timer(co_await asio::this_coro::executor,
                               std::min(std::max(backoff, result.retry_after), kMaxBackoff));
      co_await timer.async_wait(kNoThrow);
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
    co_return absl::UnavailableError(
        StrCat("POST http://", url_.host_header, url_.target, ": gave up after ", attempt,
               attempt == 1 ? " attempt: " : " attempts: ", last_error));
  }

  asio::awaitable<Attempt> TryOnce(Connection& conn, http::request<http::string_body>& request) {
    Attempt result;
    if (!conn.open) {
      conn.stream.expires_after(options_.timeout);
      auto [ec, endpoint] = co_await conn.stream.async_connect(endpoints_, kNoThrow);
      if (ec) {
        result.error = StrCat("cannot connect to ", url_.host_header, ": ", ec.message());
        conn.Close();
        co_return result;
      }
      conn.open = true;
    }
    conn.stream.expires_after(options_.timeout);
    if (auto [ec, n] = co_await http::async_write(conn.stream, request, kNoThrow); ec) {
      result.error = StrCat("sending to ", url_.host_header, ": ", ec.message());
      conn.Close();
      co_return result;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxReplyBytes);
    if (auto [ec, n] = co_await http::async_read(conn.stream, conn.buffer, parser, kNoThrow); ec) {
      result.error = StrCat("reading the reply from ", url_.host_header, ": ", ec.message());
      conn.Close();
      co_return result;
    }
    Response reply = parser.release();
    if (!reply.keep_alive()) conn.Close();
    if (reply.result() == http::status::service_unavailable) {
      result.error = StatusLine(reply);
      if (auto it = reply.find(http::field::retry_after); it != reply.end()) {
        int seconds = 0;
        const std::string_view text(it->value().data(), it->value().size());
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
        if (ec == std::errc() && seconds > 0) result.retry_after = std::chrono::seconds(seconds);
      }
      co_return result;
    }
    result.reply = std::move(reply);
    co_return result;
  }

  // "503 Service Unavailable: <body>", the body cut to a readable length.
  static std::string StatusLine(const Response& reply) {
    std::string_view body = TrimAscii(reply.body());
    std::string line = StrCat(reply.result_int(), " ",
                              std::string_view(reply.reason().data(), reply.reason().size()));
    if (!body.empty()) {
      line += StrCat(": ", body.substr(0, kMaxBodyInMessage));
      if (body.size() > kMaxBodyInMessage) {
        line += StrCat(" ... (", body.size() - kMaxBodyInMessage, " more bytes)");
      }
    }
    return line;
  }

  // Counts a reply: {"accepted": n, "duplicates": n, "rejected": [{"index": i, "error": "..."}]}.
  absl::Status TakeReply(const Response& reply, const Batch& batch) {
    const std::string where = StrCat("POST http://", url_.host_header, url_.target);
    if (reply.result_int() < 200 || reply.result_int() > 299) {
      std::string message = StrCat(where, " answered ", StatusLine(reply));
      if (reply.result() == http::status::payload_too_large) {
        message +=
            StrCat(" (requests hold ", batch.origins.size(), " events; try a smaller --batch)");
      }
      return absl::InternalError(message);
    }
    auto bad_reply = [&](std::string_view why) {
      return absl::InternalError(
          StrCat(where, ": the reply is not the ingest API's (", why, "): ", StatusLine(reply)));
    };
    boost::system::error_code ec;
    const boost::json::value value = boost::json::parse(reply.body(), ec);
    if (ec || !value.is_object()) return bad_reply("not a JSON object");
    const boost::json::object& object = value.get_object();
    auto count = [&](std::string_view key, int64_t* out) {
      const boost::json::value* v = object.if_contains(key);
      if (v == nullptr) return true;
      boost::system::error_code e;
      *out = v->to_number<int64_t>(e);
      return !e && *out >= 0;
    };
    int64_t accepted = -1;
    int64_t duplicates = 0;
    if (!count("accepted", &accepted) || accepted < 0) return bad_reply("no \"accepted\" count");
    if (!count("duplicates", &duplicates)) return bad_reply("a bad \"duplicates\" count");
    int64_t rejected = 0;
    if (const boost::json::value* list = object.if_contains("rejected")) {
      if (!list->is_array()) return bad_reply("\"rejected\" is not a list");
      for (const boost::json::value& entry : list->get_array()) {
        const boost::json::object* e = entry.if_object();
        const boost::json::value* index = e ? e->if_contains("index") : nullptr;
        boost::system::error_code index_ec;
        const int64_t i = index ? index->to_number<int64_t>(index_ec) : -1;
        if (index == nullptr || index_ec || i < 0 ||
            i >= static_cast<int64_t>(batch.origins.size())) {
          return bad_reply("a rejected event without a valid index");
        }
        const boost::json::value* error = e->if_contains("error");
        std::string reason = "server: (no reason given)";
        if (error != nullptr && error->is_string()) {
          const boost::json::string& text = error->get_string();
          reason = StrCat("server: ", std::string_view(text.data(), text.size()));
        }
        const EventOrigin& origin = batch.origins[i];
        if (on_reject_) on_reject_(RejectedRow{reader_->file(origin.file), origin.line, reason});
        ++rejected;
      }
    }
    ++summary_->requests;
    summary_->sent += static_cast<int64_t>(batch.origins.size());
    summary_->accepted += accepted;
    summary_->duplicates += duplicates;
    summary_->rejected_by_server += rejected;
    return absl::OkStatus();
  }

  const ReplayOptions& options_;
  const HttpUrl& url_;
  const tcp::resolver::results_type endpoints_;
  EventReader* reader_;
  const ReplayRejectFn& on_reject_;
  ReplaySummary* summary_;
  ProgressLine progress_;

  size_t max_events_;
  Clock::time_point start_;
  int64_t scheduled_events_ = 0;  // events in requests already given a departure time
  absl::Status error_;            // the first error; no request starts after it
};

absl::Status CheckOptions(const ReplayOptions& o) {
  if (o.files.empty()) return absl::InvalidArgumentError("no input: give event files to replay");
  if (o.batch < 1) return absl::InvalidArgumentError("--batch must be at least 1");
  if (o.connections < 1) return absl::InvalidArgumentError("--connections must be at least 1");
  // Past these bounds the schedule's arithmetic overflows: all at once, or an event a
  // request.
  if (!(o.rate == 0 || (o.rate >= 1e-3 && o.rate <= 1e9))) {
    return absl::InvalidArgumentError(
        StrCat("--rate must be 0 (as fast as it can) or from 0.001 to 1e9 events per second, not ",
               o.rate));
  }
  if (o.max_attempts < 1) return absl::InvalidArgumentError("max_attempts must be at least 1");
  return absl::OkStatus();
}

// A CSV field as the pipeline's table writer writes it.
std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

namespace {

absl::Status Replay(const ReplayOptions& options, const ReplayRejectFn& on_reject,
                    ReplaySummary* summary) {
  RETURN_IF_ERROR(CheckOptions(options));
  ASSIGN_OR_RETURN(const HttpUrl url, ParseHttpUrl(options.url));
  Mapping mapping;
  if (options.mapping_file) {
    ASSIGN_OR_RETURN(mapping, LoadMapping(*options.mapping_file));
  }
  EventReader reader(options.files, std::move(mapping), on_reject, summary);
  RETURN_IF_ERROR(reader.CheckAll());

  asio::io_context resolver_io;
  tcp::resolver resolver(resolver_io);
  beast::error_code ec;
  tcp::resolver::results_type endpoints = resolver.resolve(url.host, url.port, ec);
  if (ec) {
    return absl::UnavailableError(
        StrCat("cannot resolve '", url.host, "' from ", options.url, ": ", ec.message()));
  }
  Sender sender(options, url, std::move(endpoints), &reader, on_reject, summary);
  return sender.Run();
}

}  // namespace

absl::Status RunReplay(const ReplayOptions& options, const ReplayRejectFn& on_reject,
                       ReplaySummary* summary) {
  *summary = ReplaySummary{};
  // Boost reports some failures (allocation, system resources) by throwing; none
  // leaves this function.
  try {
    return Replay(options, on_reject, summary);
  } catch (const std::exception& e) {
    return absl::InternalError(StrCat("replay stopped: ", e.what()));
  }
}

int RunReplayCommand(const ReplayOptions& options, std::FILE* out, std::FILE* err) {
  bool header_written = false;
  auto write_reject = [&](const RejectedRow& r) {
    if (!header_written) {
      std::fputs("source,line,reason\n", out);
      header_written = true;
    }
    std::fprintf(out, "%s,%lld,%s\n", CsvField(r.source).c_str(), static_cast<long long>(r.line),
                 CsvField(r.reason).c_str());
  };
  ReplaySummary s;
  const absl::Status status = RunReplay(options, write_reject, &s);
  std::fflush(out);
  if (status.ok() || s.rows_read > 0) {
    std::fprintf(
        err,
        "read %lld rows: %lld rejected locally, %lld duplicates skipped (event_id seen before)\n",
        static_cast<long long>(s.rows_read), static_cast<long long>(s.rejected_locally),
        static_cast<long long>(s.duplicates_in_files));
    std::fprintf(err,
                 "sent %lld events in %lld requests (%lld retries): %lld accepted (%lld of them "
                 "duplicates), %lld rejected by the server\n",
                 static_cast<long long>(s.sent), static_cast<long long>(s.requests),
                 static_cast<long long>(s.retries), static_cast<long long>(s.accepted),
                 static_cast<long long>(s.duplicates),
                 static_cast<long long>(s.rejected_by_server));
    std::fprintf(err, "%.2f s, %.0f events/s\n", s.seconds, s.events_per_second());
    if (header_written) {
      std::fprintf(err, "rejected rows are listed on standard output (source,line,reason)\n");
    }
  }
  if (!status.ok()) {
    std::fprintf(err, "streamrec: %s\n", std::string(status.message()).c_str());
    return 2;
  }
  return s.rejected_by_server > 0 ? 1 : 0;
}

}  // namespace streamrec
