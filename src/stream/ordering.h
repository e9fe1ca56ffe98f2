#pragma once
// Event-time ordering of a finite input: the batch half of the stream module.
//
// Records arrive as runs (a file, or a chunk of a file read by several threads), each
// in file order. SortRuns sorts the runs that are not already in stream order
// (StreamOrderLess); RunMerger then hands out the merged stream a batch at a time,
// without building one merged copy. Consecutive runs that follow each other in stream
// order (the chunks of a sorted file) are read as one. A time-sorted clickstream
// therefore costs one scan and a merge, and memory holds each record once.

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
  // Reads a chain: runs_[run], then the non-empty runs up to runs_[last_run].
  struct Cursor {
    const Record* next;
    const Record* end;
    const Record* released;  // [run start, released) has been given back
    size_t run;
    size_t last_run;
  };
  void ReleaseConsumed(Cursor* c);
  // Frees the cursor's run, which has been read, and moves it to the next run of its
  // chain. False at the chain's end.
  bool NextRunOfChain(Cursor* c);

  std::vector<Run> runs_;
  std::vector<Cursor> cursors_;  // one per chain of runs not read to the end
  size_t total_ = 0;
  size_t done_ = 0;
};

}  // namespace streamrec
