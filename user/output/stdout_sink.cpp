// stdout: one line per alert, text or JSON.
#include "user/output/fd_io.h"
#include "user/output/sinks.h"

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
    if (int err = detail::write_line(opts_.fd, line_of(alert, opts_.format)); err != 0) {
      if (err == EPIPE) detail::discard_pending_sigpipe();
      return Unexpected(std::string("write to stdout: ") + detail::errno_text(err));
    }
    return {};
  }

 private:
  StdoutSinkOptions opts_;
};

}  // namespace

std::unique_ptr<Sink> make_stdout_sink(StdoutSinkOptions opts) {
  return std::make_unique<StdoutSink>(opts);
}

}  // namespace pg::user::output
