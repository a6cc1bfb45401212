/* The kernel filter: table layouts and the evaluation logic.
 *
 * One header, compiled twice: into the eBPF programs, and natively into the
 * daemon's table builder and the differential fuzzer, so the logic that the
 * fuzzer checks is the logic the kernel runs. The includer provides the
 * table lookups (see "Lookups" below); everything else is here.
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
#else
#include <linux/types.h>
#define PG_FILTER_INLINE static inline
#endif

#include "records.h"

#define PG_GENERATIONS 2

/* Syscalls whose events are filtered (index of pg_fkind). */
enum pg_fkind {
	PG_FK_OPEN = 0,
	PG_FK_OPENAT = 1,
	PG_FK_OPENAT2 = 2,
	PG_FK_CREAT = 3,
	PG_FK_CONNECT = 4,
	PG_FK__COUNT,
};

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

/* pg_fctl[0]: which generation is live, and whether filtering is on. */
struct pg_filter_ctl {
	__u32 gen;
	__u32 enabled; /* 0: every event passes with every slot */
};

/* pg_fkind[gen * PG_FK__COUNT + kind]: slots interested in a syscall. */
struct pg_kind_slots {
	struct pg_slots slots;
};

/* pg_fmask[gen * PG_FF__COUNT + field]. */
struct pg_field_mask {
	struct pg_slots uses;	     /* slots with a constraint on the field */
	struct pg_slots absent_pass; /* of those, slots that pass when no entry matches */
};

/* pg_fenum[(gen * PG_FF__COUNT + field) * PG_ENUM_VALUES + value]. */
struct pg_accept {
	struct pg_slots slots; /* slots accepting this value */
};

/* pg_fstr: comm-valued fields. */
struct pg_fkey_str {
	__u32 gen;
	enum pg_ffield field; /* PG_FF_COMM or PG_FF_PCOMM */
	char value[PG_COMM_LEN];
};

/* pg_fnum: integer-valued fields. */
struct pg_fkey_num {
	__u32 gen;
	enum pg_ffield field; /* PG_FF_UID or PG_FF_PORT */
	__u64 value;
};

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

/* The usable length of a path read into a key with
 * bpf_probe_read_user_str(key->path, PG_PATH_KEY_MAX, ...) returning `n`,
 * or -1: a failed read, or a path that may have been cut. */
PG_FILTER_INLINE long pg_path_len_from_read(long n)
{
	return n > 0 && n < PG_PATH_KEY_MAX ? n - 1 : -1;
}

/* pg_fstats[kind] (per CPU): events the filter saw and let through. */
struct pg_filter_stats {
	__u64 seen;
	__u64 passed;
};

/* What the filter needs to know about one event. */
struct pg_filter_event {
	__u32 kind; /* enum pg_fkind */
	__u32 uid;
	__u64 open_flags;
	__s64 ret;
	__u16 family; /* connect: remote address family */
	__u16 port;   /* connect: remote port (inet families) */
	__u32 pad;
	char comm[PG_COMM_LEN];
	char pcomm[PG_COMM_LEN];
};

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
};

/* Path facts are computed one byte at a time: each byte is judged by
 * looking ahead at most three bytes, never past the NUL at p[len], and the
 * only state carried between bytes is two flags. The eBPF programs drive
 * the steps with bpf_loop(); the native build with a for loop. */
struct pg_path_scan {
	__u32 bad;
	__u32 dotdot;
};

PG_FILTER_INLINE void pg_path_scan_init(struct pg_path_scan *s, const char *p, __u32 len)
{
	s->bad = len == 0 || p[0] != '/';
	s->dotdot = 0;
}

/* i < len, and p has 3 readable bytes past index PG_PATH_KEY_MAX - 2. */
PG_FILTER_INLINE void pg_path_scan_step(struct pg_path_scan *s, const char *p, __u32 i)
{
	char c = p[i];
	if (c == '/') {
		char n1 = p[i + 1];
		if (n1 == '/') {
			s->bad = 1; /* "//" */
		} else if (n1 == 0) {
			if (i > 0)
				s->bad = 1; /* a trailing "/" */
		} else if (n1 == '.') {
			char n2 = p[i + 2];
			if (n2 == '/' || n2 == 0) {
				s->bad = 1; /* "/./" or a trailing "/." */
			} else if (n2 == '.') {
				char n3 = p[i + 3];
				if (n3 == '/' || n3 == 0)
					s->bad = 1; /* "/../" or a trailing "/.." */
			}
		}
	} else if (c == '.' && p[i + 1] == '.' && p[i + 2] == '/') {
		s->dotdot = 1;
	}
}

PG_FILTER_INLINE __u32 pg_path_scan_facts(const struct pg_path_scan *s)
{
	return (s->bad ? 0 : PG_PF_CLEAN) | (s->dotdot ? PG_PF_DOTDOT : 0);
}

#ifndef __BPF__
/* The whole scan, natively. */
PG_FILTER_INLINE __u32 pg_path_facts(const char *p, __u32 len)
{
	struct pg_path_scan s;
	pg_path_scan_init(&s, p, len);
	for (__u32 i = 0; i < len; i++)
		pg_path_scan_step(&s, p, i);
	return pg_path_scan_facts(&s);
}
#endif

#endif
