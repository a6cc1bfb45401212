// file: append one line per alert; reopen on request so logrotate can move
// the file away (SIGHUP → Dispatcher::reopen() → request_reopen()).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>

#include "user/output/fd_io.h"
#include "user/output/sinks.h"

namespace pg::user::output {
namespace {

int open_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

class FileSink final : public Sink {
 public:
  FileSink(FileSinkOptions opts, int fd) : opts_(std::move(opts)), fd_(fd) {}
  ~FileSink() override { close_fd(); }
  std::string_view name() const override { return "file"; }

  void request_reopen() noexcept override { reopen_.store(true, std::memory_order_relaxed); }

  void maintain() override {
    if (reopen_.exchange(false, std::memory_order_relaxed)) close_fd();  // next write reopens
  }

  Expected<void, std::string> deliver(const RenderedAlert& alert) override {
    if (fd_ < 0) {
      fd_ = open_append(opts_.path);
      if (fd_ < 0)
        return Unexpected("open " + opts_.path + " for appending: " + detail::errno_text(errno));
    }
    const int err = detail::write_line(fd_, line_of(alert, opts_.format));
    // After a failure (disk full, file system remounted) start from a fresh
    // open next time instead of writing into a descriptor that went bad.
    if (err != 0 || !opts_.keep_alive) close_fd();
    if (err != 0) return Unexpected("write to " + opts_.path + ": " + detail::errno_text(err));
    return {};
  }

 private:
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  FileSinkOptions opts_;
  int fd_ = -1;
  std::atomic<bool> reopen_{false};
};

}  // namespace

Expected<std::unique_ptr<Sink>, std::string> make_file_sink(FileSinkOptions opts) {
  if (opts.path.empty()) return Unexpected(std::string("file output: no filename given"));
  int fd = open_append(opts.path);
  if (fd < 0)
    return Unexpected("file output: cannot open " + opts.path + " for appending: " +
                      detail::errno_text(errno) + " (check the directory exists and is writable)");
  if (!opts.keep_alive) {
    ::close(fd);
    fd = -1;
  }
  return std::unique_ptr<Sink>(std::make_unique<FileSink>(std::move(opts), fd));
}

}  // namespace pg::user::output
