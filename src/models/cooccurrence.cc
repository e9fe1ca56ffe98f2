#include "models/cooccurrence.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>

#include "common/check.h"
#include "models/top_pool.h"

namespace streamrec {

CoOccurrence::CoOccurrence(const ModelConfig& config)
    : capacity_(config.neighbours),
      pool_capacity_(capacity_ + std::min(std::max(capacity_ / 2, 1u), kNotListed - capacity_)),
      similarity_(config.similarity),
      shrinkage_(config.shrinkage) {
  // Positions below kNotListed, and room for at least one entrant after a selection.
  STREAMREC_CHECK(capacity_ >= 1 && capacity_ < kNotListed) << capacity_;
  for (uint32_t size = 4;; size *= 2) {
    block_sizes_.push_back(std::min(size, pool_capacity_));
    if (size >= pool_capacity_) break;
  }
  arenas_.resize(block_sizes_.size());
  free_blocks_.resize(block_sizes_.size());
}

void CoOccurrence::AddPairs(std::span<const PairUpdate> updates) {
  // Slots read kAhead updates ahead: enough misses in flight to cover memory latency.
  // The entries an offer writes are asked for kEntryAhead updates ahead, from the pool
  // states asked for kAhead ahead (12 ahead: 5-8% slower for 10M events on one thread).
  constexpr size_t kAhead = 24, kEntryAhead = 16;
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
  // offer that passes a full pool's bar needs a selection, which reads the whole block:
  // such offers wait in contenders_ while their blocks are prefetched, and are made
  // last. Since a pool's top is a function of the weights alone, the order of offers
  // changes nothing.
  contenders_.clear();
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      const uint64_t key = updates[i + kAhead].key;
      pairs_.PrefetchSlot(slots_[i + kAhead]);
      pools_.Prefetch(ItemIdx(static_cast<uint32_t>(key >> 32)));
      pools_.Prefetch(ItemIdx(static_cast<uint32_t>(key)));
    }
    // The entry an offer writes (a listed pair's, or an entrant's hole or free
    // position): its line is asked for once the pool's state, asked for above, is
    // likely in.
    if (i + kEntryAhead < n) {
      const PairCell& ahead = *pairs_.CellAt(slots_[i + kEntryAhead]);
      PrefetchEntry(ahead.lo(), ahead.pos_in_lo, ahead.weight);
      PrefetchEntry(ahead.hi(), ahead.pos_in_hi, ahead.weight);
    }
    PairCell* cell = pairs_.CellAt(slots_[i]);
    if (cell->weight <= 0) continue;
    if (!OfferWithoutSelection(cell->lo(), cell->hi(), cell->weight, &cell->pos_in_lo)) {
      contenders_.push_back({slots_[i], /*owner_is_lo=*/true});
    }
    if (!OfferWithoutSelection(cell->hi(), cell->lo(), cell->weight, &cell->pos_in_hi)) {
      contenders_.push_back({slots_[i], /*owner_is_lo=*/false});
    }
  }
  for (const Contender& c : contenders_) {
    const PairCell* cell = pairs_.CellAt(c.slot);
    const PoolState& s = pools_.Get(c.owner_is_lo ? cell->lo() : cell->hi());
    const char* block = reinterpret_cast<const char*>(Block(s));
    for (size_t at = 0; at < pool_capacity_ * sizeof(NeighbourEntry); at += 64) {
      __builtin_prefetch(block + at);
    }
  }
  for (const Contender& c : contenders_) {
    PairCell* cell = pairs_.CellAt(c.slot);
    if (c.owner_is_lo) {
      Offer(cell->lo(), cell->hi(), cell->weight, &cell->pos_in_lo);
    } else {
      Offer(cell->hi(), cell->lo(), cell->weight, &cell->pos_in_hi);
    }
  }
}

namespace {

// A hole in a pool's block: no item, and the position of the next hole (kNoHole: none)
// in the weight's bits.
NeighbourEntry Hole(uint8_t next) {
  return NeighbourEntry{ItemIdx(), std::bit_cast<float>(uint32_t{next})};
}
uint8_t NextHole(const NeighbourEntry& hole) {
  return static_cast<uint8_t>(std::bit_cast<uint32_t>(hole.weight));
}

}  // namespace

