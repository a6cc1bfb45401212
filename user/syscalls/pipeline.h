// The kernel → userspace event pipeline: prepare the system, load and
// attach the BPF programs, seed the process table from /proc, then consume
// the ring buffer, decode each record, keep the process table current and
// hand every event to a consumer. `peregrine trace` is one consumer; the
// rule engine is another.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>

#include "user/cgroup.h"
#include "user/event.h"
#include "user/process.h"
#include "user/syscalls/bpf_loader.h"
#include "user/syscalls/decode.h"
#include "user/ring_backlog.h"

struct ring_buffer;

namespace pg::user {
class Recorder;
}

namespace pg::user {

struct PipelineStats {
  uint64_t records = 0;                                 // records read from the ring buffer
  uint64_t decode_errors = 0;                           // malformed records (counted, skipped)
  std::array<uint64_t, PG_DROP__COUNT> kernel_drops{};  // lost before the ring buffer
  uint64_t unread_at_stop = 0;  // left in the ring buffer when run() returned
  uint64_t kernel_lost() const;
};

class Pipeline {
 public:
  using Consumer = std::function<void(const Event&, const ProcessTable&, CgroupMap&)>;

  // `prepare` runs after the programs are loaded and before they are
  // attached (fill the kernel filter's tables there).
  using Prepare = std::function<std::expected<void, std::string>(BpfSession&)>;
  static std::expected<std::unique_ptr<Pipeline>, std::string> start(const LoadOptions& opts,
                                                                     const Prepare& prepare = {});
  ~Pipeline();

  // Consume until `stop` becomes true. `consumer` runs for every decoded
  // event after the process table has applied it. `on_batch` runs after
  // each batch of records (flush outputs there).
  void run(const std::atomic<bool>& stop, const Consumer& consumer,
           const std::function<void()>& on_batch = {});

  const PipelineStats& stats() const { return stats_; }
  const ProcessTable& processes() const { return procs_; }
  int64_t clock_offset() const { return clock_.offset_ns(); }
  // Also write every raw record (and clock change) to `r` from now on.
  void set_recorder(Recorder* r);
  std::vector<std::string> attached() const { return bpf_->attached(); }
  std::vector<std::string> uncaptured() const { return bpf_->uncaptured(); }
  // See BpfSession::attach_more.
  std::expected<std::vector<std::string>, std::string> attach_more(
      const std::vector<std::string>& syscalls) {
    return bpf_->attach_more(syscalls);
  }
  std::vector<BpfSession::MapInfo> maps() const { return bpf_->maps(); }
  // Records waiting in the ring buffer now (any thread).
  uint64_t queued() const { return backlog_.records(); }
  size_t seeded_processes() const { return seeded_; }
  CgroupMap& cgroups() { return cgroups_; }

 private:
  Pipeline() = default;
  static int on_record(void* ctx, void* data, size_t size);
  void report_drops();
  // A batch ends after this many records even when more are waiting, so
  // on_batch (stats, loss alerts, policy changes, outputs) keeps running
  // while a flood fills the ring buffer faster than it is read.
  static constexpr size_t kMaxBatch = 4096;
  size_t batch_ = 0;

  std::unique_ptr<BpfSession> bpf_;
  ::ring_buffer* rb_ = nullptr;
  Clock clock_;
  ProcessTable procs_;
  // Dead processes leave the table at the second sweep that finds them gone.
  static constexpr std::chrono::seconds kSweepInterval{10};
  // How often the ring is read when nothing woke the reader: the programs
  // send without waking it (pg_ring_output in kern/lib/common.bpf.h), so
  // this bounds how late an event is evaluated, unless the ring fills.
  static constexpr int kPollMs = 10;
  CgroupMap cgroups_;
  Event event_;
  PipelineStats stats_;
  std::array<uint64_t, PG_DROP__COUNT> reported_drops_{};
  const Consumer* consumer_ = nullptr;
  size_t seeded_ = 0;
  Recorder* recorder_ = nullptr;
  RingBacklog backlog_;
};

// Install the signal handlers (user/signals.h); the returned flag is set
// by SIGINT/SIGTERM.
std::atomic<bool>& install_stop_signals();

}  // namespace pg::user
