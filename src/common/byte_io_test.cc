#include "common/byte_io.h"

#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace streamrec {
namespace {

// Whether the mapping that holds `p` is advised as huge pages ("hg" among the VmFlags of
// /proc/self/smaps).
bool AdvisedAsHugePages(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  std::string line;
  while (std::getline(smaps, line)) {
    unsigned long begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2) {
      inside = at >= begin && at < end;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line.find(" hg") != std::string::npos;
  }
  return false;
}

// Writes every kind of value, `rounds` times over.
void WriteMixed(ByteWriter* w, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    w->Put(static_cast<uint32_t>(i));
    w->Put(static_cast<double>(i) / 3);
    w->PutVarint(static_cast<uint64_t>(i) * 1'000'003);
    w->PutString(std::string(static_cast<size_t>(i % 40), static_cast<char>('a' + i % 26)));
  }
}

// Reads back what WriteMixed wrote; false at the first difference.
bool ReadsBackMixed(std::string_view bytes, int rounds) {
  ByteReader r(bytes);
  for (int i = 0; i < rounds; ++i) {
    uint32_t u = 0;
    double d = 0;
    uint64_t v = 0;
    std::string_view s;
    if (!r.Get(&u) || !r.Get(&d) || !r.GetVarint(&v) || !r.GetString(&s)) return false;
    if (u != static_cast<uint32_t>(i) || d != static_cast<double>(i) / 3 ||
        v != static_cast<uint64_t>(i) * 1'000'003 ||
        s != std::string(static_cast<size_t>(i % 40), static_cast<char>('a' + i % 26))) {
      return false;
    }
  }
  return r.remaining() == 0;
}

// About 74 MB: past the 64 MiB from which growth is advised as huge pages.
constexpr int kLargeRounds = 2'000'000;

TEST(ByteWriterTest, GrowingPastTheHugePageSizeKeepsEveryByte) {
  std::string out = "prefix";
  ByteWriter w(&out);
  WriteMixed(&w, kLargeRounds);
  ASSERT_GT(out.size(), size_t{64} << 20);
  ASSERT_EQ(out.substr(0, 6), "prefix");
  EXPECT_TRUE(ReadsBackMixed(std::string_view(out).substr(6), kLargeRounds));
}

TEST(ByteWriterTest, ReserveMakesRoomSoThatWritesMoveNothing) {
  std::string out;
  ByteWriter w(&out);
  w.Reserve(1 << 20);
  const char* before = out.data();
  WriteMixed(&w, 20'000);  // under 1 MiB
  ASSERT_LT(out.size(), size_t{1} << 20);
  EXPECT_EQ(out.data(), before);
  EXPECT_TRUE(ReadsBackMixed(out, 20'000));
}

TEST(ByteWriterTest, LargeBufferIsAdvisedAsHugePages) {
  struct stat st;
  if (::stat("/sys/kernel/mm/transparent_hugepage/enabled", &st) != 0) {
    GTEST_SKIP() << "this kernel has no transparent huge pages";
  }
  std::string out;
  ByteWriter w(&out);
  WriteMixed(&w, kLargeRounds);
  ASSERT_GT(out.size(), size_t{64} << 20);
  // A page in the middle: the buffer's first and last huge page may be partial.
  EXPECT_TRUE(AdvisedAsHugePages(out.data() + out.size() / 2));
}

}  // namespace
}  // namespace streamrec
