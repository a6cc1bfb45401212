/* The connect record (net.bpf.c has the pseudocode), shared by the
 * per-syscall program and the 32-bit one (compat.bpf.c). */
#ifndef PG_KERN_LIB_CONNECT_BPF_H
#define PG_KERN_LIB_CONNECT_BPF_H

#include "lib/common.bpf.h"
#include "lib/fd.bpf.h"
#include "lib/filter.bpf.h"
#include "lib/sock.bpf.h"
#include "lib/strings.bpf.h"
#include <bpf/bpf_endian.h>

#define PG_EINPROGRESS 115

/* One connect of socket descriptor `fd` that returned `ret`: judge it, and
 * send the record if a slot survives. `sockf`: the socket's file when the
 * caller already has it (an io_uring request, whose descriptor number is
 * not kept: `fd` is -1), else NULL to look `fd` up. `rflags`: pg_rec_flags
 * saying how the call came (PG_RF_COMPAT, PG_RF_IO_URING). */
static __always_inline int pg_emit_connect(long ret, long fd, struct file *sockf,
					   const void *uaddr, long addrlen, __u16 rflags)
{
	if (pg_is_self())
		return 0;
	__u8 *buf = pg_scratch_buf();
	if (!buf)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();

	struct pg_connect_rec *r = (struct pg_connect_rec *)buf;
	__builtin_memset(r, 0, sizeof(*r));
	/* A connect that is made (or under way) has its destination in the
	 * socket: that is what is judged and reported, not the caller's
	 * buffer, which a sibling thread may have rewritten by now. A failed
	 * one has none: the buffer is all there is. */
	const bool made = ret == 0 || ret == -PG_EINPROGRESS;
	const __u16 sfamily = pg_read_socket(sockf ? sockf : pg_fd_file(task, fd), &r->sock_type,
					     &r->protocol, &r->local, &r->remote);
	const bool from_socket = made && (sfamily == PG_AF_INET || sfamily == PG_AF_INET6);
	if (!from_socket) {
		__builtin_memset(&r->remote, 0, sizeof(r->remote));
		pg_read_user_sockaddr(uaddr, addrlen, &r->remote);
	}
	if (!made)
		__builtin_memset(&r->local, 0, sizeof(r->local)); /* a failed one has no end */
	struct pg_filter_event fe = pg_fe_connect(r->remote.family, r->remote.port);
	pg_filter_task(&fe, task);
	if (!pg_filter(&fe, NULL, &r->verdict))
		return 0;
	pg_fill_task(&r->task, task);
	pg_fill_hdr(&r->hdr, PG_REC_CONNECT);
	r->hdr.flags = rflags;
	r->ret = ret;
	r->fd = fd;

	__u32 off = sizeof(*r);
	if (r->remote.family == PG_AF_UNIX)
		off = pg_put_user_str(buf, off, &r->unix_path, (const char *)uaddr + sizeof(__u16));
	pg_submit(buf, off);
	return 0;
}

#endif
