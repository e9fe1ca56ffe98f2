#include "serving/api.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "boost/json/object.hpp"
#include "common/status_macros.h"
#include "common/strings.h"
#include "serving/json_writer.h"

namespace streamrec {
namespace {

constexpr size_t kDefaultK = 10;
constexpr size_t kMaxK = 1000;
constexpr std::string_view kBadRequest = "bad_request";
constexpr std::string_view kMalformedJson = "malformed_json";

std::string_view Text(absl::string_view s) { return std::string_view(s.data(), s.size()); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
  });
}

// "application/json; charset=utf-8" → "application/json".
std::string_view MediaType(std::string_view content_type) {
  return TrimAscii(content_type.substr(0, content_type.find(';')));
}

bool IsNdjson(std::string_view content_type) {
  return EqualsIgnoreCase(MediaType(content_type), "application/x-ndjson");
}

// Compares every byte of `given` whatever the bytes of `key` are, so the time taken
// says nothing about how much of a guess was right (only, at most, its length).
bool ConstantTimeEquals(std::string_view given, std::string_view key) {
  unsigned diff = given.size() != key.size() ? 1 : 0;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i]) ^
            static_cast<unsigned char>(i < key.size() ? key[i] : 0);
  }
  return diff == 0;
}

// The token of "Bearer <token>", or empty.
std::string_view BearerToken(std::string_view authorization) {
  authorization = TrimAscii(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme) ||
      (authorization[kScheme.size()] != ' ' && authorization[kScheme.size()] != '\t')) {
    return {};
  }
  return TrimAscii(authorization.substr(kScheme.size()));
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

// The arguments a read route takes from its query string; unknown keys are ignored.
struct QueryArgs {
  size_t k = kDefaultK;
  std::string model;  // empty: the route's default
  bool has_model = false;
  std::vector<std::string> exclude;
  std::string window;
};

absl::Status BadK(std::string_view text) {
  return absl::InvalidArgumentError(
      StrCat("k: must be an integer from 1 to ", kMaxK, ", not '", text, "'"));
}

absl::Status ParseK(std::string_view text, size_t* k) {
  if (text.empty() || text.size() > 4) return BadK(text);
  size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return BadK(text);
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  if (value < 1 || value > kMaxK) return BadK(text);
  *k = value;
  return absl::OkStatus();
}

absl::Status BadEncoding(std::string_view key) {
  return absl::InvalidArgumentError(
      StrCat("query parameter '", key, "': bad percent-encoding (expected %XX)"));
}

absl::StatusOr<QueryArgs> ParseQuery(std::string_view query) {
  QueryArgs args;
  absl::Status status;
  std::string key;
  std::string value;
  std::optional<std::string> k_text;  // when `k` repeats, the last counts, valid or not
  ForEachQueryParam(query, [&](std::string_view raw_key, std::string_view raw_value) {
    if (!status.ok()) return;
    key.clear();
    if (!PercentDecode(raw_key, /*plus_is_space=*/true, &key)) {
      status = BadEncoding(raw_key);
      return;
    }
    if (key == "exclude") {
      // Split before decoding, so that an id may hold an encoded comma (%2C).
      while (true) {
        const size_t comma = raw_value.find(',');
        value.clear();
        if (!PercentDecode(raw_value.substr(0, comma), /*plus_is_space=*/true, &value)) {
          status = BadEncoding(key);
          return;
        }
        if (!value.empty()) args.exclude.push_back(value);
        if (comma == std::string_view::npos) break;
        raw_value.remove_prefix(comma + 1);
      }
      return;
    }
    value.clear();
    if (!PercentDecode(raw_value, /*plus_is_space=*/true, &value)) {
      status = BadEncoding(key);
      return;
    }
    if (key == "k") {
      k_text = value;
    } else if (key == "model") {
      args.model = value;
      args.has_model = true;
    } else if (key == "window") {
      args.window = value;
    }
  });
  if (!status.ok()) return status;
  if (k_text) RETURN_IF_ERROR(ParseK(*k_text, &args.k));
  return args;
}

