// The process table: what userspace knows about each live process, seeded
// from /proc at start and kept current by exec, fork, exit and chdir records.
// Fork and exit records come only when useful (kern/api/filter.h,
// PG_EAGER_*): a process may first appear by its exec or by any record, and
// dead ones are swept.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "user/event.h"

namespace pg::user {

struct Process {
  uint32_t pid = 0;  // thread-group id
  uint32_t ppid = 0;
  std::string comm;     // proc.name (kernel comm, at most 15 characters)
  std::string exepath;  // full path of the executable; "" if unknown
  std::vector<std::string> argv;
  std::string env;        // NUL-separated NAME=value entries (as /proc/PID/environ)
  bool env_known = true;  // false: the exec record did not carry it (PG_SF_OMITTED)
  std::string cwd;        // "" if unknown
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t loginuid = UINT32_MAX;
  uint32_t tty = 0;
  uint32_t sid = 0;
  uint32_t vpid = 0;      // the pid in its own pid namespace; 0 if unknown
  uint64_t start_ns = 0;  // CLOCK_BOOTTIME
  uint64_t cgroup_id = 0;
  uint32_t exe_flags = 0;  // pg_exe_flags of the last exec
  uint64_t image = 0;      // the kernel's id of the last exec's image; 0 if unknown
  bool exited = false;
};

class ProcessTable {
 public:
  // Apply a lifecycle event (exec, fork, exit, chdir, fchdir); refresh the
  // owner's basic facts (comm, ppid, ids) from any event. Returns the
  // event's process.
  const Process& update(const Event& e);

  // Forget processes that exited before the event currently being handled.
  // Called after each event so an exit event can still be evaluated.
  void reap();

  // Forget processes that died without an exit record (the kernel sends
  // exits only when a rule evaluates them). A process `alive` denies at two
  // sweeps in a row goes: records it sent just before dying, still on
  // their way, find it at the first. Returns how many went.
  size_t sweep(const std::function<bool(uint32_t)>& alive);

  const Process* find(uint32_t pid) const;
  // Parents, grandparents, ... of pid (not pid itself), at most max_depth.
  std::vector<const Process*> ancestors(uint32_t pid, size_t max_depth = 16) const;

  void insert(Process p);
  size_t size() const { return procs_.size(); }
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [pid, p] : procs_) f(p);
  }

 private:
  Process& touch(const TaskInfo& t);
  std::unordered_map<uint32_t, Process> procs_;
  std::vector<uint32_t> exited_;
  std::unordered_set<uint32_t> dead_at_last_sweep_;
};

// proc.cmdline as Falco renders it: name followed by the arguments.
std::string render_cmdline(const Process& p);
// proc.args: the arguments after argv[0], space-joined.
std::string render_args(const Process& p);

}  // namespace pg::user
