#include "log/segment_format.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/byte_io.h"
#include "common/check.h"
#include "common/strings.h"
#include "log/crc32c.h"

namespace streamrec::segment {
namespace {

constexpr std::string_view kPrefix = "log-";
constexpr std::string_view kSuffix = ".seg";
constexpr size_t kOffsetDigits = 20;

uint32_t LoadU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The record checksum covers the type byte and the payload.
uint32_t RecordCrc(uint8_t type, std::string_view payload) {
  const char type_byte = static_cast<char>(type);
  return Crc32cExtend(Crc32c(std::string_view(&type_byte, 1)), payload);
}

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

}  // namespace

std::string FileName(LogOffset first) {
  return fmt::format("{}{:020}{}", kPrefix, first.value, kSuffix);
}

std::optional<LogOffset> ParseFileName(std::string_view name) {
  if (name.size() != kPrefix.size() + kOffsetDigits + kSuffix.size() ||
      !name.starts_with(kPrefix) || !name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(kPrefix.size(), kOffsetDigits);
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return LogOffset{value};
}

std::string EncodeHeader(LogOffset first) {
  std::string out;
  ByteWriter w(&out);
  w.PutRaw(kMagic.data(), kMagic.size());
  w.Put(kVersion);
  w.Put(first.value);
  w.Put(Crc32c(out));
  STREAMREC_CHECK(out.size() == kHeaderBytes);
  return out;
}

HeaderResult ParseHeader(std::string_view file, LogOffset named_first) {
  HeaderResult result;
  auto fail = [&](std::string reason, bool torn) {
    result.problem = Problem{0, std::move(reason), torn};
    return result;
  };
  if (file.size() < kHeaderBytes) {
    return fail(StrCat("truncated header (", file.size(), " of ", kHeaderBytes, " bytes)"), true);
  }
  const std::string_view header = file.substr(0, kHeaderBytes);
  if (AllZero(header)) return fail("zeroed header", true);
  if (Crc32c(header.substr(0, kHeaderBytes - 4)) != LoadU32(header.data() + kHeaderBytes - 4)) {
    return fail("header checksum mismatch", true);
  }
  if (header.substr(0, kMagic.size()) != kMagic) return fail("not a segment (bad magic)", false);
  ByteReader r(header.substr(kMagic.size()));
  uint32_t version = 0;
  r.Get(&version);
  r.Get(&result.first.value);
  if (version != kVersion) {
    return fail(
        StrCat("unsupported format version ", version, " (this build reads ", kVersion, ")"),
        false);
  }
  if (result.first != named_first) {
    return fail(StrCat("header names first offset ", result.first.value, ", the file name ",
                       named_first.value),
                false);
  }
  return result;
}

void AppendRecord(std::string_view payload, std::string* out) {
  STREAMREC_CHECK(payload.size() <= kMaxPayloadBytes) << payload.size() << " bytes";
  ByteWriter w(out);
  w.Put(RecordCrc(kFullRecord, payload));
  w.Put(static_cast<uint32_t>(payload.size()));
  w.Put(kFullRecord);
  w.PutRaw(payload.data(), payload.size());
}

bool RecordScanner::Fail(std::string reason, bool torn) {
  problem_ = Problem{position_, std::move(reason), torn};
  return false;
}

bool RecordScanner::Next(std::string_view* payload) {
  if (problem_ || position_ >= file_.size()) return false;
  const uint64_t left = file_.size() - position_;
  if (left < kRecordHeaderBytes) {
    return Fail(StrCat("truncated record header (", left, " of ", kRecordHeaderBytes, " bytes)"),
                true);
  }
  const char* p = file_.data() + position_;
  const uint32_t crc = LoadU32(p);
  const uint32_t length = LoadU32(p + 4);
  const auto type = static_cast<uint8_t>(p[8]);
  if (length > kMaxPayloadBytes) {
    return Fail(StrCat("bad length ", length, " (the maximum is ", kMaxPayloadBytes, ")"), true);
  }
  if (length > left - kRecordHeaderBytes) {
    return Fail(StrCat("truncated payload (", left - kRecordHeaderBytes, " of ", length, " bytes)"),
                true);
  }
  const std::string_view data(p + kRecordHeaderBytes, length);
  if (RecordCrc(type, data) != crc) {
    return Fail(
        AllZero(std::string_view(p, kRecordHeaderBytes)) ? "zeroed bytes" : "checksum mismatch",
        true);
  }
  if (type != kFullRecord) return Fail(StrCat("unknown record type ", int{type}), false);
  *payload = data;
  position_ += kRecordHeaderBytes + length;
  ++records_;
  return true;
}

namespace {

// Where the first record that verifies starts after byte `bad_at`, if any does. Frames
// are not aligned, so every byte is tried; a cheap look at the type and length comes
// before the checksum, so zeroed or random bytes cost little.
std::optional<uint64_t> VerifiedRecordAfter(std::string_view file, uint64_t bad_at) {
  for (uint64_t at = bad_at + 1; at + kRecordHeaderBytes <= file.size(); ++at) {
    const char* p = file.data() + at;
    if (static_cast<uint8_t>(p[8]) != kFullRecord) continue;
    const uint32_t length = LoadU32(p + 4);
    if (length > kMaxPayloadBytes || length > file.size() - at - kRecordHeaderBytes) continue;
    RecordScanner probe(file, at);
    std::string_view payload;
    if (probe.Next(&payload)) return at;
  }
  return std::nullopt;
}

// Whether the bad frame at `bad_at`, with a record that verifies at `verified_at` after
// it, looks like what a power loss leaves in an append-only file. Whatever of a write
// did not reach the disk reads back, a sector at a time, as the file held before: zeros
// past the end of what had been synced. So the frame's header is zeros, or a whole
// sector between it and the next record is (its payload's rest was lost while a later
// sector was written back first).
bool LooksTorn(std::string_view file, uint64_t bad_at, uint64_t verified_at) {
  constexpr uint64_t kSectorBytes = 512;
  if (AllZero(file.substr(bad_at, kRecordHeaderBytes))) return true;
  for (uint64_t sector = (bad_at + kSectorBytes - 1) / kSectorBytes * kSectorBytes;
       sector + kSectorBytes <= verified_at; sector += kSectorBytes) {
    if (AllZero(file.substr(sector, kSectorBytes))) return true;
  }
  return false;
}

}  // namespace

SegmentCheck CheckSegment(std::string_view file, LogOffset named_first,
                          std::optional<LogOffset> expected_first, bool last) {
  using Verdict = SegmentCheck::Verdict;
  SegmentCheck check;
  auto corrupt = [&](Problem problem, std::string detail) {
    check.verdict = Verdict::kCorrupt;
    check.problem = std::move(problem);
    check.detail = std::move(detail);
    return check;
  };
  if (expected_first && named_first != *expected_first) {
    std::string why = StrCat("starts at offset ", named_first.value,
                             " but the segment before it ends at offset ", expected_first->value);
    return corrupt(Problem{0, why, false}, why);
  }
  HeaderResult header = ParseHeader(file, named_first);
  if (header.problem) {
    // Interrupted creation: the header is synced before any record is written.
    if (last && header.problem->torn && file.size() <= kHeaderBytes) {
      check.verdict = Verdict::kRewriteEmpty;
      check.problem = std::move(*header.problem);
      return check;
    }
    std::string detail = StrCat(header.problem->reason, " (", file.size(), " bytes in the file)");
    return corrupt(std::move(*header.problem), std::move(detail));
  }
  RecordScanner scanner(file);
  std::string_view payload;
  while (scanner.Next(&payload)) {
  }
  check.records = scanner.records();
  check.good_bytes = scanner.position();
  if (!scanner.problem()) return check;
  const Problem& problem = *scanner.problem();
  // A torn write leaves nothing that verifies after it, unless the power failed while
  // later sectors had reached the disk and earlier ones had not (LooksTorn). Any other
  // bad frame with a record that verifies after it is damage to records written before
  // that one, which may have been acknowledged.
  std::optional<uint64_t> verified_after =
      last && problem.torn ? VerifiedRecordAfter(file, problem.at) : std::nullopt;
  if (verified_after && LooksTorn(file, problem.at, *verified_after)) verified_after.reset();
  if (last && problem.torn && !verified_after) {
    check.verdict = Verdict::kCutTail;
    check.problem = problem;
    return check;
  }
  const uint64_t bad_record = named_first.value + scanner.records();
  std::string where = StrCat(problem.reason, " at byte ", problem.at, " (record ", bad_record, ")");
  if (verified_after) {
    return corrupt(problem,
                   StrCat(where, "; a record that verifies follows at byte ", *verified_after,
                          ", so this is damage, not an interrupted write: records from "
                          "offset ",
                          bad_record, " on cannot be trusted, and none is cut"));
  }
  if (!last) {
    return corrupt(problem, StrCat(where,
                                   "; not the last segment, so this is damage, not an interrupted "
                                   "write: records from offset ",
                                   bad_record, " on cannot be trusted"));
  }
  return corrupt(problem, StrCat(where, "; a record that verifies is never cut"));
}

}  // namespace streamrec::segment