// The {id} of a path, decoded. `what` names it in errors: "user id", "item id".
absl::StatusOr<std::string> DecodeId(std::string_view raw, std::string_view what) {
  std::string id;
  if (!PercentDecode(raw, /*plus_is_space=*/false, &id)) {
    return absl::InvalidArgumentError(
        StrCat("bad percent-encoding in the ", what, " '", raw, "' (expected %XX)"));
  }
  if (id.empty()) return absl::InvalidArgumentError(StrCat("empty ", what));
  if (id.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(StrCat(what, " longer than ", kMaxIdBytes, " bytes"));
  }
  return id;
}

ApiResponse OkResponse(std::string_view json) {
  ApiResponse response;
  response.body = json;
  return response;
}

ApiResponse BadRequest(const absl::Status& status) {
  return ErrorResponse(400, kBadRequest, Text(status.message()));
}

void WriteItems(JsonWriter& w, const std::vector<RecommendedItem>& items) {
  w.Key("items");
  w.BeginArray();
  for (const RecommendedItem& item : items) {
    w.BeginObject();
    w.Key("item_id");
    w.String(item.item_id);
    w.Key("score");
    w.Number(item.score);
    w.Key("reason");
    w.String(item.reason);
    w.EndObject();
  }
  w.EndArray();
}

size_t ItemsSize(const std::vector<RecommendedItem>& items) { return 128 + items.size() * 80; }

// {"user_id"?, "model", "recommendation_id", "items"}; no user_id for a session.
ApiResponse RecommendationsResponse(const std::string* user_id, const Recommendations& recs) {
  ApiResponse response;
  response.body.reserve(ItemsSize(recs.items));
  JsonWriter w(&response.body);
  w.BeginObject();
  if (user_id != nullptr) {
    w.Key("user_id");
    w.String(*user_id);
  }
  w.Key("model");
  w.String(recs.model);
  w.Key("recommendation_id");
  w.String(recs.recommendation_id);
  WriteItems(w, recs.items);
  w.EndObject();
  return response;
}

ApiResponse IngestResponse(const IngestResult& result,
                           const std::vector<EventRejection>& rejected) {
  ApiResponse response;
  response.body.reserve(64 + rejected.size() * 80);
  JsonWriter w(&response.body);
  w.BeginObject();
  w.Key("accepted");
  w.Uint(result.accepted);
  w.Key("duplicates");
  w.Uint(result.duplicates);
  w.Key("rejected");
  w.BeginArray();
  for (const EventRejection& r : rejected) {
    w.BeginObject();
    w.Key("index");
    w.Uint(r.index);
    if (r.line > 0) {
      w.Key("line");
      w.Uint(r.line);
    }
    w.Key("error");
    w.String(r.error);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return response;
}

// A backend callback that hands the result to the connection's I/O thread, where
// `make(result)` builds the response. Destroyed without being called, it answers 500.
// Never throws into the backend.
template <typename T, typename Make>
class Completion {
 public:
  Completion(std::shared_ptr<Responder> responder, Make make)
      : responder_(std::move(responder)), make_(std::move(make)) {}
  Completion(Completion&&) noexcept = default;
  Completion& operator=(Completion&&) = delete;
  ~Completion() {
    if (responder_) Deliver(absl::InternalError("the engine dropped the request unanswered"));
  }

  void operator()(absl::StatusOr<T> result) && { Deliver(std::move(result)); }

 private:
  void Deliver(absl::StatusOr<T> result) noexcept {
    std::shared_ptr<Responder> responder = std::move(responder_);
    try {
      responder->Finish([make = std::move(make_), result = std::move(result)]() mutable {
        return make(std::move(result));
      });
    } catch (...) {
      // Out of memory: the connection closes without an answer when its last owner goes.
    }
  }

  std::shared_ptr<Responder> responder_;  // null once delivered
  Make make_;
};

template <typename T, typename Make>
Completion<T, Make> MakeCompletion(std::shared_ptr<Responder> responder, Make make) {
  return Completion<T, Make>(std::move(responder), std::move(make));
}

}  // namespace

