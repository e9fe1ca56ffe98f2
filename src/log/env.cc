#include "log/env.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "common/status_macros.h"
#include "common/strings.h"

namespace streamrec {
namespace {

// "cannot <what> <path>: <strerror>", with the status code errno implies.
absl::Status PosixError(std::string_view what, const std::string& path, int err) {
  return absl::ErrnoToStatus(err, StrCat("cannot ", what, " ", path));
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override { ::close(fd_); }

  absl::Status Append(std::string_view data) override {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError("write", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return PosixError("fdatasync", path_, errno);
    return absl::OkStatus();
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  absl::StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    size_t done = 0;
    while (done < n) {
      const ssize_t got = ::pread(fd_, scratch + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0) {
        if (errno == EINTR) continue;
        return PosixError(StrCat("read at byte ", offset + done, " of"), path_, errno);
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

 private:
  const std::string path_;
  const int fd_;
};

class MappedContents final : public FileContents {
 public:
  MappedContents(const char* data, size_t size) : data_(data), size_(size) {}
  ~MappedContents() override {
    if (size_ > 0) ::munmap(const_cast<char*>(data_), size_);
  }
  std::string_view data() const override { return {data_, size_}; }

 private:
  const char* const data_;
  const size_t size_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }  // closing releases the flock

 private:
  const int fd_;
};

absl::StatusOr<int> OpenFd(const std::string& path, int flags, std::string_view what) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) return PosixError(what, path, errno);
  return fd;
}

class PosixEnv final : public Env {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    ASSIGN_OR_RETURN(const int fd, OpenFd(path, O_WRONLY | O_CREAT | O_TRUNC, "create"));
    return std::make_unique<PosixWritableFile>(path, fd);
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override {
    ASSIGN_OR_RETURN(const int fd, OpenFd(path, O_WRONLY | O_APPEND, "open for appending"));
    return std::make_unique<PosixWritableFile>(path, fd);
  }

  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    ASSIGN_OR_RETURN(const int fd, OpenFd(path, O_RDONLY, "open"));
    return std::make_unique<PosixRandomAccessFile>(path, fd);
  }

  absl::StatusOr<std::unique_ptr<FileContents>> ReadFile(const std::string& path) override {
    ASSIGN_OR_RETURN(const int fd, OpenFd(path, O_RDONLY, "open"));
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return PosixError("stat", path, err);
    }
    const auto size = static_cast<size_t>(st.st_size);
    void* p =
        size == 0 ? nullptr : ::mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    const int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) return PosixError("map", path, err);
    return std::make_unique<MappedContents>(static_cast<const char*>(p), size);
  }

  absl::StatusOr<uint64_t> GetFileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return PosixError("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec);
    std::vector<std::string> names;
    for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    if (ec) return PosixError("list", dir, ec.value());
    return names;
  }

  absl::Status CreateDir(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return PosixError("create directory", dir, ec.value());
    return absl::OkStatus();
  }

  absl::Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return PosixError("remove", path, errno);
    return absl::OkStatus();
  }

  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return PosixError("rename", StrCat(from, " to ", to), errno);
    }
    return absl::OkStatus();
  }

  absl::Status TruncateFile(const std::string& path, uint64_t size) override {
    ASSIGN_OR_RETURN(const int fd, OpenFd(path, O_WRONLY, "open for truncation"));
    absl::Status status;
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      status = PosixError(StrCat("truncate to ", size, " bytes"), path, errno);
    } else if (::fdatasync(fd) != 0) {
      status = PosixError("fdatasync", path, errno);
    }
    ::close(fd);
    return status;
  }

  absl::Status SyncDir(const std::string& dir) override {
    ASSIGN_OR_RETURN(const int fd, OpenFd(dir, O_RDONLY | O_DIRECTORY, "open directory"));
    absl::Status status;
    if (::fsync(fd) != 0) status = PosixError("fsync directory", dir, errno);
    ::close(fd);
    return status;
  }

  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    ASSIGN_OR_RETURN(const int fd, OpenFd(path, O_RDWR | O_CREAT, "create lock file"));
    return Flock(fd, path, LOCK_EX);
  }

  absl::StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) override {
    ASSIGN_OR_RETURN(const int fd, OpenFd(path, O_RDONLY, "open lock file"));
    return Flock(fd, path, LOCK_SH);
  }

 private:
  // Takes `operation` (LOCK_EX or LOCK_SH) on the open `fd`, which the lock then owns;
  // closes it on failure.
  static absl::StatusOr<std::unique_ptr<FileLock>> Flock(int fd, const std::string& path,
                                                         int operation) {
    if (::flock(fd, operation | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return absl::FailedPreconditionError(
            operation == LOCK_EX
                ? StrCat("cannot lock ", path, ": held by another user of this directory")
                : StrCat("cannot lock ", path, ": held by a writer of this directory"));
      }
      return PosixError("lock", path, err);
    }
    return std::make_unique<PosixFileLock>(fd);
  }
};

}  // namespace

Env* Env::Default() {
  static Env* const env = new PosixEnv;
  return env;
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return StrCat(dir, name);
  return StrCat(dir, "/", name);
}

}  // namespace streamrec
