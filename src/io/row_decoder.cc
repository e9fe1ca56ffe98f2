#include "io/row_decoder.h"

#include <charconv>
#include <cmath>

#include "absl/status/status.h"
#include "common/check.h"
#include "common/json_string.h"
#include "common/strings.h"
#include "common/time.h"
#include "fmt/ranges.h"

namespace streamrec {
namespace {

struct FieldSpec {
  std::string_view engine_name;
  bool required;
  // Column names tried in order when the mapping names none.
  std::vector<std::string_view> defaults;
};

// Index order matches RowDecoder::Field.
std::vector<FieldSpec> SpecsFor(SourceKind kind) {
  if (kind == SourceKind::kEvents) {
    return {{"user_id", true, {"user_id"}},       {"item_id", true, {"item_id"}},
            {"event_type", true, {"event_type"}}, {"timestamp", true, {"timestamp"}},
            {"amount", false, {"amount"}},        {"event_id", false, {"event_id"}},
            {"timestamp_offset_ms", false, {}}};
  }
  return {{"user_id", true, {"user_id"}},
          {"item_id", true, {"item_id"}},
          {"event_type", false, {}},
          {"timestamp", true, {"purchase_date", "timestamp"}},
          {"amount", true, {"purchase_amount", "amount"}},
          {"event_id", false, {}},
          {"timestamp_offset_ms", false, {}}};
}

// Parses a finite, non-negative decimal; the error names the field.
bool ParseAmount(std::string_view text, double* out, std::string* reason) {
  text = TrimAscii(text);
  // "+5" is 5, as SQL reads it (from_chars takes no sign but '-').
  const std::string_view number =
      text.size() > 1 && text.front() == '+' && text[1] != '-' ? text.substr(1) : text;
  const char* end = number.data() + number.size();
  auto [ptr, ec] = std::from_chars(number.data(), end, *out);
  if (ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    *reason = StrCat("bad amount '", text, "': not a number");
    return false;
  }
  if (ec == std::errc::result_out_of_range) {
    *reason = StrCat("bad amount '", text, "': out of range");
    return false;
  }
  if (!std::isfinite(*out)) {
    *reason = StrCat("bad amount '", text, "': not finite");
    return false;
  }
  if (*out < 0) {
    *reason = StrCat("bad amount '", text, "': negative");
    return false;
  }
  return true;
}

// True for an empty text or one of only spaces, tabs and line breaks (what TrimAscii
// removes). This runs for both ids of every row: a real id is settled by its first
// character (any byte above ' ' is not a space).
inline bool IsBlank(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) > ' ') return false;
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\f' && c != '\v') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<RowDecoder> RowDecoder::Create(SourceKind kind, const SourceMapping& mapping,
                                              const std::vector<std::string>& columns,
                                              std::string_view source_name) {
  RowDecoder d;
  d.kind_ = kind;
  d.column_count_ = columns.size();
  d.event_types_ = mapping.event_types;
  auto column_index = [&](std::string_view name) -> int {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  const std::vector<FieldSpec> specs = SpecsFor(kind);
  for (int f = 0; f < kFieldCount; ++f) {
    const FieldSpec& spec = specs[f];
    FieldSource& src = d.fields_[f];
    const std::string key(spec.engine_name);
    if (auto it = mapping.columns.find(key); it != mapping.columns.end()) {
      src.column = column_index(it->second);
      if (src.column < 0) {
        return absl::InvalidArgumentError(
            StrCat(source_name, ": the mapping reads ", key, " from column '", it->second,
                   "', which is not there (columns: ", fmt::join(columns, ", "), ")"));
      }
      src.present = true;
    } else if (auto c = mapping.constants.find(key); c != mapping.constants.end()) {
      src.constant = c->second;
      src.present = true;
    } else {
      // Every default name that is a column is a candidate, in the spec's order. A JSON
      // Lines source has a column for every default name (WantedColumns), so the row's
      // value decides which one holds the text.
      for (std::string_view name : spec.defaults) {
        const int column = column_index(name);
        if (column < 0) continue;
        if (src.column < 0) {
          src.column = column;
        } else if (column != src.column) {
          STREAMREC_CHECK(src.fallback_count < kMaxFallbacks) << key;
          src.fallbacks[src.fallback_count++] = column;
        }
      }
      src.present = src.column >= 0;
    }
    if (spec.required && !src.present) {
      std::string tried =
          spec.defaults.empty() ? "" : StrCat(" '", fmt::join(spec.defaults, "' or '"), "'");
      return absl::InvalidArgumentError(
          StrCat(source_name, ": no column for ", key, ": expected a column", tried,
                 " (columns: ", fmt::join(columns, ", "), "); map one in [", SourceKindName(kind),
                 ".columns] or set [", SourceKindName(kind), ".constants]"));
    }
  }
  return d;
}

std::vector<std::string> RowDecoder::WantedColumns(SourceKind kind, const SourceMapping& mapping) {
  std::vector<std::string> wanted;
  for (const FieldSpec& spec : SpecsFor(kind)) {
    const std::string key(spec.engine_name);
    if (auto it = mapping.columns.find(key); it != mapping.columns.end()) {
      wanted.push_back(it->second);
    } else if (!mapping.constants.contains(key)) {
      for (std::string_view name : spec.defaults) wanted.emplace_back(name);
    }
  }
  return wanted;
}

std::string_view RowDecoder::GetFallback(const Row& row, const FieldSource& s,
                                         std::string_view first) {
  if (!IsBlank(first)) return first;
  for (int i = 0; i < s.fallback_count; ++i) {
    const std::string_view v = row.fields[s.fallbacks[i]];
    if (!IsBlank(v)) return v;
  }
  return first;
}

DecodeOutcome RowDecoder::DecodeInto(const Row& row, uint32_t seq, IdDictionary* ids,
                                     EventIdSet* seen_event_ids, Record out[2], int* n,
                                     std::string* reason) const {
  *n = 0;
  if (row.fields.size() != column_count_) {
    *reason = StrCat("expected ", column_count_, " fields, found ", row.fields.size());
    return DecodeOutcome::kRejected;
  }
  // Ids are used exactly as written (not trimmed), but one of only spaces is missing.
  const std::string_view user = Get(row, kUser);
  if (IsBlank(user)) {
    *reason = "missing user_id";
    return DecodeOutcome::kRejected;
  }
  const std::string_view item = Get(row, kItem);
  if (IsBlank(item)) {
    *reason = "missing item_id";
    return DecodeOutcome::kRejected;
  }
  // Ids are text: bytes that are not UTF-8 could not be written to Parquet or JSON (the
  // server's answers), so the row is refused here, in every format alike.
  const std::string_view event_id = EventIdText(row);
  for (const auto& [name, text] :
       {std::pair{"user_id", user}, std::pair{"item_id", item}, std::pair{"event_id", event_id}}) {
    if (!IsValidUtf8(text)) {
      *reason = StrCat(name, " is not valid UTF-8");
      return DecodeOutcome::kRejected;
    }
  }

  EventType type = EventType::kPurchase;
  if (kind_ == SourceKind::kEvents) {
    const std::string_view name = TrimAscii(Get(row, kType));
    if (name.empty()) {
      *reason = "missing event_type";
      return DecodeOutcome::kRejected;
    }
    std::optional<EventType> parsed;
    if (event_types_.empty()) {
      parsed = ParseEventType(name);
    } else if (auto it = event_types_.find(name); it != event_types_.end()) {
      parsed = it->second;
    }
    if (!parsed) {
      *reason = StrCat("unknown event type '", name, "'");
      return DecodeOutcome::kRejected;
    }
    type = *parsed;
  }

  const std::string_view time_text = TrimAscii(Get(row, kTime));
  if (time_text.empty()) {
    *reason = "missing timestamp";
    return DecodeOutcome::kRejected;
  }
  absl::StatusOr<EventTime> time = ParseTime(time_text);
  if (!time.ok()) {
    *reason = std::string(time.status().message());
    return DecodeOutcome::kRejected;
  }
  if (const std::string_view offset = TrimAscii(Get(row, kOffset)); !offset.empty()) {
    int64_t ms = 0;
    auto [ptr, ec] = std::from_chars(offset.data(), offset.data() + offset.size(), ms);
    if (ptr != offset.data() + offset.size() ||
        (ec != std::errc() && ec != std::errc::result_out_of_range)) {
      *reason = StrCat("bad timestamp_offset_ms '", offset, "': not an integer");
      return DecodeOutcome::kRejected;
    }
    // The time is in range, so only the offset's size can overflow; the sum must stay
    // in the supported range too.
    int64_t micros = 0;
    if (ec == std::errc::result_out_of_range || __builtin_mul_overflow(ms, 1000, &micros) ||
        __builtin_add_overflow(time->micros, micros, &time->micros) || !IsSupportedTime(*time)) {
      *reason = StrCat("bad timestamp_offset_ms '", offset, "': out of range");
      return DecodeOutcome::kRejected;
    }
  }

  double amount = 0;
  const std::string_view amount_text = Get(row, kAmount);
  const bool has_amount = !TrimAscii(amount_text).empty();
  if (has_amount && !ParseAmount(amount_text, &amount, reason)) return DecodeOutcome::kRejected;
  const bool is_purchase = type == EventType::kPurchase;
  if (is_purchase && !has_amount) {
    *reason = kind_ == SourceKind::kEvents ? "purchase event without an amount"
                                           : "missing purchase amount";
    return DecodeOutcome::kRejected;
  }

  if (!event_id.empty() && !seen_event_ids->emplace(event_id).second) {
    return DecodeOutcome::kDuplicate;
  }

  Record r;
  r.time = *time;
  r.user = ids->users.Intern(user);
  r.item = ids->items.Intern(item);
  r.seq = seq;
  if (is_purchase) {
    r.kind = RecordKind::kPurchase;
    r.amount = amount;
    r.type = EventType::kPurchase;
    out[(*n)++] = r;
  }
  if (kind_ == SourceKind::kEvents) {
    r.kind = RecordKind::kEvent;
    r.amount = 0;
    r.type = type;
    out[(*n)++] = r;
  }
  return DecodeOutcome::kAccepted;
}

std::string_view RowDecoder::EventIdText(const Row& row) const {
  const std::string_view id = Get(row, kEventId);
  return IsBlank(id) ? std::string_view() : id;
}

}  // namespace streamrec
