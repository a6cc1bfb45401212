/* The syscall catalogue: one row per syscall Peregrine captures on its own
 * exit tracepoint, grouped by record family. Everything else is generated
 * from these rows (X-macros), so adding a syscall is one row here plus its
 * tests:
 *   - the kind enums of the records (records.h: pg_open_kind,
 *     pg_pathop_kind, pg_args_kind) and the kernel filter's syscall index
 *     (filter.h: pg_fkind) with the mapping between them;
 *   - the BPF exit programs (files.bpf.c, pathops.bpf.c, and net.bpf.c,
 *     creds.bpf.c, args.bpf.c by family);
 *   - the argument tables userspace names and formats arguments with
 *     (policy/pathop_args.h, policy/syscall_args.h);
 *   - the loader's hook table (user/syscalls/bpf_loader.cpp).
 *
 * Rows are append-only within a family: a kind's number is its position,
 * and recordings keep those numbers.
 *
 * Columns only one side understands (BPF argument expressions, C++
 * argument formats) are macro arguments the other side never expands.
 */
#ifndef PG_KERN_API_SYSCALLS_H
#define PG_KERN_API_SYSCALLS_H

/* Row flags (the `flags` column). */
#define PG_SC_STATE 0x1	       /* a successful call crosses whatever the filter says: the
				* process table follows it (chdir, fchdir); always attached */
#define PG_SC_AS_IS 0x2	       /* the first string is judged as passed, never resolved as a
				* file name (a symlink's target, a mount's source) */
#define PG_SC_FAILED_ONLY 0x4  /* only failed calls are events here (execve: a successful
				* exec is the exec record) */
#define PG_SC_RAW_FALLBACK 0x8 /* may lack a tracepoint (CONFIG_MODULES off): caught on raw
				* sys_exit when the operator allows it */

/* ---- the open family (PG_REC_OPEN) ---------------------------------------
 * X(name, NAME): each program reads its own arguments (files.bpf.c). */
#define PG_OPEN_SYSCALLS(X)                                                                        \
	X(open, OPEN)                                                                              \
	X(openat, OPENAT)                                                                          \
	X(openat2, OPENAT2)                                                                        \
	X(creat, CREAT)

/* ---- path operations (PG_REC_PATHOP) -------------------------------------
 * X(name, NAME, tracepoint, flags, dirfd1, path1, dirfd2, path2, oflags, mode, extra, ARGS)
 *   dirfd1..extra: where the BPF program finds each value (PG_PATH(i) is
 *   argument i as a user string, PG_ARG(i) as a number, PG_CWD for "none");
 *   ARGS: Falco's argument names, PG_PO_ARG(name, where) with `where` one
 *   of Path1, Path2, Dirfd1, Dirfd2, Flags, Mode, Extra, Ret. */
/* clang-format off */
#define PG_PATHOP_SYSCALLS(X) \
X(symlink,   SYMLINK,   symlink,   PG_SC_AS_IS, PG_CWD, PG_PATH(0), PG_CWD, PG_PATH(1), 0, 0, NULL, \
  (PG_PO_ARG(target, Path1), PG_PO_ARG(linkpath, Path2))) \
X(symlinkat, SYMLINKAT, symlinkat, PG_SC_AS_IS, PG_CWD, PG_PATH(0), (int)PG_ARG(1), PG_PATH(2), 0, 0, NULL, \
  (PG_PO_ARG(target, Path1), PG_PO_ARG(linkdirfd, Dirfd2), PG_PO_ARG(linkpath, Path2))) \
X(link,      LINK,      link,      0, PG_CWD, PG_PATH(0), PG_CWD, PG_PATH(1), 0, 0, NULL, \
  (PG_PO_ARG(oldpath, Path1), PG_PO_ARG(newpath, Path2))) \
X(linkat,    LINKAT,    linkat,    0, (int)PG_ARG(0), PG_PATH(1), (int)PG_ARG(2), PG_PATH(3), PG_ARG(4), 0, NULL, \
  (PG_PO_ARG(olddir, Dirfd1), PG_PO_ARG(oldpath, Path1), PG_PO_ARG(newdir, Dirfd2), \
   PG_PO_ARG(newpath, Path2), PG_PO_ARG(flags, Flags))) \
