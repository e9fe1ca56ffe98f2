#include "io/record_loader.h"

#include <limits>

#include "absl/status/status.h"
#include "common/strings.h"
#include "io/row_source.h"

namespace streamrec {

absl::Status RecordLoader::Load(const InputFile& file, std::vector<Record>* out,
                                const ProgressFn& progress) {
  const SourceMapping& mapping = mapping_.For(file.kind);
  absl::StatusOr<std::unique_ptr<RowSource>> opened =
      OpenRowSource(file.path, mapping.csv, RowDecoder::WantedColumns(file.kind, mapping));
  if (!opened.ok()) return opened.status();
  RowSource& source = **opened;
  absl::StatusOr<RowDecoder> decoder =
      RowDecoder::Create(file.kind, mapping, source.columns(), file.path);
  if (!decoder.ok()) return decoder.status();

  Row row;
  std::string reason;
  int64_t rows_since_progress = 0;
  while (true) {
    absl::StatusOr<RowStatus> status = source.Next(&row);
    if (!status.ok()) return status.status();
    if (*status == RowStatus::kEnd) break;
    ++stats_.rows_read;
    DecodeOutcome outcome = DecodeOutcome::kRejected;
    if (*status == RowStatus::kBad) {
      reason = source.bad_reason();
    } else {
      if (next_seq_ == std::numeric_limits<uint32_t>::max()) {
        return absl::ResourceExhaustedError(
            StrCat(file.path, ":", row.line, ": more than 2^32-1 rows in one run"));
      }
      outcome = decoder->Decode(row, next_seq_, ids_, &seen_event_ids_, out, &reason);
    }
    switch (outcome) {
      case DecodeOutcome::kAccepted:
        ++stats_.rows_accepted;
        ++next_seq_;
        break;
      case DecodeOutcome::kDuplicate:
        ++stats_.duplicates;
        break;
      case DecodeOutcome::kRejected:
        ++stats_.rows_rejected;
        if (strict_) {
          return absl::AbortedError(
              StrCat(file.path, ":", row.line, ": ", reason, " (stopped: strict mode)"));
        }
        if (on_reject_) {
          if (absl::Status s = on_reject_(RejectedRow{file.path, row.line, reason}); !s.ok()) return s;
        }
        break;
    }
    if (progress && ++rows_since_progress == 65536) {
      rows_since_progress = 0;
      progress(source.bytes_read(), source.bytes_total());
    }
  }
  if (progress) progress(source.bytes_total(), source.bytes_total());
  return absl::OkStatus();
}

}  // namespace streamrec
