/* Ring-buffer records: the ABI between the eBPF programs and userspace.
 *
 * Plain C with fixed-width types so that the BPF objects and the C++ daemon
 * include this one file (never a copy). Every record starts with pg_hdr;
 * record type numbers are explicit and never reused.
 *
 * Variable-length data (paths, argv) follows the fixed part of a record and
 * is described by pg_str {offset from the record start, length}. Strings are
 * NUL-terminated in the record, and len excludes the NUL.
 */
#ifndef PG_KERN_API_RECORDS_H
#define PG_KERN_API_RECORDS_H

#ifdef __BPF__
/* vmlinux.h already provides the __u* types */
#else
#include <linux/types.h>
#endif

/* C and C++ spell the compile-time size check differently. */
#ifdef __cplusplus
#define PG_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define PG_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Small helpers both sides evaluate (constant-folded in C++). */
#ifdef __cplusplus
#define PG_SHARED_FN constexpr inline
#else
#define PG_SHARED_FN static inline
#endif

#include "syscalls.h"

#define PG_COMM_LEN 16
/* Longest string captured from user memory (paths, one argv block). */
#define PG_STR_MAX 4096
/* Most path components one dentry walk emits before it gives up. */
#define PG_WALK_DEPTH 48

enum pg_rec_type {
	PG_REC_EXEC = 1,    /* a task completed execve/execveat */
	PG_REC_FORK = 2,    /* a new process (not a thread) was created */
	PG_REC_EXIT = 3,    /* a process's thread-group leader exited */
	PG_REC_OPEN = 4,    /* open, openat, openat2, creat returned */
	PG_REC_CONNECT = 5, /* connect returned */
	PG_REC_PATHOP = 6,  /* a syscall on names in the file tree returned */
	PG_REC_ARGS = 7,    /* a syscall judged by its integer arguments returned */
};

/* pg_hdr.flags */
enum pg_rec_flags {
	PG_RF_TRUNCATED = 1 << 0, /* some string in the record was cut short */
	/* The call came through the 32-bit compat entry (int $0x80, sysenter,
	 * a 32-bit program) and was mapped to its 64-bit event type. */
	PG_RF_COMPAT = 1 << 1,
	/* The operation was an io_uring request, not a syscall of its own. */
	PG_RF_IO_URING = 1 << 2,
};

struct pg_hdr {
	__u16 type;  /* enum pg_rec_type */
	__u16 flags; /* enum pg_rec_flags */
	__u32 size;  /* whole record, header included */
	__u64 ts_ns; /* CLOCK_BOOTTIME of the event */
};
PG_ABI_ASSERT(sizeof(struct pg_hdr) == 16, "pg_hdr layout");

/* Who did it: filled for every record from the current task. */
struct pg_task {
	__u32 tgid;	/* proc.pid */
	__u32 tid;	/* thread.tid */
	__u32 ppid;	/* real parent's tgid */
	__u32 uid;	/* effective uid (user.uid) */
	__u32 gid;	/* effective gid */
	__u32 loginuid; /* audit login uid, (u32)-1 when unset */
	__u64 cgroup_id;
	char comm[PG_COMM_LEN];
	char pcomm[PG_COMM_LEN]; /* the parent process's comm (proc.pname) */
	/* Capability sets of the thread's credentials (bit N: capability N). */
	__u64 cap_effective;
	__u64 cap_permitted;
	__u64 cap_inheritable;
};
PG_ABI_ASSERT(sizeof(struct pg_task) == 88, "pg_task layout");

/* pg_str.flags */
enum pg_str_flags {
	PG_SF_TRUNCATED = 1 << 0, /* the capture buffer or walk budget ran out */
	PG_SF_FAILED = 1 << 1,	  /* the memory could not be read */
	/* The string is a dentry walk: NUL-separated components from the leaf
	 * up to the task's root ("c\0b\0a\0" for /a/b/c; empty for "/"). */
	PG_SF_COMPONENTS = 1 << 2,
	/* Not copied: no loaded rule reads it (the exec record's environment
	 * without PG_EAGER_ENV). Unknown, not empty. */
	PG_SF_OMITTED = 1 << 3,
};

