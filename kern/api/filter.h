/* The kernel filter: its syscall index, field ids, the layouts of its
 * pinned maps (each size asserted: userspace writes them), and the shared
 * helpers that build an event's filter input and path facts.
 *
 * Compiled twice: into the eBPF programs, and natively into the daemon's
 * table builder and the differential fuzzer. The evaluation itself is in
 * filter_eval.h, whose includer provides the table lookups it declares, so
 * the logic that the fuzzer checks is the logic the kernel runs.
 *
 * Model (DESIGN.md section 4). Every rule is lowered into clauses; every
 * clause owns one slot of a PG_SLOTS-bit set. For an event:
 *
 *   S  = slots interested in this syscall                 (pg_fkind)
 *   for each field f the kernel can judge for this event:
 *     A = slots accepting the event's value of f          (value lookup)
 *         or, when no entry matches, the slots that pass on absence
 *     S = S & (~uses(f) | A)                              (pg_fmask)
 *   the event crosses to userspace iff S is not empty, carrying S.
 *
 * One lookup per field thus judges `=`, `in`, `!=` and `not in` for every
 * slot at once. A field whose value the kernel cannot know exactly for this
 * event (relative or non-normalised path, truncated string, failed read) is
 * skipped: every slot passes it. That is what keeps the filter sound.
 *
 * Every key carries a generation: userspace writes a complete new
 * generation, then flips pg_fctl.gen with one update, then deletes the old
 * one. Records carry the generation they were judged under.
 */
#ifndef PG_KERN_API_FILTER_H
#define PG_KERN_API_FILTER_H

#ifdef __BPF__
#define PG_FILTER_INLINE static __always_inline
/* v & mask, kept even where the compiler knows it changes nothing: the
 * verifier needs to see the bound (see PG_MASK in kern/lib/common.bpf.h). */
#define PG_FILTER_BOUND(v, mask)                                                                   \
	({                                                                                         \
		__u64 __b = (v);                                                                   \
		asm volatile("%0 &= %1" : "+r"(__b) : "i"(mask));                                  \
		__b;                                                                               \
	})
#else
#define PG_FILTER_BOUND(v, mask) ((v) & (mask))
#include <linux/types.h>
#define PG_FILTER_INLINE static inline
#endif

#include "records.h"

#define PG_GENERATIONS 2

/* Syscalls whose events are filtered (index of pg_fkind): the open family,
 * connect, the path operations, then the syscalls judged by numbers, each
 * in its catalogue order (syscalls.h). */
#define PG_FK_ROW(name, NAME, ...) PG_FK_##NAME,
enum pg_fkind {
	PG_OPEN_SYSCALLS(PG_FK_ROW) PG_FK_CONNECT,
	PG_PATHOP_SYSCALLS(PG_FK_ROW) PG_ARGS_SYSCALLS(PG_FK_ROW) PG_FK__COUNT,
};
#undef PG_FK_ROW

/* The filter index of each record family's kinds. */
PG_FILTER_INLINE __u32 pg_fkind_of_open(__u16 kind)
{
	switch (kind) {
#define PG_FK_OPEN_ROW(name, NAME)                                                                 \
	case PG_OPEN_##NAME:                                                                       \
		return PG_FK_##NAME;
		PG_OPEN_SYSCALLS(PG_FK_OPEN_ROW)
#undef PG_FK_OPEN_ROW
	}
	return PG_FK__COUNT;
}

PG_FILTER_INLINE __u32 pg_fkind_of_pathop(__u16 kind)
{
	switch (kind) {
#define PG_FK_PATHOP_ROW(name, NAME, ...)                                                          \
	case PG_PO_##NAME:                                                                         \
		return PG_FK_##NAME;
		PG_PATHOP_SYSCALLS(PG_FK_PATHOP_ROW)
#undef PG_FK_PATHOP_ROW
	}
	return PG_FK__COUNT;
}

PG_FILTER_INLINE __u32 pg_fkind_of_args(__u16 kind)
{
	switch (kind) {
#define PG_FK_ARGS_ROW(name, NAME, ...)                                                            \
	case PG_AK_##NAME:                                                                         \
		return PG_FK_##NAME;
		PG_ARGS_SYSCALLS(PG_FK_ARGS_ROW)
#undef PG_FK_ARGS_ROW
	}
	return PG_FK__COUNT;
}

