#include "user/process.h"

namespace pg::user {

Process& ProcessTable::touch(const TaskInfo& t) {
  auto [it, fresh] = procs_.try_emplace(t.tgid);
  Process& p = it->second;
  if (fresh) p.pid = t.tgid;
  p.ppid = t.ppid;
  p.comm = t.comm;
  p.uid = t.uid;
  p.gid = t.gid;
  p.loginuid = t.loginuid;
  p.cgroup_id = t.cgroup_id;
  return p;
}

const Process& ProcessTable::update(const Event& e) {
  Process& p = touch(e.task);
  switch (e.kind) {
    case EventKind::Exec:
      p.exepath = e.exe.abs;
      p.argv = e.argv;
      p.env = e.env;
      p.env_known = e.env_known;
      p.cwd = e.cwd.abs;
      p.tty = e.tty;
      p.sid = e.sid;
      p.start_ns = e.start_ns;
      p.exe_flags = e.exe_flags;
      p.vpid = e.vpid;
      p.image = e.image;
      break;
    case EventKind::Fork: {
      // The child starts as a copy of its parent; its own exec or events
      // refine it later.
      Process child = p;
      child.pid = e.child_tgid;
      child.ppid = p.pid;
      child.start_ns = e.child_start_ns;
      child.vpid = e.vpid;
      child.exited = false;
      procs_[e.child_tgid] = std::move(child);
      return procs_[e.task.tgid];
    }
    case EventKind::Exit:
      p.exited = true;
      exited_.push_back(p.pid);
      break;
    // A successful chdir or fchdir moves the working directory. As in
    // Falco, chdir's argument is resolved against the old one lexically.
    case EventKind::PathOp:
      if (e.pathop_kind == PG_PO_CHDIR && e.ret == 0 && !e.path.incomplete && !e.path.abs.empty())
        p.cwd = e.path.abs;
      break;
    case EventKind::Args:
      if (e.args_kind == PG_AK_FCHDIR && e.ret == 0 && !e.path.incomplete && !e.path.abs.empty())
        p.cwd = e.path.abs;
      break;
    default:
      break;
  }
  return p;
}

void ProcessTable::reap() {
  for (uint32_t pid : exited_) {
    auto it = procs_.find(pid);
    if (it != procs_.end() && it->second.exited) procs_.erase(it);
  }
  exited_.clear();
}

size_t ProcessTable::sweep(const std::function<bool(uint32_t)>& alive) {
  std::unordered_set<uint32_t> dead;
  size_t gone = 0;
  for (auto it = procs_.begin(); it != procs_.end();) {
    if (alive(it->first)) {
      ++it;
    } else if (dead_at_last_sweep_.contains(it->first)) {
      it = procs_.erase(it);
      ++gone;
    } else {
      dead.insert(it->first);
      ++it;
    }
  }
  dead_at_last_sweep_ = std::move(dead);
  return gone;
}

const Process* ProcessTable::find(uint32_t pid) const {
  auto it = procs_.find(pid);
  return it == procs_.end() ? nullptr : &it->second;
}

std::vector<const Process*> ProcessTable::ancestors(uint32_t pid, size_t max_depth) const {
  std::vector<const Process*> out;
  const Process* p = find(pid);
  while (p && out.size() < max_depth && p->ppid != 0 && p->ppid != p->pid) {
    p = find(p->ppid);
    if (p) out.push_back(p);
  }
  return out;
}

void ProcessTable::insert(Process p) {
  uint32_t pid = p.pid;
  procs_[pid] = std::move(p);
}

std::string render_args(const Process& p) {
  std::string out;
  for (size_t i = 1; i < p.argv.size(); ++i) {
    if (i > 1) out.push_back(' ');
    out.append(p.argv[i]);
  }
  return out;
}

std::string render_cmdline(const Process& p) {
  std::string args = render_args(p);
  return args.empty() ? p.comm : p.comm + " " + args;
}

}  // namespace pg::user