struct pg_str {
	__u16 off; /* from the start of the record; 0 when absent */
	__u16 len; /* bytes, without the terminating NUL */
	__u16 flags;
	__u16 pad;
};
PG_ABI_ASSERT(sizeof(struct pg_str) == 8, "pg_str layout");

/* The kernel filter's slot set (kern/api/filter.h describes the filter). */
#define PG_SLOTS 256
#define PG_SLOT_WORDS (PG_SLOTS / 64)

struct pg_slots {
	__u64 w[PG_SLOT_WORDS];
};
PG_ABI_ASSERT(sizeof(struct pg_slots) == PG_SLOTS / 8, "pg_slots layout");

/* The verdict a filtered record carries. */
enum pg_verdict_flags {
	PG_VF_FILTERED = 1 << 0, /* slots is the filter's result; else: all rules */
};
struct pg_verdict {
	__u32 gen;
	__u32 flags;
	struct pg_slots slots;
};
PG_ABI_ASSERT(sizeof(struct pg_verdict) == 8 + PG_SLOTS / 8, "pg_verdict layout");

/* pg_exec_rec.exe_flags: where the executable file lives. */
enum pg_exe_flags {
	/* A memfd_create() file (name "memfd:...", never linked anywhere). */
	PG_EXE_FROM_MEMFD = 1 << 0,
	/* An overlayfs file present in the upper (writable) layer: written or
	 * copied up after the container started, not part of its image. */
	PG_EXE_UPPER_LAYER = 1 << 1,
};

struct pg_exec_rec {
	struct pg_hdr hdr;
	struct pg_task task;
	__u64 start_ns; /* task start time, CLOCK_BOOTTIME (proc start) */
	__u32 tty;	/* controlling tty as a dev_t (major << 20 | minor), 0 if none */
	__u32 old_tid;	/* tid before exec (differs when a thread exec'd) */
	__u32 sid;	/* session id in the initial pid namespace */
	__u32 exe_flags; /* enum pg_exe_flags */
	__s32 syscall_nr; /* execve or execveat */
	__u32 vpid;	  /* proc.vpid: the pid in the process's own pid namespace */
	struct pg_str exe;  /* the executable file, as a dentry walk */
	struct pg_str args; /* argv, NUL-separated, as in /proc/PID/cmdline */
	struct pg_str cwd;  /* working directory, as a dentry walk */
	struct pg_str env;  /* the environment, NUL-separated, as in /proc/PID/environ */
	__u64 image;	    /* this exec's image id, unique since boot (the key of pg_fimage) */
};
PG_ABI_ASSERT(sizeof(struct pg_exec_rec) == 176, "pg_exec_rec layout");

struct pg_fork_rec {
	struct pg_hdr hdr;
	struct pg_task task; /* the parent */
	__u32 child_tgid;
	__u32 child_tid;
	__u64 child_start_ns;
	/* The parent's syscall number (clone, clone3, fork, vfork); -1 when the
	 * kernel itself created the process. */
	__s32 syscall_nr;
	__u32 child_vpid; /* the child's pid in its own pid namespace */
};
PG_ABI_ASSERT(sizeof(struct pg_fork_rec) == 128, "pg_fork_rec layout");

struct pg_exit_rec {
	struct pg_hdr hdr;
	struct pg_task task;
	__s32 exit_code; /* as wait(2) reports it */
	__u32 pad;
};
PG_ABI_ASSERT(sizeof(struct pg_exit_rec) == 112, "pg_exit_rec layout");

/* Which syscall produced a PG_REC_OPEN (rows of PG_OPEN_SYSCALLS). */
#define PG_OPEN_KIND_ROW(name, NAME) PG_OPEN_##NAME,
enum pg_open_kind {
	PG_OPEN__NONE = 0,
	PG_OPEN_SYSCALLS(PG_OPEN_KIND_ROW) PG_OPEN__END,
};
#undef PG_OPEN_KIND_ROW

/* AT_FDCWD as the kernel defines it; dirfd takes this value for plain
 * open/creat too, since they resolve relative paths against the cwd. */
#define PG_AT_FDCWD (-100)

