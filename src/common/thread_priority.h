#pragma once
// Threads as the operating system sees them.
//
// Priority: background work must not slow the answers. A thread that trains a model for
// tens of seconds on a server with two cores would otherwise take one of them from the
// requests for all that time.
//
// Names: `top -H`, `perf`, debuggers and sanitizer reports show a thread by its name.

#include <string_view>

#include "absl/status/status.h"

namespace streamrec {

// Gives the calling thread the lowest priority of the normal policy (nice 19): it then
// runs when the process's other threads leave a core free, and takes a small share of
// one when they do not, so it still finishes on a busy machine. Threads it starts later
// inherit this. Linux; the error when the system refuses.
absl::Status LowerThisThreadsPriority();

// Names the calling thread. Linux keeps the first 15 bytes; a name the system refuses
// is left out, since a name only helps people.
void NameThisThread(std::string_view name);

}  // namespace streamrec
