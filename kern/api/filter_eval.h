/* The kernel filter's evaluation (see filter.h for the model).
 *
 * The includer defines, before including this file, the table lookups:
 *
 *   const struct pg_field_mask *pg_fl_mask(PG_FL_CTX ctx, __u32 gen, __u32 field);
 *   const struct pg_slots *pg_fl_kind(PG_FL_CTX ctx, __u32 gen, __u32 kind);
 *   const struct pg_slots *pg_fl_enum(PG_FL_CTX ctx, __u32 gen, __u32 field, __u32 value);
 *   const struct pg_slots *pg_fl_str(PG_FL_CTX ctx, const struct pg_fkey_str *key);
 *   const struct pg_slots *pg_fl_num(PG_FL_CTX ctx, const struct pg_fkey_num *key);
 *   const struct pg_slots *pg_fl_path(PG_FL_CTX ctx, const struct pg_fkey_path *key);
 *   __u32 pg_fl_container(PG_FL_CTX ctx, const struct pg_filter_event *e);
 *       the event's enum pg_container_class (asked only when a slot needs it)
 *   struct pg_task_slots *pg_fl_task_cache(PG_FL_CTX ctx, const struct pg_filter_event *e);
 *       where the event's task keeps its own verdict (NULL: nowhere; each
 *       task field is then judged for the event)
 *   const struct pg_proc_strs *pg_fl_proc(PG_FL_CTX ctx, const struct pg_filter_event *e);
 *       the event's process's proc.exe and proc.args (NULL: unknown; asked
 *       only when a slot needs them)
 *   const struct pg_image_slots *pg_fl_image(PG_FL_CTX ctx, const struct pg_proc_strs *p);
 *       userspace's verdict on the process image p->image (NULL: none yet;
 *       asked only when a slot needs it)
 *   long pg_fl_resolve(PG_FL_CTX ctx, const struct pg_filter_event *e,
 *                      struct pg_fkey_path *fwd, __u32 len);
 *       a relative path in fwd->path[0..len): replace it by its directory
 *       (cwd or e->dirfd) + "/" + the path, NUL-terminated; returns the new
 *       length, or -1 when the directory is unknown or the result too long
 *   long pg_fl_kname(PG_FL_CTX ctx, const struct pg_filter_event *e,
 *                    struct pg_fkey_path *fwd);
 *       a successful open (e->by_object): write the opened file's own
 *       absolute path into fwd->path, NUL-terminated, and return its length;
 *       -1 when it cannot be named (the walk did not reach the root, the
 *       descriptor no longer holds the file, the path is a key long or more)
 *   long pg_fl_needles(PG_FL_CTX ctx, __u32 gen, __u32 field,
 *                      const struct pg_fkey_path *fwd, __u32 len);
 *       the needles of `field` under generation `gen` (pg_needles) that
 *       fwd->path[0..len) contains, a bit each (pg_needles_at at every
 *       position); -1 when unknown
 *   long pg_fl_arg(PG_FL_CTX ctx, const struct pg_filter_event *e,
 *                  struct pg_fkey_path *key);
 *       an open's path argument as the caller passed it, read into
 *       key->path, NUL-terminated; returns its length, or -1 when it is
 *       unreadable or a key long or more (asked only for an open named by
 *       its object, and only when a slot still looks at the argument)
 *
 * each returning NULL when there is no entry. The eBPF programs look into
 * maps; the native build looks into the tables the daemon is about to load.
 * The declarations below restate that contract, so an includer whose
 * definition drifts from it fails to compile.
 */
#ifndef PG_KERN_API_FILTER_EVAL_H
#define PG_KERN_API_FILTER_EVAL_H

static const struct pg_field_mask *pg_fl_mask(PG_FL_CTX ctx, __u32 gen, __u32 field);
static const struct pg_slots *pg_fl_kind(PG_FL_CTX ctx, __u32 gen, __u32 kind);
static const struct pg_slots *pg_fl_enum(PG_FL_CTX ctx, __u32 gen, __u32 field, __u32 value);
static const struct pg_slots *pg_fl_str(PG_FL_CTX ctx, const struct pg_fkey_str *key);
static const struct pg_slots *pg_fl_num(PG_FL_CTX ctx, const struct pg_fkey_num *key);
static const struct pg_slots *pg_fl_path(PG_FL_CTX ctx, const struct pg_fkey_path *key);
static __u32 pg_fl_container(PG_FL_CTX ctx, const struct pg_filter_event *e);
static struct pg_task_slots *pg_fl_task_cache(PG_FL_CTX ctx, const struct pg_filter_event *e);
static const struct pg_proc_strs *pg_fl_proc(PG_FL_CTX ctx, const struct pg_filter_event *e);
static const struct pg_image_slots *pg_fl_image(PG_FL_CTX ctx, const struct pg_proc_strs *p);
static long pg_fl_resolve(PG_FL_CTX ctx, const struct pg_filter_event *e, struct pg_fkey_path *fwd,
			  __u32 len);
