#include "user/io/input_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pg::user::io {

namespace {

const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

std::string mib(uint64_t bytes) { return fmt::format("{} MiB", bytes >> 20); }

}  // namespace

std::expected<int, std::string> open_regular_file(const std::string& path, uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
  // O_NOCTTY: a terminal named here must not become our controlling tty.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return std::unexpected(fmt::format("cannot open {}: {} (check the path and permissions)", path,
                                       std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return std::unexpected(fmt::format("cannot stat {}: {}", path, std::strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return std::unexpected(fmt::format("{} is {}, not a regular file; name a regular file", path,
                                       kind_of(st.st_mode)));
  }
  if (uint64_t(st.st_size) > max_bytes) {
    ::close(fd);
    return std::unexpected(fmt::format("{} is {} bytes, over the {} limit for input files", path,
                                       uint64_t(st.st_size), mib(max_bytes)));
  }
  // Regular files never block on read, but the flag would surprise a
  // caller that hands the descriptor to stdio.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

std::expected<std::string, std::string> read_regular_file(const std::string& path,
                                                          uint64_t max_bytes) {
  auto fd = open_regular_file(path, max_bytes);
  if (!fd) return std::unexpected(fd.error());
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(*fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(*fd);
      return std::unexpected(fmt::format("reading {} failed: {}", path, std::strerror(err)));
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
    if (out.size() > max_bytes) {
      ::close(*fd);
      return std::unexpected(fmt::format(
          "{} grew past the {} limit for input files while being read", path, mib(max_bytes)));
    }
  }
  ::close(*fd);
  return out;
}

std::expected<void, std::string> check_regular_file(const std::string& path, uint64_t max_bytes) {
  auto fd = open_regular_file(path, max_bytes);
  if (!fd) return std::unexpected(fd.error());
  ::close(*fd);
  return {};
}

}  // namespace pg::user::io
