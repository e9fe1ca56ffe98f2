#include "common/interner.h"

#include <algorithm>
#include <cstring>

namespace streamrec {

std::string_view StringArena::Store(std::string_view s) {
  if (s.size() > left_) {
    const size_t size = std::max(kBlockSize, s.size());
    // Not zeroed: every byte handed out is written first.
    blocks_.push_back(std::make_unique_for_overwrite<char[]>(size));
    cursor_ = blocks_.back().get();
    left_ = size;
  }
  if (!s.empty()) std::memcpy(cursor_, s.data(), s.size());
  std::string_view stored(cursor_, s.size());
  cursor_ += s.size();
  left_ -= s.size();
  bytes_used_ += s.size();
  return stored;
}

}  // namespace streamrec
