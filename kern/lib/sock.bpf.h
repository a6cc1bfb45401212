/* Sockets: addresses passed by the caller, and what a socket itself knows. */
#ifndef PG_KERN_LIB_SOCK_BPF_H
#define PG_KERN_LIB_SOCK_BPF_H

#include "lib/common.bpf.h"
#include <bpf/bpf_endian.h>

#define PG_AF_UNIX 1
#define PG_AF_INET 2
#define PG_AF_INET6 10

/* Decode an IPv4 or IPv6 sockaddr the caller passed (connect, sendto,
 * sendmsg's msg_name) into `out`. Other families leave only the family. */
static __always_inline void pg_read_user_sockaddr(const void *uaddr, long addrlen,
						  struct pg_sockaddr *out)
{
	__u16 family = 0;
	bpf_probe_read_user(&family, sizeof(family), uaddr);
	out->family = family;
	if (family == PG_AF_INET && addrlen >= 8) {
		struct sockaddr_in sin = {};
		bpf_probe_read_user(&sin, sizeof(sin), uaddr);
		out->port = bpf_ntohs(sin.sin_port);
		__builtin_memcpy(out->addr, &sin.sin_addr, 4);
	} else if (family == PG_AF_INET6 && addrlen >= 24) {
		struct sockaddr_in6 sin6 = {};
		bpf_probe_read_user(&sin6, sizeof(sin6), uaddr);
		out->port = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(out->addr, &sin6.sin6_addr, 16);
	}
}

/* What the socket behind `file` says of itself: type, protocol, and both
 * ends as the kernel holds them. Returns the family, 0 when `file` is not a
 * socket we can read. */
static __always_inline __u16 pg_read_socket(struct file *file, __u16 *type, __u16 *protocol,
					    struct pg_sockaddr *local, struct pg_sockaddr *remote)
{
	struct socket *sock = BPF_CORE_READ(file, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	*type = BPF_CORE_READ(sk, sk_type);
	*protocol = BPF_CORE_READ(sk, sk_protocol);
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	local->family = family;
	local->port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (remote) {
		remote->family = family;
		remote->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	}
	if (family == PG_AF_INET) {
		BPF_CORE_READ_INTO(&local->addr, sk, __sk_common.skc_rcv_saddr);
		if (remote)
			BPF_CORE_READ_INTO(&remote->addr, sk, __sk_common.skc_daddr);
	} else if (family == PG_AF_INET6) {
		BPF_CORE_READ_INTO(&local->addr, sk, __sk_common.skc_v6_rcv_saddr);
		if (remote)
			BPF_CORE_READ_INTO(&remote->addr, sk, __sk_common.skc_v6_daddr);
	}
	return family;
}

#endif
