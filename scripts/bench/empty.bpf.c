// `make bench`'s "empty program" setup: programs that return at once, on
// the hooks Peregrine's open and process-lifecycle programs use. What they
// cost is what attaching any eBPF program there costs, before any judging.
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint/syscalls/sys_exit_openat")
int empty_exit_openat(void* ctx) { return 0; }

SEC("tp_btf/sched_process_exec")
int empty_exec(void* ctx) { return 0; }

SEC("tp_btf/sched_process_fork")
int empty_fork(void* ctx) { return 0; }

SEC("tp_btf/sched_process_exit")
int empty_exit(void* ctx) { return 0; }
