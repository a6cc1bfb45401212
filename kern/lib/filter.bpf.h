/* The kernel filter's maps and its entry point for the syscall programs.
 *
 * Userspace pins every map here under /sys/fs/bpf/peregrine/ (docs/filters.md
 * describes each one). The evaluation itself is kern/api/filter_eval.h,
 * shared with the native build that the differential fuzzer runs.
 */
#ifndef PG_KERN_LIB_FILTER_BPF_H
#define PG_KERN_LIB_FILTER_BPF_H

#include "lib/common.bpf.h"
#include "lib/fd.bpf.h"
#include "lib/strings.bpf.h"
#include "api/filter.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pg_filter_ctl);
} pg_fctl SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PG_GENERATIONS * PG_FK__COUNT);
	__type(key, __u32);
	__type(value, struct pg_kind_slots);
} pg_fkind SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PG_GENERATIONS * PG_FF__COUNT);
	__type(key, __u32);
	__type(value, struct pg_field_mask);
} pg_fmask SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PG_GENERATIONS * PG_FF__COUNT * PG_ENUM_VALUES);
	__type(key, __u32);
	__type(value, struct pg_accept);
} pg_fenum SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pg_fkey_str);
	__type(value, struct pg_accept);
} pg_fstr SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pg_fkey_num);
	__type(value, struct pg_accept);
} pg_fnum SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pg_fkey_path);
	__type(value, struct pg_accept);
} pg_fpath SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PG_FK__COUNT);
	__type(key, __u32);
	__type(value, struct pg_filter_stats);
} pg_fstats SEC(".maps") __weak;

/* Cgroup id (the task's cgroup v2 id, as in every record) to enum
 * pg_container_class, written by userspace as it learns cgroups. Least
 * recently used entries make room: a cgroup without an entry is unknown,
 * which narrows nothing. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} pg_fcgroup SEC(".maps") __weak;

/* The needles of each generation and field (struct pg_needles,
 * pg_needle_index). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * PG_GENERATIONS);
	__type(key, __u32);
	__type(value, struct pg_needles);
} pg_fneedle SEC(".maps") __weak;

/* Userspace's verdicts on process images (struct pg_image_slots), by
 * image id. Least recently used entries make room: an image without an
 * entry narrows nothing. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct pg_image_slots);
} pg_fimage SEC(".maps") __weak;

/* Each task's own verdict (struct pg_task_slots). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pg_task_slots);
} pg_ftask SEC(".maps") __weak;

/* Events let through, per slot (the "passed" column of policy explain). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PG_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} pg_fslot SEC(".maps") __weak;

/* The path keys, and room to assemble a relative path's absolute form
 * right-aligned (see pg_fl_resolve). */
#define PG_RESOLVE_SIZE 512 /* the text ends at its last byte */
struct pg_fkeys {
	struct pg_fkey_path fwd;
	struct pg_fkey_path rev;
	/* Slack past PG_RESOLVE_SIZE lets the verifier see every masked
	 * offset (< 512) plus masked size (< 256) land inside. */
	char resolve[PG_RESOLVE_SIZE + 256];
	/* The needle search's state (pg_fl_needles), kept here so that every
	 * step of its loop is alike to the verifier. */
	__u32 scan_table; /* pg_needle_index */
	__u32 scan_len;
	__u32 scan_found;
	__u32 scan_pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pg_fkeys);
} pg_fkeybuf SEC(".maps") __weak;

/* ---- lookups for filter_eval.h ------------------------------------------ */

/* What the lookups below know of the event being judged besides the
 * pg_filter_event: a successful open's struct file when the program has it
 * (0: the one at the returned descriptor), and the path argument in user
 * memory that pg_fl_arg reads when asked. */
struct pg_fl_ctx {
	__u64 kfile;
	const char *uarg;
};
#define PG_FL_CTX const struct pg_fl_ctx *

static __always_inline const struct pg_field_mask *pg_fl_mask(PG_FL_CTX ctx, __u32 gen, __u32 field)
{
	__u32 i = gen * PG_FF__COUNT + field;
	return bpf_map_lookup_elem(&pg_fmask, &i);
}