PG_FILTER_INLINE int pg_fkind_is_open(__u32 kind)
{
	return kind <= PG_FK_CREAT;
}

/* sendto and sendmsg: judged, like connect, by the family and the remote
 * port of their socket (the kernel resolves it before filtering). */
PG_FILTER_INLINE int pg_fkind_is_send(__u32 kind)
{
	return kind == PG_FK_SENDTO || kind == PG_FK_SENDMSG;
}

/* Fields the kernel judges. */
enum pg_ffield {
	PG_FF_CLASS = 0,  /* open: access mode, a few flag bits, failure (enum) */
	PG_FF_RAW = 1,	  /* open: the raw path argument contains "../" (enum) */
	PG_FF_FAMILY = 2, /* connect: address family class (enum) */
	PG_FF_COMM = 3,	  /* proc.name (the kernel comm, 15 characters) */
	PG_FF_PCOMM = 4,  /* proc.pname (the parent process's comm) */
	PG_FF_UID = 5,	  /* user.uid (effective) */
	PG_FF_PORT = 6,	  /* connect: remote port */
	PG_FF_PATH = 7,	  /* open: normalised absolute path, exact or prefix */
	PG_FF_SUFFIX = 8, /* open: the same path reversed, for suffixes */
	PG_FF_CONTAINER = 9, /* host or container, from the task's cgroup (enum) */
	PG_FF_ARG = 10,	     /* path operations: the first path argument, exact or prefix */
	PG_FF_EXE = 11,	     /* proc.exe (argv[0] at the process's exec), exact or prefix */
	PG_FF_ARGS = 12,     /* proc.args (the rest of argv, space-joined), exact or prefix */
	PG_FF_MEMFD = 13,    /* proc.is_exe_from_memfd (enum: 0 false, 1 true) */
	PG_FF_TOPLEVEL = 14, /* open: the path names an entry of / itself (enum: 0 no, 1 yes) */
	PG_FF_IMAGE = 15,    /* what userspace judged of the process's image (pg_fimage) */
	PG_FF_ARG_NEEDLE = 16,	/* path operations: which needles the first path argument
				 * contains (enum: a bit per needle, pg_fneedle) */
	PG_FF_PATH_NEEDLE = 17, /* open: which needles the path contains (likewise) */
	PG_FF__COUNT,
};

/* ---- enumerated fields: small domains, every value has an entry --------- */

#define PG_ENUM_VALUES 128

/* PG_FF_CLASS value bits. Falco's fd.typechar for an open is 'd' when
 * O_DIRECTORY was asked for, 'f' otherwise (also when the open failed). */
enum pg_open_class_bits {
	PG_OC_ACCMODE = 3, /* O_RDONLY 0, O_WRONLY 1, O_RDWR 2, (3) */
	PG_OC_CREAT = 1 << 2,
	PG_OC_TRUNC = 1 << 3,
	PG_OC_PATH = 1 << 4, /* O_PATH (Falco's "exec" open) */
	PG_OC_DIRECTORY = 1 << 5,
	PG_OC_FAILED = 1 << 6, /* the syscall returned an error */
};

/* PG_FF_FAMILY values. */
enum pg_family_class {
	PG_FAM_OTHER = 0,
	PG_FAM_UNIX = 1,
	PG_FAM_INET = 2,
	PG_FAM_INET6 = 3,
};

/* PG_FF_CONTAINER values. Userspace decides, once per cgroup, whether a
 * cgroup is a container's (user/cgroup.h) and tells the kernel through
 * pg_fcgroup; a cgroup it has not decided yet is PG_CT_UNKNOWN, and an
 * unknown value narrows nothing. */
enum pg_container_class {
	PG_CT_HOST = 0,
	PG_CT_CONTAINER = 1,
	PG_CT_UNKNOWN = 2, /* not a table value: the field is skipped */
};

#define PG_O_WRONLY 01
#define PG_O_RDWR 02
#define PG_O_CREAT 0100
#define PG_O_TRUNC 01000
#define PG_O_DIRECTORY 0200000
#define PG_O_PATH 010000000

