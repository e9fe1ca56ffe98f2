// Interner and StringArena: dense ids in first-seen order, and names that stay where
// they are however much the arena grows.

#include "common/interner.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace streamrec {
namespace {

constexpr size_t kArenaBlock = 1 << 20;

TEST(InternerTest, EmptyInternerHasNoNames) {
  Interner<UserIdx> users;
  EXPECT_EQ(users.size(), 0u);
  EXPECT_FALSE(users.Find("u1").has_value());
}

TEST(InternerTest, IdsAreDenseInFirstSeenOrder) {
  Interner<UserIdx> users;
  EXPECT_EQ(users.Intern("zeta"), UserIdx(0));
  EXPECT_EQ(users.Intern("alpha"), UserIdx(1));
  EXPECT_EQ(users.Intern("mid"), UserIdx(2));
  EXPECT_EQ(users.size(), 3u);
}

TEST(InternerTest, SecondInternOfANameReturnsTheSameId) {
  Interner<ItemIdx> items;
  const ItemIdx a = items.Intern("a");
  items.Intern("b");
  EXPECT_EQ(items.Intern("a"), a);
  EXPECT_EQ(items.Intern("b"), ItemIdx(1));
  EXPECT_EQ(items.size(), 2u);
}

TEST(InternerTest, NumericLookingIdsAreOpaqueText) {
  // "42", "042" and "u-42" are three different ids.
  Interner<UserIdx> users;
  EXPECT_EQ(users.Intern("42"), UserIdx(0));
  EXPECT_EQ(users.Intern("042"), UserIdx(1));
  EXPECT_EQ(users.Intern("u-42"), UserIdx(2));
}

TEST(InternerTest, IdsAreCaseAndSpaceSensitive) {
  Interner<UserIdx> users;
  EXPECT_NE(users.Intern("abc"), users.Intern("ABC"));
  EXPECT_NE(users.Intern("abc"), users.Intern("abc "));
  EXPECT_EQ(users.size(), 3u);
}

TEST(InternerTest, FindOfUnknownNameIsNullopt) {
  Interner<UserIdx> users;
  users.Intern("known");
  EXPECT_EQ(users.Find("unknown"), std::nullopt);
  EXPECT_EQ(users.Find("know"), std::nullopt);
  EXPECT_EQ(users.Find(""), std::nullopt);
}

TEST(InternerTest, FindDoesNotIntern) {
  Interner<UserIdx> users;
  EXPECT_FALSE(users.Find("x").has_value());
  EXPECT_EQ(users.size(), 0u);
  EXPECT_EQ(users.Intern("y"), UserIdx(0));
}

TEST(InternerTest, FindReturnsTheInternedId) {
  Interner<ItemIdx> items;
  items.Intern("a");
  items.Intern("b");
  EXPECT_EQ(items.Find("b"), ItemIdx(1));
  EXPECT_EQ(items.Find("a"), ItemIdx(0));
}

TEST(InternerTest, NameReturnsTheInternedText) {
  Interner<UserIdx> users;
  const UserIdx id = users.Intern("user-7");
  EXPECT_EQ(users.Name(id), "user-7");
}

TEST(InternerTest, EmptyStringGetsAnIdLikeAnyOther) {
  Interner<UserIdx> users;
  users.Intern("a");
  const UserIdx empty = users.Intern("");
  EXPECT_EQ(empty, UserIdx(1));
  EXPECT_EQ(users.Intern(""), empty);
  EXPECT_EQ(users.Find(""), empty);
  EXPECT_EQ(users.Name(empty), "");
  EXPECT_EQ(users.Intern("b"), UserIdx(2));
}

TEST(InternerTest, EmptyStringAsTheVeryFirstName) {
  Interner<UserIdx> users;
  EXPECT_EQ(users.Intern(""), UserIdx(0));
  EXPECT_EQ(users.Intern("x"), UserIdx(1));
  EXPECT_EQ(users.Name(UserIdx(0)), "");
  EXPECT_EQ(users.Name(UserIdx(1)), "x");
}

TEST(InternerTest, NamesWithEmbeddedNulAreDistinct) {
  Interner<UserIdx> users;
  const std::string with_nul("a\0b", 3);
  const UserIdx a = users.Intern("a");
  const UserIdx nul = users.Intern(with_nul);
  EXPECT_NE(a, nul);
  EXPECT_EQ(users.Name(nul), with_nul);
}

TEST(InternerTest, NamesOnBothSidesOfTheInlineLengthAreFoundAfterGrowth) {
  // Names of up to 12 bytes live in the table itself, longer ones in the arena: lengths
  // 0 to 30, names that differ only in their last byte, or only past the 12th byte, or
  // only in a NUL, all through many rehashes.
  Interner<ItemIdx> items;
  std::vector<std::string> names;
  for (int length = 0; length <= 30; ++length) {
    for (int variant = 0; variant < 300; ++variant) {
      std::string name(static_cast<size_t>(length), 'p');
      if (length > 0) name.back() = static_cast<char>(variant % 256);
      if (length > 13) name[13] = static_cast<char>(variant / 256);
      names.push_back(std::move(name));
    }
  }
  std::vector<ItemIdx> ids;
  for (const std::string& name : names) ids.push_back(items.Intern(name));
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_EQ(items.Intern(names[i]), ids[i]) << i;
    ASSERT_EQ(items.Find(names[i]), ids[i]) << i;
    ASSERT_EQ(items.Name(ids[i]), names[i]) << i;
  }
  // Distinct names got distinct ids: as many ids as distinct names.
  const std::set<std::string> distinct(names.begin(), names.end());
  EXPECT_EQ(items.size(), distinct.size());
  // Stored names of lengths 13 and 11 start with 'p'; these do not.
  EXPECT_EQ(items.Find(std::string(12, 'q') + "p"), std::nullopt);
  EXPECT_EQ(items.Find(std::string(11, 'q')), std::nullopt);
}

