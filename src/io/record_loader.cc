#include "io/record_loader.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <thread>

#include "absl/status/status.h"
#include "common/strings.h"
#include "io/row_source.h"

namespace streamrec {
namespace {

struct OwnedReject {
  int64_t line;
  std::string reason;
};

// What one part of a file decodes to, before it is joined to the others. Each part has
// cache lines of its own: its thread updates the part on every row, and two parts
// sharing a line would make the cores pass it back and forth on every row.
struct alignas(64) DecodedPart {
  IdDictionary ids;  // the part's own names, when the file is read in several parts
  RecordVector records;
  std::vector<std::pair<uint32_t, std::string>> event_ids;  // (seq, id), when kept
  std::vector<OwnedReject> rejects;  // in line order; with strict, at most one
  LoadStats stats;
  absl::Status status;
};

// A row read ahead of its decoding. A source's views last only until its next row, so
// the row's fields are copied into `text`.
struct PendingRow {
  RowStatus status = RowStatus::kEnd;
  Row row;
  std::string bad_reason;  // for kBad
  std::string text;        // the fields' bytes; row.fields view into it
};

void Hold(const Row& from, PendingRow* to) {
  size_t bytes = 0;
  for (const std::string_view f : from.fields) bytes += f.size();
  to->text.resize(bytes);
  to->row.fields.resize(from.fields.size());
  char* at = to->text.data();
  for (size_t i = 0; i < from.fields.size(); ++i) {
    const std::string_view f = from.fields[i];
    if (!f.empty()) std::memcpy(at, f.data(), f.size());
    to->row.fields[i] = std::string_view(at, f.size());
    at += f.size();
  }
  to->row.line = from.line;
}

// Decodes every row of `source`. Records get seq first_seq, first_seq + 1, ...
// With `strict`, stops after the first reject; with `keep_event_ids`, keeps the
// accepted rows' event ids with their seq. Calls `progress` now and then.
//
// Rows are read kRowsAhead ahead of their decoding, and their ids prefetched then, so
// that the interning of a row finds its table lines on the way; decoding is still one
// row after the other, in file order.
void DecodeRows(RowSource& source, const RowDecoder& decoder, IdDictionary* ids,
                EventIdSet* seen_event_ids, uint32_t first_seq, bool strict, bool keep_event_ids,
                const RecordLoader::ProgressFn& progress, DecodedPart* part) {
  constexpr size_t kRowsAhead = 8;
  keep_event_ids = keep_event_ids && decoder.reads_event_ids();
  Row row;
  std::array<PendingRow, kRowsAhead> pending;
  size_t rows_in = 0;   // rows read from the source
  size_t rows_out = 0;  // rows decoded; rows_in - rows_out are pending
  bool source_done = false;
  absl::Status read_error;  // reported once the rows before it are decoded
  std::string reason;
  uint32_t seq = first_seq;
  int64_t rows_since_progress = 0;
  // Rows are at least ~16 bytes; reserving address space costs no memory until used.
  part->records.reserve(static_cast<size_t>(source.bytes_total() / 16 + 16));
  while (true) {
    while (!source_done && rows_in - rows_out < kRowsAhead) {
      absl::StatusOr<RowStatus> status = source.Next(&row);
      if (!status.ok() || *status == RowStatus::kEnd) {
        if (!status.ok()) read_error = status.status();
        source_done = true;
        break;
      }
      PendingRow& next = pending[rows_in++ % kRowsAhead];
      next.status = *status;
      if (*status == RowStatus::kBad) {
        next.bad_reason = source.bad_reason();
        next.row.line = row.line;
      } else {
        Hold(row, &next);
        decoder.PrefetchIds(next.row, *ids);
      }
    }
    if (rows_out == rows_in) break;
    const PendingRow& current = pending[rows_out++ % kRowsAhead];
    ++part->stats.rows_read;
    DecodeOutcome outcome = DecodeOutcome::kRejected;
    if (current.status == RowStatus::kBad) {
      reason = current.bad_reason;
    } else {
      if (seq == std::numeric_limits<uint32_t>::max()) {
        part->status = absl::ResourceExhaustedError(
            StrCat("line ", current.row.line, ": more than 2^32-1 rows in one run"));
        return;
      }
      outcome = decoder.Decode(current.row, seq, ids, seen_event_ids, &part->records, &reason);
    }
    switch (outcome) {
      case DecodeOutcome::kAccepted:
        ++part->stats.rows_accepted;
        if (keep_event_ids) {
          if (const std::string_view id = decoder.EventIdText(current.row); !id.empty()) {
            part->event_ids.emplace_back(seq, id);
          }
        }
        ++seq;
        break;
      case DecodeOutcome::kDuplicate:
        ++part->stats.duplicates;
        break;
      case DecodeOutcome::kRejected:
        ++part->stats.rows_rejected;
        part->rejects.push_back(OwnedReject{current.row.line, reason});
        if (strict) return;
        break;
    }
    if (progress && ++rows_since_progress == 65536) {
      rows_since_progress = 0;
      progress(source.bytes_read(), source.bytes_total());
    }
  }
  if (!read_error.ok()) part->status = read_error;
}

}  // namespace

absl::Status RecordLoader::Load(const InputFile& file, std::vector<RecordVector>* runs,
                                const ProgressFn& progress) {
  return LoadWithThreads(file, runs, progress, options_.threads);
}

absl::Status RecordLoader::LoadWithThreads(const InputFile& file, std::vector<RecordVector>* runs,
                                           const ProgressFn& progress, int threads) {
  const SourceMapping& mapping = mapping_.For(file.kind);
  std::vector<std::unique_ptr<RowSource>> sources;
  if (IsCsvPath(file.path) && threads > 1) {
    absl::StatusOr<std::vector<std::unique_ptr<RowSource>>> parts =
        OpenCsvSourceParts(file.path, mapping.csv, threads);
    if (!parts.ok()) return parts.status();
    sources = *std::move(parts);
  } else {
    absl::StatusOr<std::unique_ptr<RowSource>> opened =
        OpenRowSource(file.path, mapping.csv, RowDecoder::WantedColumns(file.kind, mapping));
    if (!opened.ok()) return opened.status();
    sources.push_back(*std::move(opened));
  }
  absl::StatusOr<RowDecoder> decoder =
      RowDecoder::Create(file.kind, mapping, sources.front()->columns(), file.path);
  if (!decoder.ok()) return decoder.status();
  int64_t bytes = 0;
  for (const auto& s : sources) bytes += s->bytes_total();
  if (sources.size() > 1 && (decoder->reads_event_ids() || bytes < options_.min_bytes_per_thread)) {
    absl::StatusOr<std::unique_ptr<RowSource>> whole = OpenCsvSource(file.path, mapping.csv);
    if (!whole.ok()) return whole.status();
    sources.clear();
    sources.push_back(*std::move(whole));
  }

  // Decode: one thread per part, each with its own ids; the calling thread takes part 0
  // and reports progress for it.
  const size_t n = sources.size();
  std::vector<DecodedPart> parts(n);
  {
    std::vector<std::jthread> workers;
    for (size_t p = 1; p < n; ++p) {
      workers.emplace_back([&, p] {
        DecodeRows(*sources[p], *decoder, &parts[p].ids, &seen_event_ids_, 0, options_.strict,
                   options_.keep_event_ids, {}, &parts[p]);
      });
    }
    DecodeRows(*sources[0], *decoder, n > 1 ? &parts[0].ids : ids_, &seen_event_ids_,
               n > 1 ? 0 : next_seq_, options_.strict, options_.keep_event_ids, progress,
               &parts[0]);
  }

  // A part other than the last that ended inside quotes was cut inside a quoted field
  // (a stray quote fooled the cut): read the file again with one thread.
  for (size_t p = 0; p + 1 < n; ++p) {
    if (sources[p]->ended_inside_quotes()) return LoadWithThreads(file, runs, progress, 1);
  }

  // Join the parts in file order.
  for (size_t p = 0; p < n; ++p) {
    DecodedPart& part = parts[p];
    if (!part.status.ok()) {
      return absl::Status(part.status.code(), StrCat(file.path, ": ", part.status.message()));
    }
    for (const OwnedReject& r : part.rejects) {
      if (options_.strict) {
        return absl::AbortedError(
            StrCat(file.path, ":", r.line, ": ", r.reason, " (stopped: strict mode)"));
      }
      if (on_reject_) {
        if (absl::Status s = on_reject_(RejectedRow{file.path, r.line, r.reason}); !s.ok())
          return s;
      }
    }
    const uint64_t accepted = static_cast<uint64_t>(part.stats.rows_accepted);
    if (n > 1) {
      if (next_seq_ + accepted >= std::numeric_limits<uint32_t>::max()) {
        return absl::ResourceExhaustedError(
            StrCat(file.path, ": more than 2^32-1 rows in one run"));
      }
      // Re-intern the part's names in its first-seen order, then renumber.
      std::vector<UserIdx> users(part.ids.users.size());
      for (uint32_t i = 0; i < users.size(); ++i)
        users[i] = ids_->users.Intern(part.ids.users.Name(UserIdx(i)));
      std::vector<ItemIdx> items(part.ids.items.size());
      for (uint32_t i = 0; i < items.size(); ++i)
        items[i] = ids_->items.Intern(part.ids.items.Name(ItemIdx(i)));
      for (Record& r : part.records) {
        r.user = users[r.user.value];
        r.item = items[r.item.value];
        r.seq += next_seq_;
      }
      for (auto& [seq, id] : part.event_ids) seq += next_seq_;
    }
    for (auto& kept : part.event_ids) kept_event_ids_.push_back(std::move(kept));
    next_seq_ += static_cast<uint32_t>(accepted);
    stats_.rows_read += part.stats.rows_read;
    stats_.rows_accepted += part.stats.rows_accepted;
    stats_.rows_rejected += part.stats.rows_rejected;
    stats_.duplicates += part.stats.duplicates;
    runs->push_back(std::move(part.records));
  }
  if (progress) progress(1, 1);
  return absl::OkStatus();
}

std::string_view RecordLoader::EventIdOf(uint32_t seq) const {
  const auto it = std::lower_bound(
      kept_event_ids_.begin(), kept_event_ids_.end(), seq,
      [](const std::pair<uint32_t, std::string>& kept, uint32_t s) { return kept.first < s; });
  return it != kept_event_ids_.end() && it->first == seq ? std::string_view(it->second)
                                                         : std::string_view();
}

}  // namespace streamrec
