#pragma once
// Mapping files: how the columns and event names of a real log map onto the engine's
// fields, so that files are read as they are. TOML, one table per kind of source:
//
//   [events]                  delimiter = ",", header = true
//   [events.columns]          engine field = column in the file
//   [events.constants]        engine field = a value for a field the file lacks
//   [events.event_types]      name in the file = engine event type; unlisted are rejected
//   [purchases] ...           the same keys for purchase files
//
// Engine fields: user_id, item_id, event_type (events only), timestamp, amount,
// event_id (events only), timestamp_offset_ms (milliseconds added to timestamp).
// The format is documented in docs/formats/mapping.md.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/event.h"
#include "common/strings.h"
#include "io/row_source.h"

namespace streamrec {

enum class SourceKind { kEvents, kPurchases };
std::string_view SourceKindName(SourceKind kind);  // "events" or "purchases"

struct SourceMapping {
  CsvOptions csv;
  StringMap<std::string> columns;    // engine field -> file column
  StringMap<std::string> constants;  // engine field -> value
  // File event name -> engine type. Empty: the engine's own names are accepted.
  StringMap<EventType> event_types;
};

struct Mapping {
  SourceMapping events;
  SourceMapping purchases;
  const SourceMapping& For(SourceKind kind) const {
    return kind == SourceKind::kEvents ? events : purchases;
  }
};

// Parses mapping text; `origin` names it in errors. Unknown keys and fields are errors.
absl::StatusOr<Mapping> ParseMapping(std::string_view toml_text, std::string_view origin);
absl::StatusOr<Mapping> LoadMapping(const std::string& path);

}  // namespace streamrec