TEST(InternerTest, CallerBufferMayDieAfterIntern) {
  Interner<UserIdx> users;
  {
    std::string temporary = "short-lived-buffer";
    users.Intern(temporary);
    temporary.assign(temporary.size(), 'x');  // overwrite the caller's bytes
  }
  EXPECT_EQ(users.Find("short-lived-buffer"), UserIdx(0));
  EXPECT_EQ(users.Name(UserIdx(0)), "short-lived-buffer");
}

TEST(InternerTest, NamesStayValidAcrossManyArenaBlocks) {
  // ~3.5 MiB of names: several 1 MiB arena blocks and many hash-table rehashes.
  Interner<ItemIdx> items;
  constexpr int kCount = 200'000;
  std::vector<std::string_view> views;
  views.reserve(kCount);
  for (int i = 0; i < kCount; ++i) {
    const std::string name = "item-name-" + std::to_string(i);
    const ItemIdx id = items.Intern(name);
    ASSERT_EQ(id, ItemIdx(static_cast<uint32_t>(i)));
    views.push_back(items.Name(id));  // taken early, checked after all growth
  }
  ASSERT_EQ(items.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    const std::string name = "item-name-" + std::to_string(i);
    ASSERT_EQ(views[i], name) << i;
    ASSERT_EQ(items.Name(ItemIdx(static_cast<uint32_t>(i))), name) << i;
    ASSERT_EQ(items.Find(name), ItemIdx(static_cast<uint32_t>(i))) << i;
  }
  EXPECT_GT(items.MemoryBytes(), 3 * kArenaBlock);
}

TEST(InternerTest, NameLongerThanABlockIsStoredWhole) {
  Interner<UserIdx> users;
  const UserIdx before = users.Intern("before");
  const std::string_view before_view = users.Name(before);
  const std::string huge(kArenaBlock * 2 + 17, 'h');
  const UserIdx big = users.Intern(huge);
  const UserIdx after = users.Intern("after");
  EXPECT_EQ(users.Name(big), huge);
  EXPECT_EQ(users.Name(big).size(), huge.size());
  EXPECT_EQ(users.Find(huge), big);
  EXPECT_EQ(users.Name(after), "after");
  EXPECT_EQ(before_view, "before");
  EXPECT_EQ(users.Name(before), "before");
}

TEST(InternerTest, NameOfExactlyOneBlock) {
  Interner<UserIdx> users;
  const std::string block(kArenaBlock, 'b');
  const UserIdx a = users.Intern("a");
  const UserIdx b = users.Intern(block);
  const UserIdx c = users.Intern("c");
  EXPECT_EQ(users.Name(a), "a");
  EXPECT_EQ(users.Name(b), block);
  EXPECT_EQ(users.Name(c), "c");
}

