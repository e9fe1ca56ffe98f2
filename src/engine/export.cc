#include "engine/export.h"

#include <filesystem>

#include "common/interner.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/structured_log.h"
#include "engine/log_payload.h"
#include "log/event_codec.h"
#include "log/event_log.h"

namespace streamrec {

absl::StatusOr<PipelineSummary> ExportTables(const ExportOptions& options) {
  const std::string log_dir = options.state_dir + "/log";
  if (!std::filesystem::is_directory(log_dir)) {
    return absl::NotFoundError(
        StrCat(options.state_dir, " is not a state directory: it has no log/ folder"));
  }
  // Read only: exporting never repairs the state it reads. A torn tail, which the
  // server's next start would cut, is left in place and not exported.
  RecoveryReport report;
  absl::StatusOr<std::unique_ptr<EventLog>> opened =
      EventLog::Open(log_dir, EventLogOptions{.read_only = true}, &report);
  if (absl::IsFailedPrecondition(opened.status())) {
    return absl::FailedPreconditionError(StrCat(
        opened.status().message(), " (a running server?): export reads a stopped server's state"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, std::move(opened));
  if (report.cut) {
    Log(LogLevel::kWarning, "log_tail_torn",
        {{"segment", report.cut->segment},
         {"byte_offset", report.cut->byte_offset},
         {"bytes", report.cut->bytes_dropped},
         {"reason", report.cut->reason},
         {"detail", "not exported, and left in place (the server cuts it at its next start)"}});
  }
  // The tables are rebuilt from every record: a log that starts later (it was lost, and
  // began again where a snapshot ends) no longer holds them all.
  if (log->start_offset().value > 0) {
    return absl::FailedPreconditionError(
        StrCat("the log of ", options.state_dir, " starts at offset ", log->start_offset().value,
               ": the records before it are only in a snapshot, so the tables cannot be "
               "rebuilt from the log"));
  }
  IdDictionary ids;
  Run run;
  uint32_t seq = 0;
  std::vector<LoggedEvent> events;
  RETURN_IF_ERROR(log->ReadFrom(
      log->start_offset(), [&](LogOffset offset, std::string_view payload) -> absl::Status {
        ASSIGN_OR_RETURN(const LogPayload p, ParseLogPayload(payload));
        absl::Status s = DecodeEvents(p.events, &events);
        if (!s.ok())
          return absl::DataLossError(StrCat("log record ", offset.value, ": ", s.message()));
        for (const LoggedEvent& e : events) {
          Record records[2];
          const int n = LoggedEventRecords(ids.users.Intern(e.user_id), ids.items.Intern(e.item_id),
                                           e, p.kind, seq++, records);
          run.insert(run.end(), records, records + n);
        }
        return absl::OkStatus();
      }));
  std::vector<Run> runs;
  runs.push_back(std::move(run));
  PipelineOptions pipeline;
  pipeline.out_dir = options.out_dir;
  pipeline.format = options.format;
  pipeline.show_progress = options.show_progress;
  pipeline.threads = options.threads;
  pipeline.features = options.features;
  return WriteFeatureTables(std::move(runs), ids, pipeline);
}

}  // namespace streamrec
