/* Process lifecycle: exec, fork, exit.
 *
 *   sched_process_exec: record task + exe (dentry walk) + argv + cwd, and
 *                       the environment when a rule reads it
 *   sched_process_fork: record parent + child ids + the parent's syscall
 *                       (new processes only); sent now when a rule wants
 *                       forks, else kept pending until the child's first
 *                       record (common.bpf.h, pg_flush_forks)
 *   sched_process_exit: record the thread-group leader's exit, when a rule
 *                       wants exits; else only drop its pending fork
 *
 * They keep the process table (ancestry, cmdline, cwd) that rules need;
 * only what the table will use crosses to userspace. tp_btf gives
 * typed access to the task and linux_binprm without per-syscall hooks, and
 * fires once per completed exec whichever syscall (execve, execveat) led
 * there.
 */
#include "lib/common.bpf.h"
#include "lib/filter.bpf.h"
#include "lib/strings.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* tty_nr as /proc/PID/stat encodes it (new_encode_dev), so records and the
 * /proc seed agree. */
static __always_inline __u32 pg_tty_nr(struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	if (!tty)
		return 0;
	__u32 major = BPF_CORE_READ(tty, driver, major);
	__u32 minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

/* The process's id in its own pid namespace (proc.vpid): the innermost
 * number of its thread-group leader's struct pid. */
static __always_inline __u32 pg_vpid(struct task_struct *task)
{
	/* Loads through the typed task; only the array slot needs a helper. */
	struct pid *pid = task->group_leader->thread_pid;
	__u32 level = pid->level;
	__u32 nr = 0;
	bpf_probe_read_kernel(&nr, sizeof(nr),
			      (void *)pid + bpf_core_field_offset(struct pid, numbers) +
				  (level & 31) * bpf_core_type_size(struct upid) +
				  bpf_core_field_offset(struct upid, nr));
	return nr;
}

#define PG_OVERLAYFS_SUPER_MAGIC 0x794c7630
#define PG_PF_KTHREAD 0x00200000 /* task_struct.flags: a kernel thread */

/* enum pg_exe_flags of the file being executed. A memfd's name is
 * "memfd:<name>" and it has no link anywhere; an overlayfs inode whose
 * upper dentry is set exists in the writable layer. */
static __always_inline __u32 pg_exe_flags(struct file *exe)
{
	__u32 flags = 0;
	struct inode *inode = BPF_CORE_READ(exe, f_inode);
	char name[6] = {};
	bpf_probe_read_kernel(name, sizeof(name), BPF_CORE_READ(exe, f_path.dentry, d_name.name));
	if (name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 'f' && name[4] == 'd' &&
	    name[5] == ':' && BPF_CORE_READ(inode, i_nlink) == 0)
		flags |= PG_EXE_FROM_MEMFD;
	if (BPF_CORE_READ(inode, i_sb, s_magic) == PG_OVERLAYFS_SUPER_MAGIC) {
		struct ovl_inode *oi =
		    (void *)inode - bpf_core_field_offset(struct ovl_inode, vfs_inode);
		if (BPF_CORE_READ(oi, __upperdentry))
			flags |= PG_EXE_UPPER_LAYER;
	}
	return flags;
}

/* PG_EAGER_* in force: everything while the filter is off. */
static __always_inline __u32 pg_eager(void)
{
	__u32 zero = 0;
	struct pg_filter_ctl *ctl = bpf_map_lookup_elem(&pg_fctl, &zero);
	if (!ctl || !ctl->enabled)
		return PG_EAGER_FORK | PG_EAGER_EXIT | PG_EAGER_ENV;
	return ctl->eager;
}

/* Where an exec's proc.exe and proc.args are assembled for pg_fproc. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pg_proc_strs);
} pg_proc_scratch SEC(".maps");

static long pg_proc_fill_cb(__u64 i, void *ctx)
{
	return pg_proc_fill_step(ctx, (__u32)i);
}

/* Remember what this exec makes proc.exe and proc.args, from the argument
 * area just copied into the record (the same bytes userspace splits). */
static __always_inline void pg_note_proc_strs(__u32 tgid, const __u8 *buf, const struct pg_str *args,
					      __u32 total, __u32 exe_flags, __u64 image, __u64 when)
{
	__u32 zero = 0;
	struct pg_proc_strs *p = bpf_map_lookup_elem(&pg_proc_scratch, &zero);
	if (!p) {
		bpf_map_delete_elem(&pg_fproc, &tgid);
		return;
	}
	__builtin_memset(p, 0, sizeof(*p));
	struct pg_proc_fill f;
	pg_proc_fill_start(&f, p, (const char *)buf + PG_OFF(args->off),
			   (args->flags & PG_SF_FAILED) ? 0 : args->len, total);
	bpf_loop(2 * PG_PROC_STR, pg_proc_fill_cb, &f, 0);
	p->exe_flags = exe_flags;
	p->image = image;
	p->exec_ns = when;
	/* The old image's strings must not outlive it. */
	if (bpf_map_update_elem(&pg_fproc, &tgid, p, BPF_ANY))
		bpf_map_delete_elem(&pg_fproc, &tgid);
}

/* Image ids (pg_exec_rec.image): this CPU's count of execs, then the CPU
 * (12 bits), so an id names one exec since boot without an atomic. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pg_image_seq SEC(".maps");

static __always_inline __u64 pg_next_image(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&pg_image_seq, &zero);
	if (!n)
		return 0;
	*n += 1;
	return *n << 12 | (bpf_get_smp_processor_id() & 0xfff);
}

/* Children whose fork records are still pending must reach userspace
 * before this exec does: they were copies of the image the exec replaces. */
#define PG_EXEC_CHILDREN 32
struct pg_children_walk {
	struct list_head *head;
	struct list_head *pos;
	__u32 tgid;
	bool self_flushed;
};

/* One step of a walk over a task's children: the next child's tgid in
 * *tgid and its pending fork record, if any; 1 at the list's end. */
static __always_inline long pg_next_child(struct pg_children_walk *w, __u32 *tgid,
					  struct pg_fork_rec **pending)
{
	struct list_head *pos = w->pos;
	if (!pos || pos == w->head)
		return 1;
	struct task_struct *child = (void *)pos - bpf_core_field_offset(struct task_struct, sibling);
	*tgid = BPF_CORE_READ(child, tgid);
	w->pos = BPF_CORE_READ(pos, next);
	*pending = bpf_map_lookup_elem(&pg_pending_fork, tgid);
	return 0;
}

static long pg_flush_child(__u64 i, void *ctx)
{
	struct pg_children_walk *w = ctx;
	__u32 tgid = 0;
	struct pg_fork_rec *f = NULL;
	if (pg_next_child(w, &tgid, &f))
		return 1;
	if (!f)
		return 0;
	if (!w->self_flushed) {
		pg_flush_forks(w->tgid, false);
		w->self_flushed = true;
	}
	pg_flush_forks(tgid, false);
	return 0;
}

/* A child still pending when its parent's process ends found its proc.exe
 * and proc.args through the parent's pg_fproc entry, which goes now: it
 * gets a copy. */
static long pg_inherit_child(__u64 i, void *ctx)
{
	struct pg_children_walk *w = ctx;
	__u32 tgid = 0;
	struct pg_fork_rec *f = NULL;
	if (pg_next_child(w, &tgid, &f))
		return 1;
	if (f)
		pg_proc_inherit(tgid, w->tgid, f->hdr.ts_ns);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(pg_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	if (pg_is_self())
		return 0;
	pg_count_lifecycle(PG_LC_EXEC, false);
	__u8 *buf = pg_scratch_buf();
	if (!buf)
		return 0;
	struct pg_exec_rec *r = (struct pg_exec_rec *)buf;
	pg_fill_hdr(&r->hdr, PG_REC_EXEC);
	pg_fill_task(&r->task, task);
	r->start_ns = BPF_CORE_READ(task, start_boottime);
	r->tty = pg_tty_nr(task);
	r->old_tid = old_pid;
	r->sid = BPF_CORE_READ(task, signal, pids[PIDTYPE_SID], numbers[0].nr);
	r->syscall_nr = (__s32)((struct pt_regs *)bpf_task_pt_regs(task))->orig_ax;
	r->vpid = pg_vpid(task);
	r->image = pg_next_image();

	__u32 off = sizeof(*r);
	struct file *exe = BPF_CORE_READ(bprm, file);
	r->exe_flags = pg_exe_flags(exe);
	off = pg_put_path_walk(buf, off, &r->exe, BPF_CORE_READ(exe, f_path.dentry),
			       BPF_CORE_READ(exe, f_path.mnt), task);
	unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
	off = pg_put_user_bytes(buf, off, &r->args, (const void *)arg_start,
				arg_end > arg_start ? arg_end - arg_start : 0);
	/* Pending children go out first, and take the old image's proc.exe
	 * and proc.args with them (pg_flush_forks) before they are replaced. */
	struct pg_children_walk w = {
	    .head = &task->children, .pos = task->children.next, .tgid = r->task.tgid};
	bpf_loop(PG_EXEC_CHILDREN, pg_flush_child, &w, 0);
	pg_note_proc_strs(r->task.tgid, buf, &r->args, arg_end > arg_start ? arg_end - arg_start : 0,
			  r->exe_flags, r->image, r->hdr.ts_ns);
	off = pg_put_path_walk(buf, off, &r->cwd, BPF_CORE_READ(task, fs, pwd.dentry),
			       BPF_CORE_READ(task, fs, pwd.mnt), task);
	if (pg_eager() & PG_EAGER_ENV) {
		unsigned long env_start = BPF_CORE_READ(task, mm, env_start);
		unsigned long env_end = BPF_CORE_READ(task, mm, env_end);
		off = pg_put_user_bytes(buf, off, &r->env, (const void *)env_start,
					env_end > env_start ? env_end - env_start : 0);
	} else {
		r->env.off = 0;
		r->env.len = 0;
		r->env.flags = PG_SF_OMITTED;
	}
	if ((r->exe.flags | r->args.flags | r->cwd.flags | r->env.flags) & PG_SF_TRUNCATED)
		r->hdr.flags |= PG_RF_TRUNCATED;
	if (pg_submit(buf, off))
		pg_count_lifecycle(PG_LC_EXEC, true);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pg_fork, struct task_struct *parent, struct task_struct *child)
{
	if (pg_is_self())
		return 0;
	pg_count_lifecycle(PG_LC_FORK, false);
	/* The tracepoint's tasks are typed: their fields are plain loads. */
	__u32 tgid = child->tgid;
	__u32 tid = child->pid;
	/* Threads share their process's state; only new processes matter. */
	if (tgid != tid)
		return 0;
	struct pg_fork_rec r = {};
	pg_fill_hdr(&r.hdr, PG_REC_FORK);
	pg_fill_task(&r.task, parent);
	r.child_tgid = tgid;
	r.child_tid = tid;
	r.child_start_ns = child->start_boottime;
	r.child_vpid = pg_vpid(child);
	/* The parent is current: its saved registers say which syscall
	 * (clone, clone3, fork, vfork) is creating the process. */
	r.syscall_nr = -1;
	if (!(parent->flags & PG_PF_KTHREAD))
		r.syscall_nr = (__s32)((struct pt_regs *)bpf_task_pt_regs(parent))->orig_ax;
	r.hdr.size = sizeof(r);
	/* Pending, the record also leads the child's lookups to its parent's
	 * proc.exe and proc.args (pg_proc_of). */
	if (!(pg_eager() & PG_EAGER_FORK) &&
	    bpf_map_update_elem(&pg_pending_fork, &tgid, &r, BPF_ANY) == 0)
		return 0;
	/* Sent now: the child gets a copy of its parent's strings, and the
	 * parent's own pending fork goes first. */
	pg_proc_inherit(tgid, r.task.tgid, r.hdr.ts_ns);
	pg_flush_forks(r.task.tgid, false);
	if (pg_ring_output(&r, sizeof(r)))
		pg_count_lifecycle(PG_LC_FORK, true);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(pg_exit, struct task_struct *task)
{
	if (pg_is_self())
		return 0;
	pg_count_lifecycle(PG_LC_EXIT, false);
	const __u32 tgid = task->tgid;
	const bool eager = pg_eager() & PG_EAGER_EXIT;
	/* The last thread out (do_exit() has counted it already): the
	 * process's state here goes. Without exit records, a fork record
	 * still pending is of a process userspace never heard of; it sweeps
	 * the others from its table itself. */
	if (task->signal->live.counter == 0) {
		/* The tracepoint comes before the children go to a reaper:
		 * they are still on this task's list. */
		struct pg_children_walk w = {
		    .head = &task->children, .pos = task->children.next, .tgid = tgid};
		bpf_loop(PG_EXEC_CHILDREN, pg_inherit_child, &w, 0);
		bpf_map_delete_elem(&pg_fproc, &tgid);
		if (!eager)
			bpf_map_delete_elem(&pg_pending_fork, &tgid);
	}
	/* Other threads exiting leave the process alive. */
	if (!eager || task->pid != tgid)
		return 0;
	pg_flush_forks(tgid, false);
	struct pg_exit_rec r = {};
	pg_fill_hdr(&r.hdr, PG_REC_EXIT);
	pg_fill_task(&r.task, task);
	r.exit_code = BPF_CORE_READ(task, exit_code);
	r.hdr.size = sizeof(r);
	if (pg_ring_output(&r, sizeof(r)))
		pg_count_lifecycle(PG_LC_EXIT, true);
	return 0;
}
