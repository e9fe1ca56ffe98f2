#include "engine/pipeline.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/status/status.h"
#include "common/bounded_queue.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "engine/progress.h"
#include "features/tables.h"
#include "io/mapping.h"
#include "stream/ordering.h"

namespace streamrec {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

absl::Status CheckReadable(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(StrCat("cannot read ", path, ": is a directory"));
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return absl::PermissionDeniedError(StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status PrepareOutputDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        StrCat("cannot create output folder ", dir, ": ", ec.message()));
  }
  if (!std::filesystem::is_directory(dir)) {
    return absl::FailedPreconditionError(StrCat("output ", dir, " is not a folder"));
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    return absl::PermissionDeniedError(
        StrCat("cannot write to output folder ", dir, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// rejected.csv, created at the first reject.
class RejectTable {
 public:
  explicit RejectTable(std::string dir) : dir_(std::move(dir)) {}

  absl::Status Add(const RejectedRow& r) {
    if (writer_ == nullptr) {
      static const Schema kSchema = {
          {"source", ColumnType::kText}, {"line", ColumnType::kInt}, {"reason", ColumnType::kText}};
      ASSIGN_OR_RETURN(writer_,
                       TableWriter::Create(dir_ + "/rejected", kSchema, TableFormat::kCsv));
    }
    writer_->Text(r.source);
    writer_->Int(r.line);
    writer_->Text(r.reason);
    writer_->EndRow();
    return absl::OkStatus();
  }

  absl::Status Close() { return writer_ == nullptr ? absl::OkStatus() : writer_->Close(); }

  // Renames rejected.csv into place, or removes a stale one from an earlier run.
  absl::Status Commit() {
    if (writer_ == nullptr) {
      std::error_code ec;
      std::filesystem::remove(dir_ + "/rejected.csv", ec);
      return absl::OkStatus();
    }
    return writer_->Commit();
  }

 private:
  std::string dir_;
  std::unique_ptr<TableWriter> writer_;
};

// Steps 2-4 for decoded records: event-time order, the operators in micro-batches, and
// the six tables (with `rejects`, when given) renamed into place together.
absl::Status WriteTables(std::vector<Run> runs, const IdDictionary& ids,
                         const PipelineOptions& options, Progress* progress, RejectTable* rejects,
                         PipelineSummary* summary) {
  // 2. Event-time order: sort the runs that need it; the merge happens batch by batch.
  Clock::time_point t = Clock::now();
  SortRuns(&runs, options.threads);
  summary->order_seconds = SecondsSince(t);

  // 3. The operators, in micro-batches, on this thread; a writer thread formats the
  // rows they emit (enriched events, completed sessions) while the next batches run.
  t = Clock::now();
  const std::string dir = options.out_dir + "/";
  auto create = [&](FeatureTable table) {
    return TableWriter::Create(dir + std::string(FeatureTableName(table)),
                               FeatureTableSchema(table), options.format);
  };
  ASSIGN_OR_RETURN(std::unique_ptr<TableWriter> enriched_out,
                   create(FeatureTable::kEnrichedEvents));
  ASSIGN_OR_RETURN(std::unique_ptr<TableWriter> sessions_out, create(FeatureTable::kSessions));
  FeatureOperators ops(options.features);
  size_t record_count = 0;
  for (const Run& run : runs) record_count += run.size();
  ops.Reserve(ids.users.size(), ids.items.size(), record_count);
  {
    // Output buffers circulate between the two threads, so they are allocated once.
    constexpr int kBuffers = 4;
    BoundedQueue<FeatureOutput> emitted(kBuffers);
    BoundedQueue<FeatureOutput> recycled(kBuffers);
    for (int i = 0; i < kBuffers; ++i) recycled.Push(FeatureOutput{});
    std::jthread writer([&] {
      FeatureOutput out;
      while (emitted.Pop(&out)) {
        for (const EnrichedEvent& e : out.enriched) WriteEnrichedEvent(e, ids, enriched_out.get());
        for (const CompletedSession& s : out.sessions) WriteSession(s, ids, sessions_out.get());
        out.Clear();
        recycled.Push(std::move(out));
      }
    });
    RunMerger merger(std::move(runs));
    std::vector<Record> batch;
    FeatureOutput out;
    recycled.Pop(&out);
    // Hand rows over in blocks of this many, whatever the chunk size.
    constexpr size_t kHandOffRows = 16384;
    while (merger.NextBatch(options.chunk_size, &batch)) {
      ops.Apply(batch, &out);
      if (out.enriched.size() + out.sessions.size() >= kHandOffRows) {
        emitted.Push(std::move(out));
        recycled.Pop(&out);
        progress->Update("applying", static_cast<int64_t>(merger.done()),
                         static_cast<int64_t>(merger.total()));
      }
    }
    ops.EmitOpenSessions(ids.users.size(), &out);
    emitted.Push(std::move(out));
    emitted.Close();
  }
  progress->Done();
  summary->records = ops.records_applied();
  summary->state_bytes = ops.MemoryBytes();
  summary->id_bytes = ids.users.MemoryBytes() + ids.items.MemoryBytes();

  // 4. The state tables (the matrix, the largest, on a second thread), then everything
  // renamed into place.
  std::vector<std::unique_ptr<TableWriter>> state_tables;
  for (FeatureTable table : {FeatureTable::kUserProfiles, FeatureTable::kUserItemMatrix,
                             FeatureTable::kUserFeatures, FeatureTable::kItemFeatures}) {
    ASSIGN_OR_RETURN(std::unique_ptr<TableWriter> w, create(table));
    state_tables.push_back(std::move(w));
  }
  {
    std::jthread matrix_writer(
        [&] { WriteStateTable(FeatureTable::kUserItemMatrix, ops, ids, state_tables[1].get()); });
    WriteStateTable(FeatureTable::kUserProfiles, ops, ids, state_tables[0].get());
    WriteStateTable(FeatureTable::kUserFeatures, ops, ids, state_tables[2].get());
    WriteStateTable(FeatureTable::kItemFeatures, ops, ids, state_tables[3].get());
  }
  // Commit: every table is completed under its temporary name first, so a failure
  // leaves the folder as it was; only then are they renamed into place together.
  std::vector<TableWriter*> all_tables = {enriched_out.get(), sessions_out.get()};
  for (auto& w : state_tables) all_tables.push_back(w.get());
  for (TableWriter* w : all_tables) RETURN_IF_ERROR(w->Close());
  if (rejects != nullptr) RETURN_IF_ERROR(rejects->Close());
  for (size_t i = 0; i < all_tables.size(); ++i) {
    RETURN_IF_ERROR(all_tables[i]->Commit());
    summary->tables.emplace_back(FeatureTableName(kAllFeatureTables[i]), all_tables[i]->rows());
  }
  if (rejects != nullptr) RETURN_IF_ERROR(rejects->Commit());
  summary->apply_seconds = SecondsSince(t);
  summary->users = static_cast<int64_t>(ids.users.size());
  summary->items = static_cast<int64_t>(ids.items.size());
  summary->pairs = static_cast<int64_t>(ops.user_item_matrix().pairs());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PipelineSummary> RunPipeline(const PipelineOptions& options) {
  const Clock::time_point start = Clock::now();
  if (options.event_files.empty() && options.purchase_files.empty()) {
    return absl::InvalidArgumentError("no input: give --events and/or --purchases files");
  }
  if (options.chunk_size == 0) return absl::InvalidArgumentError("--chunk-size must be at least 1");

  Mapping mapping;
  if (options.mapping_file) {
    ASSIGN_OR_RETURN(mapping, LoadMapping(*options.mapping_file));
  }
  std::vector<InputFile> inputs;
  for (const std::string& p : options.purchase_files) inputs.push_back({p, SourceKind::kPurchases});
  for (const std::string& p : options.event_files) inputs.push_back({p, SourceKind::kEvents});
  for (const InputFile& f : inputs) RETURN_IF_ERROR(CheckReadable(f.path));
  RETURN_IF_ERROR(PrepareOutputDir(options.out_dir));

  PipelineSummary summary;
  Progress progress(options.show_progress);

  // 1. Load and decode every file into runs (a file, or a part of one read in parallel).
  IdDictionary ids;
  RejectTable rejects(options.out_dir);
  const LoaderOptions loader_options{.strict = options.strict,
                                     .threads = options.threads,
                                     .min_bytes_per_thread = options.min_bytes_per_read_thread};
  RecordLoader loader(mapping, &ids, loader_options,
                      [&](const RejectedRow& r) { return rejects.Add(r); });
  std::vector<Run> runs;
  for (const InputFile& f : inputs) {
    const std::string stage = StrCat("reading ", f.path);
    RETURN_IF_ERROR(loader.Load(
        f, &runs, [&](int64_t done, int64_t total) { progress.Update(stage, done, total); }));
  }
  progress.Done();
  summary.load = loader.stats();
  summary.read_seconds = SecondsSince(start);

  RETURN_IF_ERROR(WriteTables(std::move(runs), ids, options, &progress, &rejects, &summary));
  summary.total_seconds = SecondsSince(start);
  return summary;
}

absl::StatusOr<PipelineSummary> WriteFeatureTables(std::vector<Run> runs, const IdDictionary& ids,
                                                   const PipelineOptions& options) {
  const Clock::time_point start = Clock::now();
  RETURN_IF_ERROR(PrepareOutputDir(options.out_dir));
  PipelineSummary summary;
  Progress progress(options.show_progress);
  RETURN_IF_ERROR(WriteTables(std::move(runs), ids, options, &progress, nullptr, &summary));
  summary.total_seconds = SecondsSince(start);
  return summary;
}

}  // namespace streamrec