static long pg_fl_kname(PG_FL_CTX ctx, const struct pg_filter_event *e, struct pg_fkey_path *fwd);
static long pg_fl_needles(PG_FL_CTX ctx, __u32 gen, __u32 field, const struct pg_fkey_path *fwd,
			  __u32 len);
static long pg_fl_arg(PG_FL_CTX ctx, const struct pg_filter_event *e, struct pg_fkey_path *key);

#include "filter.h"

/* The slots of `field` that the event's value accepts are looked up only
 * when some surviving slot constrains the field. Returns 0 when the event
 * is settled (no slot left). */
#define PG_FILTER_NARROW(field, lookup)                                                            \
	do {                                                                                       \
		const struct pg_field_mask *m_ = pg_fl_mask(ctx, gen, (field));                     \
		if (m_ && pg_slots_meet(s, &m_->uses)) {                                           \
			pg_slots_narrow(s, m_, (lookup));                                          \
			if (!pg_slots_any(s))                                                      \
				return 0;                                                          \
		}                                                                                  \
	} while (0)

/* A proc.exe or proc.args string as a trie key: with its NUL when whole. */
PG_FILTER_INLINE void pg_proc_key(struct pg_fkey_path *k, __u32 gen, __u32 field, const char *str,
				  __u32 len, __u32 whole)
{
	__builtin_memcpy(k->path, str, PG_PROC_STR);
	len &= PG_PROC_STR - 1;
	k->path[len] = 0;
	k->gen = (__u8)gen;
	k->field = (__u8)field;
	k->prefixlen = 8 * (PG_PATH_KEY_HDR + len + (whole ? 1 : 0));
}

/* What the process's exec set: proc.is_exe_from_memfd, then proc.exe and
 * proc.args, one trie lookup each in the key buffer `k`.
 * Returns 0 when no slot is left. */
PG_FILTER_INLINE int pg_filter_proc_strs(PG_FL_CTX ctx, __u32 gen, const struct pg_filter_event *e,
					 struct pg_fkey_path *k, struct pg_slots *s)
{
	const struct pg_field_mask *xm = pg_fl_mask(ctx, gen, PG_FF_EXE);
	const struct pg_field_mask *am = pg_fl_mask(ctx, gen, PG_FF_ARGS);
	const struct pg_field_mask *mm = pg_fl_mask(ctx, gen, PG_FF_MEMFD);
	const int use_x = xm && pg_slots_meet(s, &xm->uses);
	const int use_a = am && pg_slots_meet(s, &am->uses);
	const int use_m = mm && pg_slots_meet(s, &mm->uses);
	if (!use_x && !use_a && !use_m)
		return 1;
	const struct pg_proc_strs *p = pg_fl_proc(ctx, e);
	if (!p)
		return 1;
	if (use_m) {
		const __u32 memfd = (p->exe_flags & PG_EXE_FROM_MEMFD) ? 1 : 0;
		pg_slots_narrow(s, mm, pg_fl_enum(ctx, gen, PG_FF_MEMFD, memfd));
		if (!pg_slots_any(s))
			return 0;
	}
	if (use_x && (p->exe_whole || p->exe_len == PG_PROC_STR - 1)) {
		pg_proc_key(k, gen, PG_FF_EXE, p->exe, p->exe_len, p->exe_whole);
		pg_slots_narrow(s, xm, pg_fl_path(ctx, k));
		if (!pg_slots_any(s))
			return 0;
	}
	if (use_a && (p->args_whole || p->args_len == PG_PROC_STR - 1)) {
		pg_proc_key(k, gen, PG_FF_ARGS, p->args, p->args_len, p->args_whole);
		pg_slots_narrow(s, am, pg_fl_path(ctx, k));
	}
	return pg_slots_any(s);
}

/* What userspace judged of the process's image (PG_FF_IMAGE), when its
 * verdict is current; last, as only slots still standing ask for it.
 * Returns 0 when no slot is left. */
