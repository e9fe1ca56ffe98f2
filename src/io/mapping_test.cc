// ParseMapping: the documented example, CSV options, and a clear error for every kind
// of mistake a hand-written mapping file can hold.

#include "io/mapping.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/event.h"
#include "common/test_temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr std::string_view kFullExample = R"toml([events]
delimiter = ","
header = true
[events.columns]
user_id = "user_id"
item_id = "product_id"
event_type = "event_type"
timestamp = "event_time"
amount = "price"
[events.constants]
[events.event_types]
view = "view"
cart = "add_to_cart"
purchase = "purchase"
[purchases]
)toml";

Mapping MustParse(std::string_view text) {
  absl::StatusOr<Mapping> m = ParseMapping(text, "map.toml");
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *std::move(m) : Mapping{};
}

// The error message for `text`; fails the test if it parsed.
std::string Error(std::string_view text) {
  absl::StatusOr<Mapping> m = ParseMapping(text, "map.toml");
  EXPECT_FALSE(m.ok()) << "parsed:\n" << text;
  if (m.ok()) return "";
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << m.status();
  const std::string msg(m.status().message());
  EXPECT_THAT(msg, HasSubstr("map.toml")) << "errors name the origin";
  return msg;
}

TEST(ParseMappingTest, FullExampleParses) {
  const Mapping m = MustParse(kFullExample);
  EXPECT_EQ(m.events.csv.delimiter, ',');
  EXPECT_TRUE(m.events.csv.header);
  EXPECT_THAT(m.events.columns,
              UnorderedElementsAre(Pair("user_id", "user_id"), Pair("item_id", "product_id"),
                                   Pair("event_type", "event_type"),
                                   Pair("timestamp", "event_time"), Pair("amount", "price")));
  EXPECT_THAT(m.events.constants, IsEmpty());
  EXPECT_THAT(m.events.event_types, UnorderedElementsAre(Pair("view", EventType::kView),
                                                         Pair("cart", EventType::kAddToCart),
                                                         Pair("purchase", EventType::kPurchase)));
  EXPECT_THAT(m.purchases.columns, IsEmpty());
  EXPECT_THAT(m.purchases.constants, IsEmpty());
  EXPECT_THAT(m.purchases.event_types, IsEmpty());
  EXPECT_EQ(m.purchases.csv.delimiter, ',');
  EXPECT_TRUE(m.purchases.csv.header);
}

TEST(ParseMappingTest, EmptyTextIsTheDefaultMapping) {
  const Mapping m = MustParse("");
  EXPECT_THAT(m.events.columns, IsEmpty());
  EXPECT_THAT(m.events.event_types, IsEmpty());
  EXPECT_EQ(m.events.csv.delimiter, ',');
  EXPECT_TRUE(m.events.csv.header);
}

TEST(ParseMappingTest, CommentsAreAllowed) {
  const Mapping m = MustParse("# the shop's export\n[events] # clicks\nheader = false\n");
  EXPECT_FALSE(m.events.csv.header);
}

TEST(ParseMappingTest, ForPicksTheSourceKind) {
  const Mapping m = MustParse("[events]\ndelimiter = \";\"\n[purchases]\ndelimiter = \"|\"\n");
  EXPECT_EQ(m.For(SourceKind::kEvents).csv.delimiter, ';');
  EXPECT_EQ(m.For(SourceKind::kPurchases).csv.delimiter, '|');
}

TEST(ParseMappingTest, TabDelimiter) {
  const Mapping m = MustParse("[events]\ndelimiter = \"\\t\"\n");
  EXPECT_EQ(m.events.csv.delimiter, '\t');
}

TEST(ParseMappingTest, HeaderFalse) {
  const Mapping m = MustParse("[purchases]\nheader = false\n");
  EXPECT_FALSE(m.purchases.csv.header);
  EXPECT_TRUE(m.events.csv.header);
}

TEST(ParseMappingTest, ConstantsAreRead) {
  const Mapping m =
      MustParse("[events.constants]\nevent_type = \"view\"\ntimestamp_offset_ms = \"0\"\n");
  EXPECT_THAT(m.events.constants,
              UnorderedElementsAre(Pair("event_type", "view"), Pair("timestamp_offset_ms", "0")));
}

