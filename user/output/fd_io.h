// Small POSIX helpers shared by the line-oriented sinks (internal).
#pragma once

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <string_view>

namespace pg::user::output::detail {

inline std::string errno_text(int err) { return std::strerror(err); }

// Write `line` and a newline with as few syscalls as possible, finishing
// partial writes. Returns 0 or the errno of the failure.
inline int write_line(int fd, std::string_view line) {
  static const char kNewline = '\n';
  iovec iov[2] = {{const_cast<char*>(line.data()), line.size()}, {const_cast<char*>(&kNewline), 1}};
  int idx = 0;
  while (idx < 2) {
    ssize_t n = ::writev(fd, iov + idx, 2 - idx);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    auto left = static_cast<size_t>(n);
    while (idx < 2 && left >= iov[idx].iov_len) left -= iov[idx++].iov_len;
    if (idx < 2) {
      iov[idx].iov_base = static_cast<char*>(iov[idx].iov_base) + left;
      iov[idx].iov_len -= left;
    }
  }
  return 0;
}

// Writing to a pipe whose reader is gone raises SIGPIPE, which kills the
// process unless it is ignored; sinks cannot rely on the process-wide
// disposition, so a sink worker blocks SIGPIPE in its own thread (the signal
// is thread-directed and stays pending there) and discards it after EPIPE.
inline void block_sigpipe_in_this_thread() {
  thread_local bool done = false;
  if (done) return;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  done = true;
}

inline void discard_pending_sigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  timespec zero{};
  while (sigtimedwait(&set, nullptr, &zero) == SIGPIPE) {
  }
}

}  // namespace pg::user::output::detail
