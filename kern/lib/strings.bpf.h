/* Appending variable-length strings to a record being assembled in scratch.
 *
 * Each helper takes the record base and the current end offset, fills the
 * pg_str descriptor and returns the new end offset. Failures never abort the
 * record: they are flagged in the descriptor so userspace (and the kernel
 * filter) treat the value as unknown rather than as absent.
 */
#ifndef PG_KERN_LIB_STRINGS_BPF_H
#define PG_KERN_LIB_STRINGS_BPF_H

#include "lib/common.bpf.h"
#include "lib/identity.bpf.h"

static __always_inline __u32 pg_put_user_str(__u8 *rec, __u32 off, struct pg_str *s,
					     const void *uptr)
{
	s->off = 0;
	s->len = 0;
	s->flags = 0;
	if (off > PG_OFF_MASK) {
		s->flags = PG_SF_TRUNCATED;
		return off;
	}
	long n = bpf_probe_read_user_str(rec + PG_OFF(off), PG_STR_MAX, uptr);
	if (n <= 0) {
		s->flags = PG_SF_FAILED;
		return off;
	}
	s->off = off;
	s->len = n - 1;
	/* A string that fills the buffer may have been cut. */
	if (n == PG_STR_MAX)
		s->flags = PG_SF_TRUNCATED;
	return off + n;
}

/* Copy `len` raw bytes of user memory (argv blocks), NUL-terminated. */
static __always_inline __u32 pg_put_user_bytes(__u8 *rec, __u32 off, struct pg_str *s,
					       const void *uptr, __u64 len)
{
	s->off = 0;
	s->len = 0;
	s->flags = 0;
	if (off > PG_OFF_MASK) {
		s->flags = PG_SF_TRUNCATED;
		return off;
	}
	if (len >= PG_STR_MAX) {
		len = PG_STR_MAX - 1;
		s->flags = PG_SF_TRUNCATED;
	}
	__u32 n = len & (PG_STR_MAX - 1);
	if (n && bpf_probe_read_user(rec + PG_OFF(off), n, uptr)) {
		s->flags = PG_SF_FAILED;
		return off;
	}
	__u32 end = PG_OFF(off) + n;
	if (end < PG_SCRATCH_SIZE)
		rec[end] = 0;
	s->off = off;
	s->len = n;
	return off + n + 1;
}

/* The struct mount that embeds a vfsmount (the kernel's real_mount()), with
 * a CO-RE-relocated offset. */