PG_FILTER_INLINE __u32 pg_open_class(__u64 flags, __s64 ret)
{
	__u32 c = flags & PG_OC_ACCMODE;
	if (flags & PG_O_CREAT)
		c |= PG_OC_CREAT;
	if (flags & PG_O_TRUNC)
		c |= PG_OC_TRUNC;
	if (flags & PG_O_PATH)
		c |= PG_OC_PATH;
	if (flags & PG_O_DIRECTORY)
		c |= PG_OC_DIRECTORY;
	if (ret < 0)
		c |= PG_OC_FAILED;
	return c;
}

PG_FILTER_INLINE __u32 pg_family_class(__u16 family)
{
	switch (family) {
	case 1:
		return PG_FAM_UNIX;
	case 2:
		return PG_FAM_INET;
	case 10:
		return PG_FAM_INET6;
	default:
		return PG_FAM_OTHER;
	}
}

/* ---- table layouts (keys and values of the pinned maps) ----------------- */

/* pg_fctl[0]: which generation is live, whether filtering is on, and which
 * lifecycle records go out as they happen. */
struct pg_filter_ctl {
	__u32 gen;
	__u32 enabled; /* 0: every event passes with every slot, every record is eager */
	__u32 eager;   /* PG_EAGER_* */
	__u32 version; /* changes with every table change: cached verdicts older are stale */
};
PG_ABI_ASSERT(sizeof(struct pg_filter_ctl) == 16, "pg_filter_ctl layout");

/* pg_ftask (task storage): what a task's own fields (comm, parent comm,
 * uid, container) leave of all slots, with the facts it was computed
 * from. An event of the task whose facts and table version match uses
 * the slots instead of one lookup per field. */
struct pg_task_slots {
	__u32 version; /* pg_filter_ctl.version + 1; 0: never computed */
	__u32 uid;
	__u64 cgroup_id;
	char comm[PG_COMM_LEN];
	char pcomm[PG_COMM_LEN];
	struct pg_slots slots;
};
PG_ABI_ASSERT(sizeof(struct pg_task_slots) == 48 + PG_SLOTS / 8, "pg_task_slots layout");

/* pg_filter_ctl.eager: a loaded rule names forks (clone, clone3, fork,
 * vfork) or exits (procexit), so those records are sent as they happen.
 * Otherwise the process table does not need them then: a new process's
 * fork record waits in pg_pending_fork until the process first sends a
 * record (and is dropped when that record is its exec, which says all the
 * fork would, or when it exits first), and exits are not sent at all:
 * userspace sweeps dead processes from its table by itself. */
#define PG_EAGER_FORK 1u
#define PG_EAGER_EXIT 2u
/* A loaded rule reads a process's environment (proc.env, proc.aenv, in a
 * condition or an output): exec records carry it. Otherwise they do not
 * (PG_SF_OMITTED): copying it is most of what an exec record costs. */
#define PG_EAGER_ENV 4u

/* Lifecycle programs, for pg_flc (seen: the program ran; passed: a record
 * went to userspace, pending forks included when they are flushed). */
enum pg_lifecycle {
	PG_LC_EXEC = 0,
	PG_LC_FORK = 1,
	PG_LC_EXIT = 2,
	PG_LC__COUNT,
};

/* pg_fkind[gen * PG_FK__COUNT + kind]: slots interested in a syscall. */
struct pg_kind_slots {
	struct pg_slots slots;
};
PG_ABI_ASSERT(sizeof(struct pg_kind_slots) == PG_SLOTS / 8, "pg_kind_slots layout");

/* pg_fmask[gen * PG_FF__COUNT + field]. */
struct pg_field_mask {
	struct pg_slots uses;	     /* slots with a constraint on the field */
	struct pg_slots absent_pass; /* of those, slots that pass when no entry matches */
};
PG_ABI_ASSERT(sizeof(struct pg_field_mask) == 2 * (PG_SLOTS / 8), "pg_field_mask layout");

/* pg_fenum[(gen * PG_FF__COUNT + field) * PG_ENUM_VALUES + value]. */
struct pg_accept {
	struct pg_slots slots; /* slots accepting this value */
};
PG_ABI_ASSERT(sizeof(struct pg_accept) == PG_SLOTS / 8, "pg_accept layout");

