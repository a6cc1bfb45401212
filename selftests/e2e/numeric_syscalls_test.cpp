// Syscalls judged by their numeric arguments (socket, ptrace, setns,
// unshare, setuid, setgid, bpf, listen, fchmod): what `trace` reports, and
// Falco's stable ptrace rules firing on a real PTRACE_TRACEME and a real
// PTRACE_ATTACH; init_module/finit_module through the raw syscall fallback.
// (A packet socket in a container is in containers_test.)
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>

#include "harness.h"
#include "selftests/common/falco_files.h"

using namespace pg::e2e;

namespace {

const std::string kFalcoRules = pg::test::falco_file("falco_rules.yaml");

auto event_of(const std::string& type, pid_t pid = getpid()) {
  return [type, pid](const Json& j) {
    return j.value("proc.pid", 0) == pid && j.value("evt.type", "") == type;
  };
}

// A child that stops itself under PTRACE_TRACEME, or sleeps to be attached.
pid_t child(bool traceme) {
  pid_t c = fork();
  if (c == 0) {
    if (traceme) ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    if (!traceme) pause();
    _exit(0);
  }
  return c;
}

}  // namespace

TEST_CASE("numeric-argument syscalls are traced with Falco's argument names and formats") {
  TempDir dir;
  Daemon d({"trace", "--json", "--pid", std::to_string(getpid())});
  REQUIRE(d.ready());
  const int pkt = socket(AF_PACKET, SOCK_DGRAM, 0);
  const int tcp = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(tcp >= 0);
  REQUIRE(listen(tcp, 7) == 0);
  CHECK(syscall(SYS_setns, -1, CLONE_NEWNET) != 0);  // EBADF, still reported
  REQUIRE(unshare(0) == 0);
  REQUIRE(setgid(getgid()) == 0);
  REQUIRE(setuid(getuid()) == 0);
  CHECK(syscall(SYS_bpf, 999, nullptr, 0) != 0);
  const int f = open((dir.path + "/f").c_str(), O_CREAT | O_WRONLY, 0600);
  REQUIRE(fchmod(f, 04750) == 0);
  close(f);
  if (pkt >= 0) close(pkt);
  close(tcp);

  auto e = d.wait_for([](const Json& j) { return j.value("evt.arg.domain", "") == "AF_PACKET"; });
  REQUIRE(e);
  CHECK((*e)["evt.type"] == "socket");
  CHECK((*e)["evt.arg.type"] == SOCK_DGRAM);
  REQUIRE((e = d.wait_for(event_of("listen"))));
  CHECK((*e)["evt.arg.fd"] == tcp);
  CHECK((*e)["evt.arg.backlog"] == 7);
  REQUIRE((e = d.wait_for(event_of("setns"))));
  CHECK((*e)["evt.arg.fd"] == -1);
  CHECK((*e)["evt.arg.nstype"] == "CLONE_NEWNET");
  CHECK((*e)["evt.res"] == "EBADF");
  REQUIRE((e = d.wait_for(event_of("unshare"))));
  CHECK((*e)["evt.arg.flags"] == "0");
  REQUIRE((e = d.wait_for(event_of("setuid"))));
  CHECK((*e)["evt.arg.uid"] == "root");  // ids are shown by name, as Falco does
  REQUIRE((e = d.wait_for(event_of("setgid"))));
  CHECK((*e)["evt.arg.gid"] == "root");
  REQUIRE((e = d.wait_for(event_of("bpf"))));
  CHECK((*e)["evt.arg.cmd"] == 999);
  CHECK((*e)["evt.failed"] == true);
  REQUIRE((e = d.wait_for(event_of("fchmod"))));
  CHECK((*e)["evt.arg.mode"] == "S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID");
}