struct pg_open_rec {
	struct pg_hdr hdr;
	struct pg_task task;
	__s64 ret;   /* new fd, or -errno */
	__u64 flags; /* open flags (openat2: open_how.flags) */
	__u32 mode;  /* creation mode */
	__s32 dirfd; /* PG_AT_FDCWD or the directory fd */
	__u16 kind;  /* enum pg_open_kind */
	__u16 pad[3];
	struct pg_str path; /* the path argument as the caller passed it */
	/* For a relative path: the directory it is relative to (cwd or dirfd),
	 * as a dentry walk. Absent for absolute paths, and when `name` is
	 * complete (nothing needs it then). */
	struct pg_str base;
	/* A successful open: the opened file's own path, a dentry walk from
	 * the struct file the returned descriptor holds at sys_exit (so the
	 * caller's buffer, symlinks, "..", /proc/self/root and the cwd's depth
	 * play no part). Absent for a failed open, or when the descriptor no
	 * longer holds a file opened with the call's flags. */
	struct pg_str name;
	struct pg_verdict verdict; /* the kernel filter's judgement */
};
PG_ABI_ASSERT(sizeof(struct pg_open_rec) == 200, "pg_open_rec layout");

struct pg_sockaddr {
	__u16 family; /* AF_INET, AF_INET6, AF_UNIX, ... */
	__u16 port;   /* host byte order */
	__u32 pad;
	__u8 addr[16]; /* IPv4 in the first 4 bytes; network byte order */
};
PG_ABI_ASSERT(sizeof(struct pg_sockaddr) == 24, "pg_sockaddr layout");

struct pg_connect_rec {
	struct pg_hdr hdr;
	struct pg_task task;
	__s64 ret; /* 0, or -errno (-EINPROGRESS for non-blocking) */
	__s32 fd;
	__u16 sock_type;	   /* SOCK_STREAM, SOCK_DGRAM, ... (0 if unknown) */
	__u16 protocol;		   /* IPPROTO_TCP, IPPROTO_UDP, ... (0 if unknown) */
	struct pg_sockaddr remote; /* IPv4/6 connect made or under way: the socket's
				    * peer; otherwise decoded from the argument */
	struct pg_sockaddr local;  /* read from the socket at return */
	struct pg_str unix_path;   /* AF_UNIX: sun_path of the argument */
	struct pg_verdict verdict; /* the kernel filter's judgement */
};
PG_ABI_ASSERT(sizeof(struct pg_connect_rec) == 216, "pg_connect_rec layout");

/* Which syscall produced a PG_REC_PATHOP (rows of PG_PATHOP_SYSCALLS, which
 * also say which argument is which, by Falco's names). Every one of them
 * takes one or two path arguments. A symlink's target, a mount's source and
 * a memfd's name are only strings (they need not name a file:
 * pg_pathop_arg1_as_is); every other path names a file, and relative ones
 * come with their base directory. mount also carries its filesystem type,
 * as passed, in `extra`. execve and execveat are here only when they fail:
 * a successful exec is a PG_REC_EXEC. */
#define PG_PO_KIND_ROW(name, NAME, ...) PG_PO_##NAME,
enum pg_pathop_kind {
	PG_PO__NONE = 0,
	PG_PATHOP_SYSCALLS(PG_PO_KIND_ROW) PG_PO__END,
};
#undef PG_PO_KIND_ROW

/* A path operation's row flags (PG_SC_*). */
PG_SHARED_FN __u32 pg_pathop_flags(__u16 kind)
{
	switch (kind) {
#define PG_PO_FLAGS_ROW(name, NAME, tp, flags, ...)                                                \
	case PG_PO_##NAME:                                                                         \
		return (flags);
		PG_PATHOP_SYSCALLS(PG_PO_FLAGS_ROW)
#undef PG_PO_FLAGS_ROW
	}
	return 0;
}

/* Whether a path operation's first argument is a string kept as passed
 * rather than the name of a file (so never resolved against a directory). */
PG_SHARED_FN int pg_pathop_arg1_as_is(__u16 kind)
{
	return (pg_pathop_flags(kind) & PG_SC_AS_IS) != 0;
}

