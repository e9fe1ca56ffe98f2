#include "common/growable_array.h"

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace streamrec {
namespace {

bool HugePageAligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % kHugePageBytes == 0; }

TEST(GrowableArrayTest, ElementsSurviveGrowthFromSmallBlocksToAMappingAndBeyond) {
  GrowableArray<uint32_t> a;
  // 64 Mi elements (256 MiB) one doubling at a time: copies below 4 MiB, then mremap.
  for (size_t n = 1; n <= (size_t{1} << 26); n *= 2) {
    const size_t before = a.size();
    a.resize(n);
    for (size_t i = before; i < n; ++i) a[i] = static_cast<uint32_t>(i * 2654435761u);
    if (n * sizeof(uint32_t) >= kHugeAllocationThreshold) {
      ASSERT_TRUE(HugePageAligned(a.data())) << n;
    }
  }
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i], static_cast<uint32_t>(i * 2654435761u)) << i;
  }
}

// Whether the kernel backs memory advised so with transparent huge pages.
bool HugePagesOnAdvice() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(in, modes);
  return modes.find("[always]") != std::string::npos ||
         modes.find("[madvise]") != std::string::npos;
}

// KiB of huge pages in the mapping that holds `p` (its AnonHugePages in /proc/self/smaps),
// or -1 if no mapping holds it.
long HugePageKiBOfMappingAt(const void* p) {
  const auto at = reinterpret_cast<uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t start = 0, end = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> start >> dash >> end && dash == '-') {
      inside = start <= at && at < end;
    } else if (inside && line.rfind("AnonHugePages:", 0) == 0) {
      return std::stol(line.substr(line.find(':') + 1));
    }
  }
  return -1;
}

// The first mapping receives the small block's elements by a copy: advised as huge pages
// before the copy faults them in, they lie in huge pages; advised after, in 4 KiB pages.
TEST(GrowableArrayTest, ElementsCopiedIntoTheFirstMappingLieInHugePages) {
  if (!HugePagesOnAdvice()) GTEST_SKIP() << "transparent huge pages are off";
  GrowableArray<uint64_t> a;
  const size_t small = kHugeAllocationThreshold / sizeof(uint64_t) - 1;
  a.resize(small);  // 4 MiB less one element: a small block
  for (size_t i = 0; i < small; ++i) a[i] = i;
  a.resize(small + 1);  // the first mapping: the 4 MiB copied in, one element added
  EXPECT_GE(HugePageKiBOfMappingAt(a.data()), 4096);
  EXPECT_EQ(a[small - 1], small - 1);
  // Grown by moving its pages: the moved mapping keeps the advice for the added pages.
  a.resize(4 * (small + 1));
  for (size_t i = small + 1; i < a.size(); ++i) a[i] = i;
  EXPECT_GE(HugePageKiBOfMappingAt(a.data()), 4 * 4096);
  EXPECT_EQ(a[small - 1], small - 1);
}

struct Cell {
  uint32_t item = UINT32_MAX;  // a default that is not zero bytes
  uint32_t count = 0;
};

TEST(GrowableArrayTest, ResizeValueInitializesWhatItAddsInMovedPagesToo) {
  GrowableArray<Cell> a;
  a.resize(1 << 20);  // 8 MiB: a mapping
  a[5].item = 5;
  a.resize(3 << 20);  // past the capacity: the mapping moves and grows
  EXPECT_EQ(a[5].item, 5u);
  EXPECT_EQ(a[(1 << 20) - 1].item, UINT32_MAX);
  for (size_t i = 1 << 20; i < a.size(); ++i) ASSERT_EQ(a[i].item, UINT32_MAX) << i;
  a.resize(10);  // shrinking keeps the capacity; growing again value-initializes again
  a[9].count = 4;
  a.resize(11);
  EXPECT_EQ(a[9].count, 4u);
  EXPECT_EQ(a[10].item, UINT32_MAX);
  EXPECT_GE(a.capacity(), size_t{3} << 20);
}

