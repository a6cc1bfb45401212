#include "user/io/output_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pg::user::io {

std::expected<int, std::string> open_output_file(const std::string& path, OpenMode how,
                                                 mode_t mode) {
  if (path.empty()) return std::unexpected(std::string("no file name given"));
  int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  if (how == OpenMode::Append) flags |= O_APPEND;
  // No O_TRUNC here: a file that turns out not to be ours must be left as
  // it was.
  int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) {
    const int err = errno;
    // With fs.protected_symlinks the kernel refuses another user's link in
    // a sticky directory with EACCES before O_NOFOLLOW's ELOOP; either way
    // the reason to give is the link.
    struct stat lst {};
    if (err == ELOOP || (err == EACCES && ::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)))
      return std::unexpected(fmt::format(
          "{} is a symbolic link; refusing to follow it (a link planted there could make the "
          "daemon overwrite another file). Remove it or name the real file",
          path));
    return std::unexpected(fmt::format("cannot open {} for writing: {}", path, std::strerror(err)));
  }
  struct stat st {};
  std::string why;
  if (::fstat(fd, &st) != 0)
    why = fmt::format("cannot stat it: {}", std::strerror(errno));
  else if (!S_ISREG(st.st_mode))
    why = "it is not a regular file";
  else if (st.st_uid != ::geteuid())
    why = fmt::format("it belongs to uid {}, not to the daemon's uid {}", st.st_uid, ::geteuid());
  else if (st.st_nlink > 1)
    why = fmt::format("it has {} hard links (one may be another user's file)", st.st_nlink);
  if (!why.empty()) {
    ::close(fd);
    return std::unexpected(
        fmt::format("refusing to write to {}: {}; remove it or choose another path", path, why));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  if (how == OpenMode::Truncate && ::ftruncate(fd, 0) != 0) {
    const int err = errno;
    ::close(fd);
    return std::unexpected(fmt::format("cannot truncate {}: {}", path, std::strerror(err)));
  }
  return fd;
}

int append_whole_line(int fd, std::string_view line) {
  std::string buf;
  buf.reserve(line.size() + 1);
  buf.append(line);
  buf.push_back('\n');
  // Where the line starts. With O_APPEND and other writers this is a best
  // effort; the daemon is the file's only writer by design.
  const off_t start = ::lseek(fd, 0, SEEK_END);
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::write(fd, buf.data() + done, buf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      if (done > 0 && start >= 0) {
        // Half a line would be continued by the next one: cut it off.
        int rc = ::ftruncate(fd, start);
        (void)rc;
      }
      return err;
    }
    done += size_t(n);
  }
  return 0;
}

std::string escape_controls(std::string_view text) {
  auto is_control = [](unsigned char c) { return c < 0x20 || c == 0x7f; };
  size_t i = 0;
  while (i < text.size() && !is_control(static_cast<unsigned char>(text[i]))) ++i;
  if (i == text.size()) return std::string(text);
  std::string out(text.substr(0, i));
  out.reserve(text.size() + 16);
  for (; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (!is_control(c)) {
      out.push_back(char(c));
      continue;
    }
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

}  // namespace pg::user::io