X(unlink,    UNLINK,    unlink,    0, PG_CWD, PG_PATH(0), PG_CWD, NULL, 0, 0, NULL, \
  (PG_PO_ARG(path, Path1))) \
X(unlinkat,  UNLINKAT,  unlinkat,  0, (int)PG_ARG(0), PG_PATH(1), PG_CWD, NULL, PG_ARG(2), 0, NULL, \
  (PG_PO_ARG(dirfd, Dirfd1), PG_PO_ARG(name, Path1), PG_PO_ARG(flags, Flags))) \
X(rename,    RENAME,    rename,    0, PG_CWD, PG_PATH(0), PG_CWD, PG_PATH(1), 0, 0, NULL, \
  (PG_PO_ARG(oldpath, Path1), PG_PO_ARG(newpath, Path2))) \
X(renameat,  RENAMEAT,  renameat,  0, (int)PG_ARG(0), PG_PATH(1), (int)PG_ARG(2), PG_PATH(3), 0, 0, NULL, \
  (PG_PO_ARG(olddirfd, Dirfd1), PG_PO_ARG(oldpath, Path1), PG_PO_ARG(newdirfd, Dirfd2), \
   PG_PO_ARG(newpath, Path2))) \
X(renameat2, RENAMEAT2, renameat2, 0, (int)PG_ARG(0), PG_PATH(1), (int)PG_ARG(2), PG_PATH(3), PG_ARG(4), 0, NULL, \
  (PG_PO_ARG(olddirfd, Dirfd1), PG_PO_ARG(oldpath, Path1), PG_PO_ARG(newdirfd, Dirfd2), \
   PG_PO_ARG(newpath, Path2), PG_PO_ARG(flags, Flags))) \
X(mkdir,     MKDIR,     mkdir,     0, PG_CWD, PG_PATH(0), PG_CWD, NULL, 0, PG_ARG(1), NULL, \
  (PG_PO_ARG(path, Path1), PG_PO_ARG(mode, Mode))) \
X(mkdirat,   MKDIRAT,   mkdirat,   0, (int)PG_ARG(0), PG_PATH(1), PG_CWD, NULL, 0, PG_ARG(2), NULL, \
  (PG_PO_ARG(dirfd, Dirfd1), PG_PO_ARG(path, Path1), PG_PO_ARG(mode, Mode))) \
X(rmdir,     RMDIR,     rmdir,     0, PG_CWD, PG_PATH(0), PG_CWD, NULL, 0, 0, NULL, \
  (PG_PO_ARG(path, Path1))) \
X(chmod,     CHMOD,     chmod,     0, PG_CWD, PG_PATH(0), PG_CWD, NULL, 0, PG_ARG(1), NULL, \
  (PG_PO_ARG(filename, Path1), PG_PO_ARG(mode, Mode))) \
X(fchmodat,  FCHMODAT,  fchmodat,  0, (int)PG_ARG(0), PG_PATH(1), PG_CWD, NULL, 0, PG_ARG(2), NULL, \
  (PG_PO_ARG(dirfd, Dirfd1), PG_PO_ARG(filename, Path1), PG_PO_ARG(mode, Mode))) \
X(chdir,     CHDIR,     chdir,     PG_SC_STATE, PG_CWD, PG_PATH(0), PG_CWD, NULL, 0, 0, NULL, \
  (PG_PO_ARG(path, Path1))) \
X(mount,     MOUNT,     mount,     PG_SC_AS_IS, PG_CWD, PG_PATH(0), PG_CWD, PG_PATH(1), PG_ARG(3), 0, PG_PATH(2), \
  (PG_PO_ARG(dev, Path1), PG_PO_ARG(dir, Path2), PG_PO_ARG(type, Extra), PG_PO_ARG(flags, Flags))) \
