#pragma once
// Input files for the batch commands (pipeline, train, evaluate): purchase and event
// files decoded through one mapping into records with dense ids, every refused row
// listed in <reject_dir>/rejected.csv (source, line, reason), as `pipeline` does.
//
// Contract: rejected.csv appears only once Commit() is called, and only if a row was
// refused; Commit() removes a stale one from an earlier run. Purchase files are loaded
// first, then event files, each in the order given (their records' seq follows it).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/interner.h"
#include "engine/progress.h"
#include "io/record_loader.h"
#include "io/table_writer.h"
#include "stream/ordering.h"

namespace streamrec {

// NotFound, FailedPrecondition (a folder) or PermissionDenied naming the path.
absl::Status CheckReadable(const std::string& path);
// Creates the folder; PermissionDenied or FailedPrecondition naming it.
absl::Status PrepareOutputDir(const std::string& dir);

// <dir>/<name>.csv (rejected.csv by default), created at the first reject.
class RejectTable {
 public:
  explicit RejectTable(std::string dir, std::string name = "rejected")
      : dir_(std::move(dir)), name_(std::move(name)) {}
  absl::Status Add(const RejectedRow& r);
  int64_t rows() const { return rows_; }
  absl::Status Close();
  // Renames the file into place, or removes a stale one from an earlier run.
  absl::Status Commit();

 private:
  std::string dir_;
  std::string name_;
  std::unique_ptr<TableWriter> writer_;
  int64_t rows_ = 0;
};

struct InputOptions {
  std::vector<std::string> event_files;
  std::vector<std::string> purchase_files;
  std::optional<std::string> mapping_file;
  std::string reject_dir;                // where rejected.csv goes; created if missing
  std::string reject_name = "rejected";  // its name, without .csv
  bool strict = false;                   // the first refused row is an Aborted error
  int threads = 2;
  int64_t min_bytes_per_read_thread = 8 << 20;
};

struct LoadedInputs {
  IdDictionary ids;
  std::vector<Run> runs;          // purchase files' runs first, then event files'
  size_t purchase_file_runs = 0;  // how many of `runs` came from purchase files
  // Per file in load order (purchase files, then event files): the end of its runs in
  // `runs`; file f's runs are [file_run_end[f - 1], file_run_end[f]).
  std::vector<size_t> file_run_end;
  LoadStats stats;
  std::unique_ptr<RejectTable> rejects;  // Close() and Commit() when done
};

// Errors: InvalidArgument when no file is given or the mapping is bad; the errors of
// CheckReadable and PrepareOutputDir; Aborted for the first bad row under `strict`.
absl::StatusOr<LoadedInputs> LoadInputFiles(const InputOptions& options, Progress* progress);

}  // namespace streamrec
