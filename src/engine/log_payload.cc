#include "engine/log_payload.h"

#include "common/byte_io.h"
#include "common/strings.h"

namespace streamrec {

void AppendLivePayload(EventTime arrival, std::span<const LoggedEvent> events, std::string* out) {
  out->push_back(static_cast<char>(PayloadKind::kLiveRequest));
  ByteWriter(out).Put<int64_t>(arrival.micros);
  EncodeEvents(events, out);
}

void AppendLivePayloads(EventTime arrival, std::span<const LoggedEvent> events, size_t max_bytes,
                        std::vector<std::string>* out) {
  std::string& payload = out->emplace_back();
  AppendLivePayload(arrival, events, &payload);
  if (payload.size() <= max_bytes || events.size() <= 1) return;
  out->pop_back();
  const size_t half = events.size() / 2;
  AppendLivePayloads(arrival, events.first(half), max_bytes, out);
  AppendLivePayloads(arrival, events.subspan(half), max_bytes, out);
}

void AppendBootstrapPayload(std::span<const LoggedEvent> records, std::string* out) {
  out->push_back(static_cast<char>(PayloadKind::kBootstrapRecords));
  EncodeEvents(records, out);
}

absl::StatusOr<LogPayload> ParseLogPayload(std::string_view payload) {
  ByteReader r(payload);
  uint8_t kind = 0;
  if (!r.Get(&kind)) return absl::DataLossError("empty payload");
  LogPayload p;
  switch (static_cast<PayloadKind>(kind)) {
    case PayloadKind::kLiveRequest:
      p.kind = PayloadKind::kLiveRequest;
      if (!r.Get(&p.arrival.micros)) {
        return absl::DataLossError("payload too short for its arrival time");
      }
      break;
    case PayloadKind::kBootstrapRecords:
      p.kind = PayloadKind::kBootstrapRecords;
      break;
    default:
      return absl::DataLossError(StrCat("unknown payload kind ", static_cast<int>(kind)));
  }
  p.events = payload.substr(payload.size() - r.remaining());
  return p;
}

int LoggedEventRecords(UserIdx user, ItemIdx item, const LoggedEvent& e, PayloadKind kind,
                       uint32_t seq, Record out[2]) {
  Record r;
  r.time = e.time;
  r.user = user;
  r.item = item;
  r.seq = seq;
  if (kind == PayloadKind::kBootstrapRecords) {
    if (e.amount) {
      r.kind = RecordKind::kPurchase;
      r.amount = *e.amount;
    } else {
      r.type = e.type;
    }
    out[0] = r;
    return 1;
  }
  int n = 0;
  if (e.type == EventType::kPurchase) {
    r.kind = RecordKind::kPurchase;
    r.amount = e.amount.value_or(0);
    out[n++] = r;
  }
  r.kind = RecordKind::kEvent;
  r.type = e.type;
  r.amount = 0;
  out[n++] = r;
  return n;
}

}  // namespace streamrec
