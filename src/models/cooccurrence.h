#pragma once
// CoOccurrence: the weight c(i,j) of every pair of items that appeared together in a
// user's recent items, each item's norm n(i), and each item's neighbour pool.
//
//   c(i,j) = sum over co-occurrences of f * g(w_i, w_j)   (symmetric; see Recommender
//            for when two items co-occur, f for sessions, g = PairWeighting)
//   n(i)   = sum over occurrences of i of w_i
//   cosine:      sim(i,j) = c(i,j) / (sqrt(n(i) n(j)) + shrinkage)
//   conditional: sim(i,j) = c(i,j) / (n(i) + shrinkage)
//
// Neighbour pool of i: holds the top `neighbours` items j by (c(i,j) desc, j asc), the
// order of RanksBefore, and what queries read is exactly that top. Each entry holds its
// pair's current weight (an update of a listed pair writes it there), so queries and
// selections read the pool alone, never the pair cells of its entries.
//
// A pool has room for `neighbours` entries plus slack (half as many again; at least one,
// and 255 entries in all at most, the positions a mark can name). Entries come in with
// no test until the block is full; then a selection keeps the top `neighbours`
// by current weights (and up to a quarter of the slack more: a window of ranks is
// cheaper to select than one rank), drops the rest and sets the bar to the last entry
// kept, and from then on an offer enters only by ranking before the bar; a pool full
// again is selected again. Since weights only increase, a pool is always a superset of
// the top: an item outside was dropped by a selection or ranked after the bar when last
// offered, so it ranks after `neighbours` items or more, whose weights only rose since.
// Queries take the top of the pool. So the top is a function of the weights alone,
// whatever the order of updates, and a batch may offer each touched pair once with its
// final weight. (A heap of each full pool's entries cost a sift of dependent loads per
// entrant; a selection, a few branch-free passes over the block per dozen entrants.)
//
// A selection's dropped positions are holes, which entrants fill in ascending order;
// entries never move, so a position identifies an entry for as long as it is listed.
// Where j sits in i's pool is marked in the pair's cell, so an update finds its entry
// without a search. A selection leaves the dropped pairs' marks in place (clearing them
// would cost a miss on a cell in a table of hundreds of MB): a mark counts only when the
// entry it points at holds the pair's other item, and a stale mark is cleared when its
// pair is next updated.
//
// Memory: pairs in PairTable (16-byte cells, 21 to 43 bytes per pair); per item 20
// bytes (norm and pool state) plus its pool, 8 bytes an entry in blocks of 4, 8, 16,
// ... up to neighbours + slack entries, in one arena per block size with free lists (a
// block moves up a size as the pool fills).

#include <bit>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "common/byte_io.h"
#include "common/huge_page_allocator.h"
#include "common/id_vector.h"
#include "common/ids.h"
#include "models/model_config.h"
#include "models/pair_table.h"

namespace streamrec {

struct NeighbourEntry {
  ItemIdx item;
  float weight = 0;  // c(owner, item), as in the pair's cell once AddPairs returns
};

class CoOccurrence {
 public:
  explicit CoOccurrence(const ModelConfig& config);

  // One update of a pair: c += delta (>= 0) and, if `bought`, one co-purchase.
  struct PairUpdate {
    uint64_t key;  // PairTable::Key(a, b), a != b
    float delta;
    bool bought;
  };
  // Applies `updates` with the result of applying them one at a time in order: each
  // pair's weight is the same float sum in the same order, and the pools' tops (a
  // function of the weights alone, see above) are the same; their other entries, holes
  // and bars may differ. In passes, so the cache misses overlap:
  // the home slots of all, then the weights in order with the slots prefetched ahead,
  // then one offer of each touched pair to both pools with its final weight.
  void AddPairs(std::span<const PairUpdate> updates);
  // Adds `delta` (>= 0) to n(item).
  //
  // Norms and pairs are apart: AddNorm may run on one thread while AddPairs runs on
  // another (Recommender's pipeline); nothing else may run meanwhile.
  void AddNorm(ItemIdx item, float delta) { norms_.At(item) += delta; }

  void PrefetchNorm(ItemIdx item) const { norms_.Prefetch(item); }
  // The pair table's next size is prepared on a background thread (PairTable).
  void GrowPairsInBackground() { pairs_.GrowInBackground(); }

  float Norm(ItemIdx item) const { return norms_.Get(item); }
  // The pair's cell, or nullptr if a and b never co-occurred (or a == b).
  const PairCell* Find(ItemIdx a, ItemIdx b) const {
    return a == b ? nullptr : pairs_.Find(PairTable::Key(a, b));
  }
  // Starts loading the line where Find(a, b) begins.
  void PrefetchFind(ItemIdx a, ItemIdx b) const {
    if (a != b) pairs_.PrefetchFind(PairTable::Key(a, b));
  }
  // Calls fn(ItemIdx j, float c(item, j)) for each j in `item`'s neighbour pool, in pool
  // order (not sorted); nothing for unknown items.
  template <typename Fn>
  void ForEachNeighbour(ItemIdx item, Fn&& fn) const {
    const PoolView pool = Pool(item);
    for (const NeighbourEntry& e : pool.block) {
      if (pool.Counts(e)) fn(e.item, e.weight);
    }
  }
  // sim(owner, other) for a pair weight `weight` under the configured similarity.
  double Similarity(double weight, float owner_norm, float other_norm) const;

