// Decoding ring-buffer records (kern/api/records.h) into Events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>

#include "user/event.h"

namespace pg::user {

// Converts CLOCK_BOOTTIME stamps to wall-clock time; the offset is measured
// once at construction (and on refresh()) by reading both clocks.
class Clock {
 public:
  Clock();
  explicit Clock(int64_t realtime_minus_boottime_ns) : offset_ns_(realtime_minus_boottime_ns) {}
  void refresh();
  uint64_t to_realtime(uint64_t boot_ns) const { return boot_ns + offset_ns_; }
  int64_t offset_ns() const { return offset_ns_; }

 private:
  int64_t offset_ns_ = 0;
};

// Fill `out` from one record. Errors describe the malformed record (size,
// type, string bounds); the caller counts them.
std::expected<void, std::string> decode_record(std::span<const std::byte> rec, const Clock& clock,
                                               Event& out);

}  // namespace pg::user
