// Containers, for real: Debian's podman + runc (cgroupfs manager, no
// network, ulimits) running an image imported from busybox-static, with
// `podman system service` as the Docker-API endpoint Peregrine asks for
// names and images. Falco's own rules decide what an interactive shell in a
// container is.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "harness.h"
#include "podman.h"
#include "selftests/common/falco_files.h"

using namespace pg::e2e;

namespace {

const std::string kFalcoRules = pg::test::falco_file("falco_rules.yaml");
using podman::kImage;
using podman::kPodman;
using podman::kRun;
using PodmanApi = podman::Api;

int sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string unique(const std::string& what) {
  return "pg-e2e-" + what + "-" + std::to_string(getpid());
}

// An interactive shell in a container: `podman exec -it` under a pty.
void exec_shell(const std::string& name) {
  sh("script -qec \"" + kPodman + " exec -it " + name +
     " sh -c 'exit 0'\" /dev/null </dev/null >/dev/null 2>&1");
}

const char* kTerminalShell = "Terminal shell in container";

std::vector<std::string> daemon_args(const PodmanApi& api, const std::string& rules_extra = "") {
  std::vector<std::string> a = {"run",       "-r",
                                kFalcoRules, "--json",
                                "-c",        "/dev/null",
                                "-o",        "container.docker_socket=",
                                "-o",        "container.podman_socket=" + api.socket};
  if (!rules_extra.empty()) {
    a.push_back("-r");
    a.push_back(rules_extra);
    a.push_back("-o");
    a.push_back("rule_matching=all");
  }
  return a;
}

// Run a shell command in a container, output discarded.
void run_in(const std::string& container, const std::string& cmd) {
  sh(kPodman + " exec " + container + " sh -c '" + cmd + "' >/dev/null 2>&1");
}

// Alerts of `rule` from the container whose short id is `cid`.
auto alert_in(const std::string& rule, const std::string& cid) {
  return [=](const Json& j) {
    return j.value("rule", "") == rule && j["output_fields"].value("container.id", "") == cid;
  };
}

auto shell_alert_in(const std::string& id) {
  return [id](const Json& j) {
    return j.value("rule", "") == kTerminalShell &&
           j["output_fields"].value("container.id", "") == id.substr(0, 12);
  };
}

void check_identity(const Json& f, const std::string& id, const std::string& name) {
  CHECK(f["container.id"] == id.substr(0, 12));
  CHECK(f["container.name"] == name);
  CHECK(f["container.image.repository"] == kImage);
  CHECK(f["container.image.tag"] == "latest");
}

}  // namespace

TEST_CASE(
    "container: a terminal shell in a container started before the daemon raises Falco's rule" *
    PG_NEEDS_FALCO_FILES) {
  PodmanApi api;
  std::string name = unique("before");
  std::string id = api.start(name);
  Daemon d(daemon_args(api));
  REQUIRE(d.ready());
  exec_shell(name);
  auto a = d.wait_for(shell_alert_in(id), 10s);
  REQUIRE_MESSAGE(a, d.stderr_text());
  const Json& f = (*a)["output_fields"];
  check_identity(f, id, name);
  CHECK(f["proc.name"] == "sh");
  CHECK(f["proc.tty"] != 0);
  CHECK((*a)["priority"] == "Notice");
  d.stop();
}

TEST_CASE("container: started after the daemon, its first event already has name and image" *
          PG_NEEDS_FALCO_FILES) {
  PodmanApi api;
  TempDir dir;
  // Every exec in a container, so the container's very first event (its
  // entrypoint) raises an alert of its own.
  std::string rules = dir.path + "/first.yaml";
  std::ofstream(rules) << R"yaml(
- rule: Exec in container (e2e)
  desc: any program started in a container
  condition: evt.type = execve and container.id != host
  output: "exec %proc.name in %container.name (%container.image)"
  priority: INFO
)yaml";
  Daemon d(daemon_args(api, rules));
  REQUIRE(d.ready());
  std::string name = unique("after");
  std::string id = api.start(name);
  auto first = d.wait_for(
      [&](const Json& j) {
        return j.value("rule", "") == "Exec in container (e2e)" &&
               j["output_fields"].value("container.id", "") == id.substr(0, 12);
      },
      10s);
  REQUIRE_MESSAGE(first, d.stderr_text());
  const Json& ff = (*first)["output_fields"];
  check_identity(ff, id, name);
  CHECK(ff["container.image"] == kImage + ":latest");
  CHECK((*first)["output"].get<std::string>().find("<NA>") == std::string::npos);

  exec_shell(name);
  auto a = d.wait_for(shell_alert_in(id), 10s);
  REQUIRE_MESSAGE(a, d.stderr_text());
  check_identity((*a)["output_fields"], id, name);
  d.stop();
  // The daemon reports how long the runtime took and what waited.
  std::string err = d.stderr_text();
  auto at = err.find("containers: ");
  REQUIRE(at != std::string::npos);
  MESSAGE("container metadata: " << err.substr(at, err.find('\n', at) - at));
  CHECK(err.find("0 sent without it") != std::string::npos);
}

