#pragma once
// The user-item interaction matrix: one cell per (user, item) pair with a purchase or
// an event, stored row by row. Each user's row is a small open-addressing table of
// 16-byte cells (item id, counts, amount spent) in one shared arena; a per-user header
// says where the row lives and how large it is, and keeps the row's view, click and
// cart sums: the user's engagement (user_features), read and written with the header
// an event loads anyway, instead of in an array of its own.
//
// Why rows: a user's events come in sessions, so consecutive updates of one user hit
// the same few cache lines, and a new pair lands next to the user's other pairs instead
// of at a random place in a table of hundreds of MB. The recommenders also read a
// user's row as a whole.
//
// Why 16 bytes: the arena is read at random, so its size is the operators' cost (cache
// and TLB misses, and the kernel zeroing its pages as it grows). A cell keeps its four
// counts in a byte each while they stay below kWide; the rare pair one of whose counts
// reaches kWide (74 of 6.9M pairs on the 10M benchmark set) keeps all four in a side
// table (`wide_`), and its count bytes all read kWide. Counts are exact either way.
//
// Layout invariants:
// - a row has capacity 2^k cells (k >= 1) and holds at most MaxSize(capacity) cells, so
//   it always has an empty cell (item id invalid) and probing ends;
// - the cell for `item` is at or after (linearly, wrapping) slot Hash(item) of its row;
// - a row that outgrows its capacity moves to a region twice as large; the region it
//   left goes to a free list of its size and is reused by the next row of that size;
// - a cell's count bytes are all below kWide, or all kWide with an entry in wide_.
// Bytes per pair: 16 / load, with load between 3/8 and 3/4 in rows of 16 cells and
// more; smaller rows are fuller. Plus a 32-byte row header per user, in the user's slot
// (features/user_slots.h) beside the open session and the purchase totals.
//
// Iteration is by user id, then by slot: the same for the same input in every run.
// User-keyed: the matrix partitions by user with the rest of user state.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/byte_io.h"
#include "common/event.h"
#include "common/growable_array.h"
#include "common/id_vector.h"
#include "features/counters.h"
#include "features/user_slots.h"

namespace streamrec {

struct Interaction {
  uint32_t purchase_count = 0;
  EngagementCounts engagement;
  double total_spent = 0;
};

// interaction_score = purchase * purchase_count + click * num_clicks + view * num_views
//                     + add_to_cart * num_add_to_cart. Defaults are the seed's weights.
struct InteractionWeights {
  double purchase = 1.0;
  double click = 0.2;
  double view = 0.1;
  double add_to_cart = 0.0;
};

class UserItemMatrix {
 public:
  // With row headers in slots of its own, or in `slots` (shared with the other
  // user-keyed operators; they must outlive this object).
  explicit UserItemMatrix(InteractionWeights weights = {}, UserSlots* slots = nullptr)
      : weights_(weights), rows_(slots) {}

  void AddPurchase(UserIdx user, ItemIdx item, double amount) {
    AddPurchase(rows_.At(user), user, item, amount);
  }
  void AddEvent(UserIdx user, ItemIdx item, EventType type) {
    AddEvent(rows_.At(user), user, item, type);
  }
  // The same on the user's row header, found by the caller (a batch loop finds a user's
  // slot once per record). REQUIRES: `row` is `user`'s, in the slots of this matrix.
  void AddPurchase(MatrixRowHeader& row, UserIdx user, ItemIdx item, double amount) {
    Cell& cell = Upsert(row, item);
    AddOne(user, cell, EventType::kPurchase);
    cell.total_spent += amount;
  }
  void AddEvent(MatrixRowHeader& row, UserIdx user, ItemIdx item, EventType type) {
    if (type == EventType::kPurchase) return;  // counted through AddPurchase
    AddOne(user, Upsert(row, item), type);
    row.engagement.Add(type);
  }

  // The interaction of a pair, or nullopt when the pair has none.
  std::optional<Interaction> Find(UserIdx user, ItemIdx item) const;

  // The user's view, click and cart counts over all items: the row's sums, kept in its
  // header (user_features reads them). Zero for a user without events.
  EngagementCounts Engagement(UserIdx user) const {
    const RowHeader* row = rows_.Find(user);
    return row == nullptr ? EngagementCounts{} : row->engagement;
  }

  double Score(const Interaction& c) const {
    return weights_.purchase * c.purchase_count + weights_.click * c.engagement.clicks +
           weights_.view * c.engagement.views + weights_.add_to_cart * c.engagement.add_to_cart;
  }

  // Brings the row header, then the home cell, of every record's pair into cache, with
  // plain loads in two tight loops, so that the CPU overlaps their misses (the cell's
  // address depends on the header). Batch loops call it for a group of records just
  // before applying them. Measured (docs/PERFORMANCE.md): software prefetches of the
  // cells, issued records ahead, gained nothing on an arena of hundreds of MB; these
  // loads do.
  void LoadCells(std::span<const Record> records) const;

  // Sizes the arena for about `pairs` pairs and the headers for `users` users, so that a
  // batch run does not copy the arena as it grows. Reserved memory that is never
  // written is never resident.
  void Reserve(size_t users, size_t pairs);

