#include "io/mapping.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "common/strings.h"
#include "toml++/toml.h"

namespace streamrec {
namespace {

bool IsEngineField(SourceKind kind, std::string_view field) {
  static constexpr std::string_view kCommon[] = {"user_id", "item_id", "timestamp", "amount",
                                                 "timestamp_offset_ms"};
  for (std::string_view f : kCommon) {
    if (f == field) return true;
  }
  return kind == SourceKind::kEvents && (field == "event_type" || field == "event_id");
}

absl::Status Bad(std::string_view origin, std::string_view where, std::string_view why) {
  return absl::InvalidArgumentError(StrCat(origin, ": [", where, "] ", why));
}

absl::Status ReadStringTable(const toml::table& table, SourceKind kind, std::string_view origin,
                             std::string_view where, bool keys_are_fields,
                             StringMap<std::string>* out) {
  for (const auto& [key, node] : table) {
    const std::string k(key.str());
    if (keys_are_fields && !IsEngineField(kind, k)) {
      return Bad(origin, where, StrCat("unknown engine field '", k, "'"));
    }
    const auto* value = node.as_string();
    if (value == nullptr) return Bad(origin, where, StrCat("'", k, "' must be a string"));
    (*out)[k] = value->get();
  }
  return absl::OkStatus();
}

absl::Status ReadSource(const toml::table& table, SourceKind kind, std::string_view origin,
                        SourceMapping* out) {
  const std::string name(SourceKindName(kind));
  for (const auto& [key, node] : table) {
    const std::string_view k = key.str();
    if (k == "delimiter") {
      const auto* v = node.as_string();
      if (v == nullptr || v->get().size() != 1) {
        return Bad(origin, name, "delimiter must be a one-character string, e.g. \",\" or \"\\t\"");
      }
      out->csv.delimiter = v->get()[0];
    } else if (k == "header") {
      const auto* v = node.as_boolean();
      if (v == nullptr) return Bad(origin, name, "header must be true or false");
      out->csv.header = v->get();
    } else if (k == "columns" || k == "constants" || k == "event_types") {
      const auto* sub = node.as_table();
      if (sub == nullptr) return Bad(origin, name, StrCat("'", k, "' must be a table"));
      const std::string where = StrCat(name, ".", k);
      if (k == "columns") {
        if (absl::Status s = ReadStringTable(*sub, kind, origin, where, true, &out->columns);
            !s.ok())
          return s;
      } else if (k == "constants") {
        if (absl::Status s = ReadStringTable(*sub, kind, origin, where, true, &out->constants);
            !s.ok())
          return s;
      } else {
        if (kind != SourceKind::kEvents) return Bad(origin, where, "only events have event types");
        StringMap<std::string> names;
        if (absl::Status s = ReadStringTable(*sub, kind, origin, where, false, &names); !s.ok())
          return s;
        for (const auto& [file_name, engine_name] : names) {
          std::optional<EventType> type = ParseEventType(engine_name);
          if (!type) {
            return Bad(origin, where,
                       StrCat("'", file_name, "' maps to '", engine_name,
                              "', not one of view, click, add_to_cart, purchase"));
          }
          out->event_types[file_name] = *type;
        }
      }
    } else {
      return Bad(origin, name,
                 StrCat("unknown key '", k,
                        "' (want delimiter, header, columns, constants, event_types)"));
    }
  }
  for (const auto& [field, column] : out->columns) {
    if (out->constants.contains(field)) {
      return Bad(origin, name, StrCat("'", field, "' is both a column and a constant"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view SourceKindName(SourceKind kind) {
  return kind == SourceKind::kEvents ? "events" : "purchases";
}

absl::StatusOr<Mapping> ParseMapping(std::string_view toml_text, std::string_view origin) {
  toml::table parsed;
  try {
    parsed = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        StrCat(origin, ":", e.source().begin.line, ": ", e.description()));
  }
  Mapping mapping;
  for (const auto& [key, node] : parsed) {
    const std::string_view k = key.str();
    SourceKind kind;
    if (k == "events") {
      kind = SourceKind::kEvents;
    } else if (k == "purchases") {
      kind = SourceKind::kPurchases;
    } else {
      return absl::InvalidArgumentError(
          StrCat(origin, ": unknown table [", k, "] (want [events] or [purchases])"));
    }
    const auto* table = node.as_table();
    if (table == nullptr) {
      return absl::InvalidArgumentError(StrCat(origin, ": '", k, "' must be a table"));
    }
    SourceMapping& out = kind == SourceKind::kEvents ? mapping.events : mapping.purchases;
    if (absl::Status s = ReadSource(*table, kind, origin, &out); !s.ok()) return s;
  }
  return mapping;
}

absl::StatusOr<Mapping> LoadMapping(const std::string& path) {
  // An ifstream opens a directory, and reads nothing from it.
  if (std::filesystem::is_directory(path)) {
    return absl::InvalidArgumentError(
        StrCat("cannot read mapping file ", path, ": a directory, not a file"));
  }
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(StrCat("cannot open mapping file ", path, ": ", strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseMapping(text.str(), path);
}

}  // namespace streamrec
