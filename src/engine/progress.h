#pragma once
// A one-line progress display on stderr, drawn only when stderr is a terminal.

#include <chrono>
#include <cstdint>
#include <string>

namespace streamrec {

class Progress {
 public:
  // `enabled` false (or stderr not a terminal) makes every call a no-op.
  explicit Progress(bool enabled);
  ~Progress();

  // Shows "<stage> [=====>    ] 42%"; redraws at most every 100 ms.
  void Update(const std::string& stage, int64_t done, int64_t total);
  // Clears the line.
  void Done();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace streamrec
