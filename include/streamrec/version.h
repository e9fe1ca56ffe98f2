#pragma once
// streamrec's version. The public headers in include/streamrec/ are what an embedding
// program may include; everything under src/ is internal.

namespace streamrec {

inline constexpr int kVersionMajor = 0;
inline constexpr int kVersionMinor = 1;
inline constexpr int kVersionPatch = 0;
inline constexpr const char* kVersionString = "0.1.0";

}  // namespace streamrec
