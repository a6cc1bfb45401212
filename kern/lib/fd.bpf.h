/* Resolving a task's file descriptor to its struct file, in the kernel, at
 * event time: how fd-based events learn what the fd is without shipping
 * every open, dup and close to userspace. */
#ifndef PG_KERN_LIB_FD_BPF_H
#define PG_KERN_LIB_FD_BPF_H

#include "lib/common.bpf.h"

static __always_inline struct file *pg_fd_file(struct task_struct *task, long fd)
{
	if (fd < 0)
		return NULL;
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt)
		return NULL;
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

#endif
