// The `streamrec` command, run as a process: rejects, strict mode, exit codes and
// messages for unreadable inputs and unwritable outputs, no half-written tables, Parquet
// output, JSON Lines input, and deterministic `generate`.

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/row_source.h"
#include "synth/generator.h"
#include "tests/table_compare.h"
#include "tests/test_util.h"

namespace streamrec::conformance {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr std::string_view kTables[] = {"enriched_events",  "sessions",      "user_profiles",
                                        "user_item_matrix", "user_features", "item_features"};

std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

// `text` as one CSV field, quoted when it has to be.
std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// The names of the entries of `dir`, sorted; empty if it does not exist.
std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Non-empty lines of `text`.
std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    ASSERT_TRUE(fs::exists(STREAMREC_BINARY)) << STREAMREC_BINARY << " is not built";
  }

  // Runs `streamrec args...` with stdin from /dev/null; returns the exit code (-1 if it
  // did not exit normally) and fills `out` and `err` with what it wrote.
  int Run(const std::vector<std::string>& args, std::string* out = nullptr,
          std::string* err = nullptr) {
    const std::string out_path = tmp_ / "stdout.txt";
    const std::string err_path = tmp_ / "stderr.txt";
    std::string command = ShellQuote(STREAMREC_BINARY);
    for (const std::string& a : args) {
      command += ' ';
      command += ShellQuote(a);
    }
    command += StrCat(" </dev/null >", ShellQuote(out_path), " 2>", ShellQuote(err_path));
    const int status = std::system(command.c_str());
    if (out != nullptr) *out = ReadFile(out_path);
    if (err != nullptr) *err = ReadFile(err_path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string Write(const std::string& name, std::string_view contents) {
    const std::string path = tmp_ / name;
    WriteFile(path, contents);
    return path;
  }

  // A small generated dataset (CSV history) in `tmp/<name>`.
  std::string Generate(const std::string& name, uint64_t seed) {
    GeneratorOptions o;
    o.users = 40;
    o.items = 15;
    o.events = 1500;
    o.seed = seed;
    o.history_format = TableFormat::kCsv;
    const std::string dir = tmp_ / name;
    const absl::Status s = GenerateDataset(o, dir);
    EXPECT_TRUE(s.ok()) << s;
    return dir;
  }

  // `pipeline` arguments for a dataset folder in the generator's layout.
  static std::vector<std::string> PipelineArgs(const std::string& data, const std::string& events,
                                               const std::string& out) {
    return {"pipeline",
            "--purchases",
            StrCat(data, "/history.csv"),
            StrCat(data, "/purchases.csv"),
            "--events",
            events,
            "--out",
            out};
  }

  TempDir tmp_{"cli_test"};
};

// Events with bad rows on known lines, the same without them, and purchases alike.
constexpr std::string_view kEventsWithBadRows =
    "user_id,item_id,event_type,timestamp,amount\n"
    "u1,i1,view,2024-02-01 10:00:00,\n"          // 2
    "u1,i1,hover,2024-02-01 10:01:00,\n"         // 3 unknown type
    "u1,i2,click,not-a-time,\n"                  // 4 bad time
    ",i2,click,2024-02-01 10:02:00,\n"           // 5 no user
    "u2,i2,purchase,2024-02-01 10:03:00,-5\n"    // 6 negative amount
    "u2,i2,purchase,2024-02-01 10:04:00,12.5\n"  // 7
    "u2,\"i,3\",click,2024-02-01 10:05:00,\n"    // 8
    "u1,i2,click,2024-02-01 10:40:00,\n";        // 9
constexpr std::string_view kEventsGood =
    "user_id,item_id,event_type,timestamp,amount\n"
    "u1,i1,view,2024-02-01 10:00:00,\n"
    "u2,i2,purchase,2024-02-01 10:04:00,12.5\n"
    "u2,\"i,3\",click,2024-02-01 10:05:00,\n"
    "u1,i2,click,2024-02-01 10:40:00,\n";
constexpr std::string_view kPurchasesWithBadRows =
    "user_id,item_id,purchase_amount,timestamp\n"
    "u1,i1,10.00,2024-01-01 00:00:00\n"  // 2
    "u1,i1,abc,2024-01-02 00:00:00\n"    // 3 not a number
    "u3,i9,inf,2024-01-02 00:00:00\n"    // 4 not finite
    "u2,i2,7.5,2024-02-01 10:04:00\n";   // 5
constexpr std::string_view kPurchasesGood =
    "user_id,item_id,purchase_amount,timestamp\n"
    "u1,i1,10.00,2024-01-01 00:00:00\n"
    "u2,i2,7.5,2024-02-01 10:04:00\n";

TEST_F(CliTest, BadRowsAreListedInRejectedCsvAndGoodRowsGiveTheTables) {
  const std::string events = Write("events.csv", kEventsWithBadRows);
  const std::string purchases = Write("purchases.csv", kPurchasesWithBadRows);
  const std::string out = tmp_ / "out";
  std::string err;
  ASSERT_EQ(
      Run({"pipeline", "--purchases", purchases, "--events", events, "--out", out}, nullptr, &err),
      0)
      << err;
  EXPECT_THAT(err, HasSubstr("6 rejected"));

  absl::StatusOr<CsvTable> rejected = ReadCsvTable(StrCat(out, "/rejected.csv"));
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_THAT(rejected->header, ElementsAre("source", "line", "reason"));
  std::vector<std::string> where;
  for (const std::vector<std::string>& row : rejected->rows) {
    where.push_back(StrCat(row[0], ":", row[1]));
    EXPECT_FALSE(row[2].empty()) << "no reason for " << where.back();
  }
  EXPECT_THAT(where, UnorderedElementsAre(StrCat(events, ":3"), StrCat(events, ":4"),
                                          StrCat(events, ":5"), StrCat(events, ":6"),
                                          StrCat(purchases, ":3"), StrCat(purchases, ":4")));
  const std::string reasons = ReadFile(StrCat(out, "/rejected.csv"));
  EXPECT_THAT(reasons, AllOf(HasSubstr("hover"), HasSubstr("negative"), HasSubstr("user_id")));

  // The tables are those of the good rows alone.
  const std::string good_out = tmp_ / "good";
  ASSERT_EQ(Run({"pipeline", "--purchases", Write("purchases_good.csv", kPurchasesGood), "--events",
                 Write("events_good.csv", kEventsGood), "--out", good_out},
                nullptr, &err),
            0)
      << err;
  EXPECT_FALSE(FileExists(StrCat(good_out, "/rejected.csv")));
  EXPECT_EQ(CompareFeatureTableDirs(good_out, out), "");
  // Spot checks against the spec: u2's purchase event sees both of u2's purchases at
  // 10:04 (its own and the purchase file's), and the bad rows left no trace.
  absl::StatusOr<CsvTable> users = ReadCsvTable(StrCat(out, "/user_features.csv"));
  ASSERT_TRUE(users.ok()) << users.status();
  EXPECT_EQ(users->rows.size(), 2u);  // u1, u2; u3 only had a bad row
  absl::StatusOr<TableComparison> enriched = CompareCsvTables(
      Write("expected_enriched.csv",
            "user_id,item_id,event_type,timestamp,avg_purchase_amount,past_purchases\n"
            "u1,i1,view,2024-02-01 10:00:00,10,1\n"
            "u2,i2,purchase,2024-02-01 10:04:00,10,2\n"
            "u2,\"i,3\",click,2024-02-01 10:05:00,10,2\n"
            "u1,i2,click,2024-02-01 10:40:00,10,1\n"),
      StrCat(out, "/enriched_events.csv"), FeatureTableKey("enriched_events"));
  ASSERT_TRUE(enriched.ok()) << enriched.status();
  EXPECT_TRUE(enriched->equal()) << enriched->report;

  // A later clean run into the same folder removes the stale rejected.csv.
  ASSERT_EQ(Run({"pipeline", "--purchases", tmp_ / "purchases_good.csv", "--events",
                 tmp_ / "events_good.csv", "--out", out},
                nullptr, &err),
            0)
      << err;
  EXPECT_FALSE(FileExists(StrCat(out, "/rejected.csv")));
  EXPECT_EQ(CompareFeatureTableDirs(good_out, out), "");
}

TEST_F(CliTest, StrictStopsAtTheFirstBadRowWithExitOne) {
  const std::string events = Write("events.csv", kEventsWithBadRows);
  const std::string purchases = Write("purchases.csv", kPurchasesWithBadRows);
  const std::string out = tmp_ / "out";
  std::string err;
  EXPECT_EQ(
      Run({"pipeline", "--strict", "--purchases", purchases, "--events", events, "--out", out},
          nullptr, &err),
      1);
  // Purchase files load first: the first bad row is purchases.csv line 3.
  EXPECT_THAT(err, HasSubstr(StrCat(purchases, ":3")));
  EXPECT_THAT(Lines(err), ::testing::SizeIs(1)) << err;
  for (const std::string& name : ListDir(out)) {
    EXPECT_FALSE(name.ends_with(".csv")) << name << " left after a failed run";
    EXPECT_THAT(name, ::testing::Not(HasSubstr(".tmp"))) << "temporary file left";
  }

  // A strict run over good rows succeeds.
  EXPECT_EQ(Run({"pipeline", "--strict", "--purchases", Write("p.csv", kPurchasesGood), "--events",
                 Write("e.csv", kEventsGood), "--out", out},
                nullptr, &err),
            0)
      << err;
}

TEST_F(CliTest, StrictFailureInTheEventsFileLeavesNoTables) {
  const std::string out = tmp_ / "out";
  std::string err;
  EXPECT_EQ(Run({"pipeline", "--strict", "--purchases", Write("p.csv", kPurchasesGood), "--events",
                 Write("e.csv", kEventsWithBadRows), "--out", out},
                nullptr, &err),
            1);
  EXPECT_THAT(err, HasSubstr(StrCat(tmp_ / "e.csv", ":3")));
  EXPECT_THAT(err, HasSubstr("hover"));
  for (const std::string& name : ListDir(out)) {
    EXPECT_FALSE(name.ends_with(".csv")) << name << " left after a failed run";
  }
}

// DISABLED: a question for the pipeline's owner rather than a settled bug. A failed run
// into a folder that holds an earlier run's output leaves that output (six tables and
// its rejected.csv) under the final names, so the folder looks like the result of the
// failed run. RunPipeline writes through temporary names and removes a stale
// rejected.csv on success, but does nothing to the folder when it fails. If a failed run
// should leave no table under a final name, this test states it.
// Output is committed as a whole: a failed run leaves an earlier run's tables exactly as
// they were (and no temporary files), never a mix of old and new tables.
TEST_F(CliTest, FailedRunLeavesEarlierOutputUntouched) {
  const std::string out = tmp_ / "out";
  std::string err;
  ASSERT_EQ(Run({"pipeline", "--events", Write("e.csv", kEventsWithBadRows), "--out", out}, nullptr,
                &err),
            0)
      << err;
  const std::vector<std::string> before = ListDir(out);
  std::vector<std::string> contents;
  for (const std::string& name : before) contents.push_back(ReadFile(StrCat(out, "/", name)));
  EXPECT_EQ(Run({"pipeline", "--strict", "--events", tmp_ / "e.csv", "--out", out}, nullptr, &err),
            1);
  EXPECT_EQ(ListDir(out), before);
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(ReadFile(StrCat(out, "/", before[i])), contents[i]) << before[i] << " changed";
  }
}