/* pg_fstr: comm-valued fields. */
struct pg_fkey_str {
	__u32 gen;
	__u32 field; /* enum pg_ffield: PG_FF_COMM or PG_FF_PCOMM */
	char value[PG_COMM_LEN];
};
PG_ABI_ASSERT(sizeof(struct pg_fkey_str) == 8 + PG_COMM_LEN, "pg_fkey_str layout");

/* pg_fnum: integer-valued fields. */
struct pg_fkey_num {
	__u32 gen;
	__u32 field; /* enum pg_ffield: PG_FF_UID or PG_FF_PORT */
	__u64 value;
};
PG_ABI_ASSERT(sizeof(struct pg_fkey_num) == 16, "pg_fkey_num layout");

/* pg_fpath: an LPM trie over {generation, field, path bytes}. Exact paths
 * are stored with their terminating NUL, prefixes without; suffixes are
 * stored reversed under PG_FF_SUFFIX. Lookups use the event's path with its
 * NUL, so the longest match is the most specific entry. */
/* Path bytes in a key, NUL included: an LPM key holds at most 256 data
 * bytes, two of which are the generation and the field. */
#define PG_PATH_KEY_MAX 254
#define PG_PATH_KEY_HDR 2
struct pg_fkey_path {
	__u32 prefixlen; /* in bits, over gen, field and path */
	__u8 gen;
	__u8 field;
	char path[PG_PATH_KEY_MAX];
};
PG_ABI_ASSERT(sizeof(struct pg_fkey_path) == 4 + PG_PATH_KEY_HDR + PG_PATH_KEY_MAX,
	      "pg_fkey_path layout");

/* The usable length of a path read into a key with
 * bpf_probe_read_user_str(key->path, PG_PATH_KEY_MAX, ...) returning `n`,
 * or -1: a failed read, or a path that may have been cut. */
/* What pg_filter_eval is told of a path argument besides its length. */
enum pg_path_state {
	PG_PATH_UNUSABLE = -1, /* unreadable, or a key long or more */
	PG_PATH_NONE = -2,     /* the syscall has none */
	PG_PATH_UNREAD = -3,   /* an open named by its object: read when needed */
};

PG_FILTER_INLINE long pg_path_len_from_read(long n)
{
	return n > 0 && n < PG_PATH_KEY_MAX ? n - 1 : (long)PG_PATH_UNUSABLE;
}

/* pg_fproc[tgid]: proc.exe and proc.args as the process's exec set them
 * (a forked child has its parent's: see pg_proc_of), cut to PG_PROC_STR - 1 bytes. A
 * string is `whole` when it fit; a cut one still answers every prefix of
 * at most its length, and is unequal to every shorter exact value, so rule
 * values longer than PG_PROC_STR - 2 bytes are not lowered. */
#define PG_PROC_STR 64
struct pg_proc_strs {
	char exe[PG_PROC_STR];
	char args[PG_PROC_STR];
	__u8 exe_len; /* bytes stored, without a NUL */
	__u8 args_len;
	__u8 exe_whole;
	__u8 args_whole;
	__u32 exe_flags; /* enum pg_exe_flags of the exec */
	__u64 image;	 /* the exec's image id (pg_exec_rec.image), the key of pg_fimage */
	__u64 exec_ns;	 /* when that exec was (pg_hdr.ts_ns of its record) */
};
PG_ABI_ASSERT(sizeof(struct pg_proc_strs) == 2 * PG_PROC_STR + 24, "pg_proc_strs layout");

/* pg_fneedle[pg_needle_index(gen, field)]: the substrings (`contains`, and
 * what an `endswith` implies) an open's path (PG_FF_PATH_NEEDLE) or a path
 * operation's first argument (PG_FF_ARG_NEEDLE) is searched for, at most
 * PG_NEEDLES per field and generation, each at most PG_NEEDLE_MAX bytes, as
 * four little-endian words with the masks of their bytes. The field's value
 * is the set of needles found, one bit each, so one enum lookup judges
 * every slot. */
