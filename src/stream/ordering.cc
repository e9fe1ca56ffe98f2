#include "stream/ordering.h"

#include <algorithm>
#include <thread>

namespace streamrec {

int SortIntoStreamOrder(std::vector<Record>* records, const std::vector<size_t>& run_ends) {
  std::vector<size_t> bounds = {0};
  for (size_t end : run_ends) {
    if (end > bounds.back()) bounds.push_back(end);
  }
  if (bounds.back() != records->size()) bounds.push_back(records->size());
  Record* base = records->data();
  int sorted = 0;
  for (size_t i = 0; i + 1 < bounds.size(); ++i) {
    Record* first = base + bounds[i];
    Record* last = base + bounds[i + 1];
    if (!std::is_sorted(first, last, StreamOrderLess)) {
      std::sort(first, last, StreamOrderLess);
      ++sorted;
    }
  }
  // Merge neighbouring runs pairwise until one is left: O(n log runs).
  while (bounds.size() > 2) {
    std::vector<size_t> next = {0};
    for (size_t i = 0; i + 1 < bounds.size(); i += 2) {
      if (i + 2 < bounds.size()) {
        std::inplace_merge(base + bounds[i], base + bounds[i + 1], base + bounds[i + 2],
                           StreamOrderLess);
        next.push_back(bounds[i + 2]);
      } else {
        next.push_back(bounds[i + 1]);
      }
    }
    bounds = std::move(next);
  }
  return sorted;
}

}  // namespace streamrec
