#pragma once
// Deterministic synthetic data in the seed's shapes, behind `streamrec generate`.
//
// GenerateDataset writes three tables into one folder:
//   history.{parquet|csv}  user_id,item_id,purchase_amount,purchase_date
//   purchases.csv          user_id,item_id,purchase_amount,timestamp
//   events.csv             user_id,item_id,event_type,timestamp,amount
// The structure of the data (popularity, sessions, clusters, funnel, time ranges) and
// its fixed parameters are described in README.md beside this file.
//
// Determinism: the same options give byte-identical files on the same platform. All
// randomness comes from xoshiro256** streams seeded from `seed` per purpose and per user;
// no std distribution is used, so the standard library version does not change the
// output. Prices go through libm exp/log and are rounded to cents.
//
// Cost: time is linear in users + items + events; memory is about 8 bytes per event plus
// about 25 bytes per user and item and 5 MB of per-second buckets (events are bucketed by
// second of the window, never sorted).
//
// Thread safety: GenerateDataset is reentrant; concurrent calls must use different folders.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "io/table_writer.h"

namespace streamrec {

struct GeneratorOptions {
  int64_t users = 10000;    // distinct user ids 0..users-1 (not all need to be active)
  int64_t items = 1000;     // distinct item ids 0..items-1
  int64_t events = 100000;  // exact number of rows in events.csv
  uint64_t seed = 42;
  TableFormat history_format = TableFormat::kParquet;  // history.parquet, or history.csv for kCsv
};

// Upper bound for users, items and events (ids are packed into 31 bits, event positions
// into 32).
constexpr int64_t kMaxGeneratorCount = int64_t{1} << 31;

// Returns InvalidArgument naming the offending field unless 1 <= users, items, events
// <= kMaxGeneratorCount.
absl::Status ValidateGeneratorOptions(const GeneratorOptions& options);

// Writes DIR/history.{parquet|csv}, DIR/purchases.csv and DIR/events.csv, creating DIR
// (and its parents) if missing. Each table appears under its final name only once it is
// complete (TableWriter's temporary name + rename). Sizes: exactly `events` events,
// max(1, events / 4) history rows, max(1, events / 20) purchases.
// Errors: InvalidArgument for bad options or an empty `out_dir`; the file system's error
// for I/O failures.
absl::Status GenerateDataset(const GeneratorOptions& options, const std::string& out_dir);

}  // namespace streamrec
