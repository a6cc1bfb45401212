/* Syscalls whose arguments are plain numbers: socket, ptrace, setns,
 * unshare, the set*id family, capset, prctl, bpf, listen, fchmod, fchdir,
 * the dup family, accept, accept4, sendto, sendmsg, userfaultfd, the kill
 * family, process_vm_readv/writev, init_module, finit_module, socketpair,
 * bind (its socket resolved after the call: the address it got).
 *
 *   sys_exit_<syscall>: the six argument registers saved at entry, ret
 *     kernel filter (task fields: comm, parent comm, uid, container)
 *     record task + arguments + ret + the surviving slots
 *     + the fd the syscall names (an argument, or accept's result),
 *       resolved here: its type, a socket's ends or a file's path
 *
 * Userspace names and formats each argument as Falco does
 * (policy/syscall_args.h). One exit program per syscall, attached only
 * when a loaded rule names it; fchdir always, and a successful one crosses
 * whatever the filter says: it moves the process's cwd.
 *
 * A kernel built without a syscall (init_module and finit_module without
 * CONFIG_MODULES) has no tracepoint for it, yet callers still reach it and
 * get ENOSYS. pg_raw_sys_exit catches those on the raw sys_exit tracepoint,
 * which every syscall of the node passes: userspace attaches it only when
 * the operator accepts that cost (raw_syscall_fallback).
 */
#include "lib/common.bpf.h"
#include "lib/fd.bpf.h"
#include "lib/filter.bpf.h"
#include "lib/syscall.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Which descriptor a syscall's record resolves. */
enum pg_fd_source {
	PG_FDS_NONE,
	PG_FDS_ARG0, /* the first argument (dup's oldfd, sendto's fd, ...) */
	PG_FDS_RET,  /* the descriptor returned (accept) */
};

/* The last destination each process passed on each unconnected socket
 * descriptor, for fd.name_changed (Falco renames such a descriptor after
 * every datagram's tuple). The socket's inode is part of the key so a
 * reused descriptor number starts afresh. */
struct pg_dest_key {
	__u32 tgid;
	__s32 fd;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pg_dest_key);
	__type(value, struct pg_sockaddr);
} pg_last_dest SEC(".maps");

static __always_inline bool pg_same_sockaddr(const struct pg_sockaddr *a,
					     const struct pg_sockaddr *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2];
}

/* Whether `dest` is a new destination for the descriptor; remembers it. */
static __always_inline bool pg_destination_changed(struct task_struct *task, long fd,
						   const struct pg_sockaddr *dest)
{
	struct file *f = pg_fd_file(task, fd);
	struct pg_dest_key key = {
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.fd = fd,
		.ino = BPF_CORE_READ(f, f_inode, i_ino),
	};
	struct pg_sockaddr *last = bpf_map_lookup_elem(&pg_last_dest, &key);
	if (last && pg_same_sockaddr(last, dest))
		return false;
	bpf_map_update_elem(&pg_last_dest, &key, dest, BPF_ANY);
	return true;
}

/* sendto/sendmsg on an unconnected socket: the destination passed. */
static __always_inline void pg_read_destination(struct pt_regs *regs, __u16 kind,
						struct pg_fdinfo *fi)
{
	const void *uaddr = NULL;
	long addrlen = 0;
	if (kind == PG_AK_SENDTO) {
		uaddr = (const void *)pg_syscall_arg(regs, 4);
		addrlen = (int)pg_syscall_arg(regs, 5);
	} else if (kind == PG_AK_SENDMSG) {
		struct user_msghdr msg = {};
		bpf_probe_read_user(&msg, sizeof(msg), (const void *)pg_syscall_arg(regs, 1));
		uaddr = msg.msg_name;
		addrlen = msg.msg_namelen;
	}
	if (uaddr && addrlen > 0) {
		pg_read_user_sockaddr(uaddr, addrlen, &fi->remote);
		fi->flags |= PG_FDI_DESTINATION;
	}
}

/* Resolve the descriptor into the record; sendto/sendmsg on an unconnected
 * socket take the destination passed as the remote end. */
static __always_inline __u32 pg_resolve_fd(__u8 *buf, __u32 off, struct pg_args_rec *r,
					   struct task_struct *task, struct pt_regs *regs,
					   __u16 kind, long fd)
{
	off = pg_put_fdinfo(buf, off, &r->fd, task, fd);
	if (r->fd.sock_family && r->fd.remote.port == 0) { /* not connected */
		pg_read_destination(regs, kind, &r->fd);
		if ((r->fd.flags & PG_FDI_DESTINATION) &&
		    pg_destination_changed(task, fd, &r->fd.remote))
			r->fd.flags |= PG_FDI_NAME_CHANGED;
	}
	return off;
}