uint64_t CoOccurrence::BarKey(std::span<const NeighbourEntry> entries, uint32_t at_least,
                              uint32_t at_most) {
  // Quickselect on a window of ranks: `keys` [0, m) holds the candidates, and `above`
  // entries outside them rank before every candidate. A round counts the candidates at
  // or before a pivot (without a branch: a loop the compiler vectorizes), returns the
  // pivot if the count falls in the window, else keeps the candidates on the window's
  // side of it. Keys are distinct (one entry per item), so each round drops the pivot.
  std::array<uint64_t, kNotListed> keys;
  size_t m = 0;
  for (const NeighbourEntry& e : entries) {
    keys[m] = RankKey(e.weight, e.item);
    m += e.item.valid();
  }
  size_t above = 0;
  while (true) {
    const uint64_t a = keys[0], b = keys[m / 2], c = keys[m - 1];
    const uint64_t pivot = std::max(std::min(a, b), std::min(std::max(a, b), c));  // median
    size_t count = 0;
    for (size_t i = 0; i < m; ++i) count += keys[i] >= pivot;
    const size_t rank = above + count;  // entries at or before the pivot
    if (rank >= at_least && rank <= at_most) return pivot;
    size_t kept = 0;
    if (rank < at_least) {  // the pivot ranks too high: the answer ranks after it
      for (size_t i = 0; i < m; ++i) {
        keys[kept] = keys[i];
        kept += keys[i] < pivot;
      }
      above = rank;
    } else {  // the pivot ranks too low: the answer ranks before it
      for (size_t i = 0; i < m; ++i) {
        keys[kept] = keys[i];
        kept += keys[i] > pivot;
      }
    }
    m = kept;
  }
}

inline bool CoOccurrence::PassesBar(const PoolState& s, float weight, ItemIdx other) {
  return RanksBefore(weight, other.value, s.bar_weight, s.bar_item);
}

inline uint8_t CoOccurrence::TakeUnusedPosition(PoolState* s) {
  if (s->block == kNoBlock || s->used == block_sizes_[s->block]) GrowBlock(s);
  return s->used++;
}

// Inlined: it runs twice for every pair update, and most calls return at its first tests.
[[gnu::always_inline]] inline bool CoOccurrence::OfferWithoutSelection(ItemIdx owner, ItemIdx other,
                                                                       float weight, uint8_t* pos) {
  PoolState& s = pools_.At(owner);
  if (*pos != kNotListed) {
    NeighbourEntry& listed = Block(s)[*pos];
    if (listed.item == other) {
      listed.weight = weight;
      return true;
    }
    *pos = kNotListed;  // left by a selection
  }
  // Ranks after the bar: the common case.
  if (!PassesBar(s, weight, other)) return true;
  uint8_t at;
  if (s.hole != kNoHole) {
    at = s.hole;
    s.hole = NextHole(Block(s)[at]);
  } else if (s.used < pool_capacity_) {
    at = TakeUnusedPosition(&s);
  } else {
    return false;
  }
  Block(s)[at] = NeighbourEntry{other, weight};
  ++s.listed;
  *pos = at;
  return true;
}

void CoOccurrence::LinkHoles(PoolState* s) {
  NeighbourEntry* entries = Block(*s);
  s->hole = kNoHole;
  for (uint32_t p = s->used; p-- > 0;) {
    if (!entries[p].item.valid()) {
      entries[p] = Hole(s->hole);
      s->hole = static_cast<uint8_t>(p);
    }
  }
}

void CoOccurrence::PrefetchEntry(ItemIdx owner, uint8_t pos, float weight) const {
  const PoolState& s = pools_.Get(owner);
  if (s.block == kNoBlock) return;
  if (pos == kNotListed) {
    if (weight < s.bar_weight) return;
    pos = s.hole != kNoHole ? s.hole : s.used;
  }
  __builtin_prefetch(Block(s) + pos, 1);
}

void CoOccurrence::Offer(ItemIdx owner, ItemIdx other, float weight, uint8_t* pos) {
  if (OfferWithoutSelection(owner, other, weight, pos)) return;
  SelectTop(&pools_.At(owner));
  const bool offered = OfferWithoutSelection(owner, other, weight, pos);
  STREAMREC_CHECK(offered) << "a selection leaves no hole";
}

void CoOccurrence::SelectTop(PoolState* s) {
  NeighbourEntry* entries = Block(*s);
  const uint32_t slack = pool_capacity_ - capacity_;
  const uint64_t bar = BarKey({entries, s->used}, capacity_, capacity_ + slack / 4);
  uint8_t kept = 0;
  for (uint32_t p = 0; p < s->used; ++p) {
    if (RankKey(entries[p].weight, entries[p].item) < bar) {
      entries[p].item = ItemIdx();
    } else {
      ++kept;
    }
  }
  LinkHoles(s);
  evictions_ += s->listed - kept;
  s->listed = kept;
  s->bar_weight = std::bit_cast<float>(static_cast<uint32_t>(bar >> 32));
  s->bar_item = UINT32_MAX - static_cast<uint32_t>(bar);
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
  }
  if (s->block != kNoBlock) {
    const NeighbourEntry* from = Block(*s);
    std::copy(from, from + s->used, arenas_[block].data() + offset);
    free_blocks_[s->block].push_back(s->offset);
  }
  s->block = block;
  s->offset = offset;
}

