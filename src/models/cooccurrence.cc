#include "models/cooccurrence.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "common/check.h"
#include "models/top_pool.h"

namespace streamrec {

CoOccurrence::CoOccurrence(const ModelConfig& config)
    : capacity_(config.neighbours), similarity_(config.similarity), shrinkage_(config.shrinkage) {
  STREAMREC_CHECK(capacity_ >= 1 && capacity_ < kNotListed) << capacity_;
  for (uint32_t size = 4;; size *= 2) {
    block_sizes_.push_back(std::min(size, capacity_));
    if (size >= capacity_) break;
  }
  arenas_.resize(block_sizes_.size());
  free_blocks_.resize(block_sizes_.size());
}

void CoOccurrence::AddPairs(std::span<const PairUpdate> updates) {
  // Slots read kAhead updates ahead: enough misses in flight to cover memory latency.
  constexpr size_t kAhead = 24;
  const size_t n = updates.size();
  if (n == 0) return;
  pairs_.Reserve(pairs_.size() + n);  // no growth below: the slots stay valid
  slots_.resize(n);
  for (size_t i = 0; i < n; ++i) slots_[i] = pairs_.Home(updates[i].key);
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) pairs_.PrefetchSlot(slots_[i + kAhead]);
    const PairUpdate& u = updates[i];
    bool inserted = false;
    PairCell* cell = pairs_.FindOrInsertFrom(u.key, slots_[i], &inserted);
    cell->weight += u.delta;
    if (u.bought && cell->bought != UINT16_MAX) ++cell->bought;
    slots_[i] = static_cast<size_t>(cell - pairs_.CellAt(0));
  }
  pair_updates_ += static_cast<int64_t>(n);
  // Offers with final weights; no insertion here, so the cells stay put. A pair touched
  // twice is offered twice, the second time a no-op (listed, or ranked out again). An
  // offer that a full pool's bar admits needs the pool's last entry and then its block
  // and heap: such offers wait in contenders_ while the entry (here) and the block and
  // heap (next pass) are prefetched, and are made last. Since a pool is a function of
  // the weights alone, the order of offers changes nothing.
  contenders_.clear();
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      const uint64_t key = updates[i + kAhead].key;
      pairs_.PrefetchSlot(slots_[i + kAhead]);
      pools_.Prefetch(ItemIdx(static_cast<uint32_t>(key >> 32)));
      pools_.Prefetch(ItemIdx(static_cast<uint32_t>(key)));
    }
    // A listed pair writes its weight into its pool entries: their lines are asked for
    // once the pools' states, asked for above, are likely in.
    if (i + kAhead / 2 < n) {
      const PairCell& ahead = *pairs_.CellAt(slots_[i + kAhead / 2]);
      if (ahead.pos_in_lo != kNotListed) {
        __builtin_prefetch(Block(pools_.Get(ahead.lo())) + ahead.pos_in_lo, 1);
      }
      if (ahead.pos_in_hi != kNotListed) {
        __builtin_prefetch(Block(pools_.Get(ahead.hi())) + ahead.pos_in_hi, 1);
      }
    }
    PairCell* cell = pairs_.CellAt(slots_[i]);
    if (cell->weight <= 0) continue;
    if (!OfferWithoutEviction(cell->lo(), cell->hi(), cell->weight, &cell->pos_in_lo)) {
      contenders_.push_back({slots_[i], /*owner_is_lo=*/true});
    }
    if (!OfferWithoutEviction(cell->hi(), cell->lo(), cell->weight, &cell->pos_in_hi)) {
      contenders_.push_back({slots_[i], /*owner_is_lo=*/false});
    }
  }
  // A contender whose weight only ties the bar loses to the last entry when its item id
  // is higher: three in ten contenders on the 10M set, dropped before their misses are paid.
  // Dropping is exact: the last entry (by copies, prefetched above) only ever rises, by
  // refreshes and evictions, so a contender that ranks after it now never enters.
  size_t kept = 0;
  for (const Contender& c : contenders_) {
    const PairCell* cell = pairs_.CellAt(c.slot);
    const ItemIdx owner = c.owner_is_lo ? cell->lo() : cell->hi();
    const ItemIdx other = c.owner_is_lo ? cell->hi() : cell->lo();
    const PoolState s = pools_.Get(owner);  // a full pool: its block exists
    if (!RanksBefore(cell->weight, other.value, s.last_weight, Block(s)[s.last].item.value)) {
      continue;
    }
    contenders_[kept++] = c;
    // The heap's sift reads its line, and entries and copies anywhere in the block.
    __builtin_prefetch(Heap(s));
    const char* block = reinterpret_cast<const char*>(Block(s));
    for (size_t at = 0; at < capacity_ * sizeof(NeighbourEntry); at += 64) {
      __builtin_prefetch(block + at);
    }
    const char* copies = reinterpret_cast<const char*>(HeapWeights(s));
    for (size_t at = 0; at < capacity_ * sizeof(float); at += 64) __builtin_prefetch(copies + at);
  }
  contenders_.resize(kept);
  for (const Contender& c : contenders_) {
    PairCell* cell = pairs_.CellAt(c.slot);
    if (c.owner_is_lo) {
      Offer(cell->lo(), cell->hi(), cell->weight, &cell->pos_in_lo);
    } else {
      Offer(cell->hi(), cell->lo(), cell->weight, &cell->pos_in_hi);
    }
  }
}

