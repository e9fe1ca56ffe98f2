#include "engine/pipeline.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "absl/status/status.h"
#include "common/strings.h"
#include "common/status_macros.h"
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
      ASSIGN_OR_RETURN(writer_, TableWriter::Create(dir_ + "/rejected", kSchema, TableFormat::kCsv));
    }
    writer_->Text(r.source);
    writer_->Int(r.line);
    writer_->Text(r.reason);
    writer_->EndRow();
    return absl::OkStatus();
  }

  // Renames rejected.csv into place, or removes a stale one from an earlier run.
  absl::Status Finish() {
    if (writer_ == nullptr) {
      std::filesystem::remove(dir_ + "/rejected.csv");
      return absl::OkStatus();
    }
    return writer_->Finish();
  }

 private:
  std::string dir_;
  std::unique_ptr<TableWriter> writer_;
};

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

  // 1. Load and decode every file; each file is one run of the merge.
  IdDictionary ids;
  RejectTable rejects(options.out_dir);
  RecordLoader loader(mapping, &ids, options.strict,
                      [&](const RejectedRow& r) { return rejects.Add(r); });
  std::vector<Record> records;
  std::vector<size_t> run_ends;
  for (const InputFile& f : inputs) {
    const std::string stage = StrCat("reading ", f.path);
    RETURN_IF_ERROR(loader.Load(f, &records, [&](int64_t done, int64_t total) {
      progress.Update(stage, done, total);
    }));
    run_ends.push_back(records.size());
  }
  progress.Done();
  summary.load = loader.stats();
  summary.read_seconds = SecondsSince(start);

  // 2. Event-time order.
  Clock::time_point t = Clock::now();
  SortIntoStreamOrder(&records, run_ends);
  summary.order_seconds = SecondsSince(t);

  // 3. The operators, in micro-batches; stream tables are written as rows are emitted.
  t = Clock::now();
  const std::string dir = options.out_dir + "/";
  auto create = [&](FeatureTable table) {
    return TableWriter::Create(dir + std::string(FeatureTableName(table)),
                               FeatureTableSchema(table), options.format);
  };
  ASSIGN_OR_RETURN(std::unique_ptr<TableWriter> enriched_out, create(FeatureTable::kEnrichedEvents));
  ASSIGN_OR_RETURN(std::unique_ptr<TableWriter> sessions_out, create(FeatureTable::kSessions));
  FeatureOperators ops(options.features);
  FeatureOutput out;
  auto drain = [&] {
    for (const EnrichedEvent& e : out.enriched) WriteEnrichedEvent(e, ids, enriched_out.get());
    for (const CompletedSession& s : out.sessions) WriteSession(s, ids, sessions_out.get());
    out.Clear();
  };
  const std::span<const Record> all(records);
  for (size_t at = 0; at < all.size(); at += options.chunk_size) {
    ops.Apply(all.subspan(at, std::min(options.chunk_size, all.size() - at)), &out);
    drain();
    progress.Update("applying", static_cast<int64_t>(at), static_cast<int64_t>(all.size()));
  }
  ops.EmitOpenSessions(ids.users.size(), &out);
  drain();
  progress.Done();
  summary.records = static_cast<int64_t>(records.size());
  summary.state_bytes = ops.MemoryBytes() + ids.users.MemoryBytes() + ids.items.MemoryBytes();
  records.clear();
  records.shrink_to_fit();

  // 4. The state tables, then everything renamed into place.
  std::vector<std::unique_ptr<TableWriter>> state_tables;
  for (FeatureTable table : {FeatureTable::kUserProfiles, FeatureTable::kUserItemMatrix,
                             FeatureTable::kUserFeatures, FeatureTable::kItemFeatures}) {
    ASSIGN_OR_RETURN(std::unique_ptr<TableWriter> w, create(table));
    WriteStateTable(table, ops, ids, w.get());
    state_tables.push_back(std::move(w));
  }
  std::vector<TableWriter*> all_tables = {enriched_out.get(), sessions_out.get()};
  for (auto& w : state_tables) all_tables.push_back(w.get());
  for (size_t i = 0; i < all_tables.size(); ++i) {
    RETURN_IF_ERROR(all_tables[i]->Finish());
    summary.tables.emplace_back(FeatureTableName(kAllFeatureTables[i]), all_tables[i]->rows());
  }
  RETURN_IF_ERROR(rejects.Finish());
  summary.apply_seconds = SecondsSince(t);
  summary.users = static_cast<int64_t>(ids.users.size());
  summary.items = static_cast<int64_t>(ids.items.size());
  summary.pairs = static_cast<int64_t>(ops.user_item_matrix().pairs());
  summary.total_seconds = SecondsSince(start);
  return summary;
}

}  // namespace streamrec
