/* Path operations: syscalls that make, remove, rename, link, chmod, mount
 * or enter names in the file tree, memfd_create, and failed execs (the
 * catalogue, api/syscalls.h, says which argument is which).
 *
 *   sys_exit_<syscall>: args from the saved user registers, ret from ctx
 *     kernel filter, judging the first path argument: no slot left? stop
 *     (a successful chdir still crosses: it moves the process's cwd)
 *     record task + both path arguments + their base directories (relative
 *     paths) + dirfds, flags, mode, ret + the surviving slots
 *
 * One exit program per syscall, attached only when a loaded rule names the
 * syscall (DESIGN.md invariant 4); chdir always, for the process table.
 */
#include "lib/common.bpf.h"
#include "lib/fd.bpf.h"
#include "lib/filter.bpf.h"
#include "lib/strings.bpf.h"
#include "lib/syscall.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct pg_pathop_args {
	const char *path1;
	const char *path2; /* NULL: the syscall has one path */
	const char *extra; /* NULL: no third string */
	long dirfd1;
	long dirfd2;
	__u32 flags;
	__u32 mode;
};

static __always_inline int pg_emit_pathop(long ret, __u16 kind, const struct pg_pathop_args *a)
{
	if (pg_is_self())
		return 0;
	__u8 *buf = pg_scratch_buf();
	if (!buf)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pg_pathop_rec *r = (struct pg_pathop_rec *)buf;
	/* A symlink's target (and the like) is a string, judged as passed;
	 * other paths name files and are judged only when absolute and
	 * normalised. */
	const bool as_is = pg_pathop_arg1_as_is(kind);
	struct pg_filter_event fe = pg_fe_pathop(kind, ret);
	pg_filter_task(&fe, task);
	if (!pg_filter(&fe, a->path1, &r->verdict)) {
		if (!(pg_pathop_flags(kind) & PG_SC_STATE) || ret != 0)
			return 0;
		/* for the process table only: no rule is a candidate */
		__builtin_memset(&r->verdict.slots, 0, sizeof(r->verdict.slots));
	}
	pg_fill_task(&r->task, task);
	pg_fill_hdr(&r->hdr, PG_REC_PATHOP);
	r->ret = ret;
	r->dirfd1 = (__s32)a->dirfd1;
	r->dirfd2 = (__s32)a->dirfd2;
	r->flags = a->flags;
	r->mode = a->mode;
	r->kind = kind;
	r->pad[0] = r->pad[1] = r->pad[2] = 0;

	__u32 off = pg_put_user_str(buf, sizeof(*r), &r->path1, a->path1);
	r->base1.off = r->base1.len = r->base1.flags = r->base1.pad = 0;
	if (!as_is)
		off = pg_put_base_dir(buf, off, &r->base1, &r->path1, task, a->dirfd1);
	r->path2.off = r->path2.len = r->path2.flags = r->path2.pad = 0;
	r->base2.off = r->base2.len = r->base2.flags = r->base2.pad = 0;
	if (a->path2) {
		off = pg_put_user_str(buf, off, &r->path2, a->path2);
		off = pg_put_base_dir(buf, off, &r->base2, &r->path2, task, a->dirfd2);
	}
	r->extra.off = r->extra.len = r->extra.flags = r->extra.pad = 0;
	if (a->extra)
		off = pg_put_user_str(buf, off, &r->extra, a->extra);
	if ((r->path1.flags | r->base1.flags | r->path2.flags | r->base2.flags | r->extra.flags) &
	    (PG_SF_TRUNCATED | PG_SF_FAILED))
		r->hdr.flags |= PG_RF_TRUNCATED;
	pg_submit(buf, off);
	return 0;
}

#define PG_ARG(i) pg_syscall_arg(regs, i)
#define PG_PATH(i) ((const char *)pg_syscall_arg(regs, i))
#define PG_CWD PG_AT_FDCWD

/* One exit program per catalogue row (api/syscalls.h), from where its
 * arguments are. A PG_SC_FAILED_ONLY syscall (execve, execveat) is an event
 * here only when it fails: a successful exec is reported by the exec
 * tracepoint (lifecycle.bpf.c), after which the arguments are gone anyway. */
#define PG_PATHOP_ROW(name, NAME, tp, FL, DIRFD1, PATH1, DIRFD2, PATH2, FLAGS, MODE, EXTRA, args)  \
	SEC("tracepoint/syscalls/sys_exit_" #tp)                                                   \
	int pg_exit_##tp(struct trace_event_raw_sys_exit *ctx)                                     \
	{                                                                                          \
		if (((FL) & PG_SC_FAILED_ONLY) && ctx->ret >= 0)                                   \
			return 0;                                                                  \
		struct pt_regs *regs = pg_user_regs();                                             \
		struct pg_pathop_args a = {.dirfd1 = (DIRFD1),                                     \
					   .path1 = (PATH1),                                       \
					   .dirfd2 = (DIRFD2),                                     \
					   .path2 = (PATH2),                                       \
					   .flags = (FLAGS),                                       \
					   .mode = (MODE),                                         \
					   .extra = (EXTRA)};                                      \
		return pg_emit_pathop(ctx->ret, PG_PO_##NAME, &a);                                 \
	}

PG_PATHOP_SYSCALLS(PG_PATHOP_ROW)
