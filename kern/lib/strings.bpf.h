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

/* A string at `ptr` appended at `off`: user memory, or kernel memory when
 * `kernel` (a name the kernel copied, kept by an io_uring program). */
static __always_inline __u32 pg_put_str(__u8 *rec, __u32 off, struct pg_str *s, const void *ptr,
					bool kernel)
{
	s->off = 0;
	s->len = 0;
	s->flags = 0;
	if (off > PG_OFF_MASK) {
		s->flags = PG_SF_TRUNCATED;
		return off;
	}
	long n = kernel ? bpf_probe_read_kernel_str(rec + PG_OFF(off), PG_STR_MAX, ptr)
			: bpf_probe_read_user_str(rec + PG_OFF(off), PG_STR_MAX, ptr);
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

static __always_inline __u32 pg_put_user_str(__u8 *rec, __u32 off, struct pg_str *s,
					     const void *uptr)
{
	return pg_put_str(rec, off, s, uptr, false);
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

/* What one step of a walk needs of a dentry. */
struct pg_dent {
	struct dentry *parent;
	const unsigned char *name;
	struct inode *inode;
	__u32 len;
};

/* d_parent, d_name and d_inode sit side by side in struct dentry: one read
 * of the span that holds them instead of four (each read is a helper call,
 * what a walk mostly costs). The offsets are CO-RE-relocated constants; a
 * kernel that spreads the fields wider than the span fails the walk (the
 * name is then reported unknown, never wrong). One way only: a second,
 * field-by-field way would cost the walk's frame stack it does not have. */
#define PG_DENT_SPAN 4 /* __u64 words */
static __always_inline int pg_read_dent(struct dentry *d, struct pg_dent *out, __u64 *span)
{
	const __u32 base = bpf_core_field_offset(struct dentry, d_parent);
	const __u32 o_len = bpf_core_field_offset(struct dentry, d_name.len);
	const __u32 o_name = bpf_core_field_offset(struct dentry, d_name.name);
	const __u32 o_inode = bpf_core_field_offset(struct dentry, d_inode);
	const __u32 end = base + 8 * PG_DENT_SPAN;
	if (o_len < base || o_name < base || o_inode < base || o_len + 4 > end ||
	    o_name + 8 > end || o_inode + 8 > end || (o_len - base) % 4 || (o_name - base) % 8 ||
	    (o_inode - base) % 8)
		return -1;
	if (bpf_probe_read_kernel(span, 8 * PG_DENT_SPAN, (const char *)d + base))
		return -1;
	out->parent = (struct dentry *)span[0];
	out->len = ((const __u32 *)span)[((o_len - base) / 4) & (2 * PG_DENT_SPAN - 1)];
	out->name = (const unsigned char *)span[((o_name - base) / 8) & (PG_DENT_SPAN - 1)];
	out->inode = (struct inode *)span[((o_inode - base) / 8) & (PG_DENT_SPAN - 1)];
	return 0;
}

/* State of one dentry walk, carried across bpf_loop() iterations. */
struct pg_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *mnt_root; /* vfsmnt's, read once per mount */
	/* The current step's dentry, read here rather than on the stack: a
	 * walk runs three calls deep (program, name function, loop callback)
	 * under the kernel's 512-byte stack budget for all three. */
	struct pg_dent de;
	__u64 span[PG_DENT_SPAN];
	struct pg_fino_key fkey;
	struct path path; /* a file's, where a walk starts */
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	__u32 off;
	__u32 start;
	bool complete;
};

/* Start a walk at `d` on `m`, up to `task`'s root. The task pointer is
 * typed (bpf_get_current_task_btf()), so its fields are direct loads. */
static __always_inline void pg_walk_begin(struct pg_walk *w, struct dentry *d,
					  struct vfsmount *m, struct task_struct *task)
{
	w->dentry = d;
	w->vfsmnt = m;
	w->mnt = pg_real_mount(m);
	w->mnt_root = BPF_CORE_READ(m, mnt_root);
	struct fs_struct *fs = task->fs;
	w->root_dentry = fs->root.dentry;
	w->root_mnt = fs->root.mnt;
	w->complete = false;
}

/* Cross from the root of the walk's mount `mnt` to where it is mounted, on
 * `up`. (CO-RE reads start from a kernel type: `mnt`, not w->mnt.) */
static __always_inline void pg_walk_mount_up(struct pg_walk *w, struct mount *mnt,
					     struct mount *up)
{
	w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
	w->mnt = up;
	w->vfsmnt = &up->mnt;
	w->mnt_root = BPF_CORE_READ(up, mnt.mnt_root);
}

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
	struct pg_dent *de = &w->de;
	if (pg_read_dent(dentry, de, w->span))
		return 1;
	if (ids) {
		/* A file or directory the rules name, reached by whatever
		 * name: the rest of the path is the watched one. */
		const struct pg_fino_name *id = pg_fino_of_inode(de->inode, &w->fkey);
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
	if (dentry == w->mnt_root || dentry == de->parent) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
		if (dentry != w->mnt_root) {
			/* A disconnected dentry (a memfd, a pipe): its name is
			 * not reachable from /, so the walk stays incomplete,
			 * but the name itself is kept as the only component. */
			if (w->off == w->start && w->off <= PG_OFF_MASK) {
				long n = bpf_probe_read_kernel_str(s->data + PG_OFF(w->off), 256, de->name);
				if (n > 0)
					w->off += n;
			}
			return 1;
		}
		if (up == mnt) {
			w->complete = true; /* the global root */
			return 1;
		}
		pg_walk_mount_up(w, mnt, up);
		return 0;
	}
	if (w->off - w->start > PG_STR_MAX - 256 || w->off > PG_OFF_MASK)
		return 1;
	long n = bpf_probe_read_kernel_str(s->data + PG_OFF(w->off), 256, de->name);
	if (n <= 0)
		return 1;
	w->off += n;
	w->dentry = de->parent;
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
	pg_walk_begin(w, dentry, vfsmnt, task);
	w->off = off;
	w->start = off;
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
	__u32 zero = 0;
	struct pg_walk *w = bpf_map_lookup_elem(&pg_walkst, &zero);
	if (!w || bpf_core_read(&w->path, sizeof(w->path), &f->f_path))
		return pg_put_walk(rec, off, s, NULL, NULL, task, true);
	return pg_put_walk(rec, off, s, w->path.dentry, w->path.mnt, task, true);
}

#endif
