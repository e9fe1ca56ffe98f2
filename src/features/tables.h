#pragma once
// The table views: the six feature tables of spec/seed-tables.md, their schemas, and
// how rows of the operators' output and state are written with external ids.

#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/interner.h"
#include "features/feature_operators.h"
#include "io/table_writer.h"

namespace streamrec {

enum class FeatureTable {
  kEnrichedEvents,
  kSessions,
  kUserProfiles,
  kUserItemMatrix,
  kUserFeatures,
  kItemFeatures,
};
constexpr FeatureTable kAllFeatureTables[] = {
    FeatureTable::kEnrichedEvents, FeatureTable::kSessions,     FeatureTable::kUserProfiles,
    FeatureTable::kUserItemMatrix, FeatureTable::kUserFeatures, FeatureTable::kItemFeatures};

std::string_view FeatureTableName(FeatureTable table);  // e.g. "enriched_events"
const Schema& FeatureTableSchema(FeatureTable table);

// Stream tables: rows as the operators emit them, in the order given.
void WriteEnrichedEvents(std::span<const EnrichedEvent> events, const IdDictionary& ids,
                         TableWriter* out);
void WriteSessions(std::span<const CompletedSession> sessions, const IdDictionary& ids,
                   TableWriter* out);

// State tables: every row of the table as of now; user and item tables in dense id order,
// the matrix in its table order (the same for the same input).
// REQUIRES: `table` is one of kUserProfiles, kUserItemMatrix, kUserFeatures, kItemFeatures.
void WriteStateTable(FeatureTable table, const FeatureOperators& ops, const IdDictionary& ids,
                     TableWriter* out);

}  // namespace streamrec
