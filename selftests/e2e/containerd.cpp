#include "containerd.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "podman.h"

namespace pg::e2e::containerd {

namespace {

int shell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool have(const char* tool) {
  return shell(std::string("command -v ") + tool + " >/dev/null") == 0;
}

}  // namespace

Daemon::Daemon() {
  REQUIRE_MESSAGE(have("containerd"), "containerd is missing: run make deps (containerd)");
  REQUIRE_MESSAGE(have("ctr"), "ctr is missing: run make deps (containerd)");
  // The image podman's tests use, handed over as a docker-archive (whose
  // manifest names it, so `ctr images import` tags it the same).
  podman::ensure_busybox_image();
  const std::string archive = dir.path + "/busybox.tar";
  REQUIRE(shell(podman::kPodman + " save --format docker-archive -o " + archive + " " + kImage +
                " >/dev/null 2>&1") == 0);
  socket = dir.path + "/containerd.sock";
  std::ofstream(dir.path + "/config.toml") << "version = 2\n"
                                           << "root = \"" << dir.path << "/root\"\n"
                                           << "state = \"" << dir.path << "/state\"\n"
                                           << "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
                                           << "[grpc]\n  address = \"" << socket << "\"\n"
                                           << "[ttrpc]\n  address = \"" << socket << ".ttrpc\"\n";
  pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    // Nothing of ours stays open in containerd and the shims it starts
    // (the global BPF test lock among them: a shim outliving the test
    // would hold it).
    ::close_range(3, ~0U, 0);
    std::string log = dir.path + "/containerd.log";
    freopen(log.c_str(), "w", stdout);
    freopen(log.c_str(), "a", stderr);
    std::string cfg = dir.path + "/config.toml";
    execlp("containerd", "containerd", "--config", cfg.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    struct stat sb {};
    if (::stat(socket.c_str(), &sb) == 0) break;
    std::this_thread::sleep_for(25ms);
  }
  const std::string not_started =
      "containerd did not start: " + run_capture("cat " + dir.path + "/containerd.log");
  REQUIRE_MESSAGE(access(socket.c_str(), F_OK) == 0, not_started);
  for (const char* ns : {"k8s.io", "default"})
    REQUIRE_MESSAGE(shell(ctr(ns) + " images import " + archive + " >/dev/null 2>&1") == 0,
                    "ctr images import failed");
}

Daemon::~Daemon() {
  for (const auto& [ns, id] : started)
    shell(ctr(ns) + " task kill -s KILL " + id + " >/dev/null 2>&1");
  for (const auto& [ns, id] : started) {
    // The task is gone once its process is reaped; rm waits for that.
    for (int i = 0; i < 40; ++i) {
      if (shell(ctr(ns) + " task rm -f " + id + " >/dev/null 2>&1") == 0) break;
      std::this_thread::sleep_for(50ms);
    }
    shell(ctr(ns) + " containers rm " + id + " >/dev/null 2>&1");
  }
  if (pid > 0) {
    kill(pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 100 && waitpid(pid, &st, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(50ms);
    if (waitpid(pid, &st, WNOHANG) == 0) {
      kill(-pid, SIGKILL);
      waitpid(pid, &st, 0);
    }
  }
  // Snapshots a dead task left mounted would keep TempDir from removing them.
  shell("grep -o ' " + dir.path +
        "/[^ ]*' /proc/mounts | sort -r | xargs -r umount -l 2>/dev/null");
}

std::string Daemon::ctr(const std::string& ns) const { return "ctr -a " + socket + " -n " + ns; }

void Daemon::run(const std::string& ns, const std::string& id,
                 const std::vector<std::pair<std::string, std::string>>& labels,
                 const std::string& cgroup) {
  started.emplace_back(ns, id);
  std::string cmd = ctr(ns) + " run -d";
  for (const auto& [k, v] : labels) cmd += " --label " + k + "=" + v;
  if (!cgroup.empty()) cmd += " --cgroup " + cgroup;
  cmd += " " + kImage + " " + id + " sleep 600 >/dev/null 2>&1";
  const std::string why = "ctr run failed for " + id;
  REQUIRE_MESSAGE(shell(cmd) == 0, why);
}

void Daemon::exec_shell(const std::string& ns, const std::string& id) const {
  static int n = 0;
  shell("script -qec \"" + ctr(ns) + " task exec -t --exec-id sh" + std::to_string(getpid()) + "-" +
        std::to_string(n++) + " " + id + " sh -c 'exit 0'\" /dev/null </dev/null >/dev/null 2>&1");
}

pid_t Daemon::pid_of(const std::string& ns, const std::string& id) const {
  std::string out =
      run_capture(ctr(ns) + " task ls 2>/dev/null | awk '$1 == \"" + id + "\" {print $2}'");
  return pid_t(std::atoi(out.c_str()));
}

}  // namespace pg::e2e::containerd
