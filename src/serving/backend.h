#pragma once
// The seam between the HTTP server and the engine. The server parses and validates
// every request, then calls one Backend method; the engine implements it.
//
// Thread safety: the server calls every method from its I/O threads, concurrently,
// so an implementation must be safe for concurrent calls. The read methods run on an
// I/O thread and answer synchronously: they must not wait for the writer thread.
// Ingest and WriteSnapshot return at once and answer through their callback.
//
// Callbacks: each callback is called exactly once, from any thread (inline before the
// method returns is allowed). It only hands the result back to the server, which
// builds the response on its own thread. A callback that is destroyed without being
// called answers its request with 500. HttpServer::Stop waits for every outstanding
// callback, so the engine must keep completing them until Stop returns (stop the
// server before the engine).
//
// Errors, as the HTTP status the server answers with: NotFound → 404 (unknown user or
// item), InvalidArgument → 400, Unavailable → 503 (not ready, shutting down), anything
// else → 500. The status message becomes the error body's "detail".

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/json/value.hpp"
#include "common/event.h"
#include "common/time.h"

namespace streamrec {

// One validated event of POST /v1/events (see event_json.h for the rules).
struct IngestEvent {
  std::string user_id;  // non-empty
  std::string item_id;  // non-empty
  EventType type = EventType::kView;
  EventTime time;                // at or after 1970-01-01, at most a day after arrival
  std::optional<double> amount;  // finite, >= 0; always set for purchases
  std::string event_id;          // empty: none
};

struct IngestResult {
  size_t accepted = 0;    // events taken, duplicates included: normally all that were sent
  size_t duplicates = 0;  // of those, events whose event_id was seen before (ignored)
};

// The models every backend answers for, for users and for anonymous sessions alike (it
// may answer Unavailable while one is not built yet). A backend may serve users more
// under other names: ExtraModels.
inline constexpr std::string_view kBuiltinModels[] = {"hybrid", "popular", "trending", "item",
                                                      "session"};

struct RecommendRequest {
  size_t k = 10;                     // 1..1000
  std::string_view model;            // a built-in model or one of ExtraModels(); valid
                                     // during the call only
  std::vector<std::string> exclude;  // item ids never to return
};

struct RecommendedItem {
  std::string item_id;
  double score = 0;    // higher is better; a non-finite score is sent as null
  std::string reason;  // short, for people: "bought together with i42", "trending"
};

struct Recommendations {
  std::string model;                   // the model that answered
  std::string recommendation_id;       // unique per answer; lets later events refer to it
  std::vector<RecommendedItem> items;  // best first, at most k
};

// One event of an anonymous session (POST /v1/sessions/recommendations).
struct SessionEvent {
  std::string item_id;
  EventType type = EventType::kView;
  EventTime time;
};

// GET /v1/popular?window=: kTrending ranks by recent interactions, decayed with age
// (the engine picks the decay); kAllTime by all interactions ever seen.
enum class PopularWindow : uint8_t { kTrending, kAllTime };

struct SnapshotResult {
  uint64_t log_offset = 0;  // the snapshot covers the log up to here
  std::string name;         // how the engine names it (a file name, say)
};

// POST /v1/admin/retrain: a batch model trained anew and swapped in.
struct RetrainResult {
  std::string model;        // "als", ...
  size_t interactions = 0;  // trained on
  double seconds = 0;       // copying the state and training
};

class Backend {
 public:
  using IngestCallback = absl::AnyInvocable<void(absl::StatusOr<IngestResult>) &&>;
  using SnapshotCallback = absl::AnyInvocable<void(absl::StatusOr<SnapshotResult>) &&>;
  using RetrainCallback = absl::AnyInvocable<void(absl::StatusOr<RetrainResult>) &&>;

  virtual ~Backend() = default;

  // Takes a batch of validated events. `done` is called once they are durable in the
  // log (or with the error that kept them out: then none of them counts as taken).
  virtual void Ingest(std::vector<IngestEvent> events, IngestCallback done) = 0;

  // Recommendations for a known user. An unknown user should get a cold-start answer
  // (popular items) rather than NotFound.
  virtual absl::StatusOr<Recommendations> RecommendForUser(std::string_view user_id,
                                                           const RecommendRequest& request) = 0;

  // Recommendations for an anonymous session: its events, oldest first (possibly none).
  virtual absl::StatusOr<Recommendations> RecommendForSession(std::span<const SessionEvent> events,
                                                              const RecommendRequest& request) = 0;

  // The k items most similar to `item_id`, best first, by `model` (empty: the backend's
  // default; otherwise a model of ExtraModels() that knows item similarity: InvalidArgument
  // for one that does not); NotFound for an unknown item.
  virtual absl::StatusOr<std::vector<RecommendedItem>> SimilarItems(std::string_view item_id,
                                                                    size_t k,
                                                                    std::string_view model) = 0;

  // The k most popular items over `window`, best first.
  virtual absl::StatusOr<std::vector<RecommendedItem>> Popular(size_t k, PopularWindow window) = 0;

  // A JSON object describing the user (profile, features, current session) or the item
  // (features); the columns are the engine's. NotFound for an unknown id.
  virtual absl::StatusOr<boost::json::value> UserView(std::string_view user_id) = 0;
  virtual absl::StatusOr<boost::json::value> ItemView(std::string_view item_id) = 0;

  // Model names served for users beyond kBuiltinModels (batch models, which answer for
  // a user's history; never for an anonymous session). Called only for a name that is
  // not built in, so it may be slow-ish (it may take a lock).
  virtual std::vector<std::string> ExtraModels() = 0;

  // OK when the engine answers requests (state loaded, log replayed); otherwise
  // Unavailable saying what it waits for.
  virtual absl::Status Ready() = 0;

  // Appends the engine's metrics in the Prometheus text exposition format (HELP and
  // TYPE lines included) after the server's own.
  virtual void AppendMetrics(std::string* out) = 0;

  // Starts writing a snapshot of the whole state; `done` is called when it is written.
  virtual void WriteSnapshot(SnapshotCallback done) = 0;
  // Trains batch model `model` (empty: the backend's first) on the current state and
  // swaps it in; `done` is called when it is serving, or with the error that kept the
  // old one (InvalidArgument for a model the backend does not train).
  virtual void Retrain(std::string_view model, RetrainCallback done) = 0;
};

}  // namespace streamrec
