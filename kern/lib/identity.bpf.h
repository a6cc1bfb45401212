/* File identity (kern/api/identity.h): the files and directories the rules
 * name, by device and inode, looked up while an opened file's path is
 * walked so hard links and bind mounts resolve to the watched name. */
#ifndef PG_KERN_LIB_IDENTITY_BPF_H
#define PG_KERN_LIB_IDENTITY_BPF_H

#include "lib/common.bpf.h"
#include "api/identity.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PG_FINO_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pg_fino_key);
	__type(value, struct pg_fino_name);
} pg_fino SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pg_fino_bloom);
} pg_finobits SEC(".maps") __weak;

/* The watched name of `inode`, or NULL; `key` is where the lookup key is
 * built (map memory, when the caller's stack is short). Most inodes are not
 * watched: their bit in pg_finobits, one read away, says so without the
 * hash lookup. */
static __always_inline const struct pg_fino_name *pg_fino_of_inode(struct inode *inode,
								   struct pg_fino_key *key)
{
	if (!inode)
		return NULL;
	__u32 zero = 0;
	const struct pg_fino_bloom *b = bpf_map_lookup_elem(&pg_finobits, &zero);
	if (!b)
		return NULL;
	const __u64 ino = BPF_CORE_READ(inode, i_ino);
	const __u32 bit = pg_fino_bit(ino);
	if (!(b->w[(bit >> 6) & (PG_FINO_BLOOM_WORDS - 1)] >> (bit & 63) & 1))
		return NULL;
	key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key->ino = ino;
	return bpf_map_lookup_elem(&pg_fino, key);
}

#endif
