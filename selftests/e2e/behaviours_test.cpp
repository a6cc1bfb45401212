// Attacker behaviours, performed for real, each raising the specific rule
// of Falco's stable file (read from the FALCO_RULES directory) while a nearby
// benign action raises nothing. (Path operations have their own file,
// pathops_test.cpp; containers theirs.)
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.h"
#include "selftests/common/falco_files.h"

using namespace pg::e2e;

namespace {

const std::string kFalcoRules = pg::test::falco_file("falco_rules.yaml");

// `peregrine run` with the stable and incubating files, every matching rule
// alerting.
std::vector<std::string> with_incubating() {
  return {"run",    "-r", kFalcoRules, "-r", pg::test::falco_file("falco-incubating_rules.yaml"),
          "--json", "-c", "/dev/null", "-o", "rule_matching=all"};
}

int sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string field(const Json& alert, const char* name) {
  const Json& f = alert["output_fields"];
  return f.contains(name) && f[name].is_string() ? f[name].get<std::string>() : "";
}

// Alerts of `rule` whose `name` field is `value`.
auto alert_where(const std::string& rule, const char* name, const std::string& value) {
  return [=](const Json& j) { return j.value("rule", "") == rule && field(j, name) == value; };
}

// Run `benign`, then `attack`; the attack's alert (matched by `is_attack`)
// must arrive, and `rule` must have fired for nothing else.
void check_behaviour(const std::string& rule, const std::string& benign, const std::string& attack,
                     const std::function<bool(const Json&)>& is_attack) {
  Daemon d({"run", "-r", kFalcoRules, "--json", "-c", "/dev/null"});
  REQUIRE(d.ready());
  sh(benign);
  sh(attack);
  auto a = d.wait_for(is_attack, 10s);
  REQUIRE_MESSAGE(a, rule << " did not fire\n" << d.stderr_text());
  CHECK(d.stop() == 0);
  for (const auto& j : d.all([&](const Json& j) { return j.value("rule", "") == rule; }))
    CHECK_MESSAGE(is_attack(j), "the benign action fired " << rule << ": " << j.dump());
}

}  // namespace

TEST_CASE("behaviour: reading /etc/shadow by a relative path from /etc" * PG_NEEDS_FALCO_FILES) {
  check_behaviour("Read sensitive file untrusted", "cd /etc && cat hostname > /dev/null",
                  "cd /etc && cat shadow > /dev/null",
                  alert_where("Read sensitive file untrusted", "fd.name", "/etc/shadow"));
}

TEST_CASE("behaviour: searching for private keys with find" * PG_NEEDS_FALCO_FILES) {
  TempDir dir;
  check_behaviour("Search Private Keys or Passwords", "find " + dir.path + " -name notes.txt",
                  "find " + dir.path + " -name id_rsa",
                  alert_where("Search Private Keys or Passwords", "proc.name", "find"));
}

TEST_CASE("behaviour: executing a program from /dev/shm" * PG_NEEDS_FALCO_FILES) {
  const std::string exe = "/dev/shm/pg-e2e-" + std::to_string(getpid());
  REQUIRE(sh("cp /bin/true " + exe) == 0);
  // The program itself, and the shell that ran it with `-c /dev/shm/...`,
  // are both reported (Falco's rule names both); /bin/true is not.
  check_behaviour("Execution from /dev/shm", "/bin/true", exe, [&](const Json& j) {
    return j.value("rule", "") == "Execution from /dev/shm" &&
           j.value("output", "").find(exe) != std::string::npos;
  });
  Daemon d({"run", "-r", kFalcoRules, "--json", "-c", "/dev/null"});
  REQUIRE(d.ready());
  sh(exe);
  CHECK(d.wait_for(alert_where("Execution from /dev/shm", "proc.exepath", exe), 10s));
  CHECK(d.stop() == 0);
  std::filesystem::remove(exe);
}

TEST_CASE("behaviour: truncating a log file under /var/log" * PG_NEEDS_FALCO_FILES) {
  const std::string log = "/var/log/pg-e2e-" + std::to_string(getpid()) + ".log";
  REQUIRE(sh("echo line > " + log) == 0);
  check_behaviour("Clear Log Activities", "cat " + log + " > /dev/null; echo more >> " + log,
                  ": > " + log, alert_where("Clear Log Activities", "fd.name", log));
  std::filesystem::remove(log);
}

TEST_CASE("behaviour: fileless execution of a program copied into a memfd" * PG_NEEDS_FALCO_FILES) {
  // memfd_create (syscall 319 on x86-64), /bin/true copied in, executed
  // through /proc/self/fd: nothing of it is ever on disk.
  const std::string attack =
      "perl -e 'my $n = \"pg-payload\"; my $fd = syscall(319, $n, 0); die if $fd < 0; "
      "open(my $m, \">&=\", $fd) or die; open(my $t, \"<\", \"/bin/true\") or die; "
      "binmode $t; local $/; my $d = <$t>; syswrite($m, $d) == length($d) or die; "
      "exec {\"/proc/self/fd/$fd\"} \"pg-payload\"'";
  check_behaviour("Fileless execution via memfd_create", "perl -e 'exec \"/bin/true\"'", attack,
                  [](const Json& j) {
                    return j.value("rule", "") == "Fileless execution via memfd_create" &&
                           j.value("output", "").find("memfd:pg-payload") != std::string::npos;
                  });
}

