// stdout: one line per alert, text or JSON.
#include <pthread.h>

#include <atomic>

#include "user/output/fd_io.h"
#include "user/output/sinks.h"
#include "user/signals.h"

namespace pg::user::output {
namespace {

class StdoutSink final : public Sink {
 public:
  explicit StdoutSink(StdoutSinkOptions opts) : opts_(opts) {}
  std::string_view name() const override { return "stdout"; }

  Expected<void, std::string> deliver(const RenderedAlert& alert) override {
    // Raw write(2), not std::cout: no shared buffer with other writers, and
    // each alert reaches the reader (a pipe to a log collector) at once.
    // stdout may be a pipe to a collector that went away.
    detail::block_sigpipe_in_this_thread();
    worker_.store(pthread_self(), std::memory_order_relaxed);
    has_worker_.store(true, std::memory_order_release);
    if (int err = write_line(line_of(alert, opts_.format)); err != 0) {
      if (err == EPIPE) detail::discard_pending_sigpipe();
      return Unexpected(std::string("write to stdout: ") + detail::errno_text(err));
    }
    return {};
  }

  // At shutdown, a write blocked on a pipe nobody reads is abandoned: the
  // signal (a no-op handler without SA_RESTART) makes it return EINTR.
  void interrupt() noexcept override {
    interrupted_.store(true);
    if (has_worker_.load(std::memory_order_acquire))
      pthread_kill(worker_.load(std::memory_order_relaxed), interrupt_signal());
  }

 private:
  int write_line(std::string_view line) {
    std::string buf(line);
    buf.push_back('\n');
    std::string_view left = buf;
    while (!left.empty()) {
      if (interrupted_.load()) return EINTR;
      ssize_t n = ::write(opts_.fd, left.data(), left.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno;
      left.remove_prefix(size_t(n));
    }
    return 0;
  }

  StdoutSinkOptions opts_;
  std::atomic<bool> interrupted_{false};
  std::atomic<bool> has_worker_{false};
  std::atomic<pthread_t> worker_{};
};

}  // namespace

std::unique_ptr<Sink> make_stdout_sink(StdoutSinkOptions opts) {
  return std::make_unique<StdoutSink>(opts);
}

}  // namespace pg::user::output