/* umount2 is "umount" in the kernel's syscall table */ \
X(umount2,   UMOUNT2,   umount,    0, PG_CWD, PG_PATH(0), PG_CWD, NULL, PG_ARG(1), 0, NULL, \
  (PG_PO_ARG(name, Path1), PG_PO_ARG(flags, Flags))) \
X(memfd_create, MEMFD_CREATE, memfd_create, PG_SC_AS_IS, PG_CWD, PG_PATH(0), PG_CWD, NULL, PG_ARG(1), 0, NULL, \
  (PG_PO_ARG(fd, Ret), PG_PO_ARG(name, Path1), PG_PO_ARG(flags, Flags))) \
X(execve,    EXECVE,    execve,    PG_SC_FAILED_ONLY, PG_CWD, PG_PATH(0), PG_CWD, NULL, 0, 0, NULL, \
  (PG_PO_ARG(filename, Path1))) \
X(execveat,  EXECVEAT,  execveat,  PG_SC_FAILED_ONLY, (int)PG_ARG(0), PG_PATH(1), PG_CWD, NULL, PG_ARG(4), 0, NULL, \
  (PG_PO_ARG(dirfd, Dirfd1), PG_PO_ARG(pathname, Path1), PG_PO_ARG(flags, Flags)))
/* clang-format on */

/* ---- syscalls judged by their numbers (PG_REC_ARGS) ----------------------
 * X(name, NAME, family, fd, flags, ARGS)
 *   family: the BPF file that holds its program (net, creds, proc);
 *   fd: the descriptor the record resolves (NONE, ARG0, or RET: the one
 *   returned); ARGS: Falco's argument names, PG_AK_ARG(name, index, format)
 *   with a policy::ArgFormat. */
/* clang-format off */
#define PG_ARGS_SYSCALLS(X) \
X(socket,     SOCKET,     net,   NONE, 0, (PG_AK_ARG(domain, 0, SocketDomain), PG_AK_ARG(type, 1, Int), PG_AK_ARG(proto, 2, Int))) \
X(ptrace,     PTRACE,     proc,  NONE, 0, (PG_AK_ARG(request, 0, PtraceRequest), PG_AK_ARG(pid, 1, Int), \
                                           PG_AK_ARG(addr, 2, Long), PG_AK_ARG(data, 3, Long))) \
X(setns,      SETNS,      proc,  ARG0, 0, (PG_AK_ARG(fd, 0, Int), PG_AK_ARG(nstype, 1, CloneFlags))) \
X(unshare,    UNSHARE,    proc,  NONE, 0, (PG_AK_ARG(flags, 0, CloneFlags))) \
X(setuid,     SETUID,     creds, NONE, 0, (PG_AK_ARG(uid, 0, Uid))) \
X(setgid,     SETGID,     creds, NONE, 0, (PG_AK_ARG(gid, 0, Gid))) \
X(bpf,        BPF,        proc,  NONE, 0, (PG_AK_ARG(cmd, 0, Int))) \
X(listen,     LISTEN,     net,   ARG0, 0, (PG_AK_ARG(fd, 0, Int), PG_AK_ARG(backlog, 1, Int))) \
X(fchmod,     FCHMOD,     proc,  ARG0, 0, (PG_AK_ARG(fd, 0, Int), PG_AK_ARG(mode, 1, Mode))) \
X(dup,        DUP,        proc,  ARG0, 0, (PG_AK_ARG(oldfd, 0, Int))) \
X(dup2,       DUP2,       proc,  ARG0, 0, (PG_AK_ARG(oldfd, 0, Int), PG_AK_ARG(newfd, 1, Int))) \
X(dup3,       DUP3,       proc,  ARG0, 0, (PG_AK_ARG(oldfd, 0, Int), PG_AK_ARG(newfd, 1, Int), PG_AK_ARG(flags, 2, Int))) \
X(accept,     ACCEPT,     net,   RET,  0, (PG_AK_ARG(fd, 0, Int))) \
X(accept4,    ACCEPT4,    net,   RET,  0, (PG_AK_ARG(fd, 0, Int), PG_AK_ARG(flags, 3, Int))) \
X(sendto,     SENDTO,     net,   ARG0, 0, (PG_AK_ARG(fd, 0, Int), PG_AK_ARG(size, 2, Long))) \
X(sendmsg,    SENDMSG,    net,   ARG0, 0, (PG_AK_ARG(fd, 0, Int))) \
X(setresuid,  SETRESUID,  creds, NONE, 0, (PG_AK_ARG(ruid, 0, Uid), PG_AK_ARG(euid, 1, Uid), PG_AK_ARG(suid, 2, Uid))) \
X(setresgid,  SETRESGID,  creds, NONE, 0, (PG_AK_ARG(rgid, 0, Gid), PG_AK_ARG(egid, 1, Gid), PG_AK_ARG(sgid, 2, Gid))) \
X(setreuid,   SETREUID,   creds, NONE, 0, (PG_AK_ARG(ruid, 0, Uid), PG_AK_ARG(euid, 1, Uid))) \
X(setregid,   SETREGID,   creds, NONE, 0, (PG_AK_ARG(rgid, 0, Gid), PG_AK_ARG(egid, 1, Gid))) \
X(capset,     CAPSET,     creds, NONE, 0, (PG_AK_ARG(cap_inheritable, 0, CapInheritable), \
                                           PG_AK_ARG(cap_permitted, 0, CapPermitted), \
                                           PG_AK_ARG(cap_effective, 0, CapEffective))) \
