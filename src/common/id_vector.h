#pragma once
// IdVector<Id, T>: a flat array indexed by a dense id, grown on first write (in place
// once large, see GrowableArray). The state layout of every user-keyed and item-keyed
// operator.

#include <cstring>
#include <type_traits>

#include "common/byte_io.h"
#include "common/growable_array.h"

namespace streamrec {

template <typename Id, typename T>
class IdVector {
 public:
  // Returns the slot for `id`, value-initialized if it was never written.
  T& At(Id id) {
    if (id.value >= values_.size()) Grow(id.value + 1);
    return values_[id.value];
  }
  // nullptr if `id` lies beyond every slot written so far.
  const T* Find(Id id) const { return id.value < values_.size() ? &values_[id.value] : nullptr; }
  // The value for `id`, or a value-initialized T.
  T Get(Id id) const { return id.value < values_.size() ? values_[id.value] : T{}; }

  // Hints that `id`'s slot will be read soon (batch loops run ahead by a few records).
  void Prefetch(Id id) const {
    if (id.value < values_.size()) __builtin_prefetch(&values_[id.value], 1);
  }

  size_t size() const { return values_.size(); }
  size_t MemoryBytes() const { return values_.capacity() * sizeof(T); }
  void Reserve(size_t n) { values_.reserve(n); }

  // Snapshots: the slot count, then the slots as bytes.
  void Save(ByteWriter* w) const {
    static_assert(std::is_trivially_copyable_v<T>);
    w->PutVarint(values_.size());
    w->PutRaw(values_.data(), values_.size() * sizeof(T));
  }
  // Replaces the contents with what Save wrote; false (contents unspecified) when the
  // input is short or malformed.
  bool Load(ByteReader* r) {
    uint64_t n = 0;
    std::string_view bytes;
    if (!r->GetVarint(&n) || n > r->remaining() / sizeof(T) || !r->GetRaw(n * sizeof(T), &bytes)) {
      return false;
    }
    values_.resize(n);
    // memcpy must not get the null data() of an empty vector, even for 0 bytes.
    if (!bytes.empty()) std::memcpy(values_.data(), bytes.data(), bytes.size());
    return true;
  }

 private:
  void Grow(size_t n) { values_.resize(n); }  // past capacity, at least doubles it
  GrowableArray<T> values_;
};

}  // namespace streamrec