TEST(GrowableArrayTest, ReserveGrowsToAtLeastTheRequestAndKeepsTheSize) {
  GrowableArray<uint64_t> a;
  a.resize(3);
  a[2] = 9;
  a.reserve(1'000'000);
  EXPECT_GE(a.capacity(), 1'000'000u);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(a[2], 9u);
  const uint64_t* before = a.data();
  a.reserve(10);  // below the capacity: nothing moves
  EXPECT_EQ(a.data(), before);
}

struct alignas(128) WideSlot {
  uint64_t value = 0;
};

TEST(GrowableArrayTest, OverAlignedTypesAreAlignedInSmallBlocksAndMappings) {
  GrowableArray<WideSlot> a;
  a.resize(3);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % alignof(WideSlot), 0u);
  a.resize(100'000);  // 12.8 MB
  EXPECT_TRUE(HugePageAligned(a.data()));
}

TEST(GrowableArrayTest, CopiesAreDeepAndMovesLeaveTheSourceEmpty) {
  GrowableArray<uint32_t> a;
  a.resize(2'000'000);  // a mapping
  a[1'999'999] = 7;
  GrowableArray<uint32_t> copy = a;
  copy[1'999'999] = 8;
  EXPECT_EQ(a[1'999'999], 7u);
  GrowableArray<uint32_t> moved = std::move(a);
  EXPECT_EQ(moved[1'999'999], 7u);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_EQ(a.capacity(), 0u);
  a = copy;  // a moved-from array is usable
  EXPECT_EQ(a[1'999'999], 8u);
  GrowableArray<uint32_t> small;
  small.resize(4);
  small = std::move(moved);
  EXPECT_EQ(small.size(), 2'000'000u);
}

// Elements prepared ahead (on another thread, in the pair table) are added by the next
// resize as they are: value-initialized once, not twice. A shrink or a small block's
// copy forgets them, so that resize still adds only value-initialized elements.
TEST(GrowableArrayTest, ResizeAddsPreparedElementsWithoutInitializingThemAgain) {
  GrowableArray<Cell> a;
  a.resize(1 << 20);  // 8 MiB: a mapping
  a.reserve(2 << 20);
  a.PrepareCapacity(3 << 19);
  EXPECT_EQ(a.size(), size_t{1} << 20);
  EXPECT_EQ(a.data()[(3 << 19) - 1].item, UINT32_MAX);
  a.data()[(1 << 20) + 7].count = 9;  // a mark that a second initialization would erase
  a.resize(2 << 20);                  // prepared up to 3 << 19, the rest initialized here
  EXPECT_EQ(a[(1 << 20) + 7].count, 9u);
  EXPECT_EQ(a[(3 << 19) + 1].item, UINT32_MAX);
  EXPECT_EQ(a[(2 << 20) - 1].item, UINT32_MAX);
  // Prepared, then moved by growth past the capacity: still prepared.
  a.PrepareCapacity(2 << 20);  // nothing to prepare: the size is there
  a.reserve(4 << 20);
  a.PrepareCapacity(3 << 20);
  a.data()[(2 << 20) + 3].count = 5;
  a.reserve(8 << 20);  // the mapping moves
  a.resize(3 << 20);
  EXPECT_EQ(a[(2 << 20) + 3].count, 5u);
  // A shrink forgets what was prepared.
  a.resize(10);
  a.data()[10].count = 4;
  a.resize(11);
  EXPECT_EQ(a[10].count, 0u);
  // So does a small block's copy.
  GrowableArray<Cell> small;
  small.resize(2);
  small.reserve(4);
  small.PrepareCapacity(4);
  small.data()[3].count = 6;
  small.reserve(100);  // copies the two elements only
  small.resize(4);
  EXPECT_EQ(small[3].item, UINT32_MAX);
  EXPECT_EQ(small[3].count, 0u);
}

}  // namespace
}  // namespace streamrec
