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

/* The watched name of `dentry`'s inode, or NULL. */
static __always_inline const struct pg_fino_name *pg_fino_of(struct dentry *dentry)
{
	struct inode *inode = BPF_CORE_READ(dentry, d_inode);
	if (!inode)
		return NULL;
	struct pg_fino_key key = {
	    .dev = BPF_CORE_READ(inode, i_sb, s_dev),
	    .ino = BPF_CORE_READ(inode, i_ino),
	};
	return bpf_map_lookup_elem(&pg_fino, &key);
}

#endif
