#pragma once
// PairTable: the co-occurrence weight of every pair of items seen together, in one
// open-addressing table with linear probing. A slot is 16 bytes (PairCell), 4 to a cache
// line, and holds the key; probing starts at the first slot of a line, so a lookup is
// usually that one cache line, prefetchable from the key alone, and it tests the line's
// four slots at once. Load factor between 3/8 (just grown) and 3/4: 21 to 43 bytes per
// pair. The hash is fixed (no per-process seed), so the layout depends on the input only.
// Item-pair keyed: tables of partitions merge by adding weights.
//
// Growth in the background (GrowInBackground): a table of hundreds of MB doubles into
// fresh memory, and the kernel's first touch of each page (zeroing it, and on a virtual
// machine the host backing it) costs more than the rehash. Once the table is half full
// (it grows at 3/4), a background thread allocates and writes the next size's cells, so
// the thread that inserts only rehashes into memory already in place; and it rehashes
// half of the table while that thread does the other half (see Grow).

#include <cstdint>
#include <memory>
#include <vector>

#include "common/background_worker.h"
#include "common/check.h"
#include "common/huge_page_allocator.h"
#include "common/ids.h"

namespace streamrec {

// Position of an item in another's neighbour pool; kNotListed: not in it.
constexpr uint8_t kNotListed = 0xFF;

struct PairCell {
  uint64_t key = 0;     // lo << 32 | hi with lo < hi; 0 marks an empty slot (hi is never 0)
  float weight = 0;     // c(lo, hi); never negative, nor -0 (pools rank its bits)
  uint16_t bought = 0;  // co-purchases (saturating)
  uint8_t pos_in_lo = kNotListed;  // where hi sits in lo's neighbour pool
  uint8_t pos_in_hi = kNotListed;  // where lo sits in hi's neighbour pool

  ItemIdx lo() const { return ItemIdx(static_cast<uint32_t>(key >> 32)); }
  ItemIdx hi() const { return ItemIdx(static_cast<uint32_t>(key)); }
  // The position of `other` in `owner`'s pool, where {owner, other} is this pair.
  uint8_t& PosIn(ItemIdx owner) {
    return owner.value < static_cast<uint32_t>(key) ? pos_in_lo : pos_in_hi;
  }
};
static_assert(sizeof(PairCell) == 16);

class PairTable {
 public:
  // REQUIRES: a != b.
  static uint64_t Key(ItemIdx a, ItemIdx b) {
    const uint32_t lo = a.value < b.value ? a.value : b.value;
    const uint32_t hi = a.value < b.value ? b.value : a.value;
    return (uint64_t{lo} << 32) | hi;
  }

  // The cell of `key`, inserted with weight 0 if missing; `*inserted` says which.
  // Growth moves cells: pointers from earlier calls are invalid after an insertion.
  PairCell* FindOrInsert(uint64_t key, bool* inserted) {
    Reserve(size_ + 1);
    return FindOrInsertFrom(key, Home(key), inserted);
  }
  // FindOrInsert without growth, probing from `home` = Home(key) (computed earlier, so a
  // batch can prefetch its slots). REQUIRES: Reserve(size() + 1) or more since `home`
  // was computed, so the table cannot grow and `home` stays valid.
  PairCell* FindOrInsertFrom(uint64_t key, size_t home, bool* inserted) {
    for (size_t i = home;; i = (i + 4) & mask_) {
      PairCell* line = &cells_[i];
      if (const unsigned stops = ProbeStops(line, key); stops != 0) {
        PairCell& c = line[__builtin_ctz(stops)];
        *inserted = c.key == 0;
        size_ += *inserted;
        c.key = key;
        return &c;
      }
    }
  }
  PairCell* Find(uint64_t key) {
    return const_cast<PairCell*>(static_cast<const PairTable*>(this)->Find(key));
  }
  const PairCell* Find(uint64_t key) const {
    if (size_ == 0) return nullptr;
    for (size_t i = Home(key);; i = (i + 4) & mask_) {
      const PairCell* line = &cells_[i];
      if (const unsigned stops = ProbeStops(line, key); stops != 0) {
        const PairCell* c = line + __builtin_ctz(stops);
        return c->key == key ? c : nullptr;
      }
    }
  }
  void Prefetch(uint64_t key) const {
    if (size_ != 0) __builtin_prefetch(&cells_[Home(key)], 0);
  }
  // The slot where probing for `k` starts, valid until the table grows: MurmurHash3's
  // 64-bit finalizer, whose top bits pick a bucket of four slots (one cache line).
  // REQUIRES: capacity() > 0.
  size_t Home(uint64_t k) const {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return static_cast<size_t>(k >> shift_) & ~size_t{3};
  }
  void PrefetchSlot(size_t slot) const { __builtin_prefetch(&cells_[slot], 1); }
  // The cell in `slot` (empty or not). REQUIRES: slot < capacity().
  PairCell* CellAt(size_t slot) { return cells_.data() + slot; }

