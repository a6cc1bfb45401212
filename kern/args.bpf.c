/* Numeric-argument syscalls about processes and files: ptrace, setns,
 * unshare, bpf, fchmod, the dup family, prctl, userfaultfd, the kill
 * family, process_vm_readv/writev, fchdir, init_module, finit_module,
 * pidfd_getfd (the descriptor it took, resolved) —
 * the "proc" rows of the catalogue (api/syscalls.h); sockets are in
 * net.bpf.c, credentials in creds.bpf.c. lib/args.bpf.h has the shared
 * emitter and its pseudocode.
 *
 * A kernel built without a syscall (init_module and finit_module without
 * CONFIG_MODULES) has no tracepoint for it, yet callers still reach it and
 * get ENOSYS. pg_raw_sys_exit catches those on the raw sys_exit tracepoint,
 * which every syscall of the node passes: userspace attaches it only when
 * the operator accepts that cost (raw_syscall_fallback).
 */
#include "lib/args.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PG_ARGS_FAMILY_proc PG_ARGS_PROG
#define PG_ARGS_FAMILY_net PG_ARGS_SKIP
#define PG_ARGS_FAMILY_creds PG_ARGS_SKIP
PG_ARGS_SYSCALLS(PG_ARGS_ROW)

/* x86_64 syscall numbers of the syscalls a kernel may be built without. */
#define PG_NR_INIT_MODULE 175
#define PG_NR_FINIT_MODULE 313

SEC("tp_btf/sys_exit")
int BPF_PROG(pg_raw_sys_exit, struct pt_regs *regs, long ret)
{
	switch (regs->orig_ax) {
	case PG_NR_INIT_MODULE:
		return pg_emit_args(ret, PG_AK_INIT_MODULE, PG_FDS_NONE);
	case PG_NR_FINIT_MODULE:
		return pg_emit_args(ret, PG_AK_FINIT_MODULE, PG_FDS_ARG0);
	default:
		return 0;
	}
}
