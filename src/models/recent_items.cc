#include "models/recent_items.h"

#include <cstring>
#include <string_view>

namespace streamrec {

void RecentItemsTable::Save(ByteWriter* w) const {
  w->Put(width_);
  w->Put<uint64_t>(users());
  if (!slots_.empty()) w->PutRaw(slots_.data(), slots_.size() * sizeof(RecentSlot));
}

absl::Status RecentItemsTable::Load(ByteReader* r, size_t items) {
  uint32_t width = 0;
  uint64_t users = 0;
  r->Get(&width);
  r->Get(&users);
  if (!r->ok()) return absl::DataLossError("recent items: truncated header");
  if (width != width_) return absl::DataLossError("recent items: row width differs");
  if (users > r->remaining() / (sizeof(RecentSlot) * width_)) {
    return absl::DataLossError("recent items: truncated rows");
  }
  slots_.resize(users * width_);
  std::string_view raw;
  r->GetRaw(slots_.size() * sizeof(RecentSlot), &raw);
  if (!raw.empty()) std::memcpy(slots_.data(), raw.data(), raw.size());
  for (size_t u = 0; u < users; ++u) {
    bool used = true;
    for (size_t k = 0; k < width_; ++k) {
      const RecentSlot& s = slots_[u * width_ + k];
      if (!s.item.valid()) {
        used = false;
        continue;
      }
      // Rows fill from the front: no used slot after an unused one.
      if (!used || s.item.value >= items || (s.session_type & 0xF) >= kEventTypeCount) {
        return absl::DataLossError("recent items: bad slot");
      }
      for (size_t j = 0; j < k; ++j) {
        if (slots_[u * width_ + j].item == s.item) {
          return absl::DataLossError("recent items: item twice in a row");
        }
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace streamrec
