// Env: the POSIX implementation on a real temporary directory, and MemEnv's model of
// what survives a power loss (synced bytes; directory entries after SyncDir).

#include "log/env.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>

#include "common/test_temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/mem_env.h"

namespace streamrec {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

class PosixEnvTest : public ::testing::Test {
 protected:
  Env* env_ = Env::Default();
  TempDir temp_{"env_test"};
  const std::string dir_ = temp_.path();
};

TEST_F(PosixEnvTest, AppendedBytesReadBackAfterReopenForAppending) {
  const std::string path = JoinPath(dir_, "f");
  {
    auto file = env_->NewWritableFile(path);
    ASSERT_TRUE(file.ok()) << file.status();
    ASSERT_TRUE((*file)->Append("hello ").ok());
    ASSERT_TRUE((*file)->Sync().ok());
  }
  {
    auto file = env_->NewAppendableFile(path);
    ASSERT_TRUE(file.ok()) << file.status();
    ASSERT_TRUE((*file)->Append("world").ok());
  }
  auto contents = env_->ReadFile(path);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ((*contents)->data(), "hello world");
  EXPECT_EQ(*env_->GetFileSize(path), 11u);

  auto reader = env_->NewRandomAccessFile(path);
  char buf[16];
  EXPECT_EQ(*(*reader)->Read(6, 16, buf), 5u);  // short only at the end of the file
  EXPECT_EQ(std::string_view(buf, 5), "world");
  EXPECT_EQ(*(*reader)->Read(100, 4, buf), 0u);
}

TEST_F(PosixEnvTest, EmptyFileReadsAsEmpty) {
  const std::string path = JoinPath(dir_, "empty");
  ASSERT_TRUE(env_->NewWritableFile(path).ok());
  auto contents = env_->ReadFile(path);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ((*contents)->data(), "");
}

TEST_F(PosixEnvTest, TruncateRenameRemoveAndList) {
  const std::string a = JoinPath(dir_, "a"), b = JoinPath(dir_, "b");
  ASSERT_TRUE((*env_->NewWritableFile(a))->Append("0123456789").ok());
  ASSERT_TRUE(env_->TruncateFile(a, 4).ok());
  EXPECT_EQ(*env_->GetFileSize(a), 4u);
  ASSERT_TRUE(env_->RenameFile(a, b).ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  EXPECT_THAT(*env_->GetChildren(dir_), UnorderedElementsAre("b"));
  ASSERT_TRUE(env_->RemoveFile(b).ok());
  EXPECT_THAT(*env_->GetChildren(dir_), IsEmpty());
}

TEST_F(PosixEnvTest, ErrorsNameThePathAndAreTyped) {
  const absl::Status missing = env_->NewRandomAccessFile(JoinPath(dir_, "nope")).status();
  EXPECT_TRUE(absl::IsNotFound(missing)) << missing;
  EXPECT_THAT(missing.message(), HasSubstr("nope"));
  EXPECT_TRUE(absl::IsNotFound(env_->GetChildren(JoinPath(dir_, "no-dir")).status()));
}

TEST_F(PosixEnvTest, LockIsExclusiveEvenWithinOneProcessAndReleasedOnDestruction) {
  const std::string path = JoinPath(dir_, "LOCK");
  auto first = env_->LockFile(path);
  ASSERT_TRUE(first.ok()) << first.status();
  const absl::Status second = env_->LockFile(path).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(second)) << second;
  first->reset();
  EXPECT_TRUE(env_->LockFile(path).ok());
}

TEST_F(PosixEnvTest, SharedLocksShareAndKeepTheExclusiveOneOut) {
  const std::string path = JoinPath(dir_, "LOCK");
  const absl::Status missing = env_->LockFileShared(path).status();
  EXPECT_TRUE(absl::IsNotFound(missing)) << missing;
  EXPECT_FALSE(std::filesystem::exists(path));  // a reader creates nothing
  auto exclusive = env_->LockFile(path);
  ASSERT_TRUE(exclusive.ok()) << exclusive.status();
  const absl::Status refused = env_->LockFileShared(path).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("held by a writer"));
  exclusive->reset();
  auto reader1 = env_->LockFileShared(path);
  auto reader2 = env_->LockFileShared(path);
  ASSERT_TRUE(reader1.ok()) << reader1.status();
  ASSERT_TRUE(reader2.ok()) << reader2.status();
  EXPECT_TRUE(absl::IsFailedPrecondition(env_->LockFile(path).status()));
  reader1->reset();
  EXPECT_TRUE(absl::IsFailedPrecondition(env_->LockFile(path).status()));
  reader2->reset();
  EXPECT_TRUE(env_->LockFile(path).ok());
}

TEST_F(PosixEnvTest, CreateDirMakesParentsAndAcceptsAnExistingOne) {
  const std::string nested = JoinPath(dir_, "a/b/c");
  ASSERT_TRUE(env_->CreateDir(nested).ok());
  EXPECT_TRUE(env_->CreateDir(nested).ok());
  EXPECT_TRUE(std::filesystem::is_directory(nested));
}

TEST(JoinPathTest, AddsOneSlash) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
}

class MemEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.CreateDir("/d").ok()); }

  void Write(const std::string& path, std::string_view data, bool sync) {
    auto file = env_.NewWritableFile(path);
    ASSERT_TRUE(file.ok()) << file.status();
    ASSERT_TRUE((*file)->Append(data).ok());
    if (sync) {
      ASSERT_TRUE((*file)->Sync().ok());
    }
  }

  MemEnv env_;
};

