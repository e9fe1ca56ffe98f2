#pragma once
// User and item features: order-free sums, per user and per item.
//
// Item aggregates are mergeable (Merge adds two partial aggregates), so instances
// that own different users can publish partial item features and combine them.

#include <array>
#include <cstdint>

#include "common/event.h"
#include "common/id_vector.h"

namespace streamrec {

// Counts of view, click and add_to_cart events (purchase events count as purchases).
struct EngagementCounts {
  uint32_t views = 0;
  uint32_t clicks = 0;
  uint32_t add_to_cart = 0;

  void Add(EventType type) {
    switch (type) {
      case EventType::kView:
        ++views;
        break;
      case EventType::kClick:
        ++clicks;
        break;
      case EventType::kAddToCart:
        ++add_to_cart;
        break;
      case EventType::kPurchase:
        break;
    }
  }
  void Merge(const EngagementCounts& o) {
    views += o.views;
    clicks += o.clicks;
    add_to_cart += o.add_to_cart;
  }
};

struct ItemAggregate {
  uint32_t sales = 0;
  double revenue = 0;
  EngagementCounts engagement;

  void Merge(const ItemAggregate& o) {
    sales += o.sales;
    revenue += o.revenue;
    engagement.Merge(o.engagement);
  }
};

// Per-item sales and engagement. 24 bytes per item.
class ItemFeatures {
 public:
  void AddPurchase(ItemIdx item, double amount) {
    ItemAggregate& a = by_item_.At(item);
    ++a.sales;
    a.revenue += amount;
  }
  void AddEvent(ItemIdx item, EventType type) { by_item_.At(item).engagement.Add(type); }
  ItemAggregate Get(ItemIdx item) const { return by_item_.Get(item); }
  void Prefetch(ItemIdx item) const { by_item_.Prefetch(item); }
  void Reserve(size_t n) { by_item_.Reserve(n); }
  size_t MemoryBytes() const { return by_item_.MemoryBytes(); }
  void Save(ByteWriter* w) const { by_item_.Save(w); }
  bool Load(ByteReader* r) { return by_item_.Load(r); }

 private:
  IdVector<ItemIdx, ItemAggregate> by_item_;
};

}  // namespace streamrec