#define PG_NEEDLES 7 /* 2^7 = PG_ENUM_VALUES */
#define PG_NEEDLE_MAX 32
struct pg_needles {
	__u32 count;
	__u32 len[PG_NEEDLES];
	__u64 word[PG_NEEDLES][PG_NEEDLE_MAX / 8];
	__u64 mask[PG_NEEDLES][PG_NEEDLE_MAX / 8];
};
PG_ABI_ASSERT(sizeof(struct pg_needles) == 32 + 2 * PG_NEEDLES * PG_NEEDLE_MAX, "pg_needles layout");

PG_FILTER_INLINE __u32 pg_needle_index(__u32 gen, __u32 field)
{
	return 2 * (gen & 1) + (field == PG_FF_PATH_NEEDLE ? 0 : 1);
}

/* pg_fimage[image]: PG_FF_IMAGE, the slots a process image leaves, as
 * userspace judged them when the image's exec record reached it. Some
 * conditions are fixed by the exec for as long as the process runs that
 * image: proc.env, proc.cmdline, proc.args... (policy/fields.h says which
 * fields). The kernel cannot judge them, but userspace can, once per
 * exec, and the kernel then uses the answer for every later event of the
 * process and of the children it forks before they exec (a failed execve
 * of a PATH search among them). Such a verdict holds only under the tables
 * it was computed for (`version`) and for tasks whose comm is the one it
 * was computed with (proc.name and proc.cmdline read the event's comm);
 * without a current entry the field narrows nothing. */
struct pg_image_slots {
	__u32 version; /* pg_filter_ctl.version + 1 of the tables judged */
	__u32 pad;
	char comm[PG_COMM_LEN];
	struct pg_slots slots; /* slots the image's conditions leave */
};
PG_ABI_ASSERT(sizeof(struct pg_image_slots) == 24 + PG_SLOTS / 8, "pg_image_slots layout");

/* Filling a pg_proc_strs from the first `n` bytes of a process's argument
 * area of `total` bytes (argv strings, each NUL-terminated, as at exec), the
 * way userspace splits it: proc.exe is the first string, proc.args the
 * others joined by spaces. One byte per step, so the eBPF side can drive
 * the steps with bpf_loop(). What changes from step to step lives in the
 * pg_proc_strs (a map value there), none of it in pg_proc_fill (the
 * program's stack): the verifier then finds every step alike and checks
 * the callback once instead of step by step. */
struct pg_proc_fill {
	struct pg_proc_strs *p;
	const char *area;
	__u32 n, total;
};

PG_FILTER_INLINE void pg_proc_fill_start(struct pg_proc_fill *f, struct pg_proc_strs *p,
					 const char *area, __u32 n, __u32 total)
{
	f->p = p;
	f->area = area;
	f->n = n < total ? n : total;
	f->total = total;
	p->exe_whole = p->args_whole = 0;
	p->exe_len = p->args_len = 0;
}

/* Byte i; returns 1 when the strings are settled. Until argv[0]'s NUL,
 * bytes go to exe (exe_whole still 0). */
PG_FILTER_INLINE int pg_proc_fill_step(struct pg_proc_fill *f, __u32 i)
{
	struct pg_proc_strs *p = f->p;
	if (i >= f->n || i >= 2 * PG_PROC_STR)
		return 1;
	const char c = f->area[PG_FILTER_BOUND(i, 2 * PG_PROC_STR - 1)];
	if (!p->exe_whole) {
		if (c == 0) {
			p->exe_whole = 1;
			if (i + 1 >= f->total) {
				p->args_whole = 1; /* no more arguments */
				return 1;
			}
			return 0;
		}
		const __u32 x = p->exe_len;
		if (x >= PG_PROC_STR - 1)
			return 1; /* argv[0] cut: the arguments are unknown */
		p->exe[x & (PG_PROC_STR - 1)] = c;
		p->exe_len = (__u8)(x + 1);
		return 0;
	}
	if (i + 1 >= f->total) {
		/* the area's last byte: its final NUL */
		if (c == 0)
			p->args_whole = 1;
		return 1;
	}
	const __u32 a = p->args_len;
	if (a >= PG_PROC_STR - 1)
		return 1;
	p->args[a & (PG_PROC_STR - 1)] = c ? c : ' ';
	p->args_len = (__u8)(a + 1);
	return 0;
}

