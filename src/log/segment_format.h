#pragma once
// The on-disk format of event log segments (docs/formats/event-log.md): file names, the
// segment header, record framing, a scanner that verifies records one by one, and the
// recovery rule for one segment (CheckSegment). Used by EventLog (writing, recovery,
// reading) and by inspection, so both judge a segment the same way.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "log/log_offset.h"

namespace streamrec::segment {

inline constexpr std::string_view kMagic = "SRLOGSEG";
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kHeaderBytes = 24;
inline constexpr size_t kRecordHeaderBytes = 9;  // crc u32, length u32, type u8
inline constexpr uint32_t kMaxPayloadBytes = 64u << 20;
inline constexpr uint8_t kFullRecord = 1;

// "log-00000000000000004096.seg" for first offset 4096.
std::string FileName(LogOffset first);
// The first offset named by a segment file name; nullopt for any other name.
std::optional<LogOffset> ParseFileName(std::string_view name);

// The 24-byte header of a segment starting at `first`.
std::string EncodeHeader(LogOffset first);

// A frame (header or record) that does not verify.
struct Problem {
  uint64_t at = 0;  // byte offset in the file where the bad frame starts
  std::string reason;
  // What an interrupted write or a lost unsynced page leaves behind (truncation,
  // checksum mismatch, zeroed bytes). False for frames that verify but are not
  // understood (unknown version or record type, offset mismatch), which are never cut.
  bool torn = false;
};

// Verifies the header at the start of `file` and returns its first offset, or the
// problem. `named_first` is the offset in the file's name, which the header must repeat.
struct HeaderResult {
  LogOffset first;
  std::optional<Problem> problem;
};
HeaderResult ParseHeader(std::string_view file, LogOffset named_first);

// Appends the framed record (header and payload) to `out`.
// REQUIRES: payload.size() <= kMaxPayloadBytes.
void AppendRecord(std::string_view payload, std::string* out);

// Walks the records of a segment's bytes after the header, verifying each.
//
//   RecordScanner scanner(file);
//   std::string_view payload;
//   while (scanner.Next(&payload)) ...;
//   if (scanner.problem()) ...;  // else the file ends exactly after the last record
class RecordScanner {
 public:
  // `file`: the whole segment, header included; the scan starts at byte `start` (the
  // first record's, by default).
  explicit RecordScanner(std::string_view file, uint64_t start = kHeaderBytes)
      : file_(file), position_(start) {}

  // The next verified payload (a view into `file`); false at the end of the file or at
  // the first frame that does not verify, after which problem() says why.
  bool Next(std::string_view* payload);

  const std::optional<Problem>& problem() const { return problem_; }
  // The end of the last verified record: where a cut would truncate the file.
  uint64_t position() const { return position_; }
  uint64_t records() const { return records_; }

 private:
  bool Fail(std::string reason, bool torn);

  std::string_view file_;
  uint64_t position_;
  uint64_t records_ = 0;
  std::optional<Problem> problem_;
};

// What recovery does with one segment (docs/formats/event-log.md, "Recovery").
struct SegmentCheck {
  enum class Verdict {
    kOk,
    kCutTail,       // last segment: truncate to good_bytes
    kRewriteEmpty,  // last segment whose creation was interrupted: write a fresh header
    kCorrupt,       // damage: refuse to open
  };
  Verdict verdict = Verdict::kOk;
  uint64_t records = 0;     // records that verify
  uint64_t good_bytes = 0;  // the end of the last record that verifies
  Problem problem;          // unless kOk
  std::string detail;       // kCorrupt: the problem and why it is not cut
};
// `file`: the segment's bytes; `named_first`: the offset in its name; `expected_first`:
// where the previous segment ended (nullopt for the first segment); `last`: whether it
// is the active segment.
SegmentCheck CheckSegment(std::string_view file, LogOffset named_first,
                          std::optional<LogOffset> expected_first, bool last);

}  // namespace streamrec::segment
