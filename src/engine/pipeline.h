#pragma once
// The batch pipeline: purchase history and clickstream files in, the six feature tables
// out. It is the live engine's path replayed: records are loaded and decoded, put
// into stream order, and pushed through FeatureOperators in micro-batches.
//
// Contract: the tables do not depend on input order or chunk size. Rejected rows change
// no table and are listed in <out>/rejected.csv. Every table is written under a
// temporary name and renamed into place only when complete.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "features/feature_operators.h"
#include "io/record_loader.h"
#include "io/table_writer.h"
#include "stream/ordering.h"

namespace streamrec {

struct PipelineOptions {
  std::vector<std::string> event_files;
  std::vector<std::string> purchase_files;
  std::string out_dir;
  TableFormat format = TableFormat::kCsv;
  size_t chunk_size = 4096;
  std::optional<std::string> mapping_file;
  bool strict = false;
  bool show_progress = false;
  // Threads for reading, sorting and writing; the operators run on one thread.
  int threads = 2;
  int64_t min_bytes_per_read_thread = 8 << 20;  // smaller files are read by one thread
  FeatureConfig features;
};

struct PipelineSummary {
  LoadStats load;
  int64_t records = 0;  // records through the operators (a purchase event counts twice)
  std::vector<std::pair<std::string, int64_t>> tables;  // name, rows written
  int64_t users = 0;
  int64_t items = 0;
  int64_t pairs = 0;
  FeatureOperators::StateBytes state_bytes;  // operator state, by key
  size_t id_bytes = 0;                       // the two id dictionaries with their names
  double read_seconds = 0;
  double order_seconds = 0;
  double apply_seconds = 0;  // operators, enriched_events and sessions written alongside
  // The four state tables (while the stream tables' last rows are written), and every
  // table committed.
  double state_tables_seconds = 0;
  double total_seconds = 0;
};

// Errors: kNotFound / kPermissionDenied / kFailedPrecondition for inputs and outputs that
// cannot be read or written, kInvalidArgument for a bad mapping or header, kAborted for
// the first bad row under `strict`.
absl::StatusOr<PipelineSummary> RunPipeline(const PipelineOptions& options);

// The pipeline after decoding, for records from elsewhere (a state directory's event
// log): orders `runs` (input order = the order of records across runs, then seq),
// applies them and writes the six tables to options.out_dir. Files and mapping in
// `options` are ignored.
absl::StatusOr<PipelineSummary> WriteFeatureTables(std::vector<Run> runs, const IdDictionary& ids,
                                                   const PipelineOptions& options);

}  // namespace streamrec
