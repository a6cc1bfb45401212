// The differential test's adversarial rules: conditions written to probe
// the edges of the kernel lowering (negations, lists, prefixes and suffixes
// at the key's limits, relative paths, the task cache), loaded beside the
// official files.
#pragma once

namespace pg::test {

// Rules that aim at the corners of the lowering: comm truncation, paths
// the kernel must not judge, negations, suffixes, directories, flags.
inline constexpr const char* kAdversarial = R"(
- rule: long comm names
  desc: names of 15, 16 and more characters
  condition: open_read and proc.name in (abcdefghijklmno, abcdefghijklmnop, check-new-releases) and fd.name startswith /tmp/
  output: x %fd.name
  priority: WARNING
- rule: not a long comm
  desc: a negated long name
  condition: evt.type = openat and evt.is_open_write=true and not proc.name in (abcdefghijklmnopq, cat) and fd.name endswith .key
  output: x %fd.name
  priority: WARNING
- rule: exact and prefix together
  desc: a file or a tree
  condition: open_read and (fd.name = /etc/shadow or fd.name pmatch (/root/.ssh) or fd.directory = /etc/sudoers.d)
  output: x %fd.name
  priority: WARNING
- rule: outside a tree
  desc: negated prefix and exact
  condition: open_write and not fd.name startswith /tmp and fd.name != /dev/null and proc.pname = bash
  output: x %fd.name
  priority: WARNING
- rule: traversal
  desc: raw path with ../
  condition: (open_read or open_file_failed) and fd.nameraw contains "../" and fd.name contains shadow
  output: x %fd.name
  priority: WARNING
- rule: failed opens by uid
  desc: failures and uids
  condition: evt.type in (open, openat, openat2, creat) and evt.res != SUCCESS and user.uid in (0, 1000) and fd.filename = passwd
  output: x %fd.name
  priority: WARNING
- rule: truncating creat
  desc: flags by name
  condition: evt.type in (openat, creat) and evt.arg.flags contains O_TRUNC and fd.num >= 0 and fd.typechar = f
  output: x %fd.name
  priority: WARNING
- rule: directories
  desc: O_DIRECTORY opens
  condition: evt.type = openat and fd.typechar = d and fd.name startswith /proc
  output: x %fd.name
  priority: WARNING
- rule: connect ports
  desc: ports and families
  condition: evt.type = connect and fd.typechar in (4, 6) and fd.sport in (22, 4444) and not proc.name = ssh
  output: x %fd.name
  priority: WARNING
- rule: container writes
  desc: the container macro, negated and not
  condition: open_write and container and not fd.name startswith /tmp
  output: x %fd.name %container.id
  priority: WARNING
- rule: host or one container
  desc: container.id against host and an id
  condition: open_read and (container.id = host or container.id in (0123456789ab, host)) and fd.name startswith /etc
  output: x %fd.name
  priority: WARNING
- rule: not host
  desc: negated host
  condition: evt.type = connect and not container.id = host and fd.type = unix
  output: x %fd.name
  priority: WARNING
- rule: symlink targets
  desc: raw targets, exact and prefix, not normalised
  condition: evt.type in (symlink, symlinkat) and (evt.arg.target in (/etc/, /etc/shadow, "a/../b") or evt.arg.target startswith /root)
  output: x %evt.arg.target %evt.arg.linkpath
  priority: WARNING
- rule: hardlink sources
  desc: resolved first paths
  condition: evt.type in (link, linkat) and evt.arg.oldpath in (/etc/shadow, /etc/sudoers) and not proc.name = cat
  output: x %evt.arg.oldpath
  priority: WARNING
- rule: renames outside tmp
  desc: negated first path
  condition: evt.type in (rename, renameat, renameat2) and evt.arg.oldpath != /tmp/x and not evt.arg.newpath startswith /tmp
  output: x %evt.arg.oldpath
  priority: WARNING
- rule: removed under root
  desc: one name per syscall
  condition: (evt.type in (unlink, rmdir) and evt.arg.path pmatch (/root)) or (evt.type = unlinkat and evt.arg.name startswith /root/)
  output: x %evt.type
  priority: WARNING
- rule: mixed names
  desc: a name that is not the first argument of every syscall
  condition: evt.type in (mkdir, mkdirat, chmod) and evt.arg.path = /etc/x
  output: x %evt.type
  priority: WARNING
- rule: packet sockets in containers
  desc: numeric arguments and the container field
  condition: evt.type = socket and container and evt.arg.domain contains AF_PACKET and not proc.name in (cat, bash)
  output: x %evt.args
  priority: WARNING
- rule: ptrace by uid
  desc: numeric arguments and uid
  condition: evt.type = ptrace and evt.arg.request in (PTRACE_ATTACH, PTRACE_SEIZE) and user.uid != 0
  output: x %evt.args
  priority: WARNING
- rule: exe and args
  desc: proc.exe and proc.args exact, by prefix, negated, empty
  condition: evt.type in (execve, execveat, openat, connect) and (proc.exe startswith /dev/shm/ or proc.exe in (./run, "", sh)) and not proc.args in (-c, "", "-c -c")
  output: x %proc.exe %proc.args
  priority: WARNING
- rule: args prefixes
  desc: proc.args by prefix, with an empty argument inside
  condition: evt.type in (execve, openat) and (proc.args startswith "-c /dev/shm" or proc.args startswith " " or proc.args = "-c  -c") and proc.exe != ./run
  output: x %proc.args
  priority: WARNING
- rule: users by name
  desc: user.name as uids, in and not in
  condition: evt.type in (openat, connect, execve) and (user.name in (daemon, www-data, nobody, no-such-user) or (not user.name in (root, bin) and proc.is_exe_from_memfd = true))
  output: x %user.name
  priority: WARNING
- rule: not from memfd
  desc: the memfd flag negated
  condition: evt.type = openat and proc.is_exe_from_memfd != true and not user.name = root and fd.name startswith /etc
  output: x %fd.name
  priority: WARNING
- rule: modified prefixes
  desc: string comparator modifiers on paths, negated too
  condition: open_read and (fd.name startswith oneof (/etc, /etc/ssh, /root) or fd.name startswith allof (/tmp, /tmp/a)) and not fd.name endswith anyof (.key, shadow)
  output: x %fd.name
  priority: WARNING
- rule: modified names
  desc: = anyof and != allof on comm-like fields, not oneof, exceptions with modifier comps
  condition: evt.type in (openat, execve, connect) and proc.name = anyof (cat, bash, abcdefghijklmnopq) and not fd.name startswith oneof (/etc/passwd, /etc) and proc.pname != allof (sshd, abcdefghijklmnopqr)
  output: x %fd.name
  priority: WARNING
  exceptions:
    - name: pairs
      fields: [proc.name, fd.name]
      comps: [= anyof, startswith oneof]
      values:
        - [[cat, vi], [/tmp, /root/.ssh]]
    - name: dirs
      fields: fd.directory
      comps: "!= allof"
      values: [/etc, /root]
- rule: unix connect
  desc: unix sockets
  condition: evt.type = connect and fd.type = unix and proc.pname != ""
  output: x %fd.name
  priority: WARNING
- rule: io_uring reads
  desc: an open with no argument, named by its file alone (nameraw empty), or not through io_uring
  condition: open_read and (evt.is_io_uring = true and fd.name startswith /etc or not evt.is_io_uring = true and fd.nameraw startswith /root)
  output: x %fd.name
  priority: WARNING
)";

}  // namespace pg::test
