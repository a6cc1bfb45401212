/* io_uring: opens, connects, sockets and path operations a program makes
 * without the syscalls (IORING_OP_OPENAT, _OPENAT2, _CONNECT, _SOCKET,
 * _ACCEPT, _BIND, _LISTEN, _RENAMEAT, _UNLINKAT, _MKDIRAT, _SYMLINKAT,
 * _LINKAT).
 *
 *   tp_btf/io_uring_submit_req (once per request, after the kernel has
 *   copied its arguments; attached only when a path operation is wanted):
 *     a wanted path operation? keep its names (the kernel's copies, not the
 *     caller's buffers) and numbers by request in pg_uring_names
 *   tp_btf/io_uring_complete (once per completed request of any ring):
 *     the request's opcode one of the wanted ones? tail call its program:
 *       OPENAT, OPENAT2 → the open record (named by the opened file, like
 *       the syscalls); CONNECT → the connect record (the socket is the
 *       request's own file); SOCKET, ACCEPT, BIND, LISTEN → the
 *       numeric-argument record (socket, accept4, bind, listen); a path
 *       operation → the path-operation record
 *       from the kept names; each flagged PG_RF_IO_URING (evt.is_io_uring)
 *
 * Why completion: by then the kernel has done the work, so the result is
 * known and a successful open's file is in the descriptor table, which is
 * what names it (lib/open.bpf.h). The path the caller submitted is gone
 * (the kernel frees its copy before completing), so fd.nameraw is empty
 * and a failed open has no name at all. An open into a fixed-file slot
 * (file_index) installs no descriptor: its file is read from the ring's
 * fixed-file table instead, and fd.num is the result (0, or the slot the
 * kernel picked). Creating the ring is an
 * event of its own (io_uring_setup), for rules that watch any io_uring
 * use.
 *
 * The completion runs in the submitting thread or, for a request punted
 * to the ring's worker pool, in an io-wq worker thread of the same
 * process ("iou-wrk-N": same descriptor table, cwd and root); the record
 * then names the process, not the worker (pg_io_worker_name).
 *
 * Costs nothing to programs that do not use io_uring. Userspace attaches
 * it when a wanted call's rules (or `trace`) ask for it and the kernel's
 * io_uring_complete has the (ctx, req, cqe) form of Linux 6.17 and later.
 */
#include "lib/args.bpf.h"
#include "lib/common.bpf.h"
#include "lib/connect.bpf.h"
#include "lib/open.bpf.h"
#include "lib/pathop.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* enum io_uring_op (uapi, stable numbers). */
#define PG_IORING_OP_ACCEPT 13
#define PG_IORING_OP_CONNECT 16
#define PG_IORING_OP_OPENAT 18
#define PG_IORING_OP_OPENAT2 28
#define PG_IORING_OP_RENAMEAT 35
#define PG_IORING_OP_UNLINKAT 36
#define PG_IORING_OP_MKDIRAT 37
#define PG_IORING_OP_SYMLINKAT 38
#define PG_IORING_OP_LINKAT 39
#define PG_IORING_OP_SOCKET 45
#define PG_IORING_OP_BIND 56
#define PG_IORING_OP_LISTEN 57

/* The per-operation programs, by enum pg_uring_op; userspace fills it. */
enum pg_uring_op {
	PG_UR_OPENAT = 0,
	PG_UR_OPENAT2 = 1,
	PG_UR_CONNECT = 2,
	PG_UR_RENAMEAT = 3,
	PG_UR_UNLINKAT = 4,
	PG_UR_MKDIRAT = 5,
	PG_UR_SYMLINKAT = 6,
	PG_UR_LINKAT = 7,
	PG_UR_SOCKET = 8,
	PG_UR_ACCEPT = 9,
	PG_UR_BIND = 10,
	PG_UR_LISTEN = 11,
	PG_UR__COUNT,
};

/* Which operations loaded rules (or `trace`) ask for: bit N is enum
 * pg_uring_op N. Set by userspace before load. */
const volatile __u32 pg_uring_want = 0;

#define PG_UR_WANT(op) (pg_uring_want & (1u << (op)))

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, PG_UR__COUNT);
	__type(key, __u32);
	__type(value, __u32);
} pg_uring_ops SEC(".maps");

