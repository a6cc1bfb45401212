// `make bench`'s loader for its own BPF objects (the empty programs):
//   bench-attach OBJ   load OBJ, attach every program at its section's hook,
//                      print "ready", hold them until SIGTERM or SIGINT.
#include <bpf/libbpf.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench-attach OBJ\n");
    return 2;
  }
  bpf_object* obj = bpf_object__open_file(argv[1], nullptr);
  if (obj == nullptr || bpf_object__load(obj) != 0) {
    std::fprintf(stderr, "bench-attach: cannot load %s\n", argv[1]);
    return 1;
  }
  std::vector<bpf_link*> links;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, obj) {
    bpf_link* link = bpf_program__attach(prog);
    if (link == nullptr) {
      std::fprintf(stderr, "bench-attach: cannot attach %s\n", bpf_program__name(prog));
      return 1;
    }
    links.push_back(link);
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  std::fprintf(stderr, "ready\n");
  int sig = 0;
  sigwait(&set, &sig);
  for (bpf_link* link : links) bpf_link__destroy(link);
  bpf_object__close(obj);
  return 0;
}
