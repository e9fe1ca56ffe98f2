#pragma once
// ParallelFor: numbered tasks spread over a few threads, each taken as a thread comes
// free, so that a core the host slows down takes fewer of them.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"

namespace streamrec {

// `threads` <= 0 means every core.
inline int ResolveThreads(int threads) {
  if (threads > 0) return threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// Runs task(t, worker) for every t in [0, tasks), on up to `threads` workers (the
// calling thread is worker 0), taking tasks in order from a shared counter. A task
// must not depend on which worker runs it or when; `worker` only picks its scratch.
inline void ParallelFor(int threads, size_t tasks, absl::FunctionRef<void(size_t, int)> task) {
  const int workers = static_cast<int>(std::min<size_t>(ResolveThreads(threads), tasks));
  std::atomic<size_t> next{0};
  const auto work = [&](int worker) {
    for (size_t t = next.fetch_add(1); t < tasks; t = next.fetch_add(1)) task(t, worker);
  };
  std::vector<std::jthread> helpers;
  for (int w = 1; w < workers; ++w) helpers.emplace_back(work, w);
  work(0);
}

}  // namespace streamrec