CoOccurrence::PoolView CoOccurrence::Pool(ItemIdx item) const {
  const PoolState* s = pools_.Find(item);
  if (s == nullptr || s->block == kNoBlock) return {};
  PoolView view{.block = {Block(*s), s->used}};
  if (s->listed > capacity_) view.bar = BarKey(view.block, capacity_, capacity_);
  return view;
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
  return bytes;
}

void CoOccurrence::Save(ByteWriter* w) const {
  w->Put(pair_updates_);
  w->Put(evictions_);
  const size_t items = std::max(norms_.size(), pools_.size());
  w->Put<uint32_t>(static_cast<uint32_t>(items));
  for (uint32_t i = 0; i < items; ++i) {
    const PoolState* s = pools_.Find(ItemIdx(i));
    const uint8_t used = s == nullptr ? 0 : s->used;
    w->Put(norms_.Get(ItemIdx(i)));
    w->Put(used);
    if (used > 0) {
      w->Put(s->bar_weight);
      w->Put(s->bar_item);
      const NeighbourEntry* e = Block(*s);
      for (uint8_t p = 0; p < used; ++p) w->Put(e[p].item.value);  // a hole's: UINT32_MAX
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
    uint8_t used = 0;
    r->Get(&norm);
    r->Get(&used);
    if (!r->ok()) return corrupt("truncated item");
    if (!std::isfinite(norm) || norm < 0) return corrupt("bad norm");
    if (used > pool_capacity_) return corrupt("pool larger than the configured neighbours");
    if (used == 0) continue;
    r->Get(&s.bar_weight);
    r->Get(&s.bar_item);
    if (!r->ok()) return corrupt("truncated pool");
    if (s.bar_weight != -1 && !(std::isfinite(s.bar_weight) && !std::signbit(s.bar_weight))) {
      return corrupt("bad pool bar");
    }
    while (s.used < used) {
      const uint8_t at = TakeUnusedPosition(&s);
      uint32_t id = 0;
      if (!r->Get(&id)) return corrupt("truncated pool");
      NeighbourEntry& e = Block(s)[at];
      if (id == UINT32_MAX) {
        if (s.bar_weight < 0) return corrupt("a hole in a pool never selected");
        e = NeighbourEntry{};
      } else {
        if (id >= n || id == i) return corrupt("bad pool entry");
        e = NeighbourEntry{ItemIdx(id), 0};
        ++s.listed;
      }
    }
    LinkHoles(&s);
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
    if (s.used == 0) continue;
    NeighbourEntry* e = Block(s);
    for (uint8_t p = 0; p < s.used; ++p) {
      if (!e[p].item.valid()) continue;  // a hole
      PairCell* cell = pairs_.Find(PairTable::Key(ItemIdx(i), e[p].item));
      if (cell == nullptr) return corrupt("pool entry without a pair");
      uint8_t& pos = cell->PosIn(ItemIdx(i));
      if (pos != kNotListed) return corrupt("item twice in a pool");
      pos = p;
      e[p].weight = cell->weight;
    }
    // A selected pool (one with a bar) is full and lists at least `neighbours` items, all
    // ranking at or before the bar: offers rely on it.
    if (s.bar_weight < 0) continue;
    if (s.used != pool_capacity_ || s.listed < capacity_ || s.bar_item >= n) {
      return corrupt("a selected pool not full");
    }
    const uint64_t bar = RankKey(s.bar_weight, ItemIdx(s.bar_item));
    for (uint8_t p = 0; p < s.used; ++p) {
      if (e[p].item.valid() && RankKey(e[p].weight, e[p].item) < bar) {
        return corrupt("a pool entry ranks after its bar");
      }
    }
  }
  // Every pair outside a pool ranks after the pool's bar, as its last offer found it: a
  // pool without a bar lists every pair of its item.
  bool complete = true;
  pairs_.ForEach([&](const PairCell& c) {
    if (c.weight <= 0) return;  // never offered
    const auto outside_is_ranked_out = [&](ItemIdx owner, ItemIdx other, uint8_t pos) {
      const PoolState& s = pools_.Get(owner);
      return pos != kNotListed || !PassesBar(s, c.weight, other);
    };
    complete &= outside_is_ranked_out(c.lo(), c.hi(), c.pos_in_lo) &&
                outside_is_ranked_out(c.hi(), c.lo(), c.pos_in_hi);
  });
  if (!complete) return corrupt("a pair missing from a pool it ranks in");
  return absl::OkStatus();
}

}  // namespace streamrec
