#include "user/control/rules_watch.h"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "user/config/config.h"

namespace pg::user::control {

namespace fs = std::filesystem;

std::string rules_signature(const std::vector<std::string>& paths) {
  std::string sig;
  std::error_code ec;
  for (const auto& p : paths) {
    const fs::path data = fs::path(p) / "..data";
    if (fs::is_symlink(data, ec))
      sig += fmt::format("{}->{}\n", data.string(), fs::read_symlink(data, ec).string());
  }
  auto files = config::expand_rules_paths(paths);
  if (!files) return sig + "error: " + files.error().to_string();
  for (const auto& f : *files) {
    struct stat sb {};
    if (::stat(f.c_str(), &sb) != 0) {
      sig += fmt::format("{}|missing\n", f);
      continue;
    }
    sig +=
        fmt::format("{}|{}:{}|{}|{}.{}|{}.{}\n", f, sb.st_dev, sb.st_ino, sb.st_size,
                    sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec, sb.st_ctim.tv_sec, sb.st_ctim.tv_nsec);
  }
  return sig;
}

std::expected<std::unique_ptr<RulesWatch>, std::string> RulesWatch::start(
    std::function<void()> on_change) {
  std::unique_ptr<RulesWatch> w(new RulesWatch());
  w->inotify_fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (w->inotify_fd_ < 0)
    return std::unexpected(fmt::format("inotify_init1 failed: {}", std::strerror(errno)));
  w->stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->stop_fd_ < 0) {
    close(w->inotify_fd_);
    return std::unexpected(fmt::format("eventfd failed: {}", std::strerror(errno)));
  }
  w->on_change_ = std::move(on_change);
  w->thread_ = std::thread([p = w.get()] { p->loop(); });
  return w;
}

RulesWatch::~RulesWatch() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
}

void RulesWatch::watch(const std::vector<std::string>& paths) {
  std::lock_guard lock(mu_);
  for (const auto& p : paths) {
    std::error_code ec;
    fs::path dir = fs::is_directory(p, ec) ? fs::path(p) : fs::path(p).parent_path();
    if (dir.empty()) dir = ".";
    if (dirs_.count(dir.string())) continue;
    // The directory's own entries: a file replaced by rename, a `..data`
    // swap, a file written in place (closed after writing), added or removed.
    const uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE |
                          IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
    if (inotify_add_watch(inotify_fd_, dir.c_str(), mask) < 0) {
      spdlog::debug("watch_rules_files: cannot watch {} ({}); polling it once a second",
                    dir.string(), std::strerror(errno));
      continue;
    }
    dirs_.insert(dir.string());
  }
}

void RulesWatch::loop() {
  using clock = std::chrono::steady_clock;
  char buf[8192] __attribute__((aligned(alignof(inotify_event))));
  auto drain = [&] {
    bool any = false;
    while (read(inotify_fd_, buf, sizeof buf) > 0) any = true;
    return any;
  };
  while (true) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (!drain()) continue;
    // Let the burst finish (an editor's write-rename, the kubelet's
    // directory, symlink and cleanup steps) before saying "look".
    const auto until = clock::now() + std::chrono::milliseconds(500);
    while (clock::now() < until) {
      pollfd more[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (poll(more, 2, 20) <= 0) break;
      if (more[1].revents) return;
      drain();
    }
    on_change_();
  }
}

}  // namespace pg::user::control
