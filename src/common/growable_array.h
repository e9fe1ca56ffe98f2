#pragma once
// GrowableArray<T>: a contiguous array of trivially copyable T for state that grows for as
// long as the process runs (IdVector's slots, the user-item matrix's cells, the pair
// table's cells). Like HugePageVector, a block of 4 MiB or more is 2 MiB-aligned and
// advised as transparent huge pages. Unlike it, such a block grows with mremap, which
// moves its pages to the larger range instead of copying the elements into fresh
// memory: a doubling touches no fresh page for the elements already there. (Copying a
// 256 MiB array into fresh pages held its writer up for about 100 ms, long enough to
// starve a pipeline stage waiting on it.) Smaller blocks grow by copying.
//
// The interface is the part of std::vector the state uses, and PrepareCapacity, which
// value-initializes the elements the next resize adds, so that another thread can take
// their page faults ahead of the owner's growth. Elements that resize adds are
// value-initialized; growth moves the elements, so pointers into the array are invalid
// after reserve, or resize past capacity().

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "common/huge_page_allocator.h"

namespace streamrec {

template <typename T>
class GrowableArray {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  GrowableArray() = default;
  ~GrowableArray() { Release(); }
  GrowableArray(const GrowableArray& other) { *this = other; }
  GrowableArray& operator=(const GrowableArray& other) {
    if (this != &other) {
      resize(0);
      reserve(other.size_);
      if (other.size_ > 0) std::memcpy(data_, other.data_, other.size_ * sizeof(T));
      size_ = other.size_;
    }
    return *this;
  }
  GrowableArray(GrowableArray&& other) noexcept { Take(&other); }
  GrowableArray& operator=(GrowableArray&& other) noexcept {
    if (this != &other) {
      Release();
      Take(&other);
    }
    return *this;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

  // Capacity for at least `n` elements.
  void reserve(size_t n) {
    if (n > capacity_) Reallocate(n);
  }
  // Past capacity(), grows to at least twice the capacity, as std::vector does.
  void resize(size_t n) {
    if (n > capacity_) Reallocate(std::max(n, 2 * capacity_));
    if (n > size_) {
      const size_t ready = std::clamp(prepared_, size_, n);  // PrepareCapacity's
      std::uninitialized_value_construct_n(data_ + ready, n - ready);
    }
    prepared_ = std::max(prepared_, n);
    if (n < size_) prepared_ = n;  // the elements past n keep their values
    size_ = n;
  }
  // Value-initializes elements [size(), n) of the capacity, which a resize to n or less
  // then adds as they are. Touches nothing else: while it runs on another thread, the
  // owner may use the elements below size(), but not resize or reserve.
  // REQUIRES: size() <= n <= capacity().
  void PrepareCapacity(size_t n) {
    std::uninitialized_value_construct_n(data_ + size_, n - size_);
    prepared_ = n;
  }

 private:
  static constexpr size_t kAlignment = std::max(alignof(T), size_t{16});

  void Reallocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugeAllocationThreshold) {
      T* fresh = static_cast<T*>(::operator new (bytes, std::align_val_t{kAlignment}));
      if (size_ > 0) std::memcpy(fresh, data_, size_ * sizeof(T));
      Release();
      data_ = fresh;
      capacity_ = n;
      prepared_ = size_;  // only the elements were copied
      return;
    }
    const size_t mapped = RoundUpToHugePages(bytes);
    void* block = MapAligned(mapped);
    if (mapped_) {
      // Moves the old pages to the front of the new range (which mremap unmaps first);
      // the moved mapping keeps its huge-page advice, for the added pages too.
      if (::mremap(data_, mapped_bytes_, mapped, MREMAP_MAYMOVE | MREMAP_FIXED, block) ==
          MAP_FAILED) {
        ::munmap(block, mapped);
        throw std::bad_alloc();
      }
    } else {
      if (size_ > 0) std::memcpy(block, data_, size_ * sizeof(T));
      Release();
    }
    data_ = static_cast<T*>(block);
    capacity_ = mapped / sizeof(T);
    mapped_ = true;
    mapped_bytes_ = mapped;
  }

  // `bytes` (a multiple of 2 MiB) of fresh memory, 2 MiB-aligned (a larger range is mapped
  // and trimmed to the aligned part), advised as huge pages before anything touches it:
  // pages faulted in before the advice are 4 KiB ones, and stay so unless the kernel's
  // background collapse gets to them (random accesses to them then miss the TLB far more
  // often).
  static void* MapAligned(size_t bytes) {
    void* range = ::mmap(nullptr, bytes + kHugePageBytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (range == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<uintptr_t>(range);
    const uintptr_t aligned = RoundUpToHugePages(start);
    if (aligned > start) ::munmap(range, aligned - start);
    const uintptr_t tail = aligned + bytes, end = start + bytes + kHugePageBytes;
    if (end > tail) ::munmap(reinterpret_cast<void*>(tail), end - tail);
    ::madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);  // failure costs speed
    return reinterpret_cast<void*>(aligned);
  }

  // Frees the block; the size is the caller's to set.
  void Release() {
    if (data_ == nullptr) return;
    if (mapped_) {
      ::munmap(data_, mapped_bytes_);
    } else {
      ::operator delete (data_, std::align_val_t{kAlignment});
    }
    data_ = nullptr;
    capacity_ = mapped_bytes_ = prepared_ = 0;
    mapped_ = false;
  }

  void Take(GrowableArray* other) {
    data_ = std::exchange(other->data_, nullptr);
    size_ = std::exchange(other->size_, 0);
    capacity_ = std::exchange(other->capacity_, 0);
    prepared_ = std::exchange(other->prepared_, 0);
    mapped_bytes_ = std::exchange(other->mapped_bytes_, 0);
    mapped_ = std::exchange(other->mapped_, false);
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  size_t prepared_ = 0;      // elements [size_, prepared_) are value-initialized
  size_t mapped_bytes_ = 0;  // of the mapping, when mapped_
  bool mapped_ = false;      // data_ is an mmap'ed block (else operator new's)
};

}  // namespace streamrec