TEST(InternerTest, NamesThatSpillOverABlockEnd) {
  // Fill a block to within a few bytes, then store a name that does not fit the rest.
  Interner<UserIdx> users;
  const std::string filler(kArenaBlock - 3, 'f');
  const UserIdx f = users.Intern(filler);
  const UserIdx spill = users.Intern("spills");  // 6 bytes > 3 left
  const UserIdx fits = users.Intern("abc");
  EXPECT_EQ(users.Name(f), filler);
  EXPECT_EQ(users.Name(spill), "spills");
  EXPECT_EQ(users.Name(fits), "abc");
}

TEST(InternerTest, ManyLongNamesKeepTheirText) {
  Interner<ItemIdx> items;
  std::vector<std::string> names;
  for (int i = 0; i < 12; ++i) {
    names.push_back(std::string(kArenaBlock / 3 + i * 1000, static_cast<char>('a' + i)));
  }
  for (const std::string& n : names) items.Intern(n);
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(items.Name(ItemIdx(static_cast<uint32_t>(i))), names[i]) << i;
  }
}

TEST(StringArenaTest, StoreCopiesTheBytes) {
  StringArena arena;
  std::string source = "hello";
  const std::string_view stored = arena.Store(source);
  source[0] = 'j';
  EXPECT_EQ(stored, "hello");
  EXPECT_NE(stored.data(), source.data());
}

TEST(StringArenaTest, BytesUsedCountsStoredBytes) {
  StringArena arena;
  EXPECT_EQ(arena.bytes_used(), 0u);
  arena.Store("abc");
  arena.Store("");
  arena.Store("de");
  EXPECT_EQ(arena.bytes_used(), 5u);
}

TEST(StringArenaTest, EmptyStoreOnFreshArena) {
  StringArena arena;
  EXPECT_EQ(arena.Store(""), "");
  EXPECT_EQ(arena.Store("x"), "x");
}

TEST(StringArenaTest, ConsecutiveSmallStoresShareABlock) {
  StringArena arena;
  const std::string_view a = arena.Store("aa");
  const std::string_view b = arena.Store("bbb");
  EXPECT_EQ(b.data(), a.data() + a.size());
}

TEST(ArenaStringSetTest, SecondInsertOfTheSameTextIsRefused) {
  ArenaStringSet set;
  std::string id = "event-1";
  EXPECT_TRUE(set.Insert(id));
  id[0] = 'E';  // the set keeps its own copy
  EXPECT_TRUE(set.contains("event-1"));
  EXPECT_FALSE(set.Insert("event-1"));
  EXPECT_TRUE(set.Insert(id));
  EXPECT_EQ(set.size(), 2u);
  std::vector<std::string> all;
  set.ForEach([&](std::string_view id) { all.emplace_back(id); });
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"Event-1", "event-1"}));
}

TEST(ArenaStringSetTest, EveryStringSurvivesGrowthAndIsFoundAgain) {
  ArenaStringSet set;
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(set.Insert("id-" + std::to_string(i)));
  for (int i = 0; i < 100000; ++i) ASSERT_FALSE(set.Insert("id-" + std::to_string(i))) << i;
  EXPECT_FALSE(set.contains("id-100000"));
  EXPECT_FALSE(set.contains(""));  // never inserted
  EXPECT_EQ(set.size(), 100000u);
}

// A growth moves one shard's entries: no single insert grows the tables by more than a
// small share of their size (one table would double, adding as much as it held).
TEST(ArenaStringSetTest, GrowthRehashesAShareOfTheSetNotAllOfIt) {
  ArenaStringSet set;
  size_t largest_step = 0;
  size_t before = set.MemoryBytes();
  for (int i = 0; i < 200000; ++i) {
    const std::string id = "id-" + std::to_string(i);
    ASSERT_TRUE(set.Insert(id));
    const size_t after = set.MemoryBytes();
    largest_step = std::max(largest_step, after - before - id.size());
    before = after;
  }
  EXPECT_LT(largest_step, before / 64) << "of " << before << " bytes";
}

TEST(IdDictionaryTest, UserAndItemIdSpacesAreIndependent) {
  IdDictionary ids;
  EXPECT_EQ(ids.users.Intern("same"), UserIdx(0));
  EXPECT_EQ(ids.items.Intern("other"), ItemIdx(0));
  EXPECT_EQ(ids.items.Intern("same"), ItemIdx(1));
  EXPECT_EQ(ids.users.size(), 1u);
  EXPECT_EQ(ids.items.size(), 2u);
}

}  // namespace
}  // namespace streamrec