TEST(ParseMappingTest, DottedKeysWork) {
  const Mapping m = MustParse("events.columns.user_id = \"uid\"\n");
  EXPECT_THAT(m.events.columns, UnorderedElementsAre(Pair("user_id", "uid")));
}

TEST(ParseMappingTest, PurchaseColumns) {
  const Mapping m = MustParse(
      "[purchases.columns]\nuser_id = \"customer\"\namount = \"total\"\n"
      "timestamp = \"ordered_at\"\ntimestamp_offset_ms = \"tz_ms\"\n");
  EXPECT_THAT(
      m.purchases.columns,
      UnorderedElementsAre(Pair("user_id", "customer"), Pair("amount", "total"),
                           Pair("timestamp", "ordered_at"), Pair("timestamp_offset_ms", "tz_ms")));
}

TEST(ParseMappingTest, EventIdColumn) {
  const Mapping m = MustParse("[events.columns]\nevent_id = \"uuid\"\n");
  EXPECT_THAT(m.events.columns, UnorderedElementsAre(Pair("event_id", "uuid")));
}

TEST(ParseMappingTest, UnknownTopLevelTableIsAnError) {
  const std::string msg = Error("[clicks]\nheader = true\n");
  EXPECT_THAT(msg, HasSubstr("unknown table [clicks]"));
  EXPECT_THAT(msg, HasSubstr("[events] or [purchases]"));
}

TEST(ParseMappingTest, TopLevelKeyIsAnError) {
  EXPECT_THAT(Error("delimiter = \",\"\n"), HasSubstr("unknown table [delimiter]"));
}

TEST(ParseMappingTest, SourceThatIsNotATableIsAnError) {
  EXPECT_THAT(Error("events = \"clicks.csv\"\n"), HasSubstr("'events' must be a table"));
}

TEST(ParseMappingTest, UnknownKeyIsAnError) {
  const std::string msg = Error("[events]\nquote = \"'\"\n");
  EXPECT_THAT(msg, HasSubstr("[events]"));
  EXPECT_THAT(msg, HasSubstr("unknown key 'quote'"));
}

TEST(ParseMappingTest, UnknownKeyInPurchasesNamesPurchases) {
  const std::string msg = Error("[purchases]\ncolumn = \"x\"\n");
  EXPECT_THAT(msg, HasSubstr("[purchases]"));
  EXPECT_THAT(msg, HasSubstr("unknown key 'column'"));
}

TEST(ParseMappingTest, UnknownEngineFieldInColumnsIsAnError) {
  const std::string msg = Error("[events.columns]\nprice = \"price\"\n");
  EXPECT_THAT(msg, HasSubstr("[events.columns]"));
  EXPECT_THAT(msg, HasSubstr("unknown engine field 'price'"));
}

TEST(ParseMappingTest, UnknownEngineFieldInConstantsIsAnError) {
  const std::string msg = Error("[events.constants]\ncountry = \"DE\"\n");
  EXPECT_THAT(msg, HasSubstr("[events.constants]"));
  EXPECT_THAT(msg, HasSubstr("unknown engine field 'country'"));
}

TEST(ParseMappingTest, EventOnlyFieldInPurchasesIsAnError) {
  EXPECT_THAT(Error("[purchases.columns]\nevent_type = \"kind\"\n"),
              HasSubstr("unknown engine field 'event_type'"));
  EXPECT_THAT(Error("[purchases.columns]\nevent_id = \"id\"\n"),
              HasSubstr("unknown engine field 'event_id'"));
}

TEST(ParseMappingTest, BadEventTypeTargetIsAnError) {
  const std::string msg = Error("[events.event_types]\nlike = \"favourite\"\n");
  EXPECT_THAT(msg, HasSubstr("[events.event_types]"));
  EXPECT_THAT(msg, HasSubstr("'like' maps to 'favourite'"));
  EXPECT_THAT(msg, HasSubstr("view, click, add_to_cart, purchase"));
}

TEST(ParseMappingTest, EventTypesInPurchasesIsAnError) {
  EXPECT_THAT(Error("[purchases.event_types]\nbuy = \"purchase\"\n"),
              HasSubstr("only events have event types"));
}

TEST(ParseMappingTest, FieldBothColumnAndConstantIsAnError) {
  const std::string msg =
      Error("[events.columns]\nevent_type = \"kind\"\n[events.constants]\nevent_type = \"view\"\n");
  EXPECT_THAT(msg, HasSubstr("[events]"));
  EXPECT_THAT(msg, HasSubstr("'event_type' is both a column and a constant"));
}

