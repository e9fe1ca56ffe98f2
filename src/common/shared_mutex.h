#pragma once
// SharedMutex: a reader-writer lock (absl::Mutex: writers are not starved by a stream of
// readers) that ThreadSanitizer sees.
//
// The system's Abseil is not built with the sanitizer, so a TSan build would see none of
// absl::Mutex's locks and unlocks, and would report every read of state under a reader
// lock as racing with the writer. Under -fsanitize=thread these tell the sanitizer of
// each lock and unlock (its mutex annotations): readers are ordered after the writer
// before them and before the writer after them, and not with each other, so a field that
// readers write is still reported. Elsewhere they compile to the absl::Mutex calls alone.

#include "absl/synchronization/mutex.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define STREAMREC_TSAN_MUTEX(call) call
#else
#define STREAMREC_TSAN_MUTEX(call)
#endif

namespace streamrec {

class SharedMutex {
 public:
  SharedMutex() { STREAMREC_TSAN_MUTEX(__tsan_mutex_create(this, __tsan_mutex_not_static)); }
  ~SharedMutex() { STREAMREC_TSAN_MUTEX(__tsan_mutex_destroy(this, __tsan_mutex_not_static)); }
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() {
    STREAMREC_TSAN_MUTEX(__tsan_mutex_pre_lock(this, 0));
    mu_.Lock();
    STREAMREC_TSAN_MUTEX(__tsan_mutex_post_lock(this, 0, 0));
  }
  void Unlock() {
    STREAMREC_TSAN_MUTEX(__tsan_mutex_pre_unlock(this, 0));
    mu_.Unlock();
    STREAMREC_TSAN_MUTEX(__tsan_mutex_post_unlock(this, 0));
  }
  void ReaderLock() {
    STREAMREC_TSAN_MUTEX(__tsan_mutex_pre_lock(this, __tsan_mutex_read_lock));
    mu_.ReaderLock();
    STREAMREC_TSAN_MUTEX(__tsan_mutex_post_lock(this, __tsan_mutex_read_lock, 0));
  }
  void ReaderUnlock() {
    STREAMREC_TSAN_MUTEX(__tsan_mutex_pre_unlock(this, __tsan_mutex_read_lock));
    mu_.ReaderUnlock();
    STREAMREC_TSAN_MUTEX(__tsan_mutex_post_unlock(this, __tsan_mutex_read_lock));
  }

 private:
  absl::Mutex mu_;
};

// Holds `mu` exclusively while alive.
class ExclusiveLock {
 public:
  explicit ExclusiveLock(SharedMutex* mu) : mu_(mu) { mu_->Lock(); }
  ~ExclusiveLock() { mu_->Unlock(); }
  ExclusiveLock(const ExclusiveLock&) = delete;
  ExclusiveLock& operator=(const ExclusiveLock&) = delete;

 private:
  SharedMutex* const mu_;
};

// Holds `mu` shared while alive.
class SharedLock {
 public:
  explicit SharedLock(SharedMutex* mu) : mu_(mu) { mu_->ReaderLock(); }
  ~SharedLock() { mu_->ReaderUnlock(); }
  SharedLock(const SharedLock&) = delete;
  SharedLock& operator=(const SharedLock&) = delete;

 private:
  SharedMutex* const mu_;
};

}  // namespace streamrec

#undef STREAMREC_TSAN_MUTEX
