#include "user/control/socket.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "user/signals.h"

namespace pg::user::control {

namespace {

std::string errno_text() { return std::strerror(errno); }

std::expected<sockaddr_un, std::string> unix_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sa.sun_path))
    return std::unexpected(fmt::format("control socket path '{}' must be 1-{} bytes long", path,
                                       sizeof(sa.sun_path) - 1));
  std::memcpy(sa.sun_path, path.data(), path.size());
  return sa;
}

// Read until '\n' (not included) or EOF, within the deadline.
std::expected<std::string, std::string> read_line(int fd,
                                                  std::chrono::steady_clock::time_point deadline) {
  std::string buf;
  char chunk[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::unexpected("timed out");
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, int(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return std::unexpected(errno_text());
    if (r == 0) continue;
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(errno_text());
    if (n == 0) return buf;
    buf.append(chunk, size_t(n));
    if (auto nl = buf.find('\n'); nl != std::string::npos) {
      buf.resize(nl);
      return buf;
    }
    if (buf.size() > kMaxMessageBytes)
      return std::unexpected(fmt::format("message exceeds {} bytes", kMaxMessageBytes));
  }
}

bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    s.remove_prefix(size_t(n));
  }
  return true;
}

std::string dump(const Json& j) {
  // Paths and rule text are bytes; never throw on invalid UTF-8.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace

std::expected<std::unique_ptr<ControlServer>, std::string> ControlServer::start(
    const std::string& path, Handler handler, Tick tick) {
  if (path.empty()) {
    // No socket: only the tick loop (reloads on SIGHUP, file watch).
    std::unique_ptr<ControlServer> s(new ControlServer());
    s->tick_ = std::move(tick);
    s->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wake_fd_ < 0) return std::unexpected("creating an eventfd failed: " + errno_text());
    s->thread_ = std::thread([p = s.get()] { p->loop(); });
    return s;
  }
  auto sa = unix_address(path);
  if (!sa) return std::unexpected(sa.error());
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return std::unexpected(fmt::format("cannot create the control socket's directory {}: {}",
                                         dir.string(), ec.message()));
    ::chmod(dir.c_str(), 0755);
  }
  // A socket file already there: another daemon's (refuse) or stale (replace).
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return std::unexpected(
          fmt::format("control socket path {} exists and is not a socket; remove it or set "
                      "control_socket elsewhere",
                      path));
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live =
        probe >= 0 && connect(probe, reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)) == 0;
    if (probe >= 0) close(probe);
    if (live)
      return std::unexpected(fmt::format(
          "another peregrine daemon answers on {}; stop it or set control_socket elsewhere", path));
    ::unlink(path.c_str());
  }

  std::unique_ptr<ControlServer> s(new ControlServer());
  s->path_ = path;
  s->handler_ = std::move(handler);
  s->tick_ = std::move(tick);
  s->listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s->listen_fd_ < 0)
    return std::unexpected("creating the control socket failed: " + errno_text());
  // Bind with a umask that leaves only the owner's bits, so there is no
  // moment at which the socket is reachable by others.
  mode_t old = ::umask(0177);
  int rc = bind(s->listen_fd_, reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa));
  int bind_errno = errno;
  ::umask(old);
  if (rc != 0)
    return std::unexpected(
        fmt::format("binding the control socket {} failed: {}", path, std::strerror(bind_errno)));
  if (::chmod(path.c_str(), 0600) != 0 || listen(s->listen_fd_, 16) != 0) {
    std::string err = errno_text();
    ::unlink(path.c_str());
    return std::unexpected(fmt::format("setting up the control socket {} failed: {}", path, err));
  }
  s->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s->wake_fd_ < 0) {
    ::unlink(path.c_str());
    return std::unexpected("creating an eventfd failed: " + errno_text());
  }
  // The stop watchdog's exit leaves no socket file behind either.
  s->cleanup_id_ = add_exit_cleanup([path] { ::unlink(path.c_str()); });
  s->thread_ = std::thread([p = s.get()] { p->loop(); });
  return s;
}

ControlServer::~ControlServer() {
  if (cleanup_id_) remove_exit_cleanup(cleanup_id_);
  stop_.store(true);
  wake();
  if (thread_.joinable()) thread_.join();
  reap(true);
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    ::unlink(path_.c_str());
  }
  if (wake_fd_ >= 0) close(wake_fd_);
}

void ControlServer::wake() noexcept {
  uint64_t one = 1;
  if (wake_fd_ >= 0) {
    ssize_t n = write(wake_fd_, &one, sizeof(one));
    (void)n;
  }
}

