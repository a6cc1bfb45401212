/* Syscall arguments at syscall exit. */
#ifndef PG_KERN_LIB_SYSCALL_BPF_H
#define PG_KERN_LIB_SYSCALL_BPF_H

#include "lib/common.bpf.h"

/* The current task's user registers, saved by the kernel at syscall entry. */
static __always_inline struct pt_regs *pg_user_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* Syscall arguments, read at syscall exit from the user registers saved on
 * entry. For the syscalls we hook here the kernel leaves those registers
 * untouched, so one exit program sees both the arguments and the return
 * value, and no entry program or per-thread map is needed. */
/* bpf_task_pt_regs() returns a BTF pointer, so these are direct loads, not
 * probe-read helper calls: they run on every event of a hooked syscall. */
static __always_inline unsigned long pg_syscall_arg(struct pt_regs *regs, int i)
{
	switch (i) {
	case 0:
		return regs->di;
	case 1:
		return regs->si;
	case 2:
		return regs->dx;
	case 3:
		return regs->r10;
	case 4:
		return regs->r8;
	default:
		return regs->r9;
	}
}

#endif
