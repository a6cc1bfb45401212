// syslog: one datagram per alert to the local syslog socket, in the format
// glibc's syslog(3) produces ("<PRI>Mmm dd hh:mm:ss ident[pid]: message").
// We speak the socket protocol ourselves instead of calling syslog(3) so the
// socket path can be injected (tests bind their own receiver) and so a send
// failure is reported to us and counted, which syslog(3) swallows.
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ctime>

#include "user/output/fd_io.h"
#include "user/output/sinks.h"

namespace pg::user::output {
namespace {

class SyslogSink final : public Sink {
 public:
  explicit SyslogSink(SyslogSinkOptions opts) : opts_(std::move(opts)), pid_(::getpid()) {}
  ~SyslogSink() override { disconnect(); }
  std::string_view name() const override { return "syslog"; }

  Expected<void, std::string> deliver(const RenderedAlert& alert) override {
    const int pri = opts_.facility | static_cast<int>(alert.alert.priority);
    const std::string msg = fmt::format("<{}>{} {}[{}]: {}", pri, timestamp(), opts_.ident, pid_,
                                        line_of(alert, opts_.format));
    // One reconnect: the daemon behind the socket (journald, rsyslog) may
    // have restarted since our last send.
    int err = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && (err = connect_socket()) != 0) continue;
      if (::send(fd_, msg.data(), msg.size(), MSG_NOSIGNAL) >= 0) return {};
      err = errno;
      disconnect();
    }
    return Unexpected("send to " + opts_.socket_path + ": " + detail::errno_text(err));
  }

 private:
  static std::string timestamp() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%b %e %T", &tm);
    return buf;
  }

  int connect_socket() {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (opts_.socket_path.size() >= sizeof addr.sun_path) return ENAMETOOLONG;
    opts_.socket_path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return errno;
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const int err = errno;
      disconnect();
      return err;
    }
    return 0;
  }

  void disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  SyslogSinkOptions opts_;
  pid_t pid_;
  int fd_ = -1;
};

}  // namespace

std::unique_ptr<Sink> make_syslog_sink(SyslogSinkOptions opts) {
  return std::make_unique<SyslogSink>(std::move(opts));
}

}  // namespace pg::user::output
