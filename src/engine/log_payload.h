#pragma once
// The engine's log payloads (docs/formats/event-log.md, "Engine payloads"): one kind
// byte, then
//   kLiveRequest       i64 arrival wall time (µs), then the request's accepted events
//                      (EncodeEvents). Replay pushes them through the reorder buffer at
//                      that arrival time, which makes replay take the same decisions.
//   kBootstrapRecords  records in stream order (EncodeEvents), one per LoggedEvent: with
//                      an amount, a purchase record; without, an event record.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/event.h"
#include "log/event_codec.h"

namespace streamrec {

enum class PayloadKind : uint8_t { kLiveRequest = 1, kBootstrapRecords = 2 };

struct LogPayload {
  PayloadKind kind = PayloadKind::kLiveRequest;
  EventTime arrival;        // kLiveRequest only
  std::string_view events;  // for DecodeEvents
};

void AppendLivePayload(EventTime arrival, std::span<const LoggedEvent> events, std::string* out);
// The live payloads of one request, each at most `max_bytes` (the log's record limit):
// one, or the events split into halves until each fits. Appended to `out`, in order;
// applied in turn they make the same state on the live path and in replay. An event
// that alone does not fit is a payload of its own (the caller bounds events' sizes).
void AppendLivePayloads(EventTime arrival, std::span<const LoggedEvent> events, size_t max_bytes,
                        std::vector<std::string>* out);
void AppendBootstrapPayload(std::span<const LoggedEvent> records, std::string* out);

// DataLoss for an unknown kind or a short header.
absl::StatusOr<LogPayload> ParseLogPayload(std::string_view payload);

// The records of one logged event, written to `out`; returns how many (1 or 2). A live
// purchase event is a purchase record and an event record with the same time and seq.
int LoggedEventRecords(UserIdx user, ItemIdx item, const LoggedEvent& e, PayloadKind kind,
                       uint32_t seq, Record out[2]);

}  // namespace streamrec
