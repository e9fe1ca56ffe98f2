#pragma once
// RecordLoader: reads whole input files (any format) into records, reporting every
// refused row to a callback. The shared front half of `pipeline` and of a server's
// bootstrap from files.
//
// Records get `seq` numbers in load order across every file of one loader, so load the
// files in the order their ties should break (the order given on the command line).
//
// A large CSV file is cut into chunks of a few MB at line breaks (outside quotes, if a
// cut fell inside a quoted field), which several threads take in file order as they
// come free, each thread with its own id dictionary; the chunks are joined in file
// order as they come in, by one thread at a time while the others decode (ids
// re-interned in first-seen order, seq renumbered), and their rejects are reported
// with their true lines in line order, so the result is exactly that of one thread. Files with
// event ids are read by one thread, because "the second event with an id is the duplicate" is a
// sequential rule.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/event.h"
#include "common/interner.h"
#include "io/mapping.h"
#include "io/row_decoder.h"
#include "io/row_source.h"

namespace streamrec {

struct InputFile {
  std::string path;
  SourceKind kind;
};

struct RejectedRow {
  std::string_view source;
  int64_t line;
  std::string_view reason;
};

struct LoadStats {
  int64_t rows_read = 0;  // rows seen, accepted or not
  int64_t rows_accepted = 0;
  int64_t rows_rejected = 0;
  int64_t duplicates = 0;  // events with an event_id seen before; ignored
};

struct LoaderOptions {
  bool strict = false;  // the first refused row ends Load() with an Aborted error
  int threads = 1;      // threads that decode a CSV file's chunks
  int64_t min_bytes_per_thread = 8 << 20;  // smaller files are read by one thread
  int64_t chunk_bytes = 8 << 20;           // a file read by threads is cut about so
  // Keep every accepted row's event_id, found by its records' seq (EventIdOf). The live
  // engine's first start logs them, so that a client's later retry of a bootstrapped
  // event is a duplicate.
  bool keep_event_ids = false;
};

class RecordLoader {
 public:
  using RejectFn = std::function<absl::Status(const RejectedRow&)>;
  using ProgressFn = std::function<void(int64_t bytes_done, int64_t bytes_total)>;

  // `ids` must outlive the loader. Refused rows go to `on_reject` in file and line
  // order; under options.strict the first one instead ends Load() with an Aborted
  // error naming source, line and reason.
  RecordLoader(const Mapping& mapping, IdDictionary* ids, LoaderOptions options, RejectFn on_reject)
      : mapping_(mapping), ids_(ids), options_(options), on_reject_(std::move(on_reject)) {}

  // Appends the file's records to `runs`, each run in file order: one run for a file
  // read by one thread; for a file read in chunks, one run per chunk when the file is
  // in stream order (StreamOrderLess), else one per thread. After an error, stats()
  // counts the files loaded before, and the dictionary may hold names of the failed
  // file: a load that failed is to be abandoned. A missing or unreadable file, a header
  // that the mapping cannot resolve, or an error from the reject callback is an error status.
  absl::Status Load(const InputFile& file, std::vector<RecordVector>* runs,
                    const ProgressFn& progress = {});

  const LoadStats& stats() const { return stats_; }

  // With options.keep_event_ids: the event_id of the row whose records have `seq`, or
  // empty when that row had none. Valid as long as the loader lives.
  std::string_view EventIdOf(uint32_t seq) const;

 private:
  absl::Status LoadWithThreads(const InputFile& file, std::vector<RecordVector>* runs,
                               const ProgressFn& progress, int threads, ChunkCuts cuts_at);

  const Mapping& mapping_;
  IdDictionary* ids_;
  LoaderOptions options_;
  RejectFn on_reject_;
  EventIdSet seen_event_ids_;
  std::vector<std::pair<uint32_t, std::string>> kept_event_ids_;  // by increasing seq
  uint32_t next_seq_ = 0;
  LoadStats stats_;
};

}  // namespace streamrec
