/* 32-bit syscalls: int $0x80 or sysenter from any process, and every call
 * of a 32-bit program.
 *
 *   tp_btf/sys_exit (runs on every syscall of the node):
 *     TS_COMPAT clear (a 64-bit call)? return          the common case
 *     ia32 number of a wanted call? tail call its program:
 *       open, openat, openat2, creat → the open record; connect,
 *       socketcall(SYS_CONNECT) → the connect record; each flagged
 *       PG_RF_COMPAT (evt.is_compat), arguments from bx, cx, dx, si
 *       (the ia32 convention)
 *
 * One program per call, reached by tail call, rather than one program
 * that picks its arguments: each then has the constant record kind the
 * 64-bit programs have, which the verifier needs to stay in its budget.
 *
 * Why this hook: x86-64 never runs the per-syscall tracepoints for a compat
 * call (arch_trace_is_compat_syscall() makes ftrace and perf skip it: its
 * number is the ia32 table's), so only the raw sys_enter/sys_exit
 * tracepoints see them. One exit program sees the arguments (saved user
 * registers) and the result together; the first thing it does is a direct
 * BTF load of the task's thread_info.status, so a 64-bit call costs only
 * the program's invocation (measured in docs/performance.md). Userspace
 * attaches it only with `ia32_syscalls` on, the default where the kernel
 * has IA32 emulation enabled.
 */
#include "lib/common.bpf.h"
#include "lib/connect.bpf.h"
#include "lib/open.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PG_TS_COMPAT 0x0002

/* ia32 syscall numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
#define PG_NR32_OPEN 5
#define PG_NR32_CREAT 8
#define PG_NR32_SOCKETCALL 102
#define PG_NR32_OPENAT 295
#define PG_NR32_CONNECT 362
#define PG_NR32_OPENAT2 437
#define PG_SOCKETCALL_CONNECT 3

/* Which of them loaded rules (or `trace`) ask for: bit N is filter kind N
 * (PG_FK_OPEN ... PG_FK_CONNECT). Set by userspace before load. */
const volatile __u32 pg_compat_want = 0;

#define PG_WANT(fk) (pg_compat_want & (1u << (fk)))

/* A 32-bit pointer argument. */
#define PG_PTR32(v) ((const void *)(unsigned long)(__u32)(v))

/* The per-call programs, by enum pg_compat_call; userspace fills it. */
enum pg_compat_call {
	PG_C32_OPEN = 0,
	PG_C32_OPENAT = 1,
	PG_C32_OPENAT2 = 2,
	PG_C32_CREAT = 3,
	PG_C32_CONNECT = 4,
	PG_C32_SOCKETCALL = 5,
	PG_C32__COUNT,
};

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, PG_C32__COUNT);
	__type(key, __u32);
	__type(value, __u32);
} pg_c32_calls SEC(".maps");

SEC("tp_btf/sys_exit")
int BPF_PROG(pg_compat_sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	if (!(task->thread_info.status & PG_TS_COMPAT))
		return 0;
	switch (regs->orig_ax) {
	case PG_NR32_OPEN:
		if (PG_WANT(PG_FK_OPEN))
			bpf_tail_call(ctx, &pg_c32_calls, PG_C32_OPEN);
		break;
	case PG_NR32_OPENAT:
		if (PG_WANT(PG_FK_OPENAT))
			bpf_tail_call(ctx, &pg_c32_calls, PG_C32_OPENAT);
		break;
	case PG_NR32_OPENAT2:
		if (PG_WANT(PG_FK_OPENAT2))
			bpf_tail_call(ctx, &pg_c32_calls, PG_C32_OPENAT2);
		break;
	case PG_NR32_CREAT:
		if (PG_WANT(PG_FK_CREAT))
			bpf_tail_call(ctx, &pg_c32_calls, PG_C32_CREAT);
		break;
	case PG_NR32_CONNECT:
		if (PG_WANT(PG_FK_CONNECT))
			bpf_tail_call(ctx, &pg_c32_calls, PG_C32_CONNECT);
		break;
	case PG_NR32_SOCKETCALL:
		if (PG_WANT(PG_FK_CONNECT) && (__u32)regs->bx == PG_SOCKETCALL_CONNECT)
			bpf_tail_call(ctx, &pg_c32_calls, PG_C32_SOCKETCALL);
		break;
	}
	return 0;
}

/* The per-call programs: loaded, never attached; the arguments are the
 * 32-bit registers bx, cx, dx, si. */
SEC("tp_btf/sys_exit")
int BPF_PROG(pg_c32_open, struct pt_regs *regs, long ret)
{
	return pg_emit_open(ret, PG_OPEN_OPEN, PG_AT_FDCWD, PG_PTR32(regs->bx), (__u32)regs->cx,
			    (__u32)regs->dx, PG_RF_COMPAT);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(pg_c32_openat, struct pt_regs *regs, long ret)
{
	return pg_emit_open(ret, PG_OPEN_OPENAT, (__s32)regs->bx, PG_PTR32(regs->cx),
			    (__u32)regs->dx, (__u32)regs->si, PG_RF_COMPAT);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(pg_c32_openat2, struct pt_regs *regs, long ret)
{
	const struct pg_open_how *how = pg_read_open_how(PG_PTR32(regs->dx));
	if (!how)
		return 0;
	return pg_emit_open(ret, PG_OPEN_OPENAT2, (__s32)regs->bx, PG_PTR32(regs->cx), how->flags,
			    (__u32)how->mode, PG_RF_COMPAT);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(pg_c32_creat, struct pt_regs *regs, long ret)
{
	/* creat(path, mode) is open(path, O_CREAT|O_WRONLY|O_TRUNC, mode). */
	return pg_emit_open(ret, PG_OPEN_CREAT, PG_AT_FDCWD, PG_PTR32(regs->bx), 01 | 0100 | 01000,
			    (__u32)regs->cx, PG_RF_COMPAT);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(pg_c32_connect, struct pt_regs *regs, long ret)
{
	return pg_emit_connect(ret, (__s32)regs->bx, NULL, PG_PTR32(regs->cx), (__s32)regs->dx,
			       PG_RF_COMPAT);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(pg_c32_sockcall, struct pt_regs *regs, long ret)
{
	/* socketcall(SYS_CONNECT, {fd, addr, addrlen}), each 32 bits */
	__u32 a[3] = {};
	if (bpf_probe_read_user(a, sizeof(a), PG_PTR32(regs->cx)))
		return 0;
	return pg_emit_connect(ret, (__s32)a[0], NULL, PG_PTR32(a[1]), (__s32)a[2], PG_RF_COMPAT);
}
