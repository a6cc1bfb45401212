/* Network: connect, and the "net" rows of the catalogue (api/syscalls.h):
 * socket, socketpair, bind, listen, accept, accept4, sendto, sendmsg,
 * through the shared emitter of lib/args.bpf.h.
 *
 *   sys_exit_connect: args from the saved user registers, ret from ctx
 *     kernel filter on family and remote port: no slot left? stop here
 *     record task + fd + remote (decoded sockaddr argument)
 *     succeeded or in progress? also the local address from the socket
 *
 * The local side is read from the socket itself rather than tracked from
 * bind/getsockname events, so no state has to cross just to know it.
 */
#include "lib/args.bpf.h"
#include "lib/common.bpf.h"
#include "lib/fd.bpf.h"
#include "lib/sock.bpf.h"
#include "lib/filter.bpf.h"
#include "lib/strings.bpf.h"
#include "lib/syscall.bpf.h"
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define PG_EINPROGRESS 115

SEC("tracepoint/syscalls/sys_exit_connect")
int pg_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	if (pg_is_self())
		return 0;
	__u8 *buf = pg_scratch_buf();
	if (!buf)
		return 0;
	struct pt_regs *regs = pg_user_regs();
	long fd = (int)pg_syscall_arg(regs, 0);
	const void *uaddr = (const void *)pg_syscall_arg(regs, 1);
	long addrlen = (int)pg_syscall_arg(regs, 2);
	struct task_struct *task = bpf_get_current_task_btf();

	struct pg_connect_rec *r = (struct pg_connect_rec *)buf;
	__builtin_memset(r, 0, sizeof(*r));
	__u16 family = 0;
	__u16 nport = 0;
	bpf_probe_read_user(&family, sizeof(family), uaddr);
	/* sin_port and sin6_port both follow the family */
	if (family == PG_AF_INET || family == PG_AF_INET6)
		bpf_probe_read_user(&nport, sizeof(nport), (const char *)uaddr + 2);
	struct pg_filter_event fe = pg_fe_connect(family, bpf_ntohs(nport));
	pg_filter_task(&fe, task);
	if (!pg_filter(&fe, NULL, &r->verdict))
		return 0;
	pg_fill_task(&r->task, task);
	pg_fill_hdr(&r->hdr, PG_REC_CONNECT);
	r->ret = ctx->ret;
	r->fd = fd;

	__u32 off = sizeof(*r);
	pg_read_user_sockaddr(uaddr, addrlen, &r->remote);
	if (family == PG_AF_UNIX)
		off = pg_put_user_str(buf, off, &r->unix_path, (const char *)uaddr + sizeof(__u16));
	/* The socket's type and protocol whatever the result; its own end only
	 * once the connection is under way (a failed one has none). */
	struct pg_sockaddr local = {};
	pg_read_socket(pg_fd_file(task, fd), &r->sock_type, &r->protocol, &local, NULL);
	if (ctx->ret == 0 || ctx->ret == -PG_EINPROGRESS)
		r->local = local;
	pg_submit(buf, off);
	return 0;
}

#define PG_ARGS_FAMILY_net PG_ARGS_PROG
#define PG_ARGS_FAMILY_creds PG_ARGS_SKIP
#define PG_ARGS_FAMILY_proc PG_ARGS_SKIP
PG_ARGS_SYSCALLS(PG_ARGS_ROW)