ApiResponse ErrorResponse(int status, std::string_view error, std::string_view detail) {
  ApiResponse response;
  response.status = status;
  response.body.reserve(32 + error.size() + detail.size());
  JsonWriter w(&response.body);
  w.BeginObject();
  w.Key("error");
  w.String(error);
  w.Key("detail");
  w.String(detail);
  w.EndObject();
  return response;
}

ApiResponse ErrorResponse(const absl::Status& status) {
  const std::string_view detail = Text(status.message());
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return ErrorResponse(404, "not_found", detail);
    case absl::StatusCode::kInvalidArgument:
      return ErrorResponse(400, kBadRequest, detail);
    case absl::StatusCode::kUnavailable:
      return ErrorResponse(503, "unavailable", detail);
    default:
      return ErrorResponse(500, "internal", detail);
  }
}

Api::Api(Backend* backend, ServerMetrics* metrics, std::string api_key,
         size_t max_events_per_request)
    : backend_(backend),
      metrics_(metrics),
      api_key_(std::move(api_key)),
      max_events_per_request_(max_events_per_request) {}

RouteMatch Api::Admit(const ApiRequest& request, std::optional<ApiResponse>* rejection) const {
  const RouteMatch match = MatchRoute(request.target);
  if (match.route == Route::kUnknown) {
    rejection->emplace(ErrorResponse(
        404, "not_found",
        StrCat("no route for ", request.method, " ", PathOf(request.target).substr(0, 256))));
    return match;
  }
  const RouteInfo& info = GetRouteInfo(match.route);
  // HEAD is GET without the body (RFC 9110, 9.3.2): every GET route answers it, and the
  // server leaves the body out.
  const bool get_route = info.method == "GET";
  if (request.method != info.method && !(get_route && request.method == "HEAD")) {
    rejection->emplace(
        ErrorResponse(405, "method_not_allowed",
                      StrCat(info.pattern, " takes ", get_route ? "GET or HEAD" : info.method,
                             ", not ", request.method.substr(0, 32))));
    (*rejection)->allow = get_route ? "GET, HEAD" : info.method;
    return match;
  }
  if (info.needs_key && !api_key_.empty()) {
    const bool given = !request.api_key.empty() || !BearerToken(request.authorization).empty();
    // Both fields are compared, whichever is present, so neither's absence shows in time.
    const bool by_header = ConstantTimeEquals(request.api_key, api_key_);
    const bool by_bearer = ConstantTimeEquals(BearerToken(request.authorization), api_key_);
    if (!by_header && !by_bearer) {
      rejection->emplace(
          ErrorResponse(401, "unauthorized",
                        given ? StrCat("wrong API key for ", info.method, " ", info.pattern)
                              : StrCat(info.method, " ", info.pattern,
                                       " needs the API key: send 'Authorization: Bearer KEY' or "
                                       "'X-API-Key: KEY'")));
      return match;
    }
  }
  if (match.route == Route::kEvents || match.route == Route::kSessionRecommendations) {
    const std::string_view media = MediaType(request.content_type);
    const bool ndjson_ok = match.route == Route::kEvents;
    if (!media.empty() && !EqualsIgnoreCase(media, "application/json") &&
        !(ndjson_ok && EqualsIgnoreCase(media, "application/x-ndjson"))) {
      rejection->emplace(ErrorResponse(
          415, "unsupported_media_type",
          StrCat(info.method, " ", info.pattern, " takes ",
                 ndjson_ok ? "application/json or application/x-ndjson" : "application/json",
                 ", not '", media.substr(0, 128), "'")));
    }
  }
  return match;
}

