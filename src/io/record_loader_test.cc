#include "io/record_loader.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/strings.h"
#include "common/test_temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

class RecordLoaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  struct Loaded {
    IdDictionary ids;
    std::vector<Record> records;  // runs concatenated
    size_t runs = 0;
    std::vector<std::string> rejects;  // "line: reason"
    LoadStats stats;
    absl::Status status;
  };

  void Load(const std::string& path, LoaderOptions options, Loaded* out,
            SourceKind kind = SourceKind::kEvents) {
    Mapping mapping;
    RecordLoader loader(mapping, &out->ids, options, [&](const RejectedRow& r) {
      out->rejects.push_back(std::to_string(r.line) + ": " + std::string(r.reason));
      return absl::OkStatus();
    });
    std::vector<RecordVector> runs;
    out->status = loader.Load({path, kind}, &runs);
    out->runs = runs.size();
    for (const auto& run : runs) out->records.insert(out->records.end(), run.begin(), run.end());
    out->stats = loader.stats();
  }

  TempDir temp_{"record_loader"};
  const std::string dir_ = temp_.path();
};

// Rows with quoted line breaks and doubled quotes everywhere, and bad rows sprinkled in,
// so that the cuts between chunks land in awkward places.
// (StrCat here and below rather than "literal" + std::string, on which GCC 12 warns
// wrongly: -Wrestrict.)
std::string AwkwardEvents(int rows) {
  std::string text = "user_id,item_id,event_type,timestamp\n";
  for (int i = 0; i < rows; ++i) {
    const std::string user = StrCat("u", i % 37);
    const std::string item =
        i % 3 == 0 ? StrCat("\"sku\n\"\"", i % 11, "\"\"\"") : StrCat("s", i % 13);
    if (i % 97 == 5) {
      text += StrCat(user, ",x,teleport,2024-02-01 00:00:00\n");  // unknown event type
      continue;
    }
    text += StrCat(user, ",", item, ",view,2024-02-01 00:", 10 + i % 50, ":00\n");
  }
  return text;
}

bool SameRecords(const std::vector<Record>& a, const IdDictionary& ia, const std::vector<Record>& b,
                 const IdDictionary& ib) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].time != b[i].time || a[i].seq != b[i].seq || a[i].kind != b[i].kind ||
        a[i].type != b[i].type || ia.users.Name(a[i].user) != ib.users.Name(b[i].user) ||
        ia.items.Name(a[i].item) != ib.items.Name(b[i].item) || a[i].user != b[i].user ||
        a[i].item != b[i].item) {
      return false;
    }
  }
  return true;
}

TEST_F(RecordLoaderTest, ChunksOnThreadsGiveExactlyTheSingleThreadResult) {
  const std::string path = Write("events.csv", AwkwardEvents(5000));
  Loaded one;
  Load(path, {.threads = 1}, &one);
  ASSERT_TRUE(one.status.ok()) << one.status;
  EXPECT_EQ(one.runs, 1u);
  EXPECT_FALSE(one.rejects.empty());
  // From two halves to chunks of a few rows each, which the threads take in turns
  // that differ from run to run.
  for (const int64_t chunk_bytes : {60000, 4096, 300, 40}) {
    for (const int threads : {2, 3}) {
      Loaded many;
      Load(path, {.threads = threads, .min_bytes_per_thread = 0, .chunk_bytes = chunk_bytes},
           &many);
      ASSERT_TRUE(many.status.ok()) << many.status;
      // Not in stream order: joined into one run per thread.
      EXPECT_EQ(many.runs, static_cast<size_t>(threads)) << chunk_bytes;
      // Same ids in the same first-seen order, same seq, same rejects with the same
      // lines.
      EXPECT_TRUE(SameRecords(one.records, one.ids, many.records, many.ids)) << chunk_bytes;
      EXPECT_EQ(one.rejects, many.rejects) << chunk_bytes;
      EXPECT_EQ(one.stats.rows_read, many.stats.rows_read);
      EXPECT_EQ(one.stats.rows_accepted, many.stats.rows_accepted);
    }
  }
}

TEST_F(RecordLoaderTest, FileInStreamOrderKeepsOneRunPerChunk) {
  std::string text = "user_id,item_id,event_type,timestamp\n";
  for (int i = 0; i < 3000; ++i) {
    char time[32];
    std::snprintf(time, sizeof time, "2024-02-01 %02d:%02d:%02d", i / 3600, i / 60 % 60, i % 60);
    text += StrCat("u", i % 41, ",s", i % 17, ",view,", time, "\n");
  }
  const std::string path = Write("events.csv", text);
  Loaded one, many;
  Load(path, {.threads = 1}, &one);
  Load(path, {.threads = 2, .min_bytes_per_thread = 0, .chunk_bytes = 4096}, &many);
  ASSERT_TRUE(many.status.ok()) << many.status;
  EXPECT_GT(many.runs, 10u);  // about 100 kB in chunks of 4 kB
  EXPECT_TRUE(SameRecords(one.records, one.ids, many.records, many.ids));
}

