// CRC-32C: the published test vectors (RFC 3720, B.4, and the "123456789" check value)
// for both implementations, and that extending equals checksumming the whole.

#include "log/crc32c.h"

#include <cstdint>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace streamrec {
namespace {

using Impl = uint32_t (*)(uint32_t, std::string_view);

std::vector<std::pair<const char*, Impl>> Implementations() {
  std::vector<std::pair<const char*, Impl>> impls = {{"portable", &internal::Crc32cExtendPortable}};
  if (internal::HardwareCrc32cAvailable())
    impls.emplace_back("sse4.2", &internal::Crc32cExtendHardware);
  return impls;
}

TEST(Crc32cTest, KnownVectorsMatchForEveryImplementation) {
  std::string zeros(32, '\0'), ones(32, '\xff'), up(32, '\0'), down(32, '\0');
  for (int i = 0; i < 32; ++i) up[i] = static_cast<char>(i), down[i] = static_cast<char>(31 - i);
  for (const auto& [name, crc] : Implementations()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(crc(0, ""), 0u);
    EXPECT_EQ(crc(0, "123456789"), 0xE3069283u);
    EXPECT_EQ(crc(0, zeros), 0x8A9136AAu);
    EXPECT_EQ(crc(0, ones), 0x62A8AB43u);
    EXPECT_EQ(crc(0, up), 0x46DD794Eu);
    EXPECT_EQ(crc(0, down), 0x113FDB5Cu);
  }
}

TEST(Crc32cTest, ExtendingAtEverySplitEqualsTheWhole) {
  const std::string text = "The quick brown fox jumps over the lazy dog, twice: 0123456789";
  for (const auto& [name, crc] : Implementations()) {
    SCOPED_TRACE(name);
    const uint32_t whole = crc(0, text);
    for (size_t split = 0; split <= text.size(); ++split) {
      const std::string_view v = text;
      EXPECT_EQ(crc(crc(0, v.substr(0, split)), v.substr(split)), whole) << split;
    }
  }
}

TEST(Crc32cTest, HardwareAndPortableAgreeOnEveryLengthAndAlignment) {
  if (!internal::HardwareCrc32cAvailable()) GTEST_SKIP() << "no SSE4.2";
  std::mt19937 rng(7);
  std::string data(300, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t start = 0; start < 8; ++start) {
    for (size_t n = 0; start + n <= data.size(); n += 1 + n / 8) {
      const std::string_view v = std::string_view(data).substr(start, n);
      ASSERT_EQ(internal::Crc32cExtendHardware(0x12345678, v),
                internal::Crc32cExtendPortable(0x12345678, v))
          << start << " " << n;
    }
  }
}

TEST(Crc32cTest, DefaultMatchesTheVector) { EXPECT_EQ(Crc32c("123456789"), 0xE3069283u); }

}  // namespace
}  // namespace streamrec