TEST_CASE("container: a host shell with a terminal does not match container rules" *
          PG_NEEDS_FALCO_FILES) {
  PodmanApi api;
  Daemon d(daemon_args(api));
  REQUIRE(d.ready());
  sh("script -qec \"sh -c 'exit 0'\" /dev/null </dev/null >/dev/null 2>&1");
  std::string name = unique("marker");
  std::string id = api.start(name);
  exec_shell(name);  // a container shell afterwards proves the daemon was looking
  REQUIRE(d.wait_for(shell_alert_in(id), 10s));
  d.stop();
  for (const auto& j : d.all([](const Json& j) { return j.value("rule", "") == kTerminalShell; }))
    CHECK(j["output_fields"].value("container.id", "") == id.substr(0, 12));
}

// A runtime socket that is there but useless: it answers garbage, or
// accepts and never answers.
struct BadRuntime {
  BadRuntime(std::string path, bool answer) : path(std::move(path)) {
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", this->path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    thread = std::thread([this, answer] {
      std::vector<int> open;
      while (true) {
        int c = ::accept(fd, nullptr, nullptr);
        if (c < 0) break;
        if (answer) {
          char req[4096];  // read the request, as a real (if broken) server would
          (void)!::recv(c, req, sizeof(req), 0);
          const char junk[] = "HTTP/1.0 200 OK\r\n\r\n\x7f\x45LF{{{ not json";
          (void)!::send(c, junk, sizeof(junk) - 1, MSG_NOSIGNAL);
          ::close(c);
        } else {
          open.push_back(c);  // hold it open, say nothing
        }
      }
      for (int c : open) ::close(c);
    });
  }
  ~BadRuntime() {
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    thread.join();
  }
  std::string path;
  int fd = -1;
  std::thread thread;
};

TEST_CASE(
    "container: an absent, garbage or silent runtime socket degrades to id-only; detection goes "
    "on" *
    PG_NEEDS_FALCO_FILES) {
  PodmanApi api;
  std::string name = unique("degraded");
  std::string id = api.start(name);
  std::string sock = api.dir.path + "/runtime.sock", counter;
  std::unique_ptr<BadRuntime> bad;
  SUBCASE("absent") { counter = "absent="; }
  SUBCASE("garbage") {
    bad = std::make_unique<BadRuntime>(sock, true);
    counter = "bad-response=";
  }
  SUBCASE("silent") {
    bad = std::make_unique<BadRuntime>(sock, false);
    counter = "timeout=";
  }
  Daemon d({"run", "-r", kFalcoRules, "--json", "-c", "/dev/null", "-o",
            "container.docker_socket=", "-o", "container.podman_socket=" + sock, "-o",
            "container.hold_ms=300", "-o", "container.request_timeout_ms=500", "-o",
            "container.disk_metadata=false"});  // the socket alone: what podman left on disk is not
                                                // asked
  REQUIRE(d.ready());
  exec_shell(name);
  auto a = d.wait_for(shell_alert_in(id), 10s);
  REQUIRE_MESSAGE(a, d.stderr_text());
  const Json& f = (*a)["output_fields"];
  CHECK(f["container.id"] == id.substr(0, 12));
  CHECK(f["container.name"].is_null());
  CHECK(f["container.image.repository"].is_null());
  d.stop();
  std::string err = d.stderr_text();
  CHECK(err.find("warning container runtime socket " + sock) != std::string::npos);
  // The failure was counted under its reason.
  auto at = err.find(counter);
  REQUIRE(at != std::string::npos);
  CHECK_MESSAGE(err[at + counter.size()] != '0', err);
}

