#include "serving/target.h"

#include <array>

namespace streamrec {
namespace {

constexpr std::array<RouteInfo, kRouteCount> kRoutes = {{
    {"/v1/events", "POST", true},
    {"/v1/users/{id}/recommendations", "GET", false},
    {"/v1/sessions/recommendations", "POST", false},
    {"/v1/items/{id}/similar", "GET", false},
    {"/v1/popular", "GET", false},
    {"/v1/users/{id}", "GET", false},
    {"/v1/items/{id}", "GET", false},
    {"/healthz", "GET", false},
    {"/readyz", "GET", false},
    {"/metrics", "GET", false},
    {"/v1/admin/snapshot", "POST", true},
    {"/v1/admin/retrain", "POST", true},
    {"unknown", "", false},
}};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The path split at '/', at most kMaxSegments segments; the leading '/' is not a segment.
constexpr int kMaxSegments = 5;
struct Segments {
  std::string_view part[kMaxSegments];
  int count = 0;  // kMaxSegments + 1 when there are more
};

Segments Split(std::string_view path) {
  Segments s;
  path.remove_prefix(1);
  while (true) {
    if (s.count == kMaxSegments) {
      s.count = kMaxSegments + 1;
      return s;
    }
    const size_t slash = path.find('/');
    s.part[s.count++] = path.substr(0, slash);
    if (slash == std::string_view::npos) return s;
    path.remove_prefix(slash + 1);
  }
}

}  // namespace

const RouteInfo& GetRouteInfo(Route route) { return kRoutes[static_cast<int>(route)]; }

RouteMatch MatchRoute(std::string_view target) {
  RouteMatch match;
  // The absolute form (RFC 9112, 3.2.2: "http://host:port/path?query"), which a server
  // must accept, names the same route as its path.
  if (const size_t scheme = target.find("://");
      !target.empty() && target[0] != '/' && scheme != std::string_view::npos) {
    const size_t path = target.find('/', scheme + 3);
    target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
  }
  if (target.empty() || target[0] != '/') return match;
  const size_t question = target.find('?');
  if (question != std::string_view::npos) match.query = target.substr(question + 1);
  const Segments s = Split(target.substr(0, question));
  const auto& p = s.part;
  Route route = Route::kUnknown;
  switch (s.count) {
    case 1:
      if (p[0] == "healthz") route = Route::kHealthz;
      if (p[0] == "readyz") route = Route::kReadyz;
      if (p[0] == "metrics") route = Route::kMetrics;
      break;
    case 2:
      if (p[0] == "v1" && p[1] == "events") route = Route::kEvents;
      if (p[0] == "v1" && p[1] == "popular") route = Route::kPopular;
      break;
    case 3:
      if (p[0] != "v1") break;
      if (p[1] == "users") route = Route::kUser;
      if (p[1] == "items") route = Route::kItem;
      if (route != Route::kUnknown) match.raw_id = p[2];
      if (p[1] == "sessions" && p[2] == "recommendations") route = Route::kSessionRecommendations;
      if (p[1] == "admin" && p[2] == "snapshot") route = Route::kAdminSnapshot;
      if (p[1] == "admin" && p[2] == "retrain") route = Route::kAdminRetrain;
      break;
    case 4:
      if (p[0] != "v1") break;
      if (p[1] == "users" && p[3] == "recommendations") route = Route::kUserRecommendations;
      if (p[1] == "items" && p[3] == "similar") route = Route::kSimilarItems;
      if (route != Route::kUnknown) match.raw_id = p[2];
      break;
  }
  match.route = route;
  if (route == Route::kUnknown) match.query = {};
  return match;
}

bool PercentDecode(std::string_view text, bool plus_is_space, std::string* out) {
  out->reserve(out->size() + text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return false;
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

}  // namespace streamrec