/* pg_fstats[kind] (per CPU): events the filter saw and let through. */
struct pg_filter_stats {
	__u64 seen;
	__u64 passed;
};
PG_ABI_ASSERT(sizeof(struct pg_filter_stats) == 16, "pg_filter_stats layout");

/* What the filter needs to know about one event. */
struct pg_filter_event {
	__u32 kind; /* enum pg_fkind */
	__u32 uid;
	__u64 open_flags;
	__s64 ret;
	/* connect: the remote address family; sendto/sendmsg: the socket's
	 * family, 0 when the descriptor is no socket (nothing is judged) */
	__u16 family;
	__u16 port; /* connect, sendto, sendmsg: remote port (inet families) */
	__u8 container; /* enum pg_container_class (the native build's value) */
	/* Path operations: the first argument is judged as passed (a symlink's
	 * target), else only when absolute and normalised (it names a file,
	 * and userspace reports it resolved). */
	__u8 arg_as_is;
	/* Opens that succeeded: the path and suffix fields judge the opened
	 * file's own path (pg_fl_kname), not the argument; the argument is
	 * still judged for the raw "../" fact. */
	__u8 by_object;
	__u8 pad;
	__s32 dirfd; /* what a relative path argument is relative to (PG_AT_FDCWD: the cwd) */
	__u32 version; /* pg_filter_ctl.version of the tables judging it */
	__u64 cgroup_id;
	char comm[PG_COMM_LEN];
	char pcomm[PG_COMM_LEN];
};

/* How each record family becomes the filter's input, in one place for the
 * BPF programs and the native differential test. The task's facts (uid,
 * comm, container...) are added by the includer afterwards. */
PG_FILTER_INLINE struct pg_filter_event pg_fe_open(__u16 kind, __s64 ret, __u64 flags, __s32 dirfd)
{
	struct pg_filter_event fe = {};
	fe.kind = pg_fkind_of_open(kind);
	fe.open_flags = flags;
	fe.ret = ret;
	fe.dirfd = dirfd;
	fe.by_object = ret >= 0;
	return fe;
}

/* connect: the family and port the caller asked for (host byte order). */
PG_FILTER_INLINE struct pg_filter_event pg_fe_connect(__u16 family, __u16 port)
{
	struct pg_filter_event fe = {};
	fe.kind = PG_FK_CONNECT;
	fe.family = family;
	fe.port = port;
	return fe;
}

/* A symlink's target (and the like) is a string, judged as passed; other
 * paths name files and are judged only when absolute and normalised. */
PG_FILTER_INLINE struct pg_filter_event pg_fe_pathop(__u16 kind, __s64 ret, __s32 dirfd1)
{
	struct pg_filter_event fe = {};
	fe.kind = pg_fkind_of_pathop(kind);
	fe.ret = ret;
	fe.arg_as_is = (__u8)pg_pathop_arg1_as_is(kind);
	fe.dirfd = dirfd1;
	return fe;
}

/* sock: the descriptor resolved before judging (sendto, sendmsg), else
 * NULL; a send is judged by its socket's family and remote port. */
PG_FILTER_INLINE struct pg_filter_event pg_fe_args(__u16 kind, __s64 ret,
						    const struct pg_fdinfo *sock)
{
	struct pg_filter_event fe = {};
	fe.kind = pg_fkind_of_args(kind);
	fe.ret = ret;
	if (sock && pg_fkind_is_send(fe.kind)) {
		fe.family = sock->sock_family;
		fe.port = sock->remote.port;
	}
	return fe;
}

/* ---- slot-set arithmetic ------------------------------------------------ */

PG_FILTER_INLINE int pg_slots_any(const struct pg_slots *s)
{
	__u64 any = 0;
	for (int i = 0; i < PG_SLOT_WORDS; i++)
		any |= s->w[i];
	return any != 0;
}

PG_FILTER_INLINE int pg_slots_meet(const struct pg_slots *a, const struct pg_slots *b)
{
	__u64 any = 0;
	for (int i = 0; i < PG_SLOT_WORDS; i++)
		any |= a->w[i] & b->w[i];
	return any != 0;
}