TEST_CASE("behaviour: shredding data with shred" * PG_NEEDS_FALCO_FILES) {
  TempDir dir;
  const std::string a = dir.path + "/a", b = dir.path + "/b";
  REQUIRE(sh("echo data > " + a + " && echo data > " + b) == 0);
  check_behaviour("Remove Bulk Data from Disk", "rm " + a, "shred -u " + b,
                  alert_where("Remove Bulk Data from Disk", "proc.name", "shred"));
}

TEST_CASE("behaviour: looking for AWS credentials with find" * PG_NEEDS_FALCO_FILES) {
  TempDir dir;
  check_behaviour("Find AWS Credentials", "find " + dir.path + " -name notes.txt",
                  "find " + dir.path + " -path '*/.aws/credentials'",
                  alert_where("Find AWS Credentials", "proc.name", "find"));
}

TEST_CASE("behaviour: reading a file under /etc through a ../ traversal" * PG_NEEDS_FALCO_FILES) {
  // `timeout` is the parent, so the shell exclusion of the rule does not
  // apply (as for a web server reading what a request asked for).
  check_behaviour(
      "Directory traversal monitored file read", "timeout 5 cat /etc/hostname",
      "timeout 5 cat /tmp/../etc/../etc/hostname",
      alert_where("Directory traversal monitored file read", "fd.name", "/etc/hostname"));
}

TEST_CASE("behaviour: a system account starting an interactive login" * PG_NEEDS_FALCO_FILES) {
  // `nobody` running login(1): refused right away, but the program started.
  check_behaviour("System user interactive", "runuser -u nobody -- /bin/true",
                  "runuser -u nobody -- /bin/login -h pg-e2e </dev/null >/dev/null 2>&1",
                  alert_where("System user interactive", "proc.name", "login"));
}

TEST_CASE("behaviour: ssh connecting out to a non-standard port" * PG_NEEDS_FALCO_FILES) {
  // A public-looking address on the loopback of a private network
  // namespace stands in for an outside host (tests have no outside
  // network); busybox's nc listens there so the connect succeeds.
  auto in_netns = [](int port) {
    return "unshare -n sh -c 'ip link set lo up && ip addr add 203.0.113.5/32 dev lo && "
           "(busybox nc -l -p " +
           std::to_string(port) +
           " -w 3 </dev/null >/dev/null &) && sleep 0.3 && "
           "timeout 3 ssh -p " +
           std::to_string(port) +
           " -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
           "203.0.113.5 true' >/dev/null 2>&1";
  };
  const std::string rule = "Disallowed SSH Connection Non Standard Port";
  check_behaviour(rule, in_netns(2222), in_netns(4444), [&](const Json& j) {
    return j.value("rule", "") == rule && j["output_fields"].value("fd.rport", 0) == 4444;
  });
}

TEST_CASE(
    "behaviour: incubating host rules: a network tool, a user management binary, setns, wget "
    "under HTTP_PROXY, GLIBC_TUNABLES in the environment, a database server spawning a "
    "program" *
    PG_NEEDS_FALCO_FILES) {
  Daemon d(with_incubating());
  REQUIRE(d.ready());
  TempDir dir;
  // busybox run under the name nc, as a downloaded netcat would be.
  std::filesystem::create_symlink("/bin/busybox", dir.path + "/nc");
  std::filesystem::create_symlink("/bin/busybox", dir.path + "/ncx");
  std::filesystem::create_symlink("/bin/busybox", dir.path + "/wget");
  // Benign: the same programs with a clean environment.
  const std::string wget = dir.path + "/wget -q -T 1 -O /dev/null http://127.0.0.1:9/";
  sh("env -i " + wget + " >/dev/null 2>&1");
  sh("env -i /bin/true");
  sh("env -i HTTP_PROXY=http://127.0.0.1:9 " + wget + " >/dev/null 2>&1");
  sh("env -i GLIBC_TUNABLES=glibc.malloc.mxfast=0 /bin/true");
  // A script runs under its file's name: `mysqld` stands for the database
  // server an SQL injection made run a program.
  const std::string db = dir.path + "/mysqld";
  std::ofstream(db) << "#!/bin/sh\n/bin/true\n";
  std::filesystem::permissions(db, std::filesystem::perms::owner_all);
  sh(db);
  sh(dir.path + "/ncx true >/dev/null 2>&1");  // benign: an applet name no rule lists
  sh(dir.path + "/nc -h >/dev/null 2>&1");
  sh("useradd --help >/dev/null 2>&1");
  sh("perl -e 'syscall(308, -1, 0)'");  // setns(-1, 0): the attempt, refused

  const std::pair<const char*, const char*> expected[] = {
      {"Launch Suspicious Network Tool on Host", "nc"},
      {"User mgmt binaries", "useradd"},
      {"Change thread namespace", "perl"},
      {"Program run with disallowed http proxy env", "wget"},
      {"Potential Local Privilege Escalation via Environment Variables Misuse", "true"},
      {"DB program spawned process", "true"},
  };
  for (const auto& [rule, proc] : expected) {
    auto a = d.wait_for(alert_where(rule, "proc.name", proc), 10s);
    CHECK_MESSAGE(a, std::string(rule) << " did not fire for " << std::string(proc) << "\n"
                                       << d.stderr_text());
  }
  CHECK(d.stop() == 0);
  CHECK(d.all(alert_where("Launch Suspicious Network Tool on Host", "proc.name", "ncx")).empty());
  // One each: the clean-environment runs stayed quiet.
  for (const char* rule : {"Program run with disallowed http proxy env",
                           "Potential Local Privilege Escalation via Environment Variables Misuse"})
    CHECK(d.all([&](const Json& j) { return j.value("rule", "") == rule; }).size() == 1);
}

