/* Sockets: addresses passed by the caller, and what a socket itself knows. */
#ifndef PG_KERN_LIB_SOCK_BPF_H
#define PG_KERN_LIB_SOCK_BPF_H

#include "lib/common.bpf.h"
#include <bpf/bpf_endian.h>

#include "lib/strings.bpf.h"

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

#define PG_IPPROTO_TCP 6

/* Whether a TCP socket's local port came from bind() (a listener's, which
 * its accepted connections share) rather than from connect(): the port's
 * bind bucket records it. connect() marks the buckets it creates with
 * fastreuse -1 and never shares a bucket bind() made. */
static __always_inline bool pg_tcp_port_bound(struct file *file)
{
	struct socket *sock = BPF_CORE_READ(file, private_data);
	struct inet_connection_sock *icsk = (struct inet_connection_sock *)BPF_CORE_READ(sock, sk);
	struct inet_bind_bucket *tb = BPF_CORE_READ(icsk, icsk_bind_hash);
	return tb && BPF_CORE_READ(tb, fastreuse) >= 0;
}

#define PG_UNIX_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */

/* The name a unix socket goes by: its own bound address, else its peer's
 * (a client connected to a listening socket). An abstract name (sun_path
 * starting with NUL) reads as "@name". Unnamed sockets (socketpair) get no
 * string. Appended at `off` into `s`. */
static __always_inline __u32 pg_put_unix_path(__u8 *rec, __u32 off, struct pg_str *s,
					      struct file *file)
{
	s->off = s->len = s->flags = s->pad = 0;
	struct socket *sock = BPF_CORE_READ(file, private_data);
	struct unix_sock *u = (struct unix_sock *)BPF_CORE_READ(sock, sk);
	struct unix_address *addr = BPF_CORE_READ(u, addr);
	if (!addr) {
		struct unix_sock *peer = (struct unix_sock *)BPF_CORE_READ(u, peer);
		addr = BPF_CORE_READ(peer, addr);
	}
	if (!addr)
		return off;
	long len = BPF_CORE_READ(addr, len) - (long)sizeof(__u16); /* minus sun_family */
	if (len <= 0)
		return off;
	if (off > PG_OFF_MASK) {
		s->flags = PG_SF_TRUNCATED;
		return off;
	}
	const char *path =
	    (const char *)addr + bpf_core_field_offset(struct unix_address, name) + sizeof(__u16);
	__u8 *dst = rec + PG_OFF(off);
	char first = 0;
	bpf_probe_read_kernel(&first, 1, path);
	if (first) {
		long n = bpf_probe_read_kernel_str(dst, PG_UNIX_PATH_MAX + 1, path);
		if (n <= 0) {
			s->flags = PG_SF_FAILED;
			return off;
		}
		s->off = off;
		s->len = n - 1;
		return off + n;
	}
	/* abstract: the bytes after the NUL, as many as the address holds */
	__u32 n = len - 1;
	if (n > PG_UNIX_PATH_MAX - 1)
		n = PG_UNIX_PATH_MAX - 1;
	n = PG_MASK(n, 127);
	dst[0] = '@';
	if (n && bpf_probe_read_kernel(dst + 1, n, path + 1)) {
		s->flags = PG_SF_FAILED;
		return off;
	}
	dst[PG_MASK(n + 1, 127)] = 0;
	s->off = off;
	s->len = n + 1;
	return off + n + 2;
}

#endif
