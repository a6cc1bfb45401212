// peregrine trace: process lifecycle (fork, exec, exit) and the process
// table fields that come with it.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

using namespace pg::e2e;

TEST_CASE("fork, exec and exit of a child are reported with its command line") {
  TempDir dir;
  Daemon d({"trace", "--json"});
  REQUIRE(d.ready());
  pid_t child = fork();
  if (child == 0) {
    if (chdir(dir.path.c_str()) != 0) _exit(2);
    execl("/bin/sh", "sh", "-c", "exit 3", "pg-marker-arg", (char*)nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(WEXITSTATUS(status) == 3);

  auto fork_ev = d.wait_for(
      [&](const Json& j) { return j["evt.type"] == "clone" && j["evt.arg.child_pid"] == child; });
  REQUIRE(fork_ev);
  CHECK((*fork_ev)["proc.pid"] == getpid());

  auto exec_ev = d.wait_for(
      [&](const Json& j) { return j["evt.type"] == "execve" && j["proc.pid"] == child; });
  REQUIRE(exec_ev);
  CHECK((*exec_ev)["proc.name"] == "sh");
  CHECK((*exec_ev)["proc.ppid"] == getpid());
  CHECK((*exec_ev)["proc.exepath"] == std::filesystem::canonical("/bin/sh").string());
  CHECK((*exec_ev)["proc.cmdline"] == "sh -c exit 3 pg-marker-arg");
  CHECK((*exec_ev)["proc.args"] == "-c exit 3 pg-marker-arg");
  CHECK((*exec_ev)["proc.cwd"] == dir.path + "/");
  CHECK((*exec_ev)["proc.pname"] ==
        std::filesystem::path(std::filesystem::canonical("/proc/self/exe"))
            .filename()
            .string()
            .substr(0, 15));

  auto exit_ev = d.wait_for(
      [&](const Json& j) { return j["evt.type"] == "procexit" && j["proc.pid"] == child; });
  REQUIRE(exit_ev);
  CHECK((*exit_ev)["evt.arg.status"] == status);
}

TEST_CASE("a process started before the tracer is known from /proc") {
  // This test process predates the daemon: its first event must already
  // carry its command line and executable from the /proc seed.
  Daemon d({"trace", "--json", "--pid", std::to_string(getpid())});
  REQUIRE(d.ready());
  int fd = open("/proc/self/status", O_RDONLY);
  close(fd);
  auto e = d.wait_for([](const Json& j) { return j["evt.type"] == "openat"; });
  REQUIRE(e);
  CHECK((*e)["proc.exepath"] == std::filesystem::canonical("/proc/self/exe").string());
  CHECK(!(*e)["proc.cmdline"].is_null());
  CHECK(!(*e)["proc.cwd"].is_null());
}

TEST_CASE("--comm filters by process name") {
  Daemon d({"trace", "--json", "--comm", "pg-comm-probe"});
  REQUIRE(d.ready());
  pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_NAME, "pg-comm-probe");
    int fd = open("/etc/hostname", O_RDONLY);
    close(fd);
    _exit(0);
  }
  waitpid(child, nullptr, 0);
  int fd = open("/etc/hostname", O_RDONLY);  // ours: must not be printed
  close(fd);
  auto e = d.wait_for(
      [&](const Json& j) { return j.contains("fd.name") && j["fd.name"] == "/etc/hostname"; });
  REQUIRE(e);
  CHECK((*e)["proc.pid"] == child);
  std::this_thread::sleep_for(300ms);
  d.stop();
  for (const auto& j : d.all([](const Json&) { return true; }))
    CHECK(j["proc.name"] == "pg-comm-probe");
}
