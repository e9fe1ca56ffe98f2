// SharedMutex: readers hold it together, a writer alone; the writer waits for the readers
// in and they for it.

#include "common/shared_mutex.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace streamrec {
namespace {

TEST(SharedMutexTest, ReadersHoldItTogether) {
  SharedMutex mu;
  std::atomic<bool> second_in{false};
  std::thread reader;
  {
    SharedLock first(&mu);
    reader = std::thread([&] {
      SharedLock second(&mu);
      second_in = true;
    });
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!second_in && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    EXPECT_TRUE(second_in) << "the second reader waited for the first";
  }
  reader.join();
}

TEST(SharedMutexTest, AWriterWaitsForTheReaderAndTheNextReaderForTheWriter) {
  SharedMutex mu;
  int value = 0;  // written under the exclusive lock, read under the shared one
  std::atomic<bool> writer_done{false};
  std::thread writer;
  {
    SharedLock reader(&mu);
    writer = std::thread([&] {
      ExclusiveLock lock(&mu);
      value = 1;
      writer_done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(writer_done) << "the writer went in beside a reader";
    EXPECT_EQ(value, 0);
  }
  writer.join();
  SharedLock reader(&mu);
  EXPECT_EQ(value, 1);
}

}  // namespace
}  // namespace streamrec
