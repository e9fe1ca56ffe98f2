#include "features/user_item_matrix.h"

#include <algorithm>
#include <cstring>

#include "common/check.h"

namespace streamrec {

std::optional<Interaction> UserItemMatrix::Find(UserIdx user, ItemIdx item) const {
  const Cell* cell = FindCell(user, item);
  if (cell == nullptr) return std::nullopt;
  return Value(user, *cell);
}

const UserItemMatrix::Cell* UserItemMatrix::FindCell(UserIdx user, ItemIdx item) const {
  const RowHeader* row = rows_.Find(user);
  if (row == nullptr || row->log2_capacity == 0) return nullptr;
  const uint32_t mask = row->capacity() - 1;
  const Cell* base = cells_.data() + row->offset;
  for (uint32_t i = Slot(item, row->log2_capacity);; i = (i + 1) & mask) {
    const Cell& c = base[i];
    if (c.item == item) return &c;
    if (!c.item.valid()) return nullptr;
  }
}

void UserItemMatrix::AddOneWide(UserIdx user, Cell& cell, EventType type) {
  WideCounts& wide = wide_[WideKey(user, cell.item)];
  if (cell.counts[0] != kWide) {  // the first count to reach kWide: all four move
    for (int t = 0; t < kEventTypeCount; ++t) wide[t] = cell.counts[t];
    cell.counts.fill(kWide);
  }
  ++wide[static_cast<int>(type)];
}

Interaction UserItemMatrix::Value(UserIdx user, const Cell& cell) const {
  WideCounts n;
  if (cell.counts[0] == kWide) [[unlikely]] {
    n = wide_.at(WideKey(user, cell.item));
  } else {
    for (int t = 0; t < kEventTypeCount; ++t) n[t] = cell.counts[t];
  }
  const auto count = [&](EventType t) { return n[static_cast<int>(t)]; };
  return Interaction{.purchase_count = count(EventType::kPurchase),
                     .engagement = {.views = count(EventType::kView),
                                    .clicks = count(EventType::kClick),
                                    .add_to_cart = count(EventType::kAddToCart)},
                     .total_spent = cell.total_spent};
}

void UserItemMatrix::LoadCells(std::span<const Record> records) const {
  // The sum of what was loaded goes into an empty asm statement, so that the compiler
  // keeps loads whose values nothing else uses.
  uint32_t loaded = 0;
  for (const Record& r : records) {
    if (const RowHeader* row = rows_.Find(r.user); row != nullptr) loaded += row->offset;
  }
  for (const Record& r : records) {
    const RowHeader* row = rows_.Find(r.user);
    if (row == nullptr || row->log2_capacity == 0) continue;
    loaded += cells_[row->offset + Slot(r.item, row->log2_capacity)].item.value;
  }
  asm volatile("" : : "r"(loaded));
}

void UserItemMatrix::Reserve(size_t users, size_t pairs) {
  rows_.Reserve(users);
  // Rows average about half full (3/8 to 3/4 in large rows, fuller in small ones).
  cells_.reserve(pairs * 2);
}

uint32_t UserItemMatrix::AllocateRegion(uint8_t log2) {
  std::vector<uint32_t>& free = free_regions_[log2];
  const size_t n = size_t{1} << log2;
  if (!free.empty()) {
    const uint32_t offset = free.back();
    free.pop_back();
    return offset;  // released regions are left empty (see InsertAfterGrowing)
  }
  STREAMREC_CHECK(cells_.size() + n <= UINT32_MAX) << "user-item arena exceeds 2^32 cells";
  const auto offset = static_cast<uint32_t>(cells_.size());
  // Value-initialized: every item id invalid. Past its capacity the arena at least doubles.
  cells_.resize(cells_.size() + n);
  return offset;
}

UserItemMatrix::Cell& UserItemMatrix::InsertAfterGrowing(RowHeader& header, ItemIdx item) {
  // `header` lives in rows_, which AllocateRegion does not touch; cells_ may move.
  const uint8_t old_log2 = header.log2_capacity;
  const uint8_t new_log2 = old_log2 == 0 ? 1 : old_log2 + 1;
  const uint32_t new_offset = AllocateRegion(new_log2);
  const uint32_t new_mask = (uint32_t{1} << new_log2) - 1;
  Cell* to = cells_.data() + new_offset;
  auto place = [&](const Cell& c) -> Cell& {
    uint32_t i = Slot(c.item, new_log2);
    while (to[i].item.valid()) i = (i + 1) & new_mask;
    to[i] = c;
    return to[i];
  };
  if (old_log2 != 0) {
    Cell* from = cells_.data() + header.offset;
    const uint32_t old_capacity = header.capacity();
    for (uint32_t i = 0; i < old_capacity; ++i) {
      if (from[i].item.valid()) {
        place(from[i]);
        from[i] = Cell{};  // a region goes back to its free list empty
      }
    }
    free_regions_[old_log2].push_back(header.offset);
  }
  header.offset = new_offset;
  header.log2_capacity = new_log2;
  ++header.size;
  ++pairs_;
  return place(Cell{.item = item});
}

void UserItemMatrix::Save(ByteWriter* w) const {
  rows_.Save(w);
  w->PutVarint(pairs_);
  w->PutVarint(cells_.size());
  w->PutRaw(cells_.data(), cells_.size() * sizeof(Cell));
  for (const std::vector<uint32_t>& free : free_regions_) {
    w->PutVarint(free.size());
    w->PutRaw(free.data(), free.size() * sizeof(uint32_t));
  }
  // Wide counts by key, so that equal matrices give equal bytes.
  std::vector<std::pair<uint64_t, WideCounts>> wide(wide_.begin(), wide_.end());
  std::sort(wide.begin(), wide.end());
  w->PutVarint(wide.size());
  for (const auto& [key, counts] : wide) {
    w->Put(key);
    for (uint32_t n : counts) w->Put(n);
  }
}

bool UserItemMatrix::Load(ByteReader* r) {
  uint64_t pairs = 0, cells = 0;
  std::string_view bytes;
  if (!rows_.Load(r) || !r->GetVarint(&pairs) || !r->GetVarint(&cells) ||
      cells > r->remaining() / sizeof(Cell) || !r->GetRaw(cells * sizeof(Cell), &bytes)) {
    return false;
  }
  cells_.resize(cells);
  if (!bytes.empty()) std::memcpy(cells_.data(), bytes.data(), bytes.size());
  for (std::vector<uint32_t>& free : free_regions_) {
    uint64_t n = 0;
    if (!r->GetVarint(&n) || n > r->remaining() / sizeof(uint32_t) ||
        !r->GetRaw(n * sizeof(uint32_t), &bytes)) {
      return false;
    }
    free.resize(n);
    if (!bytes.empty()) std::memcpy(free.data(), bytes.data(), bytes.size());
  }
  uint64_t wide_pairs = 0;
  if (!r->GetVarint(&wide_pairs) ||
      wide_pairs > r->remaining() / (sizeof(uint64_t) + sizeof(WideCounts))) {
    return false;
  }
  wide_.clear();
  for (uint64_t p = 0; p < wide_pairs; ++p) {
    uint64_t key = 0;
    WideCounts counts;
    r->Get(&key);
    for (uint32_t& n : counts) r->Get(&n);
    if (!r->ok() || !wide_.emplace(key, counts).second) return false;
  }
  pairs_ = pairs;
  // Every row must lie inside the arena, or a lookup would read outside it.
  size_t counted = 0;
  for (uint32_t u = 0; u < rows_.size(); ++u) {
    const RowHeader& row = *rows_.Find(UserIdx(u));
    if (row.log2_capacity >= 32 || uint64_t{row.offset} + row.capacity() > cells_.size() ||
        (row.log2_capacity == 0 ? row.size != 0 : row.size > MaxSize(row.capacity()))) {
      return false;
    }
    counted += row.size;
  }
  if (counted != pairs_) return false;
  // Count bytes all kWide, or all below; and the wide counts exactly those of the marked
  // cells, or Value would look up counts that are not there.
  size_t marked = 0;
  for (const Cell& c : cells_) {
    const int wide_bytes = static_cast<int>(std::count(c.counts.begin(), c.counts.end(), kWide));
    if (wide_bytes == kEventTypeCount && c.item.valid()) {
      ++marked;
    } else if (wide_bytes != 0) {
      return false;
    }
  }
  if (marked != wide_.size()) return false;
  for (const auto& [key, counts] : wide_) {
    const Cell* cell =
        FindCell(UserIdx(static_cast<uint32_t>(key >> 32)), ItemIdx(static_cast<uint32_t>(key)));
    if (cell == nullptr || cell->counts[0] != kWide) return false;
  }
  return true;
}

}  // namespace streamrec
