// Recordings: the events that reached userspace, with the state needed to
// evaluate them again offline (`peregrine run --record`, `peregrine replay`).
//
// File layout (little-endian):
//   "PGREC" 0 0 1            magic and format version (8 bytes)
//   u32 n, n bytes           JSON header: hostname, clock offset, the process
//                            table at the start of the recording
//   frames until EOF:
//     u32 len, len bytes     one ring-buffer record exactly as the kernel
//                            wrote it (kern/api/records.h)
//     u32 0xffffffff, i64    a new CLOCK_REALTIME - CLOCK_BOOTTIME offset
//     u32 0xfffffffe, u64 id, u32 n, n bytes
//                            a cgroup id and its path, written before the
//                            first record that needs it
//
// Replaying feeds the same decoder, process table and engine as a live run,
// so it raises exactly the alerts the live run raised.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <expected>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "user/process.h"

namespace pg::user {

class Recorder {
 public:
  static std::expected<std::unique_ptr<Recorder>, std::string> create(const std::string& path,
                                                                      const std::string& hostname,
                                                                      int64_t clock_offset_ns,
                                                                      const ProcessTable& procs);
  ~Recorder();

  void write_record(std::span<const std::byte> rec);
  void write_clock(int64_t clock_offset_ns);
  void write_cgroup(uint64_t id, const std::string& path);
  // Write what is buffered (also done when the buffer fills, and by the
  // destructor).
  void flush();
  // Records that could not be written (a full disk): counted, not fatal,
  // since a full disk must not stop detection.
  uint64_t lost_records() const { return lost_records_; }

 private:
  Recorder() = default;
  // Frames are collected whole in buf_ and written in one go. When the disk
  // fills part way through, the file is cut back to the last frame that
  // was written whole, so it always ends on a frame boundary and a replay
  // reads every frame that made it (a partial frame would otherwise be
  // followed by the next one and corrupt the rest of the file).
  void begin_frame();
  void put(const void* p, size_t n);
  void end_frame();
  // Clock and cgroup frames carry state later records need: when they are
  // lost to a full disk, they are queued again ahead of the next frames.
  void requeue_state(std::string_view lost, const std::vector<size_t>& ends);

  static constexpr size_t kFlushBytes = 16 * 1024;
  int fd_ = -1;
  off_t file_end_ = 0;  // bytes in the file, all whole frames
  std::string buf_;
  std::vector<size_t> frame_ends_;  // in buf_
  uint64_t lost_records_ = 0;
  int last_error_ = 0;
};

struct RecordingHeader {
  std::string hostname;
  int64_t clock_offset_ns = 0;
  ProcessTable procs;
};

// Read a recording: the header, then every frame in order. `on_record`
// receives raw records, `on_clock` offset changes.
std::expected<void, std::string> read_recording(
    const std::string& path, RecordingHeader& header,
    const std::function<void(std::span<const std::byte>)>& on_record,
    const std::function<void(int64_t)>& on_clock,
    const std::function<void(uint64_t, std::string)>& on_cgroup);

// The same from an open stream; `path` only names it in errors (the
// recording fuzzer feeds memory through fmemopen).
std::expected<void, std::string> read_recording(
    FILE* file, const std::string& path, RecordingHeader& header,
    const std::function<void(std::span<const std::byte>)>& on_record,
    const std::function<void(int64_t)>& on_clock,
    const std::function<void(uint64_t, std::string)>& on_cgroup);

}  // namespace pg::user
