#pragma once
// `streamrec replay`: sends clickstream files to a running server's ingest route
// (POST {url}/v1/events, NDJSON), at a chosen rate.
//
// Operation: files are read in the order given, rows in file order, each row decoded
// and validated by the RowDecoder that `pipeline --events` uses, through the same
// mapping file; so replay refuses exactly the rows the pipeline refuses, with the same
// reasons, and sends nothing for them. An accepted row becomes one NDJSON line:
// user_id, item_id, event_type, timestamp (FormatTime's form, the mapping's
// timestamp_offset_ms already applied), amount (purchase events only) and event_id.
// A row whose event_id the files repeat is a duplicate, as in the pipeline: counted,
// not sent.
//
// One refusal the pipeline does not make: an id that is not valid UTF-8, which JSON
// cannot carry.
//
// Event ids: a row without one gets "<source>:<line>" (the file's path as given,
// and the row's line; for Parquet its row number). So a request retried after a lost
// reply cannot apply twice, and replaying the same file under the same path again is
// answered with duplicates instead of adding its events a second time.
//
// Requests hold at most `batch` events; with a rate, also at most a tenth of a
// second's worth, so a slow stream still flows. They go over `connections`
// keep-alive connections, one request in flight on each, so requests may reach the
// server slightly out of order; the server orders events by event time itself.
// Pacing: a request leaves when the clock reaches the time at which its last event is
// due at `rate` events per second from the start, so over a run the mean rate is the
// requested one (if the server keeps up).
//
// Retries: a connection error, a timeout or a 503 answer is retried on a fresh
// attempt after a backoff (doubling from `first_backoff`, or the server's
// Retry-After when longer, up to 30 s), at most `max_attempts` times in all. Any
// other answer but 2xx ends the run with an error that names the status and body.
//
// Thread safety: RunReplay runs on the calling thread (one I/O loop) and calls
// `on_reject` from it.

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "io/record_loader.h"

namespace streamrec {

struct ReplayOptions {
  std::vector<std::string> files;           // clickstream files, any format
  std::string url;                          // http://host[:port][/prefix]
  double rate = 0;                          // events per second; 0: as fast as possible
  int batch = 1000;                         // most events per request
  std::optional<std::string> mapping_file;  // as in `pipeline --mapping`
  std::string api_key;                      // empty: none sent
  int connections = 2;                      // keep-alive connections, 1 request each
  bool show_progress = false;               // a progress line, when stderr is a terminal
  int max_attempts = 5;                     // per request, the first one included
  std::chrono::milliseconds first_backoff{100};
  std::chrono::milliseconds timeout{30'000};  // connect, and each request's write + reply
};

struct ReplaySummary {
  int64_t rows_read = 0;
  int64_t rejected_locally = 0;     // refused by the decoder, never sent
  int64_t duplicates_in_files = 0;  // event_id repeated in the files, never sent
  int64_t sent = 0;                 // events in requests the server answered with 2xx
  int64_t requests = 0;             // answered with 2xx
  int64_t retries = 0;              // attempts beyond the first, over all requests
  int64_t accepted = 0;             // as the server counts them: duplicates included
  int64_t duplicates = 0;           // accepted events whose event_id the server had seen
  int64_t rejected_by_server = 0;
  double seconds = 0;
  double events_per_second() const { return seconds > 0 ? sent / seconds : 0; }
};

// Receives every row refused locally or by the server, in the shape of the
// pipeline's rejected rows. Server reasons start with "server: ".
using ReplayRejectFn = std::function<void(const RejectedRow&)>;

// Sends the files; `summary` counts what was done, also when the run ends early.
// Errors (no request starts after one): kInvalidArgument for a bad URL, option, mapping or
// header; kNotFound / kPermissionDenied / kFailedPrecondition for unreadable files
// (every file is opened and its header resolved before anything is sent);
// kUnavailable when the server cannot be reached after the retries; kInternal when it
// answered an error status (the status and body are in the message) or a reply that
// is not the ingest API's.
absl::Status RunReplay(const ReplayOptions& options, const ReplayRejectFn& on_reject,
                       ReplaySummary* summary);

// The `replay` command: rejected rows go to `out` as CSV (source,line,reason, the
// pipeline's rejected.csv columns, header first), the summary or the error to `err`.
// Returns the exit code: 0 all sent, 1 the server rejected some events, 2 an error.
int RunReplayCommand(const ReplayOptions& options, std::FILE* out, std::FILE* err);

}  // namespace streamrec