std::optional<ApiResponse> Api::Handle(const RouteMatch& match, const ApiRequest& request,
                                       JsonReader* json,
                                       const std::shared_ptr<Responder>& responder) const {
  switch (match.route) {
    case Route::kEvents:
      return Ingest(request, json, responder);
    case Route::kUserRecommendations:
      return UserRecommendations(match);
    case Route::kSessionRecommendations:
      return SessionRecommendations(request, json);
    case Route::kSimilarItems:
      return SimilarItems(match);
    case Route::kPopular:
      return Popular(match);
    case Route::kUser:
    case Route::kItem:
      return Entity(match);
    case Route::kHealthz:
      return OkResponse(R"({"status":"ok"})");
    case Route::kReadyz:
      return Ready();
    case Route::kMetrics:
      return Metrics();
    case Route::kAdminSnapshot:
      Snapshot(responder);
      return std::nullopt;
    case Route::kAdminRetrain:
      return Retrain(match, responder);
    case Route::kUnknown:
      break;
  }
  return ErrorResponse(404, "not_found", "no such route");
}

std::optional<ApiResponse> Api::Ingest(const ApiRequest& request, JsonReader* json,
                                       const std::shared_ptr<Responder>& responder) const {
  const BodyFormat format =
      IsNdjson(request.content_type) ? BodyFormat::kNdjson : BodyFormat::kJson;
  absl::StatusOr<ParsedEvents> parsed =
      ParseEventBody(request.body, format, request.arrival, json, max_events_per_request_);
  if (absl::IsResourceExhausted(parsed.status())) {
    return ErrorResponse(413, "too_many_events", Text(parsed.status().message()));
  }
  if (!parsed.ok()) return ErrorResponse(400, kMalformedJson, Text(parsed.status().message()));
  metrics_->EventsIngested(0, 0, parsed->rejected.size());
  if (parsed->events.empty()) return IngestResponse(IngestResult{}, parsed->rejected);

  auto make = [rejected = std::move(parsed->rejected),
               metrics = metrics_](absl::StatusOr<IngestResult> result) {
    if (!result.ok()) return ErrorResponse(result.status());
    metrics->EventsIngested(result->accepted, result->duplicates, 0);
    return IngestResponse(*result, rejected);
  };
  try {
    backend_->Ingest(std::move(parsed->events),
                     MakeCompletion<IngestResult>(responder, std::move(make)));
  } catch (...) {
    // The completion, called, dropped or kept, still answers exactly once.
  }
  return std::nullopt;
}

void Api::Snapshot(const std::shared_ptr<Responder>& responder) const {
  auto make = [](absl::StatusOr<SnapshotResult> info) {
    if (!info.ok()) return ErrorResponse(info.status());
    ApiResponse response;
    JsonWriter w(&response.body);
    w.BeginObject();
    w.Key("log_offset");
    w.Uint(info->log_offset);
    w.Key("name");
    w.String(info->name);
    w.EndObject();
    return response;
  };
  try {
    backend_->WriteSnapshot(MakeCompletion<SnapshotResult>(responder, std::move(make)));
  } catch (...) {
    // As in Ingest: the completion answers.
  }
}

std::optional<ApiResponse> Api::Retrain(const RouteMatch& match,
                                        const std::shared_ptr<Responder>& responder) const {
  absl::StatusOr<QueryArgs> args = ParseQuery(match.query);
  if (!args.ok()) return BadRequest(args.status());
  auto make = [](absl::StatusOr<RetrainResult> result) {
    if (!result.ok()) return ErrorResponse(result.status());
    ApiResponse response;
    JsonWriter w(&response.body);
    w.BeginObject();
    w.Key("model");
    w.String(result->model);
    w.Key("interactions");
    w.Uint(result->interactions);
    w.Key("seconds");
    w.Number(result->seconds);
    w.EndObject();
    return response;
  };
  try {
    backend_->Retrain(args->model, MakeCompletion<RetrainResult>(responder, std::move(make)));
  } catch (...) {
    // As in Ingest: the completion answers.
  }
  return std::nullopt;
}

