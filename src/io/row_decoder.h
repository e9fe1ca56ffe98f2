#pragma once
// Turns rows of text fields into validated records, with a precise reason for every
// row it refuses. The one place where input is checked, whatever the file format.
//
// Contract: a refused row changes nothing (no id is interned, no event id is
// remembered). An accepted clickstream row becomes one kEvent record, and a purchase
// event becomes a kPurchase record (its amount) plus a kEvent record of type purchase,
// both with the same time and seq. An accepted purchase row becomes one kPurchase.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/event.h"
#include "common/interner.h"
#include "common/strings.h"
#include "io/mapping.h"
#include "io/row_source.h"

namespace streamrec {

enum class DecodeOutcome {
  kAccepted,   // records were appended
  kDuplicate,  // an event whose event_id was seen before; ignored
  kRejected,   // `reason` says why
};

// Event ids seen so far, shared by every events source of one run.
using EventIdSet = StringSet;

class RowDecoder {
 public:
  // Resolves every engine field against `columns` (explicit mapping, then constants,
  // then the default column names). Errors name the source and the field.
  static absl::StatusOr<RowDecoder> Create(SourceKind kind, const SourceMapping& mapping,
                                           const std::vector<std::string>& columns,
                                           std::string_view source_name);

  // The file columns a JSON Lines source should extract for this mapping.
  static std::vector<std::string> WantedColumns(SourceKind kind, const SourceMapping& mapping);

  // True when rows carry an event_id, so duplicates must be found in input order.
  bool reads_event_ids() const { return fields_[kEventId].present; }

  // The row's event_id text exactly as Decode reads it; empty when the row or the
  // source has none, or it is only spaces (missing, as for the other ids).
  // REQUIRES: `row` has every column (Decode did not refuse it for its field count).
  std::string_view EventIdText(const Row& row) const;

  // Starts loading what interning the row's user and item will probe (the id tables
  // of millions of names miss the cache): a reader calls it some rows ahead of Decode.
  // A row of the wrong width is left alone (Decode refuses it).
  void PrefetchIds(const Row& row, const IdDictionary& ids) const {
    if (row.fields.size() != column_count_) return;
    ids.users.Prefetch(Get(row, kUser));
    ids.items.Prefetch(Get(row, kItem));
  }

  // Appends the row's records to `out` (any vector of Record).
  template <typename RecordVec>
  DecodeOutcome Decode(const Row& row, uint32_t seq, IdDictionary* ids, EventIdSet* seen_event_ids,
                       RecordVec* out, std::string* reason) const {
    Record records[2];
    int n = 0;
    const DecodeOutcome outcome = DecodeInto(row, seq, ids, seen_event_ids, records, &n, reason);
    out->insert(out->end(), records, records + n);
    return outcome;
  }

 private:
  // Where an engine field's text comes from: a column index, or a constant. A field
  // read from default column names may have several candidate columns (purchases:
  // purchase_date, then timestamp); per row the first that is not blank is used.
  static constexpr int kMaxFallbacks = 3;
  struct FieldSource {
    int column = -1;  // the first candidate column; -1 for a constant or an absent field
    int fallback_count = 0;
    int fallbacks[kMaxFallbacks] = {};  // the other candidate columns, in order
    std::string constant;               // empty when the field is absent
    bool present = false;
  };
  enum Field { kUser, kItem, kType, kTime, kAmount, kEventId, kOffset, kFieldCount };

  // Writes 0, 1 or 2 records to `out` and their number to `*n`.
  DecodeOutcome DecodeInto(const Row& row, uint32_t seq, IdDictionary* ids,
                           EventIdSet* seen_event_ids, Record out[2], int* n,
                           std::string* reason) const;

  // Inlined: it runs for every field of every row (10M rows per benchmark).
  [[gnu::always_inline]] std::string_view Get(const Row& row, Field f) const {
    const FieldSource& s = fields_[f];
    if (s.column < 0) return s.constant;
    const std::string_view v = row.fields[s.column];
    if (s.fallback_count == 0) [[likely]]
      return v;
    return GetFallback(row, s, v);
  }
  // `first` (the first candidate's text) when it is not blank, else the first later
  // candidate that is not blank, else `first`.
  static std::string_view GetFallback(const Row& row, const FieldSource& s, std::string_view first);

  SourceKind kind_ = SourceKind::kEvents;
  size_t column_count_ = 0;
  FieldSource fields_[kFieldCount];
  StringMap<EventType> event_types_;
};

}  // namespace streamrec
