/* The emitter every numeric-argument syscall's exit program shares
 * (PG_REC_ARGS), and the program generator the family files expand over
 * the catalogue (api/syscalls.h):
 *
 *   sys_exit_<syscall>: the six argument registers saved at entry, ret
 *     kernel filter (task fields: comm, parent comm, uid, container;
 *       sendto/sendmsg also their socket's family and remote port)
 *     record task + arguments + ret + the surviving slots
 *     + the fd the syscall names (an argument, or the one returned),
 *       resolved here: its type, a socket's ends or a file's path
 *
 * Userspace names and formats each argument as Falco does
 * (policy/syscall_args.h). A PG_SC_STATE syscall (fchdir) crosses when it
 * succeeds, whatever the filter says: it moves the process's cwd.
 */
#ifndef PG_KERN_LIB_ARGS_BPF_H
#define PG_KERN_LIB_ARGS_BPF_H

#include "common.bpf.h"
#include "fd.bpf.h"
#include "filter.bpf.h"
#include "syscall.bpf.h"

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
} pg_last_dest SEC(".maps") __weak;

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
	if (!regs)
		return;
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
					   __u16 kind, long fd, __u64 kfile)
{
	off = pg_put_fdinfo(buf, off, &r->fd, task, fd, kfile);
	if (r->fd.sock_family && r->fd.remote.port == 0) { /* not connected */
		pg_read_destination(regs, kind, &r->fd);
		if ((r->fd.flags & PG_FDI_DESTINATION) &&
		    pg_destination_changed(task, fd, &r->fd.remote))
			r->fd.flags |= PG_FDI_NAME_CHANGED;
	}
	return off;
}

/* One call of `kind` that returned `ret`: judge it, and send the record if
 * a slot survives. `regs`: the syscall's saved registers, which hold its
 * arguments; NULL when the caller wrote the arguments into the scratch
 * record already (an io_uring request), with `fd0` the first argument's
 * descriptor (-1: none kept). `rflags`: pg_rec_flags (PG_RF_IO_URING).
 * `kfile`: the struct file the descriptor source names when the caller
 * has it and no descriptor holds it or none is known (an accept into an
 * io_uring fixed-file slot, a request's own socket); 0: the file at the
 * descriptor. */
static __always_inline int pg_emit_args_from(long ret, __u16 kind, enum pg_fd_source fds,
					     struct pt_regs *regs, long fd0, __u16 rflags,
					     __u64 kfile)
{
	if (pg_is_self())
		return 0;
	__u8 *buf = pg_scratch_buf();
	if (!buf)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pg_args_rec *r = (struct pg_args_rec *)buf;
	long fd = fds == PG_FDS_ARG0 ? fd0 : fds == PG_FDS_RET ? ret : -1;
	__u32 off = sizeof(*r);
	bool resolved = false;
	if (pg_fkind_is_send(pg_fkind_of_args(kind)) && fd >= 0) {
		/* A socket's family and remote port are judged like connect's:
		 * resolve first (no dentry walk for a socket). */
		off = pg_resolve_fd(buf, off, r, task, regs, kind, fd, kfile);
		resolved = true;
	}
	struct pg_filter_event fe = pg_fe_args(kind, ret, resolved ? &r->fd : NULL);
	pg_filter_task(&fe, task);
	if (!pg_filter(&fe, NULL, &r->verdict)) {
		if (!(pg_args_flags(kind) & PG_SC_STATE) || ret != 0)
			return 0;
		/* for the process table only: no rule is a candidate */
		__builtin_memset(&r->verdict.slots, 0, sizeof(r->verdict.slots));
	}
	pg_fill_task(&r->task, task);
	pg_fill_hdr(&r->hdr, PG_REC_ARGS);
	r->hdr.flags = rflags;
	r->ret = ret;
	if (regs)
		for (int i = 0; i < 6; i++)
			r->args[i] = pg_syscall_arg(regs, i);
	r->kind = kind;
	r->pad[0] = r->pad[1] = r->pad[2] = 0;
	if (!resolved && (fd >= 0 || kfile)) {
		off = pg_resolve_fd(buf, off, r, task, regs, kind, fd, kfile);
	} else if (!resolved) {
		__builtin_memset(&r->fd, 0, sizeof(r->fd));
		r->fd.num = -1;
	}
	if (r->fd.path.flags & PG_SF_TRUNCATED)
		r->hdr.flags |= PG_RF_TRUNCATED;
	pg_submit(buf, off);
	return 0;
}

/* A syscall's exit: its arguments in the saved registers. */
static __always_inline int pg_emit_args(long ret, __u16 kind, enum pg_fd_source fds)
{
	struct pt_regs *regs = pg_user_regs();
	return pg_emit_args_from(ret, kind, fds, regs, (int)pg_syscall_arg(regs, 0), 0, 0);
}

/* One exit program per catalogue row of the including file's family: the
 * family file defines PG_ARGS_FAMILY_<family> as PG_ARGS_PROG for its own
 * family and as PG_ARGS_SKIP for the others, then expands
 * PG_ARGS_SYSCALLS(PG_ARGS_ROW). */
#define PG_ARGS_PROG(name, NAME, fds)                                                              \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                                 \
	int pg_exit_##name(struct trace_event_raw_sys_exit *ctx)                                   \
	{                                                                                          \
		return pg_emit_args(ctx->ret, PG_AK_##NAME, PG_FDS_##fds);                         \
	}
#define PG_ARGS_SKIP(name, NAME, fds)
#define PG_ARGS_ROW(name, NAME, family, fds, flags, args) PG_ARGS_FAMILY_##family(name, NAME, fds)

#endif
