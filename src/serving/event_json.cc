#include "serving/event_json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "boost/json/error.hpp"
#include "common/status_macros.h"
#include "common/strings.h"

namespace streamrec {
namespace {

using boost::json::object;
using boost::json::value;

std::string_view View(boost::json::string_view s) { return std::string_view(s.data(), s.size()); }
std::string_view View(absl::string_view s) { return std::string_view(s.data(), s.size()); }

absl::Status FieldError(std::string_view field, std::string_view why) {
  return absl::InvalidArgumentError(StrCat(field, ": ", why));
}

// "a string", "an array", ...: what a value is, for error messages.
std::string_view KindName(const value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
      return "an integer";
    case boost::json::kind::double_:
      return "a number";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "an array";
    case boost::json::kind::object:
      return "an object";
  }
  return "a value";
}

// The value of `key`, or nullptr when it is absent or null.
const value* Find(const object& obj, std::string_view key) {
  const value* v = obj.if_contains(boost::json::string_view(key.data(), key.size()));
  return v == nullptr || v->is_null() ? nullptr : v;
}

absl::Status ReadId(const object& obj, std::string_view key, bool required, std::string* out) {
  const value* v = Find(obj, key);
  if (v == nullptr) {
    out->clear();
    return required ? FieldError(key, "missing") : absl::OkStatus();
  }
  absl::StatusOr<std::string> id = IdFromJson(*v);
  if (!id.ok()) return FieldError(key, View(id.status().message()));
  *out = *std::move(id);
  return absl::OkStatus();
}

absl::Status ReadType(const object& obj, bool required, EventType* out) {
  const value* v = Find(obj, "event_type");
  if (v == nullptr) {
    if (required) return FieldError("event_type", "missing");
    *out = EventType::kView;
    return absl::OkStatus();
  }
  const boost::json::string* name = v->if_string();
  if (name == nullptr) {
    return FieldError("event_type", StrCat("must be a string, not ", KindName(*v)));
  }
  std::optional<EventType> type = ParseEventType(View(*name));
  if (!type) {
    return FieldError("event_type", StrCat("unknown event type '", View(*name),
                                           "' (expected view, click, add_to_cart or purchase)"));
  }
  *out = *type;
  return absl::OkStatus();
}

// Milliseconds since the epoch as a JSON number; fractions of a microsecond are rounded
// down, so that no time before 1970 becomes 1970 itself. A value too large for the
// supported range becomes kMaxTime + 1, which the range check then refuses as too far
// ahead.
EventTime TimeFromMillis(const value& v) {
  constexpr int64_t kMaxMillis = kMaxTime.micros / 1000;
  if (const int64_t* ms = v.if_int64()) {
    if (*ms > kMaxMillis) return EventTime{kMaxTime.micros + 1};
    if (*ms < -kMaxMillis) return EventTime{-kMaxTime.micros};
    return EventTime{*ms * 1000};
  }
  if (v.is_uint64()) return EventTime{kMaxTime.micros + 1};
  const double ms = v.get_double();
  if (!(ms <= static_cast<double>(kMaxMillis))) return EventTime{kMaxTime.micros + 1};
  if (ms < -static_cast<double>(kMaxMillis)) return EventTime{-kMaxTime.micros};
  return EventTime{static_cast<int64_t>(std::floor(ms * 1000.0))};
}

absl::Status ReadTime(const object& obj, EventTime now, EventTime* out) {
  const value* v = Find(obj, "timestamp");
  EventTime time = now;
  if (v == nullptr) {
    // Arrival time.
  } else if (const boost::json::string* text = v->if_string()) {
    std::string_view trimmed = TrimAscii(View(*text));
    if (!trimmed.empty()) {
      absl::StatusOr<EventTime> parsed = ParseTime(trimmed);
      if (!parsed.ok()) return FieldError("timestamp", View(parsed.status().message()));
      time = *parsed;
    }
  } else if (v->is_number()) {
    time = TimeFromMillis(*v);
  } else {
    return FieldError("timestamp", StrCat("must be a string or a number of milliseconds since "
                                          "the epoch, not ",
                                          KindName(*v)));
  }
  if (time < EventTime{0}) return FieldError("timestamp", "before 1970-01-01");
  if (time.micros - now.micros > kMaxFutureMicros) {
    return FieldError(
        "timestamp", StrCat("more than 1 day after the server's time (", FormatTime(now), " UTC)"));
  }
  *out = time;
  return absl::OkStatus();
}

absl::Status ReadAmount(const object& obj, EventType type, std::optional<double>* out) {
  const value* v = Find(obj, "amount");
  if (v == nullptr) {
    if (type == EventType::kPurchase) return FieldError("amount", "required for purchase events");
    out->reset();
    return absl::OkStatus();
  }
  double amount;
  if (const double* d = v->if_double()) {
    amount = *d;
  } else if (const int64_t* i = v->if_int64()) {
    amount = static_cast<double>(*i);
  } else if (const uint64_t* u = v->if_uint64()) {
    amount = static_cast<double>(*u);
  } else {
    return FieldError("amount", StrCat("must be a number, not ", KindName(*v)));
  }
  if (!std::isfinite(amount)) return FieldError("amount", "not finite");
  if (amount < 0) return FieldError("amount", StrCat("negative (", amount, ")"));
  *out = amount;
  return absl::OkStatus();
}

void AddEvent(const value& v, size_t index, size_t line, EventTime now, ParsedEvents* out) {
  IngestEvent& event = out->events.emplace_back();
  absl::Status status = EventFromJson(v, now, &event);
  if (status.ok()) return;
  out->events.pop_back();
  out->rejected.push_back({index, line, std::string(status.message())});
}

}  // namespace