static __always_inline int pg_emit_args(long ret, __u16 kind, enum pg_fd_source fds)
{
	if (pg_is_self())
		return 0;
	__u8 *buf = pg_scratch_buf();
	if (!buf)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = pg_user_regs();
	struct pg_args_rec *r = (struct pg_args_rec *)buf;
	struct pg_filter_event fe = {
		.kind = PG_FK_ARGS + kind - 1,
		.ret = ret,
	};
	long fd = fds == PG_FDS_ARG0 ? (int)pg_syscall_arg(regs, 0) : fds == PG_FDS_RET ? ret : -1;
	__u32 off = sizeof(*r);
	bool resolved = false;
	if (pg_fkind_is_send(fe.kind) && fd >= 0) {
		/* A socket's family and remote port are judged like connect's:
		 * resolve first (no dentry walk for a socket). */
		off = pg_resolve_fd(buf, off, r, task, regs, kind, fd);
		resolved = true;
		fe.family = r->fd.sock_family;
		fe.port = r->fd.remote.port;
	}
	pg_filter_task(&fe, task);
	if (!pg_filter(&fe, NULL, &r->verdict)) {
		if (kind != PG_AK_FCHDIR || ret != 0)
			return 0;
		/* for the process table only: no rule is a candidate */
		__builtin_memset(&r->verdict.slots, 0, sizeof(r->verdict.slots));
	}
	pg_fill_task(&r->task, task);
	pg_fill_hdr(&r->hdr, PG_REC_ARGS);
	r->ret = ret;
	for (int i = 0; i < 6; i++)
		r->args[i] = pg_syscall_arg(regs, i);
	r->kind = kind;
	r->pad[0] = r->pad[1] = r->pad[2] = 0;
	if (!resolved && fd >= 0) {
		off = pg_resolve_fd(buf, off, r, task, regs, kind, fd);
	} else if (!resolved) {
		__builtin_memset(&r->fd, 0, sizeof(r->fd));
		r->fd.num = -1;
	}
	if (r->fd.path.flags & PG_SF_TRUNCATED)
		r->hdr.flags |= PG_RF_TRUNCATED;
	pg_submit(buf, off);
	return 0;
}

#define PG_ARGS_PROG(name, KIND, FDS)                                                              \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                                 \
	int pg_exit_##name(struct trace_event_raw_sys_exit *ctx)                                   \
	{                                                                                          \
		return pg_emit_args(ctx->ret, KIND, FDS);                                          \
	}

PG_ARGS_PROG(socket, PG_AK_SOCKET, PG_FDS_NONE)
PG_ARGS_PROG(ptrace, PG_AK_PTRACE, PG_FDS_NONE)
PG_ARGS_PROG(setns, PG_AK_SETNS, PG_FDS_ARG0)
PG_ARGS_PROG(unshare, PG_AK_UNSHARE, PG_FDS_NONE)
PG_ARGS_PROG(setuid, PG_AK_SETUID, PG_FDS_NONE)
PG_ARGS_PROG(setgid, PG_AK_SETGID, PG_FDS_NONE)
PG_ARGS_PROG(bpf, PG_AK_BPF, PG_FDS_NONE)
PG_ARGS_PROG(listen, PG_AK_LISTEN, PG_FDS_ARG0)
PG_ARGS_PROG(fchmod, PG_AK_FCHMOD, PG_FDS_ARG0)
PG_ARGS_PROG(dup, PG_AK_DUP, PG_FDS_ARG0)
PG_ARGS_PROG(dup2, PG_AK_DUP2, PG_FDS_ARG0)
PG_ARGS_PROG(dup3, PG_AK_DUP3, PG_FDS_ARG0)
PG_ARGS_PROG(accept, PG_AK_ACCEPT, PG_FDS_RET)
PG_ARGS_PROG(accept4, PG_AK_ACCEPT4, PG_FDS_RET)
PG_ARGS_PROG(sendto, PG_AK_SENDTO, PG_FDS_ARG0)
PG_ARGS_PROG(sendmsg, PG_AK_SENDMSG, PG_FDS_ARG0)
PG_ARGS_PROG(setresuid, PG_AK_SETRESUID, PG_FDS_NONE)
PG_ARGS_PROG(setresgid, PG_AK_SETRESGID, PG_FDS_NONE)
PG_ARGS_PROG(setreuid, PG_AK_SETREUID, PG_FDS_NONE)
PG_ARGS_PROG(setregid, PG_AK_SETREGID, PG_FDS_NONE)
PG_ARGS_PROG(capset, PG_AK_CAPSET, PG_FDS_NONE)
PG_ARGS_PROG(prctl, PG_AK_PRCTL, PG_FDS_NONE)
PG_ARGS_PROG(userfaultfd, PG_AK_USERFAULTFD, PG_FDS_RET)
PG_ARGS_PROG(kill, PG_AK_KILL, PG_FDS_NONE)
PG_ARGS_PROG(tkill, PG_AK_TKILL, PG_FDS_NONE)
PG_ARGS_PROG(tgkill, PG_AK_TGKILL, PG_FDS_NONE)
PG_ARGS_PROG(process_vm_readv, PG_AK_PROCESS_VM_READV, PG_FDS_NONE)
PG_ARGS_PROG(process_vm_writev, PG_AK_PROCESS_VM_WRITEV, PG_FDS_NONE)
PG_ARGS_PROG(fchdir, PG_AK_FCHDIR, PG_FDS_ARG0)
PG_ARGS_PROG(socketpair, PG_AK_SOCKETPAIR, PG_FDS_NONE)
PG_ARGS_PROG(bind, PG_AK_BIND, PG_FDS_ARG0)
PG_ARGS_PROG(init_module, PG_AK_INIT_MODULE, PG_FDS_NONE)
PG_ARGS_PROG(finit_module, PG_AK_FINIT_MODULE, PG_FDS_ARG0)

/* x86_64 syscall numbers of the syscalls a kernel may be built without. */
#define PG_NR_INIT_MODULE 175
#define PG_NR_FINIT_MODULE 313

SEC("tp_btf/sys_exit")
int BPF_PROG(pg_raw_sys_exit, struct pt_regs *regs, long ret)
{
	switch (regs->orig_ax) {
	case PG_NR_INIT_MODULE:
		return pg_emit_args(ret, PG_AK_INIT_MODULE, PG_FDS_NONE);
	case PG_NR_FINIT_MODULE:
		return pg_emit_args(ret, PG_AK_FINIT_MODULE, PG_FDS_ARG0);
	default:
		return 0;
	}
}