/* S &= ~uses | accept, where accept is the entry found, or absent_pass. */
PG_FILTER_INLINE void pg_slots_narrow(struct pg_slots *s, const struct pg_field_mask *m,
				      const struct pg_slots *accept)
{
	const struct pg_slots *a = accept ? accept : &m->absent_pass;
	for (int i = 0; i < PG_SLOT_WORDS; i++)
		s->w[i] &= ~m->uses.w[i] | a->w[i];
}

/* ---- path facts --------------------------------------------------------- */

enum pg_path_facts {
	PG_PF_CLEAN = 1 << 0,  /* absolute and normalised: no //, /./, /../, trailing / */
	PG_PF_DOTDOT = 1 << 1, /* contains "../" */
	PG_PF_TOPLEVEL = 1 << 2, /* clean, and no "/" but the first: "/", "/x" */
};

/* Path facts are computed eight bytes at a time (SWAR): for every byte
 * position, masks say whether it and the next three bytes are '/', '.' or
 * NUL, and the bad sequences are ANDs of shifted masks. The only state
 * carried between words is two accumulated masks, so the eBPF verifier
 * walks the loop once per word, and the cost is a few instructions per
 * eight bytes.
 *
 * p must have a NUL at p[len] (len < PG_PATH_KEY_MAX) and be readable up to
 * 16 bytes past PG_PATH_KEY_MAX rounded down to a word (the key buffers are
 * followed by more key, see pg_fkeys and the native test double). Bytes after the
 * NUL are never decisive: every sequence tested needs its earlier bytes to
 * be '/' or '.', and the NUL is neither. */
#define PG_ONES 0x0101010101010101ULL
#define PG_HIGHS 0x8080808080808080ULL

/* 0x80 in each byte of w equal to c, 0 elsewhere (exact, no carries). */
PG_FILTER_INLINE __u64 pg_bytes_eq(__u64 w, __u8 c)
{
	__u64 x = w ^ (PG_ONES * c);
	return ~(((x & ~PG_HIGHS) + ~PG_HIGHS) | x | ~PG_HIGHS);
}

PG_FILTER_INLINE __u64 pg_load64(const char *p)
{
	__u64 w;
	__builtin_memcpy(&w, p, sizeof(w));
	return w; /* little-endian: byte i of the string is bits 8i..8i+7 */
}

/* Whether the task verdict `c` was computed from this event's task facts
 * under the tables judging it. */
PG_FILTER_INLINE int pg_task_slots_current(const struct pg_task_slots *c,
					   const struct pg_filter_event *e)
{
	return c->version == e->version + 1 && c->uid == e->uid && c->cgroup_id == e->cgroup_id &&
	       pg_load64(c->comm) == pg_load64(e->comm) &&
	       pg_load64(c->comm + 8) == pg_load64(e->comm + 8) &&
	       pg_load64(c->pcomm) == pg_load64(e->pcomm) &&
	       pg_load64(c->pcomm + 8) == pg_load64(e->pcomm + 8);
}

/* Whether the image verdict `v` holds for this event: computed under the
 * tables judging it, for the comm the event's task has. */
PG_FILTER_INLINE int pg_image_slots_current(const struct pg_image_slots *v,
					    const struct pg_filter_event *e)
{
	return v->version == e->version + 1 && pg_load64(v->comm) == pg_load64(e->comm) &&
	       pg_load64(v->comm + 8) == pg_load64(e->comm + 8);
}

/* Mark `c`'s slots as computed from this event's task facts. */
PG_FILTER_INLINE void pg_task_slots_stamp(struct pg_task_slots *c, const struct pg_filter_event *e)
{
	c->version = e->version + 1;
	c->uid = e->uid;
	c->cgroup_id = e->cgroup_id;
	__builtin_memcpy(c->comm, e->comm, PG_COMM_LEN);
	__builtin_memcpy(c->pcomm, e->pcomm, PG_COMM_LEN);
}

/* The needles of `n` that start at p, with `left` bytes of the string from
 * p on (p must be readable PG_NEEDLE_MAX bytes on, as the key buffers are:
 * see pg_path_facts). One bit per needle. */