TEST_CASE("container: the kernel filter tells host from container by cgroup, as userspace does" *
          PG_NEEDS_FALCO_FILES) {
  PodmanApi api;
  TempDir dir;
  std::string rules = dir.path + "/in-container.yaml";
  std::ofstream(rules) << R"yaml(
- rule: Read under /etc in a container (e2e)
  desc: opens under /etc, in containers only
  condition: open_read and container and fd.name startswith /etc/
  output: "read %fd.name in %container.name"
  priority: INFO
)yaml";
  std::string name = unique("kfilter");
  std::string id = api.start(name);
  Daemon d(daemon_args(api, rules));
  REQUIRE(d.ready());
  // 50 host reads under /etc: the kernel stops each (host cgroups are known
  // from the start), so the rule's slot lets few events through.
  REQUIRE(sh("for i in $(seq 50); do cat /etc/hostname >/dev/null; done") == 0);
  REQUIRE(sh(kPodman + " exec " + name + " cat /etc/hostname >/dev/null") == 0);
  auto a = d.wait_for(
      [&](const Json& j) {
        return j.value("rule", "") == "Read under /etc in a container (e2e)" &&
               j["output_fields"].value("container.id", "") == id.substr(0, 12) &&
               j["output_fields"].value("fd.name", "") == "/etc/hostname";
      },
      10s);
  REQUIRE_MESSAGE(a, d.stderr_text());

  // The cgroup table the kernel judges by: the container's cgroup is a
  // container's (1), this test's own cgroup the host's (0).
  Json cg = Json::parse(run_capture("bpftool -j map dump pinned /sys/fs/bpf/peregrine/pg_fcgroup"));
  REQUIRE(cg.is_array());
  std::string self_cg;
  {
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("0::", 0) == 0) self_cg = line.substr(3);
  }
  struct stat sb {};
  REQUIRE(::stat(("/sys/fs/cgroup" + self_cg).c_str(), &sb) == 0);
  bool self_host = false, some_container = false;
  for (const auto& e : cg) {
    if (e["formatted"]["key"] == uint64_t(sb.st_ino)) self_host = e["formatted"]["value"] == 0;
    if (e["formatted"]["value"] == 1) some_container = true;
  }
  CHECK(self_host);
  CHECK(some_container);

  Json ex = Json::parse(run_capture(
      peregrine_bin() + " policy explain 'Read under /etc in a container (e2e)' --json -r " +
      kFalcoRules + " -r " + rules));
  REQUIRE(ex["live"] == true);
  uint64_t passed = 0;
  for (const auto& c : ex["rules"][0]["kernel_clauses"]) {
    CHECK(c["clause"].get<std::string>().find("container in {container}") != std::string::npos);
    passed += c["passed"].get<uint64_t>();
  }
  MESSAGE("the container-only slot passed " << passed << " events; 50 host cats stopped");
  CHECK(passed >= 1);
  CHECK(passed < 50);
  d.stop();
}

TEST_CASE("container: a packet socket in a container raises Falco's rule; on the host it does not" *
          PG_NEEDS_FALCO_FILES) {
  PodmanApi api;
  std::string name = unique("packet");
  std::string id = api.start(name);
  Daemon d(daemon_args(api));
  REQUIRE(d.ready());
  // busybox arping opens an AF_PACKET socket first thing (whether or not
  // it may then send anything).
  sh("/bin/busybox arping -c 1 -w 1 -I lo 127.0.0.1 >/dev/null 2>&1");
  sh(kPodman + " exec " + name + " arping -c 1 -w 1 -I lo 127.0.0.1 >/dev/null 2>&1");
  auto a = d.wait_for(
      [&](const Json& j) {
        return j.value("rule", "") == "Packet socket created in container" &&
               j["output_fields"].value("container.id", "") == id.substr(0, 12);
      },
      10s);
  REQUIRE_MESSAGE(a, d.stderr_text());
  CHECK((*a)["output_fields"]["proc.name"] == "arping");
  CHECK((*a)["output"].get<std::string>().find("AF_PACKET") != std::string::npos);
  d.stop();
  for (const auto& j : d.all([](const Json& j) {
         return j.value("rule", "") == "Packet socket created in container";
       }))
    CHECK(j["output_fields"].value("container.id", "") == id.substr(0, 12));
}

