/* Shared maps and helpers for every hook family.
 *
 * The hook families (one kern/NAME.bpf.c each) are compiled separately and linked into
 * one object with `bpftool gen object`. Maps and read-only configuration are
 * therefore defined __weak here: each object carries an identical copy and
 * the linker keeps exactly one, so every program shares the same ring buffer
 * and counters.
 */
#ifndef PG_KERN_LIB_COMMON_BPF_H
#define PG_KERN_LIB_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "api/filter.h"
#include "api/records.h"

/* Offsets into the scratch buffer are masked with PG_OFF_MASK before each
 * write so the verifier can bound them; one string (≤ PG_STR_MAX) may start
 * at any masked offset. The buffer is a power of two (the per-CPU maximum,
 * 32 KiB) so the final record size can be bounded with one mask too. */
#define PG_OFF_MASK 16383
#define PG_SCRATCH_SIZE 32768
_Static_assert(PG_OFF_MASK + 1 + PG_STR_MAX <= PG_SCRATCH_SIZE, "scratch too small");

/* Mask a value in a way the compiler cannot drop: clang removes a plain
 * `off & MASK` when an earlier branch already implies it, but the verifier
 * does not always track that branch, and then rejects the access. */
#define PG_MASK(val, mask)                                                                         \
	({                                                                                         \
		__u64 __v = (val);                                                                 \
		asm volatile("%0 &= %1" : "+r"(__v) : "i"(mask));                                  \
		__v;                                                                               \
	})
#define PG_OFF(off) PG_MASK(off, PG_OFF_MASK)

/* Set by userspace before load. */
const volatile __u32 pg_self_tgid __weak = 0; /* our own events are dropped */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by userspace before load */
} pg_events SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PG_DROP__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} pg_drops SEC(".maps") __weak;

struct pg_scratch {
	__u8 data[PG_SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pg_scratch);
} pg_scratch SEC(".maps") __weak;

static __always_inline void pg_count_drop(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&pg_drops, &reason);
	if (n)
		*n += 1;
}

/* Send a record to userspace; whether it went (a full ring counts a drop).
 *
 * The reader is not woken per record: a wakeup is an irq_work
 * self-interrupt raised by the sending program, and measured here it made
 * an exec program 12-15 us dearer than the same program sending without
 * one (a crossing open pays the same). The reader polls the ring on a short
 * timer instead (user/syscalls/pipeline.cpp) and is woken early only by
 * the record that fills the ring past a quarter: a flood is read at once,
 * with one wakeup per crossing of that mark, not one per record. */
static __always_inline bool pg_ring_output(const void *data, __u64 size)
{
	const __u64 mark = bpf_ringbuf_query(&pg_events, BPF_RB_RING_SIZE) / 4;
	const __u64 before = bpf_ringbuf_query(&pg_events, BPF_RB_AVAIL_DATA);
	const __u64 flags =
	    before < mark && before + size >= mark ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&pg_events, (void *)data, size, flags)) {
		pg_count_drop(PG_DROP_RINGBUF_FULL);
		return false;
	}
	return true;
}

/* The per-CPU buffer a record is assembled in before it is copied to the
 * ring buffer with its exact size. */
static __always_inline __u8 *pg_scratch_buf(void)
{
	__u32 zero = 0;
	struct pg_scratch *s = bpf_map_lookup_elem(&pg_scratch, &zero);
	if (!s) {
		pg_count_drop(PG_DROP_SCRATCH);
		return NULL;
	}
	return s->data;
}

static __always_inline bool pg_is_self(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == pg_self_tgid;
}

static __always_inline void pg_fill_hdr(struct pg_hdr *h, __u16 type)
{
	h->type = type;
	h->flags = 0;
	h->size = 0;
	h->ts_ns = bpf_ktime_get_boot_ns();
}

#define PG_PF_IO_WORKER 0x00000010

/* An io_uring worker thread ("iou-wrk-N", a thread of the process that
 * submitted the request) completes requests on the process's behalf: it
 * is named as its process (the thread group leader's comm), which is
 * what rules on proc.name mean. Only io_uring completions run on one: a
 * worker makes no syscalls. */
static __always_inline void pg_io_worker_name(char *comm, struct task_struct *task)
{
	if (task->flags & PG_PF_IO_WORKER)
		__builtin_memcpy(comm, task->group_leader->comm, 16);
}

/* The record's task facts. `task` is a trusted BTF pointer (current, or a
 * tp_btf argument): plain loads read it, where probe reads would cost a
 * helper call each, and a record needs sixteen of them. Not inlined: the
 * loads' registers would grow the open programs' pg_open_finish frame past
 * what the stack shared with the name walk allows. */
static __noinline void pg_fill_task(struct pg_task *t, struct task_struct *task)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	t->tgid = pid_tgid >> 32;
	t->tid = (__u32)pid_tgid;
	const struct task_struct *parent = task->real_parent;
	t->ppid = parent->tgid;
	__builtin_memcpy(t->pcomm, parent->group_leader->comm, sizeof(t->pcomm));
	const struct cred *cred = task->cred;
	t->uid = cred->euid.val;
	t->gid = cred->egid.val;
	t->cap_effective = cred->cap_effective.val;
	t->cap_permitted = cred->cap_permitted.val;
	t->cap_inheritable = cred->cap_inheritable.val;
	t->loginuid = (__u32)-1;
	if (bpf_core_field_exists(task->loginuid))
		t->loginuid = task->loginuid.val;
	t->cgroup_id = bpf_get_current_cgroup_id();
	/* The kernel keeps comm NUL-padded (strscpy_pad), as the kernel
	 * filter's hash keys need. */
	__builtin_memcpy(t->comm, task->comm, sizeof(t->comm));
	pg_io_worker_name(t->comm, task);
}