TEST_F(RecordLoaderTest, NoChunkStartsInsideAQuotedFieldLongerThanAChunk) {
  // One huge quoted field spans most of the file, so cuts at line breaks fall inside
  // it; the loader cuts the file again outside quotes.
  std::string text = "user_id,item_id,event_type,timestamp\nu1,\"";
  for (int i = 0; i < 2000; ++i) text += "line\n";
  text += "\",view,2024-02-01\nu2,s,view,2024-02-01\n";
  const std::string path = Write("events.csv", text);
  for (int threads : {2, 3, 4}) {
    Loaded one, many;
    Load(path, {.threads = 1}, &one);
    Load(path, {.threads = threads, .min_bytes_per_thread = 0, .chunk_bytes = 1000}, &many);
    ASSERT_TRUE(many.status.ok()) << many.status;
    EXPECT_TRUE(SameRecords(one.records, one.ids, many.records, many.ids)) << threads;
    EXPECT_TRUE(many.rejects.empty()) << many.rejects.front();
  }
}

TEST_F(RecordLoaderTest, StrayQuoteBeforeACutInsideQuotesStillGivesTheSingleThreadResult) {
  // A bad row with a stray quote, then a cut inside the quoted field that follows; the
  // loader notices and reads the file with one thread.
  std::string text = "user_id,item_id,event_type,timestamp\nu0,x\"y,view,2024-02-01\nu1,\"";
  for (int i = 0; i < 2000; ++i) text += "line\n";
  text += "\",view,2024-02-01\nu2,s,view,2024-02-01\n";
  const std::string path = Write("events.csv", text);
  Loaded one, many;
  Load(path, {.threads = 1}, &one);
  Load(path, {.threads = 2, .min_bytes_per_thread = 0}, &many);
  ASSERT_TRUE(many.status.ok()) << many.status;
  EXPECT_TRUE(SameRecords(one.records, one.ids, many.records, many.ids));
  EXPECT_EQ(one.rejects, many.rejects);
  EXPECT_EQ(many.records.size(), 2u);
  EXPECT_EQ(many.rejects.size(), 1u);
}

TEST_F(RecordLoaderTest, RejectLineNumbersCountQuotedLineBreaks) {
  const std::string path = Write(
      "events.csv",
      "user_id,item_id,event_type,timestamp\nu1,\"a\nb\",view,2024-02-01\nu2,s,fly,2024-02-01\n");
  Loaded loaded;
  Load(path, {.threads = 1}, &loaded);
  ASSERT_TRUE(loaded.status.ok());
  EXPECT_THAT(loaded.rejects, ::testing::ElementsAre("4: unknown event type 'fly'"));
}

TEST_F(RecordLoaderTest, StrictStopsAtTheFirstBadRowInFileOrderEvenWhenParallel) {
  const std::string path = Write("events.csv", AwkwardEvents(5000));
  for (const int64_t chunk_bytes : {8 << 20, 300, 40}) {
    Loaded loaded;
    Load(path,
         {.strict = true, .threads = 2, .min_bytes_per_thread = 0, .chunk_bytes = chunk_bytes},
         &loaded);
    EXPECT_EQ(loaded.status.code(), absl::StatusCode::kAborted);
    // Row 5 (0-based) is the first bad one; rows with a quoted item take two lines.
    EXPECT_THAT(std::string(loaded.status.message()),
                ::testing::HasSubstr("unknown event type 'teleport'"));
    EXPECT_THAT(std::string(loaded.status.message()), ::testing::HasSubstr("events.csv:9:"))
        << chunk_bytes;
  }
}

