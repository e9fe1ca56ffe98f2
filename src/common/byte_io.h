#pragma once
// ByteWriter and ByteReader: the little-endian binary encoding of snapshots and log
// payloads. Fixed-width integers and doubles are stored as their little-endian bytes,
// strings and blobs as a varint length followed by the bytes.
//
// A ByteReader never reads past its input: every Get* returns false once the input is
// exhausted or malformed, and stays failed, so a caller may read a whole record and
// check ok() once at the end.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace streamrec {

static_assert(std::endian::native == std::endian::little, "the encoding assumes little-endian");

class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}

  // Any trivially copyable value (integers, doubles, packed structs), as its bytes.
  template <typename T>
  void Put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_->append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void PutVarint(uint64_t v) {
    char buf[10];
    int n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_->append(buf, n);
  }
  void PutString(std::string_view s) {
    PutVarint(s.size());
    out_->append(s);
  }
  // Raw bytes with no length (the reader must know how many).
  void PutRaw(const void* data, size_t n) { out_->append(static_cast<const char*>(data), n); }

  std::string* buffer() { return out_; }

 private:
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
