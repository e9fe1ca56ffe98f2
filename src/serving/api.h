#pragma once
// The routes of the HTTP API (docs/API.md), apart from the transport: a request comes
// in as its method, target, a few header fields and its body; a response goes out as a
// status, a body and its content type. HttpServer does the HTTP.
//
// A request is served in two steps, so that one the server will refuse is refused
// before its body is read: Admit looks at the request line and header fields (route,
// method, API key, content type); Handle does the rest (query, body, backend).
//
// Thread safety: Admit and Handle are called from many I/O threads at once; the Api
// holds no mutable state of its own (the backend and metrics are thread-safe). A
// JsonReader is per thread; nothing parsed into it is used after Handle returns.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "common/time.h"
#include "serving/backend.h"
#include "serving/event_json.h"
#include "serving/server_metrics.h"
#include "serving/target.h"

namespace streamrec {

inline constexpr std::string_view kJsonContentType = "application/json";
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

struct ApiRequest {
  std::string_view method;         // "GET", "POST", ...
  std::string_view target;         // "/v1/users/u1/recommendations?k=5"
  std::string_view content_type;   // empty when absent
  std::string_view authorization;  // the Authorization field, empty when absent
  std::string_view api_key;        // the X-API-Key field, empty when absent
  std::string_view body;
  EventTime arrival;  // when the request's header arrived: the time of events without one
};

struct ApiResponse {
  int status = 200;
  std::string body;
  std::string_view content_type = kJsonContentType;  // static text
  std::string_view allow;                            // 405: the methods the route takes
};

// {"error": error, "detail": detail} with `status`.
ApiResponse ErrorResponse(int status, std::string_view error, std::string_view detail);
// The response for a failed backend call: NotFound 404, InvalidArgument 400,
// Unavailable 503, anything else 500.
ApiResponse ErrorResponse(const absl::Status& status);

// Where the answer to a deferred request goes: the connection it came on, as seen by a
// route that answers later (ingest, snapshot).
class Responder {
 public:
  virtual ~Responder() = default;
  // Call once per deferred request, from any thread: runs `finish` on the connection's
  // I/O thread and sends the response it returns.
  virtual void Finish(absl::AnyInvocable<ApiResponse() &&> finish) = 0;
};

class Api {
 public:
  // `api_key` empty: write and admin routes are open. `max_events_per_request`: a larger
  // ingest request is refused whole with 413 (0: no limit). Both pointers must outlive
  // the Api.
  Api(Backend* backend, ServerMetrics* metrics, std::string api_key,
      size_t max_events_per_request = 0);

  // From the request line and header fields alone (request.body is not read yet): the
  // route, and in `rejection` the answer when the request is refused whatever its body
  // holds: no such route (404), another method (405), API key (401), content type (415).
  RouteMatch Admit(const ApiRequest& request, std::optional<ApiResponse>* rejection) const;

  // Serves an admitted request. Returns its response, or nullopt when it answers later
  // through responder->Finish (ingest and snapshot wait for the engine). May throw
  // (std::bad_alloc and the like): the caller answers 500.
  std::optional<ApiResponse> Handle(const RouteMatch& match, const ApiRequest& request,
                                    JsonReader* json,
                                    const std::shared_ptr<Responder>& responder) const;

 private:
  std::optional<ApiResponse> Ingest(const ApiRequest& request, JsonReader* json,
                                    const std::shared_ptr<Responder>& responder) const;
  ApiResponse UserRecommendations(const RouteMatch& match) const;
  ApiResponse SessionRecommendations(const ApiRequest& request, JsonReader* json) const;
  ApiResponse SimilarItems(const RouteMatch& match) const;
  ApiResponse Popular(const RouteMatch& match) const;
  ApiResponse Entity(const RouteMatch& match) const;  // GET /v1/users/{id}, /v1/items/{id}
  ApiResponse Ready() const;
  ApiResponse Metrics() const;
  void Snapshot(const std::shared_ptr<Responder>& responder) const;
  std::optional<ApiResponse> Retrain(const RouteMatch& match,
                                     const std::shared_ptr<Responder>& responder) const;

  // OK when `model` is built in or (with `extra_models`) one of the backend's extra
  // models; for another model, with `extra_models` the backend's Unavailable while it is
  // not ready, else InvalidArgument naming the models available.
  absl::Status CheckModel(std::string_view model, bool extra_models) const;

  Backend* backend_;
  ServerMetrics* metrics_;
  std::string api_key_;
  size_t max_events_per_request_;
};

}  // namespace streamrec
