// file: append one line per alert; reopen on request so logrotate can move
// the file away (SIGHUP → Dispatcher::reopen() → request_reopen()).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>

#include "user/io/output_file.h"
#include "user/output/fd_io.h"
#include "user/output/sinks.h"

namespace pg::user::output {
namespace {

// 0600, no symlinks, nobody else's file: see user/io/output_file.h.
std::expected<int, std::string> open_append(const std::string& path) {
  return io::open_output_file(path, io::OpenMode::Append);
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
      auto fd = open_append(opts_.path);
      if (!fd) return Unexpected(fd.error());
      fd_ = *fd;
    }
    // Whole lines only: on a full disk nothing of this alert stays behind.
    const int err = io::append_whole_line(fd_, line_of(alert, opts_.format));
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
  auto opened = open_append(opts.path);
  if (!opened)
    return Unexpected("file output: " + opened.error() +
                      " (check the directory exists and is writable)");
  int fd = *opened;
  if (!opts.keep_alive) {
    ::close(fd);
    fd = -1;
  }
  return std::unique_ptr<Sink>(std::make_unique<FileSink>(std::move(opts), fd));
}

}  // namespace pg::user::output
