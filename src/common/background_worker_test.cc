// BackgroundWorker: jobs run in order on one other thread; Wait() sees what they wrote;
// Run() holds back while max_outstanding jobs are queued or running.

#include "common/background_worker.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace streamrec {
namespace {

TEST(BackgroundWorkerTest, JobsRunInQueueOrderOnAnotherThreadAndWaitSeesTheirWrites) {
  std::vector<int> ran;  // written by the jobs only, read after Wait
  std::thread::id job_thread;
  BackgroundWorker worker("worker-test", /*max_outstanding=*/3);
  for (int i = 0; i < 100; ++i) {
    worker.Run([&, i] {
      ran.push_back(i);
      job_thread = std::this_thread::get_id();
    });
  }
  worker.Wait();
  std::vector<int> expected(100);
  for (int i = 0; i < 100; ++i) expected[i] = i;
  EXPECT_EQ(ran, expected);
  EXPECT_NE(job_thread, std::this_thread::get_id());
}

TEST(BackgroundWorkerTest, RunHoldsBackWhileMaxOutstandingJobsAreQueuedOrRunning) {
  std::atomic<bool> release{false};
  std::atomic<int> started{0};
  BackgroundWorker worker("worker-test", /*max_outstanding=*/2);
  const auto blocked = [&] {
    started.fetch_add(1);
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  worker.Run(blocked);  // running
  worker.Run(blocked);  // queued: two outstanding
  std::atomic<bool> third_queued{false};
  std::thread owner_side([&] {
    worker.Run([] {});
    third_queued.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(third_queued.load());  // held back: the first two have not finished
  release.store(true);
  owner_side.join();
  EXPECT_TRUE(third_queued.load());
  worker.Wait();
  EXPECT_EQ(started.load(), 2);
}

TEST(BackgroundWorkerTest, DestructorRunsEveryQueuedJobFirst) {
  std::atomic<int> ran{0};
  {
    BackgroundWorker worker("worker-test", /*max_outstanding=*/8);
    for (int i = 0; i < 8; ++i) {
      worker.Run([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        ran.fetch_add(1);
      });
    }
  }
  EXPECT_EQ(ran.load(), 8);
}

}  // namespace
}  // namespace streamrec