struct pg_pathop_rec {
	struct pg_hdr hdr;
	struct pg_task task;
	__s64 ret;    /* 0, or -errno */
	__s32 dirfd1; /* PG_AT_FDCWD when the syscall takes none */
	__s32 dirfd2;
	__u32 flags;
	__u32 mode;
	__u16 kind; /* enum pg_pathop_kind */
	__u16 pad[3];
	struct pg_str path1; /* the arguments as the caller passed them */
	struct pg_str base1; /* relative path1: its base directory, as a dentry walk */
	struct pg_str path2;
	struct pg_str base2;
	struct pg_str extra; /* a third string argument, as passed (mount: the type) */
	struct pg_verdict verdict; /* the kernel filter's judgement */
};
PG_ABI_ASSERT(sizeof(struct pg_pathop_rec) == 216, "pg_pathop_rec layout");

/* Which syscall produced a PG_REC_ARGS: syscalls whose arguments are plain
 * numbers (rows of PG_ARGS_SYSCALLS; policy/syscall_args.h names and
 * formats them). */
#define PG_AK_KIND_ROW(name, NAME, ...) PG_AK_##NAME,
enum pg_args_kind {
	PG_AK__NONE = 0,
	PG_ARGS_SYSCALLS(PG_AK_KIND_ROW) PG_AK__END,
};
#undef PG_AK_KIND_ROW

/* A numeric syscall's row flags (PG_SC_*). */
PG_SHARED_FN __u32 pg_args_flags(__u16 kind)
{
	switch (kind) {
#define PG_AK_FLAGS_ROW(name, NAME, family, fd, flags, ...)                                        \
	case PG_AK_##NAME:                                                                         \
		return (flags);
		PG_ARGS_SYSCALLS(PG_AK_FLAGS_ROW)
#undef PG_AK_FLAGS_ROW
	}
	return 0;
}

/* The file type bits of an inode's mode (as in <sys/stat.h>). */
#define PG_S_IFMT 0170000
#define PG_S_IFSOCK 0140000

enum pg_fdinfo_flags {
	/* remote is the destination the caller passed (sendto, sendmsg on an
	 * unconnected socket), not the socket's peer */
	PG_FDI_DESTINATION = 1 << 0,
	/* the destination differs from the last one this process passed on
	 * this descriptor (or it is the first): Falco's fd.name_changed */
	PG_FDI_NAME_CHANGED = 1 << 1,
	/* a connected TCP socket whose local port came from bind(), as an
	 * accepted connection's does (its listener's): local is the server end
	 * of Falco's client->server tuple */
	PG_FDI_SERVER = 1 << 2,
};

/* A file descriptor the event names, resolved in the kernel at event time
 * (so fds opened earlier, inherited across fork and exec, or dup'ed all
 * resolve, without open/dup/close events crossing to keep a table). */
struct pg_fdinfo {
	__s32 num;   /* the descriptor; -1 when the syscall names none */
	__u32 mode;  /* the inode's mode; 0 when num was not open */
	__u16 sock_family; /* sockets: AF_* of the socket itself */
	__u16 sock_type;
	__u16 protocol;
	__u16 flags; /* enum pg_fdinfo_flags */
	struct pg_sockaddr local;  /* sockets: this end, from the socket */
	struct pg_sockaddr remote; /* sockets: the peer (sendto/sendmsg: the destination passed) */
	struct pg_str path;	   /* other files: the file's path, as a dentry walk;
				    * unix sockets: the bound path, or the peer's */
};
PG_ABI_ASSERT(sizeof(struct pg_fdinfo) == 72, "pg_fdinfo layout");

struct pg_args_rec {
	struct pg_hdr hdr;
	struct pg_task task;
	__s64 ret;
	__u64 args[6]; /* the syscall's arguments, as passed */
	__u16 kind;    /* enum pg_args_kind */
	__u16 pad[3];
	struct pg_fdinfo fd;	   /* the fd argument (or the fd returned), resolved */
	struct pg_verdict verdict; /* the kernel filter's judgement */
};
PG_ABI_ASSERT(sizeof(struct pg_args_rec) == 280, "pg_args_rec layout");

/* Every place a record can be lost; indexes of the pg_drops counter map. */
enum pg_drop_reason {
	PG_DROP_RINGBUF_FULL = 0, /* bpf_ringbuf_output/reserve failed */
	PG_DROP_SCRATCH = 1,	  /* no per-CPU scratch buffer */
	PG_DROP_READ = 2,	  /* a kernel read the record depends on failed */
	PG_DROP__COUNT,
};

#endif
