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

// The state tables, views of the operators' state: kAllFeatureTables after the two
// stream tables.
constexpr FeatureTable kStateTables[] = {FeatureTable::kUserProfiles, FeatureTable::kUserItemMatrix,
                                         FeatureTable::kUserFeatures, FeatureTable::kItemFeatures};

// Writes every row of each state table as of now into outs[t] (for kStateTables[t]):
// rows in dense user (item) id order, a user's matrix rows in its row's order (the same
// for the same input). Formatted in parts on `threads` threads; the tables are the same
// for any number of threads.
void WriteStateTables(const FeatureOperators& ops, const IdDictionary& ids,
                      std::span<TableWriter* const> outs, int threads);

}  // namespace streamrec
