// containerd and disk metadata, for real: a containerd of the test's own
// (Debian's package, its own root, state and socket) running the busybox
// image with the labels and cgroup paths kubelet's CRI plugin gives pod
// containers, and a podman container with no API socket anywhere. Falco's
// own rules decide what an interactive shell in a container is.
#include "containerd.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <fstream>

#include "harness.h"
#include "podman.h"
#include "selftests/common/falco_files.h"
#include "user/cgroup.h"

using namespace pg::e2e;

namespace {

const std::string kFalcoRules = pg::test::falco_file("falco_rules.yaml");
const char* kTerminalShell = "Terminal shell in container";
const char* kExecRule = "Exec in container (e2e)";

int sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// A container id as kubelet's runtimes make them: 64 hex digits, unique
// to this test run.
std::string hex_id(int n) {
  char buf[65];
  // The short id (12 digits) must differ too: `n` comes first.
  std::snprintf(buf, sizeof(buf), "%04x%08x%052x", unsigned(n), unsigned(getpid()), 0u);
  return buf;
}

// Every exec in a container, so a container's very first event (its
// entrypoint) raises an alert of its own; its output names where the
// metadata came from.
std::string write_exec_rule(const TempDir& dir) {
  std::string rules = dir.path + "/first.yaml";
  std::ofstream(rules) << R"yaml(
- rule: Exec in container (e2e)
  desc: any program started in a container
  condition: evt.type = execve and container.id != host
  output: "exec %proc.name in %container.name (%container.image) pod %k8s.pod.name/%k8s.ns.name uid %k8s.pod.uid via %container.metadata_source type %container.type"
  priority: INFO
)yaml";
  return rules;
}

auto rule_in(const std::string& rule, const std::string& id) {
  return [=](const Json& j) {
    return j.value("rule", "") == rule &&
           j["output_fields"].value("container.id", "") == id.substr(0, 12);
  };
}

// The kernel's container-or-host verdict for a cgroup (pg_fcgroup), by the
// cgroup's path under the v2 tree; -1 when the map has no entry.
int kernel_verdict(const std::string& cgroup_path) {
  struct stat sb {};
  if (::stat((pg::user::cgroup2_mount() + cgroup_path).c_str(), &sb) != 0) return -1;
  Json cg = Json::parse(run_capture("bpftool -j map dump pinned /sys/fs/bpf/peregrine/pg_fcgroup"));
  for (const auto& e : cg)
    if (e["formatted"]["key"] == uint64_t(sb.st_ino)) return e["formatted"]["value"].get<int>();
  return -1;
}

std::string self_cgroup() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  return "";
}

}  // namespace

TEST_CASE(
    "containerd: pod containers, before and after the daemon, have name, image and pod on their "
    "first alert; the kernel tells them from the host" *
    PG_NEEDS_FALCO_FILES) {
  containerd::Daemon ctrd;
  TempDir dir;
  const std::string uid = "0f7d3f62-8a5e-4b4f-9c3b-" + hex_id(0).substr(0, 12);
  // Before the daemon: kubelet's cgroupfs layout (the runtime is not named).
  const std::string before = hex_id(1);
  const std::string before_cg = "/kubepods/besteffort/pod" + uid + "/" + before;
  ctrd.run("k8s.io", before,
           {{"io.kubernetes.pod.name", "web-7d4b9"},
            {"io.kubernetes.pod.namespace", "shop"},
            {"io.kubernetes.pod.uid", uid},
            {"io.kubernetes.container.name", "nginx"},
            {"app", "web"}},
           before_cg);

  Daemon d({"run", "-r", kFalcoRules, "-r", write_exec_rule(dir), "--json", "-c", "/dev/null", "-o",
            "rule_matching=all", "-o", "container.docker_socket=", "-o",
            "container.podman_socket=", "-o", "container.containerd_socket=" + ctrd.socket});
  REQUIRE(d.ready());

  ctrd.exec_shell("k8s.io", before);
  auto a = d.wait_for(rule_in(kTerminalShell, before), 15s);
  REQUIRE_MESSAGE(a, d.stderr_text());
  const Json& f = (*a)["output_fields"];
  CHECK(f["container.name"] == "nginx");
  CHECK(f["container.image.repository"] == "localhost/pg-e2e-busybox");
  CHECK(f["container.image.tag"] == "latest");
  CHECK(f["k8s.pod.name"] == "web-7d4b9");
  CHECK(f["k8s.ns.name"] == "shop");
  CHECK(f["proc.name"] == "sh");

  // After the daemon: the systemd driver's scope name, and a container of
  // plain containerd (`ctr run`, default namespace, named by its id).
  const std::string after = hex_id(2);
  const std::string after_cg = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
                               uid + ".slice/cri-containerd-" + after + ".scope";
  ctrd.run("k8s.io", after,
           {{"io.kubernetes.pod.name", "api-5c6f"},
            {"io.kubernetes.pod.namespace", "shop"},
            {"io.kubernetes.pod.uid", uid},
            {"io.kubernetes.container.name", "api"}},
           after_cg);
  const std::string plain = "pg-e2e-web-" + std::to_string(getpid());
  ctrd.run("default", plain);

  auto first = d.wait_for(rule_in(kExecRule, after), 15s);
  REQUIRE_MESSAGE(first, d.stderr_text());
  const Json& ff = (*first)["output_fields"];
  MESSAGE("first event: " << (*first)["output"].get<std::string>());
  // The first exec in the container's cgroup may be the runtime's own
  // (runc re-executing itself to start the container); the entrypoint
  // follows, with the same metadata.
  auto entry = d.wait_for(
      [is = rule_in(kExecRule, after)](const Json& j) {
        return is(j) && j["output_fields"].value("proc.name", "") == "sleep";
      },
      15s);
  CHECK_MESSAGE(entry, d.stderr_text());
  if (entry) CHECK((*entry)["output_fields"]["container.name"] == "api");
  CHECK(ff["container.name"] == "api");
  CHECK(ff["container.image"] == containerd::kImage);
  CHECK(ff["k8s.pod.name"] == "api-5c6f");
  CHECK(ff["k8s.ns.name"] == "shop");
  CHECK(ff["k8s.pod.uid"] == uid);
  CHECK(ff["container.metadata_source"] == "containerd-api");
  CHECK(ff["container.type"] == "containerd");

  auto pf = d.wait_for(rule_in(kExecRule, plain), 15s);
  REQUIRE_MESSAGE(pf, d.stderr_text());
  CHECK((*pf)["output_fields"]["container.name"] == plain);
  CHECK((*pf)["output_fields"]["container.image"] == containerd::kImage);
  CHECK((*pf)["output_fields"]["k8s.pod.name"].is_null());  // not in a pod

  ctrd.exec_shell("k8s.io", after);
  auto s2 = d.wait_for(rule_in(kTerminalShell, after), 15s);
  REQUIRE_MESSAGE(s2, d.stderr_text());
  CHECK((*s2)["output_fields"]["k8s.pod.name"] == "api-5c6f");

  // The kernel filter judges these cgroups as containers, ours as the host.
  CHECK(kernel_verdict(before_cg) == 1);
  CHECK(kernel_verdict(after_cg) == 1);
  CHECK(kernel_verdict("/default/" + plain) == 1);
  CHECK(kernel_verdict(self_cgroup()) == 0);

  d.stop();
  // No container event went out without its metadata.
  std::string err = d.stderr_text();
  CHECK_MESSAGE(err.find(" 0 sent without it") != std::string::npos, err);
  for (const auto& j : d.all([](const Json& j) { return j.value("rule", "") == kExecRule; }))
    CHECK_MESSAGE(j["output"].get<std::string>().find("<NA> (") == std::string::npos,
                  j["output"].get<std::string>());
}

