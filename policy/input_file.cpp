#include "policy/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pg::policy {

namespace {

const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

std::string mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

std::string err_text(int err) { return std::strerror(err); }

}  // namespace

Expected<int, std::string> open_input_file(const std::string& path, uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
  // O_NOCTTY: a terminal named here must not become our controlling tty.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return Unexpected("cannot open " + path + ": " + err_text(errno) +
                      " (check the path and permissions)");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Unexpected("cannot stat " + path + ": " + err_text(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Unexpected(path + " is " + kind_of(st.st_mode) +
                      ", not a regular file; name a regular file");
  }
  if (uint64_t(st.st_size) > max_bytes) {
    ::close(fd);
    return Unexpected(path + " is " + std::to_string(uint64_t(st.st_size)) + " bytes, over the " +
                      mib(max_bytes) + " limit for input files");
  }
  // Regular files never block on read, but the flag would surprise a
  // caller that hands the descriptor to stdio.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

Expected<std::string, std::string> read_input_file(const std::string& path, uint64_t max_bytes) {
  auto fd = open_input_file(path, max_bytes);
  if (!fd) return Unexpected(fd.error());
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(*fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(*fd);
      return Unexpected("reading " + path + " failed: " + err_text(err));
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
    if (out.size() > max_bytes) {
      ::close(*fd);
      return Unexpected(path + " grew past the " + mib(max_bytes) +
                        " limit for input files while being read");
    }
  }
  ::close(*fd);
  return out;
}

}  // namespace pg::policy
