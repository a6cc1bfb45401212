// Counters of the live pipeline that other threads (control socket,
// metrics endpoint) read. The event thread owns the pipeline's own
// counters; after each batch it copies them here (relaxed atomic stores,
// one writer), so readers never touch the event thread's state.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "kern/api/records.h"

namespace pg::user::control {

struct RuntimeStats {
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<uint64_t> records{0};        // read from the ring buffer
  std::atomic<uint64_t> decode_errors{0};  // malformed records
  std::array<std::atomic<uint64_t>, PG_DROP__COUNT> kernel_drops{};
  std::atomic<uint64_t> drop_alerts{0};  // "events lost" internal alerts raised
  // Rates over the last second of the event loop.
  std::atomic<double> records_per_s{0};
  std::atomic<double> alerts_per_s{0};
  // steady_clock nanoseconds of the last event-loop turn (health check).
  // A daemon that has just started counts as turning: its first batch may
  // be the whole backlog since the programs were attached.
  std::atomic<int64_t> last_loop_ns{std::chrono::steady_clock::now().time_since_epoch().count()};

  void touch() {
    last_loop_ns.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                       std::memory_order_relaxed);
  }
  double uptime_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
  // True when the event loop turned within `within`.
  bool loop_alive(std::chrono::nanoseconds within = std::chrono::seconds(5)) const {
    const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    return now - last_loop_ns.load(std::memory_order_relaxed) <= within.count();
  }
};

}  // namespace pg::user::control
