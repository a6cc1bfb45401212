// Syscalls that change a process (chdir, fchdir, prctl, set*id, capset) or
// that rules watch for what they ask (mount, umount2, memfd_create, kill,
// userfaultfd), the creating syscall of a new process, and failed execs:
// each performed for real, then seen by `trace` with Falco's names.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

using namespace pg::e2e;

namespace {

auto event_of(pid_t pid, const std::string& type) {
  return [=](const Json& j) {
    return j.value("proc.pid", 0) == pid && j.value("evt.type", "") == type;
  };
}

// Runs f in a forked child and waits for it; returns the child's pid.
template <class F>
pid_t in_child(F f) {
  const pid_t child = fork();
  if (child == 0) {
    f();
    _exit(0);
  }
  int st = 0;
  waitpid(child, &st, 0);
  return child;
}

}  // namespace

TEST_CASE("process state: chdir and fchdir move proc.cwd for the events that follow") {
  TempDir dir;
  Daemon d({"trace", "--json", "--syscalls", "chdir,fchdir,kill"});
  REQUIRE(d.ready());
  const pid_t child = in_child([&] {
    if (chdir(dir.path.c_str()) != 0) _exit(1);
    kill(getpid(), 0);  // an event after chdir
    const int etc = open("/etc", O_RDONLY | O_DIRECTORY);
    if (fchdir(etc) != 0) _exit(1);
    syscall(SYS_tgkill, getpid(), gettid(), 0);  // and one after fchdir
  });
  auto c = d.wait_for(event_of(child, "chdir"), 10s);
  REQUIRE_MESSAGE(c, d.stderr_text());
  CHECK((*c)["evt.arg.path"] == dir.path);
  auto k = d.wait_for(event_of(child, "kill"), 10s);
  REQUIRE(k);
  CHECK((*k)["proc.cwd"] == dir.path + "/");
  CHECK((*k)["evt.arg.sig"] == "0");
  auto f = d.wait_for(event_of(child, "fchdir"), 10s);
  REQUIRE(f);
  CHECK((*f)["fd.name"] == "/etc");
  auto t = d.wait_for(event_of(child, "tgkill"), 10s);
  CHECK_FALSE(t);  // not asked for: tgkill has no program attached
  d.stop();
}

TEST_CASE("process state: prctl, setresuid, capset, mount, umount2, memfd_create, userfaultfd") {
  Daemon d({"trace", "--json", "--syscalls",
            "prctl,setresuid,capset,mount,umount2,memfd_create,userfaultfd"});
  REQUIRE(d.ready());
  const pid_t child = in_child([] {
    prctl(PR_SET_NAME, "pg-renamed", 0, 0, 0);
    syscall(SYS_setresuid, -1, 0, -1);
    // capset with the current sets (a no-op that still runs the syscall)
    struct {
      uint32_t version;
      int pid;
    } hdr{0x20080522, 0};
    uint32_t data[6] = {};
    syscall(SYS_capget, &hdr, data);
    syscall(SYS_capset, &hdr, data);
    mount("none", "/nonexistent-pg-dir", "tmpfs", MS_RDONLY, nullptr);
    umount2("/nonexistent-pg-dir", MNT_DETACH);
    const int m = memfd_create("pg-memfd", MFD_CLOEXEC);
    close(m);
    syscall(SYS_userfaultfd, 0);
  });
  auto p = d.wait_for(event_of(child, "prctl"), 10s);
  REQUIRE_MESSAGE(p, d.stderr_text());
  CHECK((*p)["evt.arg.option"] == "PR_SET_NAME");
  CHECK((*p)["evt.arg.arg2_str"] == "pg-renamed");
  CHECK((*p)["proc.name"] == "pg-renamed");
  auto s = d.wait_for(event_of(child, "setresuid"), 10s);
  REQUIRE(s);
  CHECK((*s)["evt.arg.euid"] == "root");
  auto c = d.wait_for(event_of(child, "capset"), 10s);
  REQUIRE(c);
  CHECK((*c)["evt.res"] == "SUCCESS");
  CHECK(c->value("evt.arg.cap_effective", "").find("CAP_SYS_ADMIN") != std::string::npos);
  auto m = d.wait_for(event_of(child, "mount"), 10s);
  REQUIRE(m);
  CHECK((*m)["evt.arg.dev"] == "none");
  CHECK((*m)["evt.arg.dir"] == "/nonexistent-pg-dir");
  CHECK((*m)["evt.arg.type"] == "tmpfs");
  CHECK((*m)["evt.arg.flags"] == "MS_RDONLY");
  CHECK((*m)["evt.res"] == "ENOENT");
  auto u = d.wait_for(event_of(child, "umount2"), 10s);
  REQUIRE(u);
  CHECK((*u)["evt.arg.name"] == "/nonexistent-pg-dir");
  CHECK((*u)["evt.arg.flags"] == "MNT_DETACH");
  auto mf = d.wait_for(event_of(child, "memfd_create"), 10s);
  REQUIRE(mf);
  CHECK((*mf)["evt.arg.name"] == "pg-memfd");
  CHECK((*mf)["evt.arg.flags"] == "MFD_CLOEXEC");
  CHECK((*mf)["evt.arg.fd"] == (*mf)["evt.rawres"]);
  auto uf = d.wait_for(event_of(child, "userfaultfd"), 10s);
  REQUIRE(uf);
  d.stop();
}

TEST_CASE("process state: new processes carry the syscall that made them; failed execs show") {
  Daemon d({"trace", "--json", "--syscalls", "clone,clone3,fork,vfork,execve,execveat"});
  REQUIRE(d.ready());
  const pid_t me = getpid();
  // vfork through the libc call; clone3 through the raw syscall.
  const pid_t v = vfork();
  if (v == 0) _exit(0);
  waitpid(v, nullptr, 0);
  clone_args ca{};
  ca.exit_signal = SIGCHLD;
  const long c3 = syscall(SYS_clone3, &ca, sizeof(ca));
  if (c3 == 0) _exit(0);
  REQUIRE(c3 > 0);
  waitpid(pid_t(c3), nullptr, 0);
  const pid_t failed =
      in_child([] { execl("/nonexistent/pg-binary", "pg-binary", static_cast<char*>(nullptr)); });
  auto vf = d.wait_for(
      [&](const Json& j) { return event_of(me, "vfork")(j) && j["evt.arg.child_pid"] == v; }, 10s);
  REQUIRE_MESSAGE(vf, d.stderr_text());
  auto cl3 = d.wait_for(
      [&](const Json& j) { return event_of(me, "clone3")(j) && j["evt.arg.child_pid"] == c3; },
      10s);
  REQUIRE(cl3);
  auto fe = d.wait_for(event_of(failed, "execve"), 10s);
  REQUIRE(fe);
  CHECK((*fe)["evt.res"] == "ENOENT");
  CHECK((*fe)["evt.arg.filename"] == "/nonexistent/pg-binary");
  d.stop();
}