absl::Status Api::CheckModel(std::string_view model, bool extra_models) const {
  for (std::string_view builtin : kBuiltinModels) {
    if (model == builtin) return absl::OkStatus();
  }
  const std::vector<std::string> extra =
      extra_models ? backend_->ExtraModels() : std::vector<std::string>();
  if (std::find(extra.begin(), extra.end(), model) != extra.end()) return absl::OkStatus();
  // A backend that is not ready may not know its extra models yet: the model may well
  // exist in a moment, so the answer is "not yet", not "no such model".
  if (absl::Status ready = backend_->Ready();
      extra_models && ready.code() == absl::StatusCode::kUnavailable) {
    return ready;
  }
  std::string available;
  for (std::string_view builtin : kBuiltinModels) available += StrCat(builtin, ", ");
  for (const std::string& name : extra) available += StrCat(name, ", ");
  available.resize(available.size() - 2);
  return absl::InvalidArgumentError(
      StrCat("model: unknown model '", model.substr(0, 128), "' (available: ", available, ")"));
}

ApiResponse Api::UserRecommendations(const RouteMatch& match) const {
  absl::StatusOr<std::string> user_id = DecodeId(match.raw_id, "user id");
  if (!user_id.ok()) return BadRequest(user_id.status());
  absl::StatusOr<QueryArgs> args = ParseQuery(match.query);
  if (!args.ok()) return BadRequest(args.status());
  const std::string_view model = args->has_model ? std::string_view(args->model) : "hybrid";
  if (absl::Status s = CheckModel(model, /*extra_models=*/true); !s.ok()) return ErrorResponse(s);
  const RecommendRequest request{args->k, model, std::move(args->exclude)};
  absl::StatusOr<Recommendations> recs = backend_->RecommendForUser(*user_id, request);
  if (!recs.ok()) return ErrorResponse(recs.status());
  return RecommendationsResponse(&*user_id, *recs);
}

ApiResponse Api::SessionRecommendations(const ApiRequest& request, JsonReader* json) const {
  absl::StatusOr<const boost::json::value*> parsed = json->Parse(request.body);
  if (!parsed.ok()) return ErrorResponse(400, kMalformedJson, Text(parsed.status().message()));
  const boost::json::value& root = **parsed;

  const boost::json::array* events = root.if_array();
  RecommendRequest recommend{kDefaultK, "session", {}};
  if (const boost::json::object* body = root.if_object()) {
    auto field = [body](std::string_view key) -> const boost::json::value* {
      const boost::json::value* v =
          body->if_contains(boost::json::string_view(key.data(), key.size()));
      return v == nullptr || v->is_null() ? nullptr : v;
    };
    const boost::json::value* list = field("events");
    if (list == nullptr) return BadRequest(absl::InvalidArgumentError("events: missing"));
    events = list->if_array();
    if (events == nullptr) {
      return BadRequest(absl::InvalidArgumentError("events: must be an array of events"));
    }
    if (const boost::json::value* k = field("k")) {
      const int64_t* value = k->if_int64();
      if (value == nullptr || *value < 1 || *value > static_cast<int64_t>(kMaxK)) {
        return BadRequest(
            absl::InvalidArgumentError(StrCat("k: must be an integer from 1 to ", kMaxK)));
      }
      recommend.k = static_cast<size_t>(*value);
    }
    if (const boost::json::value* model = field("model")) {
      const boost::json::string* name = model->if_string();
      if (name == nullptr) return BadRequest(absl::InvalidArgumentError("model: must be a string"));
      recommend.model = std::string_view(name->data(), name->size());
    }
    if (const boost::json::value* exclude = field("exclude")) {
      const boost::json::array* ids = exclude->if_array();
      if (ids == nullptr) {
        return BadRequest(absl::InvalidArgumentError("exclude: must be an array of item ids"));
      }
      for (size_t i = 0; i < ids->size(); ++i) {
        absl::StatusOr<std::string> id = IdFromJson((*ids)[i]);
        if (!id.ok()) {
          return BadRequest(
              absl::InvalidArgumentError(StrCat("exclude[", i, "]: ", id.status().message())));
        }
        recommend.exclude.push_back(*std::move(id));
      }
    }
  } else if (events == nullptr) {
    return BadRequest(absl::InvalidArgumentError(
        "the body must be an object with \"events\", or an array of events"));
  }

  std::vector<SessionEvent> session(events->size());
  for (size_t i = 0; i < events->size(); ++i) {
    absl::Status s = SessionEventFromJson((*events)[i], request.arrival, &session[i]);
    if (!s.ok()) {
      return BadRequest(absl::InvalidArgumentError(StrCat("events[", i, "]: ", s.message())));
    }
  }
  std::stable_sort(session.begin(), session.end(),
                   [](const SessionEvent& a, const SessionEvent& b) { return a.time < b.time; });
  // The extra (batch) models answer for a user's history, not for an anonymous session.
  if (absl::Status s = CheckModel(recommend.model, /*extra_models=*/false); !s.ok()) {
    return ErrorResponse(s);
  }
  absl::StatusOr<Recommendations> recs = backend_->RecommendForSession(session, recommend);
  if (!recs.ok()) return ErrorResponse(recs.status());
  return RecommendationsResponse(nullptr, *recs);
}

