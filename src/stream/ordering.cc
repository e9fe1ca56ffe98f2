#include "stream/ordering.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>

#include "common/parallel_for.h"

namespace streamrec {

int SortRuns(std::vector<Run>* runs, int threads) {
  std::vector<Run*> unsorted;
  for (Run& run : *runs) {
    if (!std::is_sorted(run.begin(), run.end(), StreamOrderLess)) unsorted.push_back(&run);
  }
  ParallelFor(std::max(threads, 1), unsorted.size(), [&](size_t i, int) {
    std::sort(unsorted[i]->begin(), unsorted[i]->end(), StreamOrderLess);
  });
  return static_cast<int>(unsorted.size());
}

RunMerger::RunMerger(std::vector<Run> runs) : runs_(std::move(runs)) {
  // Runs that follow each other in stream order (the chunks of a sorted file) form one
  // chain, read through one cursor.
  const Record* chain_last = nullptr;  // the last record of the current chain
  for (size_t r = 0; r < runs_.size(); ++r) {
    const Run& run = runs_[r];
    total_ += run.size();
    if (run.empty()) continue;
    if (chain_last == nullptr || StreamOrderLess(run.front(), *chain_last)) {
      cursors_.push_back(Cursor{run.data(), run.data() + run.size(), run.data(), r, r});
    } else {
      cursors_.back().last_run = r;
    }
    chain_last = &run.back();
  }
}

void RunMerger::ReleaseConsumed(Cursor* c) {
  // Whole huge pages strictly before the cursor are never read again.
  constexpr uintptr_t kStep = kHugePageBytes;
  const auto from = (reinterpret_cast<uintptr_t>(c->released) + kStep - 1) / kStep * kStep;
  const auto to = reinterpret_cast<uintptr_t>(c->next) / kStep * kStep;
  if (to > from) {
    ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
    c->released = reinterpret_cast<const Record*>(to);
  }
}

bool RunMerger::NextRunOfChain(Cursor* c) {
  // The run is read: give its memory back whole.
  Run().swap(runs_[c->run]);
  while (c->run < c->last_run) {
    const Run& run = runs_[++c->run];
    if (run.empty()) continue;
    *c = Cursor{run.data(), run.data() + run.size(), run.data(), c->run, c->last_run};
    return true;
  }
  return false;
}

bool RunMerger::NextBatch(size_t max_records, std::vector<Record>* batch) {
  batch->clear();
  while (batch->size() < max_records && !cursors_.empty()) {
    // A handful of runs: a linear scan for the smallest head beats a heap.
    size_t best = 0;
    for (size_t i = 1; i < cursors_.size(); ++i) {
      if (StreamOrderLess(*cursors_[i].next, *cursors_[best].next)) best = i;
    }
    Cursor& c = cursors_[best];
    // Take every record of this run that still precedes the other runs' heads (and
    // fits in the batch).
    const Record* limit =
        c.next + std::min<size_t>(static_cast<size_t>(c.end - c.next), max_records - batch->size());
    for (size_t i = 0; i < cursors_.size(); ++i) {
      if (i == best) continue;
      limit = std::lower_bound(c.next, limit, *cursors_[i].next, StreamOrderLess);
    }
    const size_t n = std::max<size_t>(static_cast<size_t>(limit - c.next), 1);
    batch->insert(batch->end(), c.next, c.next + n);
    c.next += n;
    done_ += n;
    if (reinterpret_cast<uintptr_t>(c.next) - reinterpret_cast<uintptr_t>(c.released) >=
        4 * kHugePageBytes) {
      ReleaseConsumed(&c);
    }
    if (c.next == c.end && !NextRunOfChain(&c)) {
      cursors_.erase(cursors_.begin() + static_cast<long>(best));
    }
  }
  return !batch->empty();
}

}  // namespace streamrec