// Inlined: it runs twice for every pair update, and most calls return at its first tests.
[[gnu::always_inline]] inline bool CoOccurrence::OfferWithoutEviction(ItemIdx owner, ItemIdx other,
                                                                      float weight, uint8_t* pos) {
  PoolState& s = pools_.At(owner);
  if (*pos != kNotListed) {
    NeighbourEntry& listed = Block(s)[*pos];
    if (listed.item == other) {
      listed.weight = weight;  // the heap's copy stays behind (see the header)
      return true;
    }
    *pos = kNotListed;  // left by an eviction
  }
  if (s.size < capacity_) {
    if (s.block == kNoBlock || s.size == block_sizes_[s.block]) GrowBlock(&s);
    NeighbourEntry* entries = Block(s);
    entries[s.size] = NeighbourEntry{other, weight};
    *pos = s.size++;
    if (s.size == capacity_) BuildHeap(&s);
    return true;
  }
  // Ranks after the last entry's copy, hence after every entry: the common case.
  if (weight < s.last_weight) return true;
  __builtin_prefetch(Block(s) + s.last);
  return false;
}

void CoOccurrence::Offer(ItemIdx owner, ItemIdx other, float weight, uint8_t* pos) {
  if (OfferWithoutEviction(owner, other, weight, pos)) return;
  // The last entry by copies is the last in truth once its own copy is current (every
  // copy is at most its entry's weight). The evicted pair's mark stays (see the header).
  PoolState& s = pools_.At(owner);
  NeighbourEntry* entries = Block(s);
  float* copies = HeapWeights(s);
  while (RanksBefore(weight, other.value, s.last_weight, entries[s.last].item.value)) {
    NeighbourEntry& last = entries[s.last];
    if (last.weight != s.last_weight) {
      copies[s.last] = last.weight;
      SiftDownRoot(&s);
      continue;
    }
    ++evictions_;
    last = NeighbourEntry{other, weight};
    copies[s.last] = weight;
    *pos = s.last;
    SiftDownRoot(&s);
    return;
  }
}

