#pragma once
// Event-time ordering of a finite input: the batch half of the stream module.
//
// Records arrive as runs (a file, or a part of a file read by one thread), each in
// file order. SortRuns sorts the runs that are not already in stream order
// (StreamOrderLess); RunMerger then hands out the merged stream a batch at a time,
// without building one merged copy. A time-sorted clickstream therefore costs one
// scan and a merge, and memory holds each record once.

#include <cstddef>
#include <vector>

#include "common/event.h"

namespace streamrec {

using Run = RecordVector;

// Sorts every run into stream order, using up to `threads` threads. Returns the
// number of runs that were not already sorted.
int SortRuns(std::vector<Run>* runs, int threads);

class RunMerger {
 public:
  // Takes the runs. REQUIRES: every run is in stream order. Memory of records already
  // handed out is returned to the system as the merge goes on, so the operators' state
  // can grow into it.
  explicit RunMerger(std::vector<Run> runs);

  // Replaces `batch` with the next up to `max_records` records of the merged stream.
  // Returns false (and an empty batch) once every run is exhausted.
  bool NextBatch(size_t max_records, std::vector<Record>* batch);

  size_t total() const { return total_; }
  size_t done() const { return done_; }

 private:
  struct Cursor {
    const Record* next;
    const Record* end;
    const Record* released;  // [run start, released) has been given back
  };
  void ReleaseConsumed(Cursor* c);

  std::vector<Run> runs_;
  std::vector<Cursor> cursors_;  // non-empty runs only
  size_t total_ = 0;
  size_t done_ = 0;
};

}  // namespace streamrec
