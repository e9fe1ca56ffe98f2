#pragma once
// Request targets: which route a path names, percent-decoding, query strings.
//
// Paths are matched segment by segment on the raw (still encoded) text, so an id may
// hold an encoded '/' (%2F); only the id segment is decoded, by the caller. In query
// strings '+' means a space (write %2B for a plus). Pure functions, thread-safe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace streamrec {

enum class Route : uint8_t {
  kEvents,                  // POST /v1/events
  kUserRecommendations,     // GET  /v1/users/{id}/recommendations
  kSessionRecommendations,  // POST /v1/sessions/recommendations
  kSimilarItems,            // GET  /v1/items/{id}/similar
  kPopular,                 // GET  /v1/popular
  kUser,                    // GET  /v1/users/{id}
  kItem,                    // GET  /v1/items/{id}
  kHealthz,                 // GET  /healthz
  kReadyz,                  // GET  /readyz
  kMetrics,                 // GET  /metrics
  kAdminSnapshot,           // POST /v1/admin/snapshot
  kAdminRetrain,            // POST /v1/admin/retrain
  kUnknown,                 // no route: 404
};
inline constexpr int kRouteCount = static_cast<int>(Route::kUnknown) + 1;

struct RouteInfo {
  std::string_view pattern;  // "/v1/users/{id}/recommendations"; "unknown" for kUnknown
  std::string_view method;   // the one method the route takes
  bool needs_key;            // a write or admin route: takes the API key when one is set
};
const RouteInfo& GetRouteInfo(Route route);

struct RouteMatch {
  Route route = Route::kUnknown;
  std::string_view raw_id;  // the {id} segment, still percent-encoded; empty if none
  std::string_view query;   // the text after '?', still encoded; empty if none
};
// The route an origin-form target ("/v1/popular?k=5") names. Any other form is kUnknown.
RouteMatch MatchRoute(std::string_view target);

// Appends `text` with %XX escapes decoded (and '+' as a space when plus_is_space) to
// `out`. False when an escape is not '%' and two hex digits.
bool PercentDecode(std::string_view text, bool plus_is_space, std::string* out);

// Calls fn(raw_key, raw_value) for each "key=value" of a query string, in order; a
// pair without '=' has an empty value; empty pairs ("a=1&&b=2") are skipped. Both are
// still encoded.
template <typename Fn>
void ForEachQueryParam(std::string_view query, Fn&& fn) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      fn(pair, std::string_view());
    } else {
      fn(pair.substr(0, eq), pair.substr(eq + 1));
    }
  }
}

}  // namespace streamrec