TEST_CASE("pidfd_getfd: a descriptor taken from another process is traced with the file it names") {
  TempDir dir;
  const std::string secret = dir.path + "/secret";
  { std::ofstream(secret) << "key"; }
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  const pid_t victim = fork();
  REQUIRE(victim >= 0);
  if (victim == 0) {
    const int fd = open(secret.c_str(), O_RDONLY);  // the descriptor to steal
    (void)!write(ready[1], &fd, sizeof(fd));
    pause();
    _exit(0);
  }
  int target = -1;
  REQUIRE(read(ready[0], &target, sizeof(target)) == sizeof(target));
  Daemon d({"trace", "--json", "--pid", std::to_string(getpid()), "--syscalls", "pidfd_getfd"});
  REQUIRE(d.ready());
  const int pidfd = int(syscall(SYS_pidfd_open, victim, 0));
  REQUIRE(pidfd >= 0);
  const int stolen = int(syscall(SYS_pidfd_getfd, pidfd, target, 0));
  CHECK(stolen >= 0);
  CHECK(syscall(SYS_pidfd_getfd, pidfd, 999, 0) < 0);  // EBADF, still reported
  auto e = d.wait_for([&](const Json& j) {
    return j.value("evt.type", "") == "pidfd_getfd" && j.value("evt.res", "") == "SUCCESS";
  });
  REQUIRE(e);
  CHECK((*e)["evt.arg.pid_fd"] == pidfd);
  CHECK((*e)["evt.arg.target_fd"] == target);
  CHECK((*e)["fd.name"] == secret);  // the descriptor it returned, resolved in the kernel
  CHECK(d.wait_for([](const Json& j) {
    return j.value("evt.type", "") == "pidfd_getfd" && j.value("evt.res", "") == "EBADF";
  }));
  kill(victim, SIGKILL);
  waitpid(victim, nullptr, 0);
  close(stolen);
  close(pidfd);
  close(ready[0]);
  close(ready[1]);
}

TEST_CASE("ptrace: PTRACE_TRACEME and PTRACE_ATTACH raise Falco's stable ptrace rules" *
          PG_NEEDS_FALCO_FILES) {
  Daemon d({"run", "-r", kFalcoRules, "--json", "-c", "/dev/null"});
  REQUIRE(d.ready());
  // A benign process-related syscall first: reading a child's status.
  pid_t quiet = child(false);
  kill(quiet, SIGKILL);
  waitpid(quiet, nullptr, 0);

  pid_t anti = child(true);  // the child asks to be traced (anti-debugging)
  waitpid(anti, nullptr, 0);
  pid_t victim = child(false);
  REQUIRE(ptrace(PTRACE_ATTACH, victim, nullptr, nullptr) == 0);
  waitpid(victim, nullptr, 0);
  ptrace(PTRACE_DETACH, victim, nullptr, nullptr);
  kill(victim, SIGKILL);
  waitpid(victim, nullptr, 0);

  auto a =
      d.wait_for([&](const Json& j) { return j.value("rule", "") == "PTRACE anti-debug attempt"; });
  REQUIRE_MESSAGE(a, d.stderr_text());
  auto b = d.wait_for(
      [&](const Json& j) { return j.value("rule", "") == "PTRACE attached to process"; });
  REQUIRE(b);
  CHECK((*b)["output_fields"]["proc.name"] == "e2e-tests");
  CHECK(d.stop() == 0);
  // One of each: the quiet child raised nothing.
  CHECK(d.all([](const Json& j) {
           return j.value("rule", "") == "PTRACE anti-debug attempt";
         }).size() == 1);
}

