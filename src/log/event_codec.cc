#include "log/event_codec.h"

#include "common/byte_io.h"
#include "common/strings.h"

namespace streamrec {
namespace {

constexpr uint8_t kEventBatchFormat = 1;
constexpr uint8_t kTypeMask = 0x0f;
constexpr uint8_t kHasAmount = 0x10;
constexpr uint8_t kUnknownFlags = 0xe0;
// flags, time, and three empty strings.
constexpr size_t kMinEventBytes = 5;

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }

}  // namespace

void EncodeEvents(std::span<const LoggedEvent> events, std::string* out) {
  ByteWriter w(out);
  w.Put(kEventBatchFormat);
  w.PutVarint(events.size());
  int64_t previous = 0;
  for (const LoggedEvent& e : events) {
    w.Put(static_cast<uint8_t>(static_cast<uint8_t>(e.type) | (e.amount ? kHasAmount : 0)));
    // Wrapping difference: any two supported times differ by far less than 2^63.
    w.PutVarint(ZigZag(static_cast<int64_t>(static_cast<uint64_t>(e.time.micros) -
                                            static_cast<uint64_t>(previous))));
    previous = e.time.micros;
    w.PutString(e.user_id);
    w.PutString(e.item_id);
    w.PutString(e.event_id);
    if (e.amount) w.Put(*e.amount);
  }
}

absl::Status DecodeEvents(std::string_view payload, std::vector<LoggedEvent>* events) {
  events->clear();
  ByteReader r(payload);
  uint8_t format = 0;
  uint64_t count = 0;
  if (!r.Get(&format)) return absl::InvalidArgumentError("event payload: empty");
  if (format != kEventBatchFormat) {
    return absl::InvalidArgumentError(StrCat("event payload: unknown format ", int{format}));
  }
  if (!r.GetVarint(&count)) return absl::InvalidArgumentError("event payload: truncated count");
  if (count > r.remaining() / kMinEventBytes) {
    return absl::InvalidArgumentError(
        StrCat("event payload: ", count, " events cannot fit in ", r.remaining(), " bytes"));
  }
  events->reserve(count);
  int64_t previous = 0;
  for (uint64_t i = 0; i < count; ++i) {
    auto fail = [&](std::string_view why) {
      return absl::InvalidArgumentError(
          StrCat("event payload: event ", i, " of ", count, ": ", why));
    };
    LoggedEvent& e = events->emplace_back();
    uint8_t flags = 0;
    uint64_t delta = 0;
    r.Get(&flags);
    r.GetVarint(&delta);
    r.GetString(&e.user_id);
    r.GetString(&e.item_id);
    r.GetString(&e.event_id);
    if (r.ok() && (flags & kHasAmount) != 0) r.Get(&e.amount.emplace());
    if (!r.ok()) return fail("truncated");
    if ((flags & kUnknownFlags) != 0) return fail(fmt::format("unknown flags 0x{:02x}", flags));
    if ((flags & kTypeMask) >= kEventTypeCount)
      return fail(StrCat("unknown event type ", flags & kTypeMask));
    e.type = static_cast<EventType>(flags & kTypeMask);
    e.time.micros = static_cast<int64_t>(static_cast<uint64_t>(previous) +
                                         static_cast<uint64_t>(UnZigZag(delta)));
    if (!IsSupportedTime(e.time))
      return fail(StrCat("time ", e.time.micros, " us is out of range"));
    previous = e.time.micros;
  }
  if (!r.at_end()) {
    return absl::InvalidArgumentError(
        StrCat("event payload: ", r.remaining(), " bytes after the last of ", count, " events"));
  }
  return absl::OkStatus();
}

}  // namespace streamrec