  // Calls fn(ItemIdx, const Interaction&) for every pair of `user`, in slot order.
  template <typename Fn>
  void ForEachInRow(UserIdx user, Fn&& fn) const {
    const RowHeader* row = rows_.Find(user);
    if (row == nullptr) return;
    const Cell* begin = cells_.data() + row->offset;
    const Cell* end = begin + row->capacity();
    for (const Cell* c = begin; c != end; ++c) {
      if (c->item.valid()) fn(c->item, Value(user, *c));
    }
  }

  // Starts loading `user`'s first cells: a scan over users calls it some rows ahead,
  // since rows lie scattered over the arena.
  void PrefetchRow(UserIdx user) const {
    if (const RowHeader* row = rows_.Find(user); row != nullptr) {
      __builtin_prefetch(cells_.data() + row->offset);
    }
  }

  // Calls fn(UserIdx, ItemIdx, const Interaction&) for every pair, by user id.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (uint32_t u = 0; u < rows_.size(); ++u) {
      ForEachInRow(UserIdx(u),
                   [&](ItemIdx item, const Interaction& c) { fn(UserIdx(u), item, c); });
    }
  }

  size_t pairs() const { return pairs_; }
  size_t pairs_of(UserIdx user) const {
    const RowHeader* row = rows_.Find(user);
    return row == nullptr ? 0 : row->size;
  }
  // Arena cells in use or free for reuse and the wide counts (and the slots of the row
  // headers when the matrix owns them; shared slots are their owner's to count).
  size_t MemoryBytes() const {
    return cells_.size() * sizeof(Cell) + rows_.MemoryBytes() +
           wide_.capacity() * (sizeof(std::pair<uint64_t, WideCounts>) + 1);
  }
  const InteractionWeights& weights() const { return weights_; }

  // Snapshots. Load replaces the contents; false when the input is malformed or breaks
  // the layout invariants (a row outside the arena, wide counts without their cell).
  void Save(ByteWriter* w) const;
  bool Load(ByteReader* r);

 private:
  // A count byte's mark for "all four counts are in wide_".
  static constexpr uint8_t kWide = 0xFF;
  // Counts by EventType (views, clicks, carts, purchases), exact whatever their size.
  using WideCounts = std::array<uint32_t, kEventTypeCount>;

  struct Cell {
    ItemIdx item;                                   // invalid: the cell is empty
    std::array<uint8_t, kEventTypeCount> counts{};  // by EventType; all kWide: in wide_
    double total_spent = 0;
  };
  static_assert(sizeof(Cell) == 16);

  using RowHeader = MatrixRowHeader;  // in the user's slot, beside the open session

  // Rows up to 8 cells may be full but one; larger rows stay at most 3/4 full, so probe
  // sequences stay short.
  static uint32_t MaxSize(uint32_t capacity) {
    return capacity <= 8 ? capacity - 1 : capacity / 4 * 3;
  }
  // Fibonacci hashing: the top bits of item * 2^32/phi. Dense ids spread evenly.
  static uint32_t Slot(ItemIdx item, uint8_t log2_capacity) {
    return static_cast<uint32_t>((uint64_t{item.value} * 0x9E3779B97F4A7C15ULL) >>
                                 (64 - log2_capacity));
  }

  static uint64_t WideKey(UserIdx user, ItemIdx item) {
    return (uint64_t{user.value} << 32) | item.value;
  }
  // Adds one to the count of `type` in `cell`, the cell of (user, cell.item).
  void AddOne(UserIdx user, Cell& cell, EventType type) {
    uint8_t& count = cell.counts[static_cast<int>(type)];
    if (count < kWide - 1) [[likely]] {
      ++count;
      return;
    }
    AddOneWide(user, cell, type);
  }
  // AddOne for a count at kWide - 1 (it moves the cell's counts to wide_) or in wide_.
  void AddOneWide(UserIdx user, Cell& cell, EventType type);
  Interaction Value(UserIdx user, const Cell& cell) const;
  // The cell of (user, item), or nullptr.
  const Cell* FindCell(UserIdx user, ItemIdx item) const;

  // The cell of `item` in `row`, created empty if the pair is new.
  Cell& Upsert(RowHeader& row, ItemIdx item) {
    if (row.log2_capacity != 0) [[likely]] {
      const uint32_t mask = row.capacity() - 1;
      Cell* base = cells_.data() + row.offset;
      for (uint32_t i = Slot(item, row.log2_capacity);; i = (i + 1) & mask) {
        Cell& c = base[i];
        if (c.item == item) return c;
        if (!c.item.valid()) {
          if (row.size < MaxSize(row.capacity())) {
            c.item = item;
            ++row.size;
            ++pairs_;
            return c;
          }
          break;  // full: grow, then insert
        }
      }
    }
    return InsertAfterGrowing(row, item);
  }
  Cell& InsertAfterGrowing(RowHeader& row, ItemIdx item);
  // A region of 2^log2 empty cells: reused from the free list, or appended.
  uint32_t AllocateRegion(uint8_t log2);

  InteractionWeights weights_;
  UserColumn<RowHeader, &UserSlot::row> rows_;
  GrowableArray<Cell> cells_;
  std::array<std::vector<uint32_t>, 32> free_regions_;  // by log2 capacity: offsets
  size_t pairs_ = 0;
  absl::flat_hash_map<uint64_t, WideCounts> wide_;  // by WideKey: pairs with a count >= kWide
};

}  // namespace streamrec