TEST_CASE(
    "container: a netcat reverse shell, a dropped binary and a release_agent write raise their "
    "stable rules; their benign neighbours do not" *
    PG_NEEDS_FALCO_FILES) {
  PodmanApi api;
  std::string name = unique("attacks");
  std::string id = api.start(name);
  // A second, privileged container: only there does root hold CAP_SYS_ADMIN.
  std::string priv = unique("privileged");
  std::string priv_id = api.start(priv, "--privileged");
  Daemon d(daemon_args(api));
  REQUIRE(d.ready());
  auto in = run_in;
  // Benign: a file put on stdin, nc without -e, the image's own binaries,
  // and release_agent written where capabilities do not allow an escape.
  in(name, "exec 0</etc/passwd; true");
  in(name, "nc -l -p 4443 & sleep 0.3; echo hi | nc -w 1 127.0.0.1 4443; wait");
  in(name, "/bin/busybox true");
  in(name, "echo x > /release_agent");
  // Attacks: a reverse shell (nc -e dups the connection onto stdin and
  // stdout before exec), a binary written after start and run, a write to
  // release_agent with CAP_SYS_ADMIN. (busybox sh runs a bare applet name
  // in a fork without exec; /bin/nc is exec'd, as a real nc would be.)
  in(name, "nc -l -p 4444 -e /bin/true & sleep 0.3; /bin/nc 127.0.0.1 4444 -e /bin/cat; wait");
  in(name, "mkdir -p /opt && cp /bin/busybox /opt/ls && /opt/ls /");
  in(priv, "echo x > /release_agent");

  const std::string short_id = id.substr(0, 12);
  const char* kRedirect = "Redirect STDOUT/STDIN to Network Connection in Container";
  const char* kNetcat = "Netcat Remote Code Execution in Container";
  const char* kDropped = "Drop and execute new binary in container";
  const char* kRelease = "Detect release_agent File Container Escapes";
  // The connecting side's dup (its socket is IPv4; the listener's, also
  // alerted, is IPv6).
  auto r = d.wait_for(
      [&](const Json& j) {
        return alert_in(kRedirect, short_id)(j) && j["output_fields"]["fd.type"] == "ipv4";
      },
      10s);
  REQUIRE_MESSAGE(r, d.stderr_text());
  CHECK((*r)["output_fields"]["proc.name"] == "nc");
  CHECK((*r)["output_fields"]["fd.rport"] == 4444);
  CHECK((*r)["output_fields"]["container.name"] == name);
  auto n = d.wait_for(alert_in(kNetcat, short_id), 10s);
  REQUIRE(n);
  CHECK((*n)["output_fields"]["proc.cmdline"].get<std::string>().find(" -e") != std::string::npos);
  auto x = d.wait_for(alert_in(kDropped, short_id), 10s);
  REQUIRE(x);
  CHECK((*x)["output_fields"]["proc.exepath"] == "/opt/ls");
  auto e = d.wait_for(alert_in(kRelease, priv_id.substr(0, 12)), 10s);
  REQUIRE(e);
  CHECK((*e)["output_fields"]["fd.name"] == "/release_agent");
  CHECK((*e)["output_fields"]["thread.cap_effective"].get<std::string>().find("CAP_SYS_ADMIN") !=
        std::string::npos);
  d.stop();

  // Nothing else: every alert of these rules is one of the attacks.
  for (const auto& j : d.all([&](const Json& j) {
         const std::string rule = j.value("rule", "");
         return rule == kRedirect || rule == kNetcat || rule == kDropped || rule == kRelease;
       })) {
    const Json& f = j["output_fields"];
    const std::string rule = j.value("rule", "");
    if (rule == kRedirect) {
      // Both ends dup their socket: the listener's is an IPv6 socket.
      CHECK_MESSAGE((f["fd.type"] == "ipv4" || f["fd.type"] == "ipv6"), j.dump());
      CHECK_MESSAGE(f["proc.name"] == "nc", j.dump());
    } else if (rule == kNetcat) {
      CHECK_MESSAGE(f["proc.cmdline"].get<std::string>().find(" -e") != std::string::npos,
                    j.dump());
    } else if (rule == kDropped) {
      CHECK_MESSAGE(f["proc.exepath"] == "/opt/ls", j.dump());
    } else {
      CHECK_MESSAGE(f["container.id"] == priv_id.substr(0, 12), j.dump());
    }
  }
}

