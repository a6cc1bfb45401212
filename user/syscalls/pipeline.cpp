#include "user/syscalls/pipeline.h"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>

#include "user/procfs.h"
#include "user/signals.h"
#include "user/syscalls/recording.h"
#include "user/syscalls/system.h"

namespace pg::user {

namespace {
constexpr int kBatchFull = -EOVERFLOW;
}  // namespace

std::atomic<bool>& install_stop_signals() { return install_signal_handlers().stop; }

uint64_t PipelineStats::kernel_lost() const {
  uint64_t n = 0;
  for (auto d : kernel_drops) n += d;
  return n;
}

std::expected<std::unique_ptr<Pipeline>, std::string> Pipeline::start(const LoadOptions& opts,
                                                                      const Prepare& prepare) {
  if (auto ok = prepare_system(); !ok) return std::unexpected(ok.error());
  route_libbpf_log();
  LoadOptions o = opts;
  o.self_tgid = uint32_t(getpid());
  auto bpf = BpfSession::load(o);
  if (!bpf) return std::unexpected(bpf.error());

  std::unique_ptr<Pipeline> p(new Pipeline());
  p->bpf_ = std::move(*bpf);
  p->rb_ = ring_buffer__new(p->bpf_->events_fd(), &Pipeline::on_record, p.get(), nullptr);
  if (!p->rb_)
    return std::unexpected(
        fmt::format("creating the ring buffer reader failed: {}", std::strerror(errno)));
  // Only for counting what a stop leaves unread: without it that count is
  // missing from the report, nothing else.
  if (auto b = RingBacklog::open(p->bpf_->events_fd()))
    p->backlog_ = std::move(*b);
  else
    spdlog::warn("records left unread at stop will not be counted: {}", b.error());
  if (prepare)
    if (auto ok = prepare(*p->bpf_); !ok) return std::unexpected(ok.error());
  // Attach before seeding: a process that starts in between is then seen
  // by both, and the event (newer) wins over the /proc snapshot.
  if (auto ok = p->bpf_->attach(); !ok) return std::unexpected(ok.error());
  p->seeded_ = ProcFs().seed(p->procs_);
  return p;
}

Pipeline::~Pipeline() {
  note_detaching();  // the stop watchdog lets this finish (user/signals.h)
  if (rb_) ring_buffer__free(rb_);
}

int Pipeline::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<Pipeline*>(ctx);
  self->stats_.records++;
  std::span<const std::byte> raw{static_cast<const std::byte*>(data), size};
  auto ok = decode_record(raw, self->clock_, self->event_);
  // Resolve the cgroup first: its listeners (the recording's path frame,
  // the kernel filter's container-or-host entry) hear of it before the
  // record is written or evaluated.
  if (ok) self->cgroups_.path(self->event_.task.cgroup_id);
  if (self->recorder_) self->recorder_->write_record(raw);
  if (!ok) {
    self->stats_.decode_errors++;
    spdlog::debug("skipping malformed record: {}", ok.error());
    return 0;
  }
  self->procs_.update(self->event_);
  if (self->consumer_) (*self->consumer_)(self->event_, self->procs_, self->cgroups_);
  self->procs_.reap();
  // A negative return makes libbpf stop this poll after consuming the
  // record (ring_buffer__poll returns it); run() treats it as a full batch.
  return ++self->batch_ >= kMaxBatch ? kBatchFull : 0;
}

void Pipeline::set_recorder(Recorder* r) {
  recorder_ = r;
  cgroups_.on_resolved([r](uint64_t id, const std::string& path) { r->write_cgroup(id, path); });
}

void Pipeline::report_drops() {
  stats_.kernel_drops = bpf_->drops();
  uint64_t total = 0, fresh = 0;
  std::string detail;
  for (uint32_t r = 0; r < PG_DROP__COUNT; ++r) {
    uint64_t d = stats_.kernel_drops[r] - reported_drops_[r];
    total += stats_.kernel_drops[r];
    fresh += d;
    if (d) detail += fmt::format("{}{}={}", detail.empty() ? "" : ", ", drop_reason_name(r), d);
  }
  if (fresh)
    spdlog::warn("lost {} events in the kernel since the last report ({}); total lost: {}", fresh,
                 detail, total);
  reported_drops_ = stats_.kernel_drops;
}

void Pipeline::run(const std::atomic<bool>& stop, const Consumer& consumer,
                   const std::function<void()>& on_batch) {
  consumer_ = &consumer;
  auto last_report = std::chrono::steady_clock::now();
  auto last_sweep = last_report, last_drops = last_report;
  while (!stop.load()) {
    batch_ = 0;
    // A timeout consumes nothing in libbpf: records sent without a
    // wakeup are read here.
    int n = ring_buffer__poll(rb_, kPollMs);
    if (n == 0) n = ring_buffer__consume(rb_);
    if (n < 0 && n != -EINTR && n != kBatchFull) {
      spdlog::error("reading the ring buffer failed: {}", std::strerror(-n));
      break;
    }
    auto now = std::chrono::steady_clock::now();
    // Loss is read often (three map lookups), so the loss alert and
    // `status` follow it within a fraction of a second, flood or not.
    if (now - last_drops >= std::chrono::milliseconds(100)) {
      stats_.kernel_drops = bpf_->drops();
      last_drops = now;
    }
    if (on_batch) on_batch();
    if (now - last_report >= std::chrono::seconds(1)) {
      report_drops();
      int64_t before = clock_.offset_ns();
      clock_.refresh();
      if (recorder_ && clock_.offset_ns() != before) recorder_->write_clock(clock_.offset_ns());
      last_report = now;
    }
    if (now - last_sweep >= kSweepInterval) {
      size_t gone =
          procs_.sweep([](uint32_t pid) { return ::kill(pid_t(pid), 0) == 0 || errno == EPERM; });
      if (gone)
        spdlog::debug("process table: swept {} dead processes, {} left", gone, procs_.size());
      last_sweep = now;
    }
  }
  // Drain what is already in the buffer, then account for every loss.
  // (Bounded: programs still attached keep producing during a flood.)
  batch_ = 0;
  for (int i = 0; i < 256 && ring_buffer__consume(rb_) == kBatchFull; ++i) batch_ = 0;
  // What the drain did not reach was captured and never evaluated: lost.
  stats_.unread_at_stop = backlog_.records();
  if (on_batch) on_batch();
  report_drops();
  consumer_ = nullptr;
}

}  // namespace pg::user
