/* Resolving a task's file descriptor to its struct file, in the kernel, at
 * event time: how fd-based events learn what the fd is without shipping
 * every open, dup and close to userspace. */
#ifndef PG_KERN_LIB_FD_BPF_H
#define PG_KERN_LIB_FD_BPF_H

#include "lib/common.bpf.h"
#include "lib/sock.bpf.h"
#include "lib/strings.bpf.h"

/* The task's open file `fd`, or NULL. `task` comes from
 * bpf_get_current_task_btf(), so the walk to the table is direct BTF loads
 * (one instruction each, faults read as 0) rather than probe-read helper
 * calls; only the array slot needs a helper. (bpf_rdonly_cast would type
 * the result for direct loads too, but Debian 12's libbpf cannot link an
 * extern kfunc across our objects.) */
static __always_inline struct file *pg_fd_file(struct task_struct *task, long fd)
{
	if (fd < 0)
		return NULL;
	struct fdtable *fdt = task->files->fdt;
	if (!fdt || (unsigned long)fd >= fdt->max_fds)
		return NULL;
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fdt->fd[fd]);
	return f;
}

#define PG_O_APPEND 02000

/* The file a successful open with `flags` installed at descriptor `fd`, read
 * at sys_exit. A sibling thread sharing the descriptor table can close the
 * descriptor and open something else into the same slot before sys_exit
 * runs: a file whose access mode, O_APPEND or O_PATH differ from the call's
 * is not the one opened, and gives NULL (the name is then unknown, never
 * another file's). A file opened there with the same flags cannot be told
 * apart; docs/filters.md describes that residual. */
static __always_inline struct file *pg_open_file(struct task_struct *task, long fd, __u64 flags)
{
	struct file *f = pg_fd_file(task, fd);
	if (!f)
		return NULL;
	const __u32 ff = BPF_CORE_READ(f, f_flags);
	/* O_PATH keeps no access mode (build_open_flags() drops it). */
	if (flags & PG_O_PATH)
		return (ff & PG_O_PATH) ? f : NULL;
	const __u32 mask = PG_O_WRONLY | PG_O_RDWR | PG_O_APPEND;
	return (ff & (mask | PG_O_PATH)) == (flags & mask) ? f : NULL;
}

/* The directory a relative path argument `path` (already appended to the
 * record) is relative to: the cwd for PG_AT_FDCWD, else dirfd's file, as a
 * dentry walk into `base`. Absolute or unread paths get no base. */
static __always_inline __u32 pg_put_base_dir(__u8 *rec, __u32 off, struct pg_str *base,
					     const struct pg_str *path, struct task_struct *task,
					     long dirfd)
{
	base->off = base->len = base->flags = base->pad = 0;
	if (path->len == 0 || rec[PG_OFF(path->off)] == '/')
		return off;
	struct dentry *d;
	struct vfsmount *m;
	if ((__s32)dirfd == PG_AT_FDCWD) {
		d = BPF_CORE_READ(task, fs, pwd.dentry);
		m = BPF_CORE_READ(task, fs, pwd.mnt);
	} else {
		struct file *f = pg_fd_file(task, dirfd);
		d = BPF_CORE_READ(f, f_path.dentry);
		m = BPF_CORE_READ(f, f_path.mnt);
	}
	return pg_put_path_walk(rec, off, base, d, m, task);
}

/* Resolve the task's descriptor `fd` into `fi`: the file's type, and for a
 * socket both its ends, for anything else its path as a dentry walk
 * appended at `off`. A descriptor that is not open leaves mode 0. */
static __always_inline __u32 pg_put_fdinfo(__u8 *rec, __u32 off, struct pg_fdinfo *fi,
					   struct task_struct *task, long fd, __u64 kfile)
{
	__builtin_memset(fi, 0, sizeof(*fi));
	fi->num = fd;
	struct file *f = kfile ? (struct file *)kfile : pg_fd_file(task, fd);
	if (!f)
		return off;
	fi->mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((fi->mode & PG_S_IFMT) == PG_S_IFSOCK) {
		fi->sock_family =
		    pg_read_socket(f, &fi->sock_type, &fi->protocol, &fi->local, &fi->remote);
		if (fi->sock_family == PG_AF_UNIX)
			off = pg_put_unix_path(rec, off, &fi->path, f);
		else if (fi->protocol == PG_IPPROTO_TCP && fi->remote.port && pg_tcp_port_bound(f))
			fi->flags |= PG_FDI_SERVER;
		return off;
	}
	return pg_put_path_walk(rec, off, &fi->path, BPF_CORE_READ(f, f_path.dentry),
				BPF_CORE_READ(f, f_path.mnt), task);
}

#endif
