// The records still waiting in the BPF ring buffer, counted without
// consuming them.
//
// A stop is bounded (user/signals.h): the event loop drains what it can
// and then ends, possibly with records left unread (a flood keeps the
// programs producing until they are detached). Those events were captured
// and never evaluated or printed, so the final report counts them as lost
// instead of letting them vanish. libbpf 1.1 has no call for this
// (ring__avail_data_size came in 1.3, and it gives bytes, not records), so
// the map is mapped read-only a second time, as libbpf maps it:
//
//   page 0                 consumer position (written by the reader)
//   page 1                 producer position (written by the kernel)
//   page 2 ...             the data area, mapped twice in a row so that a
//                          record wrapping around the end reads straight
//
// and the 8-byte record headers between the two positions are walked:
// each is the record's length with a busy bit (reserved, not yet
// submitted) and a discard bit (dropped by the program, not a record).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>

namespace pg::user {

class RingBacklog {
 public:
  // Map the ring buffer map `fd` for reading.
  static std::expected<RingBacklog, std::string> open(int fd);
  RingBacklog() = default;
  RingBacklog(RingBacklog&& o) noexcept { *this = std::move(o); }
  RingBacklog& operator=(RingBacklog&& o) noexcept;
  RingBacklog(const RingBacklog&) = delete;
  RingBacklog& operator=(const RingBacklog&) = delete;
  ~RingBacklog();

  // Records between the consumer and the producer now: submitted ones and
  // ones still being written (they will be submitted), not discarded ones.
  uint64_t records() const;

 private:
  void* base_ = nullptr;
  size_t len_ = 0;
  size_t page_ = 0;
  uint64_t data_size_ = 0;  // a power of two
};

}  // namespace pg::user