void ControlServer::loop() {
  auto last_tick = std::chrono::steady_clock::now();
  while (!stop_.load()) {
    // fd -1 is ignored by poll: a server without a socket only ticks.
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int r = poll(fds, 2, 1000);
    if (stop_.load()) break;
    bool woken = false;
    if (r > 0 && (fds[1].revents & POLLIN)) {
      uint64_t v;
      woken = read(wake_fd_, &v, sizeof(v)) == sizeof(v);
    }
    if (r > 0 && (fds[0].revents & POLLIN)) accept_one();
    reap(false);
    auto now = std::chrono::steady_clock::now();
    if (tick_ && (woken || now - last_tick >= std::chrono::seconds(1))) {
      last_tick = now;
      std::lock_guard lock(handle_mu_);
      try {
        tick_(woken);
      } catch (const std::exception& e) {
        spdlog::error("control: {}", e.what());
      }
    }
  }
}

void ControlServer::accept_one() {
  int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  reap(false);
  if (clients_.size() >= kMaxClients) {
    // Answer without waiting: the socket buffer of a fresh connection has
    // room for this line.
    std::string busy = dump(error_response(
        Error{ErrorCode::Busy,
              fmt::format("the daemon is serving {} control clients already; retry shortly",
                          clients_.size()),
              {}}));
    ssize_t n = send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n;
    close(fd);
    spdlog::warn("control: refused a connection: {} clients in progress (the limit)",
                 clients_.size());
    return;
  }
  // A client that stops reading must not block its answer forever either.
  timeval tv{kClientTimeout.count(), 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  auto c = std::make_unique<Client>();
  c->fd = fd;
  Client* raw = c.get();
  c->thread = std::thread([this, raw] {
    serve(raw->fd);
    raw->done.store(true);
  });
  clients_.push_back(std::move(c));
}

// Join finished client threads (all of them, unblocking the rest, when
// `all`). The descriptor is closed only here, after the join, so it cannot
// be reused while shutdown() may still be called on it.
void ControlServer::reap(bool all) {
  for (auto it = clients_.begin(); it != clients_.end();) {
    Client& c = **it;
    if (!all && !c.done.load()) {
      ++it;
      continue;
    }
    if (!c.done.load()) shutdown(c.fd, SHUT_RDWR);
    if (c.thread.joinable()) c.thread.join();
    close(c.fd);
    it = clients_.erase(it);
  }
}

void ControlServer::serve(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != 0) {
    refused_.fetch_add(1);
    spdlog::warn(
        "control: refused a connection from uid {} (pid {}): only root may control "
        "the daemon",
        int(cred.uid), int(cred.pid));
    write_all(fd,
              dump(error_response(Error{
                  ErrorCode::PermissionDenied, "only root may control the peregrine daemon", {}})));
    return;
  }
  auto line = read_line(fd, std::chrono::steady_clock::now() + kClientTimeout);
  Json response;
  if (!line) {
    response =
        error_response(Error{ErrorCode::BadRequest, "reading the request: " + line.error(), {}});
  } else {
    auto req = parse_request(*line);
    if (!req) {
      response = error_response(req.error());
    } else {
      std::lock_guard lock(handle_mu_);
      try {
        response = handler_(*req);
      } catch (const std::exception& e) {
        response = error_response(Error{ErrorCode::Internal, e.what(), {}});
      }
    }
  }
  write_all(fd, dump(response));
}

std::expected<Json, std::string> call(const std::string& socket_path, const Json& request,
                                      std::chrono::milliseconds timeout) {
  auto sa = unix_address(socket_path);
  if (!sa) return std::unexpected(sa.error());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected("creating a socket failed: " + errno_text());
  if (connect(fd, reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)) != 0) {
    int err = errno;
    close(fd);
    std::string hint = err == ENOENT || err == ECONNREFUSED
                           ? "is the daemon running ('peregrine run')? Use --socket if it was "
                             "started with another control_socket"
                       : err == EACCES ? "only root may control the daemon"
                                       : "";
    return std::unexpected(fmt::format("cannot connect to {}: {}{}{}", socket_path,
                                       std::strerror(err), hint.empty() ? "" : "; ", hint));
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // A daemon that refuses the connection (busy) answers before reading
  // and closes: sending may fail, yet its answer is there to read.
  const bool sent = write_all(fd, dump(request));
  const std::string send_error = sent ? "" : errno_text();
  shutdown(fd, SHUT_WR);
  auto line = read_line(fd, deadline);
  close(fd);
  if (!sent && (!line || line->empty()))
    return std::unexpected("sending the request failed: " + send_error);
  if (!line) return std::unexpected("reading the daemon's answer failed: " + line.error());
  Json j = Json::parse(*line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ok"))
    return std::unexpected("the daemon's answer is not a valid response");
  return j;
}

}  // namespace pg::user::control
