#pragma once
// CHECK(cond) << "what broke": stops the process when an invariant is broken. For bugs
// only; expected failures are absl::Status values.

#include <cstdlib>
#include <iostream>

namespace streamrec::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* cond) {
    std::cerr << file << ":" << line << ": invariant broken: " << cond << " ";
  }
  [[noreturn]] ~CheckFailure() {
    std::cerr << std::endl;
    std::abort();
  }
  template <typename T>
  CheckFailure& operator<<(const T& v) {
    std::cerr << v;
    return *this;
  }
};

}  // namespace streamrec::internal

#define STREAMREC_CHECK(cond) \
  if (cond) {                 \
  } else                      \
    ::streamrec::internal::CheckFailure(__FILE__, __LINE__, #cond)