static __always_inline const struct pg_slots *pg_fl_kind(PG_FL_CTX ctx, __u32 gen, __u32 kind)
{
	__u32 i = gen * PG_FK__COUNT + kind;
	struct pg_kind_slots *v = bpf_map_lookup_elem(&pg_fkind, &i);
	return v ? &v->slots : NULL;
}

static __always_inline const struct pg_slots *pg_fl_enum(PG_FL_CTX ctx, __u32 gen, __u32 field,
							 __u32 value)
{
	__u32 i = (gen * PG_FF__COUNT + field) * PG_ENUM_VALUES + (value & (PG_ENUM_VALUES - 1));
	struct pg_accept *v = bpf_map_lookup_elem(&pg_fenum, &i);
	return v ? &v->slots : NULL;
}

static __always_inline const struct pg_slots *pg_fl_str(PG_FL_CTX ctx, const struct pg_fkey_str *k)
{
	struct pg_accept *v = bpf_map_lookup_elem(&pg_fstr, k);
	return v ? &v->slots : NULL;
}

static __always_inline const struct pg_slots *pg_fl_num(PG_FL_CTX ctx, const struct pg_fkey_num *k)
{
	struct pg_accept *v = bpf_map_lookup_elem(&pg_fnum, k);
	return v ? &v->slots : NULL;
}

static __always_inline const struct pg_slots *pg_fl_path(PG_FL_CTX ctx,
							 const struct pg_fkey_path *k)
{
	struct pg_accept *v = bpf_map_lookup_elem(&pg_fpath, k);
	return v ? &v->slots : NULL;
}

static __always_inline __u32 pg_fl_container(PG_FL_CTX ctx, const struct pg_filter_event *e)
{
	__u64 id = e->cgroup_id;
	__u8 *ct = bpf_map_lookup_elem(&pg_fcgroup, &id);
	return ct && *ct < PG_CT_UNKNOWN ? *ct : PG_CT_UNKNOWN;
}

static __always_inline struct pg_task_slots *pg_fl_task_cache(PG_FL_CTX ctx,
							      const struct pg_filter_event *e)
{
	return bpf_task_storage_get(&pg_ftask, bpf_get_current_task_btf(), NULL,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
}

static __always_inline const struct pg_proc_strs *pg_fl_proc(PG_FL_CTX ctx,
							       const struct pg_filter_event *e)
{
	return pg_proc_of(bpf_get_current_pid_tgid() >> 32);
}

static __always_inline const struct pg_image_slots *pg_fl_image(PG_FL_CTX ctx,
								   const struct pg_proc_strs *p)
{
	return bpf_map_lookup_elem(&pg_fimage, &p->image);
}

/* One position of the needle search over pg_fkeybuf's fwd key. */
static long pg_needle_step(__u64 i, void *ctx)
{
	__u32 zero = 0;
	struct pg_fkeys *k = bpf_map_lookup_elem(&pg_fkeybuf, &zero);
	if (!k || i >= k->scan_len)
		return 1;
	__u32 table = k->scan_table & 3;
	const struct pg_needles *n = bpf_map_lookup_elem(&pg_fneedle, &table);
	if (!n)
		return 1;
	const __u32 at = PG_FILTER_BOUND(i, PG_PATH_KEY_MAX - 1);
	k->scan_found |= pg_needles_at(n, k->fwd.path + at, k->scan_len - at);
	return 0;
}

/* `fwd` is pg_fkeybuf's fwd key (pg_filter_path passes no other). */
static __always_inline long pg_fl_needles(PG_FL_CTX ctx, __u32 gen, __u32 field,
					  const struct pg_fkey_path *fwd, __u32 len)
{
	__u32 zero = 0;
	struct pg_fkeys *k = bpf_map_lookup_elem(&pg_fkeybuf, &zero);
	if (!k || len >= PG_PATH_KEY_MAX)
		return -1;
	k->scan_table = pg_needle_index(gen, field);
	k->scan_len = len;
	k->scan_found = 0;
	bpf_loop(PG_PATH_KEY_MAX, pg_needle_step, NULL, 0);
	return k->scan_found;
}

/* Prepending a directory's names to a relative path, leaf to root, as a
 * bpf_loop() callback; the state lives in pg_walkst like the record's walk. */
static __always_inline long pg_prepend_step_impl(bool ids)
{
	__u32 zero = 0;
	struct pg_walk *w = bpf_map_lookup_elem(&pg_walkst, &zero);
	struct pg_fkeys *k = bpf_map_lookup_elem(&pg_fkeybuf, &zero);
	if (!w || !k)
		return 1;
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
		/* As in pg_walk_step: a watched identity names the rest. */
		const struct pg_fino_name *id = pg_fino_of_inode(de->inode, &w->fkey);
		if (id) {
			__u32 n = id->len;
			if (n >= PG_PATH_KEY_MAX || w->off < n || w->off >= PG_RESOLVE_SIZE)
				return 1;
			__u32 at = w->off - n;
			if (PG_RESOLVE_SIZE - at > PG_PATH_KEY_MAX)
				return 1;
			if (n && bpf_probe_read_kernel(k->resolve + PG_MASK(at, PG_RESOLVE_SIZE - 1),
						       PG_MASK(n, 255), id->path))
				return 1;
			w->off = at;
			w->complete = true;
			return 1;
		}
	}
	if (dentry == w->mnt_root || dentry == de->parent) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
		if (dentry != w->mnt_root || up == mnt) {
			w->complete = dentry == w->mnt_root;
			return 1;
		}
		pg_walk_mount_up(w, mnt, up);
		return 0;
	}
	__u32 n = de->len;
	/* w->off: where the text assembled so far starts; "/" + name goes
	 * before it. Past a key's length the result is useless: stop. */
	if (n == 0 || n >= PG_PATH_KEY_MAX || w->off < n + 1 || w->off >= PG_RESOLVE_SIZE)
		return 1;
	__u32 at = w->off - n - 1;
	/* Once the text is a key long, the result cannot be judged anyway. */
	if (PG_RESOLVE_SIZE - at > PG_PATH_KEY_MAX)
		return 1;
	k->resolve[PG_MASK(at, PG_RESOLVE_SIZE - 1)] = '/';
	if (bpf_probe_read_kernel(k->resolve + PG_MASK(at + 1, PG_RESOLVE_SIZE - 1), PG_MASK(n, 255),
				  de->name))
		return 1;
	w->off = at;
	w->dentry = de->parent;
	return 0;
}

