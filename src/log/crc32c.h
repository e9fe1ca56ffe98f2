#pragma once
// CRC-32C (Castagnoli: polynomial 0x1EDC6F41, reflected, initial value and final xor
// 0xFFFFFFFF), the checksum of every log record and snapshot chunk. Uses the SSE4.2
// crc32 instruction when the CPU has it (several GB/s) and Boost.CRC otherwise.

#include <cstdint>
#include <string_view>

namespace streamrec {

// The CRC-32C of `crc`'s input followed by `data`: Crc32cExtend(Crc32c(a), b) ==
// Crc32c(a + b). Crc32cExtend(0, data) == Crc32c(data).
uint32_t Crc32cExtend(uint32_t crc, std::string_view data);
inline uint32_t Crc32c(std::string_view data) { return Crc32cExtend(0, data); }

namespace internal {
// The two implementations, for tests and benchmarks.
bool HardwareCrc32cAvailable();
uint32_t Crc32cExtendHardware(uint32_t crc, std::string_view data);  // REQUIRES: available
uint32_t Crc32cExtendPortable(uint32_t crc, std::string_view data);
}  // namespace internal

}  // namespace streamrec
