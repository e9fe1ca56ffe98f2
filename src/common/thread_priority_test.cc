// LowerThisThreadsPriority: the calling thread's priority drops, the other threads'
// stay, and a thread started after it inherits the lower one.

#include "common/thread_priority.h"

#include <sys/resource.h>
#include <unistd.h>

#include <thread>

#include "gtest/gtest.h"

namespace streamrec {
namespace {

int NiceOfThisThread() { return getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())); }

TEST(ThreadPriorityTest, OnlyTheCallingThreadAndItsLaterThreadsAreLowered) {
  const int before = NiceOfThisThread();
  int lowered = 0, inherited = 0;
  std::thread background([&] {
    ASSERT_TRUE(LowerThisThreadsPriority().ok());
    lowered = NiceOfThisThread();
    std::thread child([&] { inherited = NiceOfThisThread(); });
    child.join();
  });
  background.join();
  EXPECT_EQ(lowered, 19);
  EXPECT_EQ(inherited, 19);
  EXPECT_EQ(NiceOfThisThread(), before);
}

}  // namespace
}  // namespace streamrec
