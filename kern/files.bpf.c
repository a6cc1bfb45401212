/* File opens: open, openat, openat2, creat.
 *
 *   sys_exit_<open family>: args from the saved user registers, ret from ctx
 *     kernel filter (lib/filter.bpf.h): no slot left? stop here
 *     record task + path argument + flags/mode + ret + the surviving slots
 *     relative path? also walk the base directory (cwd, or dirfd's file)
 *
 * Per-syscall tracepoints, not raw sys_enter/sys_exit: a program here costs
 * nothing to syscalls no rule asks about (DESIGN.md invariant 4). One exit
 * program per syscall sees arguments and result together. The base
 * directory is resolved in the kernel because only the kernel knows, at
 * event time, what a dirfd or the cwd refers to.
 */
#include "lib/common.bpf.h"
#include "lib/fd.bpf.h"
#include "lib/filter.bpf.h"
#include "lib/strings.bpf.h"
#include "lib/syscall.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct pg_open_how {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
};

static __always_inline int pg_emit_open(long ret, __u16 kind, long dirfd, const char *upath,
					__u64 flags, __u32 mode)
{
	if (pg_is_self())
		return 0;
	__u8 *buf = pg_scratch_buf();
	if (!buf)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pg_open_rec *r = (struct pg_open_rec *)buf;
	struct pg_filter_event fe = pg_fe_open(kind, ret, flags, (__s32)dirfd);
	pg_filter_task(&fe, task);
	if (!pg_filter(&fe, upath, &r->verdict))
		return 0;
	pg_fill_task(&r->task, task);
	pg_fill_hdr(&r->hdr, PG_REC_OPEN);
	r->ret = ret;
	r->flags = flags;
	r->mode = mode;
	r->dirfd = (__s32)dirfd;
	r->kind = kind;
	r->pad[0] = r->pad[1] = r->pad[2] = 0;

	__u32 off = pg_put_user_str(buf, sizeof(*r), &r->path, upath);
	off = pg_put_base_dir(buf, off, &r->base, &r->path, task, dirfd);
	if ((r->path.flags | r->base.flags) & (PG_SF_TRUNCATED | PG_SF_FAILED))
		r->hdr.flags |= PG_RF_TRUNCATED;
	pg_submit(buf, off);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int pg_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = pg_user_regs();
	return pg_emit_open(ctx->ret, PG_OPEN_OPEN, PG_AT_FDCWD,
			    (const char *)pg_syscall_arg(regs, 0), pg_syscall_arg(regs, 1),
			    pg_syscall_arg(regs, 2));
}

SEC("tracepoint/syscalls/sys_exit_openat")
int pg_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = pg_user_regs();
	return pg_emit_open(ctx->ret, PG_OPEN_OPENAT, (int)pg_syscall_arg(regs, 0),
			    (const char *)pg_syscall_arg(regs, 1), pg_syscall_arg(regs, 2),
			    pg_syscall_arg(regs, 3));
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int pg_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = pg_user_regs();
	struct pg_open_how how = {};
	bpf_probe_read_user(&how, sizeof(how), (const void *)pg_syscall_arg(regs, 2));
	return pg_emit_open(ctx->ret, PG_OPEN_OPENAT2, (int)pg_syscall_arg(regs, 0),
			    (const char *)pg_syscall_arg(regs, 1), how.flags, (__u32)how.mode);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int pg_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = pg_user_regs();
	/* creat(path, mode) is open(path, O_CREAT|O_WRONLY|O_TRUNC, mode). */
	return pg_emit_open(ctx->ret, PG_OPEN_CREAT, PG_AT_FDCWD,
			    (const char *)pg_syscall_arg(regs, 0), 01 | 0100 | 01000,
			    pg_syscall_arg(regs, 1));
}
