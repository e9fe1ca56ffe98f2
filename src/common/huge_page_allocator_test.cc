#include "common/huge_page_allocator.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace streamrec {
namespace {

// Pages of [begin, end) that are resident, by mincore.
size_t ResidentPages(const void* begin, const void* end) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t from = reinterpret_cast<uintptr_t>(begin) / page * page;
  const uintptr_t to = (reinterpret_cast<uintptr_t>(end) + page - 1) / page * page;
  std::vector<unsigned char> resident((to - from) / page);
  EXPECT_EQ(::mincore(reinterpret_cast<void*>(from), to - from, resident.data()), 0);
  size_t n = 0;
  for (unsigned char r : resident) n += r & 1;
  return n;
}

TEST(HugePageAllocatorTest, ReleasedCapacityIsNotResidentAndTheElementsStay) {
  std::vector<uint32_t, HugePageAllocator<uint32_t>> v;
  v.reserve(4 << 20);  // 16 MiB
  v.resize(v.capacity());
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint32_t>(i);
  const size_t kept = 1'000'003;
  v.resize(kept);
  const uint32_t* tail = v.data() + kept + 1024;  // past the page the end falls in
  const uint32_t* end = v.data() + v.capacity();
  ASSERT_GT(ResidentPages(tail, end), 0u);

  ReleaseUnusedCapacity(&v);
  EXPECT_EQ(ResidentPages(tail, end), 0u);
  EXPECT_EQ(v.capacity(), size_t{4} << 20);
  for (size_t i = 0; i < kept; ++i) ASSERT_EQ(v[i], i);
  // The capacity can be filled again, from zeroed pages.
  v.resize(v.capacity());
  EXPECT_EQ(v.back(), 0u);
  v.back() = 7;
  EXPECT_EQ(v.back(), 7u);
}

TEST(HugePageAllocatorTest, SmallVectorIsLeftAlone) {
  std::vector<uint32_t, HugePageAllocator<uint32_t>> v(1000, 5);
  v.resize(10);
  ReleaseUnusedCapacity(&v);
  v.resize(1000);
  EXPECT_EQ(v[999], 0u);  // value-initialized by resize, as ever
  EXPECT_EQ(v[9], 5u);
}

// A cache-line-sized slot type: small blocks too must honour its alignment.
struct alignas(128) WideSlot {
  uint64_t value = 0;
};

TEST(HugePageAllocatorTest, SmallBlocksOfAnOverAlignedTypeAreAligned) {
  for (size_t n : {size_t{1}, size_t{3}, size_t{1000}}) {
    HugePageVector<WideSlot> v(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % alignof(WideSlot), 0u) << n;
  }
  HugePageVector<WideSlot> v;
  for (uint64_t i = 0; i < 100; ++i) {  // regrown through several small blocks
    v.push_back(WideSlot{i});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % alignof(WideSlot), 0u) << i;
  }
  EXPECT_EQ(v[99].value, 99u);
}

}  // namespace
}  // namespace streamrec
