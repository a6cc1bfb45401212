/* 32-bit syscalls from a 64-bit program: int $0x80 enters the kernel's ia32
 * table whatever the caller's mode, and x86-64 runs no per-syscall
 * tracepoint for it.
 *
 *   int80 open PATH            open(PATH, O_RDONLY) through int $0x80
 *   int80 connect PORT         socket() normally, then connect() to
 *                              127.0.0.1:PORT through socketcall(SYS_CONNECT)
 *                              and through the ia32 connect syscall
 * Prints the results. Arguments live below 4 GiB (MAP_32BIT): the ia32
 * entry only sees the low 32 bits of each register.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static long int80(long nr, long a, long b, long c) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  return ret;
}

#define NR32_OPEN 5
#define NR32_CLOSE 6
#define NR32_SOCKETCALL 102
#define NR32_CONNECT 362

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: int80 open PATH | int80 connect PORT\n");
    return 2;
  }
  char* low =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (low == MAP_FAILED || (uintptr_t)low > 0xffffffffu) {
    perror("mmap");
    return 1;
  }
  if (strcmp(argv[1], "open") == 0) {
    snprintf(low, 4096, "%s", argv[2]);
    long fd = int80(NR32_OPEN, (long)(uintptr_t)low, 0 /* O_RDONLY */, 0);
    printf("open=%ld\n", fd);
    if (fd >= 0) int80(NR32_CLOSE, fd, 0, 0);
    return fd >= 0 ? 0 : 1;
  }
  struct sockaddr_in* sa = (struct sockaddr_in*)low;
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)atoi(argv[2]));
  sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int s1 = socket(AF_INET, SOCK_STREAM, 0);
  uint32_t* args = (uint32_t*)(low + 64);
  args[0] = (uint32_t)s1;
  args[1] = (uint32_t)(uintptr_t)sa;
  args[2] = sizeof(*sa);
  long r1 = int80(NR32_SOCKETCALL, 3 /* SYS_CONNECT */, (long)(uintptr_t)args, 0);
  int s2 = socket(AF_INET, SOCK_STREAM, 0);
  long r2 = int80(NR32_CONNECT, s2, (long)(uintptr_t)sa, sizeof(*sa));
  printf("socketcall=%ld connect=%ld\n", r1, r2);
  return r1 == 0 && r2 == 0 ? 0 : 1;
}