TEST_F(CliTest, MissingInputFileExitsTwoWithOneMessageNamingIt) {
  const std::string missing = tmp_ / "no-such-events.csv";
  const std::string out = tmp_ / "out";
  std::string stdout_text, err;
  EXPECT_EQ(Run({"pipeline", "--purchases", Write("p.csv", kPurchasesGood), "--events", missing,
                 "--out", out},
                &stdout_text, &err),
            2);
  EXPECT_THAT(stdout_text, IsEmpty());
  const std::vector<std::string> lines = Lines(err);
  ASSERT_THAT(lines, ::testing::SizeIs(1)) << err;
  EXPECT_THAT(lines[0], HasSubstr(missing));
  for (const std::string& name : ListDir(out)) {
    EXPECT_FALSE(name.ends_with(".csv")) << name << " left after a failed run";
  }
}

TEST_F(CliTest, MissingPurchaseFileExitsTwo) {
  const std::string missing = tmp_ / "no-such-purchases.csv";
  std::string err;
  EXPECT_EQ(Run({"pipeline", "--purchases", missing, "--events", Write("e.csv", kEventsGood),
                 "--out", tmp_ / "out"},
                nullptr, &err),
            2);
  EXPECT_THAT(Lines(err), ElementsAre(HasSubstr(missing)));
}