X(prctl,      PRCTL,      proc,  NONE, 0, (PG_AK_ARG(option, 0, PrctlOption), PG_AK_ARG(arg2_str, 1, PrctlName), \
                                           PG_AK_ARG(arg2_int, 1, Long))) \
X(userfaultfd, USERFAULTFD, proc, RET, 0, (PG_AK_ARG(flags, 0, Int))) \
X(kill,       KILL,       proc,  NONE, 0, (PG_AK_ARG(pid, 0, Int), PG_AK_ARG(sig, 1, Signal))) \
X(tkill,      TKILL,      proc,  NONE, 0, (PG_AK_ARG(tid, 0, Int), PG_AK_ARG(sig, 1, Signal))) \
X(tgkill,     TGKILL,     proc,  NONE, 0, (PG_AK_ARG(pid, 0, Int), PG_AK_ARG(tid, 1, Int), PG_AK_ARG(sig, 2, Signal))) \
X(process_vm_readv,  PROCESS_VM_READV,  proc, NONE, 0, (PG_AK_ARG(pid, 0, Int))) \
X(process_vm_writev, PROCESS_VM_WRITEV, proc, NONE, 0, (PG_AK_ARG(pid, 0, Int))) \
X(fchdir,     FCHDIR,     proc,  ARG0, PG_SC_STATE, (PG_AK_ARG(fd, 0, Int))) \
X(init_module, INIT_MODULE, proc, NONE, PG_SC_RAW_FALLBACK, (PG_AK_ARG(length, 1, Long))) \
X(finit_module, FINIT_MODULE, proc, ARG0, PG_SC_RAW_FALLBACK, (PG_AK_ARG(fd, 0, Int), PG_AK_ARG(flags, 2, Int))) \
X(socketpair, SOCKETPAIR, net,   NONE, 0, (PG_AK_ARG(domain, 0, SocketDomain), PG_AK_ARG(type, 1, Int), PG_AK_ARG(proto, 2, Int))) \
X(bind,       BIND,       net,   ARG0, 0, (PG_AK_ARG(fd, 0, Int))) \
X(pidfd_getfd, PIDFD_GETFD, proc, RET, 0, (PG_AK_ARG(pid_fd, 0, Int), PG_AK_ARG(target_fd, 1, Int), PG_AK_ARG(flags, 2, Int))) \
X(io_uring_setup, IO_URING_SETUP, proc, NONE, 0, (PG_AK_ARG(entries, 0, Int)))
/* clang-format on */

/* Expands a parenthesised column (ARGS) into its contents. */
#define PG_SC_UNPAREN(...) __VA_ARGS__

#endif
