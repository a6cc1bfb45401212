// The daemon's own resource use, read from /proc/self: what Falco reports as
// falcosecurity_falco_cpu_usage_ratio, memory_rss_bytes and memory_vsz_bytes.
#pragma once

#include <cstdint>

namespace pg::user::metrics {

struct Resources {
  // CPU time used since the process started, divided by the wall time
  // since then (1.0 = one CPU fully busy), as Falco's libs compute it.
  double cpu_usage_ratio = 0;
  std::uint64_t rss_bytes = 0;
  std::uint64_t vsz_bytes = 0;
  std::int64_t start_time_ns = 0;  // process start, nanoseconds since the epoch
};

// Zeroes when /proc/self cannot be read.
Resources read_self_resources();

}  // namespace pg::user::metrics
