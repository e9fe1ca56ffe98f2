#pragma once
// Export: the six feature tables of a state directory (of a stopped server).
//
// The tables are computed the way `pipeline` computes them, from every event the state
// directory's log holds (the bootstrap files' records and every acknowledged event), in
// stream order. So for the same events they equal the pipeline's tables, including
// events that arrived live behind the watermark, which stream order puts in place.

#include <string>

#include "absl/status/statusor.h"
#include "engine/pipeline.h"

namespace streamrec {

struct ExportOptions {
  std::string state_dir;
  std::string out_dir;
  TableFormat format = TableFormat::kCsv;
  bool show_progress = false;
  int threads = 2;
  FeatureConfig features;
};

// Reads the log only (a torn tail is left in place, not exported, and logged as a
// warning). FailedPrecondition when a server holds the state directory, or when the log
// no longer starts at offset 0 (it was lost, and began again where a snapshot ends: the
// events before are in no log); NotFound when it has no log.
absl::StatusOr<PipelineSummary> ExportTables(const ExportOptions& options);

}  // namespace streamrec
