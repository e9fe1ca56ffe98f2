#include "log/mem_env.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/status_macros.h"
#include "common/strings.h"

namespace streamrec {
namespace {

std::string ParentOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

// What a failing disk reports: EIO, unless told otherwise (ENOSPC: a full disk).
absl::Status InjectedError(std::string message, int error = EIO) {
  return absl::ErrnoToStatus(error, StrCat(message, " (injected fault)"));
}

std::string Normalized(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

}  // namespace

class MemEnv::File final : public WritableFile {
 public:
  File(MemEnv* env, std::string path, std::shared_ptr<Node> node)
      : env_(env), path_(std::move(path)), node_(std::move(node)), generation_(env->generation_) {}

  absl::Status Append(std::string_view data) override {
    std::lock_guard lock(env_->mu_);
    RETURN_IF_ERROR(env_->CheckGeneration(generation_, path_));
    const uint64_t n = std::min<uint64_t>(data.size(), env_->write_budget_);
    node_->data.append(data.substr(0, n));
    if (env_->write_budget_ != std::numeric_limits<uint64_t>::max()) env_->write_budget_ -= n;
    if (n < data.size()) {
      return InjectedError(
          StrCat("cannot write ", path_, ": stopped after ", n, " of ", data.size(), " bytes"),
          env_->write_error_);
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    std::lock_guard lock(env_->mu_);
    RETURN_IF_ERROR(env_->CheckGeneration(generation_, path_));
    if (env_->fail_syncs_) return InjectedError(StrCat("cannot fdatasync ", path_));
    node_->synced = node_->data.size();
    ++env_->syncs_;
    return absl::OkStatus();
  }

 private:
  MemEnv* const env_;
  const std::string path_;
  const std::shared_ptr<Node> node_;
  const uint64_t generation_;
};

class MemEnv::Reader final : public RandomAccessFile {
 public:
  Reader(MemEnv* env, std::string path, std::shared_ptr<Node> node)
      : env_(env), path_(std::move(path)), node_(std::move(node)), generation_(env->generation_) {}

  absl::StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    std::lock_guard lock(env_->mu_);
    RETURN_IF_ERROR(env_->CheckGeneration(generation_, path_));
    if (offset >= node_->data.size()) return 0;
    const size_t got = std::min<uint64_t>(n, node_->data.size() - offset);
    std::memcpy(scratch, node_->data.data() + offset, got);
    return got;
  }

 private:
  MemEnv* const env_;
  const std::string path_;
  const std::shared_ptr<Node> node_;
  const uint64_t generation_;
};

class MemEnv::Lock final : public FileLock {
 public:
  Lock(MemEnv* env, std::string path, bool shared)
      : env_(env), path_(std::move(path)), shared_(shared) {}
  ~Lock() override {
    std::lock_guard lock(env_->mu_);
    if (!shared_) {
      env_->locks_.erase(path_);
    } else if (auto it = env_->shared_locks_.find(path_);
               it != env_->shared_locks_.end() && --it->second == 0) {
      env_->shared_locks_.erase(it);
    }
  }

