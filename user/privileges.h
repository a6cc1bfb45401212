// Least privilege for the running daemon: once the programs are loaded and
// attached and the pins exist, keep only the capabilities the steady state
// needs (docs/security.md, "Privileges held"), in every set and in the
// bounding set, so neither the daemon nor a program it starts (program
// output) can take the others back.
#pragma once

#include <expected>
#include <string>
#include <vector>

namespace pg::user {

struct KeptCapabilities {
  // A listener below port 1024 is still to bind (webserver, metrics, audit).
  bool bind_low_port = false;
  // Threads that drop their own capabilities too (the stop watchdog, see
  // run_on_watchdog_thread): any thread beyond them would keep everything.
  int other_threads = 0;
};

// The capability numbers kept (CAP_*), for the docs and the tests.
std::vector<int> kept_capabilities(const KeptCapabilities& k);

// Drop every capability not in kept_capabilities(k) from the effective,
// permitted, inheritable, ambient and bounding sets of the calling thread.
// Call it while the process has one thread: capabilities are per thread,
// and threads started later inherit the reduced sets.
std::expected<void, std::string> drop_capabilities(const KeptCapabilities& k);

// The steady state's seccomp filter, on every thread (TSYNC): syscalls the
// running daemon never makes — loading kernel modules, kexec, reboot,
// mount and namespace changes, ptrace and cross-process memory access,
// keyrings, io_uring (whose operations bypass seccomp), clock setting,
// 32-bit and x32 entry points — fail with EPERM, and the kernel logs each
// refusal (SECCOMP_FILTER_FLAG_LOG: audit log or dmesg, "type=1326 ...
// syscall=N"). A deny list, not an allow list: the daemon's libraries
// (libbpf, the HTTP client, the program output's shell) make syscalls no
// list here could keep up with, and a wrong allow list would be a crash in
// production. Programs the program output starts inherit the filter.
std::expected<void, std::string> install_seccomp();

// "cap_bpf,cap_perfmon,..." for the log.
std::string capability_names(const std::vector<int>& caps);

}  // namespace pg::user