TEST_F(CliTest, OutputFolderUnderARegularFileExitsTwo) {
  const std::string blocker = Write("blocker", "a regular file\n");
  const std::string out = blocker + "/out";
  std::string err;
  EXPECT_EQ(Run({"pipeline", "--purchases", Write("p.csv", kPurchasesGood), "--events",
                 Write("e.csv", kEventsGood), "--out", out},
                nullptr, &err),
            2);
  EXPECT_THAT(Lines(err), ElementsAre(HasSubstr(out)));
  EXPECT_EQ(ReadFile(blocker), "a regular file\n");
}

TEST_F(CliTest, OutputPathThatIsAFileExitsTwo) {
  const std::string blocker = Write("blocker", "a regular file\n");
  std::string err;
  EXPECT_EQ(
      Run({"pipeline", "--events", Write("e.csv", kEventsGood), "--out", blocker}, nullptr, &err),
      2);
  EXPECT_THAT(Lines(err), ElementsAre(HasSubstr(blocker)));
  EXPECT_EQ(ReadFile(blocker), "a regular file\n");
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Run({}), 2);
  EXPECT_EQ(Run({"pipeline", "--events", tmp_ / "e.csv"}), 2);  // --out missing
  EXPECT_EQ(Run({"pipeline", "--events", Write("e.csv", kEventsGood), "--out", tmp_ / "o",
                 "--format", "xml"}),
            2);
  EXPECT_EQ(Run({"no-such-command"}), 2);
}

