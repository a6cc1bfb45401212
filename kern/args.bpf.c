/* Syscalls whose arguments are plain numbers: socket, ptrace, setns,
 * unshare, setuid, setgid, bpf, listen, fchmod. (init_module and
 * finit_module have no tracepoints on kernels built without modules.)
 *
 *   sys_exit_<syscall>: the six argument registers saved at entry, ret
 *     kernel filter (task fields: comm, parent comm, uid, container)
 *     record task + arguments + ret + the surviving slots
 *
 * Userspace names and formats each argument as Falco does
 * (policy/syscall_args.h). One exit program per syscall, attached only
 * when a loaded rule names it.
 */
#include "lib/common.bpf.h"
#include "lib/filter.bpf.h"
#include "lib/syscall.bpf.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline int pg_emit_args(long ret, __u16 kind)
{
	if (pg_is_self())
		return 0;
	__u8 *buf = pg_scratch_buf();
	if (!buf)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pg_args_rec *r = (struct pg_args_rec *)buf;
	struct pg_filter_event fe = {
		.kind = PG_FK_ARGS + kind - 1,
		.ret = ret,
	};
	pg_filter_task(&fe, task);
	if (!pg_filter(&fe, NULL, &r->verdict))
		return 0;
	struct pt_regs *regs = pg_user_regs();
	pg_fill_task(&r->task, task);
	pg_fill_hdr(&r->hdr, PG_REC_ARGS);
	r->ret = ret;
	for (int i = 0; i < 6; i++)
		r->args[i] = pg_syscall_arg(regs, i);
	r->kind = kind;
	r->pad[0] = r->pad[1] = r->pad[2] = 0;
	pg_submit(buf, sizeof(*r));
	return 0;
}

#define PG_ARGS_PROG(name, KIND)                                                                   \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                                 \
	int pg_exit_##name(struct trace_event_raw_sys_exit *ctx)                                   \
	{                                                                                          \
		return pg_emit_args(ctx->ret, KIND);                                               \
	}

PG_ARGS_PROG(socket, PG_AK_SOCKET)
PG_ARGS_PROG(ptrace, PG_AK_PTRACE)
PG_ARGS_PROG(setns, PG_AK_SETNS)
PG_ARGS_PROG(unshare, PG_AK_UNSHARE)
PG_ARGS_PROG(setuid, PG_AK_SETUID)
PG_ARGS_PROG(setgid, PG_AK_SETGID)
PG_ARGS_PROG(bpf, PG_AK_BPF)
PG_ARGS_PROG(listen, PG_AK_LISTEN)
PG_ARGS_PROG(fchmod, PG_AK_FCHMOD)