TEST(ParseMappingTest, NonStringColumnValueIsAnError) {
  const std::string msg = Error("[events.columns]\nuser_id = 3\n");
  EXPECT_THAT(msg, HasSubstr("[events.columns]"));
  EXPECT_THAT(msg, HasSubstr("'user_id' must be a string"));
}

TEST(ParseMappingTest, NonStringConstantIsAnError) {
  EXPECT_THAT(Error("[events.constants]\ntimestamp_offset_ms = 3600000\n"),
              HasSubstr("'timestamp_offset_ms' must be a string"));
}

TEST(ParseMappingTest, NonStringEventTypeIsAnError) {
  EXPECT_THAT(Error("[events.event_types]\nview = true\n"), HasSubstr("'view' must be a string"));
}

TEST(ParseMappingTest, ColumnsThatIsNotATableIsAnError) {
  EXPECT_THAT(Error("[events]\ncolumns = \"user_id\"\n"), HasSubstr("'columns' must be a table"));
}

TEST(ParseMappingTest, LongDelimiterIsAnError) {
  EXPECT_THAT(Error("[events]\ndelimiter = \"::\"\n"),
              HasSubstr("delimiter must be a one-character string"));
}

TEST(ParseMappingTest, EmptyDelimiterIsAnError) {
  EXPECT_THAT(Error("[events]\ndelimiter = \"\"\n"),
              HasSubstr("delimiter must be a one-character string"));
}

TEST(ParseMappingTest, NonStringDelimiterIsAnError) {
  EXPECT_THAT(Error("[events]\ndelimiter = 9\n"),
              HasSubstr("delimiter must be a one-character string"));
}

TEST(ParseMappingTest, NonBooleanHeaderIsAnError) {
  EXPECT_THAT(Error("[events]\nheader = \"yes\"\n"), HasSubstr("header must be true or false"));
}

TEST(ParseMappingTest, SyntaxErrorNamesTheLine) {
  const std::string msg = Error("[events]\nheader = true\ndelimiter = ,\n");
  EXPECT_THAT(msg, HasSubstr("map.toml:3:"));
}

TEST(ParseMappingTest, UnclosedTableHeaderNamesTheLine) {
  EXPECT_THAT(Error("\n\n\n\n[events\n"), HasSubstr("map.toml:5:"));
}

TEST(ParseMappingTest, DuplicateKeyIsASyntaxError) {
  EXPECT_THAT(Error("[events]\nheader = true\nheader = false\n"), HasSubstr("map.toml:3:"));
}

TEST(ParseMappingTest, OriginIsUsedInErrors) {
  absl::StatusOr<Mapping> m = ParseMapping("[nope]\n", "configs/shop.toml");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("configs/shop.toml"));
}

TEST(SourceKindNameTest, Names) {
  EXPECT_EQ(SourceKindName(SourceKind::kEvents), "events");
  EXPECT_EQ(SourceKindName(SourceKind::kPurchases), "purchases");
}

// LoadMapping reads a file from disk.
class LoadMappingTest : public ::testing::Test {
 protected:
  TempDir temp_{"mapping_test"};
  const std::string dir_ = temp_.path();
};

TEST_F(LoadMappingTest, ReadsAFile) {
  const std::string path = dir_ + "/map.toml";
  std::ofstream(path) << kFullExample;
  absl::StatusOr<Mapping> m = LoadMapping(path);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->events.columns.at("item_id"), "product_id");
}

TEST_F(LoadMappingTest, ErrorsNameTheFilePath) {
  const std::string path = dir_ + "/bad.toml";
  std::ofstream(path) << "[events]\nbogus = 1\n";
  absl::StatusOr<Mapping> m = LoadMapping(path);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr(path));
}

TEST_F(LoadMappingTest, MissingFileIsNotFound) {
  const std::string path = dir_ + "/absent.toml";
  absl::StatusOr<Mapping> m = LoadMapping(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(m.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("No such file or directory"));
}

// An ifstream opens a directory and reads nothing: that would be the default mapping.
TEST_F(LoadMappingTest, ADirectoryIsAnErrorNotAnEmptyMapping) {
  absl::StatusOr<Mapping> m = LoadMapping(dir_);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("a directory, not a file"));
}

}  // namespace
}  // namespace streamrec
