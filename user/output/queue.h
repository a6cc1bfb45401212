// A fixed-capacity FIFO shared by one or more producers and one consumer.
//
// try_push() never waits for space: a full queue refuses the item and the
// caller counts the drop. The only wait on the producer side is the mutex,
// held for a move and an index update by either side, never across I/O. The
// storage is allocated once, so pushing does not allocate — except for an
// unbounded queue (capacity 0, Falco's `outputs_queue.capacity: 0`), which
// doubles its storage when full and never refuses an item.
//
// Besides the FIFO, a small urgent lane: push_urgent() items are popped
// before any queued item and have their own slots, so an alert saying that
// alerts or events are being lost is never refused by (or stuck behind) the
// flood it reports.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace pg::user::output {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity, std::size_t urgent_capacity = 64)
      : slots_(capacity > 0 ? capacity : 1024),
        unbounded_(capacity == 0),
        urgent_(urgent_capacity > 0 ? urgent_capacity : 1) {}

  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // False when full or closed; `item` is left untouched then.
  bool try_push(T& item) noexcept { return try_push_below(item, SIZE_MAX); }
  bool try_push(T&& item) noexcept { return try_push(item); }

  // Like try_push, but false once `limit` items are queued (shedding keeps
  // the last slots for what matters more).
  bool try_push_below(T& item, std::size_t limit) noexcept {
    {
      std::lock_guard lock(mu_);
      if (closed_) return false;
      if (!unbounded_ && size_ >= limit) return false;
      if (size_ == slots_.size()) {
        if (!unbounded_) return false;
        try {
          grow();
        } catch (...) {  // out of memory: refuse (and count) rather than throw
          return false;
        }
      }
      slots_[(head_ + size_) % slots_.size()].emplace(std::move(item));
      ++size_;
      approx_size_.store(size_, std::memory_order_relaxed);
    }
    cv_.notify_one();
    return true;
  }

  // Into the urgent lane: popped before every queued item. False only when
  // the lane itself is full or the queue is closed.
  bool push_urgent(T& item) noexcept {
    {
      std::lock_guard lock(mu_);
      if (closed_ || urgent_size_ == urgent_.size()) return false;
      urgent_[(urgent_head_ + urgent_size_) % urgent_.size()].emplace(std::move(item));
      ++urgent_size_;
    }
    cv_.notify_one();
    return true;
  }

  // The oldest item, waiting up to `timeout` for one. nullopt on timeout, or
  // at once when the queue is closed and empty.
  std::optional<T> pop_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return size_ > 0 || urgent_size_ > 0 || closed_; }))
      return std::nullopt;
    if (urgent_size_ > 0) {
      std::optional<T> out = std::move(urgent_[urgent_head_]);
      urgent_[urgent_head_].reset();
      urgent_head_ = (urgent_head_ + 1) % urgent_.size();
      --urgent_size_;
      return out;
    }
    if (size_ == 0) return std::nullopt;
    std::optional<T> out = std::move(slots_[head_]);
    slots_[head_].reset();
    head_ = (head_ + 1) % slots_.size();
    --size_;
    approx_size_.store(size_, std::memory_order_relaxed);
    return out;
  }

  // Refuse further pushes and wake the consumer; queued items can still be
  // popped.
  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return size_ + urgent_size_;
  }
  // The FIFO's fill (0 to 1; 0 for an unbounded queue), without the lock:
  // for shedding decisions on the hot path, where a slightly stale value
  // is fine.
  double fill() const {
    if (unbounded_) return 0;
    return double(approx_size_.load(std::memory_order_relaxed)) / double(slots_.size());
  }
  // 0 for an unbounded queue.
  std::size_t capacity() const {
    if (unbounded_) return 0;
    return slots_.size();
  }

 private:
  void grow() {
    std::vector<std::optional<T>> bigger(slots_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i)
      bigger[i] = std::move(slots_[(head_ + i) % slots_.size()]);
    slots_ = std::move(bigger);
    head_ = 0;
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::optional<T>> slots_;
  bool unbounded_ = false;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  std::atomic<std::size_t> approx_size_{0};
  std::vector<std::optional<T>> urgent_;
  std::size_t urgent_head_ = 0;
  std::size_t urgent_size_ = 0;
  bool closed_ = false;
};

}  // namespace pg::user::output
