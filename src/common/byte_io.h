#pragma once
// ByteWriter and ByteReader: the little-endian binary encoding of snapshots and log
// payloads. Fixed-width integers and doubles are stored as their little-endian bytes,
// strings and blobs as a varint length followed by the bytes.
//
// A ByteReader never reads past its input: every Get* returns false once the input is
// exhausted or malformed, and stays failed, so a caller may read a whole record and
// check ok() once at the end.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/huge_page_allocator.h"

namespace streamrec {

static_assert(std::endian::native == std::endian::little, "the encoding assumes little-endian");

class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}

  // Any trivially copyable value (integers, doubles, packed structs), as its bytes.
  template <typename T>
  void Put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    PutRaw(&v, sizeof(T));
  }
  void PutVarint(uint64_t v) {
    char buf[10];
    int n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    PutRaw(buf, n);
  }
  void PutString(std::string_view s) {
    PutVarint(s.size());
    PutRaw(s.data(), s.size());
  }
  // Raw bytes with no length (the reader must know how many).
  void PutRaw(const void* data, size_t n) {
    Reserve(n);
    out_->append(static_cast<const char*>(data), n);
  }

  // Makes room for `n` more bytes, so that writes up to them move nothing. A buffer of
  // 64 MiB or more grows (by doubling) into memory advised as huge pages: a snapshot of a
  // GB written into plain pages took a page fault every 4 KiB, most of its time. (Below
  // 64 MiB a block may come from the heap, whose pages malloc hands out again: glibc
  // maps blocks of its own from 32 MiB at most.)
  void Reserve(size_t n) {
    if (out_->capacity() - out_->size() < n) Grow(n);
  }

  std::string* buffer() { return out_; }

 private:
  void Grow(size_t n) {
    const size_t want = std::max(out_->size() + n, 2 * out_->capacity());
    if (want < kAdviseHugePagesFrom) {
      out_->reserve(want);
      return;
    }
    // Advised before the old bytes are copied in, so that they land in huge pages too.
    std::string bigger;
    bigger.reserve(want);
    AdviseHugePages(bigger.data(), bigger.capacity());
    bigger.append(*out_);
    out_->swap(bigger);
  }

  static constexpr size_t kAdviseHugePagesFrom = size_t{64} << 20;

  std::string* out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  template <typename T>
  bool Get(T* v) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (!ok_ || in_.size() < sizeof(T)) return Fail();
    std::memcpy(v, in_.data(), sizeof(T));
    in_.remove_prefix(sizeof(T));
    return true;
  }
  bool GetVarint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64 && ok_ && !in_.empty(); shift += 7) {
      const auto byte = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      result |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return Fail();
  }
  // The view points into the reader's input.
  bool GetString(std::string_view* s) {
    uint64_t n = 0;
    if (!GetVarint(&n)) return false;
    return GetRaw(n, s);
  }
  bool GetRaw(size_t n, std::string_view* s) {
    if (!ok_ || in_.size() < n) return Fail();
    *s = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }

  bool ok() const { return ok_; }
  size_t remaining() const { return in_.size(); }
  bool at_end() const { return in_.empty(); }

 private:
  bool Fail() {
    ok_ = false;
    return false;
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace streamrec
