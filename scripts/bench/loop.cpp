// Tight syscall loops for `make bench`: prints nanoseconds per iteration.
//   bench-loop getppid N      N getppid() calls
//   bench-loop openclose N F  N open(F)+close pairs
//   bench-loop uring-openclose N F  N IORING_OP_OPENAT(F) requests, each
//                             waited for, then close()
//   bench-loop spawn N PROG   N fork()+exec(PROG) of a child, each waited for
#include <fcntl.h>
#include <liburing.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
    std::fprintf(stderr, "usage: bench-loop getppid N | openclose N FILE | uring-openclose N FILE | spawn N PROG\n");
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
  } else if (std::strcmp(argv[1], "uring-openclose") == 0 && argc >= 4) {
    io_uring ring{};
    if (io_uring_queue_init(8, &ring, 0) != 0) {
      std::fprintf(stderr, "io_uring_queue_init failed\n");
      return 1;
    }
    t0 = now_ns();
    for (long i = 0; i < n; ++i) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      io_uring_prep_openat(sqe, AT_FDCWD, argv[3], O_RDONLY, 0);
      io_uring_cqe* cqe = nullptr;
      if (io_uring_submit_and_wait(&ring, 1) != 1 || io_uring_wait_cqe(&ring, &cqe) != 0) return 1;
      if (cqe->res >= 0) close(cqe->res);
      io_uring_cqe_seen(&ring, cqe);
    }
  } else if (std::strcmp(argv[1], "spawn") == 0 && argc >= 4) {
    for (long i = 0; i < n; ++i) {
      pid_t child = fork();
      if (child == 0) {
        execl(argv[3], argv[3], static_cast<char*>(nullptr));
        _exit(127);
      }
      int status = 0;
      if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
          WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "spawn of %s failed\n", argv[3]);
        return 1;
      }
    }
  } else {
    std::fprintf(stderr, "unknown workload %s\n", argv[1]);
    return 2;
  }
  std::printf("%.1f\n", (now_ns() - t0) / double(n));
  return 0;
}
