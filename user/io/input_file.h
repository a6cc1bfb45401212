// Reading a file the operator named (rules, configuration, recordings,
// `policy load` arguments) without letting the file decide how long or how
// much we read.
//
// A path may name a FIFO (open would block until a writer comes, then feed
// forever), a device (/dev/zero never ends, /dev/tty blocks) or a file that
// is simply huge. Each is refused up front: the file is opened with
// O_NONBLOCK (so opening a FIFO returns at once), fstat'ed, and only a
// regular file no larger than the limit is read. The checks are made on the
// opened descriptor, so a path swapped between check and read cannot slip a
// FIFO in.
#pragma once

#include <cstdint>
#include <expected>
#include <string>

namespace pg::user::io {

// The default limit for rules, configuration and `policy load` files: far
// above any real ruleset (Falco's whole stable+incubating+sandbox set is
// under 1 MiB) and far below what would hurt the daemon.
inline constexpr uint64_t kMaxInputFileBytes = 64ull << 20;

// Open `path` for reading as a regular file of at most `max_bytes`; the
// descriptor is blocking again on return. The error names the path, what
// it is and what to do.
std::expected<int, std::string> open_regular_file(const std::string& path,
                                                  uint64_t max_bytes = kMaxInputFileBytes);

// open_regular_file, then read it whole (a file that grows past the limit
// while being read is refused too).
std::expected<std::string, std::string> read_regular_file(const std::string& path,
                                                          uint64_t max_bytes = kMaxInputFileBytes);

// Only the checks, for a path that a library will open itself: the same
// error read_regular_file would give, or success.
std::expected<void, std::string> check_regular_file(const std::string& path,
                                                    uint64_t max_bytes = kMaxInputFileBytes);

}  // namespace pg::user::io