ApiResponse Api::SimilarItems(const RouteMatch& match) const {
  absl::StatusOr<std::string> item_id = DecodeId(match.raw_id, "item id");
  if (!item_id.ok()) return BadRequest(item_id.status());
  absl::StatusOr<QueryArgs> args = ParseQuery(match.query);
  if (!args.ok()) return BadRequest(args.status());
  absl::StatusOr<std::vector<RecommendedItem>> items =
      backend_->SimilarItems(*item_id, args->k, args->model);
  if (!items.ok()) return ErrorResponse(items.status());
  ApiResponse response;
  response.body.reserve(ItemsSize(*items));
  JsonWriter w(&response.body);
  w.BeginObject();
  w.Key("item_id");
  w.String(*item_id);
  WriteItems(w, *items);
  w.EndObject();
  return response;
}

ApiResponse Api::Popular(const RouteMatch& match) const {
  absl::StatusOr<QueryArgs> args = ParseQuery(match.query);
  if (!args.ok()) return BadRequest(args.status());
  PopularWindow window;
  if (args->window.empty() || args->window == "trending") {
    window = PopularWindow::kTrending;
  } else if (args->window == "all_time") {
    window = PopularWindow::kAllTime;
  } else {
    return BadRequest(
        absl::InvalidArgumentError(StrCat("window: must be trending or all_time, not '",
                                          std::string_view(args->window).substr(0, 64), "'")));
  }
  absl::StatusOr<std::vector<RecommendedItem>> items = backend_->Popular(args->k, window);
  if (!items.ok()) return ErrorResponse(items.status());
  ApiResponse response;
  response.body.reserve(ItemsSize(*items));
  JsonWriter w(&response.body);
  w.BeginObject();
  w.Key("window");
  w.String(window == PopularWindow::kTrending ? "trending" : "all_time");
  WriteItems(w, *items);
  w.EndObject();
  return response;
}

ApiResponse Api::Entity(const RouteMatch& match) const {
  const bool user = match.route == Route::kUser;
  absl::StatusOr<std::string> id = DecodeId(match.raw_id, user ? "user id" : "item id");
  if (!id.ok()) return BadRequest(id.status());
  absl::StatusOr<boost::json::value> view =
      user ? backend_->UserView(*id) : backend_->ItemView(*id);
  if (!view.ok()) return ErrorResponse(view.status());
  ApiResponse response;
  JsonWriter(&response.body).Value(*view);
  return response;
}

ApiResponse Api::Ready() const {
  absl::Status ready = backend_->Ready();
  if (ready.ok()) return OkResponse(R"({"status":"ready"})");
  if (ready.code() == absl::StatusCode::kUnavailable) {
    return ErrorResponse(503, "not_ready", Text(ready.message()));
  }
  return ErrorResponse(ready);
}

ApiResponse Api::Metrics() const {
  ApiResponse response;
  response.content_type = kMetricsContentType;
  response.body.reserve(16 * 1024);
  metrics_->AppendText(&response.body);
  backend_->AppendMetrics(&response.body);
  return response;
}

}  // namespace streamrec
