#pragma once
// HugePageAllocator<T>: an allocator for large, hot arrays (records, hash
// tables). Blocks of 4 MiB or more are 2 MiB-aligned and advised as transparent huge
// pages, which cuts page faults and TLB misses by 512x when a 10M-row array is first
// written. Smaller blocks come from operator new, aligned for T however large its
// alignment.

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

namespace streamrec {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;
inline constexpr size_t kHugeAllocationThreshold = size_t{4} << 20;

// `n` rounded up to a whole number of huge pages.
constexpr uint64_t RoundUpToHugePages(uint64_t n) {
  return (n + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
}

template <typename T>
struct HugePageAllocator {
  using value_type = T;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: allocators convert implicitly

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugeAllocationThreshold) {
      if constexpr (kOverAligned) {
        return static_cast<T*>(::operator new (bytes, std::align_val_t{alignof(T)}));
      }
      return static_cast<T*>(::operator new(bytes));
    }
    const size_t rounded = RoundUpToHugePages(bytes);
    void* p = std::aligned_alloc(kHugePageBytes, rounded);
    if (p == nullptr) throw std::bad_alloc();
    ::madvise(p, rounded, MADV_HUGEPAGE);  // advisory: failure only costs speed
    return static_cast<T*>(p);
  }

  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugeAllocationThreshold) {
      if constexpr (kOverAligned) {
        ::operator delete (p, std::align_val_t{alignof(T)});
      } else {
        ::operator delete(p);
      }
    } else {
      std::free(p);
    }
  }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }

 private:
  static constexpr bool kOverAligned = alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__;
};

// Advises the whole huge pages inside [p, p + bytes) as transparent huge pages, for a
// large block that came from elsewhere (a string's, say) and is not yet touched.
// Advisory: failure only costs speed.
inline void AdviseHugePages(void* p, size_t bytes) {
  const auto begin = reinterpret_cast<uintptr_t>(p);
  const uintptr_t from = (begin + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  const uintptr_t to = (begin + bytes) / kHugePageBytes * kHugePageBytes;
  if (to > from) ::madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
}

// A vector whose large blocks are huge pages.
template <typename T>
using HugePageVector = std::vector<T, HugePageAllocator<T>>;

// Gives the memory behind `v`'s unused capacity back to the system, in whole pages; the
// capacity stays reserved, and pages touched again later come back zeroed. For a
// vector reserved generously and then filled: the huge page its end fell in would
// otherwise be kept whole (up to 2 MiB per vector).
template <typename T>
void ReleaseUnusedCapacity(HugePageVector<T>* v) {
  if (v->capacity() * sizeof(T) < kHugeAllocationThreshold) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto used_end = reinterpret_cast<uintptr_t>(v->data() + v->size());
  const auto capacity_end = reinterpret_cast<uintptr_t>(v->data() + v->capacity());
  const uintptr_t from = (used_end + page - 1) / page * page;
  const uintptr_t to = capacity_end / page * page;
  if (to > from) ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
}

}  // namespace streamrec
