/* Network: connect, and the "net" rows of the catalogue (api/syscalls.h):
 * socket, socketpair, bind, listen, accept, accept4, sendto, sendmsg,
 * through the shared emitter of lib/args.bpf.h.
 *
 *   sys_exit_connect: args from the saved user registers, ret from ctx
 *     succeeded or in progress (IPv4/6)? remote = the socket's peer
 *     otherwise: remote = the sockaddr argument, decoded
 *     kernel filter on family and remote port: no slot left? stop here
 *     record task + fd + remote, and the local end from the socket
 *
 * Both ends are read from the socket itself: the remote rather than the
 * caller's buffer, which another thread may rewrite while the call runs
 * (so the kernel connects to one address and the buffer names another by
 * sys_exit), and the local rather than tracking bind/getsockname events.
 */
#include "lib/args.bpf.h"
#include "lib/common.bpf.h"
#include "lib/connect.bpf.h"
#include "lib/fd.bpf.h"
#include "lib/sock.bpf.h"
#include "lib/filter.bpf.h"
#include "lib/strings.bpf.h"
#include "lib/syscall.bpf.h"
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint/syscalls/sys_exit_connect")
int pg_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = pg_user_regs();
	return pg_emit_connect(ctx->ret, (int)pg_syscall_arg(regs, 0), NULL,
			       (const void *)pg_syscall_arg(regs, 1), (int)pg_syscall_arg(regs, 2), 0);
}

#define PG_ARGS_FAMILY_net PG_ARGS_PROG
#define PG_ARGS_FAMILY_creds PG_ARGS_SKIP
#define PG_ARGS_FAMILY_proc PG_ARGS_SKIP
PG_ARGS_SYSCALLS(PG_ARGS_ROW)
