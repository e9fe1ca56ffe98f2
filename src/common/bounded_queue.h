#pragma once
// A blocking FIFO of bounded capacity between one producer and one consumer thread.
// Push blocks while the queue is full; Pop blocks while it is empty and returns false
// once the queue is closed and drained.

#include <condition_variable>
#include <deque>
#include <mutex>

namespace streamrec {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  void Push(T value) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_; });
    items_.push_back(std::move(value));
    not_empty_.notify_one();
  }

  bool Pop(T* out) {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return false;
    *out = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return true;
  }

  // No more pushes; Pop drains what is left, then returns false.
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_;   // guarded by mu_
  std::condition_variable not_empty_;  // guarded by mu_
  std::deque<T> items_;                // guarded by mu_
  bool closed_ = false;                // guarded by mu_
};

}  // namespace streamrec
