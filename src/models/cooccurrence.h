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
// Neighbour pool of i: the top `neighbours` items j by (c(i,j) desc, j asc), the order of
// RanksBefore, kept exact by the argument of TopPool (weights only increase): an item
// outside the pool enters only by ranking before the pool's last entry, which then
// leaves. So a pool is a function of the weights alone, whatever the order of updates,
// and a batch may offer each touched pair once with its final weight. Each entry holds
// its pair's current weight (an update of a listed pair writes it there), so queries
// and evictions read the pool alone, never the pair cells of its entries.
//
// A full pool also keeps a binary heap of its entries' positions, worst at the root, so
// that the last entry after an eviction is found in O(log neighbours) steps instead of a
// scan of the pool. The heap ranks entries by a copy of their weights taken when they
// were last sifted: a lower bound of the current weight, since weights only grow, so an
// update of a listed pair never sifts. Before an eviction the root's copy is refreshed
// until the root's copy is current, hence the root the last entry in truth (an entry
// whose copy is below its weight ranks higher in truth).
//
// Where j sits in i's pool is marked in the pair's cell, so an update finds its entry
// without a search. An eviction leaves the evicted pair's mark in place (clearing it
// would cost a miss on a cell in a table of hundreds of MB): a mark counts only when the
// entry it points at holds the pair's other item, and a stale mark is cleared when its
// pair is next updated.
//
// Memory: pairs in PairTable (16-byte cells, 21 to 43 bytes per pair); per item 16
// bytes plus its pool, 8 bytes an entry in blocks of 4, 8, 16, ... up to `neighbours`
// entries, in one arena per block size with free lists (a block moves up a size as
// the pool fills), and for a full pool 5 bytes an entry of heap (position and copy).

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
  // pair's weight is the same float sum in the same order, and the pools (a function of
  // the weights alone, see above) are the same. In passes, so the cache misses overlap:
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
  // Calls fn(ItemIdx j, float c(item, j)) for each j in `item`'s neighbour pool, in pool
  // order (not sorted); nothing for unknown items.
  template <typename Fn>
  void ForEachNeighbour(ItemIdx item, Fn&& fn) const {
    for (const NeighbourEntry& e : Pool(item)) fn(e.item, e.weight);
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
  // pair cells, so a snapshot cannot leave them inconsistent.
  absl::Status Load(ByteReader* r, size_t items);

 private:
  static constexpr uint8_t kNoBlock = 0xFF;
  struct PoolState {
    uint32_t offset = 0;       // of the pool's block in arenas_[block]
    uint8_t size = 0;          // entries in the pool
    uint8_t block = kNoBlock;  // size class of the block
    uint8_t last = 0;          // position of the last entry by RanksBefore (copies), once full:
                               // the root of the pool's heap
    uint8_t unused = 0;
    float last_weight = 0;  // its copy: the bar to enter a full pool (a lower bound of its
                            // weight, and of every entry's)
  };
  static_assert(sizeof(PoolState) == 12);

  // Offers `other` with weight `weight` to `owner`'s pool; `*pos` is other's mark (see
  // above), kept current.
  void Offer(ItemIdx owner, ItemIdx other, float weight, uint8_t* pos);
  // Offer's cases that need no eviction: `other` listed already (its entry takes the
  // weight), a pool with room, or a weight below the bar. False when the offer needs
  // Offer's eviction path (the pool's last entry is prefetched then).
  bool OfferWithoutEviction(ItemIdx owner, ItemIdx other, float weight, uint8_t* pos);
  NeighbourEntry* Block(const PoolState& s) { return arenas_[s.block].data() + s.offset; }
  const NeighbourEntry* Block(const PoolState& s) const {
    return arenas_[s.block].data() + s.offset;
  }
  void GrowBlock(PoolState* s);
  // The heap of a full pool: positions in its block, each ranking after neither child
  // by the copies.
  uint8_t* Heap(const PoolState& s) { return heaps_.data() + s.offset; }
  // The copies the heap ranks a full pool's entries by, by position in the block.
  float* HeapWeights(const PoolState& s) { return heap_weights_.data() + s.offset; }
  // Makes the heap of a pool that just became full, and sets last and last_weight.
  void BuildHeap(PoolState* s);
  // Restores the heap after the root's entry came to rank higher (its copy refreshed, or
  // replaced by an entry that overtook it), and sets last and last_weight.
  void SiftDownRoot(PoolState* s);
  // The pool, with current weights.
  std::span<const NeighbourEntry> Pool(ItemIdx item) const;

  uint32_t capacity_;                  // neighbours per item
  std::vector<uint32_t> block_sizes_;  // entries per block, by size class
  streamrec::Similarity similarity_;
  float shrinkage_;
  IdVector<ItemIdx, float> norms_;      // n(i)
  IdVector<ItemIdx, PoolState> pools_;  // never longer than norms_: a pair's items have norms
  std::vector<HugePageVector<NeighbourEntry>> arenas_;
  std::vector<std::vector<uint32_t>> free_blocks_;  // offsets of free blocks, by class
  std::vector<uint8_t> heaps_;       // parallel to the largest class's arena (full pools)
  std::vector<float> heap_weights_;  // likewise
  PairTable pairs_;
  std::vector<size_t> slots_;  // AddPairs' scratch: home slots, then cell slots
  struct Contender {
    size_t slot;       // the pair's cell
    bool owner_is_lo;  // offered to the pool of the pair's lo item, else of its hi item
  };
  std::vector<Contender> contenders_;  // AddPairs' scratch: offers that may evict
  int64_t pair_updates_ = 0;
  int64_t evictions_ = 0;
};

}  // namespace streamrec