PG_FILTER_INLINE int pg_filter_image(PG_FL_CTX ctx, __u32 gen, const struct pg_filter_event *e,
				     struct pg_slots *s)
{
	const struct pg_field_mask *m = pg_fl_mask(ctx, gen, PG_FF_IMAGE);
	if (!(m && pg_slots_meet(s, &m->uses)))
		return 1;
	const struct pg_proc_strs *p = pg_fl_proc(ctx, e);
	const struct pg_image_slots *v = p ? pg_fl_image(ctx, p) : NULL;
	if (v && pg_image_slots_current(v, e))
		pg_slots_narrow(s, m, &v->slots);
	return pg_slots_any(s);
}

/* An open's argument as passed (fd.nameraw: whether it goes through
 * "../"), read into `k` only when a surviving slot looks at it. Returns 0
 * when no slot is left. */
PG_FILTER_INLINE int pg_filter_raw_arg(PG_FL_CTX ctx, __u32 gen, const struct pg_filter_event *e,
				       struct pg_fkey_path *k, struct pg_slots *s)
{
	const struct pg_field_mask *m = pg_fl_mask(ctx, gen, PG_FF_RAW);
	if (!(m && pg_slots_meet(s, &m->uses)))
		return 1;
	long n = pg_fl_arg(ctx, e, k);
	if (n < 0 || n >= PG_PATH_KEY_MAX)
		return 1;
	const __u32 facts = pg_path_facts(k->path, (__u32)n);
	pg_slots_narrow(s, m, pg_fl_enum(ctx, gen, PG_FF_RAW, (facts & PG_PF_DOTDOT) ? 1 : 0));
	return pg_slots_any(s);
}

/* Which of `field`'s needles fwd->path[0..len) contains, for the slots
 * left that look (m: the field's mask). */
PG_FILTER_INLINE void pg_filter_needles(PG_FL_CTX ctx, __u32 gen, __u32 field,
					const struct pg_field_mask *m, const struct pg_fkey_path *fwd,
					__u32 len, struct pg_slots *s)
{
	if (!pg_slots_meet(s, &m->uses))
		return;
	const long found = pg_fl_needles(ctx, gen, field, fwd, len);
	if (found >= 0)
		pg_slots_narrow(s, m,
				pg_fl_enum(ctx, gen, field, (__u32)found & (PG_ENUM_VALUES - 1)));
}

/* The path fields of an open or a path operation (see pg_filter_eval).
 * Returns 0 when no slot is left. */
PG_FILTER_INLINE int pg_filter_paths(PG_FL_CTX ctx, __u32 gen, const struct pg_filter_event *e,
				     struct pg_fkey_path *fwd, struct pg_fkey_path *rev,
				     long path_len, struct pg_slots *s);

/* comm, parent comm, uid and container narrow `s`. Clears *cacheable when
 * the container class was unknown to a slot that asks for it. Returns 0
 * when no slot is left. */
PG_FILTER_INLINE int pg_filter_task_fields(PG_FL_CTX ctx, __u32 gen,
					   const struct pg_filter_event *e, struct pg_slots *s,
					   int *cacheable)
{
	struct pg_fkey_str sk = {.gen = gen, .field = PG_FF_COMM};
	__builtin_memcpy(sk.value, e->comm, PG_COMM_LEN);
	PG_FILTER_NARROW(PG_FF_COMM, pg_fl_str(ctx, &sk));
	sk.field = PG_FF_PCOMM;
	__builtin_memcpy(sk.value, e->pcomm, PG_COMM_LEN);
	PG_FILTER_NARROW(PG_FF_PCOMM, pg_fl_str(ctx, &sk));

	struct pg_fkey_num uk = {.gen = gen, .field = PG_FF_UID, .value = e->uid};
	PG_FILTER_NARROW(PG_FF_UID, pg_fl_num(ctx, &uk));

	const struct pg_field_mask *cm = pg_fl_mask(ctx, gen, PG_FF_CONTAINER);
	if (cm && pg_slots_meet(s, &cm->uses)) {
		__u32 ct = pg_fl_container(ctx, e);
		if (ct == PG_CT_UNKNOWN) {
			*cacheable = 0;
		} else {
			pg_slots_narrow(s, cm, pg_fl_enum(ctx, gen, PG_FF_CONTAINER, ct));
			if (!pg_slots_any(s))
				return 0;
		}
	}
	return 1;
}

/* Judge one event under generation `gen`. `fwd` holds the path argument of
 * an open, or the first path argument of a path operation, in
 * fwd->path[0..path_len) when path_len >= 0 (PG_PATH_UNUSABLE: failed to
 * read, or longer than a key; PG_PATH_NONE: the syscall has none;
 * PG_PATH_UNREAD: an open named by its object whose argument is read,
 * through pg_fl_arg, only if a slot still looks at it); `rev` is a second
 * key buffer. Leaves the surviving slots in `s`; returns whether any
 * survived. */
