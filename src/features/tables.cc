#include "features/tables.h"

#include <algorithm>
#include <iterator>
#include <vector>

#include "common/check.h"

namespace streamrec {
namespace {

using enum ColumnType;

// The state tables' rows of users (or items) [begin, end), in id order.

void WriteUserProfiles(const FeatureOperators& ops, const IdDictionary& ids, uint32_t begin,
                       uint32_t end, TableWriter* out) {
  for (uint32_t u = begin; u < end; ++u) {
    const UserIdx user(u);
    const Session* open = ops.sessionizer().Current(user);
    if (open == nullptr) continue;  // purchases only: no session, no profile
    const UserProfile p = ops.user_profiles().Profile(user, *open);
    out->Text(ids.users.Name(user));
    out->Int(p.total_sessions);
    out->Double(p.avg_clicks_per_session);
    out->Double(p.avg_views_per_session);
    out->Double(p.avg_session_length);
    out->Double(p.avg_time_gap);
    out->NullableDouble(p.avg_purchase_amount);
    out->Int(p.max_past_purchases);
    out->Int(p.last_session_clicks);
    out->Int(p.last_session_views);
    out->Double(p.last_session_length);
    out->Text(EventTypeName(p.last_session_event));
    out->EndRow();
  }
}

void WriteUserItemMatrix(const FeatureOperators& ops, const IdDictionary& ids, uint32_t begin,
                         uint32_t end, TableWriter* out) {
  const UserItemMatrix& m = ops.user_item_matrix();
  // Rows by user id (as UserItemMatrix::ForEach), loaded kRowsAhead rows ahead; a row's
  // items are scattered over the item name index, so their entries are loaded first.
  constexpr uint32_t kRowsAhead = 4;
  for (uint32_t u = begin; u < end; ++u) {
    const UserIdx user(u);
    if (u + kRowsAhead < end) m.PrefetchRow(UserIdx(u + kRowsAhead));
    m.ForEachInRow(user, [&](ItemIdx item, const Interaction&) { ids.items.PrefetchEntry(item); });
    m.ForEachInRow(user, [&](ItemIdx item, const Interaction& c) {
      out->Text(ids.users.Name(user));
      out->Text(ids.items.Name(item));
      out->Int(c.purchase_count);
      out->Double(c.total_spent);
      out->Int(c.engagement.views);
      out->Int(c.engagement.clicks);
      out->Int(c.engagement.add_to_cart);
      out->Double(m.Score(c));
      out->EndRow();
    });
  }
}

void WriteUserFeatures(const FeatureOperators& ops, const IdDictionary& ids, uint32_t begin,
                       uint32_t end, TableWriter* out) {
  for (uint32_t u = begin; u < end; ++u) {
    const UserIdx user(u);
    const PurchaseTotals p = ops.purchase_history().Totals(user);
    const EngagementCounts e = ops.user_engagement(user);
    out->Text(ids.users.Name(user));
    out->Int(p.count);
    out->Double(p.amount);
    out->NullableDouble(p.Average());
    out->Int(e.views);
    out->Int(e.clicks);
    out->Int(e.add_to_cart);
    out->EndRow();
  }
}

void WriteItemFeatures(const FeatureOperators& ops, const IdDictionary& ids, uint32_t begin,
                       uint32_t end, TableWriter* out) {
  for (uint32_t i = begin; i < end; ++i) {
    const ItemIdx item(i);
    const ItemAggregate a = ops.item_features().Get(item);
    out->Text(ids.items.Name(item));
    out->Int(a.sales);
    out->Double(a.revenue);
    out->NullableDouble(a.sales > 0 ? std::optional<double>(a.revenue / a.sales) : std::nullopt);
    out->Int(a.engagement.views);
    out->Int(a.engagement.clicks);
    out->Int(a.engagement.add_to_cart);
    out->EndRow();
  }
}

}  // namespace

std::string_view FeatureTableName(FeatureTable table) {
  switch (table) {
    case FeatureTable::kEnrichedEvents:
      return "enriched_events";
    case FeatureTable::kSessions:
      return "sessions";
    case FeatureTable::kUserProfiles:
      return "user_profiles";
    case FeatureTable::kUserItemMatrix:
      return "user_item_matrix";
    case FeatureTable::kUserFeatures:
      return "user_features";
    case FeatureTable::kItemFeatures:
      return "item_features";
  }
  return "?";
}

const Schema& FeatureTableSchema(FeatureTable table) {
  static const Schema kEnriched = {{"user_id", kText},
                                   {"item_id", kText},
                                   {"event_type", kText},
                                   {"timestamp", kTime},
                                   {"avg_purchase_amount", kDouble},
                                   {"past_purchases", kInt}};
  static const Schema kSessions = {{"user_id", kText},
                                   {"session_index", kInt},
                                   {"session_start", kTime},
                                   {"session_end", kTime},
                                   {"num_events", kInt},
                                   {"num_views", kInt},
                                   {"num_clicks", kInt},
                                   {"num_add_to_cart", kInt},
                                   {"num_purchases", kInt},
                                   {"session_length", kDouble},
                                   {"avg_time_gap", kDouble},
                                   {"last_event", kText},
                                   {"avg_purchase_amount", kDouble},
                                   {"past_purchases", kInt}};
  static const Schema kProfiles = {{"user_id", kText},
                                   {"total_sessions", kInt},
                                   {"avg_clicks_per_session", kDouble},
                                   {"avg_views_per_session", kDouble},
                                   {"avg_session_length", kDouble},
                                   {"avg_time_gap", kDouble},
                                   {"avg_purchase_amount", kDouble},
                                   {"max_past_purchases", kInt},
                                   {"last_session_clicks", kInt},
                                   {"last_session_views", kInt},
                                   {"last_session_length", kDouble},
                                   {"last_session_event", kText}};
  static const Schema kMatrix = {{"user_id", kText},        {"item_id", kText},
                                 {"purchase_count", kInt},  {"total_spent", kDouble},
                                 {"num_views", kInt},       {"num_clicks", kInt},
                                 {"num_add_to_cart", kInt}, {"interaction_score", kDouble}};
  static const Schema kUsers = {{"user_id", kText},       {"total_purchases", kInt},
                                {"total_spent", kDouble}, {"avg_spent", kDouble},
                                {"num_views", kInt},      {"num_clicks", kInt},
                                {"num_add_to_cart", kInt}};
  static const Schema kItems = {
      {"item_id", kText},  {"total_sales", kInt}, {"revenue", kDouble},     {"avg_price", kDouble},
      {"num_views", kInt}, {"num_clicks", kInt},  {"num_add_to_cart", kInt}};
  switch (table) {
    case FeatureTable::kEnrichedEvents:
      return kEnriched;
    case FeatureTable::kSessions:
      return kSessions;
    case FeatureTable::kUserProfiles:
      return kProfiles;
    case FeatureTable::kUserItemMatrix:
      return kMatrix;
    case FeatureTable::kUserFeatures:
      return kUsers;
    case FeatureTable::kItemFeatures:
      return kItems;
  }
  return kItems;
}

namespace {

// Rows name users and items in stream order, so each name is two cache misses (see
// Interner::PrefetchEntry): prefetched this many rows ahead, and half as many.
constexpr size_t kNamesAhead = 16;

template <typename Row, typename WriteRow>
void WriteRowsPrefetchingNames(std::span<const Row> rows, const IdDictionary& ids,
                               WriteRow write_row) {
  constexpr bool kHasItem = requires(const Row& r) { r.item; };
  const size_t n = rows.size();
  for (size_t i = 0; i < n; ++i) {
    if (i + kNamesAhead < n) {
      ids.users.PrefetchEntry(rows[i + kNamesAhead].user);
      if constexpr (kHasItem) ids.items.PrefetchEntry(rows[i + kNamesAhead].item);
    }
    if (i + kNamesAhead / 2 < n) {
      ids.users.PrefetchName(rows[i + kNamesAhead / 2].user);
      if constexpr (kHasItem) ids.items.PrefetchName(rows[i + kNamesAhead / 2].item);
    }
    write_row(rows[i]);
  }
}

void WriteEnrichedEvent(const EnrichedEvent& e, const IdDictionary& ids, TableWriter* out) {
  out->Text(ids.users.Name(e.user));
  out->Text(ids.items.Name(e.item));
  out->Text(EventTypeName(e.type));
  out->Time(e.time);
  out->NullableDouble(e.history.Average());
  out->Int(e.history.count);
  out->EndRow();
}

void WriteSession(const CompletedSession& cs, const IdDictionary& ids, TableWriter* out) {
  const Session& s = cs.session;
  out->Text(ids.users.Name(cs.user));
  out->Int(s.index);
  out->Time(s.start);
  out->Time(s.end);
  out->Int(s.num_events);
  out->Int(s.count(EventType::kView));
  out->Int(s.count(EventType::kClick));
  out->Int(s.count(EventType::kAddToCart));
  out->Int(s.count(EventType::kPurchase));
  out->Double(s.LengthSeconds());
  out->Double(s.AverageGapSeconds());
  out->Text(EventTypeName(s.last_event));
  out->NullableDouble(s.history_at_end.Average());
  out->Int(s.history_at_end.count);
  out->EndRow();
}

}  // namespace

void WriteEnrichedEvents(std::span<const EnrichedEvent> events, const IdDictionary& ids,
                         TableWriter* out) {
  WriteRowsPrefetchingNames(events, ids,
                            [&](const EnrichedEvent& e) { WriteEnrichedEvent(e, ids, out); });
}

void WriteSessions(std::span<const CompletedSession> sessions, const IdDictionary& ids,
                   TableWriter* out) {
  WriteRowsPrefetchingNames(sessions, ids,
                            [&](const CompletedSession& s) { WriteSession(s, ids, out); });
}

void WriteStateTables(const FeatureOperators& ops, const IdDictionary& ids,
                      std::span<TableWriter* const> outs, int threads) {
  STREAMREC_CHECK(outs.size() == std::size(kStateTables)) << outs.size();
  // Parts of this many users (items): a matrix part is about 3,500 rows, 0.2 MB, so a
  // fragment stays in cache between its formatting and its copy into the file (parts of
  // 8,192 users, 6 MB each, were no faster than the matrix alone on one thread).
  constexpr uint32_t kIdsPerPart = 256;
  // Each state table with the function that writes its rows of ids [begin, end), the
  // matrix first: the largest by far, so that the small tables' parts fill the end while
  // the last matrix parts are formatted.
  struct RowWriter {
    FeatureTable table;
    void (*write_rows)(const FeatureOperators&, const IdDictionary&, uint32_t, uint32_t,
                       TableWriter*);
    bool by_item;
  };
  constexpr RowWriter kWriteOrder[] = {{FeatureTable::kUserItemMatrix, WriteUserItemMatrix, false},
                                       {FeatureTable::kUserProfiles, WriteUserProfiles, false},
                                       {FeatureTable::kUserFeatures, WriteUserFeatures, false},
                                       {FeatureTable::kItemFeatures, WriteItemFeatures, true}};
  static_assert(std::size(kWriteOrder) == std::size(kStateTables));
  std::vector<TableInParts> tables;
  for (const RowWriter& w : kWriteOrder) {
    const auto at = std::find(std::begin(kStateTables), std::end(kStateTables), w.table);
    TableWriter* out = outs[static_cast<size_t>(at - std::begin(kStateTables))];
    const auto ids_count = static_cast<uint32_t>(w.by_item ? ids.items.size() : ids.users.size());
    auto write_part = [&ops, &ids, write_rows = w.write_rows, ids_count](size_t part,
                                                                         TableWriter* fragment) {
      const auto begin = static_cast<uint32_t>(part * kIdsPerPart);
      write_rows(ops, ids, begin, std::min(ids_count, begin + kIdsPerPart), fragment);
    };
    tables.push_back(TableInParts{out, (ids_count + kIdsPerPart - 1) / kIdsPerPart, write_part});
  }
  WriteTablesInParts(tables, threads);
}

}  // namespace streamrec