  size_t pairs() const { return pairs_.size(); }
  int64_t pair_updates() const { return pair_updates_; }
  int64_t evictions() const { return evictions_; }
  size_t MemoryBytes() const;
  // Bytes held for pairs (table) and pools (arenas).
  size_t PairBytes() const { return pairs_.MemoryBytes(); }

  void Save(ByteWriter* w) const;
  // Replaces the state; `items` bounds every item id. Rebuilds the pool marks in the
  // pair cells, so a snapshot cannot leave them inconsistent, and refuses pools that
  // contradict the pairs (a bar above an entry, a pair outside that ranks in).
  absl::Status Load(ByteReader* r, size_t items);

 private:
  static constexpr uint8_t kNoBlock = 0xFF;
  static constexpr uint8_t kNoHole = 0xFF;
  struct PoolState {
    uint32_t offset = 0;       // of the pool's block in arenas_[block]
    uint8_t used = 0;          // positions [0, used) of the block: entries and holes
    uint8_t listed = 0;        // entries among them
    uint8_t hole = kNoHole;    // the lowest hole; each links the next, ascending
    uint8_t block = kNoBlock;  // size class of the block
    float bar_weight = -1;     // an offer enters only by ranking before (bar_weight,
    uint32_t bar_item = 0;     // bar_item): none before the first selection
  };
  static_assert(sizeof(PoolState) == 16);

  // Offers `other` with weight `weight` to `owner`'s pool; `*pos` is other's mark (see
  // above), kept current.
  void Offer(ItemIdx owner, ItemIdx other, float weight, uint8_t* pos);
  // Offer's cases that need no selection: `other` listed already (its entry takes the
  // weight), ranked out by the bar, or entering a pool with room. False when the pool
  // is full and the offer passes its bar: Offer's selection path.
  bool OfferWithoutSelection(ItemIdx owner, ItemIdx other, float weight, uint8_t* pos);
  // Keeps the top capacity_ entries of a full pool (no holes), and up to a quarter of the
  // slack more (a window of ranks is cheaper to select than one rank), makes holes of the
  // others and sets the bar to the last entry kept.
  void SelectTop(PoolState* s);
  // The RankKey of an entry of `entries` (holes skipped) at or before which at least
  // `at_least` and at most `at_most` entries rank. REQUIRES: 1 <= at_least <= at_most, and
  // at least `at_least` entries.
  static uint64_t BarKey(std::span<const NeighbourEntry> entries, uint32_t at_least,
                         uint32_t at_most);
  // Whether an offer of `other` with `weight` ranks before the pool's bar (every offer
  // does until the pool's first selection).
  static bool PassesBar(const PoolState& s, float weight, ItemIdx other);
  // The pool's next unused position, its block grown when full. REQUIRES: s->used <
  // pool_capacity_.
  uint8_t TakeUnusedPosition(PoolState* s);
  // Links the positions below `used` that hold no item as the pool's holes, ascending.
  void LinkHoles(PoolState* s);
  // Prefetches the entry that an offer of a pair with weight `weight` to `owner`'s pool
  // would write, given the pair's mark `pos` there.
  void PrefetchEntry(ItemIdx owner, uint8_t pos, float weight) const;
  NeighbourEntry* Block(const PoolState& s) { return arenas_[s.block].data() + s.offset; }
  const NeighbourEntry* Block(const PoolState& s) const {
    return arenas_[s.block].data() + s.offset;
  }
  void GrowBlock(PoolState* s);
  // RanksBefore as one number: the entry with weight w and item j ranks before the one
  // with weight v and item k exactly when its key is greater. Weights are never negative
  // (nor -0), and a non-negative float's bits order as their value; the lower id wins a
  // tie.
  static uint64_t RankKey(float weight, ItemIdx item) {
    return (uint64_t{std::bit_cast<uint32_t>(weight)} << 32) | (UINT32_MAX - item.value);
  }
  // A pool's block, and which of its entries are its top capacity_.
  struct PoolView {
    std::span<const NeighbourEntry> block;
    uint64_t bar = 0;  // the RankKey of the last of the top
    bool Counts(const NeighbourEntry& e) const {
      return e.item.valid() && RankKey(e.weight, e.item) >= bar;
    }
  };
  PoolView Pool(ItemIdx item) const;

  uint32_t capacity_;                  // neighbours per item
  uint32_t pool_capacity_;             // entries per pool: neighbours + slack
  std::vector<uint32_t> block_sizes_;  // entries per block, by size class
  streamrec::Similarity similarity_;
  float shrinkage_;
  IdVector<ItemIdx, float> norms_;      // n(i)
  IdVector<ItemIdx, PoolState> pools_;  // never longer than norms_: a pair's items have norms
  std::vector<HugePageVector<NeighbourEntry>> arenas_;
  std::vector<std::vector<uint32_t>> free_blocks_;  // offsets of free blocks, by class
  PairTable pairs_;
  std::vector<size_t> slots_;  // AddPairs' scratch: home slots, then cell slots
  struct Contender {
    size_t slot;       // the pair's cell
    bool owner_is_lo;  // offered to the pool of the pair's lo item, else of its hi item
  };
  std::vector<Contender> contenders_;  // AddPairs' scratch: offers that need a selection
  int64_t pair_updates_ = 0;
  int64_t evictions_ = 0;
};

}  // namespace streamrec
