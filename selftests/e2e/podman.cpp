#include "podman.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

namespace pg::e2e::podman {

namespace {

int shell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool have(const char* tool) {
  return shell(std::string("command -v ") + tool + " >/dev/null") == 0;
}

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

}  // namespace

void ensure_busybox_image() {
  if (shell(kPodman + " image exists " + kImage + ":latest") == 0) return;
  TempDir dir;
  std::string root = dir.path + "/root";
  REQUIRE(shell("mkdir -p " + root + "/bin && cd " + root +
                "/bin && for a in $(/bin/busybox --list); do ln -sf busybox $a; done && "
                "cp --remove-destination /bin/busybox busybox && tar -C " +
                root + " -cf " + dir.path + "/image.tar .") == 0);
  REQUIRE(shell(kPodman + " import --change 'ENV PATH=/bin' " + dir.path + "/image.tar " + kImage +
                ":latest >/dev/null") == 0);
}

Api::Api() {
  REQUIRE_MESSAGE(have("podman"), "podman is missing: run make deps (podman runc busybox-static)");
  REQUIRE_MESSAGE(have("runc"), "runc is missing: run make deps");
  REQUIRE_MESSAGE(access("/bin/busybox", X_OK) == 0, "busybox-static is missing: run make deps");
  ensure_busybox_image();
  socket = dir.path + "/podman.sock";
  pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    std::string arg = "unix://" + socket;
    execlp("podman", "podman", "--runtime", "runc", "--cgroup-manager=cgroupfs", "system",
           "service", "--time=0", arg.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    struct stat sb {};
    if (::stat(socket.c_str(), &sb) == 0) break;
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE_MESSAGE(access(socket.c_str(), F_OK) == 0, "podman system service did not start");
}

Api::~Api() {
  for (const auto& n : names) shell(kPodman + " rm -f -t 0 " + n + " >/dev/null 2>&1");
  if (pid > 0) {
    kill(pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 100 && waitpid(pid, &st, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(50ms);
    if (waitpid(pid, &st, WNOHANG) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
    }
  }
}

std::string Api::start(const std::string& name, const std::string& flags) {
  names.push_back(name);
  std::string id =
      trimmed(run_capture(kRun + flags + " --name " + name + " " + kImage + " sleep 600"));
  std::string why = "podman run failed for " + name;
  REQUIRE_MESSAGE(id.size() == 64, why);
  return id;
}

}  // namespace pg::e2e::podman
