// The state tables written in parts on several threads: the same bytes as on one.

#include "features/tables.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "common/test_temp_dir.h"
#include "features/test_records.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using testing_records::Records;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Writes the four state tables into `dir` on `threads` threads.
void WriteAll(const FeatureOperators& ops, const IdDictionary& ids, const std::string& dir,
              int threads) {
  std::vector<std::unique_ptr<TableWriter>> writers;
  std::vector<TableWriter*> outs;
  for (FeatureTable table : kStateTables) {
    absl::StatusOr<std::unique_ptr<TableWriter>> w =
        TableWriter::Create(dir + "/" + std::string(FeatureTableName(table)),
                            FeatureTableSchema(table), TableFormat::kCsv);
    ASSERT_TRUE(w.ok()) << w.status();
    outs.push_back(w->get());
    writers.push_back(*std::move(w));
  }
  WriteStateTables(ops, ids, outs, threads);
  for (auto& w : writers) ASSERT_TRUE(w->Finish().ok());
}

TEST(StateTablesTest, ManyPartsOnTwoThreadsGiveTheSameTablesAsOneThread) {
  // Users and items for many parts (of 256), every user with a few items, some
  // with purchases, and some items never seen (empty rows in item_features).
  constexpr uint32_t kUsers = 20'000;
  constexpr uint32_t kItems = 30'000;
  IdDictionary ids;
  for (uint32_t u = 0; u < kUsers; ++u) ids.users.Intern("user-" + std::to_string(u));
  for (uint32_t i = 0; i < kItems; ++i) ids.items.Intern("item-" + std::to_string(i));
  Records records;
  for (uint32_t u = 0; u < kUsers; ++u) {
    for (uint32_t k = 0; k < 1 + u % 4; ++k) {
      const uint32_t item = (u * 7 + k * 4099) % (kItems - 5000);
      records.Event(u, item, static_cast<EventType>(k % 3), u % 500 + k * 40 * 60);
    }
    if (u % 3 == 0) records.Purchase(u, u % 1000, 1.5 + u % 7, u % 500 + 10);
  }
  FeatureOperators ops;
  FeatureOutput out;
  ops.Apply(records.Sorted(), &out);

  TempDir one("tables_one"), two("tables_two");
  WriteAll(ops, ids, one.path(), 1);
  WriteAll(ops, ids, two.path(), 2);
  for (FeatureTable table : kStateTables) {
    const std::string name = std::string(FeatureTableName(table)) + ".csv";
    const std::string text = ReadFile(one.path() + "/" + name);
    EXPECT_EQ(ReadFile(two.path() + "/" + name), text) << name;
    const auto rows = std::count(text.begin(), text.end(), '\n') - 1;
    if (table == FeatureTable::kUserFeatures) {
      EXPECT_EQ(rows, kUsers);
    } else if (table == FeatureTable::kItemFeatures) {
      EXPECT_EQ(rows, kItems);
    } else if (table == FeatureTable::kUserItemMatrix) {
      EXPECT_GT(rows, kUsers);
    }
  }
}

}  // namespace
}  // namespace streamrec