TEST_F(RecordLoaderTest, StatsAfterAFailedLoadCountOnlyTheFilesLoadedBefore) {
  std::string rows = "user_id,item_id,event_type,timestamp\n";
  for (int i = 0; i < 300; ++i) rows += StrCat("u", i, ",s,view,2024-02-01\n");
  const std::string good = Write("good.csv", rows);
  const std::string bad = Write("bad.csv", rows + "u1,s,fly,2024-02-01\n");
  Mapping mapping;
  IdDictionary ids;
  RecordLoader loader(mapping, &ids,
                      {.strict = true, .threads = 2, .min_bytes_per_thread = 0, .chunk_bytes = 500},
                      {});
  std::vector<RecordVector> runs;
  ASSERT_TRUE(loader.Load({good, SourceKind::kEvents}, &runs).ok());
  EXPECT_EQ(loader.stats().rows_read, 300);
  // The bad row is in the last chunk; the chunks before it decoded and passed.
  EXPECT_EQ(loader.Load({bad, SourceKind::kEvents}, &runs).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(loader.stats().rows_read, 300);
  EXPECT_EQ(loader.stats().rows_accepted, 300);
}

TEST_F(RecordLoaderTest, RejectLinesInLaterChunksAreTheFilesLines) {
  // Blank lines and quoted line breaks before the cuts; a bad row in the last chunk.
  std::string text = "user_id,item_id,event_type,timestamp\n\n";
  for (int i = 0; i < 400; ++i) text += "u1,\"a\nb\",view,2024-02-01\n\r\n";
  text += "u2,s,fly,2024-02-01\n";
  const std::string path = Write("events.csv", text);
  Loaded loaded;
  Load(path, {.threads = 2, .min_bytes_per_thread = 0, .chunk_bytes = 500}, &loaded);
  ASSERT_TRUE(loaded.status.ok()) << loaded.status;
  EXPECT_THAT(loaded.rejects, ::testing::ElementsAre("1203: unknown event type 'fly'"));
}

TEST_F(RecordLoaderTest, DuplicateEventIdsAreFoundInInputOrderByOneThread) {
  std::string text = "user_id,item_id,event_type,timestamp,event_id\n";
  for (int i = 0; i < 3000; ++i) {
    text += StrCat("u", i % 7, ",s,view,2024-02-01,e", i % 1000, "\n");
  }
  const std::string path = Write("events.csv", text);
  Loaded loaded;
  Load(path, {.threads = 2, .min_bytes_per_thread = 0}, &loaded);
  ASSERT_TRUE(loaded.status.ok());
  EXPECT_EQ(loaded.runs, 1u);
  EXPECT_EQ(loaded.stats.rows_accepted, 1000);
  EXPECT_EQ(loaded.stats.duplicates, 2000);
  for (size_t i = 0; i < loaded.records.size(); ++i) EXPECT_EQ(loaded.records[i].seq, i);
}

TEST_F(RecordLoaderTest, KeptEventIdsAreFoundByTheirRecordsSeqAcrossFiles) {
  const std::string a = Write("a.csv",
                              "user_id,item_id,event_type,timestamp,event_id\n"
                              "u1,s,view,2024-02-01,e1\n"
                              "u1,s,view,2024-02-01,e1\n"      // a duplicate: no records
                              "u2,s,view,2024-02-01,\n"        // no id
                              "u3,s,teleport,2024-02-01,e9\n"  // rejected: no records
                              "u3,s,click,2024-02-01,e2\n");
  const std::string b = Write("b.csv",
                              "user_id,item_id,event_type,timestamp,event_id\n"
                              "u4,s,view,2024-02-01,e3\n");
  Mapping mapping;
  IdDictionary ids;
  RecordLoader loader(mapping, &ids, {.keep_event_ids = true},
                      [](const RejectedRow&) { return absl::OkStatus(); });
  std::vector<RecordVector> runs;
  ASSERT_TRUE(loader.Load({a, SourceKind::kEvents}, &runs).ok());
  ASSERT_TRUE(loader.Load({b, SourceKind::kEvents}, &runs).ok());
  std::vector<std::string> found;
  for (const RecordVector& run : runs) {
    for (const Record& r : run) {
      found.push_back(std::string(ids.users.Name(r.user)) + "=" +
                      std::string(loader.EventIdOf(r.seq)));
    }
  }
  EXPECT_THAT(found, ::testing::ElementsAre("u1=e1", "u2=", "u3=e2", "u4=e3"));
}

TEST_F(RecordLoaderTest, EventIdsAreNotKeptUnlessAsked) {
  const std::string a = Write("a.csv",
                              "user_id,item_id,event_type,timestamp,event_id\n"
                              "u1,s,view,2024-02-01,e1\n");
  Loaded loaded;
  Mapping mapping;
  RecordLoader loader(mapping, &loaded.ids, {}, {});
  std::vector<RecordVector> runs;
  ASSERT_TRUE(loader.Load({a, SourceKind::kEvents}, &runs).ok());
  EXPECT_EQ(loader.EventIdOf(runs[0][0].seq), "");
}

TEST_F(RecordLoaderTest, SeqContinuesAcrossFiles) {
  const std::string a =
      Write("a.csv", "user_id,item_id,event_type,timestamp\nu1,s,view,2024-02-01\n");
  const std::string b =
      Write("b.csv", "user_id,item_id,event_type,timestamp\nu2,s,view,2024-02-01\n");
  Mapping mapping;
  IdDictionary ids;
  RecordLoader loader(mapping, &ids, {}, {});
  std::vector<RecordVector> runs;
  ASSERT_TRUE(loader.Load({a, SourceKind::kEvents}, &runs).ok());
  ASSERT_TRUE(loader.Load({b, SourceKind::kEvents}, &runs).ok());
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0][0].seq, 0u);
  EXPECT_EQ(runs[1][0].seq, 1u);
}

TEST_F(RecordLoaderTest, MissingFileIsNotFoundAndNamesThePath) {
  Loaded loaded;
  Load(dir_ + "/nope.csv", {}, &loaded);
  EXPECT_EQ(loaded.status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(loaded.status.message()), ::testing::HasSubstr("nope.csv"));
}

}  // namespace
}  // namespace streamrec
