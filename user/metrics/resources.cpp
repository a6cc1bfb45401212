#include "user/metrics/resources.h"

#include <time.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace pg::user::metrics {

Resources read_self_resources() {
  Resources r;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return r;
  // The command name (field 2) may hold spaces: fields are counted after
  // its closing parenthesis.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return r;
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> f;  // f[0] is field 3 (state)
  for (std::string w; rest >> w;) f.push_back(w);
  if (f.size() < 22) return r;
  const double tck = double(sysconf(_SC_CLK_TCK));
  const double cpu_s = (std::stod(f[11]) + std::stod(f[12])) / tck;  // utime + stime
  const double start_s = std::stod(f[19]) / tck;                     // since boot
  r.vsz_bytes = std::stoull(f[20]);
  r.rss_bytes = std::stoull(f[21]) * uint64_t(sysconf(_SC_PAGESIZE));
  timespec boot{}, real{};
  clock_gettime(CLOCK_BOOTTIME, &boot);
  clock_gettime(CLOCK_REALTIME, &real);
  const double up_s = double(boot.tv_sec) + double(boot.tv_nsec) / 1e9;
  const double alive = up_s - start_s;
  r.cpu_usage_ratio = alive > 0 ? cpu_s / alive : 0;
  const double real_s = double(real.tv_sec) + double(real.tv_nsec) / 1e9;
  r.start_time_ns = int64_t((real_s - alive) * 1e9);
  return r;
}

}  // namespace pg::user::metrics
