#include "user/io/input_file.h"

#include <unistd.h>

namespace pg::user::io {

std::expected<int, std::string> open_regular_file(const std::string& path, uint64_t max_bytes) {
  return policy::open_input_file(path, max_bytes);
}

std::expected<std::string, std::string> read_regular_file(const std::string& path,
                                                          uint64_t max_bytes) {
  return policy::read_input_file(path, max_bytes);
}

std::expected<void, std::string> check_regular_file(const std::string& path, uint64_t max_bytes) {
  auto fd = open_regular_file(path, max_bytes);
  if (!fd) return std::unexpected(fd.error());
  ::close(*fd);
  return {};
}

}  // namespace pg::user::io
