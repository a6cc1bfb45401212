// Evasions of a file rule: the ways an attacker reads a watched
// file without naming it plainly. Each is a real program doing the real
// thing against Falco's stable "Read sensitive file untrusted", with one
// daemon for all of them; the rule must fire once per real open of
// /etc/shadow and name it, and never for the benign neighbours.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "harness.h"
#include "selftests/common/falco_files.h"

using namespace pg::e2e;

namespace {

const std::string kFalcoRules = pg::test::falco_file("falco_rules.yaml");
const std::string kRule = "Read sensitive file untrusted";

bool is_rule(const Json& j) { return j.value("rule", "") == kRule; }

std::string field(const Json& j, const char* name) {
  const Json& f = j["output_fields"];
  return f.contains(name) && f[name].is_string() ? f[name].get<std::string>() : "";
}

// The alerts of kRule whose proc.cmdline is `cmdline`.
std::vector<Json> alerts_of(Daemon& d, const std::string& cmdline) {
  return d.all([&](const Json& j) { return is_rule(j) && field(j, "proc.cmdline") == cmdline; });
}

// How many opens an alert stands for: a summary of repeats folded under an
// alert flood (docs/outputs.md) counts each of them.
size_t weight(const Json& j) {
  const Json& f = j["output_fields"];
  if (f.contains("pg.aggregated") && f["pg.aggregated"].is_number_integer())
    return f["pg.aggregated"].get<size_t>();
  return 1;
}

size_t total(const std::vector<Json>& alerts) {
  size_t n = 0;
  for (const auto& a : alerts) n += weight(a);
  return n;
}

// Wait until alerts standing for `n` opens of `cmdline` arrived (a little
// longer, to see any extra one); returns what arrived.
std::vector<Json> settle(Daemon& d, const std::string& cmdline, size_t n,
                         std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (total(alerts_of(d, cmdline)) < n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  std::this_thread::sleep_for(300ms);
  return alerts_of(d, cmdline);
}

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

}  // namespace

TEST_CASE(
    "aliases of /etc/shadow and a racing path buffer raise Read sensitive file untrusted "
    "once per real open, naming /etc/shadow" *
    PG_NEEDS_FALCO_FILES) {
  TempDir dir;
  const std::string racer = build_prog("racer", dir.path, "-pthread");
  // The aliases: a symlink, the process's root seen through /proc, and a
  // relative path climbing out of a cwd 60 directories deep.
  const std::string link = dir.path + "/shadow-link", benign_link = dir.path + "/hostname-link";
  REQUIRE(symlink("/etc/shadow", link.c_str()) == 0);
  REQUIRE(symlink("/etc/hostname", benign_link.c_str()) == 0);
  std::string deep = dir.path;
  for (int i = 0; i < 60; ++i) deep += "/d";
  std::filesystem::create_directories(deep);
  std::string up;
  for (int i = 0; i < 70; ++i) up += "../";
  const std::string decoy = dir.path + "/decoy";
  std::ofstream(decoy) << "nothing to see\n";
  chmod(decoy.c_str(), 0644);

  Daemon d({"run", "-r", kFalcoRules, "--json", "-c", "/dev/null"});
  REQUIRE(d.ready());

  // Benign neighbours first: the same tricks on a file no rule watches.
  sh("cat " + benign_link + " > /dev/null");
  sh("cat /proc/self/root/etc/hostname > /dev/null");
  sh("cd " + deep + " && cat " + up + "etc/hostname > /dev/null");

  const std::string by_link = "cat " + link;
  const std::string by_proc = "cat /proc/self/root/etc/shadow";
  const std::string by_depth = "cat " + up + "etc/shadow";
  sh(by_link + " > /dev/null");
  sh(by_proc + " > /dev/null");
  sh("cd " + deep + " && " + by_depth + " > /dev/null");
  for (const auto& cmdline : {by_link, by_proc, by_depth}) {
    auto got = settle(d, cmdline, 1, 5s);
    CHECK_MESSAGE(got.size() == 1, cmdline);
    for (const auto& a : got) {
      CHECK(field(a, "fd.name") == "/etc/shadow");
      CHECK(a["output_fields"]["evt.type"] == "openat");
    }
  }

  // The race: every open that really opened /etc/shadow (by inode) is
  // alerted, naming it; no decoy open is. 3,000 alerts of one process and
  // rule in a second can start a shedding episode: repeats then arrive
  // folded into summaries, which count them.
  const std::string race_cmd = racer + " /etc/shadow " + decoy + " 3000";
  FILE* p = popen(race_cmd.c_str(), "r");
  REQUIRE(p);
  int target = -1, decoys = -1;
  REQUIRE(fscanf(p, "target=%d decoy=%d", &target, &decoys) == 2);
  pclose(p);
  MESSAGE("race: " << target << " opens of /etc/shadow, " << decoys << " of the decoy");
  REQUIRE(target > 0);
  REQUIRE(decoys > 0);  // the race really ran both ways
  auto raced = settle(d, "racer /etc/shadow " + decoy + " 3000", size_t(target));
  CHECK_MESSAGE(total(raced) == size_t(target), d.stderr_text());
  size_t misnamed = 0;
  for (const auto& a : raced) misnamed += field(a, "fd.name") != "/etc/shadow";
  CHECK(misnamed == 0);

  // Nothing named the benign file, and nothing else fired.
  for (const auto& j : d.all(is_rule)) CHECK(field(j, "fd.name") == "/etc/shadow");
  CHECK(total(d.all(is_rule)) == 3 + size_t(target));
  d.stop();
}

TEST_CASE(
    "a hard link made before the daemon started and a bind mount of /etc still name "
    "/etc/shadow" *
    PG_NEEDS_FALCO_FILES) {
  TempDir dir;
  // The hard link exists before the daemon starts: no link event to see.
  const std::string hard = dir.path + "/innocent";
  REQUIRE(link("/etc/shadow", hard.c_str()) == 0);
  const std::string bind = dir.path + "/etc-bind";
  std::filesystem::create_directories(bind);
  REQUIRE(sh("mount --bind /etc " + bind) == 0);
  struct Unmount {
    std::string at;
    ~Unmount() { sh("umount " + at); }
  } unmount{bind};

  Daemon d({"run", "-r", kFalcoRules, "--json", "-c", "/dev/null"});
  REQUIRE(d.ready());
  sh("cat " + bind + "/hostname > /dev/null");  // a neighbour through the same mount
  const std::string by_link = "cat " + hard, by_bind = "cat " + bind + "/shadow";
  sh(by_link + " > /dev/null");
  sh(by_bind + " > /dev/null");
  for (const auto& cmdline : {by_link, by_bind}) {
    auto got = settle(d, cmdline, 1, 5s);
    CHECK_MESSAGE(got.size() == 1, cmdline);
    for (const auto& a : got) CHECK(field(a, "fd.name") == "/etc/shadow");
  }
  CHECK(d.all(is_rule).size() == 2);
  d.stop();
}

TEST_CASE(
    "io_uring: an OPENAT of /etc/shadow, inline, on an io-wq worker or into a fixed-file slot, "
    "raises Read sensitive "
    "file untrusted naming it; a truncating OPENAT clears a log; SYMLINKAT and LINKAT to it "
    "raise the link rules; MKDIRAT, RENAMEAT, UNLINKAT, SOCKET, ACCEPT, CONNECT and the ring's "
    "creation are events" *
    PG_NEEDS_FALCO_FILES) {
  TempDir dir;
  const std::string uring = build_prog("uring", dir.path, "-luring");
  // A listener for the connects (a full backlog is not reached: no accept
  // needed), and rules that say what only the io_uring path can show.
  const int lsock = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(lsock >= 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t slen = sizeof(sin);
  REQUIRE(bind(lsock, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0);
  REQUIRE(listen(lsock, 16) == 0);
  REQUIRE(getsockname(lsock, reinterpret_cast<sockaddr*>(&sin), &slen) == 0);
  const std::string port = std::to_string(ntohs(sin.sin_port));
  const std::string rules = dir.path + "/uring.yaml";
  std::ofstream(rules) << "- rule: Connect through io_uring\n"
                          "  desc: test\n"
                          "  condition: evt.type = connect and evt.is_io_uring = true and "
                          "fd.sport = "
                       << port
                       << "\n"
                          "  output: io_uring connect to %fd.name by %proc.name\n"
                          "  priority: WARNING\n"
                          "- rule: Path operation through io_uring\n"
                          "  desc: test\n"
                          "  condition: evt.type in (mkdirat, renameat2, unlinkat) and "
                          "evt.is_io_uring = true and proc.name = uring\n"
                          "  output: io_uring %evt.type by %proc.name\n"
                          "  priority: NOTICE\n"
                          "- rule: Socket through io_uring\n"
                          "  desc: test\n"
                          "  condition: evt.type in (socket, accept4, bind, listen) and "
                          "evt.is_io_uring = true "
                          "and proc.name = uring\n"
                          "  output: io_uring %evt.type of %fd.name by %proc.name\n"
                          "  priority: NOTICE\n"
                          "- rule: Ring created\n"
                          "  desc: test\n"
                          "  condition: evt.type = io_uring_setup and proc.name = uring\n"
                          "  output: ring of %evt.arg.entries entries by %proc.name\n"
                          "  priority: NOTICE\n";

  // (made before the daemon starts: creating it truncates it)
  const std::string log = "/var/log/pg-e2e-uring-" + std::to_string(getpid()) + ".log";
  std::ofstream(log) << "evidence\n";
  struct Remove {
    std::string path;
    ~Remove() { std::filesystem::remove(path); }
  } remove_log{log};

  Daemon d({"run", "-r", kFalcoRules, "-r", rules, "--json", "-c", "/dev/null"});
  REQUIRE(d.ready());

  // A benign neighbour: the same program reading a file no rule watches.
  CHECK(sh(uring + " open /etc/hostname > /dev/null") == 0);
  CHECK(sh(uring + " open /etc/shadow > /dev/null") == 0);
  CHECK(sh(uring + " open /etc/shadow async > /dev/null") == 0);
  // Into a fixed-file slot (no descriptor at all), chosen or allocated.
  CHECK(sh(uring + " open-fixed /etc/shadow > /dev/null") == 0);
  CHECK(sh(uring + " open-fixed /etc/shadow alloc > /dev/null") == 0);
  // (proc.cmdline names the program without its directory, as Falco's)
  for (const std::string cmdline :
       {"uring open /etc/shadow", "uring open /etc/shadow async", "uring open-fixed /etc/shadow",
        "uring open-fixed /etc/shadow alloc"}) {
    auto got = settle(d, cmdline, 1, 5s);
    CHECK_MESSAGE(got.size() == 1, cmdline);
    for (const auto& a : got) {
      CHECK(field(a, "fd.name") == "/etc/shadow");
      CHECK(a["output_fields"]["evt.type"] == "openat");
      // the worker thread (iou-wrk-N) is named as its process
      CHECK(field(a, "proc.name") == "uring");
    }
  }

  // A write rule: truncating a log through io_uring is clearing it (an
  // O_TRUNC open always runs on a worker); appending to it is not.
  CHECK(sh(uring + " append " + log + " > /dev/null") == 0);
  CHECK(sh(uring + " truncate " + log + " > /dev/null") == 0);
  auto cleared = [&](const Json& j) {
    return j.value("rule", "") == "Clear Log Activities" && field(j, "fd.name") == log;
  };
  auto truncated = d.wait_for(cleared);
  REQUIRE(truncated);
  CHECK(field(*truncated, "proc.cmdline") == "uring truncate " + log);

  // Path operations: Falco's link rules see a symlink and a hard link to
  // /etc/shadow made through io_uring (not one to /etc/hostname), from the
  // names the kernel copied at submission; mkdir, rename and unlink are
  // events with their own types.
  const std::string w = dir.path;
  CHECK(sh(uring + " symlink /etc/hostname " + w + "/benign-sl > /dev/null") == 0);
  CHECK(sh(uring + " symlink /etc/shadow " + w + "/sl > /dev/null") == 0);
  CHECK(sh(uring + " link /etc/shadow " + w + "/hl > /dev/null") == 0);
  CHECK(sh("cd " + w + " && " + uring + " mkdir d > /dev/null") == 0);
  CHECK(sh(uring + " rename " + w + "/d " + w + "/d2 > /dev/null") == 0);
  CHECK(sh(uring + " unlink " + w + "/hl > /dev/null") == 0);
  auto rule_is = [](std::string name) {
    return [name](const Json& j) { return j.value("rule", "") == name; };
  };
  auto symlinked = d.wait_for(rule_is("Create Symlink Over Sensitive Files"));
  REQUIRE(symlinked);
  CHECK(field(*symlinked, "evt.type") == "symlinkat");
  CHECK(field(*symlinked, "proc.cmdline") == "uring symlink /etc/shadow " + w + "/sl");
  auto hardlinked = d.wait_for(rule_is("Create Hardlink Over Sensitive Files"));
  REQUIRE(hardlinked);
  CHECK(field(*hardlinked, "proc.cmdline") == "uring link /etc/shadow " + w + "/hl");
  CHECK(eventually([&] { return d.all(rule_is("Path operation through io_uring")).size() == 3; }));
  std::set<std::string> types;
  for (const auto& j : d.all(rule_is("Path operation through io_uring")))
    types.insert(
        j["output"].get<std::string>().substr(j["output"].get<std::string>().find("io_uring ")));
  CHECK(types == std::set<std::string>{"io_uring mkdirat by uring", "io_uring renameat2 by uring",
                                       "io_uring unlinkat by uring"});

  // A socket made and a connection accepted through io_uring, each into a
  // descriptor and into a fixed-file slot (which installs none).
  CHECK(sh(uring + " socket > /dev/null") == 0);
  CHECK(sh(uring + " accept > /dev/null") == 0);
  CHECK(sh(uring + " socket fixed > /dev/null") == 0);
  CHECK(sh(uring + " accept fixed > /dev/null") == 0);
  // And a socket bound and one listening, through io_uring.
  CHECK(sh(uring + " bind > /dev/null") == 0);
  CHECK(sh(uring + " listen > /dev/null") == 0);
  CHECK(eventually([&] { return d.all(rule_is("Socket through io_uring")).size() == 6; }));
  std::multiset<std::string> socket_types;
  for (const auto& j : d.all(rule_is("Socket through io_uring"))) {
    const std::string out = j["output"].get<std::string>();
    socket_types.insert(field(j, "evt.type"));
    // The accepted socket's ends, and the address the kernel bound.
    if (field(j, "evt.type") != "socket") CHECK(out.find("127.0.0.1:") != std::string::npos);
  }
  CHECK(socket_types == std::multiset<std::string>{"accept4", "accept4", "bind", "listen",
                                                   "socket", "socket"});

  // Connects to the listener: through io_uring (the rule fires, the
  // address read from the request) and by the syscall (it does not).
  CHECK(sh(uring + " connect 127.0.0.1 " + port + " > /dev/null") == 0);
  CHECK(sh("bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + port + "'") == 0);
  auto connect_rule = [](const Json& j) {
    return j.value("rule", "") == "Connect through io_uring";
  };
  auto connected = d.wait_for(connect_rule);
  REQUIRE(connected);
  CHECK(field(*connected, "proc.name") == "uring");
  CHECK((*connected)["output"].get<std::string>().find("->127.0.0.1:" + port) != std::string::npos);

  // Every ring the program made (twenty runs) was an event.
  CHECK(eventually([&] {
    return d.all([](const Json& j) { return j.value("rule", "") == "Ring created"; }).size() == 20;
  }));
  std::this_thread::sleep_for(300ms);
  CHECK(d.all(connect_rule).size() == 1);
  CHECK(d.all(cleared).size() == 1);
  CHECK(d.all(rule_is("Create Symlink Over Sensitive Files")).size() == 1);
  CHECK(d.all(rule_is("Create Hardlink Over Sensitive Files")).size() == 1);
  for (const auto& j : d.all(is_rule)) CHECK(field(j, "fd.name") == "/etc/shadow");
  CHECK(d.all(is_rule).size() == 4);
  close(lsock);
  d.stop();
}

namespace {

// A loopback TCP port free at the time of asking.
int free_port() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE(
    "a racing sockaddr buffer: each connect is judged and reported by the port it reached, "
    "not the port the buffer names at sys_exit") {
  TempDir dir;
  const std::string connrace = build_prog("connrace", dir.path, "-pthread");
  const int target = free_port();
  int decoy = free_port();
  while (decoy == target) decoy = free_port();
  const std::string rules = dir.path + "/connect.yaml";
  auto rule = [](const std::string& name, int port) {
    return "- rule: " + name + "\n  desc: test\n  condition: evt.type = connect and fd.sport = " +
           std::to_string(port) + " and proc.name = connrace\n  output: to %fd.sport\n" +
           "  priority: WARNING\n";
  };
  std::ofstream(rules) << rule("Connect to target", target) << rule("Connect to decoy", decoy);

  Daemon d({"run", "-r", rules, "--json", "-c", "/dev/null"});
  REQUIRE(d.ready());
  const std::string cmd =
      connrace + " " + std::to_string(target) + " " + std::to_string(decoy) + " 2000";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  int to_target = -1, to_decoy = -1;
  REQUIRE(fscanf(p, "target=%d decoy=%d", &to_target, &to_decoy) == 2);
  pclose(p);
  MESSAGE("race: " << to_target << " connects reached the target, " << to_decoy << " the decoy");
  REQUIRE(to_target > 0);
  REQUIRE(to_decoy > 0);  // the race really ran both ways
  auto of = [&](const std::string& name) {
    return d.all([&](const Json& j) { return j.value("rule", "") == name; });
  };
  eventually([&] {
    return total(of("Connect to target")) + total(of("Connect to decoy")) >=
           size_t(to_target + to_decoy);
  });
  std::this_thread::sleep_for(300ms);
  CHECK(total(of("Connect to target")) == size_t(to_target));
  CHECK(total(of("Connect to decoy")) == size_t(to_decoy));
  d.stop();
}
