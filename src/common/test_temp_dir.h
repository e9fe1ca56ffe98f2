#pragma once
// TempDir: a fresh folder under ::testing::TempDir() for a test, removed with everything
// in it when the object goes (write access is given back first, for tests that make a
// folder read-only). For tests only: it reports failure through gtest.
//
//   TempDir temp{"parquet_test"};
//   WriteFile(temp / "events.csv", ...);

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace streamrec {

class TempDir {
 public:
  // A folder named `prefix` and a unique suffix. path() is empty if it could not be
  // created (the test has failed then).
  explicit TempDir(std::string_view prefix = "streamrec") {
    std::string pattern =
        (std::filesystem::path(::testing::TempDir()) / (std::string(prefix) + ".XXXXXX")).string();
    if (::mkdtemp(pattern.data()) != nullptr) {
      path_ = pattern;
    } else {
      ADD_FAILURE() << "mkdtemp " << pattern << " failed";
    }
  }
  ~TempDir() {
    if (path_.empty()) return;
    namespace fs = std::filesystem;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(path_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec)) {
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
      }
    }
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

}  // namespace streamrec