static __always_inline struct mount *pg_real_mount(struct vfsmount *vfsmnt)
{
	return (struct mount *)((char *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

/* State of one dentry walk, carried across bpf_loop() iterations. */
struct pg_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	__u32 off;
	__u32 start;
	bool complete;
};

/* The walk state lives in a map, not on the stack: values loaded from a map
 * are unknown to the verifier, so successive bpf_loop() iterations look
 * alike and verification converges instead of tracking every offset. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pg_walk);
} pg_walkst SEC(".maps") __weak;

/* One step up the tree, for a bpf_loop() callback; `ids`: stop at a
 * watched identity. Two callbacks, so walks that do not look identities up
 * are verified exactly as before. */
static __always_inline long pg_walk_step_impl(bool ids)
{
	__u32 zero = 0;
	struct pg_walk *w = bpf_map_lookup_elem(&pg_walkst, &zero);
	struct pg_scratch *s = bpf_map_lookup_elem(&pg_scratch, &zero);
	if (!s || !w)
		return 1;
	/* Locals, not w->...: CO-RE reads must start from a kernel type. */
	struct dentry *dentry = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt;
	if (dentry == w->root_dentry && vfsmnt == w->root_mnt) {
		w->complete = true;
		return 1;
	}
	if (ids) {
		/* A file or directory the rules name, reached by whatever
		 * name: the rest of the path is the watched one. */
		const struct pg_fino_name *id = pg_fino_of(dentry);
		if (id) {
			__u32 n = id->len;
			if (n >= PG_FINO_PATH || w->off > PG_OFF_MASK)
				return 1;
			if (n && bpf_probe_read_kernel(s->data + PG_OFF(w->off), n & (PG_FINO_PATH - 1),
						       id->comps))
				return 1;
			w->off += n;
			w->complete = true;
			return 1;
		}
	}
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == mnt_root || dentry == parent) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
		if (dentry != mnt_root) {
			/* A disconnected dentry (a memfd, a pipe): its name is
			 * not reachable from /, so the walk stays incomplete,
			 * but the name itself is kept as the only component. */
			const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
			if (w->off == w->start && w->off <= PG_OFF_MASK) {
				long n = bpf_probe_read_kernel_str(s->data + PG_OFF(w->off), 256, name);
				if (n > 0)
					w->off += n;
			}
			return 1;
		}
		if (up == mnt) {
			w->complete = true; /* the global root */
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		w->vfsmnt = &up->mnt;
		return 0;
	}
	if (w->off - w->start > PG_STR_MAX - 256 || w->off > PG_OFF_MASK)
		return 1;
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	long n = bpf_probe_read_kernel_str(s->data + PG_OFF(w->off), 256, name);
	if (n <= 0)
		return 1;
	w->off += n;
	w->dentry = parent;
	return 0;
}

static long pg_walk_step(__u64 i, void *ctx)
{
	return pg_walk_step_impl(false);
}

static __attribute__((unused)) long pg_walk_step_ids(__u64 i, void *ctx)
{
	return pg_walk_step_impl(true);
}

/* Walk a path's dentries up to the task's root, crossing mount points, and
 * append the component names leaf first (see PG_SF_COMPONENTS). bpf_d_path()
 * would be simpler but is not allowed on tracepoints; this walk works in
 * every hook. Deep or unusual paths (disconnected dentries, a depth or byte
 * budget exceeded) are flagged truncated, never silently shortened.
 * `rec` must be the per-CPU scratch buffer. */
static __always_inline __u32 pg_put_walk(__u8 *rec, __u32 off, struct pg_str *s,
					 struct dentry *dentry, struct vfsmount *vfsmnt,
					 struct task_struct *task, bool ids)
{
	__u32 zero = 0;
	struct pg_walk *w = bpf_map_lookup_elem(&pg_walkst, &zero);
	s->off = off;
	s->len = 0;
	s->flags = PG_SF_COMPONENTS;
	if (!dentry || !vfsmnt || !w) {
		s->off = 0;
		s->flags |= PG_SF_FAILED;
		return off;
	}
	w->dentry = dentry;
	w->vfsmnt = vfsmnt;
	w->mnt = pg_real_mount(vfsmnt);
	w->root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	w->root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	w->off = off;
	w->start = off;
	w->complete = false;
	if (ids)
		bpf_loop(PG_WALK_DEPTH, pg_walk_step_ids, NULL, 0);
	else
		bpf_loop(PG_WALK_DEPTH, pg_walk_step, NULL, 0);
	if (!w->complete)
		s->flags |= PG_SF_TRUNCATED;
	__u32 start = off;
	off = w->off;
	if (off < start || off - start > PG_STR_MAX) {
		/* cannot happen; keeps the verifier and readers honest */
		s->off = 0;
		s->flags |= PG_SF_FAILED;
		return start;
	}
	s->len = off - start;
	/* An empty walk is the root itself; keep a NUL so off stays valid. */
	if (off == start && off <= PG_OFF_MASK) {
		rec[PG_OFF(off)] = 0;
		off += 1;
	}
	return off;
}

static __always_inline __u32 pg_put_path_walk(__u8 *rec, __u32 off, struct pg_str *s,
					      struct dentry *dentry, struct vfsmount *vfsmnt,
					      struct task_struct *task)
{
	return pg_put_walk(rec, off, s, dentry, vfsmnt, task, false);
}

/* An opened file's name: the walk, stopping at the first file or directory
 * the rules name by identity (pg_fino), which supplies the rest. */
static __always_inline __u32 pg_put_file_name(__u8 *rec, __u32 off, struct pg_str *s,
					      struct file *f, struct task_struct *task)
{
	return pg_put_walk(rec, off, s, BPF_CORE_READ(f, f_path.dentry),
			   BPF_CORE_READ(f, f_path.mnt), task, true);
}

#endif