TEST_F(CliTest, ParquetFormatWritesSixParquetTables) {
  const std::string data = Generate("data", 5);
  const std::string csv_out = tmp_ / "csv";
  const std::string parquet_out = tmp_ / "parquet";
  std::string err;
  ASSERT_EQ(Run(PipelineArgs(data, StrCat(data, "/events.csv"), csv_out), nullptr, &err), 0) << err;
  std::vector<std::string> args = PipelineArgs(data, StrCat(data, "/events.csv"), parquet_out);
  args.insert(args.end(), {"--format", "parquet"});
  ASSERT_EQ(Run(args, nullptr, &err), 0) << err;

  std::vector<std::string> expected_files;
  for (std::string_view t : kTables) expected_files.push_back(StrCat(t, ".parquet"));
  std::sort(expected_files.begin(), expected_files.end());
  EXPECT_EQ(ListDir(parquet_out), expected_files);

  // Every table reads back with the CSV table's columns, row count and values.
  for (std::string_view t : kTables) {
    SCOPED_TRACE(t);
    absl::StatusOr<CsvTable> csv = ReadCsvTable(StrCat(csv_out, "/", t, ".csv"));
    ASSERT_TRUE(csv.ok()) << csv.status();
    absl::StatusOr<std::unique_ptr<RowSource>> parquet =
        OpenParquetSource(StrCat(parquet_out, "/", t, ".parquet"));
    ASSERT_TRUE(parquet.ok()) << parquet.status();
    EXPECT_EQ((*parquet)->columns(), csv->header);
    // The rows, written back as CSV for the comparer.
    std::string as_csv = StrCat(absl::StrJoin((*parquet)->columns(), ","), "\n");
    Row row;
    size_t rows = 0;
    while (true) {
      absl::StatusOr<RowStatus> s = (*parquet)->Next(&row);
      ASSERT_TRUE(s.ok()) << s.status();
      if (*s == RowStatus::kEnd) break;
      ASSERT_EQ(*s, RowStatus::kRow) << (*parquet)->bad_reason();
      ++rows;
      for (size_t i = 0; i < row.fields.size(); ++i) {
        if (i > 0) as_csv += ',';
        as_csv += CsvField(row.fields[i]);
      }
      as_csv += '\n';
    }
    EXPECT_GT(rows, 0u);
    EXPECT_EQ(rows, csv->rows.size());
    absl::StatusOr<TableComparison> same =
        CompareCsvTables(StrCat(csv_out, "/", t, ".csv"),
                         Write(StrCat(t, ".from_parquet.csv"), as_csv), FeatureTableKey(t));
    ASSERT_TRUE(same.ok()) << same.status();
    EXPECT_TRUE(same->equal()) << same->report;
  }
}

