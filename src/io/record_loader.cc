#include "io/record_loader.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <limits>
#include <mutex>

#include "absl/status/status.h"
#include "common/check.h"
#include "common/parallel_for.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "io/row_source.h"

namespace streamrec {
namespace {

struct OwnedReject {
  int64_t line;
  std::string reason;
};

// What a file, or one chunk of it, decodes to before it is joined to the others. Each
// chunk has cache lines of its own: its thread updates it on every row, and two chunks
// sharing a line would make the cores pass the line back and forth on every row.
struct alignas(64) DecodedPart {
  RecordVector records;
  std::vector<std::pair<uint32_t, std::string>> event_ids;  // (seq, id), when kept
  std::vector<OwnedReject> rejects;  // in line order; with strict, at most one
  LoadStats stats;
  absl::Status status;
  // A chunk: the thread that decoded it, and the names it added to that thread's
  // dictionary, with ids from users_begin (items_begin) on. The views point into the
  // dictionary's arena, which never moves, so another thread may read them while the
  // dictionary grows.
  size_t thread = 0;
  uint32_t users_begin = 0;
  uint32_t items_begin = 0;
  std::vector<std::string_view> new_users;
  std::vector<std::string_view> new_items;
  int64_t next_line = 0;  // its source's next_line() at the end (its own numbering)
  bool ended_inside_quotes = false;
  bool decoded = false;  // false: skipped, as strict mode had stopped at an earlier chunk
  bool joined = false;   // its names interned in the shared dictionary, records renumbered
};

// One decoding thread's dictionary, on cache lines of its own for the same reason.
struct alignas(64) ThreadIds {
  IdDictionary ids;
};

// True when the chunks' records, read one chunk after the other, are in stream order.
bool InStreamOrder(const std::vector<DecodedPart>& chunks) {
  const Record* last = nullptr;
  for (const DecodedPart& c : chunks) {
    if (c.records.empty()) continue;
    if (last != nullptr && StreamOrderLess(c.records.front(), *last)) return false;
    if (!std::is_sorted(c.records.begin(), c.records.end(), StreamOrderLess)) return false;
    last = &c.records.back();
  }
  return true;
}

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
  ReleaseUnusedCapacity(&part->records);
}

}  // namespace

absl::Status RecordLoader::Load(const InputFile& file, std::vector<RecordVector>* runs,
                                const ProgressFn& progress) {
  return LoadWithThreads(file, runs, progress, options_.threads, ChunkCuts::kAtLineBreaks);
}

