#pragma once
// PairTable: the co-occurrence weight of every pair of items seen together, in one
// open-addressing table with linear probing. A slot is 16 bytes (PairCell), 4 to a cache
// line, and holds the key; probing starts at the first slot of a line, so a lookup is
// usually that one cache line, prefetchable from the key alone, and it tests the line's
// four slots at once. Load factor between 3/8 (just grown) and 3/4: 21 to 43 bytes per
// pair. The hash is fixed (no per-process seed), so the layout depends on the input only.
// Item-pair keyed: tables of partitions merge by adding weights.
//
// Growth in place: the cells are one GrowableArray, whose block grows by moving its pages
// (mremap), and the rehash moves the keys within it (see Grow). So a doubling touches
// fresh memory only for the added half: the kernel's first touch of a page (zeroing it,
// and on a virtual machine the host backing it) costs more than the rehash, and a table
// that doubled into a fresh block of twice its size paid it for both halves, and held
// three times its size while it did.
//
// Growth in the background (GrowInBackground): once the table is half full (it grows at
// 3/4), its block is extended and a background thread writes the added half's empty
// cells, so the thread that inserts only rehashes into memory already in place; and at
// the doubling that thread rehashes half of each step while the background thread does
// the other half.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "common/background_worker.h"
#include "common/check.h"
#include "common/growable_array.h"
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
  PairTable() = default;
  // Moving waits for a preparation in flight (see PrepareGrowth): it writes this table.
  PairTable(PairTable&& other) noexcept { *this = std::move(other); }
  PairTable& operator=(PairTable&& other) noexcept {
    if (this != &other) {
      WaitForPreparation();
      other.WaitForPreparation();
      cells_ = std::move(other.cells_);
      size_ = std::exchange(other.size_, 0);
      mask_ = std::exchange(other.mask_, 0);
      shift_ = std::exchange(other.shift_, 64);
      growth_ = std::move(other.growth_);
    }
    return *this;
  }
  ~PairTable() { WaitForPreparation(); }

  // REQUIRES: a != b.
  static uint64_t Key(ItemIdx a, ItemIdx b) {
    const uint32_t lo = a.value < b.value ? a.value : b.value;
    const uint32_t hi = a.value < b.value ? b.value : a.value;
    return (uint64_t{lo} << 32) | hi;
  }

  // The cell of `key`, inserted with weight 0 if missing; `*inserted` says which.
  // Growth moves cells: pointers from earlier calls are invalid after an insertion or a
  // Reserve.
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
  // Starts loading the line where a Find(key) begins (a read soon after).
  void PrefetchFind(uint64_t key) const {
    if (size_ != 0) __builtin_prefetch(&cells_[Home(key)]);
  }
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
  // The cells, and the next size's while they are prepared or ready.
  size_t MemoryBytes() const { return cells_.capacity() * sizeof(PairCell); }

 private:
  // Below this, growth is cheap enough on one thread: 16 MB.
  static constexpr size_t kBackgroundGrowthMinCells = size_t{1} << 20;
  struct Growth {
    BackgroundWorker worker{"pair-growth"};
    bool started = false;  // the block holds the next size, and a job prepares its cells
  };

  // Extends the block to the next size (moving pages, touching none) and has the
  // background thread write the added cells, while this one goes on below capacity().
  void PrepareGrowth() {
    growth_->started = true;
    cells_.reserve(2 * capacity());
    growth_->worker.Run([this, n = 2 * capacity()] { cells_.PrepareCapacity(n); });
  }
  void WaitForPreparation() {
    if (growth_ != nullptr) growth_->worker.Wait();
  }

  // REQUIRES: new_capacity is a power of two above capacity() that holds size().
  //
  // The rehash in place. Home takes a key's top bits, so a key homed in line h of the old
  // table (lines of four slots) is homed in line h * f to h * f + f - 1 of the new one,
  // f = new_capacity / capacity(). The old lines are taken in steps from the top: lines
  // [L/2, L) of the L old ones, then [L/4, L/2), ..., [1, 2), [0, 1). A step reads and
  // empties its lines and places their keys in lines [lo * f, hi * f) of the new table:
  // the added lines, or lines the steps before emptied, never the lines of a step to
  // come. A key is placed only within the lines of its own half of its step (each half of
  // a step places into its own range); the few that would not be (homed elsewhere,
  // having been pushed across a boundary by probing, or probing past their range's end)
  // wait in a list and are placed after the last step, into the whole table. The order
  // of placement, hence the layout, does not depend on the threads: large steps run on
  // two, a half each.
  void Grow(size_t new_capacity) {
    if (growth_ != nullptr && growth_->started) {
      growth_->worker.Wait();
      growth_->started = false;
    }
    const size_t old_lines = capacity() / 4;
    const int spread = old_lines == 0 ? 0 : __builtin_ctzll(new_capacity / capacity());
    cells_.resize(new_capacity);  // the prepared cells as they are, any others written here
    mask_ = new_capacity - 1;
    shift_ = 64 - __builtin_ctzll(new_capacity);
    std::vector<PairCell> deferred[2];
    // Moves the keys of old lines [from, to) into new lines [from << spread, to << spread).
    const auto place = [&](size_t from, size_t to, std::vector<PairCell>* waiting) {
      const size_t begin = (from << spread) * 4, end = (to << spread) * 4;  // slots
      // A block of lines at a time, read whole and emptied before any of its keys is
      // placed (step [0, 1) places into its own line); the empty cells dropped without a
      // branch (a quarter of them are empty, in no pattern a predictor could learn).
      constexpr size_t kBlockLines = 16;
      PairCell keys[kBlockLines * 4];
      for (size_t line = from; line < to; line += kBlockLines) {
        const size_t slots = std::min(kBlockLines, to - line) * 4;
        PairCell* old = &cells_[line * 4];
        size_t n = 0;
        for (size_t s = 0; s < slots; ++s) {
          keys[n] = old[s];
          n += old[s].key != 0;
        }
        std::fill(old, old + slots, PairCell{});
        for (size_t k = 0; k < n; ++k) {
          const PairCell& c = keys[k];
          size_t i = Home(c.key);
          if (i < begin || i >= end) {
            waiting->push_back(c);
            continue;
          }
          unsigned empty = SlotsHolding(&cells_[i], 0);
          while (empty == 0 && (i += 4) < end) empty = SlotsHolding(&cells_[i], 0);
          if (i == end) {
            waiting->push_back(c);
            continue;
          }
          cells_[i + __builtin_ctz(empty)] = c;
        }
      }
    };
    for (size_t hi = old_lines; hi > 0; hi /= 2) {
      const size_t lo = hi / 2, mid = lo + (hi - lo) / 2;
      if (growth_ != nullptr && (hi - lo) * 4 >= kBackgroundGrowthMinCells / 2) {
        growth_->worker.Run([&, mid, hi] { place(mid, hi, &deferred[1]); });
        place(lo, mid, &deferred[0]);
        growth_->worker.Wait();
      } else {
        place(lo, mid, &deferred[0]);
        place(mid, hi, &deferred[1]);
      }
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

  GrowableArray<PairCell> cells_;  // 64-byte aligned once large
  size_t size_ = 0;
  size_t mask_ = 0;
  int shift_ = 64;
  std::unique_ptr<Growth> growth_;  // null: growth in place
};

}  // namespace streamrec