 private:
  MemEnv* const env_;
  const std::string path_;
  const bool shared_;
};

absl::Status MemEnv::CheckParentExists(const std::string& path) const {
  const std::string parent = ParentOf(path);
  if (!parent.empty() && !dirs_.contains(parent)) {
    return absl::NotFoundError(StrCat("cannot create ", path, ": no directory ", parent));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<MemEnv::Node>> MemEnv::Find(const std::string& path) const {
  const auto it = live_.find(path);
  if (it == live_.end()) return absl::NotFoundError(StrCat("cannot open ", path, ": no such file"));
  return it->second;
}

absl::Status MemEnv::CheckGeneration(uint64_t generation, const std::string& path) const {
  if (generation != generation_) {
    return absl::FailedPreconditionError(
        StrCat("cannot use ", path, ": the handle was opened before a simulated power loss"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WritableFile>> MemEnv::NewWritableFile(const std::string& path) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(CheckParentExists(path));
  std::shared_ptr<Node>& node = live_[path];
  if (node == nullptr) node = std::make_shared<Node>();
  // O_TRUNC of an existing file: its old bytes are gone, also after a power loss (the
  // worst case a file system allows).
  node->data.clear();
  node->synced = 0;
  return std::make_unique<File>(this, path, node);
}

absl::StatusOr<std::unique_ptr<WritableFile>> MemEnv::NewAppendableFile(const std::string& path) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(std::shared_ptr<Node> node, Find(path));
  return std::make_unique<File>(this, path, std::move(node));
}

absl::StatusOr<std::unique_ptr<RandomAccessFile>> MemEnv::NewRandomAccessFile(
    const std::string& path) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(std::shared_ptr<Node> node, Find(path));
  return std::make_unique<Reader>(this, path, std::move(node));
}

absl::StatusOr<std::unique_ptr<FileContents>> MemEnv::ReadFile(const std::string& path) {
  class Copy final : public FileContents {
   public:
    explicit Copy(std::string data) : data_(std::move(data)) {}
    std::string_view data() const override { return data_; }

   private:
    const std::string data_;
  };
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(std::shared_ptr<Node> node, Find(path));
  return std::make_unique<Copy>(node->data);
}

absl::StatusOr<uint64_t> MemEnv::GetFileSize(const std::string& path) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(std::shared_ptr<Node> node, Find(path));
  return node->data.size();
}

absl::StatusOr<std::vector<std::string>> MemEnv::GetChildren(const std::string& dir) {
  std::lock_guard lock(mu_);
  const std::string d = Normalized(dir);
  if (!dirs_.contains(d))
    return absl::NotFoundError(StrCat("cannot list ", dir, ": no such directory"));
  std::vector<std::string> names;
  for (const auto& [path, node] : live_) {
    if (ParentOf(path) == d) names.push_back(path.substr(d.size() + 1));
  }
  return names;
}

absl::Status MemEnv::CreateDir(const std::string& dir) {
  std::lock_guard lock(mu_);
  for (std::string d = Normalized(dir); !d.empty() && !dirs_.contains(d); d = ParentOf(d)) {
    dirs_.insert(d);
  }
  return absl::OkStatus();
}

absl::Status MemEnv::RemoveFile(const std::string& path) {
  std::lock_guard lock(mu_);
  if (live_.erase(path) == 0)
    return absl::NotFoundError(StrCat("cannot remove ", path, ": no such file"));
  return absl::OkStatus();
}

absl::Status MemEnv::RenameFile(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(std::shared_ptr<Node> node, Find(from));
  RETURN_IF_ERROR(CheckParentExists(to));
  live_.erase(from);
  live_[to] = std::move(node);
  return absl::OkStatus();
}

absl::Status MemEnv::TruncateFile(const std::string& path, uint64_t size) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(std::shared_ptr<Node> node, Find(path));
  if (fail_syncs_) return InjectedError(StrCat("cannot fdatasync ", path));
  node->data.resize(std::min<uint64_t>(size, node->data.size()));
  node->synced = node->data.size();
  return absl::OkStatus();
}

absl::Status MemEnv::SyncDir(const std::string& dir) {
  std::lock_guard lock(mu_);
  const std::string d = Normalized(dir);
  if (!dirs_.contains(d))
    return absl::NotFoundError(StrCat("cannot sync ", dir, ": no such directory"));
  if (fail_syncs_) return InjectedError(StrCat("cannot fsync directory ", dir));
  std::erase_if(durable_, [&](const auto& entry) { return ParentOf(entry.first) == d; });
  for (const auto& [path, node] : live_) {
    if (ParentOf(path) == d) durable_[path] = node;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FileLock>> MemEnv::LockFile(const std::string& path) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(CheckParentExists(path));
  if (shared_locks_.contains(path) || !locks_.insert(path).second) {
    return absl::FailedPreconditionError(
        StrCat("cannot lock ", path, ": held by another user of this directory"));
  }
  if (!live_.contains(path)) live_[path] = std::make_shared<Node>();
  return std::make_unique<Lock>(this, path, /*shared=*/false);
}

absl::StatusOr<std::unique_ptr<FileLock>> MemEnv::LockFileShared(const std::string& path) {
  std::lock_guard lock(mu_);
  if (!live_.contains(path)) {
    return absl::NotFoundError(StrCat("cannot open lock file ", path, ": no such file"));
  }
  if (locks_.contains(path)) {
    return absl::FailedPreconditionError(
        StrCat("cannot lock ", path, ": held by a writer of this directory"));
  }
  ++shared_locks_[path];
  return std::make_unique<Lock>(this, path, /*shared=*/true);
}

void MemEnv::SimulatePowerLoss(uint64_t unsynced_bytes_kept) {
  std::lock_guard lock(mu_);
  live_ = durable_;
  for (auto& [path, node] : live_) {
    const size_t kept = std::min<uint64_t>(unsynced_bytes_kept, node->data.size() - node->synced);
    node->data.resize(node->synced + kept);
    node->synced = node->data.size();
  }
  locks_.clear();
  shared_locks_.clear();
  ++generation_;
}

void MemEnv::FailWritesAfter(uint64_t bytes, int error) {
  std::lock_guard lock(mu_);
  write_budget_ = bytes;
  write_error_ = error;
}

void MemEnv::FailSyncs(bool fail) {
  std::lock_guard lock(mu_);
  fail_syncs_ = fail;
}

void MemEnv::ClearFaults() {
  std::lock_guard lock(mu_);
  write_budget_ = std::numeric_limits<uint64_t>::max();
  write_error_ = EIO;
  fail_syncs_ = false;
}

std::optional<std::string> MemEnv::Contents(const std::string& path) const {
  std::lock_guard lock(mu_);
  const auto it = live_.find(path);
  if (it == live_.end()) return std::nullopt;
  return it->second->data;
}

void MemEnv::SetContents(const std::string& path, std::string data) {
  std::lock_guard lock(mu_);
  auto node = std::make_shared<Node>();
  node->data = std::move(data);
  node->synced = node->data.size();
  live_[path] = node;
  durable_[path] = node;
  for (std::string d = ParentOf(path); !d.empty(); d = ParentOf(d)) dirs_.insert(d);
}

int MemEnv::syncs() const {
  std::lock_guard lock(mu_);
  return syncs_;
}

}  // namespace streamrec