static long pg_prepend_step(__u64 i, void *ctx)
{
	return pg_prepend_step_impl(false);
}

/* The same, stopping at a watched identity (an opened file's own name). */
static __attribute__((unused)) long pg_prepend_step_ids(__u64 i, void *ctx)
{
	return pg_prepend_step_impl(true);
}

/* The event's relative path in fwd, made absolute against the current
 * task's cwd or e->dirfd: the directory's names are prepended one by one
 * (leaf first) in k->resolve, ending at its last byte, then the whole is
 * copied back into fwd. */
static __always_inline long pg_fl_resolve(PG_FL_CTX ctx, const struct pg_filter_event *e,
					  struct pg_fkey_path *fwd, __u32 len)
{
	__u32 zero = 0;
	struct pg_walk *w = bpf_map_lookup_elem(&pg_walkst, &zero);
	struct pg_fkeys *k = (struct pg_fkeys *)fwd;
	if (!w || len >= PG_PATH_KEY_MAX)
		return -1;
	struct task_struct *task = bpf_get_current_task_btf();
	struct dentry *d;
	struct vfsmount *m;
	if (e->dirfd == PG_AT_FDCWD) {
		d = BPF_CORE_READ(task, fs, pwd.dentry);
		m = BPF_CORE_READ(task, fs, pwd.mnt);
	} else {
		struct file *f = pg_fd_file(task, e->dirfd);
		if (!f)
			return -1;
		d = BPF_CORE_READ(f, f_path.dentry);
		m = BPF_CORE_READ(f, f_path.mnt);
	}
	if (!d || !m)
		return -1;
	/* "/" + the relative path, NUL included, ending at the last byte. */
	__u32 tail = PG_RESOLVE_SIZE - len - 2;
	k->resolve[PG_MASK(tail, PG_RESOLVE_SIZE - 1)] = '/';
	if (bpf_probe_read_kernel(k->resolve + PG_MASK(tail + 1, PG_RESOLVE_SIZE - 1),
				  PG_MASK(len + 1, 255), fwd->path))
		return -1;
	pg_walk_begin(w, d, m, task);
	w->off = tail;
	bpf_loop(PG_WALK_DEPTH, pg_prepend_step, NULL, 0);
	if (!w->complete)
		return -1;
	/* The cwd "/" itself leaves "/" + path; otherwise the leading "/" of
	 * the first name starts it, and the separator before the path stays. */
	__u32 start = w->off;
	__u32 total = PG_RESOLVE_SIZE - 1 - start; /* without the NUL */
	if (start >= PG_RESOLVE_SIZE || total >= PG_PATH_KEY_MAX)
		return -1;
	if (bpf_probe_read_kernel(fwd->path, PG_MASK(total + 1, 255),
				  k->resolve + PG_MASK(start, PG_RESOLVE_SIZE - 1)))
		return -1;
	return total;
}

