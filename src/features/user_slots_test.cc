// UserColumn: columns over shared slots keep to their own member, and save and load
// exactly the bytes of an IdVector of that member (the snapshot format).

#include "features/user_slots.h"

#include <string>

#include "gtest/gtest.h"

namespace streamrec {
namespace {

using PurchaseColumn = UserColumn<PurchaseTotals, &UserSlot::purchases>;
using SessionColumn = UserColumn<Session, &UserSlot::open>;

TEST(UserColumnTest, ColumnsOverOneSlotTableKeepToTheirOwnMember) {
  UserSlots slots;
  PurchaseColumn purchases(&slots);
  SessionColumn sessions(&slots);
  purchases.At(UserIdx(3)) = PurchaseTotals{2, 7.5};
  EXPECT_EQ(slots.size(), 4u);
  EXPECT_EQ(sessions.size(), 4u);  // the slots are shared: so is their count
  ASSERT_NE(sessions.Find(UserIdx(3)), nullptr);
  EXPECT_EQ(sessions.Find(UserIdx(3))->index, 0u);
  sessions.At(UserIdx(3)).index = 9;
  EXPECT_EQ(purchases.Get(UserIdx(3)).count, 2u);
  EXPECT_EQ(purchases.Get(UserIdx(3)).amount, 7.5);
  EXPECT_EQ(sessions.Get(UserIdx(3)).index, 9u);
  EXPECT_EQ(purchases.Find(UserIdx(4)), nullptr);
  EXPECT_EQ(purchases.Get(UserIdx(4)).count, 0u);
  EXPECT_EQ(purchases.MemoryBytes(), 0u);  // shared slots are their owner's to count
}

TEST(UserColumnTest, SlotsAreTwoWholeCacheLines) {
  UserSlots slots;
  for (uint32_t u = 0; u < 1000; ++u) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(&slots.At(UserIdx(u))) % 128, 0u) << u;
  }
}

// The snapshot format: a column saves what an IdVector of its member saves, and each
// reads the other's bytes. (Bytes compared through loading: struct padding is not
// part of the format and may hold anything.)
TEST(UserColumnTest, ColumnAndIdVectorOfTheMemberReadEachOthersBytes) {
  UserSlots slots;
  PurchaseColumn column(&slots);
  IdVector<UserIdx, PurchaseTotals> vector;
  for (uint32_t u : {0u, 5u, 2u}) {
    for (PurchaseTotals* t : {&column.At(UserIdx(u)), &vector.At(UserIdx(u))}) {
      t->count = u + 1;
      t->amount = u * 1.5;
    }
  }
  std::string from_column, from_vector;
  ByteWriter column_writer(&from_column), vector_writer(&from_vector);
  column.Save(&column_writer);
  vector.Save(&vector_writer);
  EXPECT_EQ(from_column.size(), from_vector.size());

  IdVector<UserIdx, PurchaseTotals> vector_loaded;
  ByteReader column_bytes(from_column);
  ASSERT_TRUE(vector_loaded.Load(&column_bytes));
  EXPECT_TRUE(column_bytes.at_end());
  PurchaseColumn column_loaded;
  ByteReader vector_bytes(from_vector);
  ASSERT_TRUE(column_loaded.Load(&vector_bytes));
  EXPECT_TRUE(vector_bytes.at_end());
  ASSERT_EQ(vector_loaded.size(), 6u);
  ASSERT_EQ(column_loaded.size(), 6u);
  for (uint32_t u = 0; u < 6; ++u) {
    EXPECT_EQ(vector_loaded.Get(UserIdx(u)).count, column.Get(UserIdx(u)).count) << u;
    EXPECT_EQ(vector_loaded.Get(UserIdx(u)).amount, column.Get(UserIdx(u)).amount) << u;
    EXPECT_EQ(column_loaded.Get(UserIdx(u)).count, vector.Get(UserIdx(u)).count) << u;
    EXPECT_EQ(column_loaded.Get(UserIdx(u)).amount, vector.Get(UserIdx(u)).amount) << u;
  }
}

TEST(UserColumnTest, LoadReplacesItsMemberAndLeavesTheOthers) {
  PurchaseColumn saved_from;
  saved_from.At(UserIdx(1)) = PurchaseTotals{4, 10.0};
  std::string bytes;
  ByteWriter w(&bytes);
  saved_from.Save(&w);

  UserSlots slots;
  PurchaseColumn purchases(&slots);
  SessionColumn sessions(&slots);
  purchases.At(UserIdx(5)) = PurchaseTotals{1, 1.0};  // past the saved count: reset
  sessions.At(UserIdx(5)).index = 3;                  // another member: stays
  ByteReader r(bytes);
  ASSERT_TRUE(purchases.Load(&r));
  EXPECT_EQ(purchases.Get(UserIdx(1)).count, 4u);
  EXPECT_EQ(purchases.Get(UserIdx(1)).amount, 10.0);
  EXPECT_EQ(purchases.Get(UserIdx(5)).count, 0u);
  EXPECT_EQ(sessions.Get(UserIdx(5)).index, 3u);
}

TEST(UserColumnTest, LoadRefusesACountBeyondTheBytes) {
  std::string bytes;
  ByteWriter w(&bytes);
  w.PutVarint(3);                    // three slots...
  w.PutRaw("0123456789abcdef", 16);  // ...but the bytes of one
  PurchaseColumn column;
  ByteReader r(bytes);
  EXPECT_FALSE(column.Load(&r));
}

TEST(UserColumnTest, CopyOfAColumnWithSlotsOfItsOwnIsIndependent) {
  SessionColumn original;
  original.At(UserIdx(0)).index = 1;
  SessionColumn copy = original;
  copy.At(UserIdx(0)).index = 2;
  copy.At(UserIdx(9)).index = 3;
  EXPECT_EQ(original.Get(UserIdx(0)).index, 1u);
  EXPECT_EQ(original.size(), 1u);
  EXPECT_EQ(copy.Get(UserIdx(0)).index, 2u);
  EXPECT_GT(original.MemoryBytes(), 0u);  // its own slots
}

}  // namespace
}  // namespace streamrec