namespace {

// RanksBefore on the copies as one number: the entry at position p ranks before the one
// at q exactly when its key is greater. Weights are never negative (nor -0), and a
// non-negative float's bits order as its value; the lower item id wins a tie. So a sift
// picks a child without a branch: which child ranks lower follows no pattern a
// predictor could learn.
inline uint64_t RankKey(const NeighbourEntry* e, const float* copies, uint8_t p) {
  return (uint64_t{std::bit_cast<uint32_t>(copies[p])} << 32) | (UINT32_MAX - e[p].item.value);
}

// Moves heap[at] down until no child ranks after it. `n` entries.
inline void SiftDown(const NeighbourEntry* e, const float* copies, uint8_t* heap, uint32_t at,
                     uint32_t n) {
  const uint8_t moving = heap[at];
  const uint64_t moving_key = RankKey(e, copies, moving);
  while (true) {
    uint32_t child = 2 * at + 1;
    if (child >= n) break;
    if (child + 1 < n) {
      child += RankKey(e, copies, heap[child + 1]) < RankKey(e, copies, heap[child]);
    }
    if (RankKey(e, copies, heap[child]) >= moving_key) break;
    heap[at] = heap[child];
    at = child;
  }
  heap[at] = moving;
}

}  // namespace

void CoOccurrence::BuildHeap(PoolState* s) {
  const NeighbourEntry* e = Block(*s);
  float* copies = HeapWeights(*s);
  uint8_t* heap = Heap(*s);
  for (uint32_t i = 0; i < s->size; ++i) {
    heap[i] = static_cast<uint8_t>(i);
    copies[i] = e[i].weight;
  }
  for (uint32_t i = s->size / 2; i-- > 1;) SiftDown(e, copies, heap, i, s->size);
  SiftDownRoot(s);  // the last node, and last and last_weight with it
}

void CoOccurrence::SiftDownRoot(PoolState* s) {
  const float* copies = HeapWeights(*s);
  uint8_t* heap = Heap(*s);
  SiftDown(Block(*s), copies, heap, 0, s->size);
  s->last = heap[0];
  s->last_weight = copies[heap[0]];
}

void CoOccurrence::GrowBlock(PoolState* s) {
  const uint8_t block = s->block == kNoBlock ? 0 : s->block + 1;
  STREAMREC_CHECK(block < block_sizes_.size()) << "pool block past the largest size";
  uint32_t offset;
  if (!free_blocks_[block].empty()) {
    offset = free_blocks_[block].back();
    free_blocks_[block].pop_back();
  } else {
    offset = static_cast<uint32_t>(arenas_[block].size());
    arenas_[block].resize(arenas_[block].size() + block_sizes_[block]);
    if (block + 1u == block_sizes_.size()) {
      heaps_.resize(arenas_[block].size());
      heap_weights_.resize(arenas_[block].size());
    }
  }
  if (s->block != kNoBlock) {
    const NeighbourEntry* from = Block(*s);
    std::copy(from, from + s->size, arenas_[block].data() + offset);
    free_blocks_[s->block].push_back(s->offset);
  }
  s->block = block;
  s->offset = offset;
}

std::span<const NeighbourEntry> CoOccurrence::Pool(ItemIdx item) const {
  const PoolState* s = pools_.Find(item);
  if (s == nullptr || s->block == kNoBlock) return {};
  return {Block(*s), s->size};
}

double CoOccurrence::Similarity(double weight, float owner_norm, float other_norm) const {
  const double denominator =
      similarity_ == streamrec::Similarity::kCosine
          ? std::sqrt(static_cast<double>(owner_norm) * other_norm) + shrinkage_
          : static_cast<double>(owner_norm) + shrinkage_;
  return denominator > 0 ? weight / denominator : 0.0;
}

size_t CoOccurrence::MemoryBytes() const {
  size_t bytes = norms_.MemoryBytes() + pools_.MemoryBytes() + pairs_.MemoryBytes();
  for (size_t b = 0; b < arenas_.size(); ++b) {
    bytes += arenas_[b].capacity() * sizeof(NeighbourEntry) +
             free_blocks_[b].capacity() * sizeof(uint32_t);
  }
  return bytes + heaps_.capacity() + heap_weights_.capacity() * sizeof(float);
}