/* A successful open's file named by itself, into pg_fkeybuf's fwd key: the
 * struct file `kfile` when the caller has it (an io_uring open into a
 * fixed-file slot, which has no descriptor), else the one at descriptor
 * `fd` if opened with `flags`, its dentries prepended up to the task's
 * root the same way as pg_fl_resolve (with nothing after them). Returns the
 * length, or -1. A global function, so the verifier checks it once, on its
 * own, instead of along every path of every open program (which then ran
 * past its budget); __weak, since every hook family's object carries it. */
__weak __noinline long pg_kname_key(long fd, __u64 flags, __u64 kfile)
{
	__u32 zero = 0;
	struct pg_walk *w = bpf_map_lookup_elem(&pg_walkst, &zero);
	struct pg_fkeys *k = bpf_map_lookup_elem(&pg_fkeybuf, &zero);
	if (!w || !k)
		return -1;
	struct task_struct *task = bpf_get_current_task_btf();
	struct file *f = kfile ? (struct file *)kfile : pg_open_file(task, fd, flags);
	if (!f)
		return -1;
	if (bpf_core_read(&w->path, sizeof(w->path), &f->f_path) || !w->path.dentry ||
	    !w->path.mnt)
		return -1;
	k->resolve[PG_RESOLVE_SIZE - 1] = 0;
	pg_walk_begin(w, w->path.dentry, w->path.mnt, task);
	w->off = PG_RESOLVE_SIZE - 1;
	bpf_loop(PG_WALK_DEPTH, pg_prepend_step_ids, NULL, 0);
	if (!w->complete)
		return -1;
	__u32 start = w->off;
	if (start >= PG_RESOLVE_SIZE)
		return -1;
	if (start == PG_RESOLVE_SIZE - 1) {
		/* the root itself */
		k->fwd.path[0] = '/';
		k->fwd.path[1] = 0;
		return 1;
	}
	__u32 total = PG_RESOLVE_SIZE - 1 - start; /* without the NUL */
	if (total >= PG_PATH_KEY_MAX)
		return -1;
	if (bpf_probe_read_kernel(k->fwd.path, PG_MASK(total + 1, 255),
				  k->resolve + PG_MASK(start, PG_RESOLVE_SIZE - 1)))
		return -1;
	return total;
}

/* For filter_eval.h: fwd is pg_fkeybuf's (pg_filter passes it). */
static __always_inline long pg_fl_kname(PG_FL_CTX ctx, const struct pg_filter_event *e,
					struct pg_fkey_path *fwd)
{
	return pg_kname_key(e->ret, e->open_flags, ctx->kfile);
}

/* For filter_eval.h: the argument, read now rather than before judging,
 * since most opens are settled by their file's name alone. */
static __always_inline long pg_fl_arg(PG_FL_CTX ctx, const struct pg_filter_event *e,
				      struct pg_fkey_path *key)
{
	if (!ctx->uarg)
		return PG_PATH_UNUSABLE;
	return pg_path_len_from_read(
		bpf_probe_read_user_str(key->path, PG_PATH_KEY_MAX, ctx->uarg));
}

#include "api/filter_eval.h"

/* ---- entry point -------------------------------------------------------- */

