/* The path-operation record (pathops.bpf.c has the pseudocode), shared by
 * the per-syscall programs and the io_uring ones (uring.bpf.c). */
#ifndef PG_KERN_LIB_PATHOP_BPF_H
#define PG_KERN_LIB_PATHOP_BPF_H

#include "lib/common.bpf.h"
#include "lib/fd.bpf.h"
#include "lib/filter.bpf.h"
#include "lib/strings.bpf.h"

struct pg_pathop_args {
	const char *path1;
	const char *path2; /* NULL: the syscall has one path */
	const char *extra; /* NULL: no third string */
	long dirfd1;
	long dirfd2;
	__u32 flags;
	__u32 mode;
	bool kernel; /* the strings are in kernel memory (io_uring), not user memory */
};

/* One path operation that returned `ret`: judge it, and send the record if
 * a slot survives. `rflags`: pg_rec_flags saying how it came
 * (PG_RF_IO_URING). */
static __always_inline int pg_emit_pathop(long ret, __u16 kind, const struct pg_pathop_args *a,
					  __u16 rflags)
{
	if (pg_is_self())
		return 0;
	__u8 *buf = pg_scratch_buf();
	if (!buf)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pg_pathop_rec *r = (struct pg_pathop_rec *)buf;
	/* A symlink's target (and the like) is a string, judged as passed;
	 * other paths name files and are judged as userspace resolves them,
	 * when that is normalised. */
	const bool as_is = pg_pathop_arg1_as_is(kind);
	struct pg_filter_event fe = pg_fe_pathop(kind, ret, (__s32)a->dirfd1);
	pg_filter_task(&fe, task);
	if (!pg_filter_path(&fe, a->path1, a->kernel, 0, &r->verdict)) {
		if (!(pg_pathop_flags(kind) & PG_SC_STATE) || ret != 0)
			return 0;
		/* for the process table only: no rule is a candidate */
		__builtin_memset(&r->verdict.slots, 0, sizeof(r->verdict.slots));
	}
	pg_fill_task(&r->task, task);
	pg_fill_hdr(&r->hdr, PG_REC_PATHOP);
	r->hdr.flags = rflags;
	r->ret = ret;
	r->dirfd1 = (__s32)a->dirfd1;
	r->dirfd2 = (__s32)a->dirfd2;
	r->flags = a->flags;
	r->mode = a->mode;
	r->kind = kind;
	r->pad[0] = r->pad[1] = r->pad[2] = 0;

	__u32 off = pg_put_str(buf, sizeof(*r), &r->path1, a->path1, a->kernel);
	r->base1.off = r->base1.len = r->base1.flags = r->base1.pad = 0;
	if (!as_is)
		off = pg_put_base_dir(buf, off, &r->base1, &r->path1, task, a->dirfd1);
	r->path2.off = r->path2.len = r->path2.flags = r->path2.pad = 0;
	r->base2.off = r->base2.len = r->base2.flags = r->base2.pad = 0;
	if (a->path2) {
		off = pg_put_str(buf, off, &r->path2, a->path2, a->kernel);
		off = pg_put_base_dir(buf, off, &r->base2, &r->path2, task, a->dirfd2);
	}
	r->extra.off = r->extra.len = r->extra.flags = r->extra.pad = 0;
	if (a->extra)
		off = pg_put_str(buf, off, &r->extra, a->extra, a->kernel);
	if ((r->path1.flags | r->base1.flags | r->path2.flags | r->base2.flags | r->extra.flags) &
	    (PG_SF_TRUNCATED | PG_SF_FAILED))
		r->hdr.flags |= PG_RF_TRUNCATED;
	pg_submit(buf, off);
	return 0;
}

#endif
