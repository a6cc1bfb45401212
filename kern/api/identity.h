/* File identity: the files and directories the kernel filter's path tables
 * name, by device and inode (pg_fino), so that an opened file reached by
 * another name — a hard link, a bind mount — is still named as the rules
 * name it.
 *
 * Userspace stats every exact path and every prefix directory of the live
 * path tables at each policy load and writes one entry per identity. When
 * the kernel walks an opened file's path (the record's name and the
 * filter's), it looks each dentry it passes up — the file, then its
 * directories — up here first; on a hit it stops and puts the entry's path
 * in place of the rest of the walk: /mnt/etc-bind/shadow becomes
 * /etc/shadow, a hard link /tmp/x to /etc/shadow becomes /etc/shadow.
 */
#ifndef PG_KERN_API_IDENTITY_H
#define PG_KERN_API_IDENTITY_H

#include "records.h"

/* Room for one name: at most PG_FINO_PATH - 1 bytes (a key's worth). */
#define PG_FINO_PATH 256
#define PG_FINO_MAX 4096

struct pg_fino_key {
	__u64 dev; /* the superblock's s_dev, the kernel's encoding (major << 20 | minor) */
	__u64 ino;
};
PG_ABI_ASSERT(sizeof(struct pg_fino_key) == 16, "pg_fino_key layout");

struct pg_fino_name {
	/* The absolute path without its leading "/" part for the root: "/etc"
	 * is "/etc"; "/" itself is empty (len 0), since every walk already
	 * ends there. */
	char path[PG_FINO_PATH];
	/* The same path as a dentry walk emits it: components leaf first, each
	 * NUL-terminated ("etc\0" for /etc; "shadow\0etc\0" for /etc/shadow). */
	char comps[PG_FINO_PATH];
	__u32 len; /* bytes of path, and of comps (the two are the same size) */
	__u32 pad;
};
PG_ABI_ASSERT(sizeof(struct pg_fino_name) == 2 * PG_FINO_PATH + 8, "pg_fino_name layout");

/* Which inode numbers pg_fino may hold, one bit each by a hash of the
 * number: a walk reads an inode's number and looks at its bit before it
 * pays for the device and the hash lookup. Userspace sets the bit of every
 * identity it enters, before the entry, and clears bits only after the
 * entries that needed them are gone, so a bit is never missing for an
 * entry (a set bit without an entry costs one lookup). */
#define PG_FINO_BLOOM_WORDS 1024 /* 65,536 bits */

struct pg_fino_bloom {
	__u64 w[PG_FINO_BLOOM_WORDS];
};
PG_ABI_ASSERT(sizeof(struct pg_fino_bloom) == 8 * PG_FINO_BLOOM_WORDS, "pg_fino_bloom layout");

/* The bit of inode number `ino`: a multiplicative hash's top 16 bits. */
PG_SHARED_FN __u32 pg_fino_bit(__u64 ino)
{
	return (__u32)((ino * 0x9E3779B97F4A7C15ULL) >> 48);
}

/* The kernel's dev_t encoding (MKDEV) of a major and minor number. */
PG_SHARED_FN __u64 pg_kernel_dev(__u32 major, __u32 minor)
{
	return ((__u64)major << 20) | minor;
}

#endif
