#pragma once
// Events as JSON: the body of POST /v1/events and the events of an anonymous session.
//
// A body is one event object, a JSON array of event objects, or NDJSON (one event
// object per line; blank lines ignored). An event object:
//
//   user_id     required; a string that is not empty or only spaces, or a JSON integer
//               (written as decimal text)
//   item_id     required; same rules
//   event_type  required; view | click | add_to_cart | purchase
//   timestamp   optional: absent, null or blank means `now` (the arrival time); a string
//               in any form ParseTime accepts (docs/formats/events.md; epoch numbers in a
//               string follow its seconds/milliseconds rule); or a JSON number, always
//               milliseconds since the Unix epoch. Must lie in [1970-01-01, now + 1 day].
//   amount      a finite JSON number >= 0; required for purchase, optional otherwise
//   event_id    optional; a non-empty string or a JSON integer
//
// Other keys are ignored; when a key repeats, the last value counts. Ids are used
// exactly as written (no trimming) and hold at most kMaxIdBytes bytes. An event that
// breaks a rule is rejected alone, with the first field at fault and why.
//
// Thread safety: the functions are pure; a JsonReader is used by one thread at a time.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/container/pmr/memory_resource.hpp"
#include "boost/json/memory_resource.hpp"
#include "boost/json/parser.hpp"
#include "boost/json/value.hpp"
#include "common/time.h"
#include "serving/backend.h"

namespace streamrec {

inline constexpr size_t kMaxIdBytes = 1024;
inline constexpr int64_t kMaxFutureMicros = int64_t{86'400} * kMicrosPerSecond;

// Bump allocation for parsed JSON: deallocation does nothing, and Reset makes all of it
// free again at once. Unlike boost::json::monotonic_resource, the blocks are kept for the
// next text (up to kKeptBytes of them), so parsing a stream of large bodies neither calls
// the heap nor touches fresh pages each time.
class JsonArena final : public boost::container::pmr::memory_resource {
 public:
  static constexpr size_t kFirstBlockBytes = 16 * 1024;
  static constexpr size_t kKeptBytes = size_t{8} << 20;

  JsonArena() = default;
  JsonArena(const JsonArena&) = delete;
  JsonArena& operator=(const JsonArena&) = delete;

  // Every allocation made so far is free again. REQUIRES: nothing allocated here is used.
  void Reset();

 private:
  struct Block {
    std::unique_ptr<unsigned char[]> data;
    size_t size = 0;
  };

  void* do_allocate(size_t bytes, size_t alignment) override;
  void do_deallocate(void*, size_t, size_t) override {}
  bool do_is_equal(const memory_resource& other) const noexcept override { return this == &other; }

  std::vector<Block> blocks_;  // in use: [0, current_]; the rest are kept for later
  size_t current_ = 0;
  size_t used_ = 0;  // bytes used in blocks_[current_]
};

// Parses JSON texts into values that live in the reader's arena until its next Parse.
// Reuse one reader per thread: parsing then takes no memory from the heap once the
// arena has grown to the texts' size.
class JsonReader {
 public:
  JsonReader() = default;
  JsonReader(const JsonReader&) = delete;
  JsonReader& operator=(const JsonReader&) = delete;

  // The value of `text`, a complete JSON text; InvalidArgument saying what is wrong and
  // at which byte. The value stays valid until the next Parse.
  absl::StatusOr<const boost::json::value*> Parse(std::string_view text);

  // True when the last Parse failed because more text followed a complete value.
  bool extra_data() const { return extra_data_; }

 private:
  JsonArena arena_;
  boost::json::parser parser_;
  std::optional<boost::json::value> value_;  // allocated in arena_
  bool extra_data_ = false;
};

enum class BodyFormat { kJson, kNdjson };

struct EventRejection {
  size_t index = 0;   // position of the event in the body, 0-based (NDJSON: blank lines skipped)
  size_t line = 0;    // NDJSON only: the 1-based line; 0 for JSON bodies
  std::string error;  // "<field>: <why>"
};

struct ParsedEvents {
  std::vector<IngestEvent> events;  // the valid events, in body order
  std::vector<EventRejection> rejected;
};

// Splits and validates an ingest body. A JSON body that is not JSON, or not an object or
// an array, is InvalidArgument (nothing of it is taken). In NDJSON, a line that is not
// JSON is a rejection of that line alone, unless no line is JSON: then the body is not
// NDJSON at all, and InvalidArgument. More than `max_events` events (valid or not; 0: no
// limit) is ResourceExhausted, found before the events past the limit are read.
absl::StatusOr<ParsedEvents> ParseEventBody(std::string_view body, BodyFormat format, EventTime now,
                                            JsonReader* reader, size_t max_events = 0);

// One event object (the rules above) into `out`; InvalidArgument "<field>: <why>".
absl::Status EventFromJson(const boost::json::value& value, EventTime now, IngestEvent* out);

// One event of an anonymous session: an object with item_id (required), event_type
// (optional, default view) and timestamp (as above), or a bare id (string or integer),
// which is a view at `now`. Other keys, user_id included, are ignored.
absl::Status SessionEventFromJson(const boost::json::value& value, EventTime now,
                                  SessionEvent* out);

// An id field's value: a non-empty string of at most kMaxIdBytes, or an integer written
// in decimal. InvalidArgument saying why not (without the field name).
absl::StatusOr<std::string> IdFromJson(const boost::json::value& value);

}  // namespace streamrec

// Values in a JsonArena skip their deallocation calls.
template <>
struct boost::json::is_deallocate_trivial<streamrec::JsonArena> : std::true_type {};