void JsonArena::Reset() {
  // Keep the first blocks up to kKeptBytes; return the rest to the heap.
  size_t kept_bytes = 0;
  size_t kept = 0;
  while (kept < blocks_.size() && kept_bytes + blocks_[kept].size <= kKeptBytes) {
    kept_bytes += blocks_[kept++].size;
  }
  blocks_.resize(kept);
  current_ = 0;
  used_ = 0;
}

void* JsonArena::do_allocate(size_t bytes, size_t alignment) {
  while (true) {
    if (current_ < blocks_.size()) {
      Block& block = blocks_[current_];
      const size_t start = (used_ + alignment - 1) & ~(alignment - 1);
      if (start + bytes <= block.size) {
        used_ = start + bytes;
        return block.data.get() + start;
      }
      if (current_ + 1 < blocks_.size() && blocks_[current_ + 1].size >= bytes + alignment) {
        ++current_;
        used_ = 0;
        continue;
      }
    }
    // A new block after the current one, twice as large as the largest so far (and
    // large enough); the kept blocks after it stay for later.
    size_t size = kFirstBlockBytes;
    for (const Block& b : blocks_) size = std::max(size, 2 * b.size);
    size = std::max(size, bytes + alignment);
    const size_t at = blocks_.empty() ? 0 : current_ + 1;
    blocks_.insert(blocks_.begin() + static_cast<ptrdiff_t>(at),
                   Block{std::make_unique_for_overwrite<unsigned char[]>(size), size});
    current_ = at;
    used_ = 0;
  }
}

absl::StatusOr<const boost::json::value*> JsonReader::Parse(std::string_view text) {
  value_.reset();
  parser_.reset();
  arena_.Reset();
  parser_.reset(boost::json::storage_ptr(&arena_));
  boost::json::error_code ec;
  const size_t consumed = parser_.write(text.data(), text.size(), ec);
  extra_data_ = ec == boost::json::error::extra_data;
  if (ec) {
    if (ec == boost::json::error::incomplete) {
      return absl::InvalidArgumentError(
          text.find_first_not_of(" \t\r\n") == std::string_view::npos
              ? std::string("not valid JSON: empty")
              : StrCat("not valid JSON: the text ends before the value does (", text.size(),
                       " bytes)"));
    }
    return absl::InvalidArgumentError(
        StrCat("not valid JSON: ", ec.message(), " at byte ", consumed));
  }
  value_.emplace(parser_.release());
  return &*value_;
}

absl::StatusOr<std::string> IdFromJson(const boost::json::value& v) {
  if (const boost::json::string* s = v.if_string()) {
    if (TrimAscii(View(*s)).empty()) return absl::InvalidArgumentError("empty");
    if (s->size() > kMaxIdBytes) {
      return absl::InvalidArgumentError(StrCat("longer than ", kMaxIdBytes, " bytes"));
    }
    return std::string(View(*s));
  }
  if (const int64_t* i = v.if_int64()) return StrCat(*i);
  if (const uint64_t* u = v.if_uint64()) return StrCat(*u);
  if (v.is_double()) {
    return absl::InvalidArgumentError(
        "a number that is not an integer of at most 64 bits (send such an id as a string)");
  }
  return absl::InvalidArgumentError(StrCat("must be a string or an integer, not ", KindName(v)));
}

