/* Path operations: syscalls that make, remove, rename, link, chmod, mount
 * or enter names in the file tree, memfd_create, and failed execs (the
 * catalogue, api/syscalls.h, says which argument is which).
 *
 *   sys_exit_<syscall>: args from the saved user registers, ret from ctx
 *     kernel filter, judging the first path argument: no slot left? stop
 *     (a successful chdir still crosses: it moves the process's cwd)
 *     record task + both path arguments + their base directories (relative
 *     paths) + dirfds, flags, mode, ret + the surviving slots
 *
 * One exit program per syscall, attached only when a loaded rule names the
 * syscall (DESIGN.md invariant 4); chdir always, for the process table.
 */
#include "lib/common.bpf.h"
#include "lib/fd.bpf.h"
#include "lib/filter.bpf.h"
#include "lib/pathop.bpf.h"
#include "lib/strings.bpf.h"
#include "lib/syscall.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PG_ARG(i) pg_syscall_arg(regs, i)
#define PG_PATH(i) ((const char *)pg_syscall_arg(regs, i))
#define PG_CWD PG_AT_FDCWD

/* One exit program per catalogue row (api/syscalls.h), from where its
 * arguments are. A PG_SC_FAILED_ONLY syscall (execve, execveat) is an event
 * here only when it fails: a successful exec is reported by the exec
 * tracepoint (lifecycle.bpf.c), after which the arguments are gone anyway. */
#define PG_PATHOP_ROW(name, NAME, tp, FL, DIRFD1, PATH1, DIRFD2, PATH2, FLAGS, MODE, EXTRA, args)  \
	SEC("tracepoint/syscalls/sys_exit_" #tp)                                                   \
	int pg_exit_##tp(struct trace_event_raw_sys_exit *ctx)                                     \
	{                                                                                          \
		if (((FL) & PG_SC_FAILED_ONLY) && ctx->ret >= 0)                                   \
			return 0;                                                                  \
		struct pt_regs *regs = pg_user_regs();                                             \
		struct pg_pathop_args a = {.dirfd1 = (DIRFD1),                                     \
					   .path1 = (PATH1),                                       \
					   .dirfd2 = (DIRFD2),                                     \
					   .path2 = (PATH2),                                       \
					   .flags = (FLAGS),                                       \
					   .mode = (MODE),                                         \
					   .extra = (EXTRA)};                                      \
		return pg_emit_pathop(ctx->ret, PG_PO_##NAME, &a, 0);                              \
	}

PG_PATHOP_SYSCALLS(PG_PATHOP_ROW)
