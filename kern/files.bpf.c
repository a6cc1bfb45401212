/* File opens: open, openat, openat2, creat.
 *
 *   sys_exit_<open family>: args from the saved user registers, ret from ctx
 *     kernel filter (lib/filter.bpf.h): no slot left? stop here
 *     record task + path argument + flags/mode + ret + the surviving slots
 *     succeeded? walk the opened file's own path (struct file at fd `ret`)
 *     relative path and no such name? also walk the base directory
 *
 * The name of a successful open comes from the kernel's object, not from the
 * caller's buffer read after the fact: another thread may have rewritten it
 * while the call ran (Phantom's TOCTOU), and symlinks, "..", /proc/self/root
 * or a deep cwd make the argument say little about the file. A failed open
 * has no object: its name is the argument, read here at sys_exit.
 *
 * Per-syscall tracepoints, not raw sys_enter/sys_exit: a program here costs
 * nothing to syscalls no rule asks about (DESIGN.md invariant 4). One exit
 * program per syscall sees arguments and result together. The base
 * directory is resolved in the kernel because only the kernel knows, at
 * event time, what a dirfd or the cwd refers to.
 */
#include "lib/common.bpf.h"
#include "lib/open.bpf.h"
#include "lib/syscall.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint/syscalls/sys_exit_open")
int pg_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = pg_user_regs();
	return pg_emit_open(ctx->ret, PG_OPEN_OPEN, PG_AT_FDCWD,
			    (const char *)pg_syscall_arg(regs, 0), pg_syscall_arg(regs, 1),
			    pg_syscall_arg(regs, 2), 0);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int pg_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = pg_user_regs();
	return pg_emit_open(ctx->ret, PG_OPEN_OPENAT, (int)pg_syscall_arg(regs, 0),
			    (const char *)pg_syscall_arg(regs, 1), pg_syscall_arg(regs, 2),
			    pg_syscall_arg(regs, 3), 0);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int pg_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = pg_user_regs();
	const struct pg_open_how *how = pg_read_open_how((const void *)pg_syscall_arg(regs, 2));
	if (!how)
		return 0;
	return pg_emit_open(ctx->ret, PG_OPEN_OPENAT2, (int)pg_syscall_arg(regs, 0),
			    (const char *)pg_syscall_arg(regs, 1), how->flags, (__u32)how->mode, 0);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int pg_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = pg_user_regs();
	/* creat(path, mode) is open(path, O_CREAT|O_WRONLY|O_TRUNC, mode). */
	return pg_emit_open(ctx->ret, PG_OPEN_CREAT, PG_AT_FDCWD,
			    (const char *)pg_syscall_arg(regs, 0), 01 | 0100 | 01000,
			    pg_syscall_arg(regs, 1), 0);
}
