// Small POSIX helpers shared by the line-oriented sinks (internal).
#pragma once

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
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

}  // namespace pg::user::output::detail