TEST_CASE(
    "containerd: a stopped containerd socket leaves its containers id-only, with a warning and a "
    "counter" *
    PG_NEEDS_FALCO_FILES) {
  containerd::Daemon ctrd;
  const std::string id = hex_id(3);
  ctrd.run("k8s.io", id, {{"io.kubernetes.pod.name", "lost-0"}},
           "/kubepods/besteffort/podlost/" + id);
  const std::string gone = ctrd.dir.path + "/stopped.sock";  // nothing listens there
  Daemon d({"run", "-r", kFalcoRules, "--json", "-c", "/dev/null", "-o", "container.docker_socket=",
            "-o", "container.podman_socket=", "-o", "container.containerd_socket=" + gone, "-o",
            "container.disk_metadata=false", "-o", "container.hold_ms=300"});
  REQUIRE(d.ready());
  ctrd.exec_shell("k8s.io", id);
  auto a = d.wait_for(rule_in(kTerminalShell, id), 15s);
  REQUIRE_MESSAGE(a, d.stderr_text());
  CHECK((*a)["output_fields"]["container.name"].is_null());
  CHECK((*a)["output_fields"]["k8s.pod.name"].is_null());
  d.stop();
  std::string err = d.stderr_text();
  CHECK(err.find("warning container runtime socket " + gone) != std::string::npos);
  auto at = err.find("absent=");
  REQUIRE(at != std::string::npos);
  CHECK_MESSAGE(err[at + 7] != '0', err);
}

TEST_CASE(
    "podman with no API socket: name and image come from disk on the container's first alert" *
    PG_NEEDS_FALCO_FILES) {
  podman::ensure_busybox_image();
  TempDir dir;
  const std::string name = "pg-e2e-nosock-" + std::to_string(getpid());
  struct Remove {
    std::string name;
    ~Remove() { sh(podman::kPodman + " rm -f -t 0 " + name + " >/dev/null 2>&1"); }
  } remove{name};
  Daemon d({"run", "-r", kFalcoRules, "-r", write_exec_rule(dir), "--json", "-c", "/dev/null", "-o",
            "rule_matching=all", "-o", "container.docker_socket=", "-o",
            "container.podman_socket=" + dir.path + "/no-podman.sock", "-o",
            "container.containerd_socket="});
  REQUIRE(d.ready());
  std::string id =
      run_capture(podman::kRun + "--name " + name + " " + podman::kImage + " sleep 600");
  while (!id.empty() && std::isspace(static_cast<unsigned char>(id.back()))) id.pop_back();
  REQUIRE(id.size() == 64);
  auto first = d.wait_for(rule_in(kExecRule, id), 15s);
  REQUIRE_MESSAGE(first, d.stderr_text());
  const Json& f = (*first)["output_fields"];
  CHECK(f["container.name"] == name);
  CHECK(f["container.image"] == podman::kImage + ":latest");
  CHECK(f["container.metadata_source"] == "oci-state,containers-storage");

  sh("script -qec \"" + podman::kPodman + " exec -it " + name +
     " sh -c 'exit 0'\" /dev/null </dev/null >/dev/null 2>&1");
  auto a = d.wait_for(rule_in(kTerminalShell, id), 15s);
  REQUIRE_MESSAGE(a, d.stderr_text());
  CHECK((*a)["output_fields"]["container.name"] == name);
  CHECK((*a)["output_fields"]["container.image.repository"] == podman::kImage);
  d.stop();
}
