#pragma once
// Point-in-time purchase history: per user, the count and sum of purchase amounts
// applied so far. Because the stream applies records in event-time order with a
// timestamp's purchases before its events (StreamOrderLess), the totals seen by an
// event are exactly "this user's purchases at or before the event's time".
// User-keyed state: 16 bytes of the user's slot (features/user_slots.h).

#include <cstdint>

#include "common/ids.h"
#include "features/user_slots.h"

namespace streamrec {

class PurchaseHistory {
 public:
  // With slots of its own, or in `slots` (shared with the other user-keyed operators;
  // they must outlive this object).
  explicit PurchaseHistory(UserSlots* slots = nullptr) : by_user_(slots) {}

  // REQUIRES: amount is finite and >= 0 (the decoder guarantees it).
  void Add(UserIdx user, double amount) { by_user_.At(user).Add(amount); }
  // Totals so far; zero for a user without purchases.
  PurchaseTotals Totals(UserIdx user) const { return by_user_.Get(user); }
  void Prefetch(UserIdx user) const { by_user_.Prefetch(user); }
  void Save(ByteWriter* w) const { by_user_.Save(w); }
  bool Load(ByteReader* r) { return by_user_.Load(r); }

 private:
  UserColumn<PurchaseTotals, &UserSlot::purchases> by_user_;
};

}  // namespace streamrec
