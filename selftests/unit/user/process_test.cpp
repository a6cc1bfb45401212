#include "user/process.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "user/cgroup.h"
#include "user/procfs.h"

using namespace pg::user;

namespace {

Event lifecycle(EventKind kind, uint32_t pid, uint32_t ppid, const char* comm) {
  Event e;
  e.kind = kind;
  e.task.tgid = e.task.tid = pid;
  e.task.ppid = ppid;
  e.task.comm = comm;
  return e;
}

}  // namespace

TEST_CASE("fork copies the parent, exec replaces the image, exit removes after reap") {
  ProcessTable t;
  Event exec = lifecycle(EventKind::Exec, 10, 1, "bash");
  exec.exe.abs = "/usr/bin/bash";
  exec.argv = {"bash", "-i"};
  exec.cwd.abs = "/root";
  t.update(exec);

  Event fork = lifecycle(EventKind::Fork, 10, 1, "bash");
  fork.child_tgid = 11;
  t.update(fork);
  const Process* child = t.find(11);
  REQUIRE(child);
  CHECK(child->ppid == 10);
  CHECK(child->exepath == "/usr/bin/bash");
  CHECK(child->cwd == "/root");

  Event exec2 = lifecycle(EventKind::Exec, 11, 10, "cat");
  exec2.exe.abs = "/usr/bin/cat";
  exec2.argv = {"cat", "/etc/shadow"};
  t.update(exec2);
  CHECK(t.find(11)->exepath == "/usr/bin/cat");
  CHECK(render_cmdline(*t.find(11)) == "cat /etc/shadow");
  CHECK(render_args(*t.find(11)) == "/etc/shadow");

  auto anc = t.ancestors(11);
  REQUIRE(anc.size() == 1);  // pid 1 is unknown to this table
  CHECK(anc[0]->comm == "bash");

  t.update(lifecycle(EventKind::Exit, 11, 10, "cat"));
  CHECK(t.find(11));  // still there while the exit event is handled
  t.reap();
  CHECK_FALSE(t.find(11));
  CHECK(t.find(10));
}

TEST_CASE("a process first seen by its exec is complete; dead ones go at the second sweep") {
  ProcessTable t;
  // No fork record: the kernel drops it when the child's first record is
  // its exec.
  Event exec = lifecycle(EventKind::Exec, 20, 10, "cc1");
  exec.exe.abs = "/usr/libexec/cc1";
  exec.argv = {"cc1", "-quiet"};
  exec.cwd.abs = "/src/";
  t.update(exec);
  REQUIRE(t.find(20));
  CHECK(t.find(20)->ppid == 10);
  CHECK(render_cmdline(*t.find(20)) == "cc1 -quiet");
  CHECK(t.find(20)->cwd == "/src/");

  t.update(lifecycle(EventKind::Exec, 21, 10, "as"));
  std::set<uint32_t> alive{21};
  auto is_alive = [&](uint32_t pid) { return alive.contains(pid); };
  CHECK(t.sweep(is_alive) == 0);  // 20 found gone once: kept for records still on their way
  CHECK(t.find(20));
  alive.insert(20);  // a new process took the pid meanwhile
  CHECK(t.sweep(is_alive) == 0);
  alive.clear();
  CHECK(t.sweep(is_alive) == 0);
  CHECK(t.sweep(is_alive) == 2);  // gone at two sweeps in a row
  CHECK_FALSE(t.find(20));
  CHECK_FALSE(t.find(21));
  CHECK(t.size() == 0);
}

TEST_CASE("parse_proc_stat handles comm with spaces and parentheses") {
  auto st = parse_proc_stat(
      "1234 (my (odd) name) S 1 1234 1234 34816 1234 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
      "5555 1000 10 0\n");
  REQUIRE(st);
  CHECK(st->pid == 1234);
  CHECK(st->comm == "my (odd) name");
  CHECK(st->ppid == 1);
  CHECK(st->sid == 1234);
  CHECK(st->tty == 34816);
  CHECK(st->start_ticks == 5555);
  CHECK_FALSE(parse_proc_stat("garbage"));
  CHECK_FALSE(parse_proc_stat("1 (x) S 1 2"));
}

TEST_CASE("status ids are the effective ones and cgroup v2 paths are found") {
  const char* status = "Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t100\t50\t50\t50\n";
  CHECK(parse_status_id(status, "Uid") == 0u);
  CHECK(parse_status_id(status, "Gid") == 50u);
  CHECK_FALSE(parse_status_id(status, "Foo"));
  CHECK(parse_status_nspid("Name:\tsleep\nNSpid:\t4242\t1\n") == 1u);  // pid 1 in a container
  CHECK(parse_status_nspid("NSpid:\t77\n") == 77u);
  CHECK_FALSE(parse_status_nspid(status));
  CHECK(parse_cgroup_v2_path("0::/system.slice/x.service\n") == "/system.slice/x.service");
  CHECK_FALSE(parse_cgroup_v2_path("1:name=systemd:/x\n"));
}

TEST_CASE("ProcFs seeds a table from a proc tree") {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("pg-proc-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "77");
  fs::create_directories(root / "self-not-a-pid");
  std::ofstream(root / "77" / "stat")
      << "77 (sshd) S 1 77 77 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 900 0 0\n";
  std::ofstream(root / "77" / "status") << "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
  {
    std::ofstream c(root / "77" / "cmdline", std::ios::binary);
    c.write("sshd\0-D\0", 8);
  }
  std::ofstream(root / "77" / "loginuid") << "4294967295";
  fs::create_symlink("/usr/sbin/sshd", root / "77" / "exe");
  fs::create_symlink("/", root / "77" / "cwd");

  ProcessTable t;
  CHECK(ProcFs(root, root / "nocgroup").seed(t) == 1);
  const Process* p = t.find(77);
  REQUIRE(p);
  CHECK(p->comm == "sshd");
  CHECK(p->exepath == "/usr/sbin/sshd");
  CHECK(p->cwd == "/");
  CHECK(p->argv == std::vector<std::string>{"sshd", "-D"});
  CHECK(p->loginuid == UINT32_MAX);
  fs::remove_all(root);
}

TEST_CASE("container ids are found in every runtime's cgroup layout") {
  const std::string id = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";
  CHECK(container_id_from_cgroup("/system.slice/docker-" + id + ".scope") == id);
  CHECK(container_id_from_cgroup("/docker/" + id) == id);
  CHECK(container_id_from_cgroup("/machine.slice/libpod-" + id + ".scope/container") == id);
  CHECK(container_id_from_cgroup("/libpod_parent/libpod-" + id) == id);
  CHECK(
      container_id_from_cgroup(
          "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-" +
          id + ".scope") == id);
  CHECK(container_id_from_cgroup("/kubepods/besteffort/pod1234/" + id) == id);
  CHECK(container_id_from_cgroup("/kubepods.slice/crio-" + id + ".scope") == id);
  CHECK(container_id_from_cgroup("/system.slice/ssh.service") == "");
  CHECK(container_id_from_cgroup("/user.slice/user-0.slice/session-1.scope") == "");
  CHECK(container_id_from_cgroup("/") == "");
}

TEST_CASE("a replay-side cgroup map knows only what was added") {
  CgroupMap m("");
  CHECK(m.path(42) == nullptr);
  m.add(42, "/system.slice/docker-" + std::string(64, 'a') + ".scope");
  REQUIRE(m.container_id(42));
  CHECK(*m.container_id(42) == std::string(64, 'a'));
  m.add(7, "/init.scope");
  CHECK(m.container_id(7)->empty());
}
