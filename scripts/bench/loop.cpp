// Tight syscall loops for `make bench`: prints nanoseconds per iteration.
//   bench-loop getppid N      N getppid() calls
//   bench-loop openclose N F  N open(F)+close pairs
#include <fcntl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

static double now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench-loop getppid N | openclose N FILE\n");
    return 2;
  }
  const long n = std::atol(argv[2]);
  double t0 = now_ns();
  if (std::strcmp(argv[1], "getppid") == 0) {
    for (long i = 0; i < n; ++i) syscall(SYS_getppid);
  } else if (std::strcmp(argv[1], "openclose") == 0 && argc >= 4) {
    for (long i = 0; i < n; ++i) {
      int fd = open(argv[3], O_RDONLY);
      if (fd >= 0) close(fd);
    }
  } else {
    std::fprintf(stderr, "unknown workload %s\n", argv[1]);
    return 2;
  }
  std::printf("%.1f\n", (now_ns() - t0) / double(n));
  return 0;
}