TEST_CASE(
    "behaviour: a server process spawning a shell, and reading /etc/shadow long after it "
    "started" *
    PG_NEEDS_FALCO_FILES) {
  // Scripts run under their file's name: `nginx` here stands for a
  // compromised web server.
  TempDir dir;
  auto script = [&](const std::string& name, const std::string& body) {
    const std::string path = dir.path + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path;
  };
  Daemon d({"run", "-r", kFalcoRules, "--json", "-c", "/dev/null", "-o", "rule_matching=all"});
  REQUIRE(d.ready());
  sh(script("nginx", "read x < /etc/shadow; /bin/sh -c 'true; true'") + " young");
  sh(script("nginx", "sleep 5.5; read x < /etc/shadow") + " old");
  // Benign: the same shell spawned by a program no rule protects.
  sh(script("webhook", "/bin/sh -c 'true; true'"));

  const char* kShell = "Run shell untrusted";
  const char* kTrusted = "Read sensitive file trusted after startup";
  auto s = d.wait_for(alert_where(kShell, "proc.pname", "nginx"), 10s);
  REQUIRE_MESSAGE(s, d.stderr_text());
  CHECK(field(*s, "proc.name") == "sh");
  auto t = d.wait_for(alert_where(kTrusted, "proc.name", "nginx"), 10s);
  REQUIRE(t);
  CHECK(field(*t, "fd.name") == "/etc/shadow");
  CHECK(field(*t, "proc.cmdline").find("old") != std::string::npos);
  CHECK(d.stop() == 0);
  // The young server's read (under 5 s) and the unprotected parent: quiet.
  CHECK(d.all([&](const Json& j) { return j.value("rule", "") == kTrusted; }).size() == 1);
  for (const auto& j : d.all([&](const Json& j) { return j.value("rule", "") == kShell; }))
    CHECK_MESSAGE(field(j, "proc.pname") == "nginx", j.dump());
}

TEST_CASE(
    "behaviour: incubating network rules: a shell opening a TCP connection, UDP to an "
    "unexpected port" *
    PG_NEEDS_FALCO_FILES) {
  Daemon d(with_incubating());
  REQUIRE(d.ready());
  // In a private network namespace an outside-looking address sits on the
  // loopback, with a listener behind it (tests have no outside network).
  // Benign: the same connections to 127.0.0.1, and UDP to port 53.
  sh("unshare -n bash -c 'ip link set lo up && ip addr add 203.0.113.7/32 dev lo && "
     "(busybox nc -l -p 80 -w 2 </dev/null >/dev/null &) && "
     "(busybox nc -l -p 81 -w 2 </dev/null >/dev/null &) && sleep 0.3 && "
     "exec 3<>/dev/tcp/127.0.0.1/81 && exec 4<>/dev/tcp/203.0.113.7/80 && "
     "exec 5<>/dev/udp/203.0.113.7/53 && exec 6<>/dev/udp/203.0.113.7/9999' >/dev/null 2>&1");

  const char* kShell = "System procs network activity";
  const char* kUdp = "Unexpected UDP Traffic";
  auto s = d.wait_for(alert_where(kShell, "proc.name", "bash"), 10s);
  REQUIRE_MESSAGE(s, d.stderr_text());
  CHECK(field(*s, "fd.name").ends_with("203.0.113.7:80"));
  auto u = d.wait_for(
      [&](const Json& j) {
        return j.value("rule", "") == kUdp && field(j, "fd.name").ends_with("203.0.113.7:9999");
      },
      10s);
  REQUIRE(u);
  CHECK(d.stop() == 0);
  // Loopback is no network activity; port 53 is expected UDP.
  for (const auto& j : d.all([&](const Json& j) { return j.value("rule", "") == kShell; }))
    CHECK_MESSAGE(field(j, "fd.name").find("127.0.0.1") == std::string::npos, j.dump());
  for (const auto& j : d.all([&](const Json& j) { return j.value("rule", "") == kUdp; }))
    CHECK_MESSAGE(field(j, "fd.name").ends_with("203.0.113.7:9999"), j.dump());
}
