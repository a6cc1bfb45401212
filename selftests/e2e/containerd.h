// A real containerd for end-to-end tests: Debian's containerd with a root,
// state directory and socket of its own under a temporary directory (its
// CRI plugin off; kubelet's containers are imitated with the labels and
// cgroup paths the CRI plugin gives them), the busybox test image imported
// into the namespaces used, and `ctr` to run containers. Containers get a
// network namespace of their own with no interfaces configured (no CNI):
// the equivalent of podman's --network none.
//
// The destructor kills and removes every container started, then stops
// containerd, also when a test failed half-way.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "harness.h"

namespace pg::e2e::containerd {

inline const std::string kImage = "localhost/pg-e2e-busybox:latest";

struct Daemon {
  Daemon();
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // `ctr -a SOCKET -n NS`, for more commands.
  std::string ctr(const std::string& ns) const;
  // Run a container that sleeps: `id` in namespace `ns`, with these
  // labels, in this cgroup ("" for containerd's default /<ns>/<id>).
  void run(const std::string& ns, const std::string& id,
           const std::vector<std::pair<std::string, std::string>>& labels = {},
           const std::string& cgroup = "");
  // An interactive shell in the container (`ctr task exec -t` under a pty).
  void exec_shell(const std::string& ns, const std::string& id) const;
  // The container's main process (its task's pid).
  pid_t pid_of(const std::string& ns, const std::string& id) const;

  TempDir dir;
  std::string socket;
  pid_t pid = -1;
  std::vector<std::pair<std::string, std::string>> started;  // (ns, id)
};

}  // namespace pg::e2e::containerd