TEST_CASE(
    "container: a kernel module load attempt (through the raw syscall fallback) and debugfs "
    "raise their stable rules in a privileged container, not in an unprivileged one" *
    PG_NEEDS_FALCO_FILES) {
  // This kernel has no module support: init_module and finit_module have no
  // tracepoints and fail with ENOSYS. The attempt is still what the rule
  // looks for, and the raw sys_exit fallback sees it.
  PodmanApi api;
  std::string name = unique("modules");
  std::string id = api.start(name);
  std::string priv = unique("modules-priv");
  std::string priv_id = api.start(priv, "--privileged");
  auto args = daemon_args(api);
  args.insert(args.end(), {"-o", "raw_syscall_fallback=true"});
  Daemon d(args);
  REQUIRE(d.ready());
  CHECK(d.stderr_text().find("no tracepoint for") == std::string::npos);
  auto insmod = [](const std::string& c) { run_in(c, "echo x > /x.ko; /bin/insmod /x.ko"); };
  auto debugfs = [](const std::string& c) { run_in(c, "cp /bin/busybox /debugfs; /debugfs"); };
  insmod(name);  // benign neighbour: no CAP_SYS_MODULE in a default container
  debugfs(name);
  insmod(priv);
  debugfs(priv);

  const char* kRule = "Linux Kernel Module Injection Detected";
  const std::string priv_short = priv_id.substr(0, 12);
  auto a = d.wait_for(alert_in(kRule, priv_short), 10s);
  REQUIRE_MESSAGE(a, d.stderr_text());
  const Json& f = (*a)["output_fields"];
  CHECK((f["evt.type"] == "init_module" || f["evt.type"] == "finit_module"));
  CHECK(f["evt.res"] == "ENOSYS");
  CHECK(f["proc.name"] == "insmod");
  CHECK(f["proc.args"] == "/x.ko");
  const char* kDebugfs = "Debugfs Launched in Privileged Container";
  auto g = d.wait_for(alert_in(kDebugfs, priv_short), 10s);
  REQUIRE(g);
  CHECK((*g)["output_fields"]["proc.name"] == "debugfs");
  d.stop();
  for (const auto& j : d.all([&](const Json& j) {
         return j.value("rule", "") == kRule || j.value("rule", "") == kDebugfs;
       }))
    CHECK_MESSAGE(j["output_fields"]["container.id"] == priv_short, j.dump());
}

TEST_CASE(
    "container: a UDP datagram to the cloud metadata address raises the incubating metadata "
    "rules once (retransmissions keep the descriptor's name); loopback traffic does not" *
    PG_NEEDS_FALCO_FILES) {
  PodmanApi api;
  std::string name = unique("metadata");
  // NET_ADMIN: the container puts the metadata address on its own loopback
  // (test containers have no network), so the datagrams are really sent.
  std::string id = api.start(name, "--cap-add NET_ADMIN");
  Daemon d(daemon_args(api, pg::test::falco_file("falco-incubating_rules.yaml")));
  REQUIRE(d.ready());
  auto in = [&](const std::string& cmd) { run_in(name, cmd); };
  in("ip link set lo up; ip addr add 169.254.169.254/32 dev lo");
  // tftp sends its request with sendto on an unconnected socket and resends
  // it to the same destination until it gives up.
  in("/bin/tftp -g -r benign 127.0.0.1");
  in("/bin/tftp -g -r attack 169.254.169.254");

  const char* kRule = "Contact cloud metadata service from container";
  const std::string short_id = id.substr(0, 12);
  auto a = d.wait_for(alert_in(kRule, short_id), 10s);
  REQUIRE_MESSAGE(a, d.stderr_text());
  const Json& f = (*a)["output_fields"];
  CHECK(f["evt.type"] == "sendto");
  CHECK(f["proc.name"] == "tftp");
  CHECK(f["fd.rport"] == 69);
  CHECK(f["fd.l4proto"] == "udp");
  d.stop();
  // One alert per rule: the resends name the same destination.
  CHECK(d.all([&](const Json& j) { return j.value("rule", "") == kRule; }).size() == 1);
  CHECK(d.all([](const Json& j) {
           return j.value("rule", "") == "Contact EC2 Instance Metadata Service From Container";
         }).size() == 1);
}