/* Lifecycle programs' counters (enum pg_lifecycle). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PG_LC__COUNT);
	__type(key, __u32);
	__type(value, struct pg_filter_stats);
} pg_flc SEC(".maps") __weak;

static __always_inline void pg_count_lifecycle(__u32 kind, bool sent)
{
	struct pg_filter_stats *st = bpf_map_lookup_elem(&pg_flc, &kind);
	if (!st)
		return;
	if (sent)
		st->passed++;
	else
		st->seen++;
}

/* Fork records not sent yet, by the new process's tgid (see PG_EAGER_FORK).
 * Full: the fork record is sent at once instead. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct pg_fork_rec);
} pg_pending_fork SEC(".maps") __weak;

/* Where a pending fork record is copied before its entry is deleted. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pg_fork_rec);
} pg_fork_copy SEC(".maps") __weak;

/* How many pending ancestors a flush sends: a process forked by a process
 * that itself never sent anything, and so on. Deeper ones stay unknown to
 * userspace, which then knows those ancestors by their ids and comm only. */
#define PG_FORK_CHAIN 4

/* proc.exe and proc.args by process (tgid), written at exec, deleted at
 * exit (lifecycle.bpf.c). A forked child has none while its fork record is
 * pending: pg_proc_of finds its parent's through that record, and the
 * flush that sends the record copies the entry (a fork stays one
 * map write). A process without an entry, or whose parent's cannot be
 * told to be the one it forked from, has them judged as unknown. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct pg_proc_strs);
} pg_fproc SEC(".maps") __weak;

/* The proc.exe and proc.args process `tgid` ran with at time `at` (~0:
 * now): its own entry if written before then, else, along its pending
 * fork records (up to PG_FORK_CHAIN), the nearest ancestor's. Each step
 * back must be older than the one after it: an entry written later is of
 * an image the process never ran (its parent exec'd since), and a later
 * record is another process's that reused the parent's tgid. NULL:
 * unknown. */
static __always_inline struct pg_proc_strs *pg_proc_at(__u32 tgid, __u64 at)
{
#pragma unroll
	for (int i = 0; i < PG_FORK_CHAIN; i++) {
		struct pg_proc_strs *p = bpf_map_lookup_elem(&pg_fproc, &tgid);
		if (p)
			return p->exec_ns < at ? p : NULL;
		struct pg_fork_rec *f = bpf_map_lookup_elem(&pg_pending_fork, &tgid);
		if (!f || f->hdr.ts_ns >= at)
			return NULL;
		tgid = f->task.tgid;
		at = f->hdr.ts_ns;
	}
	return NULL;
}

static __always_inline struct pg_proc_strs *pg_proc_of(__u32 tgid)
{
	return pg_proc_at(tgid, ~0ULL);
}

/* Give process `tgid`, forked at `forked` by `parent`, the entry its
 * parent ran with then, unless it has one of its own (an exec's, whose
 * record did not go). None found leaves it unknown. */
static __always_inline void pg_proc_inherit(__u32 tgid, __u32 parent, __u64 forked)
{
	struct pg_proc_strs *p = pg_proc_at(parent, forked);
	if (p)
		bpf_map_update_elem(&pg_fproc, &tgid, p, BPF_NOEXIST);
}

/* Before the current process's first record: send its pending fork record,
 * and its pending parents' before it, oldest first, so userspace copies
 * each child from a parent it knows. An exec record replaces the process's
 * own fork record (it carries everything the fork would), so that one is
 * dropped. A record is sent by whoever deletes its entry, so two CPUs
 * flushing a shared ancestor send it once. Each process whose pending
 * record goes is given its parent's pg_fproc entry, which it could no
 * longer find through the record; the exec's own is about to be written. */
static __noinline void pg_flush_forks(__u32 tgid, bool own_replaced)
{
	__u32 chain[PG_FORK_CHAIN];
	__u32 n = 0;
#pragma unroll
	for (int i = 0; i < PG_FORK_CHAIN; i++) {
		struct pg_fork_rec *f = bpf_map_lookup_elem(&pg_pending_fork, &tgid);
		if (!f)
			break;
		chain[i] = tgid;
		n = i + 1;
		tgid = f->task.tgid;
	}
	if (!n)
		return;
	__u32 zero = 0;
	struct pg_fork_rec *r = bpf_map_lookup_elem(&pg_fork_copy, &zero);
	if (!r)
		return;
#pragma unroll
	for (int i = PG_FORK_CHAIN - 1; i >= 0; i--) {
		if (i >= n)
			continue;
		struct pg_fork_rec *f = bpf_map_lookup_elem(&pg_pending_fork, &chain[i]);
		if (!f)
			continue;
		__builtin_memcpy(r, f, sizeof(*r));
		if (bpf_map_delete_elem(&pg_pending_fork, &chain[i]) != 0 || (i == 0 && own_replaced))
			continue;
		pg_proc_inherit(chain[i], r->task.tgid, r->hdr.ts_ns);
		if (pg_ring_output(r, sizeof(*r)))
			pg_count_lifecycle(PG_LC_FORK, true);
	}
}

/* Copy an assembled record of `size` bytes from scratch to the ring buffer;
 * whether it went. */
static __always_inline bool pg_submit(__u8 *buf, __u32 size)
{
	struct pg_hdr *h = (struct pg_hdr *)buf;
	if (size > PG_SCRATCH_SIZE || size < sizeof(struct pg_hdr)) {
		pg_count_drop(PG_DROP_READ);
		return false;
	}
	pg_flush_forks(bpf_get_current_pid_tgid() >> 32, h->type == PG_REC_EXEC);
	h->size = size;
	return pg_ring_output(buf, PG_MASK(size, PG_SCRATCH_SIZE - 1));
}

#endif
