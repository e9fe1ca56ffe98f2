#include "engine/input_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/status_macros.h"
#include "common/strings.h"
#include "io/mapping.h"

namespace streamrec {

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

absl::Status RejectTable::Add(const RejectedRow& r) {
  if (writer_ == nullptr) {
    static const Schema kSchema = {
        {"source", ColumnType::kText}, {"line", ColumnType::kInt}, {"reason", ColumnType::kText}};
    ASSIGN_OR_RETURN(writer_, TableWriter::Create(dir_ + "/" + name_, kSchema, TableFormat::kCsv));
  }
  writer_->Text(r.source);
  writer_->Int(r.line);
  writer_->Text(r.reason);
  writer_->EndRow();
  ++rows_;
  return absl::OkStatus();
}

absl::Status RejectTable::Close() {
  return writer_ == nullptr ? absl::OkStatus() : writer_->Close();
}

absl::Status RejectTable::Commit() {
  if (writer_ == nullptr) {
    std::error_code ec;
    std::filesystem::remove(dir_ + "/" + name_ + ".csv", ec);
    return absl::OkStatus();
  }
  return writer_->Commit();
}

absl::StatusOr<LoadedInputs> LoadInputFiles(const InputOptions& options, Progress* progress) {
  if (options.event_files.empty() && options.purchase_files.empty()) {
    return absl::InvalidArgumentError("no input: give --events and/or --purchases files");
  }
  Mapping mapping;
  if (options.mapping_file) {
    ASSIGN_OR_RETURN(mapping, LoadMapping(*options.mapping_file));
  }
  std::vector<InputFile> inputs;
  for (const std::string& p : options.purchase_files) inputs.push_back({p, SourceKind::kPurchases});
  for (const std::string& p : options.event_files) inputs.push_back({p, SourceKind::kEvents});
  for (const InputFile& f : inputs) RETURN_IF_ERROR(CheckReadable(f.path));
  RETURN_IF_ERROR(PrepareOutputDir(options.reject_dir));

  LoadedInputs out;
  out.rejects = std::make_unique<RejectTable>(options.reject_dir, options.reject_name);
  const LoaderOptions loader_options{.strict = options.strict,
                                     .threads = options.threads,
                                     .min_bytes_per_thread = options.min_bytes_per_read_thread};
  RejectTable* rejects = out.rejects.get();
  RecordLoader loader(mapping, &out.ids, loader_options,
                      [rejects](const RejectedRow& r) { return rejects->Add(r); });
  for (const InputFile& f : inputs) {
    const std::string stage = StrCat("reading ", f.path);
    RETURN_IF_ERROR(loader.Load(
        f, &out.runs, [&](int64_t done, int64_t total) { progress->Update(stage, done, total); }));
    if (f.kind == SourceKind::kPurchases) out.purchase_file_runs = out.runs.size();
    out.file_run_end.push_back(out.runs.size());
  }
  progress->Done();
  out.stats = loader.stats();
  return out;
}

}  // namespace streamrec
