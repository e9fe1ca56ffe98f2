#include "common/thread_priority.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/strings.h"

namespace streamrec {

absl::Status LowerThisThreadsPriority() {
  // On Linux the nice value belongs to a thread: PRIO_PROCESS with a thread's id sets
  // that thread's alone.
  constexpr int kLowest = 19;
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kLowest) != 0) {
    return absl::InternalError(StrCat("setpriority: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void NameThisThread(std::string_view name) {
  constexpr size_t kLongest = 15;  // TASK_COMM_LEN less the terminating NUL
  const std::string shortened(name.substr(0, kLongest));
  pthread_setname_np(pthread_self(), shortened.c_str());
}

}  // namespace streamrec