PG_FILTER_INLINE __u32 pg_needles_at(const struct pg_needles *n, const char *p, __u32 left)
{
	__u32 found = 0;
	for (__u32 i = 0; i < PG_NEEDLES; i++) {
		if (i >= n->count)
			break;
		if (n->len[i] > left || (pg_load64(p) & n->mask[i][0]) != n->word[i][0])
			continue;
		int all = 1;
		for (__u32 k = 1; k < PG_NEEDLE_MAX / 8; k++)
			if ((pg_load64(p + 8 * k) & n->mask[i][k]) != n->word[i][k])
				all = 0;
		if (all)
			found |= 1u << i;
	}
	return found;
}

PG_FILTER_INLINE __u32 pg_path_facts(const char *p, __u32 len)
{
	__u64 bad = len == 0 || p[0] != '/';
	__u64 dotdot = 0, deep = 0;
	for (__u32 k = 0; k < (PG_PATH_KEY_MAX + 7) / 8; k++) {
		if (8 * k >= len)
			break;
		__u64 w0 = pg_load64(p + 8 * k), w1 = pg_load64(p + 8 * k + 8);
		/* nN: the string shifted N bytes, so byte i of nN is byte i+N */
		__u64 n1 = w0 >> 8 | w1 << 56, n2 = w0 >> 16 | w1 << 48, n3 = w0 >> 24 | w1 << 40;
		__u64 slash = pg_bytes_eq(w0, '/'), dot = pg_bytes_eq(w0, '.');
		__u64 slash1 = pg_bytes_eq(n1, '/'), dot1 = pg_bytes_eq(n1, '.'),
		      end1 = pg_bytes_eq(n1, 0);
		__u64 slash2 = pg_bytes_eq(n2, '/'), dot2 = pg_bytes_eq(n2, '.'),
		      end2 = pg_bytes_eq(n2, 0);
		__u64 slash3 = pg_bytes_eq(n3, '/'), end3 = pg_bytes_eq(n3, 0);
		__u32 rem = len - 8 * k;
		__u64 valid = rem >= 8 ? ~0ULL : (1ULL << (8 * rem)) - 1;
		/* A trailing "/" is bad except for "/" itself (position 0). */
		__u64 trailing = slash & end1 & (k == 0 ? ~0x80ULL : ~0ULL);
		__u64 doubled = slash & slash1;				/* "//" */
		__u64 single_dot = slash & dot1 & (slash2 | end2);	/* "/./", "/." */
		__u64 double_dot = slash & dot1 & dot2 & (slash3 | end3); /* "/../", "/.." */
		bad |= valid & (doubled | trailing | single_dot | double_dot);
		dotdot |= valid & dot & dot1 & slash2;			      /* "../" */
		deep |= valid & slash & (k == 0 ? ~0xffULL : ~0ULL);	      /* a second "/" */
	}
	return (bad ? 0 : PG_PF_CLEAN) | (dotdot ? PG_PF_DOTDOT : 0) |
	       (bad || deep ? 0 : PG_PF_TOPLEVEL);
}

/* rev[i] = fwd[len - 1 - i] for i < len (len < PG_PATH_KEY_MAX): eight
 * bytes at a time from the end of fwd, byte-swapped, then the at most seven
 * bytes left at its start one by one. Like pg_path_facts, it may read past
 * fwd's PG_PATH_KEY_MAX bytes into the key that follows. */
PG_FILTER_INLINE void pg_path_reverse(const char *fwd, char *rev, __u32 len)
{
	__u32 k = 0;
	for (; k < PG_PATH_KEY_MAX / 8; k++) {
		if (8 * k + 8 > len)
			break;
		__u64 w = __builtin_bswap64(pg_load64(fwd + PG_FILTER_BOUND(len - 8 * k - 8, 255)));
		__builtin_memcpy(rev + PG_FILTER_BOUND(8 * k, 255), &w, sizeof(w));
	}
	for (__u32 j = 8 * k; j < 8 * k + 8; j++) {
		if (j >= len)
			break;
		rev[PG_FILTER_BOUND(j, 255)] = fwd[PG_FILTER_BOUND(len - 1 - j, 255)];
	}
}

#endif