TEST_CASE(
    "container: incubating rules on real actions (cron, ssh keys, /proc environ, package "
    "manager, wget, nc, scp, a file under /dev, unshare, setns, a setuid bit, a shell config "
    "write, mount when privileged); their benign neighbours stay quiet" *
    PG_NEEDS_FALCO_FILES) {
  PodmanApi api;
  std::string name = unique("incubating");
  std::string id = api.start(name);
  std::string priv = unique("incubating-priv");
  std::string priv_id = api.start(priv, "--privileged");
  Daemon d(daemon_args(api, pg::test::falco_file("falco-incubating_rules.yaml")));
  REQUIRE(d.ready());
  auto in = run_in;
  // Benign neighbours first: a file next to cron's, a write (not a read)
  // under ~/.ssh that is no authorized_keys, /proc status rather than
  // environ, files outside /dev, an ordinary mode, a non-config file, unshare
  // by a container that holds CAP_SYS_ADMIN, mount in an unprivileged one.
  in(name, "echo x > /etc/notcron; mkdir -p /root/.ssh; echo k > /root/.ssh/known_hosts");
  in(name, "/bin/cat /proc/self/status; /bin/touch /root/plain; /bin/chmod 0644 /root/plain");
  in(name, "echo x > /root/src; /bin/cp /root/src /root/notes; /bin/mount -t tmpfs none /mnt");
  in(priv, "/bin/unshare -m true");
  // The actions.
  in(name, "/bin/crontab -l");
  in(name, "/bin/cat /root/.ssh/known_hosts");
  in(name, "echo key >> /root/.ssh/authorized_keys");
  in(name, "/bin/cat /proc/self/environ");
  in(name, "/bin/dpkg -l");
  in(name, "/bin/wget -q -O /dev/null http://127.0.0.1:9/");
  in(name, "/bin/nc -h");
  in(name, "/bin/touch /dev/pg-e2e-created");
  in(name, "/bin/unshare -m true");
  in(name, "/bin/nsenter -t 1 -u true");
  in(name, "/bin/touch /root/suid; /bin/chmod u+s /root/suid");
  in(name, "/bin/cp /root/src /root/.bashrc");
  in(name, "cp /bin/busybox /root/scp; /root/scp");  // a copy tool brought in
  in(priv, "/bin/mount -t tmpfs none /mnt");

  struct Expected {
    const char* rule;
    const char* field;
    const char* value;
    bool privileged = false;
  };
  const Expected expected[] = {
      {"Schedule Cron Jobs", "proc.name", "crontab"},
      {"Read ssh information", "fd.name", "/root/.ssh/known_hosts"},
      {"Adding ssh keys to authorized_keys", "fd.name", "/root/.ssh/authorized_keys"},
      {"Read environment variable from /proc files", "proc.name", "cat"},
      {"Launch Package Management Process in Container", "proc.name", "dpkg"},
      {"Launch Ingress Remote File Copy Tools in Container", "proc.name", "wget"},
      {"Launch Suspicious Network Tool in Container", "proc.name", "nc"},
      {"Create files below dev", "fd.name", "/dev/pg-e2e-created"},
      {"Change namespace privileges via unshare", "proc.name", "unshare"},
      {"Change thread namespace", "proc.name", "nsenter"},
      {"Set Setuid or Setgid bit", "proc.name", "chmod"},
      {"Modify Shell Configuration File", "fd.name", "/root/.bashrc"},
      {"Launch Remote File Copy Tools in Container", "proc.name", "scp"},
      {"Mount Launched in Privileged Container", "proc.name", "mount", true},
  };
  auto is_expected = [&](const Expected& x, const Json& j) {
    const Json& f = j["output_fields"];
    const std::string cid = (x.privileged ? priv_id : id).substr(0, 12);
    return j.value("rule", "") == x.rule && f.value("container.id", "") == cid &&
           f.contains(x.field) && f[x.field] == x.value;
  };
  for (const auto& x : expected) {
    auto a = d.wait_for([&](const Json& j) { return is_expected(x, j); }, 10s);
    CHECK_MESSAGE(a, std::string(x.rule) << " did not fire with " << std::string(x.field) << "="
                                         << std::string(x.value));
  }
  d.stop();
  // In the test containers, each rule fired for its action only.
  const std::string ours[] = {id.substr(0, 12), priv_id.substr(0, 12)};
  for (const auto& x : expected)
    for (const auto& j : d.all([&](const Json& j) {
           const std::string cid = j["output_fields"].value("container.id", "");
           return j.value("rule", "") == x.rule && (cid == ours[0] || cid == ours[1]);
         }))
      CHECK_MESSAGE(is_expected(x, j), j.dump());
}