void CoOccurrence::Save(ByteWriter* w) const {
  w->Put(pair_updates_);
  w->Put(evictions_);
  const size_t items = std::max(norms_.size(), pools_.size());
  w->Put<uint32_t>(static_cast<uint32_t>(items));
  for (uint32_t i = 0; i < items; ++i) {
    const PoolState* s = pools_.Find(ItemIdx(i));
    const uint8_t size = s == nullptr ? 0 : s->size;
    w->Put(norms_.Get(ItemIdx(i)));
    w->Put(size);
    if (size > 0) {
      const NeighbourEntry* e = Block(*s);
      for (uint8_t p = 0; p < size; ++p) w->Put(e[p].item.value);
    }
  }
  w->Put<uint64_t>(pairs_.size());
  pairs_.ForEach([&](const PairCell& c) {
    w->Put(c.key);
    w->Put(c.weight);
    w->Put(c.bought);
  });
}

absl::Status CoOccurrence::Load(ByteReader* r, size_t items) {
  const auto corrupt = [](std::string_view what) {
    return absl::DataLossError(std::string("co-occurrence: ") + std::string(what));
  };
  r->Get(&pair_updates_);
  r->Get(&evictions_);
  uint32_t n = 0;
  r->Get(&n);
  if (!r->ok()) return corrupt("truncated header");
  if (n > items) return corrupt("more items than the model knows");
  for (uint32_t i = 0; i < n; ++i) {
    float& norm = norms_.At(ItemIdx(i));
    PoolState& s = pools_.At(ItemIdx(i));
    uint8_t size = 0;
    r->Get(&norm);
    r->Get(&size);
    if (!r->ok()) return corrupt("truncated item");
    if (!std::isfinite(norm) || norm < 0) return corrupt("bad norm");
    if (size > capacity_) return corrupt("pool larger than the configured neighbours");
    while (s.size < size) {
      if (s.block == kNoBlock || s.size == block_sizes_[s.block]) GrowBlock(&s);
      uint32_t id = 0;
      if (!r->Get(&id)) return corrupt("truncated pool");
      if (id >= n || id == i) return corrupt("bad pool entry");
      Block(s)[s.size++] = NeighbourEntry{ItemIdx(id), 0};
    }
  }
  uint64_t count = 0;
  r->Get(&count);
  constexpr size_t kPairBytes = sizeof(uint64_t) + sizeof(float) + sizeof(uint16_t);
  if (!r->ok() || count > r->remaining() / kPairBytes) return corrupt("bad pair count");
  pairs_.Reserve(count);
  for (uint64_t p = 0; p < count; ++p) {
    uint64_t key = 0;
    float weight = 0;
    uint16_t bought = 0;
    r->Get(&key);
    r->Get(&weight);
    r->Get(&bought);
    if (!r->ok()) return corrupt("truncated pairs");
    const uint32_t lo = static_cast<uint32_t>(key >> 32), hi = static_cast<uint32_t>(key);
    if (lo >= hi || hi >= n) return corrupt("bad pair key");
    if (!std::isfinite(weight) || std::signbit(weight)) return corrupt("bad pair weight");
    bool inserted = false;
    PairCell* cell = pairs_.FindOrInsert(key, &inserted);
    if (!inserted) return corrupt("duplicate pair");
    cell->weight = weight;
    cell->bought = bought;
  }
  // Link every pool entry to its pair: the marks and weights come from the pairs.
  for (uint32_t i = 0; i < n; ++i) {
    PoolState& s = pools_.At(ItemIdx(i));
    if (s.size == 0) continue;
    NeighbourEntry* e = Block(s);
    for (uint8_t p = 0; p < s.size; ++p) {
      PairCell* cell = pairs_.Find(PairTable::Key(ItemIdx(i), e[p].item));
      if (cell == nullptr) return corrupt("pool entry without a pair");
      uint8_t& pos = cell->PosIn(ItemIdx(i));
      if (pos != kNotListed) return corrupt("item twice in a pool");
      pos = p;
      e[p].weight = cell->weight;
    }
    if (s.size == capacity_) BuildHeap(&s);
  }
  return absl::OkStatus();
}

}  // namespace streamrec