static __always_inline void pg_count_slots(const struct pg_slots *s)
{
	for (__u32 w = 0; w < PG_SLOT_WORDS; w++) {
		__u64 bits = s->w[w];
		if (!bits)
			continue;
		for (__u32 b = 0; b < 64; b++) {
			if (!(bits >> b & 1))
				continue;
			__u32 slot = w * 64 + b;
			__u64 *n = bpf_map_lookup_elem(&pg_fslot, &slot);
			if (n)
				*n += 1;
		}
	}
}

/* The task facts the filter judges, read the cheap way: direct loads
 * through the task's BTF pointer rather than probe reads, since most
 * events stop here and the full pg_task is read only for those that pass.
 * They are the same values pg_fill_task() puts in the record. */
static __always_inline void pg_filter_task(struct pg_filter_event *e, struct task_struct *task)
{
	e->uid = task->cred->euid.val;
	/* Loads, not bpf_get_current_comm(): a helper given a pointer into e
	 * would make the compiler forget what it knows of e's other fields
	 * (its kind, whether it is named by its object), and keep code the
	 * event can never take, such as the name walk in a path operation. */
	__builtin_memcpy(e->comm, task->comm, sizeof(e->comm));
	pg_io_worker_name(e->comm, task);
	const struct task_struct *leader = task->real_parent->group_leader;
	__builtin_memcpy(e->pcomm, leader->comm, sizeof(e->pcomm));
}

/* Judge the current event. `upath`: its path argument (NULL for syscalls
 * with none, and for an open with none to read), in user memory, or in
 * kernel memory when `kernel`. `kfile`: a successful open's struct file
 * when the program has it (0: the one at the returned descriptor). Fills
 * `v` and returns whether the event goes on to userspace. */
static __always_inline bool pg_filter_path(struct pg_filter_event *e, const char *upath,
					   bool kernel, __u64 kfile, struct pg_verdict *v)
{
	__u32 zero = 0;
	__u32 kind = e->kind;
	struct pg_filter_stats *st = bpf_map_lookup_elem(&pg_fstats, &kind);
	if (st)
		st->seen++;
	struct pg_filter_ctl *ctl = bpf_map_lookup_elem(&pg_fctl, &zero);
	v->flags = 0;
	v->gen = 0;
	if (!ctl || !ctl->enabled) {
		__builtin_memset(&v->slots, 0xff, sizeof(v->slots));
		if (st)
			st->passed++;
		return true;
	}
	__u32 gen = ctl->gen & 1;
	e->version = ctl->version;
	e->cgroup_id = bpf_get_current_cgroup_id();
	v->gen = gen;
	v->flags = PG_VF_FILTERED;

	struct pg_fkeys *keys = bpf_map_lookup_elem(&pg_fkeybuf, &zero);
	if (!keys) {
		/* cannot judge: pass with every slot */
		__builtin_memset(&v->slots, 0xff, sizeof(v->slots));
		return true;
	}
	/* No path argument (connect, the numeric syscalls), or none to read,
	 * which leaves an open's file to name it (io_uring). A successful
	 * open's argument is read only if its file's name leaves a slot that
	 * looks at it (pg_fl_arg). */
	const int is_open = pg_fkind_is_open(e->kind);
	long len = is_open ? PG_PATH_UNUSABLE : PG_PATH_NONE;
	const struct pg_fl_ctx fc = {.kfile = kfile, .uarg = kernel ? NULL : upath};
	if (upath && is_open && e->by_object && !kernel)
		len = PG_PATH_UNREAD;
	else if (upath)
		len = pg_path_len_from_read(
			kernel ? bpf_probe_read_kernel_str(keys->fwd.path, PG_PATH_KEY_MAX, upath)
			       : bpf_probe_read_user_str(keys->fwd.path, PG_PATH_KEY_MAX, upath));
	if (!pg_filter_eval(&fc, gen, e, &keys->fwd, &keys->rev, len, &v->slots))
		return false;
	if (st)
		st->passed++;
	pg_count_slots(&v->slots);
	return true;
}

/* The same with the path argument in user memory. */
static __always_inline bool pg_filter(struct pg_filter_event *e, const char *upath,
				      struct pg_verdict *v)
{
	return pg_filter_path(e, upath, false, 0, v);
}

#endif