absl::Status RecordLoader::LoadWithThreads(const InputFile& file, std::vector<RecordVector>* runs,
                                           const ProgressFn& progress, int threads,
                                           ChunkCuts cuts_at) {
  // Reports a decoded part's error or rejects.
  const auto report = [&](const DecodedPart& part) -> absl::Status {
    if (!part.status.ok()) {
      return absl::Status(part.status.code(), StrCat(file.path, ": ", part.status.message()));
    }
    for (const OwnedReject& r : part.rejects) {
      if (options_.strict) {
        return absl::AbortedError(
            StrCat(file.path, ":", r.line, ": ", r.reason, " (stopped: strict mode)"));
      }
      if (on_reject_) RETURN_IF_ERROR(on_reject_(RejectedRow{file.path, r.line, r.reason}));
    }
    return absl::OkStatus();
  };
  // Counts a part of a file that loaded, and keeps its event ids.
  const auto count = [&](DecodedPart& part) {
    for (auto& kept : part.event_ids) kept_event_ids_.push_back(std::move(kept));
    stats_.rows_read += part.stats.rows_read;
    stats_.rows_accepted += part.stats.rows_accepted;
    stats_.rows_rejected += part.stats.rows_rejected;
    stats_.duplicates += part.stats.duplicates;
  };
  const SourceMapping& mapping = mapping_.For(file.kind);
  std::vector<std::unique_ptr<RowSource>> sources;
  if (IsCsvPath(file.path) && threads > 1) {
    absl::StatusOr<std::vector<std::unique_ptr<RowSource>>> chunks =
        OpenCsvSourceChunks(file.path, mapping.csv, options_.chunk_bytes, cuts_at);
    if (!chunks.ok()) return chunks.status();
    sources = *std::move(chunks);
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
  if (sources.size() == 1) {
    DecodedPart part;
    DecodeRows(*sources.front(), *decoder, ids_, &seen_event_ids_, next_seq_, options_.strict,
               options_.keep_event_ids, progress, &part);
    RETURN_IF_ERROR(report(part));
    count(part);
    next_seq_ += static_cast<uint32_t>(part.stats.rows_accepted);
    runs->push_back(std::move(part.records));
    if (progress) progress(1, 1);
    return absl::OkStatus();
  }

  // Decode: threads take chunks in file order as they come free (so a core the host
  // slows down takes fewer), each into its own dictionary; the calling thread reports
  // progress.
  const size_t n = sources.size();
  const size_t thread_count = std::min(static_cast<size_t>(threads), n);
  std::vector<DecodedPart> chunks(n);
  std::vector<ThreadIds> thread_ids(thread_count);
  std::atomic<size_t> strict_stop{n};          // chunks after this one need not be decoded
  std::atomic<bool> cut_inside_quotes{false};  // the file must be cut otherwise
  std::atomic<int64_t> bytes_done{0};

  // Joining, in file order, as chunks come in: each chunk's new names are interned in
  // the shared dictionary (in first-seen order, which gives the ids one thread would
  // have) and its records renumbered. One thread at a time joins, the others decoding
  // meanwhile; the state below belongs to whoever joins.
  std::mutex join_mu;
  bool joining = false;  // guarded by join_mu: some thread is joining
  size_t next_join = 0;  // guarded by join_mu: the first chunk not joined
  bool join_ended = false;
  uint64_t joined_accepted = 0;                              // rows accepted in the joined chunks
  std::vector<std::vector<UserIdx>> user_ids(thread_count);  // by thread, local -> shared
  std::vector<std::vector<ItemIdx>> item_ids(thread_count);
  // Joins `chunk`, the next in file order. Returns false, leaving it unjoined, when its
  // seq numbers would overflow (the load fails then).
  const auto join = [&](DecodedPart& chunk) {
    if (next_seq_ + joined_accepted + static_cast<uint64_t>(chunk.stats.rows_accepted) >=
        std::numeric_limits<uint32_t>::max()) {
      return false;
    }
    std::vector<UserIdx>& users = user_ids[chunk.thread];
    std::vector<ItemIdx>& items = item_ids[chunk.thread];
    users.resize(std::max(users.size(), chunk.users_begin + chunk.new_users.size()));
    items.resize(std::max(items.size(), chunk.items_begin + chunk.new_items.size()));
    for (size_t i = 0; i < chunk.new_users.size(); ++i)
      users[chunk.users_begin + i] = ids_->users.Intern(chunk.new_users[i]);
    for (size_t i = 0; i < chunk.new_items.size(); ++i)
      items[chunk.items_begin + i] = ids_->items.Intern(chunk.new_items[i]);
    const auto seq_base = static_cast<uint32_t>(next_seq_ + joined_accepted);
    for (Record& r : chunk.records) {
      r.user = users[r.user.value];
      r.item = items[r.item.value];
      r.seq += seq_base;
    }
    for (auto& [seq, id] : chunk.event_ids) seq += seq_base;
    joined_accepted += static_cast<uint64_t>(chunk.stats.rows_accepted);
    chunk.joined = true;
    return true;
  };
  // Joins the decoded chunks that are next in file order. Joining ends after a chunk
  // that is refused (an error, or a reject in strict mode: the load fails) or that ended
  // inside quotes (what follows it is read again): what that chunk and those before it
  // interned is what one thread reading the file interns before that point.
  const auto join_ready = [&](std::unique_lock<std::mutex>& lock) {
    while (!join_ended && next_join < n && chunks[next_join].decoded) {
      DecodedPart& chunk = chunks[next_join];
      lock.unlock();
      const bool joined = join(chunk);
      lock.lock();
      ++next_join;
      join_ended = !joined || !chunk.status.ok() || (options_.strict && !chunk.rejects.empty()) ||
                   (chunk.ended_inside_quotes && next_join < n);
    }
  };

  ParallelFor(static_cast<int>(thread_count), n, [&](size_t c, int t) {
    if (c > strict_stop.load() || cut_inside_quotes.load()) return;  // left undecoded
    IdDictionary& ids = thread_ids[t].ids;
    DecodedPart& chunk = chunks[c];
    chunk.thread = static_cast<size_t>(t);
    chunk.users_begin = static_cast<uint32_t>(ids.users.size());
    chunk.items_begin = static_cast<uint32_t>(ids.items.size());
    DecodeRows(*sources[c], *decoder, &ids, &seen_event_ids_, 0, options_.strict,
               options_.keep_event_ids, {}, &chunk);
    for (uint32_t i = chunk.users_begin; i < ids.users.size(); ++i)
      chunk.new_users.push_back(ids.users.Name(UserIdx(i)));
    for (uint32_t i = chunk.items_begin; i < ids.items.size(); ++i)
      chunk.new_items.push_back(ids.items.Name(ItemIdx(i)));
    chunk.next_line = sources[c]->next_line();
    chunk.ended_inside_quotes = sources[c]->ended_inside_quotes();
    if (chunk.ended_inside_quotes && c + 1 < n) cut_inside_quotes = true;
    {
      std::unique_lock lock(join_mu);
      chunk.decoded = true;
      if (!joining) {
        joining = true;
        join_ready(lock);
        joining = false;
      }
    }
    if (options_.strict && !chunk.rejects.empty()) {
      size_t stop = strict_stop.load();
      while (c < stop && !strict_stop.compare_exchange_weak(stop, c)) {
      }
    }
    const int64_t done =
        bytes_done.fetch_add(sources[c]->bytes_total()) + sources[c]->bytes_total();
    if (t == 0 && progress) progress(done, bytes);
  });

  // A chunk other than the last that ended inside quotes was cut inside a quoted field
  // that spans lines (the threads skipped the chunks still waiting then): cut the file again
  // outside quotes, and if a stray quote fooled that too, read it with one thread.
  // Joining ended at that chunk, so the shared dictionary holds the names one thread
  // meets before it, which reading again interns to the same ids; the rest of this
  // attempt is freed first. (Every chunk before the first such one was decoded, in
  // strict mode too unless an earlier reject stops the load anyway.)
  for (size_t c = 0; c + 1 < n && chunks[c].decoded; ++c) {
    if (!chunks[c].ended_inside_quotes) continue;
    std::vector<DecodedPart>().swap(chunks);
    std::vector<ThreadIds>().swap(thread_ids);
    sources.clear();
    return cuts_at == ChunkCuts::kAtLineBreaks
               ? LoadWithThreads(file, runs, progress, threads, ChunkCuts::kOutsideQuotes)
               : LoadWithThreads(file, runs, progress, 1, cuts_at);
  }

  // The chunks no thread has joined yet, then in file order: true line numbers,
  // rejects and errors, counts.
  {
    std::unique_lock lock(join_mu);
    join_ready(lock);
  }
  uint64_t accepted = 0;
  int64_t line_shift = 0;  // add to a chunk's own line numbers
  for (size_t c = 0; c < n; ++c) {
    DecodedPart& chunk = chunks[c];
    STREAMREC_CHECK(chunk.decoded) << "a chunk after a strict reject was joined";
    for (OwnedReject& r : chunk.rejects) r.line += line_shift;
    line_shift += chunk.next_line - 1;
    RETURN_IF_ERROR(report(chunk));
    accepted += static_cast<uint64_t>(chunk.stats.rows_accepted);
    if (next_seq_ + accepted >= std::numeric_limits<uint32_t>::max()) {
      return absl::ResourceExhaustedError(StrCat(file.path, ": more than 2^32-1 rows in one run"));
    }
    STREAMREC_CHECK(chunk.joined) << "chunk " << c << " of " << file.path << " was not joined";
  }
  for (DecodedPart& chunk : chunks) count(chunk);
  next_seq_ += static_cast<uint32_t>(accepted);

  // Runs. A file in stream order (a clickstream sorted by time) keeps one run per
  // chunk, which the merger reads one after the other. Any other file is joined into
  // `threads` runs for SortRuns: sorted chunks that overlap in time would make the
  // merge take a record at a time from dozens of runs.
  if (InStreamOrder(chunks)) {
    for (DecodedPart& chunk : chunks) runs->push_back(std::move(chunk.records));
  } else {
    for (size_t g = 0; g < thread_count; ++g) {
      const size_t from = g * n / thread_count;
      const size_t to = (g + 1) * n / thread_count;
      size_t size = 0;
      for (size_t c = from; c < to; ++c) size += chunks[c].records.size();
      RecordVector run;
      run.reserve(size);
      for (size_t c = from; c < to; ++c) {
        run.insert(run.end(), chunks[c].records.begin(), chunks[c].records.end());
        RecordVector().swap(chunks[c].records);
      }
      runs->push_back(std::move(run));
    }
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
