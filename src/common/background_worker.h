#pragma once
// BackgroundWorker: one thread that runs its owner's jobs in order, so that the owner
// goes on with other work meanwhile (a two-stage pipeline on two cores).
//
// Run(job) queues `job`, first waiting while `max_outstanding` jobs are queued or
// running: a queue of a few jobs absorbs the jitter between the two stages. Wait()
// returns once every job has finished. Jobs finish in the order they were queued. The
// hand-over is a mutex and condition variables, so everything the owner wrote before
// Run() is visible to the job, and everything a job wrote is visible to the owner once
// it has seen that job finished (Wait(), or Run() returning with fewer outstanding).
//
// One owner thread calls Run, Wait and Idle; the class is not otherwise thread-safe. The
// destructor waits for every job and joins the thread, which carries `name` (see
// NameThisThread) when one is given.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "common/thread_priority.h"

namespace streamrec {

class BackgroundWorker {
 public:
  explicit BackgroundWorker(std::string_view name = {}, size_t max_outstanding = 1)
      : max_outstanding_(max_outstanding < 1 ? 1 : max_outstanding),
        thread_([this, name = std::string(name)] {
          if (!name.empty()) NameThisThread(name);
          Loop();
        }) {}
  ~BackgroundWorker() {
    {
      std::unique_lock lock(mu_);
      finished_.wait(lock, [&] { return outstanding_ == 0; });
      stop_ = true;
    }
    queued_.notify_one();
    thread_.join();
  }
  BackgroundWorker(const BackgroundWorker&) = delete;
  BackgroundWorker& operator=(const BackgroundWorker&) = delete;

  void Run(std::function<void()> job) {
    {
      std::unique_lock lock(mu_);
      finished_.wait(lock, [&] { return outstanding_ < max_outstanding_; });
      jobs_.push_back(std::move(job));
      ++outstanding_;
    }
    queued_.notify_one();
  }

  void Wait() {
    std::unique_lock lock(mu_);
    finished_.wait(lock, [&] { return outstanding_ == 0; });
  }

  // Whether every job has finished (what Wait() would return at once for).
  bool Idle() {
    std::lock_guard lock(mu_);
    return outstanding_ == 0;
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (true) {
      queued_.wait(lock, [&] { return !jobs_.empty() || stop_; });
      if (jobs_.empty()) return;  // stop_, and nothing left to run
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
      --outstanding_;
      finished_.notify_one();
    }
  }

  const size_t max_outstanding_;
  std::mutex mu_;
  std::condition_variable queued_;          // a job was queued, or stop_
  std::condition_variable finished_;        // a job finished
  std::deque<std::function<void()>> jobs_;  // queued, not yet running
  size_t outstanding_ = 0;                  // queued or running
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace streamrec