// Writes the CSV events file `csv` as JSON Lines: ids alternate between JSON strings and
// numbers, amounts are numbers, and an absent amount is left out or null.
void WriteJsonLines(const std::string& csv, const std::string& jsonl) {
  absl::StatusOr<CsvTable> table = ReadCsvTable(csv);
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_THAT(table->header,
              ElementsAre("user_id", "item_id", "event_type", "timestamp", "amount"));
  std::string out;
  for (size_t i = 0; i < table->rows.size(); ++i) {
    const std::vector<std::string>& r = table->rows[i];
    const bool as_numbers = i % 2 == 0;  // the generator's ids are decimal integers
    const std::string q = as_numbers ? "" : "\"";
    out += StrCat("{\"user_id\": ", q, r[0], q, ", \"item_id\": ", q, r[1], q,
                  ", \"event_type\": \"", r[2], "\", \"timestamp\": \"", r[3], "\"");
    if (!r[4].empty()) {
      out += StrCat(", \"amount\": ", r[4]);
    } else if (i % 3 == 0) {
      out += ", \"amount\": null";
    }
    out += "}\n";
  }
  WriteFile(jsonl, out);
}

TEST_F(CliTest, JsonLinesEventsGiveTheSameTablesAsCsv) {
  const std::string data = Generate("data", 6);
  const std::string jsonl = tmp_ / "events.jsonl";
  ASSERT_NO_FATAL_FAILURE(WriteJsonLines(StrCat(data, "/events.csv"), jsonl));
  ASSERT_THAT(ReadFile(jsonl), HasSubstr("\"purchase\""));
  const std::string csv_out = tmp_ / "from_csv";
  const std::string jsonl_out = tmp_ / "from_jsonl";
  std::string err;
  ASSERT_EQ(Run(PipelineArgs(data, StrCat(data, "/events.csv"), csv_out), nullptr, &err), 0) << err;
  ASSERT_EQ(Run(PipelineArgs(data, jsonl, jsonl_out), nullptr, &err), 0) << err;
  EXPECT_FALSE(FileExists(StrCat(jsonl_out, "/rejected.csv")))
      << ReadFile(StrCat(jsonl_out, "/rejected.csv"));
  EXPECT_EQ(CompareFeatureTableDirs(csv_out, jsonl_out), "");
}

TEST_F(CliTest, GenerateWithTheSameSeedGivesIdenticalFiles) {
  auto generate = [&](const std::string& out, const std::string& seed) {
    std::string err;
    EXPECT_EQ(Run({"generate", "--users", "60", "--items", "25", "--events", "3000", "--seed", seed,
                   "--out", out},
                  nullptr, &err),
              0)
        << err;
  };
  const std::string a = tmp_ / "a";
  const std::string b = tmp_ / "b";
  const std::string c = tmp_ / "c";
  generate(a, "17");
  generate(b, "17");
  generate(c, "18");
  EXPECT_THAT(ListDir(a), ElementsAre("events.csv", "history.parquet", "purchases.csv"));
  EXPECT_EQ(ListDir(a), ListDir(b));
  for (const std::string& name : ListDir(a)) {
    SCOPED_TRACE(name);
    const std::string first = ReadFile(StrCat(a, "/", name));
    EXPECT_FALSE(first.empty());
    EXPECT_TRUE(first == ReadFile(StrCat(b, "/", name))) << "differs between two runs";
  }
  EXPECT_NE(ReadFile(StrCat(a, "/events.csv")), ReadFile(StrCat(c, "/events.csv")));
  EXPECT_EQ(Lines(ReadFile(StrCat(a, "/events.csv"))).size(), 3001u);
}

TEST_F(CliTest, GeneratedDataRunsThroughThePipelineWithoutRejects) {
  const std::string data = tmp_ / "gen";
  std::string err;
  ASSERT_EQ(Run({"generate", "--users", "30", "--items", "10", "--events", "800", "--seed", "4",
                 "--out", data},
                nullptr, &err),
            0)
      << err;
  const std::string out = tmp_ / "out";
  ASSERT_EQ(
      Run({"pipeline", "--purchases", StrCat(data, "/history.parquet"),
           StrCat(data, "/purchases.csv"), "--events", StrCat(data, "/events.csv"), "--out", out},
          nullptr, &err),
      0)
      << err;
  EXPECT_THAT(err, HasSubstr("0 rejected"));
  absl::StatusOr<CsvTable> enriched = ReadCsvTable(StrCat(out, "/enriched_events.csv"));
  ASSERT_TRUE(enriched.ok()) << enriched.status();
  EXPECT_EQ(enriched->rows.size(), 800u);
}

}  // namespace
}  // namespace streamrec::conformance
