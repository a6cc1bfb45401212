// 32-bit syscalls from a 64-bit program (int $0x80): x86-64 runs no
// per-syscall tracepoint for them, so only the compat program sees them.
// They must raise the same alerts, with the same fields, as the 64-bit
// calls, and say they came through the compat entry.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "harness.h"
#include "selftests/common/falco_files.h"

using namespace pg::e2e;

namespace {

std::string field(const Json& j, const char* name) {
  const Json& f = j["output_fields"];
  return f.contains(name) && f[name].is_string() ? f[name].get<std::string>() : "";
}

// Whether this machine runs 32-bit syscalls at all: a child makes one
// (getpid through int $0x80). Some hypervisors' guests kill it with SIGSEGV
// even with IA32 emulation built in; then no attacker can use the entry
// either, and the test has nothing to see. Said once, as a note, when so.
bool machine_runs_int80() {
  static const bool runs = [] {
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // no core file for the expected fault
      long r;
      __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
      _exit(r > 0 ? 0 : 1);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return false;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok)
      std::fprintf(stderr,
                   "note: this machine refuses 32-bit syscalls (int $0x80: %s); the 32-bit "
                   "test is skipped\n",
                   WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "getpid failed");
    return ok;
  }();
  return runs;
}

}  // namespace

TEST_CASE("int $0x80 opens of /etc/shadow and connects raise the same alerts, flagged compat" *
          doctest::skip(!pg::test::have_falco_files() || !machine_runs_int80())) {
  TempDir dir;
  const std::string prog = build_prog("int80", dir.path);

  // A listener for the connects, and a rule watching its port.
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  REQUIRE(listen(ls, 8) == 0);
  socklen_t len = sizeof(a);
  getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  const std::string rules = dir.path + "/connect.yaml";
  std::ofstream(rules) << "- rule: connect to the watched port\n  desc: d\n  condition: "
                          "evt.type = connect and fd.typechar = 4 and fd.rport = "
                       << port
                       << "\n  output: c %fd.name %evt.is_compat %proc.name\n"
                          "  priority: WARNING\n";

  Daemon d({"run", "-r", pg::test::falco_file("falco_rules.yaml"), "-r", rules, "--json", "-c",
            "/dev/null"});
  REQUIRE(d.ready());
  CHECK(d.stderr_text().find("32-bit") != std::string::npos);  // the setting is reported

  REQUIRE(std::system((prog + " open /etc/hostname > /dev/null").c_str()) == 0);  // benign
  REQUIRE(std::system((prog + " open /etc/shadow > /dev/null").c_str()) == 0);
  auto opened = d.wait_for(
      [](const Json& j) { return j.value("rule", "") == "Read sensitive file untrusted"; }, 5s);
  REQUIRE(opened);
  CHECK(field(*opened, "fd.name") == "/etc/shadow");
  CHECK(field(*opened, "evt.type") == "open");
  CHECK(field(*opened, "proc.name") == "int80");

  REQUIRE(std::system((prog + " connect " + std::to_string(port) + " > /dev/null").c_str()) == 0);
  auto is_connect = [](const Json& j) {
    return j.value("rule", "") == "connect to the watched port";
  };
  for (int i = 0; i < 250 && d.all(is_connect).size() < 2; ++i) std::this_thread::sleep_for(20ms);
  std::this_thread::sleep_for(300ms);
  auto conns = d.all(is_connect);
  CHECK(conns.size() == 2);  // socketcall(SYS_CONNECT) and the ia32 connect syscall
  for (const auto& c : conns) {
    CHECK(c["output_fields"]["evt.is_compat"] == true);
    CHECK(field(c, "fd.name").ends_with(":" + std::to_string(port)));
  }
  d.stop();
  close(ls);
  // Only the one /etc/shadow open alerted.
  size_t reads = 0;
  for (const auto& j : d.all([](const Json&) { return true; }))
    reads += j.value("rule", "") == "Read sensitive file untrusted";
  CHECK(reads == 1);
}

// The 32-bit program runs on every syscall of the node: attached only
// where 32-bit calls can be made, which startup says either way.
TEST_CASE("the 32-bit program is attached only where this machine runs 32-bit syscalls") {
  TempDir dir;
  const std::string rules = dir.path + "/open.yaml";
  std::ofstream(rules) << "- rule: an open\n  desc: d\n  condition: evt.type = open and fd.name = "
                       << dir.path << "/x\n  output: o %fd.name\n  priority: WARNING\n";
  Daemon d({"run", "-r", rules, "--json", "-c", "/dev/null"});
  REQUIRE(d.ready());
  const std::string log = d.stderr_text();
  // The kernel's own list (names cut to 15 bytes).
  const bool loaded =
      run_capture("bpftool prog show 2>/dev/null").find("pg_compat_sys_e") != std::string::npos;
  if (machine_runs_int80()) {
    CHECK(log.find("32-bit syscalls (int 0x80") != std::string::npos);
    CHECK(loaded);
  } else {
    CHECK(log.find("32-bit syscalls are not watched: IA32 emulation is refused by this machine") !=
          std::string::npos);
    CHECK_FALSE(loaded);
  }
  CHECK(d.stop() == 0);
}
