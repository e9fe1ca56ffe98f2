#pragma once
// A read-only memory mapping of a whole file.

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace streamrec {

class MappedFile {
 public:
  // Maps `path`; an empty file maps to an empty view. Errors name the path and errno text.
  static absl::StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view data() const { return {data_, size_}; }

 private:
  MappedFile(const char* data, size_t size) : data_(data), size_(size) {}
  const char* data_;
  size_t size_;
};

}  // namespace streamrec
