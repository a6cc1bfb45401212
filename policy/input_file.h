// Reading a file the operator named (rules files here; configuration,
// recordings and `policy load` arguments through user/io/input_file.h)
// without letting the file decide how long or how much we read.
//
// A path may name a FIFO (open would block until a writer comes, then feed
// forever), a device (/dev/zero never ends, /dev/tty blocks) or a file that
// is simply huge. Each is refused up front: the file is opened once, with
// O_NONBLOCK (so opening a FIFO returns at once), fstat'ed, and only a
// regular file no larger than the limit is read, from that same
// descriptor. A path swapped between an earlier check and this open is
// therefore checked again, and one swapped after it is not read at all.
//
// Symbolic links are followed: rules and configuration are commonly
// installed as links (Kubernetes mounts a ConfigMap as links into a
// `..data` directory), and what a link leads to is checked like any file.
#pragma once

#include <cstdint>
#include <string>

#include "policy/expected.h"

namespace pg::policy {

// The default limit for rules, configuration and `policy load` files: far
// above any real ruleset (Falco's whole stable+incubating+sandbox set is
// under 1 MiB) and far below what would hurt the daemon.
inline constexpr uint64_t kMaxInputFileBytes = 64ull << 20;

// Open `path` for reading as a regular file of at most `max_bytes`; the
// descriptor is blocking again on return. The error names the path, what
// it is and what to do.
Expected<int, std::string> open_input_file(const std::string& path,
                                           uint64_t max_bytes = kMaxInputFileBytes);

// open_input_file, then read it whole from that descriptor (a file that
// grows past the limit while being read is refused too).
Expected<std::string, std::string> read_input_file(const std::string& path,
                                                   uint64_t max_bytes = kMaxInputFileBytes);

}  // namespace pg::policy