/* A path operation's arguments, kept from submission to completion. */
#define PG_UR_NAME_MAX 256
struct pg_uring_names {
	__s32 dirfd1;
	__s32 dirfd2;
	__u32 flags;
	__u32 mode;
	char path1[PG_UR_NAME_MAX];
	char path2[PG_UR_NAME_MAX]; /* empty: one path */
};

/* By request (the struct io_kiocb's address): an entry lives from the
 * request's submission to its completion. LRU: a request that never
 * completes (its ring torn down) ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct pg_uring_names);
} pg_uring_names SEC(".maps");

/* A zeroed value to insert before filling it in place (it is too large
 * for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pg_uring_names);
} pg_uring_blank SEC(".maps");

/* Which path operation an opcode is, or -1. */
static __always_inline int pg_uring_pathop(__u8 opcode)
{
	switch (opcode) {
	case PG_IORING_OP_RENAMEAT:
		return PG_UR_RENAMEAT;
	case PG_IORING_OP_UNLINKAT:
		return PG_UR_UNLINKAT;
	case PG_IORING_OP_MKDIRAT:
		return PG_UR_MKDIRAT;
	case PG_IORING_OP_SYMLINKAT:
		return PG_UR_SYMLINKAT;
	case PG_IORING_OP_LINKAT:
		return PG_UR_LINKAT;
	}
	return -1;
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(pg_uring_submit, struct io_kiocb *req)
{
	const int op = pg_uring_pathop(req->opcode);
	if (op < 0 || !PG_UR_WANT(op))
		return 0;
	__u32 zero = 0;
	const struct pg_uring_names *blank = bpf_map_lookup_elem(&pg_uring_blank, &zero);
	__u64 key = (__u64)req;
	if (!blank || bpf_map_update_elem(&pg_uring_names, &key, blank, BPF_ANY))
		return 0;
	struct pg_uring_names *n = bpf_map_lookup_elem(&pg_uring_names, &key);
	if (!n)
		return 0;
	/* The command overlays the request's start (io_kiocb_to_cmd); the
	 * names are struct filename, the kernel's copies made at prep. */
	const struct filename *f1 = NULL, *f2 = NULL;
	if (op == PG_UR_RENAMEAT) {
		const struct io_rename *c = (const void *)req;
		n->dirfd1 = BPF_CORE_READ(c, old_dfd);
		n->dirfd2 = BPF_CORE_READ(c, new_dfd);
		n->flags = BPF_CORE_READ(c, flags);
		f1 = BPF_CORE_READ(c, oldpath);
		f2 = BPF_CORE_READ(c, newpath);
	} else if (op == PG_UR_UNLINKAT) {
		const struct io_unlink *c = (const void *)req;
		n->dirfd1 = BPF_CORE_READ(c, dfd);
		n->flags = BPF_CORE_READ(c, flags);
		f1 = BPF_CORE_READ(c, filename);
	} else if (op == PG_UR_MKDIRAT) {
		const struct io_mkdir *c = (const void *)req;
		n->dirfd1 = BPF_CORE_READ(c, dfd);
		n->mode = BPF_CORE_READ(c, mode);
		f1 = BPF_CORE_READ(c, filename);
	} else {
		/* symlinkat (oldpath is the target, a string, not a file) and
		 * linkat */
		const struct io_link *c = (const void *)req;
		n->dirfd1 = op == PG_UR_SYMLINKAT ? PG_AT_FDCWD : BPF_CORE_READ(c, old_dfd);
		n->dirfd2 = BPF_CORE_READ(c, new_dfd);
		n->flags = BPF_CORE_READ(c, flags);
		f1 = BPF_CORE_READ(c, oldpath);
		f2 = BPF_CORE_READ(c, newpath);
	}
	if (f1)
		bpf_probe_read_kernel_str(n->path1, sizeof(n->path1), BPF_CORE_READ(f1, name));
	if (f2)
		bpf_probe_read_kernel_str(n->path2, sizeof(n->path2), BPF_CORE_READ(f2, name));
	return 0;
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_uring_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	if (!req)
		return 0;
	const __u8 opcode = BPF_CORE_READ((struct io_kiocb *)req, opcode);
	switch (opcode) {
	case PG_IORING_OP_OPENAT:
		if (PG_UR_WANT(PG_UR_OPENAT))
			bpf_tail_call(ctx, &pg_uring_ops, PG_UR_OPENAT);
		break;
	case PG_IORING_OP_OPENAT2:
		if (PG_UR_WANT(PG_UR_OPENAT2))
			bpf_tail_call(ctx, &pg_uring_ops, PG_UR_OPENAT2);
		break;
	case PG_IORING_OP_CONNECT:
		if (PG_UR_WANT(PG_UR_CONNECT))
			bpf_tail_call(ctx, &pg_uring_ops, PG_UR_CONNECT);
		break;
	case PG_IORING_OP_SOCKET:
		if (PG_UR_WANT(PG_UR_SOCKET))
			bpf_tail_call(ctx, &pg_uring_ops, PG_UR_SOCKET);
		break;
	case PG_IORING_OP_ACCEPT:
		if (PG_UR_WANT(PG_UR_ACCEPT))
			bpf_tail_call(ctx, &pg_uring_ops, PG_UR_ACCEPT);
		break;
	case PG_IORING_OP_BIND:
		if (PG_UR_WANT(PG_UR_BIND))
			bpf_tail_call(ctx, &pg_uring_ops, PG_UR_BIND);
		break;
	case PG_IORING_OP_LISTEN:
		if (PG_UR_WANT(PG_UR_LISTEN))
			bpf_tail_call(ctx, &pg_uring_ops, PG_UR_LISTEN);
		break;
	default: {
		const int op = pg_uring_pathop(opcode);
		if (op >= 0 && PG_UR_WANT(op))
			bpf_tail_call(ctx, &pg_uring_ops, op);
	}
	}
	return 0;
}

/* io_uring's "pick a free slot" file_index (IORING_FILE_INDEX_ALLOC). */
#define PG_IORING_FILE_INDEX_ALLOC (~0U)
/* The flag bits io_uring keeps in a fixed file's pointer (FFS_MASK). */
#define PG_IO_FFS_BITS 3UL

/* The struct file in slot `index` of the ring's fixed-file table, or 0. */
static __always_inline __u64 pg_uring_fixed_file(struct io_ring_ctx *ring, __u32 index)
{
	if (index >= BPF_CORE_READ(ring, file_table.data.nr))
		return 0;
	struct io_rsrc_node **nodes = BPF_CORE_READ(ring, file_table.data.nodes);
	struct io_rsrc_node *node = NULL;
	if (bpf_probe_read_kernel(&node, sizeof(node), &nodes[index]) || !node)
		return 0;
	return BPF_CORE_READ(node, file_ptr) & ~PG_IO_FFS_BITS;
}

/* An open request: its struct io_open overlays the start of the request
 * (io_kiocb_to_cmd). An open into a fixed-file slot installs no descriptor
 * (a later IOSQE_FIXED_FILE read uses the slot): its file is taken from the
 * ring's table, slot file_index - 1, or the one the kernel picked (the
 * result) for IORING_FILE_INDEX_ALLOC. */
static __always_inline int pg_uring_open(struct io_ring_ctx *ring, void *req, long res, __u16 kind)
{
	const struct io_open *o = (const struct io_open *)req;
	const __u32 slot = BPF_CORE_READ(o, file_slot);
	__u64 kfile = 0;
	if (slot && res >= 0) {
		kfile = pg_uring_fixed_file(ring, slot == PG_IORING_FILE_INDEX_ALLOC ? (__u32)res
										     : slot - 1);
		if (!kfile)
			return 0;
	}
	return pg_emit_open_file(res, kind, BPF_CORE_READ(o, dfd), NULL,
				 BPF_CORE_READ(o, how.flags), (__u32)BPF_CORE_READ(o, how.mode),
				 PG_RF_IO_URING, kfile);
}

/* The per-operation programs: loaded, never attached. */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_openat, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return pg_uring_open(ring, req, cqe->res, PG_OPEN_OPENAT);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_openat2, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return pg_uring_open(ring, req, cqe->res, PG_OPEN_OPENAT2);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_connect, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	/* The socket is the request's file (no descriptor number is kept). */
	const struct io_connect *c = (const struct io_connect *)req;
	return pg_emit_connect(cqe->res, -1, BPF_CORE_READ(c, file), BPF_CORE_READ(c, addr),
			       BPF_CORE_READ(c, addr_len), PG_RF_IO_URING);
}