TEST_CASE(
    "incubating rules: setuid by a non-root program and a BPF program load by an unprofiled one" *
    PG_NEEDS_FALCO_FILES) {
  const std::string incubating = pg::test::falco_file("falco-incubating_rules.yaml");
  Daemon d({"run", "-r", kFalcoRules, "-r", incubating, "--json", "-c", "/dev/null", "-o",
            "rule_matching=all"});
  REQUIRE(d.ready());
  auto sh = [](const std::string& cmd) { return std::system(cmd.c_str()); };
  // Benign: root dropping to root, and a bpf() command that loads nothing.
  sh("perl -e 'use POSIX; POSIX::setuid(0)'");
  sh("perl -e 'syscall(321, 0, 0, 0)'");
  // Attacks: `nobody` trying to become root; a BPF_PROG_LOAD (cmd 5) by
  // perl (rejected for its empty attributes, which the rule does not ask).
  sh("runuser -u nobody -- perl -e 'use POSIX; POSIX::setuid(0)'");
  sh("perl -e 'syscall(321, 5, 0, 0)'");
  auto s = d.wait_for([](const Json& j) { return j.value("rule", "") == "Non sudo setuid"; }, 10s);
  REQUIRE_MESSAGE(s, d.stderr_text());
  CHECK((*s)["output_fields"]["user.name"] == "nobody");
  CHECK((*s)["output_fields"]["evt.arg.uid"] == "root");
  auto b = d.wait_for(
      [](const Json& j) { return j.value("rule", "") == "BPF Program Not Profiled"; }, 10s);
  REQUIRE(b);
  CHECK((*b)["output_fields"]["evt.arg.cmd"] == 5);
  CHECK(d.stop() == 0);
  CHECK(d.all([](const Json& j) { return j.value("rule", "") == "Non sudo setuid"; }).size() == 1);
  CHECK(d.all([](const Json& j) {
           return j.value("rule", "") == "BPF Program Not Profiled";
         }).size() == 1);
}

TEST_CASE(
    "init_module and finit_module: unseen with a warning on a kernel without them, caught by "
    "the raw syscall fallback; socketpair and bind traced") {
  const std::string pid = std::to_string(getpid());
  {
    Daemon d({"trace", "--json", "--pid", pid, "--syscalls", "init_module"});
    REQUIRE(d.ready());
    const std::string err = d.stderr_text();
    CHECK(err.find("no tracepoint for init_module") != std::string::npos);
    CHECK(err.find("raw_syscall_fallback") != std::string::npos);
    CHECK(d.stop() == 0);
  }
  Daemon d({"trace", "--json", "--pid", pid, "--raw-syscall-fallback", "--syscalls",
            "init_module,finit_module,socketpair,bind"});
  REQUIRE(d.ready());
  CHECK(d.stderr_text().find("no tracepoint") == std::string::npos);
  const int fd = open("/dev/null", O_RDONLY);
  REQUIRE(fd >= 0);
  const char empty[] = "";
  const long init = syscall(SYS_init_module, nullptr, 0ul, empty);
  const int init_errno = errno;
  const long finit = syscall(SYS_finit_module, fd, empty, 0);
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  const int udp = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in lo{};
  lo.sin_family = AF_INET;
  lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(udp, reinterpret_cast<sockaddr*>(&lo), sizeof(lo)) == 0);
  socklen_t lo_len = sizeof(lo);
  REQUIRE(getsockname(udp, reinterpret_cast<sockaddr*>(&lo), &lo_len) == 0);
  close(udp);
  close(sv[0]);
  close(sv[1]);
  close(fd);
  REQUIRE(init != 0);
  REQUIRE(finit != 0);

  auto e = d.wait_for(event_of("init_module"));
  REQUIRE_MESSAGE(e, d.stderr_text());
  CHECK((*e)["evt.rawres"] == -init_errno);  // ENOSYS here (EPERM with modules)
  CHECK((*e)["evt.arg.length"] == 0);
  REQUIRE((e = d.wait_for(event_of("finit_module"))));
  CHECK((*e)["evt.arg.fd"] == fd);
  CHECK((*e)["fd.name"] == "/dev/null");
  REQUIRE((e = d.wait_for(event_of("socketpair"))));
  CHECK((*e)["evt.arg.domain"] == "AF_UNIX");
  CHECK((*e)["evt.arg.type"] == SOCK_STREAM);
  REQUIRE((e = d.wait_for(event_of("bind"))));
  CHECK((*e)["evt.arg.fd"] == udp);
  CHECK((*e)["fd.l4proto"] == "udp");
  // The address the socket got: a bound socket's end is the server's.
  CHECK((*e)["fd.sip"] == "127.0.0.1");
  CHECK((*e)["fd.sport"] == ntohs(lo.sin_port));
  CHECK(d.stop() == 0);
}
