/* The TOCTOU race on an open's path argument (Phantom, DEF CON 29): one
 * thread opens the path in a shared buffer over and over while another keeps
 * rewriting that buffer between the target and a decoy, so the kernel opens
 * one file while the buffer, by the time the syscall returns, may name the
 * other. Each open's real file is checked by device and inode.
 *
 *   racer TARGET DECOY COUNT   prints "target=N decoy=M"
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[256];
static char names[2][256];
static atomic_int done;

static void* flip(void* arg) {
  (void)arg;
  volatile char* p = path;
  for (unsigned i = 0; !atomic_load_explicit(&done, memory_order_relaxed); i++) {
    const char* src = names[i & 1];
    size_t n = strlen(src) + 1;
    for (size_t k = 0; k < n; k++) p[k] = src[k];
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: racer TARGET DECOY COUNT\n");
    return 2;
  }
  struct stat target;
  if (stat(argv[1], &target) != 0) {
    perror(argv[1]);
    return 1;
  }
  snprintf(names[0], sizeof(names[0]), "%s", argv[1]);
  snprintf(names[1], sizeof(names[1]), "%s", argv[2]);
  memcpy(path, names[0], sizeof(path));
  const int count = atoi(argv[3]);
  pthread_t t;
  if (pthread_create(&t, NULL, flip, NULL) != 0) return 1;
  int hit = 0, decoy = 0;
  /* On a busy machine the flipping thread may not run at first: go on,
   * up to ten times longer, until the race went both ways. */
  for (int i = 0; i < count || (i < 10 * count && (hit == 0 || decoy == 0)); i++) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) continue;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_dev == target.st_dev && st.st_ino == target.st_ino)
      hit++;
    else
      decoy++;
    close(fd);
  }
  atomic_store(&done, 1);
  pthread_join(t, NULL);
  printf("target=%d decoy=%d\n", hit, decoy);
  return 0;
}
