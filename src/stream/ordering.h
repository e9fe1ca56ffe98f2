#pragma once
// Event-time ordering of a finite input: the batch half of the stream module.
//
// Records are read file by file; each file is one run. Runs that are already in
// stream order (StreamOrderLess) are kept, others are sorted, and the runs are then
// merged. A time-sorted clickstream therefore costs one pass and a merge, not a sort.

#include <cstddef>
#include <vector>

#include "common/event.h"

namespace streamrec {

// `run_ends[i]` is the end offset of run i; the last must equal records->size().
// Returns the number of runs that had to be sorted.
int SortIntoStreamOrder(std::vector<Record>* records, const std::vector<size_t>& run_ends);

}  // namespace streamrec
