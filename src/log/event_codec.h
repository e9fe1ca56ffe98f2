#pragma once
// The payload of an event log record: a batch of accepted events (one record per
// accepted request). Format: docs/formats/event-log.md, "Payloads: events".
//
//   std::string payload;
//   EncodeEvents(events, &payload);
//   log->Append(payload);
//   ...
//   std::vector<LoggedEvent> decoded;
//   RETURN_IF_ERROR(DecodeEvents(payload, &decoded));  // views into `payload`

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/event.h"
#include "common/time.h"

namespace streamrec {

// One accepted event with its external ids. The views point into storage owned by the
// caller (when encoding) or into the payload (when decoded).
struct LoggedEvent {
  std::string_view user_id;
  std::string_view item_id;
  std::string_view event_id;  // empty: the event has none
  EventType type = EventType::kView;
  EventTime time;
  std::optional<double> amount;

  friend bool operator==(const LoggedEvent&, const LoggedEvent&) = default;
};

// Appends the payload holding `events` to `out`.
// REQUIRES: each time IsSupportedTime (the decoder refuses others).
void EncodeEvents(std::span<const LoggedEvent> events, std::string* out);

// Replaces the contents of `events` with the events of `payload`; their views point into
// `payload`. InvalidArgument for malformed bytes, saying which event and why; `events`
// is then unspecified.
absl::Status DecodeEvents(std::string_view payload, std::vector<LoggedEvent>* events);

}  // namespace streamrec