PG_FILTER_INLINE int pg_filter_eval(PG_FL_CTX ctx, __u32 gen, const struct pg_filter_event *e,
				    struct pg_fkey_path *fwd, struct pg_fkey_path *rev,
				    long path_len, struct pg_slots *s)
{
	const struct pg_slots *k = pg_fl_kind(ctx, gen, e->kind);
	if (!k)
		return 0;
	*s = *k;
	if (!pg_slots_any(s))
		return 0;

	const int is_open = pg_fkind_is_open(e->kind);
	if (is_open) {
		PG_FILTER_NARROW(PG_FF_CLASS, pg_fl_enum(ctx, gen, PG_FF_CLASS,
							 pg_open_class(e->open_flags, e->ret)));
	} else if (e->kind == PG_FK_CONNECT || (pg_fkind_is_send(e->kind) && e->family != 0)) {
		PG_FILTER_NARROW(PG_FF_FAMILY,
				 pg_fl_enum(ctx, gen, PG_FF_FAMILY, pg_family_class(e->family)));
		__u32 fam = pg_family_class(e->family);
		if (fam == PG_FAM_INET || fam == PG_FAM_INET6) {
			struct pg_fkey_num pk = {.gen = gen, .field = PG_FF_PORT, .value = e->port};
			PG_FILTER_NARROW(PG_FF_PORT, pg_fl_num(ctx, &pk));
		}
	}

	/* The task's own fields: from the task's cached verdict when current,
	 * else computed for every slot (and kept when the container class was
	 * known: an unknown one may become known). */
	int cacheable = 1;
	struct pg_task_slots *c = pg_fl_task_cache(ctx, e);
	if (c && !pg_task_slots_current(c, e)) {
		c->version = 0; /* stale until stamped: the slots change under it */
		__builtin_memset(&c->slots, 0xff, sizeof(c->slots));
		pg_filter_task_fields(ctx, gen, e, &c->slots, &cacheable);
		if (cacheable)
			pg_task_slots_stamp(c, e);
	}
	if (c) {
		for (int i = 0; i < PG_SLOT_WORDS; i++)
			s->w[i] &= c->slots.w[i];
		if (!pg_slots_any(s))
			return 0;
	} else if (!pg_filter_task_fields(ctx, gen, e, s, &cacheable)) {
		return 0;
	}

	if (!pg_filter_paths(ctx, gen, e, fwd, rev, path_len, s))
		return 0;
	/* After the paths: rev is free to hold a key. */
	if (!pg_filter_proc_strs(ctx, gen, e, rev, s))
		return 0;
	return pg_filter_image(ctx, gen, e, s);
}

