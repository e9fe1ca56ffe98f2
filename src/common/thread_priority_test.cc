// LowerThisThreadsPriority: the calling thread's priority drops, the other threads'
// stay, and a thread started after it inherits the lower one. NameThisThread: the name
// Linux shows for the calling thread alone.

#include "common/thread_priority.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <string>
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

std::string NameOfThisThread() {
  std::ifstream comm("/proc/thread-self/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

TEST(ThreadNameTest, ALongNameIsCutToWhatLinuxKeepsAndOnlyThisThreadIsNamed) {
  const std::string before = NameOfThisThread();
  std::string named;
  std::thread worker([&] {
    NameThisThread("streamrec-writer-of-the-log");
    named = NameOfThisThread();
  });
  worker.join();
  EXPECT_EQ(named, "streamrec-write");
  EXPECT_EQ(NameOfThisThread(), before);
}

}  // namespace
}  // namespace streamrec