  // Calls fn(const PairCell&) for every pair, in table order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const PairCell& c : cells_) {
      if (c.key != 0) fn(c);
    }
  }

  // Grows until `pairs` pairs fit without growth: once, to the first size that holds them
  // (the sizes between would be allocated, written and rehashed for nothing).
  void Reserve(size_t pairs) {
    if (pairs * 4 > capacity() * 3) {
      size_t new_capacity = cells_.empty() ? 1024 : capacity() * 2;
      while (pairs * 4 > new_capacity * 3) new_capacity *= 2;
      Grow(new_capacity);
    }
    if (growth_ != nullptr && !growth_->started && pairs * 2 > capacity() &&
        capacity() >= kBackgroundGrowthMinCells) {
      PrepareGrowth();
    }
  }
  // From now on, the next size's cells are prepared on a background thread (see above).
  void GrowInBackground() {
    if (growth_ == nullptr) growth_ = std::make_unique<Growth>();
  }
  size_t size() const { return size_; }
  size_t capacity() const { return cells_.size(); }
  // The cells, and the next size's cells while they are prepared or ready.
  size_t MemoryBytes() const {
    const size_t next = growth_ != nullptr && growth_->started ? 2 * capacity() : 0;
    return (cells_.capacity() + next) * sizeof(PairCell);
  }

 private:
  using Cells = HugePageVector<PairCell>;
  // Below this, growth is cheap enough in place: 16 MB.
  static constexpr size_t kBackgroundGrowthMinCells = size_t{1} << 20;
  struct Growth {
    Cells cells;  // the next size's empty cells, once the job ran; before the worker, so
                  // that the worker (waiting for its job) is destroyed first
    BackgroundWorker worker;
    bool started = false;  // a job for the next size was queued
  };

  void PrepareGrowth() {
    growth_->started = true;
    growth_->worker.Run([growth = growth_.get(), n = 2 * capacity()] { growth->cells = Cells(n); });
  }

  // REQUIRES: new_capacity is a power of two above capacity() that holds size().
  //
  // The rehash runs in two halves, on two threads when the background thread is there:
  // a key's home bucket in the doubled table is twice its old one (Home takes the top
  // bits), so the old table's first half lands in the new table's first half and its
  // second in the second. Each half places its keys without leaving its own range; the
  // few that would (wrapped around the old table's end, or spilled across its middle, or
  // probing past their range's end) wait in a list and are placed after both halves.
  // The order of placement, hence the layout, does not depend on the threads.
  void Grow(size_t new_capacity) {
    Cells old;
    if (growth_ != nullptr && growth_->started) {
      growth_->worker.Wait();
      growth_->started = false;
      old.swap(growth_->cells);
    }
    if (old.size() != new_capacity) Cells(new_capacity).swap(old);
    old.swap(cells_);
    mask_ = new_capacity - 1;
    shift_ = 64 - __builtin_ctzll(new_capacity);
    const size_t half = old.size() / 2;  // of the old table; the new one's half is 2x
    std::vector<PairCell> deferred[2];
    const auto place_half = [&](int h) {
      const size_t end = 2 * half * (h + 1);  // one past the new range of this half
      // The old cells a block at a time, the empty ones dropped without a branch (a
      // quarter of them are empty, in no pattern a predictor could learn). Tables hold
      // 1024 cells or more, so a half is whole blocks.
      constexpr size_t kBlock = 64;
      PairCell keys[kBlock];
      for (size_t from = half * h; from < half * (h + 1); from += kBlock) {
        size_t n = 0;
        for (size_t s = from; s < from + kBlock; ++s) {
          keys[n] = old[s];
          n += old[s].key != 0;
        }
        for (size_t k = 0; k < n; ++k) {
          const PairCell& c = keys[k];
          size_t i = Home(c.key);
          if (i < 2 * half * h || i >= end) {
            deferred[h].push_back(c);
            continue;
          }
          unsigned empty = SlotsHolding(&cells_[i], 0);
          while (empty == 0 && (i += 4) < end) empty = SlotsHolding(&cells_[i], 0);
          if (i == end) {
            deferred[h].push_back(c);
            continue;
          }
          cells_[i + __builtin_ctz(empty)] = c;
        }
      }
    };
    if (growth_ != nullptr && half >= kBackgroundGrowthMinCells / 2) {
      growth_->worker.Run([&] { place_half(1); });
      place_half(0);
      growth_->worker.Wait();
    } else {
      place_half(0);
      place_half(1);
    }
    for (const std::vector<PairCell>& list : deferred) {
      for (const PairCell& c : list) {
        size_t i = Home(c.key);
        unsigned empty;
        while ((empty = SlotsHolding(&cells_[i], 0)) == 0) i = (i + 4) & mask_;
        cells_[i + __builtin_ctz(empty)] = c;
      }
    }
  }

  // Bit k set: slot k of the line (four slots from `line`) holds `key`. Without
  // branches: probing a line at once spares the mispredictions of a slot-by-slot loop,
  // and finds the same slot (home is a line's first slot, so linear probing scans
  // whole lines).
  static unsigned SlotsHolding(const PairCell* line, uint64_t key) {
    return static_cast<unsigned>(line[0].key == key) |
           static_cast<unsigned>(line[1].key == key) << 1 |
           static_cast<unsigned>(line[2].key == key) << 2 |
           static_cast<unsigned>(line[3].key == key) << 3;
  }

  // The slots of the line where probing for `key` stops: the key's, and the empty ones.
  static unsigned ProbeStops(const PairCell* line, uint64_t key) {
    return SlotsHolding(line, key) | SlotsHolding(line, 0);
  }

  Cells cells_;  // 64-byte aligned once large
  size_t size_ = 0;
  size_t mask_ = 0;
  int shift_ = 64;
  std::unique_ptr<Growth> growth_;  // null: growth in place
};

}  // namespace streamrec