/* A path operation's record, from what pg_uring_submit kept. */
static __always_inline int pg_uring_emit_pathop(void *req, long res, __u16 kind, bool two)
{
	__u64 key = (__u64)req;
	struct pg_uring_names *n = bpf_map_lookup_elem(&pg_uring_names, &key);
	if (!n)
		return 0;
	struct pg_pathop_args a = {.path1 = n->path1,
				   .path2 = two ? n->path2 : NULL,
				   .dirfd1 = n->dirfd1,
				   .dirfd2 = two ? n->dirfd2 : PG_AT_FDCWD,
				   .flags = n->flags,
				   .mode = n->mode,
				   .kernel = true};
	pg_emit_pathop(res, kind, &a, PG_RF_IO_URING);
	bpf_map_delete_elem(&pg_uring_names, &key);
	return 0;
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_renameat, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return pg_uring_emit_pathop(req, cqe->res, PG_PO_RENAMEAT2, true);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_unlinkat, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return pg_uring_emit_pathop(req, cqe->res, PG_PO_UNLINKAT, false);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_mkdirat, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return pg_uring_emit_pathop(req, cqe->res, PG_PO_MKDIRAT, false);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_symlinkat, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return pg_uring_emit_pathop(req, cqe->res, PG_PO_SYMLINKAT, true);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_linkat, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return pg_uring_emit_pathop(req, cqe->res, PG_PO_LINKAT, true);
}