TEST_CASE(
    "container: a connection to the Kubernetes API server address raises the stable rule "
    "(fd.sip.name resolved forwards); another address does not" *
    PG_NEEDS_FALCO_FILES) {
  // The rule names the API server by its in-cluster domain name. Point that
  // name at an address for the test (restored afterwards); the container
  // carries the address on its loopback and listens there.
  const std::string hosts = "/etc/hosts";
  std::stringstream saved;
  saved << std::ifstream(hosts).rdbuf();
  struct Restore {
    std::string path, text;
    ~Restore() { std::ofstream(path, std::ios::trunc) << text; }
  } restore{hosts, saved.str()};
  std::ofstream(hosts, std::ios::app) << "\n10.96.0.1 kubernetes.default.svc.cluster.local\n";

  PodmanApi api;
  std::string name = unique("k8s-api");
  std::string id = api.start(name, "--cap-add NET_ADMIN");
  Daemon d(daemon_args(api));
  REQUIRE(d.ready());
  auto in = [&](const std::string& cmd) { run_in(name, cmd); };
  in("ip link set lo up; ip addr add 10.96.0.1/32 dev lo; ip addr add 10.96.0.2/32 dev lo");
  in("(nc -l -s 10.96.0.1 -p 443 &); (nc -l -s 10.96.0.2 -p 443 &); sleep 0.3; "
     "/bin/nc -w 1 10.96.0.2 443 </dev/null; /bin/nc -w 1 10.96.0.1 443 </dev/null");

  const char* kRule = "Contact K8S API Server From Container";
  const std::string short_id = id.substr(0, 12);
  auto a = d.wait_for(alert_in(kRule, short_id), 10s);
  REQUIRE_MESSAGE(a, d.stderr_text());
  auto to_api_server = [](const Json& j) {
    return j["output_fields"].value("fd.name", "").ends_with("10.96.0.1:443");
  };
  CHECK_MESSAGE(to_api_server(*a), a->dump());
  CHECK((*a)["output_fields"]["proc.name"] == "nc");
  d.stop();
  for (const auto& j : d.all([&](const Json& j) { return j.value("rule", "") == kRule; }))
    CHECK_MESSAGE(to_api_server(j), j.dump());
}

TEST_CASE(
    "container: starting a privileged or an excessively capable container raises the incubating "
    "launch rules (its first process is pid 1 in its namespace); a default one does not" *
    PG_NEEDS_FALCO_FILES) {
  PodmanApi api;
  Daemon d(daemon_args(api, pg::test::falco_file("falco-incubating_rules.yaml")));
  REQUIRE(d.ready());
  auto start = [&](const std::string& what, const std::string& flags) {
    return api.start(unique(what), flags).substr(0, 12);
  };
  const std::string plain = start("launch-plain", "");
  const std::string priv = start("launch-priv", "--privileged");
  const std::string capable = start("launch-ptrace", "--cap-add SYS_PTRACE");

  const char* kPrivileged = "Launch Privileged Container";
  const char* kCapable = "Launch Excessively Capable Container";
  auto alert = [&](const char* rule, const std::string& cid) {
    return d.wait_for(alert_in(rule, cid), 10s);
  };
  auto p = alert(kPrivileged, priv);
  REQUIRE_MESSAGE(p, d.stderr_text());
  CHECK((*p)["output_fields"]["proc.name"] == "sleep");
  CHECK(alert(kCapable, capable));
  CHECK(alert(kCapable, priv));
  d.stop();
  for (const auto& j : d.all([&](const Json& j) {
         const std::string rule = j.value("rule", "");
         return rule == kPrivileged || rule == kCapable;
       })) {
    const std::string cid = j["output_fields"].value("container.id", "");
    CHECK_MESSAGE(cid != plain, j.dump());
    if (j.value("rule", "") == kPrivileged) CHECK_MESSAGE(cid == priv, j.dump());
  }
}
