// Reading a file the operator named (rules, configuration, recordings,
// `policy load` arguments) without letting the file decide how long or how
// much we read: a FIFO, a device or an oversized file is refused, checked
// on the one descriptor that is then read. The checks live in
// policy/input_file.h, so that policy::load_rules reads rules files the
// same way; these are the daemon's names for them.
#pragma once

#include <cstdint>
#include <expected>
#include <string>

#include "policy/input_file.h"

namespace pg::user::io {

inline constexpr uint64_t kMaxInputFileBytes = policy::kMaxInputFileBytes;

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