PG_FILTER_INLINE int pg_filter_paths(PG_FL_CTX ctx, __u32 gen, const struct pg_filter_event *e,
				     struct pg_fkey_path *fwd, struct pg_fkey_path *rev,
				     long path_len, struct pg_slots *s)
{
	/* No path argument at all (connect, the numeric syscalls): a
	 * constant the verifier prunes every path field's code with. */
	if (path_len == PG_PATH_NONE)
		return 1;
	const int is_open = pg_fkind_is_open(e->kind);
	/* A successful open names its file by the file itself, so an
	 * unreadable argument still leaves the path fields to judge. */
	const int by_object = is_open && e->by_object;
	const int have_arg = path_len >= 0 && path_len < PG_PATH_KEY_MAX;
	const int unread = by_object && path_len == PG_PATH_UNREAD;
	if (e->kind == PG_FK_CONNECT || (!have_arg && !by_object))
		return 1;
	__u32 len = have_arg ? (__u32)path_len : 0;
	fwd->path[len] = 0;
	if (!is_open) {
		/* A path operation: its first argument, as one trie lookup and
		 * one search for the needles. */
		const struct pg_field_mask *am = pg_fl_mask(ctx, gen, PG_FF_ARG);
		const struct pg_field_mask *nm = pg_fl_mask(ctx, gen, PG_FF_ARG_NEEDLE);
		const int use_a = am && pg_slots_meet(s, &am->uses);
		const int use_n = nm && pg_slots_meet(s, &nm->uses);
		if (!use_a && !use_n)
			return 1;
		if (!e->arg_as_is && len > 0 && fwd->path[0] != '/') {
			/* Relative: judged as its directory + "/" + the path,
			 * as for opens. */
			long rlen = pg_fl_resolve(ctx, e, fwd, len);
			if (rlen < 0 || rlen >= PG_PATH_KEY_MAX)
				return 1;
			len = (__u32)rlen;
		}
		if (!e->arg_as_is && !(pg_path_facts(fwd->path, len) & PG_PF_CLEAN))
			return 1;
		if (use_a) {
			fwd->gen = (__u8)gen;
			fwd->field = PG_FF_ARG;
			fwd->prefixlen = 8 * (PG_PATH_KEY_HDR + len + 1);
			pg_slots_narrow(s, am, pg_fl_path(ctx, fwd));
			if (!pg_slots_any(s))
				return 0;
		}
		if (use_n)
			pg_filter_needles(ctx, gen, PG_FF_ARG_NEEDLE, nm, fwd, len, s);
		return pg_slots_any(s);
	}
	/* The path fields cost a scan: skip it when no slot left looks at them. */
	const struct pg_field_mask *pm[5] = {
		pg_fl_mask(ctx, gen, PG_FF_RAW), pg_fl_mask(ctx, gen, PG_FF_PATH),
		pg_fl_mask(ctx, gen, PG_FF_SUFFIX), pg_fl_mask(ctx, gen, PG_FF_TOPLEVEL),
		pg_fl_mask(ctx, gen, PG_FF_PATH_NEEDLE)};
	const int use_raw = pm[0] && pg_slots_meet(s, &pm[0]->uses);
	const int use_resolved = (pm[1] && pg_slots_meet(s, &pm[1]->uses)) ||
				 (pm[2] && pg_slots_meet(s, &pm[2]->uses)) ||
				 (pm[3] && pg_slots_meet(s, &pm[3]->uses)) ||
				 (pm[4] && pg_slots_meet(s, &pm[4]->uses));
	if (!use_raw && !use_resolved)
		return 1;
	__u32 facts = 0;
	if (have_arg) {
		facts = pg_path_facts(fwd->path, len);
		PG_FILTER_NARROW(PG_FF_RAW,
				 pg_fl_enum(ctx, gen, PG_FF_RAW, (facts & PG_PF_DOTDOT) ? 1 : 0));
	}
	if (by_object) {
		/* The opened file's own path replaces the argument: what the
		 * kernel opened, whatever the caller's buffer says by now. The
		 * argument itself, when unread, is read last, for the slots
		 * the file's name left. */
		if (!use_resolved)
			return unread ? pg_filter_raw_arg(ctx, gen, e, rev, s) : 1;
		long klen = pg_fl_kname(ctx, e, fwd);
		if (klen < 0 || klen >= PG_PATH_KEY_MAX)
			return unread ? pg_filter_raw_arg(ctx, gen, e, rev, s) : 1;
		len = (__u32)klen;
		facts = pg_path_facts(fwd->path, len);
	} else if (len > 0 && fwd->path[0] != '/') {
		/* Relative: judged as its directory + "/" + the path, which is
		 * what userspace resolves it to whenever that is normalised. */
		if (!use_resolved)
			return 1;
		long rlen = pg_fl_resolve(ctx, e, fwd, len);
		if (rlen < 0 || rlen >= PG_PATH_KEY_MAX)
			return 1;
		len = (__u32)rlen;
		facts = pg_path_facts(fwd->path, len);
	}
	if (!(facts & PG_PF_CLEAN))
		return 1;
	PG_FILTER_NARROW(PG_FF_TOPLEVEL, pg_fl_enum(ctx, gen, PG_FF_TOPLEVEL,
						    (facts & PG_PF_TOPLEVEL) ? 1 : 0));

	fwd->gen = (__u8)gen;
	fwd->field = PG_FF_PATH;
	fwd->prefixlen = 8 * (PG_PATH_KEY_HDR + len + 1);
	PG_FILTER_NARROW(PG_FF_PATH, pg_fl_path(ctx, fwd));

	const struct pg_field_mask *sm = pg_fl_mask(ctx, gen, PG_FF_SUFFIX);
	if (sm && pg_slots_meet(s, &sm->uses)) {
		pg_path_reverse(fwd->path, rev->path, len);
		rev->gen = (__u8)gen;
		rev->field = PG_FF_SUFFIX;
		rev->prefixlen = 8 * (PG_PATH_KEY_HDR + len);
		pg_slots_narrow(s, sm, pg_fl_path(ctx, rev));
		if (!pg_slots_any(s))
			return 0;
	}
	/* After the suffix: rev is free to hold the argument. The substring
	 * search, the dearest test, comes last. */
	if (unread && !pg_filter_raw_arg(ctx, gen, e, rev, s))
		return 0;
	if (pm[4])
		pg_filter_needles(ctx, gen, PG_FF_PATH_NEEDLE, pm[4], fwd, len, s);
	return pg_slots_any(s);
}

#endif
