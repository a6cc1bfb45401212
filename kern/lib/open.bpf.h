/* The open family's record: judged by the kernel filter, named by the
 * opened file itself when the call succeeded (files.bpf.c has the
 * pseudocode). Shared by the per-syscall programs and the 32-bit one
 * (compat.bpf.c). */
#ifndef PG_KERN_LIB_OPEN_BPF_H
#define PG_KERN_LIB_OPEN_BPF_H

#include "lib/common.bpf.h"
#include "lib/fd.bpf.h"
#include "lib/filter.bpf.h"
#include "lib/strings.bpf.h"

struct pg_open_how {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
};

/* openat2's struct open_how, read into the scratch buffer just past the
 * record (where the path goes later) rather than onto the program's stack,
 * which the filter's and the name walk's frames need. Zeros if unreadable. */
static __always_inline const struct pg_open_how *pg_read_open_how(const void *uhow)
{
	__u8 *buf = pg_scratch_buf();
	if (!buf)
		return NULL;
	struct pg_open_how *how = (struct pg_open_how *)(buf + sizeof(struct pg_open_rec));
	if (bpf_probe_read_user(how, sizeof(*how), uhow))
		how->flags = how->mode = how->resolve = 0;
	return how;
}

/* The name of the open record being assembled in scratch: the struct file
 * `kfile` if given, else the file at descriptor `fd` if it is the one
 * opened with `flags`, as a dentry walk appended at `off` into the record's
 * `name`. Returns the new end. Inlined into pg_open_finish: a frame of its
 * own would make the chain program, pg_open_finish, this, walk callback
 * longer than the stack allows. */
static __always_inline __u32 pg_open_rec_name(__u32 off, long fd, __u64 flags, __u64 kfile)
{
	__u8 *buf = pg_scratch_buf();
	if (!buf)
		return off;
	struct pg_open_rec *r = (struct pg_open_rec *)buf;
	struct task_struct *task = bpf_get_current_task_btf();
	struct file *f = kfile ? (struct file *)kfile : pg_open_file(task, fd, flags);
	if (!f)
		return off;
	return pg_put_file_name(buf, off, &r->name, f, task);
}

/* The rest of a record the filter kept: the task, the path argument, and
 * the opened file's own name (or, when that is unknown, the argument's base
 * directory). The call's numbers are already in the record. A subprogram of
 * its own so that the program's frame stays small: the frames of a chain of
 * calls (program, filter, name function, walk) share one 512-byte stack. */
static __noinline int pg_open_finish(const char *upath, __u16 rflags, __u64 kfile)
{
	__u8 *buf = pg_scratch_buf();
	if (!buf)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pg_open_rec *r = (struct pg_open_rec *)buf;
	const long ret = r->ret;
	pg_fill_task(&r->task, task);
	pg_fill_hdr(&r->hdr, PG_REC_OPEN);
	r->hdr.flags = rflags;

	__u32 off = pg_put_user_str(buf, sizeof(*r), &r->path, upath);
	/* The file itself names a successful open; the argument's base
	 * directory is walked only when that name is unknown. */
	r->name.off = r->name.len = r->name.pad = 0;
	r->name.flags = PG_SF_FAILED;
	if (ret >= 0)
		off = pg_open_rec_name(off, ret, r->flags, kfile);
	if (!(r->name.flags & (PG_SF_TRUNCATED | PG_SF_FAILED))) {
		r->base.off = r->base.len = r->base.flags = r->base.pad = 0;
	} else {
		off = pg_put_base_dir(buf, off, &r->base, &r->path, task, r->dirfd);
		if ((r->path.flags | r->base.flags) & (PG_SF_TRUNCATED | PG_SF_FAILED))
			r->hdr.flags |= PG_RF_TRUNCATED;
	}
	pg_submit(buf, off);
	return 0;
}

/* One open that returned `ret`: judge it, and send the record if a slot
 * survives. `upath`: the path argument in user memory, NULL when there is
 * none to read (an io_uring open: the file alone names it). `rflags`:
 * pg_rec_flags saying how the call came (PG_RF_COMPAT, PG_RF_IO_URING).
 * `kfile`: the opened struct file when the caller has
 * it (0: the one at descriptor `ret`). */
static __always_inline int pg_emit_open_file(long ret, __u16 kind, long dirfd, const char *upath,
					     __u64 flags, __u32 mode, __u16 rflags, __u64 kfile)
{
	if (pg_is_self())
		return 0;
	__u8 *buf = pg_scratch_buf();
	if (!buf)
		return 0;
	struct pg_open_rec *r = (struct pg_open_rec *)buf;
	r->ret = ret;
	r->flags = flags;
	r->mode = mode;
	r->dirfd = (__s32)dirfd;
	r->kind = kind;
	r->pad[0] = r->pad[1] = r->pad[2] = 0;
	struct pg_filter_event fe = pg_fe_open(kind, ret, flags, (__s32)dirfd);
	pg_filter_task(&fe, bpf_get_current_task_btf());
	if (!pg_filter_path(&fe, upath, false, kfile, &r->verdict))
		return 0;
	return pg_open_finish(upath, rflags, kfile);
}

/* A syscall's open: the file is at the descriptor it returned. */
static __always_inline int pg_emit_open(long ret, __u16 kind, long dirfd, const char *upath,
					__u64 flags, __u32 mode, __u16 rflags)
{
	return pg_emit_open_file(ret, kind, dirfd, upath, flags, mode, rflags, 0);
}

#endif
