/* io_uring: opens and connects a program makes without an open or connect
 * syscall (IORING_OP_OPENAT, _OPENAT2, _CONNECT).
 *
 *   tp_btf/io_uring_complete (runs once per completed request of any ring):
 *     the request's opcode one of the wanted ones? tail call its program:
 *       OPENAT, OPENAT2 → the open record (named by the opened file, like
 *       the syscalls); CONNECT → the connect record (the socket is the
 *       request's own file); each flagged PG_RF_IO_URING (evt.is_io_uring)
 *
 * Why completion: by then the kernel has done the work, so the result is
 * known and a successful open's file is in the descriptor table, which is
 * what names it (lib/open.bpf.h). The path the caller submitted is gone
 * (the kernel frees its copy before completing), so fd.nameraw is empty
 * and a failed open has no name at all. Opens into a fixed-file slot
 * (file_index) install no descriptor and are not seen here; creating the
 * ring is an event of its own (io_uring_setup), which is what rules on
 * io_uring use watch.
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
#include "lib/common.bpf.h"
#include "lib/connect.bpf.h"
#include "lib/open.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* enum io_uring_op (uapi, stable numbers). */
#define PG_IORING_OP_CONNECT 16
#define PG_IORING_OP_OPENAT 18
#define PG_IORING_OP_OPENAT2 28

/* Which calls loaded rules (or `trace`) ask for: bit N is filter kind N
 * (PG_FK_OPENAT, PG_FK_OPENAT2, PG_FK_CONNECT). Set by userspace before
 * load. */
const volatile __u32 pg_uring_want = 0;

#define PG_UR_WANT(fk) (pg_uring_want & (1u << (fk)))

/* The per-operation programs, by enum pg_uring_op; userspace fills it. */
enum pg_uring_op {
	PG_UR_OPENAT = 0,
	PG_UR_OPENAT2 = 1,
	PG_UR_CONNECT = 2,
	PG_UR__COUNT,
};

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, PG_UR__COUNT);
	__type(key, __u32);
	__type(value, __u32);
} pg_uring_ops SEC(".maps");

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_uring_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	if (!req)
		return 0;
	switch (BPF_CORE_READ((struct io_kiocb *)req, opcode)) {
	case PG_IORING_OP_OPENAT:
		if (PG_UR_WANT(PG_FK_OPENAT))
			bpf_tail_call(ctx, &pg_uring_ops, PG_UR_OPENAT);
		break;
	case PG_IORING_OP_OPENAT2:
		if (PG_UR_WANT(PG_FK_OPENAT2))
			bpf_tail_call(ctx, &pg_uring_ops, PG_UR_OPENAT2);
		break;
	case PG_IORING_OP_CONNECT:
		if (PG_UR_WANT(PG_FK_CONNECT))
			bpf_tail_call(ctx, &pg_uring_ops, PG_UR_CONNECT);
		break;
	}
	return 0;
}

/* An open request: its struct io_open overlays the start of the request
 * (io_kiocb_to_cmd). Fixed-file opens are skipped (see the top). */
static __always_inline int pg_uring_open(void *req, long res, __u16 kind)
{
	const struct io_open *o = (const struct io_open *)req;
	if (BPF_CORE_READ(o, file_slot))
		return 0;
	return pg_emit_open(res, kind, BPF_CORE_READ(o, dfd), NULL, BPF_CORE_READ(o, how.flags),
			    (__u32)BPF_CORE_READ(o, how.mode), PG_RF_IO_URING);
}

/* The per-operation programs: loaded, never attached. */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_openat, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return pg_uring_open(req, cqe->res, PG_OPEN_OPENAT);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_openat2, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	return pg_uring_open(req, cqe->res, PG_OPEN_OPENAT2);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pg_ur_connect, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	/* The socket is the request's file (no descriptor number is kept). */
	const struct io_connect *c = (const struct io_connect *)req;
	return pg_emit_connect(cqe->res, -1, BPF_CORE_READ(c, file), BPF_CORE_READ(c, addr),
			       BPF_CORE_READ(c, addr_len), PG_RF_IO_URING);
}