/* Sockets made and accepted: the numeric-argument record, its arguments
 * from the request (written into the scratch record first). Into a
 * fixed-file slot (file_slot set) as into a descriptor: fd.num is then the
 * result, as for an open into a slot, and an accepted socket's ends are
 * read from the ring's table. */
static __always_inline struct pg_args_rec *pg_uring_args_rec(void)
{
	struct pg_args_rec *r = (struct pg_args_rec *)pg_scratch_buf();
	if (r)
		__builtin_memset(r->args, 0, sizeof(r->args));
	return r;
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_socket, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	const struct io_socket *c = (const struct io_socket *)req;
	struct pg_args_rec *r = pg_uring_args_rec();
	if (!r)
		return 0;
	r->args[0] = BPF_CORE_READ(c, domain);
	r->args[1] = BPF_CORE_READ(c, type);
	r->args[2] = BPF_CORE_READ(c, protocol);
	return pg_emit_args_from(cqe->res, PG_AK_SOCKET, PG_FDS_NONE, NULL, -1, PG_RF_IO_URING, 0);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_accept, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	/* accept4(fd, addr, addrlen, flags): the listening socket's number is
	 * not kept (-1); the accepted one is the result. */
	const struct io_accept *c = (const struct io_accept *)req;
	struct pg_args_rec *r = pg_uring_args_rec();
	if (!r)
		return 0;
	const __u32 slot = BPF_CORE_READ(c, file_slot);
	const long res = cqe->res;
	__u64 kfile = 0;
	if (slot && res >= 0) {
		kfile = pg_uring_fixed_file(ring, slot == PG_IORING_FILE_INDEX_ALLOC ? (__u32)res
										     : slot - 1);
		if (!kfile)
			return 0;
	}
	r->args[0] = (__u64)-1;
	r->args[3] = BPF_CORE_READ(c, flags);
	return pg_emit_args_from(res, PG_AK_ACCEPT4, PG_FDS_RET, NULL, -1, PG_RF_IO_URING, kfile);
}

/* bind(fd, addr, addrlen) and listen(fd, backlog) of a socket the request
 * holds (its own file, the request's first member: a request keeps no
 * descriptor number, so the fd argument is -1); the socket's ends are read
 * from that file, a bind's local address being the one the kernel bound.
 * `arg1`: the call's second argument where it is a number (listen's
 * backlog), else 0. */
static __always_inline int pg_uring_own_socket(void *req, long res, __u16 kind, __u64 arg1)
{
	struct pg_args_rec *r = pg_uring_args_rec();
	if (!r)
		return 0;
	r->args[0] = (__u64)-1;
	r->args[1] = arg1;
	return pg_emit_args_from(res, kind, PG_FDS_ARG0, NULL, -1, PG_RF_IO_URING,
				 (__u64)BPF_CORE_READ((struct io_kiocb *)req, file));
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_bind, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return pg_uring_own_socket(req, cqe->res, PG_AK_BIND, 0);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_listen, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return pg_uring_own_socket(req, cqe->res, PG_AK_LISTEN,
				   BPF_CORE_READ((const struct io_listen *)req, backlog));
}