absl::Status EventFromJson(const boost::json::value& v, EventTime now, IngestEvent* out) {
  const object* obj = v.if_object();
  if (obj == nullptr) {
    return absl::InvalidArgumentError(StrCat("an event must be a JSON object, not ", KindName(v)));
  }
  RETURN_IF_ERROR(ReadId(*obj, "user_id", /*required=*/true, &out->user_id));
  RETURN_IF_ERROR(ReadId(*obj, "item_id", /*required=*/true, &out->item_id));
  RETURN_IF_ERROR(ReadType(*obj, /*required=*/true, &out->type));
  RETURN_IF_ERROR(ReadTime(*obj, now, &out->time));
  RETURN_IF_ERROR(ReadAmount(*obj, out->type, &out->amount));
  RETURN_IF_ERROR(ReadId(*obj, "event_id", /*required=*/false, &out->event_id));
  return absl::OkStatus();
}

absl::Status SessionEventFromJson(const boost::json::value& v, EventTime now, SessionEvent* out) {
  const object* obj = v.if_object();
  if (obj == nullptr) {
    if (!v.is_string() && !v.is_int64() && !v.is_uint64()) {
      return absl::InvalidArgumentError(
          StrCat("an event must be a JSON object or an item id, not ", KindName(v)));
    }
    ASSIGN_OR_RETURN(out->item_id, IdFromJson(v));
    out->type = EventType::kView;
    out->time = now;
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(ReadId(*obj, "item_id", /*required=*/true, &out->item_id));
  RETURN_IF_ERROR(ReadType(*obj, /*required=*/false, &out->type));
  RETURN_IF_ERROR(ReadTime(*obj, now, &out->time));
  return absl::OkStatus();
}

absl::StatusOr<ParsedEvents> ParseEventBody(std::string_view body, BodyFormat format, EventTime now,
                                            JsonReader* reader, size_t max_events) {
  const auto over_limit = [&](std::string count) {
    return absl::ResourceExhaustedError(
        StrCat(count, " events in one request, over the limit of ", max_events,
               "; none was applied: send them in smaller requests"));
  };
  ParsedEvents out;
  if (format == BodyFormat::kNdjson) {
    // A line per event, up to the limit and to 64k (past which the vector grows as it
    // goes): a body of blank lines reserves no more.
    const size_t lines = static_cast<size_t>(std::count(body.begin(), body.end(), '\n')) + 1;
    out.events.reserve(std::min({lines, max_events > 0 ? max_events : lines, size_t{1} << 16}));
    size_t index = 0;
    size_t line_number = 0;
    size_t json_lines = 0;
    size_t pos = 0;
    while (pos < body.size()) {
      size_t end = body.find('\n', pos);
      if (end == std::string_view::npos) end = body.size();
      const std::string_view line = body.substr(pos, end - pos);
      pos = end + 1;
      ++line_number;
      if (TrimAscii(line).empty()) continue;
      if (max_events > 0 && index == max_events)
        return over_limit(StrCat("more than ", max_events));
      absl::StatusOr<const value*> parsed = reader->Parse(line);
      if (!parsed.ok()) {
        out.rejected.push_back({index++, line_number, std::string(parsed.status().message())});
        continue;
      }
      ++json_lines;
      AddEvent(**parsed, index++, line_number, now, &out);
    }
    if (json_lines == 0 && !out.rejected.empty()) {
      const EventRejection& first = out.rejected.front();
      return absl::InvalidArgumentError(StrCat("the body is not NDJSON: no line is JSON (line ",
                                               first.line, ": ", first.error, ")"));
    }
    return out;
  }

  absl::StatusOr<const value*> parsed = reader->Parse(body);
  if (!parsed.ok()) {
    if (!reader->extra_data()) return parsed.status();
    return absl::InvalidArgumentError(
        StrCat(parsed.status().message(),
               " (for one event per line, send Content-Type: application/x-ndjson)"));
  }
  const value* root = *parsed;
  if (root->is_object()) {
    AddEvent(*root, 0, 0, now, &out);
  } else if (const boost::json::array* events = root->if_array()) {
    if (max_events > 0 && events->size() > max_events) return over_limit(StrCat(events->size()));
    out.events.reserve(events->size());
    for (size_t i = 0; i < events->size(); ++i) AddEvent((*events)[i], i, 0, now, &out);
  } else {
    return absl::InvalidArgumentError(StrCat(
        "the body must be an event object or an array of event objects, not ", KindName(*root)));
  }
  return out;
}

}  // namespace streamrec
