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
#include "engine/input_files.h"
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
  std::vector<std::unique_ptr<TableWriter>> state_tables;
  std::vector<TableWriter*> state_outs;
  {
    // Output buffers circulate between the two threads, so they are allocated once.
    constexpr int kBuffers = 4;
    BoundedQueue<FeatureOutput> emitted(kBuffers);
    BoundedQueue<FeatureOutput> recycled(kBuffers);
    for (int i = 0; i < kBuffers; ++i) recycled.Push(FeatureOutput{});
    std::jthread writer([&] {
      FeatureOutput out;
      while (emitted.Pop(&out)) {
        WriteEnrichedEvents(out.enriched, ids, enriched_out.get());
        WriteSessions(out.sessions, ids, sessions_out.get());
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
    progress->Done();
    summary->apply_seconds = SecondsSince(t);
    t = Clock::now();

    // 4. The state tables, final now, formatted in parts on every thread while the
    // writer formats the last rows of the stream tables (the open sessions, one per
    // user); then everything is renamed into place.
    for (FeatureTable table : kStateTables) {
      ASSIGN_OR_RETURN(std::unique_ptr<TableWriter> w, create(table));
      state_outs.push_back(w.get());
      state_tables.push_back(std::move(w));
    }
    WriteStateTables(ops, ids, state_outs, options.threads);
  }
  summary->records = ops.records_applied();
  summary->state_bytes = ops.MemoryBytes();
  summary->id_bytes = ids.users.MemoryBytes() + ids.items.MemoryBytes();
  // Commit: every table is completed under its temporary name first, so a failure
  // leaves the folder as it was; only then are they renamed into place together.
  // In the order of kAllFeatureTables: the stream tables, then the state tables.
  std::vector<TableWriter*> all_tables = {enriched_out.get(), sessions_out.get()};
  all_tables.insert(all_tables.end(), state_outs.begin(), state_outs.end());
  for (TableWriter* w : all_tables) RETURN_IF_ERROR(w->Close());
  if (rejects != nullptr) RETURN_IF_ERROR(rejects->Close());
  for (size_t i = 0; i < all_tables.size(); ++i) {
    RETURN_IF_ERROR(all_tables[i]->Commit());
    summary->tables.emplace_back(FeatureTableName(kAllFeatureTables[i]), all_tables[i]->rows());
  }
  if (rejects != nullptr) RETURN_IF_ERROR(rejects->Commit());
  summary->state_tables_seconds = SecondsSince(t);
  summary->users = static_cast<int64_t>(ids.users.size());
  summary->items = static_cast<int64_t>(ids.items.size());
  summary->pairs = static_cast<int64_t>(ops.user_item_matrix().pairs());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PipelineSummary> RunPipeline(const PipelineOptions& options) {
  const Clock::time_point start = Clock::now();
  if (options.chunk_size == 0) return absl::InvalidArgumentError("--chunk-size must be at least 1");

  PipelineSummary summary;
  Progress progress(options.show_progress);

  // 1. Load and decode every file into runs (a file, or a chunk of one read in parallel).
  ASSIGN_OR_RETURN(LoadedInputs inputs,
                   LoadInputFiles({.event_files = options.event_files,
                                   .purchase_files = options.purchase_files,
                                   .mapping_file = options.mapping_file,
                                   .reject_dir = options.out_dir,
                                   .strict = options.strict,
                                   .threads = options.threads,
                                   .min_bytes_per_read_thread = options.min_bytes_per_read_thread},
                                  &progress));
  summary.load = inputs.stats;
  summary.read_seconds = SecondsSince(start);

  RETURN_IF_ERROR(WriteTables(std::move(inputs.runs), inputs.ids, options, &progress,
                              inputs.rejects.get(), &summary));
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