TEST_F(MemEnvTest, PowerLossKeepsOnlySyncedBytes) {
  {
    auto file = *env_.NewWritableFile("/d/f");
    ASSERT_TRUE(file->Append("synced").ok());
    ASSERT_TRUE(file->Sync().ok());
    ASSERT_TRUE(file->Append(" unsynced").ok());
  }
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  EXPECT_EQ(*env_.Contents("/d/f"), "synced unsynced");
  env_.SimulatePowerLoss();
  EXPECT_EQ(*env_.Contents("/d/f"), "synced");
}

TEST_F(MemEnvTest, PowerLossCanKeepAPrefixOfTheUnsyncedBytes) {
  Write("/d/f", "abc", true);
  ASSERT_TRUE((*env_.NewAppendableFile("/d/f"))->Append("defgh").ok());
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  env_.SimulatePowerLoss(/*unsynced_bytes_kept=*/2);
  EXPECT_EQ(*env_.Contents("/d/f"), "abcde");
}

TEST_F(MemEnvTest, CreationIsLostWithoutDirectorySync) {
  Write("/d/f", "data", true);
  env_.SimulatePowerLoss();
  EXPECT_EQ(env_.Contents("/d/f"), std::nullopt);
}

TEST_F(MemEnvTest, RemovalAndRenameAreUndoneWithoutDirectorySync) {
  Write("/d/a", "A", true);
  Write("/d/b", "B", true);
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  ASSERT_TRUE(env_.RemoveFile("/d/a").ok());
  ASSERT_TRUE(env_.RenameFile("/d/b", "/d/c").ok());
  env_.SimulatePowerLoss();
  EXPECT_THAT(*env_.GetChildren("/d"), UnorderedElementsAre("a", "b"));

  ASSERT_TRUE(env_.RemoveFile("/d/a").ok());
  ASSERT_TRUE(env_.RenameFile("/d/b", "/d/c").ok());
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  env_.SimulatePowerLoss();
  EXPECT_THAT(*env_.GetChildren("/d"), UnorderedElementsAre("c"));
  EXPECT_EQ(*env_.Contents("/d/c"), "B");
}

TEST_F(MemEnvTest, TornWriteStoresAPrefixAndFailsEveryLaterWrite) {
  auto file = *env_.NewWritableFile("/d/f");
  env_.FailWritesAfter(3);
  const absl::Status torn = file->Append("abcdef");
  EXPECT_FALSE(torn.ok());
  EXPECT_THAT(torn.message(), HasSubstr("3 of 6"));
  EXPECT_FALSE(file->Append("x").ok());
  EXPECT_EQ(*env_.Contents("/d/f"), "abc");
  env_.ClearFaults();
  EXPECT_TRUE(file->Append("x").ok());
}

TEST_F(MemEnvTest, FailedSyncsAreReportedAndCounted) {
  auto file = *env_.NewWritableFile("/d/f");
  env_.FailSyncs(true);
  EXPECT_FALSE(file->Sync().ok());
  EXPECT_FALSE(env_.SyncDir("/d").ok());
  EXPECT_EQ(env_.syncs(), 0);
  env_.ClearFaults();
  EXPECT_TRUE(file->Sync().ok());
  EXPECT_EQ(env_.syncs(), 1);
}

TEST_F(MemEnvTest, HandlesOpenedBeforeAPowerLossFail) {
  auto file = *env_.NewWritableFile("/d/f");
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  env_.SimulatePowerLoss();
  EXPECT_TRUE(absl::IsFailedPrecondition(file->Append("x")));
}

TEST_F(MemEnvTest, TruncateIsDurable) {
  Write("/d/f", "0123456789", false);
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  ASSERT_TRUE(env_.TruncateFile("/d/f", 4).ok());
  env_.SimulatePowerLoss();
  EXPECT_EQ(*env_.Contents("/d/f"), "0123");
}

TEST_F(MemEnvTest, MissingParentAndFilesAreNotFound) {
  EXPECT_TRUE(absl::IsNotFound(env_.NewWritableFile("/nope/f").status()));
  EXPECT_TRUE(absl::IsNotFound(env_.NewAppendableFile("/d/missing").status()));
  EXPECT_TRUE(absl::IsNotFound(env_.GetChildren("/nope").status()));
  EXPECT_TRUE(absl::IsNotFound(env_.RemoveFile("/d/missing")));
}

TEST_F(MemEnvTest, LockIsExclusiveUntilReleased) {
  auto lock = env_.LockFile("/d/LOCK");
  ASSERT_TRUE(lock.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(env_.LockFile("/d/LOCK").status()));
  lock->reset();
  EXPECT_TRUE(env_.LockFile("/d/LOCK").ok());
}

TEST_F(MemEnvTest, SharedLocksShareAndKeepTheExclusiveOneOut) {
  EXPECT_TRUE(absl::IsNotFound(env_.LockFileShared("/d/LOCK").status()));
  EXPECT_FALSE(env_.Contents("/d/LOCK").has_value());
  auto exclusive = env_.LockFile("/d/LOCK");
  ASSERT_TRUE(exclusive.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(env_.LockFileShared("/d/LOCK").status()));
  exclusive->reset();
  auto reader1 = env_.LockFileShared("/d/LOCK");
  auto reader2 = env_.LockFileShared("/d/LOCK");
  ASSERT_TRUE(reader1.ok());
  ASSERT_TRUE(reader2.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(env_.LockFile("/d/LOCK").status()));
  reader1->reset();
  EXPECT_TRUE(absl::IsFailedPrecondition(env_.LockFile("/d/LOCK").status()));
  reader2->reset();
  EXPECT_TRUE(env_.LockFile("/d/LOCK").ok());
}

}  // namespace
}  // namespace streamrec
