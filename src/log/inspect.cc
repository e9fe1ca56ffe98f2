#include "log/inspect.h"

#include <algorithm>
#include <optional>

#include "common/status_macros.h"
#include "common/strings.h"
#include "log/segment_format.h"

namespace streamrec {

std::string SegmentSummary::ToString() const {
  std::string text = StrCat(file, "  ");
  text += records == 0 ? std::string("no records")
                       : StrCat("offsets ", first_offset.value, "..",
                                first_offset.value + records - 1, "  ", records, " records");
  text += StrCat("  ", bytes, " bytes  ");
  switch (state) {
    case State::kOk:
      return text + "ok";
    case State::kTornTail:
      return text +
             StrCat("torn tail of ", problem_bytes, " bytes at byte ", problem_at, ": ", reason);
    case State::kCorrupt:
      return text + StrCat("corrupt: ", reason);  // the reason says where
  }
  return text;
}

std::string SnapshotSummary::ToString() const {
  std::string text = StrCat(file, "  covers offsets below ", name.covered.value, "  ",
                            info.file_bytes, " bytes on disk");
  if (info.uncompressed_bytes > 0 || valid()) {
    text += StrCat(", ", info.uncompressed_bytes, " uncompressed in ", info.frames, " frames");
  }
  return text + (valid() ? "  valid" : StrCat("  invalid: ", problem));
}

absl::StatusOr<std::vector<SegmentSummary>> InspectLog(const std::string& dir, Env* env) {
  if (env == nullptr) env = Env::Default();
  absl::StatusOr<std::vector<std::string>> names = env->GetChildren(dir);
  if (absl::IsNotFound(names.status())) return std::vector<SegmentSummary>();
  if (!names.ok()) return names.status();
  std::vector<std::pair<LogOffset, std::string>> files;
  for (const std::string& name : *names) {
    if (std::optional<LogOffset> first = segment::ParseFileName(name))
      files.emplace_back(*first, name);
  }
  std::sort(files.begin(), files.end());

  std::vector<SegmentSummary> summaries;
  std::optional<LogOffset> expected;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& [first, name] = files[i];
    ASSIGN_OR_RETURN(const std::unique_ptr<FileContents> contents,
                     env->ReadFile(JoinPath(dir, name)));
    const std::string_view buffer = contents->data();
    const segment::SegmentCheck check =
        segment::CheckSegment(buffer, first, expected, i + 1 == files.size());
    SegmentSummary& s = summaries.emplace_back();
    s.file = name;
    s.first_offset = first;
    s.records = check.records;
    s.bytes = buffer.size();
    if (check.verdict != segment::SegmentCheck::Verdict::kOk) {
      const bool torn = check.verdict != segment::SegmentCheck::Verdict::kCorrupt;
      s.state = torn ? SegmentSummary::State::kTornTail : SegmentSummary::State::kCorrupt;
      s.problem_at = check.problem.at;
      s.problem_bytes = buffer.size() - check.problem.at;
      s.reason = torn ? check.problem.reason : check.detail;
    }
    // Judge the next segment's start against this one's verified records, as Open does.
    expected = LogOffset{first.value + check.records};
  }
  return summaries;
}

absl::StatusOr<std::vector<SnapshotSummary>> InspectSnapshots(const std::string& dir,
                                                              const SnapshotOptions& options) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  absl::StatusOr<std::vector<std::string>> names = env->GetChildren(dir);
  if (absl::IsNotFound(names.status())) return std::vector<SnapshotSummary>();
  if (!names.ok()) return names.status();
  std::vector<SnapshotSummary> summaries;
  for (const std::string& file : *names) {
    const std::optional<SnapshotName> name = ParseSnapshotFileName(file);
    if (!name) continue;
    SnapshotSummary& s = summaries.emplace_back();
    s.file = file;
    s.name = *name;
    if (name->temporary) {
      absl::StatusOr<uint64_t> size = env->GetFileSize(JoinPath(dir, file));
      s.info.covered = name->covered;
      s.info.file_bytes = size.value_or(0);
      s.problem = "incomplete (being written, or abandoned by a crash)";
      continue;
    }
    if (absl::Status status = VerifySnapshot(JoinPath(dir, file), options, &s.info); !status.ok()) {
      s.problem = std::string(status.message());
    }
  }
  std::sort(summaries.begin(), summaries.end(), [](const auto& a, const auto& b) {
    return a.file < b.file;  // zero-padded: by covered offset, the .tmp after its .snap
  });
  return summaries;
}

std::vector<std::string> StartProblems(std::span<const SegmentSummary> segments,
                                       std::span<const SnapshotSummary> snapshots) {
  std::vector<std::string> problems;
  for (const SegmentSummary& seg : segments) {
    if (seg.state == SegmentSummary::State::kCorrupt) {
      problems.push_back(StrCat(seg.file, " is damaged: ", seg.reason));
    }
  }
  std::optional<LogOffset> newest;
  for (const SnapshotSummary& snap : snapshots) {
    if (snap.valid() && (!newest || *newest < snap.name.covered)) newest = snap.name.covered;
  }
  if (segments.empty()) return problems;  // a log that is gone starts at the newest
  const LogOffset start = segments.front().first_offset;
  if (!newest) {
    if (start.value > 0) {
      problems.push_back(StrCat("the log starts at offset ", start.value,
                                " and no valid snapshot holds the records before it"));
    }
    return problems;
  }
  const LogOffset end{segments.back().first_offset.value + segments.back().records};
  if (*newest < start) {
    problems.push_back(StrCat("the log starts at offset ", start.value,
                              ", after the newest snapshot's covered offset ", newest->value));
  } else if (end < *newest) {
    problems.push_back(StrCat("the newest snapshot covers the log to offset ", newest->value,
                              ", past its end at offset ", end.value));
  }
  return problems;
}

}  // namespace streamrec
